//! SQLite implementation of [`Store`]: one file, WAL journal, write
//! transactions taken with `BEGIN IMMEDIATE` so concurrent writers queue on
//! the busy timeout instead of failing.
//!
//! This module holds the store itself (opening, pragmas, migrations, the
//! group-commit hand-off and shared helpers); each aggregate's queries live
//! in their own file as inherent methods, and `store_impl.rs` implements
//! [`Store`] by delegating to them.

mod accounts;
mod cas;
mod certificates;
mod domains;
mod finance;
mod leases;
mod orders;
mod organizations;
mod outbox;
mod requests;
mod rules;
mod store_impl;
pub(crate) mod timestamp;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};

use self::timestamp::now_ts;
use crate::batch::{Bind, JobRow, WriteJob};
use crate::changes::{Aggregate, ChangeFeed};
use crate::{Durability, Result, StoreError};
use tokio::sync::{mpsc, oneshot};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_revocation.sql")),
    (
        3,
        include_str!("../../migrations/0003_blocked_key_trigger.sql"),
    ),
    (4, include_str!("../../migrations/0004_smime.sql")),
    (
        5,
        include_str!("../../migrations/0005_reissue_duplicate.sql"),
    ),
    (6, include_str!("../../migrations/0006_account_model.sql")),
    (
        7,
        include_str!("../../migrations/0007_containers_metadata.sql"),
    ),
    (8, include_str!("../../migrations/0008_renewals_users.sql")),
    (9, include_str!("../../migrations/0009_dcv.sql")),
    (
        10,
        include_str!("../../migrations/0010_validation_desk.sql"),
    ),
    (11, include_str!("../../migrations/0011_dcv_due_index.sql")),
    (
        12,
        include_str!("../../migrations/0012_serials_any_issuer.sql"),
    ),
    (13, include_str!("../../migrations/0013_claims.sql")),
    (14, include_str!("../../migrations/0014_leases_crls.sql")),
    (15, include_str!("../../migrations/0015_outbox.sql")),
    (
        16,
        include_str!("../../migrations/0016_blocked_key_update.sql"),
    ),
    (17, include_str!("../../migrations/0017_users_keys.sql")),
    (18, include_str!("../../migrations/0018_meta.sql")),
];

/// Reads go to a pool of connections; all writes go through one writer
/// connection, so concurrent writers queue in-process instead of sleeping in
/// SQLite's busy handler.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    /// Group-commit queue (hot-path writes: new orders, issued certificates).
    jobs: std::sync::Mutex<Option<mpsc::Sender<WriteJob>>>,
    writer_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Background WAL checkpoints (file databases).
    checkpointer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Changes made through this store (the write connection's update
    /// hook and commits), for the caches over it.
    feed: ChangeFeed,
}

impl SqliteStore {
    fn with_pools(
        pool: SqlitePool,
        writer: SqlitePool,
        sync: Option<crate::batch::SyncTarget>,
        feed: ChangeFeed,
    ) -> SqliteStore {
        let (tx, rx) = mpsc::channel(1024);
        let task = tokio::spawn(crate::batch::writer_loop(
            writer.clone(),
            rx,
            sync,
            feed.clone(),
        ));
        SqliteStore {
            pool,
            writer,
            jobs: std::sync::Mutex::new(Some(tx)),
            writer_task: std::sync::Mutex::new(Some(task)),
            checkpointer: std::sync::Mutex::new(None),
            feed,
        }
    }
}

/// The aggregate of the change feed a row change of `table` belongs to
/// (`None`: no cache is built from it).
fn aggregate_of(table: &str) -> Option<Aggregate> {
    Some(match table {
        "organizations" | "org_validations" | "domains" => Aggregate::Organizations,
        "api_keys" | "users" => Aggregate::Keys,
        "accounts" | "containers" => Aggregate::Accounts,
        "account_metadata" => Aggregate::Metadata,
        _ => return None,
    })
}

/// Pool options for a connection that writes: its row changes reach the
/// change feed (the update hook), and so do its commits (settled when the
/// pool takes the connection back; the group-commit writer settles each
/// batch).
fn watched(options: SqlitePoolOptions, feed: &ChangeFeed) -> SqlitePoolOptions {
    let on_connect = feed.clone();
    let on_release = feed.clone();
    options
        .after_connect(move |conn, _| {
            let feed = on_connect.clone();
            Box::pin(async move {
                conn.lock_handle().await?.set_update_hook(move |change| {
                    if let Some(aggregate) = aggregate_of(change.table) {
                        feed.changing(aggregate);
                    }
                });
                Ok(())
            })
        })
        .after_release(move |_, _| {
            on_release.settle();
            Box::pin(async { Ok(true) })
        })
}

/// SQLite's write-ahead log beside the database file `path`.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Copies committed WAL frames back into the database file from a reader
/// connection (a passive checkpoint never blocks the writer), so that the
/// writer's commits do not pay for it. The writer's own automatic
/// checkpoint stays on at a larger threshold as a backstop.
async fn checkpoint_loop(pool: SqlitePool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        // A failed attempt (busy, closing) is retried next round; the
        // writer's own checkpoint covers a lasting failure.
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
    }
}

/// A container scope as the JSON array `json_each(?)` reads in
/// `container_id IN (SELECT value FROM json_each(?))`.
const SCOPE_SQL: &str = "(? IS NULL OR container_id IN (SELECT value FROM json_each(?)))";

fn scope_json(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", list.join(","))
}

pub(crate) use crate::columns::{name_col, opt_name_col};

fn json_col(row: &SqliteRow, col: &str) -> Result<Value> {
    let s: String = row.try_get(col)?;
    Ok(serde_json::from_str(&s)?)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path, durability: Durability) -> Result<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("temp_store", "memory");
        let feed = ChangeFeed::new();
        let writer = watched(
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .test_before_acquire(false),
            &feed,
        )
        .connect_with(opts.clone().pragma("wal_autocheckpoint", "8192"))
        .await?;
        // Migrate before any reader connection exists: a reader that
        // prepared a statement against the old schema would see more
        // columns than sqlx expects once SQLite re-prepares it.
        Self::migrate_pool(&writer).await?;
        // No ping before handing out a connection: an in-process SQLite
        // connection does not go stale, and the ping is a round trip to its
        // thread on every read.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(opts)
            .await?;
        // Full durability: batches commit without their own fsync and are
        // answered after the flusher's (see batch.rs), as durable and
        // without the writer waiting for the disk.
        let sync = matches!(durability, Durability::Full).then(|| crate::batch::SyncTarget {
            wal: wal_path(path),
            db: path.to_path_buf(),
        });
        let store = SqliteStore::with_pools(pool.clone(), writer, sync, feed);
        let checkpointer = tokio::spawn(checkpoint_loop(pool));
        *store.checkpointer.lock().unwrap_or_else(|p| p.into_inner()) = Some(checkpointer);
        Ok(store)
    }

    /// An in-memory database (tests).
    pub async fn open_memory() -> Result<SqliteStore> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Database(e.to_string()))?
            .foreign_keys(true);
        let feed = ChangeFeed::new();
        let pool = watched(SqlitePoolOptions::new().max_connections(1), &feed)
            .connect_with(opts)
            .await?;
        let store = SqliteStore::with_pools(pool.clone(), pool, None, feed);
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations in one transaction. Foreign-key
    /// enforcement is off meanwhile (table rebuilds need that, and SQLite
    /// ignores the pragma inside a transaction); every reference is checked
    /// with `foreign_key_check` before the commit instead.
    async fn migrate(&self) -> Result<()> {
        Self::migrate_pool(&self.writer).await
    }

    async fn migrate_pool(writer: &SqlitePool) -> Result<()> {
        let mut conn = writer.acquire().await?;
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let result = Self::migrate_on(&mut conn).await;
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
        result
    }

    async fn migrate_on(conn: &mut sqlx::SqliteConnection) -> Result<()> {
        use sqlx::Connection;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        for (version, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            sqlx::raw_sql(AssertSqlSafe(*sql)).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                .bind(version)
                .bind(now_ts())
                .execute(&mut *tx)
                .await?;
        }
        let broken: Vec<SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
        if !broken.is_empty() {
            return Err(StoreError::Database(format!(
                "migration left {} dangling references; nothing was changed",
                broken.len()
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Hands a write job to the group-commit writer and waits for its commit.
    async fn submit(&self, sql: String, binds: Vec<Bind>) -> Result<JobRow> {
        let tx = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
        let (reply, rx) = oneshot::channel();
        tx.send(WriteJob { sql, binds, reply })
            .await
            .map_err(|_| StoreError::Database("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Database("the writer has stopped".into()))?
    }

    pub(crate) async fn close(&self) {
        let sender = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(sender);
        let task = self
            .writer_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
        let checkpointer = self
            .checkpointer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = checkpointer {
            c.abort();
            let _ = c.await;
        }
        self.writer.close().await;
        self.pool.close().await;
    }
}
