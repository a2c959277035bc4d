//! The PostgreSQL store on a throwaway cluster (initdb into a temporary
//! directory, a loopback port; see `certwell_store::testing`): the
//! backend-neutral conformance suite (tests/conformance), then what only a
//! shared database has (two stores over one database).
//!
//! Needs PostgreSQL's server binaries (Debian: `apt-get install
//! postgresql-15`); without them these tests fail and say so.

#[macro_use]
mod conformance;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certwell_store::testing::TestPostgres;
use certwell_store::*;
use conformance::TestDatabase;

/// A fresh database in the shared test cluster.
struct PgDatabase {
    _cluster: TestPostgres,
    url: String,
}

impl PgDatabase {
    async fn new() -> PgDatabase {
        let cluster = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
        let url = cluster
            .fresh_database()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        PgDatabase {
            _cluster: cluster,
            url,
        }
    }
}

impl TestDatabase for PgDatabase {
    fn open(&self) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + '_>> {
        Box::pin(async move {
            open_store(&StoreConfig::from_url(&self.url, Durability::Full).unwrap())
                .await
                .unwrap()
        })
    }
}

conformance_tests!(PgDatabase::new);

// PostgreSQL only: one database, several instances.

/// A write through one instance reaches every other instance's change
/// feed (`LISTEN certwell_changes`) within a second, for each aggregate a
/// cache is built from — so a changed organization, key, account or custom
/// field is not served stale by another instance's cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_follows_the_writes_of_the_others() {
    let db = PgDatabase::new().await;
    let a = db.open().await;
    let b = db.open().await;
    let (account, user, org) = conformance::setup(a.as_ref()).await;
    // Let the notifications of the set-up's own writes arrive first, so
    // that each step below sees only its own.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let within_a_second = |aggregate: Aggregate, seen: u64| {
        let feed = b.changes().clone();
        async move {
            tokio::time::timeout(
                std::time::Duration::from_secs(1),
                feed.wait_past(aggregate, seen),
            )
            .await
            .unwrap_or_else(|_| {
                panic!("{aggregate:?}: no change seen by the other instance within 1 s")
            })
        }
    };

    let seen = b.changes().epoch(Aggregate::Keys);
    a.create_api_key(&NewApiKey {
        key_hash: "ab".repeat(32),
        account_id: Some(account.id),
        user_id: Some(user.id),
        role: "user".into(),
        name: "second".into(),
        restricted_role: 0,
        expires_at: None,
    })
    .await
    .unwrap();
    within_a_second(Aggregate::Keys, seen).await;

    let seen = b.changes().epoch(Aggregate::Organizations);
    a.set_organization_active(account.id, org.id, false)
        .await
        .unwrap();
    within_a_second(Aggregate::Organizations, seen).await;

    let seen = b.changes().epoch(Aggregate::Accounts);
    a.update_account_settings(account.id, &AccountSettings::default())
        .await
        .unwrap();
    within_a_second(Aggregate::Accounts, seen).await;

    let seen = b.changes().epoch(Aggregate::Metadata);
    a.create_metadata(
        account.id,
        &NewMetadataField {
            label: "Cost center".into(),
            is_required: false,
            is_active: true,
            data_type: "text".into(),
        },
    )
    .await
    .unwrap();
    within_a_second(Aggregate::Metadata, seen).await;

    // A revocation: every instance's OCSP responder and CRL follow it.
    let c = a
        .create_order(&conformance::order(
            &account,
            &user,
            Some(org.id),
            None,
            Some("0E01"),
        ))
        .await
        .unwrap();
    a.record_issued(&IssuedCertificate {
        certificate_id: c.certificate_id,
        order_id: c.order_id,
        ca_id: "CA1".into(),
        serial_hex: "0E01".into(),
        der: vec![1],
        thumbprint: "TE01".into(),
        valid_from: time::macros::datetime!(2026-01-01 0:00 UTC),
        valid_till: time::macros::datetime!(2099-01-01 0:00 UTC),
        date_issued: time::macros::datetime!(2026-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = b.changes().epoch(Aggregate::Revocations);
    a.revoke_certificates(&Revocation {
        account_id: account.id,
        certificate_ids: vec![c.certificate_id],
        reason: RevocationReason::Superseded,
        revoked_at: time::OffsetDateTime::now_utc(),
        block_keys: false,
        approve_request: None,
    })
    .await
    .unwrap();
    within_a_second(Aggregate::Revocations, seen).await;
    a.close().await;
    b.close().await;
}

/// Instances racing for a lease (one CRL per CA and period) or for due
/// domains (the DCV poller): each goes to exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_or_a_due_domain_goes_to_one_instance() {
    let db = PgDatabase::new().await;
    let stores = vec![db.open().await, db.open().await, db.open().await];
    for round in 0..20 {
        let name = format!("crl:{round}");
        let got = conformance::futures_like_join(
            stores
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (s, name) = (s.clone(), name.clone());
                    async move {
                        s.try_lease(&name, &format!("instance-{i}"), time::Duration::minutes(1))
                            .await
                            .unwrap()
                    }
                })
                .collect(),
        )
        .await;
        assert_eq!(
            got.iter().filter(|g| **g).count(),
            1,
            "round {round}: {got:?}"
        );
    }
    let (account, _, org) = conformance::setup(stores[0].as_ref()).await;
    let now = time::OffsetDateTime::now_utc();
    for i in 0..30 {
        let d = stores[0]
            .create_domain(
                account.id,
                &NewDomainRow {
                    dcv_method: DcvMethod::DnsTxtToken,
                    dcv_token: Some(format!("token-{i}")),
                    dcv_token_expires: Some(now + time::Duration::days(1)),
                    validated_until: None,
                    ..conformance::domain_row(&org, &format!("d{i}.example.com"))
                },
            )
            .await
            .unwrap();
        assert!(d.dcv_token.is_some());
    }
    let claimed = conformance::futures_like_join(
        stores
            .iter()
            .map(|s| {
                let s = s.clone();
                async move {
                    let mut mine = Vec::new();
                    loop {
                        let got = s
                            .claim_domains_due_for_dcv(now, 4, now + time::Duration::minutes(5))
                            .await
                            .unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|d| d.id));
                    }
                }
            })
            .collect(),
    )
    .await;
    let mut all: Vec<i64> = claimed.concat();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (30, 30), "each domain once: {claimed:?}");
    for s in stores {
        s.close().await;
    }
}

/// `certwell store copy`: a SQLite store holding every kind of record is
/// copied whole into an empty PostgreSQL database, where every read gives
/// what it gave on SQLite; new rows get ids after the copied ones; the
/// schema's triggers work again; a database that is not empty is refused.
#[tokio::test]
async fn a_sqlite_store_is_copied_whole_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certwell.db");
    let src = open_store(&StoreConfig::sqlite(&file, Durability::Full))
        .await
        .unwrap();
    let (a, u, org) = conformance::setup(src.as_ref()).await;
    let (b, _) = src
        .create_account("Other", &AccountSettings::default(), &conformance::admin())
        .await
        .unwrap();
    src.create_domain(a.id, &conformance::domain_row(&org, "example.com"))
        .await
        .unwrap();
    src.create_api_key(&NewApiKey {
        key_hash: "cd".repeat(32),
        account_id: Some(a.id),
        user_id: Some(u.id),
        role: "user".into(),
        name: "k".into(),
        restricted_role: 0,
        expires_at: None,
    })
    .await
    .unwrap();
    src.create_metadata(
        a.id,
        &NewMetadataField {
            label: "Cost center".into(),
            is_required: false,
            is_active: true,
            data_type: "text".into(),
        },
    )
    .await
    .unwrap();
    src.deposit(a.id, 12_345, "wire").await.unwrap();
    src.deposit(b.id, 500, "card").await.unwrap();
    // Orders: waiting for approval, issued, issued then revoked for key
    // compromise (its key blocked), and one with a new organization.
    src.create_order(&conformance::order(
        &a,
        &u,
        Some(org.id),
        Some("pending"),
        None,
    ))
    .await
    .unwrap();
    let mut issued = Vec::new();
    for serial in ["0F01", "0F02"] {
        let c = src
            .create_order(&conformance::order(
                &a,
                &u,
                Some(org.id),
                None,
                Some(serial),
            ))
            .await
            .unwrap();
        src.record_issued(&IssuedCertificate {
            certificate_id: c.certificate_id,
            order_id: c.order_id,
            ca_id: "CA1".into(),
            serial_hex: serial.into(),
            der: vec![0x30, 1, 2],
            thumbprint: format!("T{serial}"),
            valid_from: time::macros::datetime!(2026-01-01 0:00 UTC),
            valid_till: time::macros::datetime!(2099-01-01 0:00 UTC),
            date_issued: time::macros::datetime!(2026-01-01 0:00 UTC),
        })
        .await
        .unwrap();
        issued.push(c);
    }
    src.revoke_certificates(&Revocation {
        account_id: a.id,
        certificate_ids: vec![issued[1].certificate_id],
        reason: RevocationReason::KeyCompromise,
        revoked_at: time::macros::datetime!(2026-02-01 0:00 UTC),
        block_keys: true,
        approve_request: None,
    })
    .await
    .unwrap();
    let mut other_org = conformance::order(&a, &u, None, None, None);
    other_org.certificate.spki_sha256 = "01".into();
    src.create_order(&other_org).await.unwrap();
    let meta = CrlMeta {
        number: src.next_crl_number("CA1").await.unwrap(),
        this_update: time::macros::datetime!(2026-02-02 0:00 UTC),
        revocations: 1,
    };
    src.save_crl("CA1", &meta, b"crl").await.unwrap();

    // What the store answers, read the same way from either backend.
    async fn transcript(
        s: &dyn Store,
        a: &Account,
        b: &Account,
        org: &Organization,
    ) -> Vec<String> {
        let mut t = Vec::new();
        t.push(format!("{:?}", s.list_accounts().await.unwrap()));
        for acc in [a, b] {
            t.push(format!("{:?}", s.list_users(acc.id).await.unwrap()));
            t.push(format!("{:?}", s.balance(acc.id).await.unwrap()));
            t.push(format!("{:?}", s.list_containers(acc.id).await.unwrap()));
            let (orders, total) = s
                .list_orders(
                    acc.id,
                    &OrderQuery {
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            t.push(format!("{total} {orders:?}"));
            for o in &orders {
                t.push(format!(
                    "{:?}",
                    s.certificates_for_order(o.id).await.unwrap()
                ));
                t.push(format!("{:?}", s.requests_for_order(o.id).await.unwrap()));
            }
            t.push(format!(
                "{:?}",
                s.list_organizations(acc.id, OrgFilter::default(), 100, 0)
                    .await
                    .unwrap()
            ));
        }
        t.push(format!("{:?}", s.list_metadata(a.id).await.unwrap()));
        t.push(format!(
            "{:?}",
            s.organization_with_domains(a.id, org.id).await.unwrap()
        ));
        t.push(format!(
            "{:?}",
            s.find_api_key(&"cd".repeat(32)).await.unwrap()
        ));
        t.push(format!("{:?}", s.list_cas().await.unwrap()));
        t.push(format!("{:?}", s.crl_state("CA1").await.unwrap()));
        t.push(format!("{:?}", s.stored_crl("CA1").await.unwrap()));
        t.push(format!(
            "{:?}",
            s.revoked_entries("CA1", time::macros::datetime!(2026-01-01 0:00 UTC))
                .await
                .unwrap()
        ));
        t.push(format!("{:?}", s.is_key_blocked("00").await.unwrap()));
        t
    }
    let before = transcript(src.as_ref(), &a, &b, &org).await;
    src.close().await;

    let cluster = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster.fresh_database().await.unwrap();
    let mut heard = Vec::new();
    let copied = copy_sqlite_to_postgres(&file, &url, |t| heard.push(t.clone()))
        .await
        .unwrap();
    assert_eq!(heard, copied);
    let rows = |name: &str| copied.iter().find(|t| t.table == name).map(|t| t.rows);
    assert_eq!(rows("accounts"), Some(2));
    assert_eq!(rows("orders"), Some(4));
    assert_eq!(rows("blocked_keys"), Some(1));
    assert_eq!(rows("crls"), Some(1));
    assert!(rows("balance_ledger").unwrap() >= 2);

    let pg = open_store(&StoreConfig::from_url(&url, Durability::Full).unwrap())
        .await
        .unwrap();
    let after = transcript(pg.as_ref(), &a, &b, &org).await;
    for (x, y) in before.iter().zip(&after) {
        assert_eq!(x, y);
    }
    assert_eq!(before.len(), after.len());

    // Triggers are back: a deposit moves the balance once; a blocked key
    // is refused. Ids continue after the copied ones.
    let funds = pg.balance(a.id).await.unwrap();
    assert_eq!(
        pg.deposit(a.id, 5, "more").await.unwrap(),
        funds.balance_cents + 5
    );
    let refused = pg
        .create_order(&conformance::order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::BlockedKey), "{refused:?}");
    let mut fresh = conformance::order(&a, &u, Some(org.id), None, None);
    fresh.certificate.spki_sha256 = "02".into();
    let c = pg.create_order(&fresh).await.unwrap();
    assert!(c.order_id > issued[1].order_id + 1, "{c:?}");
    pg.close().await;

    // Only into an empty database.
    let e = copy_sqlite_to_postgres(&file, &url, |_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
}
