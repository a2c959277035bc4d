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
