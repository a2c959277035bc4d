//! `certwell backup DEST` and `certwell restore SRC DIR`: a consistent
//! snapshot of a running server's data directory (the SQLite database by
//! `VACUUM INTO`, the settings, the key files — or, for keys in an HSM,
//! their references, which live in the database), and a new data
//! directory rebuilt from one.
//!
//! A restored CA has forgotten what it did after the snapshot. Serials are
//! 127-bit random numbers, so a new one repeats one issued after the
//! snapshot with negligible probability; CRL numbers count up, so restore
//! moves every CA's number far ahead (a fence) before the restored server
//! makes its first CRL.

use std::path::{Path, PathBuf};

use certwell_store::Store;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::DataDir;

/// What a backup holds, written last as `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// When the database snapshot was taken (RFC 3339).
    pub created_at: String,
    pub certwell_version: String,
    /// `sqlite` (the database is in the backup) or `postgres` (it is
    /// not: back it up with PostgreSQL's tools).
    pub database: String,
    /// Every file of the backup but the manifest, relative.
    pub files: Vec<String>,
}

pub const MANIFEST: &str = "manifest.json";

/// The database files a backup takes through the store, not by copying.
const DATABASE_FILES: &[&str] = &["certwell.db", "certwell.db-wal", "certwell.db-shm"];

/// How far restore moves CRL numbers: a million, plus ten a second since
/// the snapshot (far more CRLs than any CA makes).
pub fn crl_fence(snapshot: OffsetDateTime, now: OffsetDateTime) -> i64 {
    1_000_000 + 10 * (now - snapshot).whole_seconds().max(0)
}

fn empty_or_absent(dir: &Path, what: &str) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{what} {} is not empty; give a new or empty directory",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{what} {}: {e}", dir.display())),
    }
}

/// Copies `from` into `to` (a directory tree), files mode 0600 and
/// directories 0700, each synced; the relative paths copied.
fn copy_tree(from: &Path, to: &Path, skip: &[&str], out: &mut Vec<String>) -> Result<(), String> {
    copy_dir(from, to, Path::new(""), skip, out)
}

fn copy_dir(
    from: &Path,
    to: &Path,
    rel: &Path,
    skip: &[&str],
    out: &mut Vec<String>,
) -> Result<(), String> {
    crate::keyfile::create_private_dir(&to.join(rel))?;
    let mut entries: Vec<_> = std::fs::read_dir(from.join(rel))
        .map_err(|e| format!("{}: {e}", from.join(rel).display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", from.join(rel).display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let rel_path = rel.join(&name);
        if rel.as_os_str().is_empty() && skip.iter().any(|s| name == **s) {
            continue;
        }
        let kind = e
            .file_type()
            .map_err(|err| format!("{}: {err}", e.path().display()))?;
        if kind.is_dir() {
            copy_dir(from, to, &rel_path, skip, out)?;
        } else if kind.is_file() {
            let data =
                std::fs::read(e.path()).map_err(|err| format!("{}: {err}", e.path().display()))?;
            crate::keyfile::write_secret(&to.join(&rel_path), &data)?;
            out.push(rel_path.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Backs up data directory `dir` (whose server may be running) into
/// `dest`, a new or empty directory.
pub async fn backup(
    dir: &DataDir,
    postgres: bool,
    store: &dyn Store,
    dest: &Path,
) -> Result<Manifest, String> {
    empty_or_absent(dest, "backup destination")?;
    crate::keyfile::create_private_dir(dest)?;
    let created_at = OffsetDateTime::now_utc();
    let mut files = Vec::new();
    if !postgres {
        let db = dest.join("certwell.db");
        store
            .snapshot_to(&db)
            .await
            .map_err(|e| format!("database snapshot: {e}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600));
        }
        std::fs::File::open(&db)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("{}: {e}", db.display()))?;
        files.push("certwell.db".to_string());
    }
    let mut skip: Vec<&str> = DATABASE_FILES.to_vec();
    skip.push(MANIFEST);
    copy_tree(&dir.root, dest, &skip, &mut files)?;
    let manifest = Manifest {
        created_at: created_at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| e.to_string())?,
        certwell_version: env!("CARGO_PKG_VERSION").to_string(),
        database: if postgres { "postgres" } else { "sqlite" }.to_string(),
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    crate::keyfile::write_secret(&dest.join(MANIFEST), &json)?;
    Ok(manifest)
}

/// Reads a backup's manifest.
pub fn read_manifest(src: &Path) -> Result<Manifest, String> {
    let path = src.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| {
        format!(
            "{}: {e} (not a certwell backup, or an unfinished one)",
            path.display()
        )
    })?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Rebuilds data directory `dir` (new or empty) from backup `src`: its
/// files; the CRL fence is [`fence`]'s, once the store can be opened.
pub fn restore_files(src: &Path, dir: &DataDir) -> Result<Manifest, String> {
    let manifest = read_manifest(src)?;
    empty_or_absent(&dir.root, "data directory")?;
    for f in &manifest.files {
        let from: PathBuf = src.join(f);
        if !from.is_file() {
            return Err(format!(
                "{}: listed in the manifest but missing",
                from.display()
            ));
        }
    }
    let mut copied = Vec::new();
    copy_tree(src, &dir.root, &[MANIFEST], &mut copied)?;
    Ok(manifest)
}

/// Moves every CA's CRL number past anything the backed-up server may
/// have issued after the snapshot; each CA's new last number.
pub async fn fence(store: &dyn Store, manifest: &Manifest) -> Result<Vec<(String, i64)>, String> {
    let snapshot = OffsetDateTime::parse(
        &manifest.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| format!("manifest created_at: {e}"))?;
    // The CRLs stored before the snapshot would be served as current
    // (older than ones the backed-up server issued since): every CA that
    // can sign makes a new one, with a number past the fence. An offline
    // root's stays until its next ceremony.
    let online: Vec<String> = store
        .list_cas()
        .await
        .map_err(|e| format!("CRL number fence: {e}"))?
        .into_iter()
        .filter(|c| crate::keystore::KeyLocation::is_online(&c.key_file))
        .map(|c| c.id)
        .collect();
    store
        .fence_crl_numbers(crl_fence(snapshot, OffsetDateTime::now_utc()), &online)
        .await
        .map_err(|e| format!("CRL number fence: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_grows_with_the_backup_age() {
        let t = time::macros::datetime!(2026-12-04 12:00 UTC);
        assert_eq!(crl_fence(t, t), 1_000_000);
        assert_eq!(crl_fence(t, t + time::Duration::days(1)), 1_864_000);
        assert_eq!(crl_fence(t, t - time::Duration::days(1)), 1_000_000);
    }
}
