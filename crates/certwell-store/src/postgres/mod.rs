//! PostgreSQL implementation of [`Store`](crate::Store): the shared store of
//! several certwell instances (`database_url = "postgres://…"`).
//!
//! This module holds the store itself (connecting, migrations under an
//! advisory lock, the change feed from `LISTEN certwell_changes`, shared
//! helpers); each aggregate's queries live in their own file as inherent
//! methods, and `store_impl.rs` implements the trait by delegating to them
//! ([`delegate_store!`]), as for SQLite.
//!
//! Timestamps are `timestamptz` (bound and read as `OffsetDateTime`,
//! truncated to whole seconds like SQLite's), JSON documents are `jsonb`,
//! flags are `boolean`. Business rules (blocked keys, balance) are checked
//! inside the writing transaction with row locks, and backed by triggers.

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
mod store_impl;

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;

use crate::changes::{Aggregate, ChangeFeed};
use crate::{Durability, Result};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations-postgres/0001_schema.sql")),
    (2, include_str!("../../migrations-postgres/0002_claims.sql")),
    (
        3,
        include_str!("../../migrations-postgres/0003_leases_crls.sql"),
    ),
    (4, include_str!("../../migrations-postgres/0004_outbox.sql")),
    (
        5,
        include_str!("../../migrations-postgres/0005_blocked_key_update.sql"),
    ),
    (
        6,
        include_str!("../../migrations-postgres/0006_users_keys.sql"),
    ),
    (7, include_str!("../../migrations-postgres/0007_meta.sql")),
];

/// Key of the advisory lock instances take while migrating, so that two
/// starting at once do not both apply a migration.
const MIGRATION_LOCK: i64 = 0x6365_7274_7765_6c6c; // "certwell"

/// The channel the schema's triggers announce committed changes on.
const CHANGES_CHANNEL: &str = "certwell_changes";

pub struct PgStore {
    pub(crate) pool: PgPool,
    /// Changes of cached aggregates: from this instance's writes at once,
    /// and from every instance's through `LISTEN`.
    feed: ChangeFeed,
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgStore {
    /// Connects to `url`, applies pending migrations and starts following
    /// the change feed.
    ///
    /// With [`Durability::Full`] a commit is acknowledged only once it is
    /// on the database server's disk, whatever the server's default: a
    /// session whose `synchronous_commit` is `off` is set to `local`
    /// (stronger settings — `on`, `remote_write`, `remote_apply` for
    /// standbys — are the server's and are kept). Requests wait at most 5 s
    /// for a connection, then fail as unavailable.
    pub async fn open(url: &str, durability: Durability) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if durability == Durability::Full {
                        let level: String = sqlx::query_scalar("SHOW synchronous_commit")
                            .fetch_one(&mut *conn)
                            .await?;
                        if level == "off" {
                            sqlx::query("SET synchronous_commit = 'local'")
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Self::migrate(&pool).await?;
        let feed = ChangeFeed::new();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        let task = tokio::spawn(follow_changes(listener, feed.clone()));
        Ok(PgStore {
            pool,
            feed,
            listener: std::sync::Mutex::new(Some(task)),
        })
    }

    /// Applies pending migrations, each in its own transaction, holding an
    /// advisory lock so that concurrent starts apply each one once.
    async fn migrate(pool: &PgPool) -> Result<()> {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let result = Self::migrate_on(&mut conn).await;
        let unlock = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        result?;
        unlock?;
        Ok(())
    }

    async fn migrate_on(conn: &mut sqlx::PgConnection) -> Result<()> {
        use sqlx::Connection;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?;
        for (version, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            let mut tx = conn.begin().await?;
            sqlx::raw_sql(AssertSqlSafe(*sql)).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A write of this instance changed `aggregate` (call after commit):
    /// its own caches follow at once, without waiting for the
    /// notification.
    pub(crate) fn changed(&self, aggregate: Aggregate) {
        self.feed.committed(aggregate);
    }

    pub(crate) async fn close(&self) {
        let task = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
        self.pool.close().await;
    }
}

/// Follows `LISTEN certwell_changes`: each notification names the
/// aggregate a committed transaction changed. When the connection drops,
/// notifications may have been missed, so every aggregate counts as
/// changed once it is back.
async fn follow_changes(mut listener: PgListener, feed: ChangeFeed) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => match aggregate_named(n.payload()) {
                Some(a) => feed.committed(a),
                None => tracing::warn!(payload = n.payload(), "unknown change notification"),
            },
            // The connection was lost and is re-established by the next
            // call: anything may have changed meanwhile.
            Ok(None) => {
                for a in Aggregate::ALL {
                    feed.committed(a);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "change feed: listening failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn aggregate_named(name: &str) -> Option<Aggregate> {
    Some(match name {
        "organizations" => Aggregate::Organizations,
        "keys" => Aggregate::Keys,
        "accounts" => Aggregate::Accounts,
        "metadata" => Aggregate::Metadata,
        "revocations" => Aggregate::Revocations,
        _ => return None,
    })
}

/// Now, in UTC whole seconds (what the store keeps).
pub(crate) fn now() -> OffsetDateTime {
    whole_seconds(OffsetDateTime::now_utc())
}

/// `t` in UTC, truncated to whole seconds: timestamps read back compare
/// equal to the values written, as with SQLite.
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

pub(crate) use crate::columns::{name_col, opt_name_col};
