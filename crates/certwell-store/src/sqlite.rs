//! SQLite implementation of [`Store`]: one file, WAL journal, write
//! transactions taken with `BEGIN IMMEDIATE` so concurrent writers queue on
//! the busy timeout instead of failing.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{Bind, JobRow, WriteJob};
use crate::org_cache::OrgCache;
use crate::records::*;
use crate::{Result, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// SQL condition: the order of `certificates` row is in the status in
/// which that kind of certificate may be issued.
const ISSUABLE_ORDER: &str =
    "EXISTS (SELECT 1 FROM orders o WHERE o.id = certificates.order_id AND \
     ((certificates.kind = 'primary' AND o.status = 'pending') \
      OR (certificates.kind = 'reissue' AND o.status = 'reissue_pending') \
      OR (certificates.kind = 'duplicate' AND o.status = 'issued')))";

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_revocation.sql")),
    (
        3,
        include_str!("../migrations/0003_blocked_key_trigger.sql"),
    ),
    (4, include_str!("../migrations/0004_smime.sql")),
    (5, include_str!("../migrations/0005_reissue_duplicate.sql")),
    (6, include_str!("../migrations/0006_account_model.sql")),
    (
        7,
        include_str!("../migrations/0007_containers_metadata.sql"),
    ),
    (8, include_str!("../migrations/0008_renewals_users.sql")),
    (9, include_str!("../migrations/0009_dcv.sql")),
    (10, include_str!("../migrations/0010_validation_desk.sql")),
    (11, include_str!("../migrations/0011_dcv_due_index.sql")),
    (12, include_str!("../migrations/0012_serials_any_issuer.sql")),
];

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit (`synchronous=FULL`): a 201 survives power loss.
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last
    /// commits on power loss.
    Normal,
}

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
    /// Organizations with domains for order creation (see org_cache.rs).
    orgs: OrgCache,
}

impl SqliteStore {
    fn with_pools(
        pool: SqlitePool,
        writer: SqlitePool,
        sync: Option<crate::batch::SyncTarget>,
        orgs: OrgCache,
    ) -> SqliteStore {
        let (tx, rx) = mpsc::channel(1024);
        let task = tokio::spawn(crate::batch::writer_loop(
            writer.clone(),
            rx,
            sync,
            Arc::clone(&orgs.watch),
        ));
        SqliteStore {
            pool,
            writer,
            jobs: std::sync::Mutex::new(Some(tx)),
            writer_task: std::sync::Mutex::new(Some(task)),
            checkpointer: std::sync::Mutex::new(None),
            orgs,
        }
    }
}

/// Pool options for a connection that writes: its row changes reach
/// `watch` (the update hook), and so do its commits (settled when the pool
/// takes the connection back; the group-commit writer settles each batch).
fn watched(
    options: SqlitePoolOptions,
    watch: &Arc<crate::org_cache::ChangeWatch>,
) -> SqlitePoolOptions {
    let on_connect = Arc::clone(watch);
    let on_release = Arc::clone(watch);
    options
        .after_connect(move |conn, _| {
            let watch = Arc::clone(&on_connect);
            Box::pin(async move {
                conn.lock_handle()
                    .await?
                    .set_update_hook(move |change| watch.row_changed(change.table));
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

fn now_ts() -> String {
    let now = time::OffsetDateTime::now_utc();
    format_ts(now)
}

/// A container scope as the JSON array `json_each(?)` reads in
/// `container_id IN (SELECT value FROM json_each(?))`.
const SCOPE_SQL: &str = "(? IS NULL OR container_id IN (SELECT value FROM json_each(?)))";

fn scope_json(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", list.join(","))
}

/// `YYYY-MM-DDTHH:MM:SS+00:00`
pub fn format_ts(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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
        let orgs = OrgCache::default();
        let writer = watched(
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .test_before_acquire(false),
            &orgs.watch,
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
        let store = SqliteStore::with_pools(pool.clone(), writer, sync, orgs);
        let checkpointer = tokio::spawn(checkpoint_loop(pool));
        *store.checkpointer.lock().unwrap_or_else(|p| p.into_inner()) = Some(checkpointer);
        Ok(store)
    }

    /// An in-memory database (tests).
    pub async fn open_memory() -> Result<SqliteStore> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Database(e.to_string()))?
            .foreign_keys(true);
        let orgs = OrgCache::default();
        let pool = watched(SqlitePoolOptions::new().max_connections(1), &orgs.watch)
            .connect_with(opts)
            .await?;
        let store = SqliteStore::with_pools(pool.clone(), pool, None, orgs);
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
}

fn json_col(row: &SqliteRow, col: &str) -> Result<Value> {
    let s: String = row.try_get(col)?;
    Ok(serde_json::from_str(&s)?)
}

fn account_row(r: &SqliteRow) -> Result<Account> {
    let settings: String = r.try_get("settings")?;
    Ok(Account {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        root_container_id: r
            .try_get::<Option<i64>, _>("root_container_id")?
            .unwrap_or(0),
        settings: serde_json::from_str(&settings)?,
        created_at: r.try_get("created_at")?,
    })
}

fn user_row(r: &SqliteRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        role: r.try_get("role")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        email: r.try_get("email")?,
        job_title: r.try_get("job_title")?,
        telephone: r.try_get("telephone")?,
        created_at: r.try_get("created_at")?,
    })
}

fn ca_row(r: &SqliteRow) -> Result<CaRecord> {
    Ok(CaRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        parent_id: r.try_get("parent_id")?,
        purpose: r.try_get("purpose")?,
        key_algorithm: r.try_get("key_algorithm")?,
        key_file: r.try_get("key_file")?,
        cert_der: r.try_get("cert_der")?,
        is_default: r.try_get::<i64, _>("is_default")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

fn org_row(r: &SqliteRow) -> Result<Organization> {
    Ok(Organization {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        name: r.try_get("name")?,
        assumed_name: r.try_get("assumed_name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        data: json_col(r, "data")?,
        validations: Vec::new(),
        created_at: r.try_get("created_at")?,
    })
}

fn validations_from_json(text: Option<String>) -> Result<Vec<OrgValidation>> {
    let mut out = Vec::new();
    if let Some(v) = text {
        let list: Vec<Value> = serde_json::from_str(&v)?;
        for x in list {
            let get = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
            out.push(OrgValidation {
                kind: get("kind").unwrap_or_default(),
                status: get("status").unwrap_or_default(),
                date_created: get("date_created").unwrap_or_default(),
                validated_until: get("validated_until"),
                verified_users: get("verified_users").and_then(|t| serde_json::from_str(&t).ok()),
            });
        }
    }
    Ok(out)
}

fn domain_row(r: &SqliteRow) -> Result<Domain> {
    let types: String = r.try_get("validation_types")?;
    Ok(Domain {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        organization_id: r.try_get("organization_id")?,
        name: r.try_get("name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        dcv_method: r.try_get("dcv_method")?,
        dcv_token: r.try_get("dcv_token")?,
        dcv_token_expires: r.try_get("dcv_token_expires")?,
        validation_types: serde_json::from_str(&types)?,
        validated_at: r.try_get("validated_at")?,
        validated_until: r.try_get("validated_until")?,
        created_at: r.try_get("created_at")?,
        dcv_attempts: r.try_get("dcv_attempts")?,
        dcv_next_check: r.try_get("dcv_next_check")?,
        dcv_last_error: r.try_get("dcv_last_error")?,
    })
}

fn link_row(r: &SqliteRow) -> Result<ValidationLink> {
    Ok(ValidationLink {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        kind: r.try_get("kind")?,
        domain_id: r.try_get("domain_id")?,
        order_id: r.try_get("order_id")?,
        email: r.try_get("email")?,
        expires_at: r.try_get("expires_at")?,
        sent_at: r.try_get("sent_at")?,
        used_at: r.try_get("used_at")?,
    })
}

fn container_row(r: &SqliteRow) -> Result<Container> {
    Ok(Container {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}

fn metadata_row(r: &SqliteRow) -> Result<MetadataField> {
    Ok(MetadataField {
        id: r.try_get("id")?,
        label: r.try_get("label")?,
        is_required: r.try_get::<i64, _>("is_required")? != 0,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        data_type: r.try_get("data_type")?,
    })
}

fn order_row(r: &SqliteRow) -> Result<Order> {
    Ok(Order {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        user_id: r.try_get("user_id")?,
        product_name_id: r.try_get("product_name_id")?,
        status: r.try_get("status")?,
        organization_id: r.try_get::<Option<i64>, _>("organization_id")?.unwrap_or(0),
        common_name: r.try_get("common_name")?,
        certificate_id: r.try_get("certificate_id")?,
        renewal_of_order_id: r.try_get("renewal_of_order_id")?,
        data: json_col(r, "data")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn request_row(r: &SqliteRow) -> Result<Request> {
    Ok(Request {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        order_id: r.try_get("order_id")?,
        kind: r.try_get("type")?,
        status: r.try_get("status")?,
        requester_id: r.try_get("requester_id")?,
        comments: r.try_get("comments")?,
        processor_id: r.try_get("processor_id")?,
        processor_comment: r.try_get("processor_comment")?,
        date: r.try_get("date")?,
        date_processed: r.try_get("date_processed")?,
        data: match r.try_get::<Option<String>, _>("data")? {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        },
    })
}

fn cert_row(r: &SqliteRow) -> Result<Certificate> {
    let names: String = r.try_get("dns_names")?;
    Ok(Certificate {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        order_id: r.try_get("order_id")?,
        ca_id: r.try_get("ca_id")?,
        serial: r.try_get("serial")?,
        status: r.try_get("status")?,
        thumbprint: r.try_get("thumbprint")?,
        der: r.try_get("der")?,
        csr: r.try_get("csr")?,
        spki_sha256: r.try_get("spki_sha256")?,
        key_size: r.try_get("key_size")?,
        common_name: r.try_get("common_name")?,
        dns_names: serde_json::from_str(&names)?,
        signature_hash: r.try_get("signature_hash")?,
        valid_from: r.try_get("valid_from")?,
        valid_till: r.try_get("valid_till")?,
        date_issued: r.try_get("date_issued")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revocation_reason: r.try_get("revocation_reason")?,
        kind: r.try_get("kind")?,
        request_id: r.try_get("request_id")?,
        user_id: r.try_get("user_id")?,
        data: r
            .try_get::<Option<String>, _>("data")?
            .map(|s| serde_json::from_str(&s))
            .transpose()?,
    })
}

async fn insert_org_tx(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    org: &NewOrganizationRow,
    now: &str,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (account_id, container_id, name, assumed_name, is_active, data, created_at) \
         VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(org.container_id)
    .bind(&org.name)
    .bind(&org.assumed_name)
    .bind(org.data.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (kind, status, until) in &org.validations {
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(kind)
        .bind(status)
        .bind(now)
        .bind(until)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

async fn insert_domain_tx(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    d: &NewDomainRow,
    now: &str,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO domains (account_id, container_id, organization_id, name, is_active, dcv_method, dcv_token, \
         dcv_token_expires, validation_types, validated_at, validated_until, created_at) \
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (account_id, organization_id, name) DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(d.container_id)
    .bind(d.organization_id)
    .bind(&d.name)
    .bind(&d.dcv_method)
    .bind(&d.dcv_token)
    .bind(&d.dcv_token_expires)
    .bind(serde_json::to_string(&d.validation_types)?)
    .bind(&d.validated_at)
    .bind(&d.validated_until)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id)
}

impl SqliteStore {
    async fn org_validations(&self, org_id: i64) -> Result<Vec<OrgValidation>> {
        let rows = sqlx::query(
            "SELECT type, status, date_created, validated_until, verified_users FROM org_validations WHERE organization_id = ? ORDER BY type",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgValidation {
                    kind: r.try_get("type")?,
                    status: r.try_get("status")?,
                    date_created: r.try_get("date_created")?,
                    validated_until: r.try_get("validated_until")?,
                    verified_users: r
                        .try_get::<Option<String>, _>("verified_users")?
                        .and_then(|t| serde_json::from_str(&t).ok()),
                })
            })
            .collect()
    }

    async fn with_validations(&self, org: Option<Organization>) -> Result<Option<Organization>> {
        match org {
            Some(mut o) => {
                o.validations = self.org_validations(o.id).await?;
                Ok(Some(o))
            }
            None => Ok(None),
        }
    }
}

impl SqliteStore {
    /// The common order (existing organization, no new domains) as one
    /// multi-statement transaction sent to SQLite in a single round trip.
    /// Ids of rows inserted earlier in the batch are read from
    /// `sqlite_sequence` (all tables use AUTOINCREMENT; one writer).
    /// One organization with its validations and domains, from the database.
    async fn read_organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        let row = sqlx::query(
            "SELECT o.*, (SELECT json_group_array(json_object('kind', v.type, 'status', v.status, \
             'date_created', v.date_created, 'validated_until', v.validated_until, 'verified_users', v.verified_users)) \
             FROM (SELECT * FROM org_validations WHERE organization_id = o.id ORDER BY type) v) AS validations_json, \
             (SELECT json_group_array(json_object('id', d.id, 'account_id', d.account_id, 'container_id', d.container_id, \
             'organization_id', d.organization_id, 'name', d.name, 'is_active', d.is_active, 'dcv_method', d.dcv_method, \
             'dcv_token', d.dcv_token, 'dcv_token_expires', d.dcv_token_expires, 'validation_types', d.validation_types, \
             'validated_at', d.validated_at, 'validated_until', d.validated_until, 'created_at', d.created_at, \
             'dcv_attempts', d.dcv_attempts, 'dcv_next_check', d.dcv_next_check, 'dcv_last_error', d.dcv_last_error)) \
             FROM (SELECT * FROM domains WHERE account_id = o.account_id AND organization_id = o.id ORDER BY id) d) AS domains_json \
             FROM organizations o WHERE o.id = ? AND o.account_id = ?",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut org = org_row(&row)?;
        org.validations = validations_from_json(row.try_get("validations_json")?)?;
        let mut domains = Vec::new();
        if let Some(text) = row.try_get::<Option<String>, _>("domains_json")? {
            let list: Vec<Value> = serde_json::from_str(&text)?;
            for d in list {
                let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
                let i = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or(0);
                let types: Vec<String> =
                    serde_json::from_str(&s("validation_types").unwrap_or_else(|| "[]".into()))?;
                domains.push(Domain {
                    id: i("id"),
                    account_id: i("account_id"),
                    container_id: i("container_id"),
                    organization_id: i("organization_id"),
                    name: s("name").unwrap_or_default(),
                    is_active: i("is_active") != 0,
                    dcv_method: s("dcv_method").unwrap_or_default(),
                    dcv_token: s("dcv_token"),
                    dcv_token_expires: s("dcv_token_expires"),
                    validation_types: types,
                    validated_at: s("validated_at"),
                    validated_until: s("validated_until"),
                    created_at: s("created_at").unwrap_or_default(),
                    dcv_attempts: i("dcv_attempts"),
                    dcv_next_check: s("dcv_next_check"),
                    dcv_last_error: s("dcv_last_error"),
                });
            }
        }
        Ok(Some((org, domains)))
    }

    async fn create_order_one_trip(
        &self,
        o: &NewOrder,
        organization_id: i64,
    ) -> Result<CreatedOrder> {
        const ORDER_ID: &str = "(SELECT seq FROM sqlite_sequence WHERE name = 'orders')";
        const CERT_ID: &str = "(SELECT seq FROM sqlite_sequence WHERE name = 'certificates')";
        let now = &o.created_at;
        let c = &o.certificate;
        let mut sql = String::from(
            "INSERT INTO orders (account_id, container_id, user_id, product_name_id, status, organization_id, \
             common_name, data, created_at, updated_at, alternative_order_id, alt_id_unique, price_cents, \
             renewal_of_order_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);\n",
        );
        let mut binds = vec![
            Bind::I64(o.account_id),
            Bind::I64(o.container_id),
            Bind::I64(o.user_id),
            Bind::Text(o.product_name_id.clone()),
            // Signed already: stored issued at once (one index entry, not
            // an insert and a move).
            Bind::Text(if o.issued.is_some() {
                "issued".into()
            } else {
                o.status.clone()
            }),
            Bind::I64(organization_id),
            Bind::Text(o.common_name.clone()),
            Bind::Text(o.data.to_string()),
            Bind::Text(now.clone()),
            Bind::Text(now.clone()),
            Bind::OptText(o.payment.alternative_order_id.clone()),
            Bind::OptText(o.payment.unique_alternative_order_id()),
            Bind::I64(o.payment.price_cents),
            Bind::OptI64(o.renewal_of_order_id),
        ];
        if let Some(amount) = o.payment.debit_cents {
            sql.push_str(&format!(
                "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) \
                 VALUES (?, {ORDER_ID}, ?, 'order', ?);\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::I64(amount),
                Bind::Text(now.clone()),
            ]);
        }
        if !o.names.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO order_names (order_id, name) VALUES {};\n",
                vec![format!("({ORDER_ID}, ?)"); o.names.len()].join(", ")
            ));
            binds.extend(o.names.iter().map(|n| Bind::Text(n.clone())));
        }
        if let Some(p) = &o.issued {
            sql.push_str(&format!(
                "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                 dns_names, signature_hash, created_at, ca_id, serial, thumbprint, der, valid_from, valid_till, \
                 date_issued) VALUES (?, {ORDER_ID}, 'issued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(c.csr.clone()),
                Bind::Text(c.spki_sha256.clone()),
                Bind::I64(c.key_size),
                Bind::Text(c.common_name.clone()),
                Bind::Text(serde_json::to_string(&c.dns_names)?),
                Bind::Text(c.signature_hash.clone()),
                Bind::Text(now.clone()),
                Bind::Text(p.ca_id.clone()),
                Bind::Text(p.serial_hex.clone()),
                Bind::Text(p.thumbprint.clone()),
                Bind::Blob(p.der.clone()),
                Bind::Text(p.valid_from.clone()),
                Bind::Text(p.valid_till.clone()),
                Bind::Text(now.clone()),
            ]);
            // The serial was recorded (unattached) before signing.
            sql.push_str(&format!(
                "UPDATE serials SET certificate_id = {CERT_ID} WHERE ca_id = ? AND serial = ? \
                 AND certificate_id IS NULL;\n\
                 UPDATE orders SET certificate_id = {CERT_ID} WHERE id = {ORDER_ID};\n"
            ));
            binds.extend([
                Bind::Text(p.ca_id.clone()),
                Bind::Text(p.serial_hex.clone()),
            ]);
        } else {
            sql.push_str(&format!(
                "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, \
                 dns_names, signature_hash, created_at) VALUES (?, {ORDER_ID}, ?, ?, ?, ?, ?, ?, ?, ?);\n"
            ));
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(
                    if o.reserve_serial.is_some() {
                        "issuing"
                    } else {
                        "pending"
                    }
                    .into(),
                ),
                Bind::Text(c.csr.clone()),
                Bind::Text(c.spki_sha256.clone()),
                Bind::I64(c.key_size),
                Bind::Text(c.common_name.clone()),
                Bind::Text(serde_json::to_string(&c.dns_names)?),
                Bind::Text(c.signature_hash.clone()),
                Bind::Text(now.clone()),
            ]);
            sql.push_str(&format!(
                "UPDATE orders SET certificate_id = {CERT_ID} WHERE id = {ORDER_ID};\n"
            ));
        }
        if let Some((status, comments)) = &o.request {
            sql.push_str(&format!(
                "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                 VALUES (?, {ORDER_ID}, 'new_request', ?, ?, ?, ?, ?);\n"
            ));
            let processed = (status == "approved").then(|| now.clone());
            binds.extend([
                Bind::I64(o.account_id),
                Bind::Text(status.clone()),
                Bind::I64(o.user_id),
                Bind::OptText(comments.clone()),
                Bind::Text(now.clone()),
                Bind::OptText(processed),
            ]);
        }
        if let Some((ca_id, serial)) = &o.reserve_serial {
            sql.push_str(&format!(
                "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, {CERT_ID}, ?);\n"
            ));
            binds.extend([
                Bind::Text(ca_id.clone()),
                Bind::Text(serial.clone()),
                Bind::Text(now.clone()),
            ]);
        }
        let req_id = if o.request.is_some() {
            "(SELECT seq FROM sqlite_sequence WHERE name = 'requests')"
        } else {
            "NULL"
        };
        // The last column proves the pre-reserved serial is now this
        // certificate's (0 when there was none to attach).
        let attached = if let Some(p) = &o.issued {
            binds.extend([
                Bind::Text(p.ca_id.clone()),
                Bind::Text(p.serial_hex.clone()),
            ]);
            format!(
                "(SELECT certificate_id = {CERT_ID} FROM serials WHERE ca_id = ? AND serial = ?)"
            )
        } else {
            "1".to_string()
        };
        sql.push_str(&format!(
            "SELECT {ORDER_ID}, {CERT_ID}, {req_id}, {attached};"
        ));
        let row = self.submit(sql, binds).await?;
        let get = |i: usize| row.get(i).copied().flatten();
        if get(3) != Some(1) {
            return Err(StoreError::Corrupt(
                "an order was stored with a serial that was not reserved".into(),
            ));
        }
        Ok(CreatedOrder {
            order_id: get(0).ok_or_else(|| StoreError::Corrupt("no order id".into()))?,
            organization_id,
            organization_created: false,
            request_id: get(2),
            certificate_id: get(1)
                .ok_or_else(|| StoreError::Corrupt("no certificate id".into()))?,
        })
    }

    async fn reserve_serials_job(&self, ca_id: &str, serials: &[String]) -> Result<()> {
        if serials.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES {};\nSELECT 1;",
            vec!["(?, ?, NULL, ?)"; serials.len()].join(", ")
        );
        let now = now_ts();
        let mut binds = Vec::with_capacity(serials.len() * 3);
        for s in serials {
            binds.extend([
                Bind::Text(ca_id.to_string()),
                Bind::Text(s.clone()),
                Bind::Text(now.clone()),
            ]);
        }
        self.submit(sql, binds).await.map(|_| ())
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
}

/// Columns `sort=` may name, mapped to SQL.
fn order_sort_column(key: &str) -> Option<&'static str> {
    Some(match key {
        "order_id" | "id" => "o.id",
        "date_created" => "o.created_at",
        "common_name" => "o.common_name",
        "status" => "o.status",
        "product_name" | "product_name_id" => "o.product_name_id",
        "valid_till" => "(SELECT valid_till FROM certificates c WHERE c.id = o.certificate_id)",
        _ => return None,
    })
}

pub fn is_order_sort_key(key: &str) -> bool {
    order_sort_column(key).is_some()
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, settings, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(serde_json::to_string(settings)?)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let container_id: i64 = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, created_at) VALUES (?, NULL, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE accounts SET root_container_id = ? WHERE id = ?")
            .bind(container_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, job_title, telephone, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(container_id)
        .bind(&admin.role)
        .bind(&admin.first_name)
        .bind(&admin.last_name)
        .bind(&admin.email)
        .bind(&admin.job_title)
        .bind(&admin.telephone)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let account = self
            .get_account(account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let user = self
            .get_user(account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((account, user))
    }

    async fn get_account(&self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_row).collect()
    }

    async fn update_account_settings(&self, id: i64, settings: &AccountSettings) -> Result<()> {
        let n = sqlx::query("UPDATE accounts SET settings = ? WHERE id = ?")
            .bind(serde_json::to_string(settings)?)
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_container(&self, account_id: i64, id: i64) -> Result<Option<Container>> {
        let row = sqlx::query("SELECT * FROM containers WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(container_row).transpose()
    }

    async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
        sqlx::query("SELECT * FROM containers WHERE account_id = ? ORDER BY id")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(container_row)
            .collect()
    }

    async fn create_container(
        &self,
        account_id: i64,
        parent_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, description, created_at) \
             SELECT ?, id, ?, ?, ? FROM containers WHERE id = ? AND account_id = ? RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(description)
        .bind(now_ts())
        .bind(parent_id)
        .bind(account_id)
        .fetch_optional(&self.writer)
        .await?;
        id.ok_or(StoreError::NotFound)
    }

    async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
        sqlx::query(
            "SELECT * FROM account_metadata WHERE account_id = ? AND deleted = 0 ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(metadata_row)
        .collect()
    }

    async fn create_metadata(&self, account_id: i64, f: &NewMetadataField) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO account_metadata (account_id, label, is_required, is_active, data_type, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(&f.label)
        .bind(i64::from(f.is_required))
        .bind(i64::from(f.is_active))
        .bind(&f.data_type)
        .bind(now_ts())
        .fetch_one(&self.writer)
        .await?)
    }

    async fn update_metadata(&self, account_id: i64, id: i64, f: &NewMetadataField) -> Result<()> {
        let n = sqlx::query(
            "UPDATE account_metadata SET label = ?, is_required = ?, is_active = ?, data_type = ? \
             WHERE id = ? AND account_id = ? AND deleted = 0",
        )
        .bind(&f.label)
        .bind(i64::from(f.is_required))
        .bind(i64::from(f.is_active))
        .bind(&f.data_type)
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
        // Kept (marked deleted) so orders that carry a value still show it.
        let n = sqlx::query(
            "UPDATE account_metadata SET deleted = 1 WHERE id = ? AND account_id = ? AND deleted = 0",
        )
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_user(&self, account_id: i64, u: &NewUser) -> Result<User> {
        let account = self
            .get_account(account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, job_title, telephone, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(u.container_id.unwrap_or(account.root_container_id))
        .bind(&u.role)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(&u.job_title)
        .bind(&u.telephone)
        .bind(now_ts())
        .fetch_one(&self.writer)
        .await?;
        self.get_user(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
        sqlx::query("SELECT * FROM users WHERE account_id = ? ORDER BY id")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_row)
            .collect()
    }

    async fn update_user_contact(
        &self,
        account_id: i64,
        id: i64,
        c: &UserContactUpdate,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE users SET first_name = COALESCE(?, first_name), last_name = COALESCE(?, last_name), \
             email = COALESCE(?, email), job_title = COALESCE(?, job_title), \
             telephone = COALESCE(?, telephone) WHERE id = ? AND account_id = ?",
        )
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.job_title)
        .bind(&c.telephone)
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT * FROM users WHERE account_id = ? AND role = 'admin' ORDER BY id LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (key_hash, account_id, user_id, role, name, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&key.key_hash)
        .bind(key.account_id)
        .bind(key.user_id)
        .bind(&key.role)
        .bind(&key.name)
        .bind(now_ts())
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(
            "SELECT id, account_id, user_id, role, revoked FROM api_keys WHERE key_hash = ?",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ApiKey {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                user_id: r.try_get("user_id")?,
                role: r.try_get("role")?,
                revoked: r.try_get::<i64, _>("revoked")? != 0,
            })
        })
        .transpose()
    }

    async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO cas (id, name, parent_id, purpose, key_algorithm, key_file, cert_der, is_default, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&ca.id)
        .bind(&ca.name)
        .bind(&ca.parent_id)
        .bind(&ca.purpose)
        .bind(&ca.key_algorithm)
        .bind(&ca.key_file)
        .bind(&ca.cert_der)
        .bind(ca.is_default as i64)
        .bind(&ca.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_cas(&self) -> Result<Vec<CaRecord>> {
        let rows = sqlx::query("SELECT * FROM cas ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ca_row).collect()
    }

    async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO crl_numbers (ca_id, last_number) VALUES (?, 1) \
             ON CONFLICT (ca_id) DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
        )
        .bind(ca_id)
        .fetch_one(&self.writer)
        .await?;
        Ok(n)
    }

    async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_org_tx(&mut tx, account_id, org, &now).await?;
        tx.commit().await?;
        self.get_organization(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>> {
        let rows = sqlx::query(
            "SELECT id, assumed_name, data FROM organizations WHERE account_id = ? AND is_active = 1 \
             AND lower(name) = lower(?) ORDER BY created_at, id",
        )
        .bind(account_id)
        .bind(&key.name)
        .fetch_all(&self.pool)
        .await?;
        let eq = |v: &Value, k: &str, want: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|s| s.trim().eq_ignore_ascii_case(want.trim()))
                .unwrap_or(false)
        };
        for r in rows {
            let assumed: Option<String> = r.try_get("assumed_name")?;
            if assumed.as_deref().map(str::to_lowercase)
                != key.assumed_name.as_deref().map(str::to_lowercase)
            {
                continue;
            }
            let data = json_col(&r, "data")?;
            if eq(&data, "address", &key.address)
                && eq(&data, "city", &key.city)
                && eq(&data, "state", &key.state)
                && eq(&data, "zip", &key.zip)
                && eq(&data, "country", &key.country)
            {
                return Ok(Some(r.try_get("id")?));
            }
        }
        Ok(None)
    }

    async fn get_organization(&self, account_id: i64, id: i64) -> Result<Option<Organization>> {
        let row = sqlx::query(
            "SELECT o.*, (SELECT json_group_array(json_object('kind', v.type, 'status', v.status, \
             'date_created', v.date_created, 'validated_until', v.validated_until, 'verified_users', v.verified_users)) \
             FROM (SELECT * FROM org_validations WHERE organization_id = o.id ORDER BY type) v) AS validations_json \
             FROM organizations o WHERE o.id = ? AND o.account_id = ?",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut org = org_row(&row)?;
        org.validations = validations_from_json(row.try_get("validations_json")?)?;
        Ok(Some(org))
    }

    async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
        let row = sqlx::query("SELECT * FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let org = row.as_ref().map(org_row).transpose()?;
        self.with_validations(org).await
    }

    async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)> {
        // NULL filter values match everything.
        let where_sql = format!(
            "account_id = ? AND (? IS NULL OR is_active = ?) AND (? IS NULL OR container_id = ?) \
             AND {SCOPE_SQL}"
        );
        let active = filter.active.map(i64::from);
        let scope = filter.container_ids.as_deref().map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM organizations WHERE {where_sql}"
        )))
        .bind(account_id)
        .bind(active)
        .bind(active)
        .bind(filter.container_id)
        .bind(filter.container_id)
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM organizations WHERE {where_sql} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(active)
        .bind(active)
        .bind(filter.container_id)
        .bind(filter.container_id)
        .bind(&scope)
        .bind(&scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let mut o = org_row(r)?;
            o.validations = self.org_validations(o.id).await?;
            out.push(o);
        }
        Ok((out, total))
    }

    async fn pending_org_validations(&self, limit: i64) -> Result<Vec<PendingOrgValidation>> {
        let rows = sqlx::query(
            "SELECT o.account_id, o.id AS organization_id, o.name, v.type, v.date_created, v.verified_users \
             FROM org_validations v JOIN organizations o ON o.id = v.organization_id \
             WHERE v.status = 'pending' ORDER BY v.date_created, o.id, v.type LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let users: Option<String> = r.try_get("verified_users")?;
                Ok(PendingOrgValidation {
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    organization_name: r.try_get("name")?,
                    kind: r.try_get("type")?,
                    date_created: r.try_get("date_created")?,
                    verified_users: users.map(|u| serde_json::from_str(&u)).transpose()?,
                })
            })
            .collect()
    }

    async fn decide_org_validation(&self, d: &OrgDecision) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let account_id: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM organizations WHERE id = ?")
                .bind(d.organization_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(account_id) = account_id else {
            return Err(StoreError::NotFound);
        };
        let status = if d.approve { "active" } else { "rejected" };
        let contacts = d
            .verified_contacts
            .as_ref()
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
            .map(Value::to_string);
        if d.approve {
            sqlx::query(
                "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, type) DO UPDATE SET \
                 status = excluded.status, validated_until = excluded.validated_until, \
                 verified_users = COALESCE(excluded.verified_users, org_validations.verified_users)",
            )
            .bind(d.organization_id)
            .bind(&d.kind)
            .bind(status)
            .bind(&d.at)
            .bind(&d.validated_until)
            .bind(&contacts)
            .execute(&mut *tx)
            .await?;
        } else {
            let n = sqlx::query(
                "UPDATE org_validations SET status = 'rejected', validated_until = NULL \
                 WHERE organization_id = ? AND type = ?",
            )
            .bind(d.organization_id)
            .bind(&d.kind)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "INSERT INTO validation_audit (at, operator_key_id, account_id, organization_id, type, decision, note, verified_contacts) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&d.at)
        .bind(d.operator_key_id)
        .bind(account_id)
        .bind(d.organization_id)
        .bind(&d.kind)
        .bind(if d.approve { "approved" } else { "rejected" })
        .bind(&d.note)
        .bind(&contacts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM validation_audit WHERE (? IS NULL OR organization_id = ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(organization_id)
        .bind(organization_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let c: Option<String> = r.try_get("verified_contacts")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    operator_key_id: r.try_get("operator_key_id")?,
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    kind: r.try_get("type")?,
                    decision: r.try_get("decision")?,
                    note: r.try_get("note")?,
                    verified_contacts: c.map(|c| serde_json::from_str(&c)).transpose()?,
                })
            })
            .collect()
    }

    async fn submit_org_validation(
        &self,
        organization_id: i64,
        kind: &str,
        status: &str,
        validated_until: Option<&str>,
        verified_users: &Value,
    ) -> Result<()> {
        let users = match verified_users {
            Value::Array(a) if !a.is_empty() => Some(verified_users.to_string()),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, type) DO UPDATE SET status = excluded.status, \
             validated_until = excluded.validated_until, verified_users = excluded.verified_users, \
             date_created = excluded.date_created",
        )
        .bind(organization_id)
        .bind(kind)
        .bind(status)
        .bind(now_ts())
        .bind(validated_until)
        .bind(users)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn set_organization_active(&self, account_id: i64, id: i64, active: bool) -> Result<()> {
        let n =
            sqlx::query("UPDATE organizations SET is_active = ? WHERE id = ? AND account_id = ?")
                .bind(i64::from(active))
                .bind(id)
                .bind(account_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_domain_tx(&mut tx, account_id, d, &now)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("domain {} already exists", d.name)))?;
        tx.commit().await?;
        self.get_domain(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_row).transpose()
    }

    async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_row).transpose()
    }

    async fn list_domains(
        &self,
        account_id: i64,
        organization_id: Option<i64>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Domain>, i64)> {
        let where_sql =
            format!("account_id = ? AND (? IS NULL OR organization_id = ?) AND {SCOPE_SQL}");
        let scope = container_ids.map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM domains WHERE {where_sql}"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(organization_id)
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM domains WHERE {where_sql} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(organization_id)
        .bind(&scope)
        .bind(&scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(domain_row).collect::<Result<_>>()?, total))
    }

    async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        let ticket = match self.orgs.get(account_id, id) {
            Ok(hit) => return Ok(Some(hit)),
            Err(ticket) => ticket,
        };
        let found = self.read_organization_with_domains(account_id, id).await?;
        if let Some(v) = &found {
            self.orgs.put(ticket, v);
        }
        Ok(found)
    }

    async fn domains_of_organization(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<Domain>> {
        let rows = sqlx::query(
            "SELECT * FROM domains WHERE account_id = ? AND organization_id = ? ORDER BY id",
        )
        .bind(account_id)
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(domain_row).collect()
    }

    async fn set_domain_validated(
        &self,
        id: i64,
        validated_at: &str,
        validated_until: &str,
    ) -> Result<()> {
        let n =
            sqlx::query("UPDATE domains SET validated_at = ?, validated_until = ? WHERE id = ?")
                .bind(validated_at)
                .bind(validated_until)
                .bind(id)
                .execute(&self.writer)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn domains_due_for_dcv(&self, now: &str, limit: i64) -> Result<Vec<Domain>> {
        sqlx::query(
            "SELECT * FROM domains WHERE (validated_until IS NULL OR validated_until <= ?) AND is_active = 1 \
             AND dcv_method IN ('dns-txt-token', 'dns-cname-token', 'http-token') \
             AND dcv_token IS NOT NULL AND dcv_token_expires > ? \
             AND (dcv_next_check IS NULL OR dcv_next_check <= ?) ORDER BY id LIMIT ?",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(domain_row)
        .collect()
    }

    async fn record_dcv_attempt(
        &self,
        id: i64,
        token: Option<&str>,
        next_check: &str,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE domains SET dcv_attempts = dcv_attempts + 1, dcv_next_check = ?, dcv_last_error = ? \
             WHERE id = ? AND dcv_token IS ?",
        )
        .bind(next_check)
        .bind(error)
        .bind(id)
        .bind(token)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn set_domain_dcv(
        &self,
        account_id: i64,
        id: i64,
        method: &str,
        token: Option<(&str, &str)>,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE domains SET dcv_method = ?, dcv_token = ?, dcv_token_expires = ?, \
             dcv_attempts = 0, dcv_next_check = NULL, dcv_last_error = NULL \
             WHERE id = ? AND account_id = ?",
        )
        .bind(method)
        .bind(token.map(|t| t.0))
        .bind(token.map(|t| t.1))
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_domain_active(&self, account_id: i64, id: i64, active: bool) -> Result<()> {
        let n = sqlx::query("UPDATE domains SET is_active = ? WHERE id = ? AND account_id = ?")
            .bind(i64::from(active))
            .bind(id)
            .bind(account_id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM validation_links WHERE domain_id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM domains WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_validation_link(&self, l: &NewValidationLink) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO validation_links (account_id, kind, domain_id, order_id, email, token_hash, \
             expires_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(l.account_id)
        .bind(&l.kind)
        .bind(l.domain_id)
        .bind(l.order_id)
        .bind(&l.email)
        .bind(&l.token_hash)
        .bind(&l.expires_at)
        .bind(&l.sent_at)
        .fetch_one(&self.writer)
        .await?)
    }

    async fn find_validation_link(&self, token_hash: &str) -> Result<Option<ValidationLink>> {
        let row = sqlx::query("SELECT * FROM validation_links WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    async fn use_validation_link(&self, id: i64, now: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE validation_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .bind(id)
        .bind(now)
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }

    async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
        self.reserve_serials_job(ca_id, serials_hex).await
    }

    async fn create_order(&self, o: &NewOrder) -> Result<CreatedOrder> {
        if let (OrgForOrder::Existing(org_id), true) = (
            &o.organization,
            o.new_domains.is_empty() && o.emails.is_empty(),
        ) {
            return self.create_order_one_trip(o, *org_id).await;
        }
        if o.issued.is_some() {
            return Err(StoreError::Conflict(
                "a pre-signed certificate needs an existing organization and no new domains".into(),
            ));
        }
        let now = &o.created_at;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let (organization_id, organization_created) = match &o.organization {
            OrgForOrder::Existing(id) => (Some(*id), false),
            OrgForOrder::New(row) => (
                Some(insert_org_tx(&mut tx, o.account_id, row, now).await?),
                true,
            ),
            OrgForOrder::None => (None, false),
        };
        for d in &o.new_domains {
            let mut d = d.clone();
            d.organization_id = organization_id.ok_or_else(|| {
                StoreError::Conflict("a domain needs the order's organization".into())
            })?;
            insert_domain_tx(&mut tx, o.account_id, &d, now).await?;
        }
        let order_id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (account_id, container_id, user_id, product_name_id, status, organization_id, common_name, \
             data, created_at, updated_at, alternative_order_id, alt_id_unique, price_cents, renewal_of_order_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(o.account_id)
        .bind(o.container_id)
        .bind(o.user_id)
        .bind(&o.product_name_id)
        .bind(&o.status)
        .bind(organization_id)
        .bind(&o.common_name)
        .bind(o.data.to_string())
        .bind(now)
        .bind(now)
        .bind(&o.payment.alternative_order_id)
        .bind(o.payment.unique_alternative_order_id())
        .bind(o.payment.price_cents)
        .bind(o.renewal_of_order_id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(amount) = o.payment.debit_cents {
            sqlx::query(
                "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) \
                 VALUES (?, ?, ?, 'order', ?)",
            )
            .bind(o.account_id)
            .bind(order_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if !o.names.is_empty() {
            let sql = format!(
                "INSERT INTO order_names (order_id, name) VALUES {}",
                vec!["(?, ?)"; o.names.len()].join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for n in &o.names {
                q = q.bind(order_id).bind(n);
            }
            q.execute(&mut *tx).await?;
        }
        for e in &o.emails {
            sqlx::query(
                "INSERT INTO order_emails (order_id, email, status, date_emailed, validated_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (order_id, email) DO NOTHING",
            )
            .bind(order_id)
            .bind(&e.email)
            .bind(&e.status)
            .bind(&e.date_emailed)
            .bind(&e.validated_at)
            .execute(&mut *tx)
            .await?;
        }
        let c = &o.certificate;
        let certificate_id: i64 = sqlx::query_scalar(
            "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, dns_names, \
             signature_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(o.account_id)
        .bind(order_id)
        .bind(if o.reserve_serial.is_some() { "issuing" } else { "pending" })
        .bind(&c.csr)
        .bind(&c.spki_sha256)
        .bind(c.key_size)
        .bind(&c.common_name)
        .bind(serde_json::to_string(&c.dns_names)?)
        .bind(&c.signature_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE orders SET certificate_id = ? WHERE id = ?")
            .bind(certificate_id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if let Some((ca_id, serial)) = &o.reserve_serial {
            sqlx::query("INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)")
                .bind(ca_id)
                .bind(serial)
                .bind(certificate_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let request_id = match &o.request {
            Some((status, comments)) => {
                let processed = if status == "approved" {
                    Some(now.clone())
                } else {
                    None
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                     VALUES (?, ?, 'new_request', ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(o.account_id)
                .bind(order_id)
                .bind(status)
                .bind(o.user_id)
                .bind(comments)
                .bind(now)
                .bind(processed)
                .fetch_one(&mut *tx)
                .await?;
                Some(id)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(CreatedOrder {
            order_id,
            organization_id: organization_id.unwrap_or(0),
            organization_created,
            request_id,
            certificate_id,
        })
    }

    async fn create_extra_certificate(
        &self,
        x: &NewExtraCertificate,
    ) -> Result<CreatedExtraCertificate> {
        let now = &x.created_at;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE id = ? AND account_id = ?")
                .bind(x.order_id)
                .bind(x.account_id)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(StoreError::NotFound),
            Some("issued") => {}
            Some(other) => {
                return Err(StoreError::Conflict(format!(
                    "the order is {other}; only an issued order can be reissued or duplicated"
                )))
            }
        }
        if x.kind == "reissue" {
            sqlx::query(
                "UPDATE orders SET status = 'reissue_pending', updated_at = ? WHERE id = ?",
            )
            .bind(now)
            .bind(x.order_id)
            .execute(&mut *tx)
            .await?;
        }
        let request_id = match &x.request {
            Some((status, comments)) => {
                let processed = (status == "approved").then(|| now.clone());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, date_processed) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(x.account_id)
                .bind(x.order_id)
                .bind(&x.kind)
                .bind(status)
                .bind(x.user_id)
                .bind(comments)
                .bind(now)
                .bind(processed)
                .fetch_one(&mut *tx)
                .await?;
                Some(id)
            }
            None => None,
        };
        let c = &x.certificate;
        let status = match (&x.reserve_serial, x.approved) {
            (Some(_), _) => "issuing",
            (None, true) => "pending",
            (None, false) => "needs_approval",
        };
        let certificate_id: i64 = sqlx::query_scalar(
            "INSERT INTO certificates (account_id, order_id, status, csr, spki_sha256, key_size, common_name, dns_names, \
             signature_hash, created_at, kind, request_id, user_id, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(x.account_id)
        .bind(x.order_id)
        .bind(status)
        .bind(&c.csr)
        .bind(&c.spki_sha256)
        .bind(c.key_size)
        .bind(&c.common_name)
        .bind(serde_json::to_string(&c.dns_names)?)
        .bind(&c.signature_hash)
        .bind(now)
        .bind(&x.kind)
        .bind(request_id)
        .bind(x.user_id)
        .bind(x.data.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if let Some((ca_id, serial)) = &x.reserve_serial {
            sqlx::query("INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)")
                .bind(ca_id)
                .bind(serial)
                .bind(certificate_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(CreatedExtraCertificate {
            certificate_id,
            request_id,
        })
    }

    async fn certificates_awaiting_issuance(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT account_id, order_id, id FROM certificates WHERE status = 'pending' \
             AND kind IN ('reissue', 'duplicate') AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    async fn cancel_reissue(
        &self,
        account_id: i64,
        order_id: i64,
        note: Option<&str>,
        at: &str,
    ) -> Result<bool> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "UPDATE orders SET status = 'issued', updated_at = ? WHERE id = ? AND account_id = ? \
             AND status = 'reissue_pending' \
             AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id AND c.status = 'issuing')",
        )
        .bind(at)
        .bind(order_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        let requests: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE certificates SET status = 'canceled' WHERE order_id = ? AND kind = 'reissue' \
             AND status IN ('needs_approval', 'pending') RETURNING request_id",
        )
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?;
        for r in requests.into_iter().flatten() {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', processor_comment = ?, date_processed = ? \
                 WHERE id = ? AND status IN ('pending', 'submitted', 'approved')",
            )
            .bind(note)
            .bind(at)
            .bind(r)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn expiring_certificates(
        &self,
        account_id: i64,
        container_id: i64,
        from: &str,
        until: &str,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS ( \
                 SELECT id FROM containers WHERE id = ? AND account_id = ? \
                 UNION SELECT c.id FROM containers c JOIN sub ON c.parent_id = sub.id) \
             SELECT c.valid_till FROM orders o JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.account_id = ? AND o.container_id IN (SELECT id FROM sub) AND o.status = 'issued' \
               AND c.status = 'issued' AND c.valid_till >= ? AND c.valid_till < ?",
        )
        .bind(container_id)
        .bind(account_id)
        .bind(account_id)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
    ) -> Result<Option<Certificate>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE ca_id = ? AND serial = ?")
            .bind(ca_id)
            .bind(serial_hex)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
        let rows = sqlx::query(
            "SELECT email, status, date_emailed, validated_at FROM order_emails WHERE order_id = ? ORDER BY rowid",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrderEmail {
                    email: r.try_get("email")?,
                    status: r.try_get("status")?,
                    date_emailed: r.try_get("date_emailed")?,
                    validated_at: r.try_get("validated_at")?,
                })
            })
            .collect()
    }

    async fn mark_order_email_sent(&self, order_id: i64, email: &str, at: &str) -> Result<()> {
        sqlx::query(
            "UPDATE order_emails SET date_emailed = ? WHERE order_id = ? AND email = ? COLLATE NOCASE",
        )
        .bind(at)
        .bind(order_id)
        .bind(email)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: &str,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE order_emails SET status = 'validated', validated_at = COALESCE(validated_at, ?) \
             WHERE order_id = ? AND email = ? COLLATE NOCASE",
        )
        .bind(validated_at)
        .bind(order_id)
        .bind(email)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE orders SET updated_at = ? WHERE id = ?")
            .bind(validated_at)
            .bind(order_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "UPDATE certificates SET csr = ?, spki_sha256 = ?, key_size = ? \
             WHERE id = ? AND order_id = ? AND status = 'pending' AND csr = ''",
        )
        .bind(&a.csr)
        .bind(&a.spki_sha256)
        .bind(a.key_size)
        .bind(a.certificate_id)
        .bind(a.order_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("the order already has a CSR".into()));
        }
        sqlx::query(
            "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status IN ('needs_csr', 'waiting_pickup', 'needs_approval')",
        )
        .bind(&a.order_status)
        .bind(&a.updated_at)
        .bind(a.order_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
        let row = sqlx::query("SELECT * FROM orders WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    async fn find_order_by_certificate(&self, account_id: i64, key: &str) -> Result<Option<Order>> {
        let key = key.to_ascii_uppercase();
        let row = sqlx::query(
            "SELECT o.* FROM orders o JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.account_id = ? AND (c.serial = ? OR c.thumbprint = ?) LIMIT 1",
        )
        .bind(account_id)
        .bind(&key)
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_row).transpose()
    }

    async fn list_orders(&self, account_id: i64, q: &OrderQuery) -> Result<(Vec<Order>, i64)> {
        enum B {
            I(i64),
            S(String),
        }
        let mut conds = vec!["o.account_id = ?".to_string()];
        let mut binds = vec![B::I(account_id)];
        if let Some(v) = q.id {
            conds.push("o.id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.status {
            // "expired" is an issued order past its certificate's notAfter;
            // "issued" also matches those (vendor behaviour).
            if v == "expired" {
                conds.push(
                    "o.status = 'issued' AND (SELECT valid_till FROM certificates c WHERE c.id = o.certificate_id) < ?"
                        .into(),
                );
                binds.push(B::S(now_ts()));
            } else {
                conds.push("o.status = ?".into());
                binds.push(B::S(v.clone()));
            }
        }
        if let Some(v) = q.organization_id {
            conds.push("o.organization_id = ?".into());
            binds.push(B::I(v));
        }
        if !q.product_name_id.is_empty() {
            conds.push(format!(
                "o.product_name_id IN ({})",
                vec!["?"; q.product_name_id.len()].join(",")
            ));
            for p in &q.product_name_id {
                binds.push(B::S(p.clone()));
            }
        }
        if let Some(v) = q.user_id {
            conds.push("o.user_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.common_name {
            // TLS names are stored in lower case; S/MIME names keep theirs.
            conds.push("o.common_name = ? COLLATE NOCASE".into());
            binds.push(B::S(v.clone()));
        }
        if let Some(v) = &q.email {
            conds.push(
                "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND n.name = ? COLLATE NOCASE)"
                    .into(),
            );
            binds.push(B::S(v.clone()));
        }
        if let Some(v) = &q.domain_name {
            conds.push(
                "EXISTS (SELECT 1 FROM order_names n WHERE n.order_id = o.id AND n.name = ?)"
                    .into(),
            );
            binds.push(B::S(v.to_ascii_lowercase()));
        }
        if let Some(v) = q.container_id {
            conds.push("o.container_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(ids) = &q.container_ids {
            if ids.is_empty() {
                conds.push("0".into());
            } else {
                conds.push(format!(
                    "o.container_id IN ({})",
                    vec!["?"; ids.len()].join(",")
                ));
                binds.extend(ids.iter().map(|i| B::I(*i)));
            }
        }
        if let Some(v) = q.is_renewed {
            conds.push(format!(
                "{}EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of_order_id = o.id \
                 AND r.status NOT IN ('canceled', 'rejected'))",
                if v { "" } else { "NOT " }
            ));
        }
        if let Some(v) = q.certificate_id {
            conds.push("o.certificate_id = ?".into());
            binds.push(B::I(v));
        }
        if let Some(v) = &q.serial_number {
            conds.push(
                "EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = o.id AND c.serial = ?)"
                    .into(),
            );
            binds.push(B::S(v.to_ascii_uppercase()));
        }
        if let Some((v, contains)) = &q.search {
            if *contains {
                conds.push("o.common_name LIKE ? ESCAPE '\\'".into());
                let esc = v
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                binds.push(B::S(format!("%{}%", esc.to_ascii_lowercase())));
            } else {
                conds.push("o.common_name = ? COLLATE NOCASE".into());
                binds.push(B::S(v.clone()));
            }
        }
        let mut order_by: Vec<String> = q
            .sort
            .iter()
            .filter_map(|(k, desc)| {
                order_sort_column(k).map(|c| format!("{c} {}", if *desc { "DESC" } else { "ASC" }))
            })
            .collect();
        order_by.push("o.id ASC".into());
        let where_sql = conds.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM orders o WHERE {where_sql}");
        let list_sql = format!(
            "SELECT o.* FROM orders o WHERE {where_sql} ORDER BY {} LIMIT ? OFFSET ?",
            order_by.join(", ")
        );
        let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
        let mut list = sqlx::query(AssertSqlSafe(list_sql));
        for b in &binds {
            match b {
                B::I(i) => {
                    count = count.bind(*i);
                    list = list.bind(*i);
                }
                B::S(s) => {
                    count = count.bind(s.clone());
                    list = list.bind(s.clone());
                }
            }
        }
        let total = count.fetch_one(&self.pool).await?;
        let rows = list
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        Ok((rows.iter().map(order_row).collect::<Result<_>>()?, total))
    }

    async fn renewal_order_of(&self, account_id: i64, order_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM orders WHERE account_id = ? AND renewal_of_order_id = ? \
             AND status NOT IN ('canceled', 'rejected') ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn order_status_changes(
        &self,
        account_id: i64,
        from: &str,
        to: &str,
    ) -> Result<Vec<(i64, Option<i64>, String)>> {
        let rows = sqlx::query(
            "SELECT id, certificate_id, status FROM orders WHERE account_id = ? AND updated_at >= ? AND updated_at <= ? \
             ORDER BY updated_at, id LIMIT 10000",
        )
        .bind(account_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    async fn set_order_status(
        &self,
        account_id: i64,
        order_id: i64,
        from: &[&str],
        to: &str,
    ) -> Result<bool> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let cur: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE id = ? AND account_id = ?")
                .bind(order_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(cur) = cur else {
            return Err(StoreError::NotFound);
        };
        if !from.contains(&cur.as_str()) {
            return Ok(false);
        }
        let issuing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM certificates WHERE order_id = ? AND status = 'issuing'",
        )
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
        if issuing > 0 {
            return Ok(false);
        }
        let now = now_ts();
        sqlx::query("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?")
            .bind(to)
            .bind(&now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        if to == "canceled" {
            sqlx::query(
                "UPDATE requests SET status = 'rejected', date_processed = ? WHERE order_id = ? AND status IN ('pending','submitted')",
            )
            .bind(&now)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
        let row = sqlx::query("SELECT * FROM requests WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(request_row).transpose()
    }

    async fn list_requests(
        &self,
        account_id: i64,
        status: Option<&str>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Request>, i64)> {
        const WHERE: &str =
            "account_id = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR EXISTS \
             (SELECT 1 FROM orders o WHERE o.id = requests.order_id \
              AND o.container_id IN (SELECT value FROM json_each(?))))";
        let scope = container_ids.map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM requests WHERE {WHERE}"
        )))
        .bind(account_id)
        .bind(status)
        .bind(status)
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM requests WHERE {WHERE} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(status)
        .bind(status)
        .bind(&scope)
        .bind(&scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(request_row).collect::<Result<_>>()?, total))
    }

    async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
        let rows = sqlx::query("SELECT * FROM requests WHERE order_id = ? ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_row).collect()
    }

    async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let order_id: Option<i64> = sqlx::query_scalar(
            "UPDATE requests SET status = ?, processor_id = ?, processor_comment = ?, date_processed = ? \
             WHERE id = ? AND account_id = ? AND status = ? RETURNING order_id",
        )
        .bind(&p.to)
        .bind(p.processor_id)
        .bind(&p.processor_comment)
        .bind(&p.date_processed)
        .bind(p.request_id)
        .bind(p.account_id)
        .bind(&p.from)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(order_id) = order_id else {
            return Ok(false);
        };
        // A reissue/duplicate request unlocks (or drops) its certificate; a
        // rejected reissue returns the order to issued.
        sqlx::query(
            "UPDATE certificates SET status = CASE ? WHEN 'approved' THEN 'pending' ELSE 'rejected' END \
             WHERE request_id = ? AND status = 'needs_approval' AND ? IN ('approved', 'rejected')",
        )
        .bind(&p.to)
        .bind(p.request_id)
        .bind(&p.to)
        .execute(&mut *tx)
        .await?;
        if p.to == "rejected" {
            sqlx::query(
                "UPDATE orders SET status = 'issued', updated_at = ? WHERE id = ? AND status = 'reissue_pending' \
                 AND EXISTS (SELECT 1 FROM certificates c WHERE c.request_id = ? AND c.kind = 'reissue')",
            )
            .bind(&p.date_processed)
            .bind(order_id)
            .bind(p.request_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(status) = &p.order_status {
            // An approved order still waiting for its CSR waits in needs_csr
            // or waiting_pickup (decided here, in the same transaction as a
            // CSR upload would be).
            sqlx::query(
                "UPDATE orders SET status = CASE WHEN ? = 'pending' AND \
                 (SELECT csr FROM certificates c WHERE c.id = orders.certificate_id) = '' \
                 THEN ? ELSE ? END, updated_at = ? WHERE id = ?",
            )
            .bind(status)
            .bind(&p.awaiting_csr_status)
            .bind(status)
            .bind(&p.date_processed)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_certificate(&self, account_id: i64, id: i64) -> Result<Option<Certificate>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
        let rows = sqlx::query("SELECT * FROM certificates WHERE order_id = ? ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(cert_row).collect()
    }

    async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE certificates SET status = 'issuing' WHERE id = ? AND status = 'pending' AND {ISSUABLE_ORDER}"
        )))
            .bind(certificate_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "certificate {certificate_id} is not pending"
            )));
        }
        sqlx::query(
            "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(ca_id)
        .bind(serial_hex)
        .bind(certificate_id)
        .bind(now_ts())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release_claim(&self, certificate_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE certificates SET status = 'pending' WHERE id = ? AND status = 'issuing'",
        )
        .bind(certificate_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn reset_stale_claims(&self) -> Result<u64> {
        Ok(
            sqlx::query("UPDATE certificates SET status = 'pending' WHERE status = 'issuing'")
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }

    async fn record_issued(&self, c: &IssuedCertificate) -> Result<()> {
        let sql = "UPDATE certificates SET ca_id = ?, serial = ?, status = 'issued', thumbprint = ?, der = ?, \
            valid_from = ?, valid_till = ?, date_issued = ? WHERE id = ? AND status = 'issuing';
            SELECT changes();
            UPDATE orders SET status = 'issued', updated_at = ?, certificate_id = ? WHERE id = ?
                AND EXISTS (SELECT 1 FROM certificates WHERE id = ? AND status = 'issued' AND der IS NOT NULL
                    AND kind IN ('primary', 'reissue'));"
            .to_string();
        let binds = vec![
            Bind::Text(c.ca_id.clone()),
            Bind::Text(c.serial_hex.clone()),
            Bind::Text(c.thumbprint.clone()),
            Bind::Blob(c.der.clone()),
            Bind::Text(c.valid_from.clone()),
            Bind::Text(c.valid_till.clone()),
            Bind::Text(c.date_issued.clone()),
            Bind::I64(c.certificate_id),
            Bind::Text(c.date_issued.clone()),
            Bind::I64(c.certificate_id),
            Bind::I64(c.order_id),
            Bind::I64(c.certificate_id),
        ];
        let row = self.submit(sql, binds).await?;
        if row.first().copied().flatten() == Some(1) {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "certificate {} is not being issued",
                c.certificate_id
            )))
        }
    }

    async fn orders_awaiting_issuance(
        &self,
        updated_before: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT account_id, id FROM orders WHERE status = 'pending' AND updated_at < ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(updated_before)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn find_certificate(&self, account_id: i64, key: &str) -> Result<Option<Certificate>> {
        if let Ok(id) = key.parse::<i64>() {
            if let Some(c) = self.get_certificate(account_id, id).await? {
                return Ok(Some(c));
            }
        }
        let row =
            sqlx::query("SELECT * FROM certificates WHERE account_id = ? AND serial = ? LIMIT 1")
                .bind(account_id)
                .bind(key.to_ascii_uppercase())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(cert_row).transpose()
    }

    async fn create_request(
        &self,
        account_id: i64,
        order_id: i64,
        kind: &str,
        status: &str,
        requester_id: i64,
        comments: Option<&str>,
        data: &Value,
    ) -> Result<Request> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(order_id)
        .bind(kind)
        .bind(status)
        .bind(requester_id)
        .bind(comments)
        .bind(now_ts())
        .bind(data.to_string())
        .fetch_one(&self.writer)
        .await?;
        self.get_request(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some((req_id, processor, comment)) = &r.approve_request {
            let n = sqlx::query(
                "UPDATE requests SET status = 'approved', processor_id = ?, processor_comment = ?, date_processed = ? \
                 WHERE id = ? AND account_id = ? AND status IN ('pending', 'submitted')",
            )
            .bind(processor)
            .bind(comment)
            .bind(&r.revoked_at)
            .bind(req_id)
            .bind(r.account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "request {req_id} is not open"
                )));
            }
        }
        let mut revoked = Vec::new();
        for id in &r.certificate_ids {
            let row = sqlx::query(
                "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? \
                 WHERE id = ? AND account_id = ? AND status = 'issued' RETURNING *",
            )
            .bind(&r.revoked_at)
            .bind(&r.reason)
            .bind(id)
            .bind(r.account_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                revoked.push(cert_row(&row)?);
            }
        }
        for c in &revoked {
            if r.block_keys {
                if let Some(h) = &c.spki_sha256 {
                    sqlx::query(
                        "INSERT INTO blocked_keys (spki_sha256, reason, created_at) VALUES (?, ?, ?) \
                         ON CONFLICT (spki_sha256) DO NOTHING",
                    )
                    .bind(h)
                    .bind(&r.reason)
                    .bind(&r.revoked_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            // The order is revoked once none of its certificates is valid.
            sqlx::query(
                "UPDATE orders SET status = 'revoked', updated_at = ? WHERE id = ? \
                 AND NOT EXISTS (SELECT 1 FROM certificates WHERE order_id = ? AND status IN ('issued', 'issuing'))",
            )
            .bind(&r.revoked_at)
            .bind(c.order_id)
            .bind(c.order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoked_entries(&self, ca_id: &str) -> Result<Vec<(String, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, revocation_reason FROM certificates \
             WHERE ca_id = ? AND status = 'revoked' ORDER BY revoked_at, id",
        )
        .bind(ca_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    async fn balance(&self, account_id: i64) -> Result<Balance> {
        let row = sqlx::query(
            "SELECT balance_cents, negative_limit_cents, unlimited_negative FROM accounts WHERE id = ?",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Balance {
            balance_cents: row.try_get(0)?,
            negative_limit_cents: row.try_get(1)?,
            unlimited_negative: row.try_get::<i64, _>(2)? != 0,
        })
    }

    async fn deposit(&self, account_id: i64, amount_cents: i64, note: &str) -> Result<i64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        // A deposit is a negative debit; taking money away may not
        // overdraw the account either (the ledger trigger checks).
        sqlx::query(
            "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) VALUES (?, NULL, ?, ?, ?)",
        )
        .bind(account_id)
        .bind(-amount_cents)
        .bind(note)
        .bind(format_ts(time::OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
        let balance: i64 = sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(balance)
    }

    async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE accounts SET negative_limit_cents = ?, unlimited_negative = ? WHERE id = ?",
        )
        .bind(limit_cents)
        .bind(i64::from(unlimited))
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocked_keys WHERE spki_sha256 = ?")
            .bind(spki_sha256)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn close(&self) {
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
