//! Which store to open, and how: [`StoreConfig`] and [`open_store`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::{CachedStore, Result, SqliteStore, Store, StoreError};

/// How hard a commit tries to reach the disk (`durability = "full"` or
/// `"normal"` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync on every commit (`synchronous=FULL`): a 201 survives power loss.
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last
    /// commits on power loss.
    Normal,
}

impl Durability {
    /// The setting as written in the configuration (`full` or `normal`).
    pub fn parse(s: &str) -> Option<Durability> {
        match s {
            "full" => Some(Durability::Full),
            "normal" => Some(Durability::Normal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

/// Where the data lives. Each backend is one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite database file (created if missing).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (tests).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://…` URL), possibly shared by
    /// several instances.
    Postgres(String),
}

/// Everything needed to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub location: StoreLocation,
    pub durability: Durability,
}

impl StoreConfig {
    /// A SQLite database file.
    pub fn sqlite(path: impl Into<PathBuf>, durability: Durability) -> StoreConfig {
        StoreConfig {
            location: StoreLocation::SqliteFile(path.into()),
            durability,
        }
    }

    /// A private in-memory SQLite database.
    pub fn sqlite_memory() -> StoreConfig {
        StoreConfig {
            location: StoreLocation::SqliteMemory,
            durability: Durability::Full,
        }
    }

    /// A database URL: `postgres://…` or `postgresql://…` (PostgreSQL),
    /// `sqlite://PATH` or `sqlite:PATH` (a file), `sqlite::memory:`, or a
    /// plain file path. (`durability`: SQLite's `synchronous`; on
    /// PostgreSQL, `full` makes sure `synchronous_commit` is not `off`.)
    pub fn from_url(url: &str, durability: Durability) -> Result<StoreConfig> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreConfig {
                location: StoreLocation::Postgres(url.to_string()),
                durability,
            });
        }
        if url == "sqlite::memory:" {
            return Ok(StoreConfig {
                location: StoreLocation::SqliteMemory,
                durability,
            });
        }
        let path = match url.split_once(':') {
            Some(("sqlite", rest)) => rest.strip_prefix("//").unwrap_or(rest),
            // A scheme is letters (and +.-) before "://"; anything else
            // (a Windows drive letter, a colon in a file name) is a path.
            Some((scheme, rest))
                if rest.starts_with("//")
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
            {
                return Err(StoreError::Database(format!(
                    "unsupported database URL scheme '{scheme}'"
                )));
            }
            _ => url,
        };
        if path.is_empty() {
            return Err(StoreError::Database(
                "the database URL names no file".into(),
            ));
        }
        Ok(StoreConfig::sqlite(path, durability))
    }
}

/// Opens (creating and migrating if needed) the store `cfg` names, with
/// the caches ([`CachedStore`]) in front of it.
pub async fn open_store(cfg: &StoreConfig) -> Result<Arc<dyn Store>> {
    let backend = match &cfg.location {
        StoreLocation::SqliteFile(path) => SqliteStore::open(path, cfg.durability).await?,
        StoreLocation::SqliteMemory => SqliteStore::open_memory().await?,
        StoreLocation::Postgres(url) => {
            let pg = crate::postgres::PgStore::open(url, cfg.durability).await?;
            return Ok(Arc::new(CachedStore::new(Arc::new(pg))));
        }
    };
    Ok(Arc::new(CachedStore::new(Arc::new(backend))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let full = Durability::Full;
        assert_eq!(
            StoreConfig::from_url("sqlite:///var/lib/certwell/db", full).unwrap(),
            StoreConfig::sqlite("/var/lib/certwell/db", full)
        );
        assert_eq!(
            StoreConfig::from_url("sqlite:data/certwell.db", full).unwrap(),
            StoreConfig::sqlite("data/certwell.db", full)
        );
        assert_eq!(
            StoreConfig::from_url("/tmp/x.db", Durability::Normal).unwrap(),
            StoreConfig::sqlite("/tmp/x.db", Durability::Normal)
        );
        assert_eq!(
            StoreConfig::from_url("sqlite::memory:", full)
                .unwrap()
                .location,
            StoreLocation::SqliteMemory
        );
        assert_eq!(
            StoreConfig::from_url("postgres://localhost/certwell", full)
                .unwrap()
                .location,
            StoreLocation::Postgres("postgres://localhost/certwell".into())
        );
        assert!(StoreConfig::from_url("mysql://localhost/certwell", full).is_err());
        assert!(StoreConfig::from_url("sqlite://", full).is_err());
    }
}
