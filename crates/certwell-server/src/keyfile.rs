//! Secret files on disk (CA keys, the admin key): mode 0600, written
//! once and synced.

use std::io::Write;
use std::path::Path;

pub fn write_private_key(path: &Path, pkcs8_der: &[u8]) -> Result<(), String> {
    write_secret(
        path,
        certwell_ca::der_to_pem("PRIVATE KEY", pkcs8_der).as_bytes(),
    )
}

/// Creates `path` with mode 0600 (never overwriting) and writes `data`.
pub fn write_secret(path: &Path, data: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // The new file's name is durable once its directory is synced.
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// fsync of a directory: the names created in it are on disk.
fn sync_dir(dir: &Path) -> Result<(), String> {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(d)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{}: {e}", d.display()))
}

pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    match dir.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Reads a PEM file holding one key: its label (`PRIVATE KEY`,
/// `ENCRYPTED PRIVATE KEY`) and DER. A file others may read is refused.
pub fn read_pem(path: &Path) -> Result<(String, Vec<u8>), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{}: CA key file must not be readable by group or others (chmod 600)",
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut blocks = crate::pem::pem_blocks(&text)
        .map_err(|e| format!("{}: not a PEM key file: {e}", path.display()))?;
    match (blocks.pop(), blocks.is_empty()) {
        (Some(block), true) => Ok(block),
        _ => Err(format!(
            "{}: a key file holds exactly one PEM block",
            path.display()
        )),
    }
}

/// Renames `from` over `to` and makes the rename durable (the directory
/// is synced).
pub fn replace(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::rename(from, to).map_err(|e| format!("{}: {e}", to.display()))?;
    match to.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}
