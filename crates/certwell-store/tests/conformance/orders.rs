//! Orders and their certificates: the one-trip path, claims and serials,
//! group commit, waiting and expired lists, blocked keys, mailbox orders,
//! balances and alternative order ids, renewals.

use super::*;

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
