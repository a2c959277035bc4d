//! The store's contract, as tests any backend must pass. Each test is a
//! `pub async fn` over a [`TestDatabase`]; a backend's test file runs the
//! whole suite with `conformance_tests!(factory)`, where `factory` is an
//! async fn returning a fresh, empty database of that backend (see
//! `tests/sqlite.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certwell_store::*;
use serde_json::json;
use time::macros::datetime;

/// One empty database of a backend, kept for the length of a test.
pub trait TestDatabase {
    /// Opens the database: a new store each call, over the same data (a
    /// second call after [`Store::close`] sees what the first one wrote).
    fn open(&self) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + '_>>;
}

/// Expands to one `#[tokio::test]` per conformance test, each on a fresh
/// database from `$new_db` (an async fn returning a [`TestDatabase`]).
macro_rules! conformance_tests {
    ($new_db:expr) => {
        conformance_tests!(@test $new_db, #[tokio::test], one_trip_order_returns_the_ids_it_wrote);
        conformance_tests!(@test $new_db, #[tokio::test], claims_serials_and_issuance_records);
        conformance_tests!(@test $new_db, #[tokio::test], accounts_are_isolated_and_data_survives_reopening);
        conformance_tests!(@test $new_db, #[tokio::test], waiting_orders_are_listed_in_pages_after_a_cursor);
        conformance_tests!(@test $new_db, #[tokio::test], expired_filter_matches_issued_orders_past_not_after);
        conformance_tests!(@test $new_db, #[tokio::test], the_database_refuses_certificates_for_compromised_keys);
        conformance_tests!(@test $new_db, #[tokio::test], mailbox_orders_have_no_organization_and_per_address_state);
        conformance_tests!(@test $new_db, #[tokio::test], balance_debits_and_unique_alternative_order_ids);
        conformance_tests!(@test $new_db, #[tokio::test], renewal_links_and_container_scoped_lists);
        conformance_tests!(@test $new_db, #[tokio::test], pre_reserved_serials_store_order_and_certificate_in_one_transaction);
        conformance_tests!(@test $new_db, #[tokio::test], the_change_feed_moves_on_every_write_of_an_aggregate);
        conformance_tests!(@test $new_db, #[tokio::test], timestamps_read_back_in_utc_whole_seconds);
        conformance_tests!(@test $new_db, #[tokio::test], leases_are_held_once_and_taken_over_when_expired);
        conformance_tests!(@test $new_db, #[tokio::test], outbox_mail_is_sent_once_retried_and_given_up);
        conformance_tests!(@test $new_db, #[tokio::test], revocations_are_counted_for_the_stored_crl_and_followed);
        conformance_tests!(@test $new_db, #[tokio::test], users_and_keys_have_a_lifecycle);
        conformance_tests!(
            @test $new_db,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
            concurrent_orders_are_group_committed_and_one_bad_job_fails_alone
        );
    };
    (@test $new_db:expr, #[$attr:meta], $name:ident) => {
        #[$attr]
        async fn $name() {
            let db = $new_db().await;
            conformance::$name(&db).await;
        }
    };
}

pub fn admin() -> NewUser {
    NewUser {
        container_id: None,
        role: "admin".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@example.com".into(),
        job_title: String::new(),
        telephone: String::new(),
        is_api_only: false,
    }
}

pub async fn setup(s: &dyn Store) -> (Account, User, Organization) {
    let (a, u) = s
        .create_account("T", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    s.insert_ca(&CaRecord {
        id: "CA1".into(),
        name: "ca".into(),
        parent_id: None,
        purpose: Some("tls_ov".into()),
        key_algorithm: "ecdsa-p256".into(),
        key_file: "k".into(),
        cert_der: vec![1, 2, 3],
        is_default: true,
        created_at: datetime!(2026-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    let org = s
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: a.root_container_id,
                name: "Org".into(),
                assumed_name: None,
                data: json!({"address": "1 Main", "city": "X", "state": "Y", "zip": "1", "country": "us"}),
                validations: vec![(ValidationType::Ov, ValidationStatus::Active, Some(datetime!(2099-01-01 0:00 UTC)))],
            },
        )
        .await
        .unwrap();
    (a, u, org)
}

pub fn order(
    a: &Account,
    u: &User,
    org: Option<i64>,
    request: Option<&str>,
    serial: Option<&str>,
) -> NewOrder {
    NewOrder {
        payment: OrderPayment::default(),
        account_id: a.id,
        container_id: a.root_container_id,
        user_id: u.id,
        product_name_id: "ssl_plus".into(),
        status: if request.is_some() {
            OrderStatus::NeedsApproval
        } else {
            OrderStatus::Pending
        },
        organization: match org {
            Some(id) => OrgForOrder::Existing(id),
            None => OrgForOrder::New(NewOrganizationRow {
                container_id: a.root_container_id,
                name: "New".into(),
                assumed_name: None,
                data: json!({}),
                validations: vec![],
            }),
        },
        common_name: "example.com".into(),
        names: vec!["example.com".into(), "www.example.com".into()],
        data: json!({"k": 1}),
        new_domains: vec![],
        request: request.map(|s| {
            (
                RequestStatus::from_name(s).expect("a request status"),
                Some("please".into()),
            )
        }),
        certificate: NewCertificateRow {
            csr: "csr".into(),
            spki_sha256: "00".into(),
            key_size: 256,
            common_name: "example.com".into(),
            dns_names: vec!["example.com".into()],
            signature_hash: "sha256".into(),
        },
        reserve_serial: serial.map(|s| SerialReservation {
            ca_id: "CA1".to_string(),
            serial_hex: s.to_string(),
        }),
        emails: vec![],
        renewal_of_order_id: None,
        issued: None,
        created_at: datetime!(2026-11-23 0:00 UTC),
    }
}

/// Polls all futures at once on this task (they share the store's writer).
pub async fn futures_like_join<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

pub fn domain_row(org: &Organization, name: &str) -> NewDomainRow {
    NewDomainRow {
        container_id: org.container_id,
        organization_id: org.id,
        name: name.into(),
        dcv_method: DcvMethod::DnsTxtToken,
        dcv_token: None,
        dcv_token_expires: None,
        validation_types: vec![ValidationType::Ov],
        validated_at: None,
        validated_until: Some(datetime!(2099-01-01 0:00 UTC)),
    }
}

pub async fn one_trip_order_returns_the_ids_it_wrote(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let c1 = s
        .create_order(&order(&a, &u, Some(org.id), Some("pending"), None))
        .await
        .unwrap();
    let c2 = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("0A0B")))
        .await
        .unwrap();
    assert_eq!(c2.order_id, c1.order_id + 1);
    assert!(c1.request_id.is_some());
    assert!(c2.request_id.is_none());
    let o1 = s.get_order(a.id, c1.order_id).await.unwrap().unwrap();
    assert_eq!(o1.certificate_id, Some(c1.certificate_id));
    assert_eq!(o1.status, OrderStatus::NeedsApproval);
    let reqs = s.requests_for_order(c1.order_id).await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].status.as_str(), reqs[0].comments.as_deref()),
        ("pending", Some("please"))
    );
    let cert2 = s
        .get_certificate(a.id, c2.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cert2.status,
        CertificateStatus::Issuing,
        "reserved in the same transaction"
    );
    let (list, total) = s
        .list_orders(
            a.id,
            &OrderQuery {
                domain_name: Some("www.example.com".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((total, list.len()), (2, 2));

    // the same serial again for that CA: the whole batch rolls back
    let err = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("0A0B")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(Conflict::SerialInUse)),
        "{err:?}"
    );
    let (_, total) = s
        .list_orders(
            a.id,
            &OrderQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 2, "nothing of the failed order was kept");
    // and the writer connection is usable afterwards
    let c3 = s
        .create_order(&order(&a, &u, None, None, None))
        .await
        .unwrap();
    assert!(c3.organization_created);
}

pub async fn claims_serials_and_issuance_records(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let c = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    s.claim_and_reserve_serial("CA1", "01FF", c.certificate_id)
        .await
        .unwrap();
    // a second claim on the same certificate conflicts
    assert!(matches!(
        s.claim_and_reserve_serial("CA1", "02FF", c.certificate_id)
            .await,
        Err(StoreError::Conflict(Conflict::CertificateNotPending { .. }))
    ));
    // a released claim keeps its serial: the same serial can never be reserved again
    s.release_claim(c.certificate_id).await.unwrap();
    assert!(matches!(
        s.claim_and_reserve_serial("CA1", "01FF", c.certificate_id)
            .await,
        Err(StoreError::Conflict(Conflict::SerialInUse))
    ));
    s.claim_and_reserve_serial("CA1", "03FF", c.certificate_id)
        .await
        .unwrap();
    let issued = IssuedCertificate {
        certificate_id: c.certificate_id,
        order_id: c.order_id,
        ca_id: "CA1".into(),
        serial_hex: "03FF".into(),
        der: vec![9; 10],
        thumbprint: "AB".into(),
        valid_from: datetime!(2026-11-23 0:00 UTC),
        valid_till: datetime!(2027-06-10 0:00 UTC),
        date_issued: datetime!(2026-11-23 0:00 UTC),
    };
    s.record_issued(&issued).await.unwrap();
    assert_eq!(
        s.get_order(a.id, c.order_id).await.unwrap().unwrap().status,
        OrderStatus::Issued
    );
    assert!(
        matches!(
            s.record_issued(&issued).await,
            Err(StoreError::Conflict(Conflict::CertificateNotIssuing { .. }))
        ),
        "recorded once"
    );
    let found = s
        .find_order_by_certificate(a.id, "03ff")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, c.order_id);
    // A crash leaves 'issuing' rows: claims made before a moment go back
    // to pending. (This order reserved its serial when it was created, at
    // its created_at, 2026-11-23.)
    let c2 = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("04FF")))
        .await
        .unwrap();
    let status = |id: i64| {
        let s = &s;
        async move { s.get_certificate(a.id, id).await.unwrap().unwrap().status }
    };
    assert_eq!(
        s.reset_stale_claims(datetime!(2026-11-22 0:00 UTC))
            .await
            .unwrap(),
        0,
        "a claim made after the moment stays"
    );
    assert_eq!(status(c2.certificate_id).await, CertificateStatus::Issuing);
    assert_eq!(
        s.reset_stale_claims(datetime!(2026-11-24 0:00 UTC))
            .await
            .unwrap(),
        1
    );
    assert_eq!(status(c2.certificate_id).await, CertificateStatus::Pending);
    // Another instance takes the order over with a new serial: the first
    // holder's signature can no longer be recorded, the new one's can.
    s.claim_and_reserve_serial("CA1", "05FF", c2.certificate_id)
        .await
        .unwrap();
    let stale = IssuedCertificate {
        certificate_id: c2.certificate_id,
        order_id: c2.order_id,
        serial_hex: "04FF".into(),
        thumbprint: "C4".into(),
        ..issued.clone()
    };
    assert!(
        matches!(
            s.record_issued(&stale).await,
            Err(StoreError::Conflict(Conflict::CertificateNotIssuing { .. }))
        ),
        "only the claim's own serial is recorded"
    );
    // The takeover's claim was made now: a reset of claims older than a
    // minute leaves it.
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        s.reset_stale_claims(now - time::Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
    s.record_issued(&IssuedCertificate {
        serial_hex: "05FF".into(),
        thumbprint: "C5".into(),
        ..stale
    })
    .await
    .unwrap();
    assert_eq!(status(c2.certificate_id).await, CertificateStatus::Issued);
    let got = s
        .get_certificate(a.id, c2.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.serial.as_deref(), Some("05FF"));
}

pub async fn accounts_are_isolated_and_data_survives_reopening(db: &dyn TestDatabase) {
    let (a_id, order_id) = {
        let s = db.open().await;
        let (a, u, org) = setup(&*s).await;
        let (b, _) = s
            .create_account("Other", &AccountSettings::default(), &admin())
            .await
            .unwrap();
        let c = s
            .create_order(&order(&a, &u, Some(org.id), None, None))
            .await
            .unwrap();
        assert!(s.get_order(b.id, c.order_id).await.unwrap().is_none());
        assert!(s.get_organization(b.id, org.id).await.unwrap().is_none());
        assert!(s
            .get_certificate(b.id, c.certificate_id)
            .await
            .unwrap()
            .is_none());
        s.close().await;
        (a.id, c.order_id)
    };
    let s = db.open().await;
    let o = s.get_order(a_id, order_id).await.unwrap().unwrap();
    assert_eq!(o.data, json!({"k": 1}));
    let org = s
        .get_organization(a_id, o.organization_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.validations.len(), 1);
    assert_eq!(org.validations[0].kind, ValidationType::Ov);
    s.create_domain(
        a_id,
        &NewDomainRow {
            container_id: org.container_id,
            organization_id: org.id,
            name: "example.com".into(),
            dcv_method: DcvMethod::DnsTxtToken,
            dcv_token: Some("tok".into()),
            dcv_token_expires: None,
            validation_types: vec![ValidationType::Ov],
            validated_at: None,
            validated_until: Some(datetime!(2099-01-01 0:00 UTC)),
        },
    )
    .await
    .unwrap();
    let (o2, domains) = s
        .organization_with_domains(a_id, org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o2.validations.len(), 1);
    assert_eq!(domains.len(), 1);
    assert_eq!(domains[0].name, "example.com");
    assert_eq!(domains[0].validation_types, vec![ValidationType::Ov]);
    assert_eq!(domains[0].dcv_token.as_deref(), Some("tok"));
    assert!(domains[0].is_active);
    assert_eq!(
        domains[0].validated_until,
        Some(datetime!(2099-01-01 0:00 UTC))
    );
    assert!(s
        .organization_with_domains(a_id + 100, org.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.next_crl_number("CA1").await.unwrap(), 1);
    assert_eq!(s.next_crl_number("CA1").await.unwrap(), 2);
}

pub async fn concurrent_orders_are_group_committed_and_one_bad_job_fails_alone(
    db: &dyn TestDatabase,
) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (s, a, u) = (s.clone(), a.clone(), u.clone());
        // job 30 reuses job 29's serial: exactly one of the two must fail
        let serial = format!("{:04X}", if i == 30 { 29 } else { i });
        tasks.push(tokio::spawn(async move {
            s.create_order(&order(&a, &u, Some(org.id), None, Some(&serial)))
                .await
        }));
    }
    let mut ok = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => ok.push(c),
            Err(StoreError::Conflict(Conflict::SerialInUse)) => conflicts += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(conflicts, 1);
    assert_eq!(ok.len(), 59);
    let mut ids: Vec<i64> = ok.iter().map(|c| c.order_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 59, "distinct order ids");
    for c in &ok {
        let o = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
        assert_eq!(
            o.certificate_id,
            Some(c.certificate_id),
            "each order points at its own certificate"
        );
        let cert = s
            .get_certificate(a.id, c.certificate_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cert.order_id, c.order_id);
    }
    let (_, total) = s
        .list_orders(
            a.id,
            &OrderQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 59);
}

pub async fn waiting_orders_are_listed_in_pages_after_a_cursor(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            s.create_order(&order(&a, &u, Some(org.id), None, None))
                .await
                .unwrap()
                .order_id,
        );
    }
    let later = datetime!(2099-01-01 0:00 UTC);
    let p1 = s.orders_awaiting_issuance(later, 0, 2).await.unwrap();
    assert_eq!(p1.iter().map(|x| x.1).collect::<Vec<_>>(), ids[..2]);
    let p2 = s.orders_awaiting_issuance(later, p1[1].1, 2).await.unwrap();
    assert_eq!(p2.iter().map(|x| x.1).collect::<Vec<_>>(), ids[2..4]);
    let p3 = s.orders_awaiting_issuance(later, p2[1].1, 2).await.unwrap();
    assert_eq!(p3.iter().map(|x| x.1).collect::<Vec<_>>(), ids[4..]);
    assert!(s
        .orders_awaiting_issuance(later, ids[4], 2)
        .await
        .unwrap()
        .is_empty());
    // orders changed after the cut-off are left to their own request
    assert!(s
        .orders_awaiting_issuance(datetime!(2000-01-01 0:00 UTC), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn expired_filter_matches_issued_orders_past_not_after(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let c = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("0BAD")))
        .await
        .unwrap();
    s.record_issued(&IssuedCertificate {
        certificate_id: c.certificate_id,
        order_id: c.order_id,
        ca_id: "CA1".into(),
        serial_hex: "0BAD".into(),
        der: vec![1],
        thumbprint: "T".into(),
        valid_from: datetime!(2020-01-01 0:00 UTC),
        valid_till: datetime!(2020-06-01 0:00 UTC),
        date_issued: datetime!(2020-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    let _live = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    let q = |st: &str| OrderQuery {
        status: Some(st.into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.list_orders(a.id, &q("expired")).await.unwrap().1, 1);
    assert_eq!(
        s.list_orders(a.id, &q("issued")).await.unwrap().1,
        1,
        "issued also matches expired"
    );
    assert_eq!(s.list_orders(a.id, &q("pending")).await.unwrap().1, 1);
}

pub async fn the_database_refuses_certificates_for_compromised_keys(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    // Placed before the key is blocked: one claimed for signing, one
    // waiting for its CSR.
    let claimed = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("0C02")))
        .await
        .unwrap();
    let mut no_csr = order(&a, &u, Some(org.id), None, None);
    no_csr.certificate.csr = String::new();
    no_csr.certificate.spki_sha256 = String::new();
    let no_csr = s.create_order(&no_csr).await.unwrap();
    let c = s
        .create_order(&order(&a, &u, Some(org.id), None, Some("0C01")))
        .await
        .unwrap();
    s.record_issued(&IssuedCertificate {
        certificate_id: c.certificate_id,
        order_id: c.order_id,
        ca_id: "CA1".into(),
        serial_hex: "0C01".into(),
        der: vec![1],
        thumbprint: "T1".into(),
        valid_from: datetime!(2026-01-01 0:00 UTC),
        valid_till: datetime!(2099-01-01 0:00 UTC),
        date_issued: datetime!(2026-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    let revoked = s
        .revoke_certificates(&Revocation {
            account_id: a.id,
            certificate_ids: vec![c.certificate_id],
            reason: RevocationReason::KeyCompromise,
            revoked_at: datetime!(2026-02-01 0:00 UTC),
            block_keys: true,
            approve_request: None,
        })
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(s.is_key_blocked("00").await.unwrap());
    // Updates refuse the key too: recording the claimed certificate as
    // issued, attaching a CSR with the key.
    let late = s
        .record_issued(&IssuedCertificate {
            certificate_id: claimed.certificate_id,
            order_id: claimed.order_id,
            ca_id: "CA1".into(),
            serial_hex: "0C02".into(),
            der: vec![2],
            thumbprint: "T2".into(),
            valid_from: datetime!(2026-01-01 0:00 UTC),
            valid_till: datetime!(2099-01-01 0:00 UTC),
            date_issued: datetime!(2026-02-02 0:00 UTC),
        })
        .await;
    assert!(late.is_err(), "{late:?}");
    assert_eq!(
        s.get_certificate(a.id, claimed.certificate_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CertificateStatus::Issuing
    );
    let attach = s
        .attach_csr(&CsrAttachment {
            order_id: no_csr.order_id,
            certificate_id: no_csr.certificate_id,
            csr: "csr".into(),
            spki_sha256: "00".into(),
            key_size: 256,
            order_status: OrderStatus::Pending,
            updated_at: datetime!(2026-02-02 0:00 UTC),
        })
        .await;
    assert!(matches!(attach, Err(StoreError::BlockedKey)), "{attach:?}");
    assert_eq!(
        s.revoked_entries("CA1", datetime!(2026-01-01 0:00 UTC))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get_order(a.id, c.order_id).await.unwrap().unwrap().status,
        OrderStatus::Revoked
    );
    // both write paths (one-trip batch and the new-organization transaction)
    for org_id in [Some(org.id), None] {
        let e = s
            .create_order(&order(&a, &u, org_id, None, None))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::BlockedKey), "{e:?}");
    }
    let (_, total) = s
        .list_orders(
            a.id,
            &OrderQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 3, "nothing was stored for the refused orders");
}

pub async fn mailbox_orders_have_no_organization_and_per_address_state(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, _org) = setup(&*s).await;
    let mut o = order(&a, &u, None, None, None);
    o.organization = OrgForOrder::None;
    o.status = OrderStatus::NeedsCsr;
    o.certificate.csr = String::new();
    o.emails = vec![
        OrderEmail {
            email: "a@example.com".into(),
            status: MailboxStatus::Unvalidated,
            date_emailed: None,
            validated_at: None,
        },
        OrderEmail {
            email: "b@example.com".into(),
            status: MailboxStatus::Validated,
            date_emailed: None,
            validated_at: Some(datetime!(2026-11-23 0:00 UTC)),
        },
    ];
    let c = s.create_order(&o).await.unwrap();
    assert_eq!(c.organization_id, 0);
    let got = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(got.organization_id, 0);
    assert_eq!(got.status, OrderStatus::NeedsCsr);
    let emails = s.order_emails(c.order_id).await.unwrap();
    assert_eq!(
        emails
            .iter()
            .map(|e| (e.email.as_str(), e.status.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("a@example.com", "unvalidated"),
            ("b@example.com", "validated")
        ]
    );
    s.set_order_email_validated(c.order_id, "A@example.com", datetime!(2026-11-24 0:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        s.order_emails(c.order_id).await.unwrap()[0].status,
        MailboxStatus::Validated
    );
    assert!(matches!(
        s.set_order_email_validated(c.order_id, "c@example.com", datetime!(2026-11-24 0:00 UTC))
            .await,
        Err(StoreError::NotFound)
    ));

    // The CSR arrives once; a second one is refused.
    let attach = CsrAttachment {
        order_id: c.order_id,
        certificate_id: c.certificate_id,
        csr: "csr".into(),
        spki_sha256: "ab".into(),
        key_size: 2048,
        order_status: OrderStatus::Pending,
        updated_at: datetime!(2026-11-24 0:00 UTC),
    };
    s.attach_csr(&attach).await.unwrap();
    let got = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Pending);
    let cert = s
        .get_certificate(a.id, c.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cert.csr, "csr");
    assert!(matches!(
        s.attach_csr(&attach).await,
        Err(StoreError::Conflict(Conflict::CsrAlreadyAttached))
    ));
}

/// The balance ledger refuses an overdraft inside the order's own
/// transaction (both write paths), and a unique alternative order id
/// holds under concurrent inserts of the group-commit writer.
pub async fn balance_debits_and_unique_alternative_order_ids(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    // New accounts may go negative without limit.
    let b = s.balance(a.id).await.unwrap();
    assert!(b.unlimited_negative);
    assert_eq!(b.balance_cents, 0);
    s.set_negative_limit(a.id, 1_000, false).await.unwrap();
    assert_eq!(s.deposit(a.id, 5_000, "test").await.unwrap(), 5_000);
    let paid = |amount: i64, alt: Option<&str>, unique: bool, new_org: bool| {
        let mut o = order(&a, &u, (!new_org).then_some(org.id), None, None);
        o.payment = OrderPayment {
            alternative_order_id: alt.map(str::to_string),
            unique,
            price_cents: amount,
            debit_cents: Some(amount),
        };
        o
    };
    // One-trip path (existing organization) and transaction path (new one).
    s.create_order(&paid(3_000, None, false, false))
        .await
        .unwrap();
    s.create_order(&paid(2_500, None, false, true))
        .await
        .unwrap();
    assert_eq!(s.balance(a.id).await.unwrap().balance_cents, -500);
    for new_org in [false, true] {
        match s.create_order(&paid(600, None, false, new_org)).await {
            Err(StoreError::InsufficientFunds) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        s.balance(a.id).await.unwrap().balance_cents,
        -500,
        "nothing debited"
    );
    // Taking money away may not overdraw either.
    assert!(matches!(
        s.deposit(a.id, -600, "fee").await,
        Err(StoreError::InsufficientFunds)
    ));
    assert!(matches!(
        s.deposit(999, 1, "x").await,
        Err(StoreError::NotFound)
    ));

    s.set_negative_limit(a.id, 0, true).await.unwrap();
    let same = paid(100, Some("alt-1"), true, false);
    let jobs: Vec<_> = (0..10).map(|_| s.create_order(&same)).collect();
    let mut ok = 0;
    for r in futures_like_join(jobs).await {
        match r {
            Ok(_) => ok += 1,
            Err(StoreError::DuplicateAlternativeOrderId) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        s.balance(a.id).await.unwrap().balance_cents,
        -600,
        "debited once"
    );
    // Without the account setting, the id may repeat.
    s.create_order(&paid(100, Some("alt-1"), false, false))
        .await
        .unwrap();
    s.create_order(&paid(100, Some("alt-1"), false, true))
        .await
        .unwrap();
    // Through the transaction path, the unique id holds too.
    assert!(matches!(
        s.create_order(&paid(100, Some("alt-1"), true, true)).await,
        Err(StoreError::DuplicateAlternativeOrderId)
    ));
}

pub async fn renewal_links_and_container_scoped_lists(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let old = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap()
        .order_id;
    assert_eq!(s.renewal_order_of(a.id, old).await.unwrap(), None);
    let mut renewal = order(&a, &u, Some(org.id), None, None);
    renewal.renewal_of_order_id = Some(old);
    let new = s.create_order(&renewal).await.unwrap().order_id;
    let got = s.get_order(a.id, new).await.unwrap().unwrap();
    assert_eq!(got.renewal_of_order_id, Some(old));
    assert_eq!(s.renewal_order_of(a.id, old).await.unwrap(), Some(new));
    let renewed = |v: bool| OrderQuery {
        is_renewed: Some(v),
        limit: 10,
        ..Default::default()
    };
    let (list, _) = s.list_orders(a.id, &renewed(true)).await.unwrap();
    assert_eq!(list.iter().map(|o| o.id).collect::<Vec<_>>(), vec![old]);
    let (list, _) = s.list_orders(a.id, &renewed(false)).await.unwrap();
    assert_eq!(list.iter().map(|o| o.id).collect::<Vec<_>>(), vec![new]);
    // a canceled renewal no longer renews the old order
    assert!(s
        .set_order_status(a.id, new, &[OrderStatus::Pending], OrderStatus::Canceled)
        .await
        .unwrap());
    assert_eq!(s.renewal_order_of(a.id, old).await.unwrap(), None);
    let (list, _) = s.list_orders(a.id, &renewed(true)).await.unwrap();
    assert!(list.is_empty());

    // container scope: an empty scope sees nothing, the root sees both
    let scoped = |ids: Vec<i64>| OrderQuery {
        container_ids: Some(ids),
        limit: 10,
        ..Default::default()
    };
    let (_, total) = s.list_orders(a.id, &scoped(vec![])).await.unwrap();
    assert_eq!(total, 0);
    let (_, total) = s
        .list_orders(a.id, &scoped(vec![a.root_container_id]))
        .await
        .unwrap();
    assert_eq!(total, 2);
    let (_, total) = s
        .list_orders(a.id, &scoped(vec![a.root_container_id + 1000]))
        .await
        .unwrap();
    assert_eq!(total, 0);
}

pub async fn pre_reserved_serials_store_order_and_certificate_in_one_transaction(
    db: &dyn TestDatabase,
) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    s.reserve_serials("CA1", &["0A01".into(), "0A02".into()])
        .await
        .unwrap();
    // a serial can be reserved once only
    assert!(s.reserve_serials("CA1", &["0A01".into()]).await.is_err());
    let pre = |serial: &str| PreIssued {
        ca_id: "CA1".into(),
        serial_hex: serial.into(),
        der: vec![7; 12],
        thumbprint: "CD".into(),
        valid_from: datetime!(2026-11-23 0:00 UTC),
        valid_till: datetime!(2027-06-10 0:00 UTC),
    };
    let mut o = order(&a, &u, Some(org.id), None, None);
    o.issued = Some(pre("0A01"));
    let c = s.create_order(&o).await.unwrap();
    let got = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(
        (got.status.as_str(), got.certificate_id),
        ("issued", Some(c.certificate_id))
    );
    let cert = s
        .get_certificate(a.id, c.certificate_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cert.status, CertificateStatus::Issued);
    assert_eq!(cert.der.as_deref(), Some(&[7u8; 12][..]));
    assert_eq!(cert.serial.as_deref(), Some("0A01"));
    let by_serial = s.find_certificate(a.id, "0a01").await.unwrap();
    assert_eq!(by_serial.map(|c| c.id), Some(c.certificate_id));
    // a serial that was never reserved (or is taken) is refused, and
    // nothing of the order is written
    let all = OrderQuery {
        limit: 100,
        ..Default::default()
    };
    let before = s.list_orders(a.id, &all).await.unwrap().1;
    let mut o = order(&a, &u, Some(org.id), None, None);
    o.issued = Some(pre("0BAD"));
    assert!(matches!(
        s.create_order(&o).await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(s.list_orders(a.id, &all).await.unwrap().1, before);
    let mut o = order(&a, &u, Some(org.id), None, None);
    o.issued = Some(pre("0A01"));
    assert!(s.create_order(&o).await.is_err(), "a serial attaches once");
    // pre-signed orders need the one-transaction path
    let mut o = order(&a, &u, None, None, None);
    o.issued = Some(pre("0A02"));
    assert!(matches!(
        s.create_order(&o).await,
        Err(StoreError::Conflict(
            Conflict::PreSignedNeedsExistingOrganization
        ))
    ));
}

/// `write` moves the epoch of `aggregate` by the time it returns.
async fn moves<F: Future>(s: &dyn Store, aggregate: Aggregate, what: &str, write: F) -> F::Output {
    let before = s.changes().epoch(aggregate);
    let out = write.await;
    assert!(
        s.changes().epoch(aggregate) > before,
        "{what} moves the {aggregate:?} epoch"
    );
    out
}

/// The change feed the caches over a store follow: a write of each
/// aggregate moves its epoch before it returns (so a cache entry read
/// before it is not served after it), a waiter is woken by it, and order
/// creation for an existing organization leaves the organizations' epoch
/// alone (their cache serves every order).
pub async fn the_change_feed_moves_on_every_write_of_an_aggregate(db: &dyn TestDatabase) {
    use Aggregate::*;
    let s = db.open().await;
    let s = &*s;
    let (a, u, org) = moves(s, Organizations, "create_organization", setup(s)).await;
    moves(
        s,
        Accounts,
        "create_account",
        s.create_account("F", &AccountSettings::default(), &admin()),
    )
    .await
    .unwrap();

    // The hot path: an order for an existing organization, no new domain.
    // (A direct write may settle just after it returns: wait for that.)
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let before = s.changes().epoch(Organizations);
    s.create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        s.changes().epoch(Organizations),
        before,
        "an order for an existing organization leaves their cache alone"
    );

    // Organizations, their validations and domains.
    let d = moves(
        s,
        Organizations,
        "create_domain",
        s.create_domain(org.account_id, &domain_row(&org, "feed.example")),
    )
    .await
    .unwrap();
    moves(
        s,
        Organizations,
        "set_domain_active",
        s.set_domain_active(org.account_id, d.id, false),
    )
    .await
    .unwrap();
    moves(
        s,
        Organizations,
        "set_domain_validated",
        s.set_domain_validated(
            d.id,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2027-01-01 0:00 UTC),
        ),
    )
    .await
    .unwrap();
    moves(
        s,
        Organizations,
        "set_organization_active",
        s.set_organization_active(org.account_id, org.id, false),
    )
    .await
    .unwrap();
    moves(
        s,
        Organizations,
        "submit_org_validation",
        s.submit_org_validation(
            org.id,
            ValidationType::Ev,
            ValidationStatus::Pending,
            None,
            &json!([]),
        ),
    )
    .await
    .unwrap();
    moves(
        s,
        Organizations,
        "delete_domain",
        s.delete_domain(org.account_id, d.id),
    )
    .await
    .unwrap();

    // API keys and users.
    moves(
        s,
        Keys,
        "create_api_key",
        s.create_api_key(&NewApiKey {
            key_hash: "feed-key".into(),
            account_id: Some(a.id),
            user_id: Some(u.id),
            role: "admin".into(),
            name: "k".into(),
            restricted_role: 0,
            expires_at: None,
        }),
    )
    .await
    .unwrap();
    let mut other = admin();
    other.email = "b@example.com".into();
    let other = moves(s, Keys, "create_user", s.create_user(a.id, &other))
        .await
        .unwrap();
    moves(
        s,
        Keys,
        "set_user_role",
        s.set_user_role(a.id, other.id, "manager"),
    )
    .await
    .unwrap();
    moves(
        s,
        Keys,
        "set_user_status",
        s.set_user_status(a.id, other.id, UserStatus::Inactive),
    )
    .await
    .unwrap();
    moves(
        s,
        Keys,
        "update_user_contact",
        s.update_user_contact(
            a.id,
            u.id,
            &UserContactUpdate {
                first_name: Some("C".into()),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();

    // Accounts and containers.
    let settings = AccountSettings {
        allow_guest_access: true,
        ..Default::default()
    };
    moves(
        s,
        Accounts,
        "update_account_settings",
        s.update_account_settings(a.id, &settings),
    )
    .await
    .unwrap();
    moves(
        s,
        Accounts,
        "create_container",
        s.create_container(a.id, a.root_container_id, "sub", ""),
    )
    .await
    .unwrap();

    // Custom order fields; a waiter is woken by the change.
    let field = NewMetadataField {
        label: "Cost center".into(),
        is_required: false,
        is_active: true,
        data_type: "text".into(),
    };
    let feed = s.changes().clone();
    let seen = feed.epoch(Metadata);
    let (woken, id) = tokio::join!(
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            feed.wait_past(Metadata, seen)
        ),
        moves(
            s,
            Metadata,
            "create_metadata",
            s.create_metadata(a.id, &field)
        ),
    );
    assert!(woken.expect("the write wakes a waiter") > seen);
    let id = id.unwrap();
    moves(
        s,
        Metadata,
        "update_metadata",
        s.update_metadata(a.id, id, &field),
    )
    .await
    .unwrap();
    moves(s, Metadata, "delete_metadata", s.delete_metadata(a.id, id))
        .await
        .unwrap();

    s.close().await;
}

/// A timestamp comes back as it was written, in UTC and truncated to the
/// second, through every read (a row, the organization-with-domains read),
/// and the comparisons the store makes treat a bound the same way.
pub async fn timestamps_read_back_in_utc_whole_seconds(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let mut row = domain_row(&org, "time.example");
    row.validated_at = Some(datetime!(2026-11-23 14:00:00.75 +02:00));
    row.dcv_token = Some("tok".into());
    row.dcv_token_expires = Some(datetime!(2026-12-23 12:00:00.999_999_999 UTC));
    let d = s.create_domain(a.id, &row).await.unwrap();
    let (_, domains) = s
        .organization_with_domains(a.id, org.id)
        .await
        .unwrap()
        .unwrap();
    for d in [&d, &domains[0]] {
        let at = d.validated_at.unwrap();
        assert_eq!(at, datetime!(2026-11-23 12:00 UTC));
        assert_eq!(at.offset(), time::UtcOffset::UTC);
        assert_eq!(d.dcv_token_expires, Some(datetime!(2026-12-23 12:00 UTC)));
        assert_eq!(d.validated_until, Some(datetime!(2099-01-01 0:00 UTC)));
        assert_eq!(d.created_at.nanosecond(), 0);
    }
    s.set_domain_validated(
        d.id,
        datetime!(2026-11-24 10:00:00.5 UTC),
        datetime!(2027-11-24 10:00:00.5 UTC),
    )
    .await
    .unwrap();
    let d = s.get_domain(a.id, d.id).await.unwrap().unwrap();
    assert_eq!(
        (d.validated_at, d.validated_until),
        (
            Some(datetime!(2026-11-24 10:00 UTC)),
            Some(datetime!(2027-11-24 10:00 UTC))
        )
    );
    let v = &s
        .get_organization(a.id, org.id)
        .await
        .unwrap()
        .unwrap()
        .validations[0];
    assert_eq!(v.validated_until, Some(datetime!(2099-01-01 0:00 UTC)));

    let mut o = order(&a, &u, Some(org.id), None, None);
    o.created_at = datetime!(2026-11-23 12:00:00.9 UTC);
    let c = s.create_order(&o).await.unwrap();
    let got = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    let at = datetime!(2026-11-23 12:00 UTC);
    assert_eq!((got.created_at, got.updated_at), (at, at));
    // updated_at < cutoff, with the cutoff in whole seconds too
    let waiting = |cutoff| s.orders_awaiting_issuance(cutoff, 0, 10);
    assert!(waiting(at).await.unwrap().is_empty());
    assert!(waiting(datetime!(2026-11-23 12:00:00.9 UTC))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        waiting(datetime!(2026-11-23 12:00:01 UTC)).await.unwrap(),
        vec![(a.id, c.order_id)]
    );
    // a range includes both ends
    let changes = s
        .order_status_changes(a.id, at, datetime!(2026-11-23 12:00:00.1 UTC))
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
}

pub async fn leases_are_held_once_and_taken_over_when_expired(db: &dyn TestDatabase) {
    let s = db.open().await;
    let minute = time::Duration::minutes(1);
    assert!(s.try_lease("crl:CA1", "a", minute).await.unwrap());
    assert!(
        !s.try_lease("crl:CA1", "b", minute).await.unwrap(),
        "held by a"
    );
    assert!(
        s.try_lease("crl:CA1", "a", minute).await.unwrap(),
        "a renews"
    );
    assert!(
        s.try_lease("crl:CA2", "b", minute).await.unwrap(),
        "another lease"
    );
    s.release_lease("crl:CA1", "b").await.unwrap();
    assert!(
        !s.try_lease("crl:CA1", "b", minute).await.unwrap(),
        "b does not hold it"
    );
    s.release_lease("crl:CA1", "a").await.unwrap();
    assert!(
        s.try_lease("crl:CA1", "b", minute).await.unwrap(),
        "released"
    );
    // A holder that stops renewing (it died) loses the lease when it
    // expires: here at once.
    assert!(s
        .try_lease("poll", "a", time::Duration::ZERO)
        .await
        .unwrap());
    assert!(s.try_lease("poll", "b", minute).await.unwrap(), "expired");
    assert!(!s.try_lease("poll", "a", minute).await.unwrap());
    // All dropped (a restarted embedded store): anyone takes them.
    s.release_all_leases().await.unwrap();
    assert!(s.try_lease("poll", "c", minute).await.unwrap());
    assert!(s.try_lease("crl:CA2", "c", minute).await.unwrap());
}

pub async fn revocations_are_counted_for_the_stored_crl_and_followed(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let none = CrlState {
        revocations: 0,
        latest: None,
    };
    assert_eq!(s.crl_state("CA1").await.unwrap(), none);
    assert!(s.stored_crl("CA1").await.unwrap().is_none());
    let mut ids = Vec::new();
    for serial in ["0D01", "0D02"] {
        let c = s
            .create_order(&order(&a, &u, Some(org.id), None, Some(serial)))
            .await
            .unwrap();
        s.record_issued(&IssuedCertificate {
            certificate_id: c.certificate_id,
            order_id: c.order_id,
            ca_id: "CA1".into(),
            serial_hex: serial.into(),
            der: vec![1],
            thumbprint: format!("T{serial}"),
            valid_from: datetime!(2026-01-01 0:00 UTC),
            valid_till: datetime!(2099-01-01 0:00 UTC),
            date_issued: datetime!(2026-01-01 0:00 UTC),
        })
        .await
        .unwrap();
        ids.push(c.certificate_id);
    }
    // A first CRL (none revoked): current for a moment after it was made.
    let first = CrlMeta {
        number: s.next_crl_number("CA1").await.unwrap(),
        this_update: datetime!(2026-03-01 0:00 UTC),
        revocations: 0,
    };
    assert!(s.save_crl("CA1", &first, b"crl-1").await.unwrap());
    let state = s.crl_state("CA1").await.unwrap();
    assert_eq!(state.latest, Some(first));
    assert_eq!(state.current(datetime!(2026-03-01 0:00 UTC)), Some(first));
    assert_eq!(
        state.current(datetime!(2026-03-01 0:00:01 UTC)),
        None,
        "too old"
    );
    let revoke = |id: i64, at: time::OffsetDateTime| {
        let s = &s;
        async move {
            s.revoke_certificates(&Revocation {
                account_id: a.id,
                certificate_ids: vec![id],
                reason: RevocationReason::Superseded,
                revoked_at: at,
                block_keys: false,
                approve_request: None,
            })
            .await
            .unwrap()
            .len()
        }
    };
    assert_eq!(revoke(ids[0], datetime!(2026-03-02 0:00 UTC)).await, 1);
    assert_eq!(
        revoke(ids[0], datetime!(2026-03-03 0:00 UTC)).await,
        0,
        "once"
    );
    let state = s.crl_state("CA1").await.unwrap();
    assert_eq!(state.revocations, 1, "counted by the revoking transaction");
    assert_eq!(
        state.current(datetime!(2026-01-01 0:00 UTC)),
        None,
        "the stored CRL misses a revocation"
    );
    // Every instance's responder follows revocations by time.
    let since = |at: time::OffsetDateTime| {
        let s = &s;
        async move {
            s.revoked_since(at, 10)
                .await
                .unwrap()
                .iter()
                .map(|c| c.serial.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(since(datetime!(2026-03-02 0:00 UTC)).await, ["0D01"]);
    assert!(since(datetime!(2026-03-02 0:00:01 UTC)).await.is_empty());
    assert_eq!(revoke(ids[1], datetime!(2026-03-04 0:00 UTC)).await, 1);
    assert_eq!(
        since(datetime!(2026-03-01 0:00 UTC)).await,
        ["0D01", "0D02"]
    );
    // The next CRL covers both; an older number never replaces it.
    let second = CrlMeta {
        number: s.next_crl_number("CA1").await.unwrap(),
        this_update: datetime!(2026-03-05 0:00 UTC),
        revocations: 2,
    };
    assert_eq!(second.number, first.number + 1);
    assert!(s.save_crl("CA1", &second, b"crl-2").await.unwrap());
    assert!(!s.save_crl("CA1", &first, b"crl-1").await.unwrap(), "older");
    assert!(
        !s.save_crl("CA1", &second, b"again").await.unwrap(),
        "same number"
    );
    let state = s.crl_state("CA1").await.unwrap();
    assert_eq!(state.revocations, 2);
    assert_eq!(state.current(datetime!(2026-03-04 0:00 UTC)), Some(second));
    assert_eq!(
        s.stored_crl("CA1").await.unwrap(),
        Some((second, b"crl-2".to_vec()))
    );

    // A restore's fence: numbers jump ahead, the stored CRLs of the CAs
    // named are forgotten, revocation counts stay.
    let fenced = s
        .fence_crl_numbers(1000, &["CA1".to_string()])
        .await
        .unwrap();
    assert!(
        fenced.contains(&("CA1".to_string(), second.number + 1000)),
        "{fenced:?}"
    );
    assert!(s.stored_crl("CA1").await.unwrap().is_none());
    assert_eq!(s.crl_state("CA1").await.unwrap().revocations, 2);
    assert_eq!(
        s.next_crl_number("CA1").await.unwrap(),
        second.number + 1001
    );
    // A snapshot of the whole database while it is open, where the backend
    // takes one itself; PostgreSQL points at its own tools.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("snapshot.db");
    match s.snapshot_to(&copy).await {
        Ok(()) => assert!(std::fs::metadata(&copy).unwrap().len() > 0),
        Err(StoreError::Unsupported(m)) => assert!(m.contains("pg_dump"), "{m}"),
        Err(e) => panic!("{e}"),
    }
    // A fact recorded once: the first value stays.
    assert_eq!(
        s.meta_once("mode", "production").await.unwrap(),
        "production"
    );
    assert_eq!(s.meta_once("mode", "sandbox").await.unwrap(), "production");
    assert_eq!(s.meta_once("other", "x").await.unwrap(), "x");
}

pub async fn outbox_mail_is_sent_once_retried_and_given_up(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, u, org) = setup(&*s).await;
    let d = s
        .create_domain(a.id, &domain_row(&org, "mail.example.com"))
        .await
        .unwrap();
    let o = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    let mailbox = |email: &str| MailTarget::Mailbox {
        order_id: o.order_id,
        email: email.into(),
    };
    s.enqueue_mail(&[
        NewMail {
            account_id: a.id,
            target: MailTarget::DomainDcv { domain_id: d.id },
        },
        NewMail {
            account_id: a.id,
            target: mailbox("alice@example.com"),
        },
        NewMail {
            account_id: a.id,
            target: mailbox("bob@example.com"),
        },
    ])
    .await
    .unwrap();
    let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let hold = now + time::Duration::minutes(5);
    let claim = |at: time::OffsetDateTime| {
        let s = &s;
        async move {
            s.claim_due_mail(at, 10, at + time::Duration::minutes(5))
                .await
                .unwrap()
        }
    };
    let first = s.claim_due_mail(now, 2, hold).await.unwrap();
    assert_eq!(
        first.iter().map(|m| m.target.clone()).collect::<Vec<_>>(),
        [
            MailTarget::DomainDcv { domain_id: d.id },
            mailbox("alice@example.com")
        ],
        "oldest first, at most the limit"
    );
    assert!(first
        .iter()
        .all(|m| m.attempts == 0 && m.account_id == a.id));
    let rest = claim(now).await;
    assert_eq!(rest.len(), 1, "the claimed ones are held: {rest:?}");
    assert!(claim(now).await.is_empty());
    // Sent: never again. Failed: again at its time. Given up: never again.
    s.mail_sent(first[0].id, now).await.unwrap();
    s.mail_failed(
        first[1].id,
        "421 try later",
        Some(now + time::Duration::minutes(1)),
    )
    .await
    .unwrap();
    s.mail_failed(rest[0].id, "550 no such user", None)
        .await
        .unwrap();
    assert!(claim(now + time::Duration::seconds(59)).await.is_empty());
    let again = claim(now + time::Duration::minutes(1)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].target, mailbox("alice@example.com"));
    assert_eq!(again[0].attempts, 1);
    // A mailer that died holding it: taken over once the hold has passed.
    let later = now + time::Duration::minutes(7);
    let taken = claim(later).await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, again[0].id);
    s.mail_sent(taken[0].id, later).await.unwrap();
    assert!(claim(later + time::Duration::days(30)).await.is_empty());
}

/// Users are edited, restricted, deactivated and deleted (their keys
/// revoked with them); keys carry a role restriction, an expiry and their
/// last use, recorded apart from the keys themselves.
pub async fn users_and_keys_have_a_lifecycle(db: &dyn TestDatabase) {
    let s = db.open().await;
    let (a, admin_user, _) = setup(s.as_ref()).await;
    let mut svc = admin();
    svc.email = "svc@example.com".into();
    svc.role = "user".into();
    svc.is_api_only = true;
    let svc = s.create_user(a.id, &svc).await.unwrap();
    assert!(svc.is_api_only);
    assert_eq!(svc.status, UserStatus::Active);
    let expires = datetime!(2031-01-02 03:04:05 UTC);
    let key = |hash: &str, user: i64, restricted_role: i64, expires_at| NewApiKey {
        key_hash: hash.into(),
        account_id: Some(a.id),
        user_id: Some(user),
        role: "user".into(),
        name: format!("key {hash}"),
        restricted_role,
        expires_at,
    };
    let k1 = s
        .create_api_key(&key("h1", svc.id, 102, Some(expires)))
        .await
        .unwrap();
    let k2 = s.create_api_key(&key("h2", svc.id, 0, None)).await.unwrap();
    let k3 = s
        .create_api_key(&key("h3", admin_user.id, 100, None))
        .await
        .unwrap();
    let found = s.find_api_key("h1").await.unwrap().unwrap();
    assert_eq!(
        (
            found.id,
            found.restricted_role,
            found.expires_at,
            found.last_used_at
        ),
        (k1, 102, Some(expires), None)
    );
    assert_eq!(found.name, "key h1");

    // Use is recorded apart from the keys (their caches do not move) and
    // only moves forward; unknown keys are ignored.
    let t1 = datetime!(2026-12-04 10:00:00 UTC);
    let t0 = datetime!(2026-12-04 09:00:00 UTC);
    // (One write first: the key writes above settle their epoch moves when
    // their connection is released, which a following write waits for.)
    s.record_key_use(&[(999_999, t0)]).await.unwrap();
    let keys_epoch = s.changes().epoch(Aggregate::Keys);
    s.record_key_use(&[(k1, t1), (k3, t0), (999_999, t1)])
        .await
        .unwrap();
    s.record_key_use(&[(k1, t0)]).await.unwrap();
    s.record_key_use(&[]).await.unwrap();
    assert_eq!(s.changes().epoch(Aggregate::Keys), keys_epoch);
    let listed = s.list_api_keys(a.id).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|k| k.id).collect();
    assert_eq!(ids, vec![k1, k2, k3]);
    assert_eq!(listed[0].last_used_at, Some(t1));
    assert_eq!(listed[1].last_used_at, None);
    assert_eq!(listed[2].last_used_at, Some(t0));

    // A role change reaches the user's keys.
    s.set_user_role(a.id, svc.id, "manager").await.unwrap();
    assert_eq!(
        s.get_user(a.id, svc.id).await.unwrap().unwrap().role,
        "manager"
    );
    assert_eq!(s.find_api_key("h2").await.unwrap().unwrap().role, "manager");
    assert_eq!(s.find_api_key("h3").await.unwrap().unwrap().role, "user");

    // Deactivated: kept, keys untouched; deleted: keys revoked, no way back.
    s.set_user_status(a.id, svc.id, UserStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        s.get_user(a.id, svc.id).await.unwrap().unwrap().status,
        UserStatus::Inactive
    );
    assert!(!s.find_api_key("h1").await.unwrap().unwrap().revoked);
    s.set_user_status(a.id, svc.id, UserStatus::Deleted)
        .await
        .unwrap();
    assert!(s.find_api_key("h1").await.unwrap().unwrap().revoked);
    assert!(s.find_api_key("h2").await.unwrap().unwrap().revoked);
    assert!(!s.find_api_key("h3").await.unwrap().unwrap().revoked);
    for r in [
        s.set_user_status(a.id, svc.id, UserStatus::Active).await,
        s.set_user_role(a.id, svc.id, "admin").await,
        s.set_user_status(a.id + 1, admin_user.id, UserStatus::Inactive)
            .await,
    ] {
        assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    }

    // All of it survives reopening.
    s.close().await;
    let s = db.open().await;
    let u = s.get_user(a.id, svc.id).await.unwrap().unwrap();
    assert_eq!((u.status, u.is_api_only), (UserStatus::Deleted, true));
    assert_eq!(
        s.find_api_key("h1").await.unwrap().unwrap().last_used_at,
        Some(t1)
    );
}
