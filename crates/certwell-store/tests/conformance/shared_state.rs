//! What several instances share: the change feed, timestamps, leases,
//! CRL state and revocations, the outbox.

use super::*;

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
