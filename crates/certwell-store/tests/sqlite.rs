//! The SQLite store on a real database file: the backend-neutral
//! conformance suite (tests/conformance), then what only SQLite has
//! (migrating an old schema file, the organization cache of [`CachedStore`]
//! fed by SQLite's update hook, and a second process on the same file).

#[macro_use]
mod conformance;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certwell_store::*;
use conformance::{domain_row, order, setup, TestDatabase};
use time::macros::datetime;

/// A fresh database file in its own directory.
struct SqliteFile {
    dir: tempfile::TempDir,
}

impl SqliteFile {
    async fn new() -> SqliteFile {
        SqliteFile {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("t.db")
    }
}

impl TestDatabase for SqliteFile {
    fn open(&self) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + '_>> {
        Box::pin(async move {
            open_store(&StoreConfig::sqlite(self.path(), Durability::Full))
                .await
                .unwrap()
        })
    }
}

conformance_tests!(SqliteFile::new);

// SQLite only.

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("t.db"), Durability::Full)
        .await
        .unwrap();
    (dir, s)
}

/// A database written by the schema before migration 4 (orders with a NOT
/// NULL organization) keeps every row, id and reference when migrated.
#[tokio::test]
async fn migration_4_keeps_existing_orders() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .foreign_keys(true),
            )
            .await
            .unwrap();
        sqlx::query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        for (v, sql) in [
            (1, include_str!("../migrations/0001_initial.sql")),
            (2, include_str!("../migrations/0002_revocation.sql")),
            (
                3,
                include_str!("../migrations/0003_blocked_key_trigger.sql"),
            ),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES (?, 'x')")
                .bind(v)
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            "INSERT INTO accounts (id, name, root_container_id, settings, created_at) VALUES (1, 'a', 1, '{}', '2020-01-01T00:00:00+00:00');
             INSERT INTO containers (id, account_id, name, created_at) VALUES (1, 1, 'c', '2020-01-01T00:00:00+00:00');
             INSERT INTO users (id, account_id, container_id, role, first_name, last_name, email, created_at)
                 VALUES (1, 1, 1, 'admin', 'a', 'b', 'a@example.com', '2020-01-01T00:00:00+00:00');
             INSERT INTO organizations (id, account_id, container_id, name, data, created_at)
                 VALUES (1, 1, 1, 'Org', '{}', '2020-01-01T00:00:00+00:00');
             INSERT INTO orders (id, account_id, container_id, user_id, product_name_id, status, organization_id,
                 common_name, data, created_at, updated_at)
                 VALUES (41, 1, 1, 1, 'ssl_plus', 'pending', 1, 'example.com', '{}', '2020-01-01T00:00:00+00:00', '2020-01-01T00:00:00+00:00');
             INSERT INTO certificates (id, account_id, order_id, status, csr, common_name, dns_names,
                 signature_hash, created_at) VALUES (7, 1, 41, 'pending', 'csr', 'example.com', '[]', 'sha256', '2020-01-01T00:00:00+00:00');
             UPDATE orders SET certificate_id = 7 WHERE id = 41;
             INSERT INTO requests (account_id, order_id, type, status, requester_id, date)
                 VALUES (1, 41, 'new_request', 'pending', 1, '2020-01-01T00:00:00+00:00');",
        ))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let s = SqliteStore::open(&path, Durability::Full).await.unwrap();
    let o = s.get_order(1, 41).await.unwrap().unwrap();
    assert_eq!((o.organization_id, o.certificate_id), (1, Some(7)));
    assert_eq!(s.requests_for_order(41).await.unwrap().len(), 1);
    // New orders continue after the old ids, and references are enforced again.
    let (a, u, _) = (
        s.get_account(1).await.unwrap().unwrap(),
        s.get_user(1, 1).await.unwrap().unwrap(),
        (),
    );
    let mut n = order(&a, &u, Some(1), None, None);
    n.created_at = datetime!(2026-11-23 0:00 UTC);
    let c = s.create_order(&n).await.unwrap();
    assert!(c.order_id > 41);
    let mut bad = order(&a, &u, Some(999), None, None);
    bad.emails = vec![OrderEmail {
        email: "x@example.com".into(),
        status: certwell_store::MailboxStatus::Unvalidated,
        date_emailed: None,
        validated_at: None,
    }];
    assert!(
        s.create_order(&bad).await.is_err(),
        "foreign keys are on again"
    );
    s.close().await;
}

/// Timestamps keep their stored form (`YYYY-MM-DDTHH:MM:SS+00:00`, UTC,
/// whole seconds), so databases written before read the same and SQL
/// compares and sorts them as text.
#[tokio::test]
async fn timestamps_are_stored_as_utc_text_in_whole_seconds() {
    let (dir, s) = store().await;
    let (a, _, org) = setup(&s).await;
    let mut row = domain_row(&org, "text.example");
    row.validated_at = Some(datetime!(2026-11-23 14:05:09.75 +02:00));
    row.validated_until = Some(datetime!(0999-01-02 03:04:05 UTC));
    let d = s.create_domain(a.id, &row).await.unwrap();
    s.close().await;
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("t.db")),
    )
    .await
    .unwrap();
    let (at, until, created): (String, String, String) = sqlx::query_as(
        "SELECT validated_at, validated_until, created_at FROM domains WHERE id = ?",
    )
    .bind(d.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(at, "2026-11-23T12:05:09+00:00");
    assert_eq!(until, "0999-01-02T03:04:05+00:00");
    assert_eq!(created.len(), "2026-11-23T12:05:09+00:00".len());
    assert!(created.ends_with("+00:00"), "{created}");
    // Text written by an earlier version reads back as its instant; text
    // that is no timestamp is a corrupt record, not a panic.
    sqlx::query("UPDATE domains SET validated_at = '2024-02-29T23:59:59+00:00' WHERE id = ?")
        .bind(d.id)
        .execute(&pool)
        .await
        .unwrap();
    let s = SqliteStore::open(&dir.path().join("t.db"), Durability::Full)
        .await
        .unwrap();
    let back = s.get_domain(a.id, d.id).await.unwrap().unwrap();
    assert_eq!(back.validated_at, Some(datetime!(2024-02-29 23:59:59 UTC)));
    sqlx::query("UPDATE domains SET validated_at = 'yesterday' WHERE id = ?")
        .bind(d.id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        s.get_domain(a.id, d.id).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        s.organization_with_domains(a.id, org.id).await,
        Err(StoreError::Corrupt(_))
    ));
    pool.close().await;
    s.close().await;
}

/// Order creation reads organizations with their domains from a cache
/// ([`CachedStore`] over the SQLite store, as `open_store` gives it): every
/// change made through the store shows at once, whether it went through the
/// group-commit writer or a direct write, and a change made by another
/// process (the CLI) once the entry expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_organizations_follow_every_change() {
    let (dir, s) = store().await;
    let s = CachedStore::new(Arc::new(s));
    let (a, u, org) = setup(&s).await;
    let get = || async {
        s.organization_with_domains(a.id, org.id)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(get().await.1.is_empty());
    assert!(get().await.1.is_empty(), "served from the cache");

    // A direct write.
    let d = s
        .create_domain(a.id, &domain_row(&org, "example.com"))
        .await
        .unwrap();
    let (_, domains) = get().await;
    assert_eq!(domains.len(), 1);
    assert!(domains[0].is_active);
    s.set_domain_active(a.id, d.id, false).await.unwrap();
    assert!(!get().await.1[0].is_active);
    s.set_organization_active(a.id, org.id, false)
        .await
        .unwrap();
    assert!(!get().await.0.is_active);
    s.set_organization_active(a.id, org.id, true).await.unwrap();
    assert!(get().await.0.is_active);

    // A batch of the group-commit writer that adds a domain.
    let mut o = order(&a, &u, Some(org.id), None, None);
    o.new_domains = vec![domain_row(&org, "example.net")];
    s.create_order(&o).await.unwrap();
    let names: Vec<String> = get().await.1.into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["example.com", "example.net"]);

    // Another process on the same file: seen once the entry expires.
    assert!(!get().await.1[0].is_active);
    let other = SqliteStore::open(&dir.path().join("t.db"), Durability::Full)
        .await
        .unwrap();
    other.set_domain_active(a.id, d.id, true).await.unwrap();
    other.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(get().await.1[0].is_active);
}
