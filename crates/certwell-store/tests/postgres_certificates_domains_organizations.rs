//! Certificates, domains and organizations on both backends: each
//! scenario runs on a fresh SQLite file and on a fresh PostgreSQL
//! database, asserts what it reads on each, and the two transcripts of
//! what was read must be the same. Covers what the conformance suite does
//! not: lookups by serial and id, expiry and revocation lists, partial
//! revocations, duplicates awaiting issuance, claims racing between two
//! stores over one database, the domain lists and DCV schedule, validation
//! links, the duplicate-organization check, lists of organizations and the
//! validation desk.

#[allow(dead_code, unused_macros)]
mod conformance;

use std::future::Future;
use std::sync::Arc;

use certwell_store::testing::TestPostgres;
use certwell_store::*;
use conformance::{domain_row, order, setup};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    open_store(&StoreConfig::sqlite(
        dir.path().join("t.db"),
        Durability::Full,
    ))
    .await
    .unwrap()
}

async fn postgres_url() -> (TestPostgres, String) {
    let cluster = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster
        .fresh_database()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (cluster, url)
}

async fn postgres_store(url: &str) -> Arc<dyn Store> {
    open_store(&StoreConfig::from_url(url, Durability::Full).unwrap())
        .await
        .unwrap()
}

/// Runs `scenario` on both backends (each on its own fresh database) and
/// asserts the transcripts agree.
async fn on_both<F, Fut>(scenario: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_store(&dir).await;
    let lite = scenario(s.clone()).await;
    s.close().await;

    let (_cluster, url) = postgres_url().await;
    let s = postgres_store(&url).await;
    let pg = scenario(s.clone()).await;
    s.close().await;

    assert!(!lite.is_empty());
    for (i, (l, p)) in lite.iter().zip(&pg).enumerate() {
        assert_eq!(l, p, "step {i}: SQLite and PostgreSQL disagree");
    }
    assert_eq!(lite.len(), pg.len());
}

fn issued(c: &CreatedOrder, serial: &str, valid_till: OffsetDateTime) -> IssuedCertificate {
    IssuedCertificate {
        certificate_id: c.certificate_id,
        order_id: c.order_id,
        ca_id: "CA1".into(),
        serial_hex: serial.into(),
        der: serial.as_bytes().to_vec(),
        thumbprint: format!("TP{serial}"),
        valid_from: datetime!(2026-01-01 0:00 UTC),
        valid_till,
        date_issued: datetime!(2026-01-01 0:00:00.7 UTC),
    }
}

/// What a certificate read shows, without ids and creation times (ids
/// may differ between backends: PostgreSQL's sequences skip on rollback).
fn cert_summary(c: &Certificate) -> String {
    format!(
        "{} {} serial={:?} ca={:?} tp={:?} der={:?} from={:?} till={:?} issued={:?} revoked={:?} reason={:?} \
         names={:?} cn={} spki={:?} size={:?} sig={} data={:?}",
        c.kind.as_str(),
        c.status.as_str(),
        c.serial,
        c.ca_id,
        c.thumbprint,
        c.der,
        c.valid_from,
        c.valid_till,
        c.date_issued,
        c.revoked_at,
        c.revocation_reason.map(|r| r.as_str()),
        c.dns_names,
        c.common_name,
        c.spki_sha256,
        c.key_size,
        c.signature_hash,
        c.data,
    )
}

fn duplicate_of(a: &Account, u: &User, order_id: i64, spki: &str) -> NewExtraCertificate {
    NewExtraCertificate {
        account_id: a.id,
        order_id,
        kind: CertificateKind::Duplicate,
        user_id: u.id,
        certificate: NewCertificateRow {
            csr: "csr2".into(),
            spki_sha256: spki.into(),
            key_size: 384,
            common_name: "example.com".into(),
            dns_names: vec!["example.com".into(), "www.example.com".into()],
            signature_hash: "sha384".into(),
        },
        data: json!({"platform": "nginx"}),
        request: None,
        approved: true,
        reserve_serial: None,
        created_at: datetime!(2026-01-02 0:00 UTC),
    }
}

/// Lookups by id and serial, issuance of a duplicate, expiry lists over a
/// container tree, partial then complete revocation with a request
/// approved in the same transaction, the CRL entries.
async fn certificates_scenario(s: Arc<dyn Store>) -> Vec<String> {
    let mut log = Vec::new();
    let (a, u, org) = setup(&*s).await;
    let (b, _) = s
        .create_account("Other", &AccountSettings::default(), &conformance::admin())
        .await
        .unwrap();

    // A primary certificate, issued.
    let c = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    s.claim_and_reserve_serial("CA1", "0A01", c.certificate_id)
        .await
        .unwrap();
    s.record_issued(&issued(&c, "0A01", datetime!(2027-06-10 0:00 UTC)))
        .await
        .unwrap();
    let certs = s.certificates_for_order(c.order_id).await.unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].id, c.certificate_id);
    assert_eq!(certs[0].status, CertificateStatus::Issued);
    assert_eq!(certs[0].date_issued, Some(datetime!(2026-01-01 0:00 UTC)));
    log.push(cert_summary(&certs[0]));

    // Lookups: by id, by serial in any case, not across accounts.
    let id_key = c.certificate_id.to_string();
    for (account, key) in [
        (a.id, id_key.as_str()),
        (a.id, "0a01"),
        (a.id, "0A01"),
        (a.id, "FFFF"),
        (b.id, "0A01"),
        (b.id, id_key.as_str()),
    ] {
        let found = s.find_certificate(account, key).await.unwrap();
        if let Some(f) = &found {
            assert_eq!(f.id, c.certificate_id);
        }
        log.push(format!(
            "find {} {key}: {}",
            if account == a.id { "a" } else { "b" },
            found.is_some()
        ));
    }
    let by_serial = s
        .certificate_by_serial("CA1", "0A01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_serial.id, c.certificate_id);
    assert!(s
        .certificate_by_serial("CA1", "0a01")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .certificate_by_serial("CA2", "0A01")
        .await
        .unwrap()
        .is_none());

    // A claim on a certificate whose order may not be issued (it needs
    // approval) fails and records nothing: its serial stays free.
    let waiting = s
        .create_order(&order(&a, &u, Some(org.id), Some("pending"), None))
        .await
        .unwrap();
    let e = s
        .claim_and_reserve_serial("CA1", "0A09", waiting.certificate_id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Conflict(Conflict::CertificateNotPending { .. })
        ),
        "{e:?}"
    );
    s.reserve_serials("CA1", &["0A09".to_string()])
        .await
        .unwrap();

    // A duplicate of the issued order waits for issuance, then is issued;
    // the order keeps its primary certificate.
    let dup = s
        .create_extra_certificate(&duplicate_of(&a, &u, c.order_id, "11"))
        .await
        .unwrap();
    let awaiting = s.certificates_awaiting_issuance(0, 10).await.unwrap();
    assert_eq!(awaiting, vec![(a.id, c.order_id, dup.certificate_id)]);
    assert!(s
        .certificates_awaiting_issuance(dup.certificate_id, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .certificates_awaiting_issuance(0, 0)
        .await
        .unwrap()
        .is_empty());
    s.claim_and_reserve_serial("CA1", "0A02", dup.certificate_id)
        .await
        .unwrap();
    assert!(s
        .certificates_awaiting_issuance(0, 10)
        .await
        .unwrap()
        .is_empty());
    let dup_issued = IssuedCertificate {
        certificate_id: dup.certificate_id,
        ..issued(&c, "0A02", datetime!(2027-03-01 0:00 UTC))
    };
    s.record_issued(&dup_issued).await.unwrap();
    let o = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Issued);
    assert_eq!(
        o.certificate_id,
        Some(c.certificate_id),
        "a duplicate is extra"
    );
    let certs = s.certificates_for_order(c.order_id).await.unwrap();
    assert_eq!(
        certs.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.certificate_id, dup.certificate_id]
    );
    log.extend(certs.iter().map(cert_summary));

    // Expiry lists: the order's current certificate, over the container
    // tree, from inclusive, until exclusive.
    let sub = s
        .create_container(a.id, a.root_container_id, "sub", "")
        .await
        .unwrap();
    let subsub = s.create_container(a.id, sub, "subsub", "").await.unwrap();
    let mut deep = order(&a, &u, Some(org.id), None, None);
    deep.container_id = subsub;
    let d = s.create_order(&deep).await.unwrap();
    s.claim_and_reserve_serial("CA1", "0A03", d.certificate_id)
        .await
        .unwrap();
    s.record_issued(&issued(&d, "0A03", datetime!(2027-05-01 0:00:00.5 UTC)))
        .await
        .unwrap();
    for (container, from, until) in [
        (
            a.root_container_id,
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC),
        ),
        (
            sub,
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC),
        ),
        (
            subsub,
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC),
        ),
        (
            a.root_container_id,
            datetime!(2027-05-01 0:00 UTC),
            datetime!(2027-06-10 0:00 UTC),
        ),
        (
            a.root_container_id,
            datetime!(2027-05-01 0:00:00.9 UTC),
            datetime!(2027-06-10 0:00:00.9 UTC),
        ),
        (
            a.root_container_id,
            datetime!(2027-06-11 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC),
        ),
    ] {
        let mut ends = s
            .expiring_certificates(a.id, container, from, until)
            .await
            .unwrap();
        ends.sort();
        log.push(format!("expiring {from} .. {until}: {ends:?}"));
    }
    assert_eq!(
        s.expiring_certificates(
            a.id,
            a.root_container_id,
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC)
        )
        .await
        .unwrap()
        .len(),
        2
    );
    assert!(s
        .expiring_certificates(
            b.id,
            a.root_container_id,
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC)
        )
        .await
        .unwrap()
        .is_empty());

    // Revoking the primary certificate only: the duplicate keeps the order
    // issued; the request is approved in the same transaction. Unknown and
    // other accounts' certificates are skipped.
    let req = s
        .create_request(
            a.id,
            c.order_id,
            RequestKind::Revoke,
            RequestStatus::Pending,
            u.id,
            Some("lost"),
            &json!({}),
        )
        .await
        .unwrap();
    let approval = RequestApproval {
        request_id: req.id,
        processor_id: u.id,
        processor_comment: Some("ok".into()),
    };
    let revoked = s
        .revoke_certificates(&Revocation {
            account_id: a.id,
            certificate_ids: vec![c.certificate_id, d.certificate_id + 1000],
            reason: RevocationReason::Superseded,
            revoked_at: datetime!(2026-03-01 0:00:00.4 UTC),
            block_keys: false,
            approve_request: Some(approval.clone()),
        })
        .await
        .unwrap();
    assert_eq!(
        revoked.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.certificate_id]
    );
    log.extend(revoked.iter().map(cert_summary));
    assert!(!s.is_key_blocked("00").await.unwrap(), "not asked to block");
    let o = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(
        o.status,
        OrderStatus::Issued,
        "the duplicate is still valid"
    );
    let req = s.get_request(a.id, req.id).await.unwrap().unwrap();
    assert_eq!(req.status, RequestStatus::Approved);
    log.push(format!(
        "request {} {:?} {:?}",
        req.status.as_str(),
        req.processor_comment,
        req.date_processed
    ));

    // The request is no longer open: approving it again refuses the whole
    // revocation, which revokes nothing.
    let e = s
        .revoke_certificates(&Revocation {
            account_id: a.id,
            certificate_ids: vec![dup.certificate_id],
            reason: RevocationReason::KeyCompromise,
            revoked_at: datetime!(2026-03-02 0:00 UTC),
            block_keys: true,
            approve_request: Some(approval),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(Conflict::RequestNotOpen { .. })),
        "{e:?}"
    );
    assert!(!s.is_key_blocked("11").await.unwrap());
    assert_eq!(
        s.get_certificate(a.id, dup.certificate_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CertificateStatus::Issued
    );

    // Another account cannot revoke it; the owner revokes the duplicate
    // and blocks its key: now the order is revoked.
    let none = s
        .revoke_certificates(&Revocation {
            account_id: b.id,
            certificate_ids: vec![dup.certificate_id],
            reason: RevocationReason::KeyCompromise,
            revoked_at: datetime!(2026-03-02 0:00 UTC),
            block_keys: true,
            approve_request: None,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let revoked = s
        .revoke_certificates(&Revocation {
            account_id: a.id,
            certificate_ids: vec![dup.certificate_id, c.certificate_id],
            reason: RevocationReason::KeyCompromise,
            revoked_at: datetime!(2026-02-01 0:00 UTC),
            block_keys: true,
            approve_request: None,
        })
        .await
        .unwrap();
    assert_eq!(
        revoked.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![dup.certificate_id],
        "an already revoked certificate is skipped"
    );
    assert!(s.is_key_blocked("11").await.unwrap());
    assert!(!s.is_key_blocked("00").await.unwrap());
    let o = s.get_order(a.id, c.order_id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Revoked);
    let d_order = s.get_order(a.id, d.order_id).await.unwrap().unwrap();
    assert_eq!(
        d_order.status,
        OrderStatus::Issued,
        "other orders untouched"
    );

    // CRL entries: by revocation time.
    let entries = s
        .revoked_entries("CA1", datetime!(2026-01-01 0:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        entries,
        vec![
            (
                "0A02".to_string(),
                datetime!(2026-02-01 0:00 UTC),
                Some(RevocationReason::KeyCompromise)
            ),
            (
                "0A01".to_string(),
                datetime!(2026-03-01 0:00 UTC),
                Some(RevocationReason::Superseded)
            ),
        ]
    );
    assert!(s
        .revoked_entries("CA2", datetime!(2026-01-01 0:00 UTC))
        .await
        .unwrap()
        .is_empty());
    log.push(format!("{entries:?}"));
    // A certificate expired before the CRL's cut-off leaves the list.
    let later = s
        .revoked_entries("CA1", datetime!(2027-04-01 0:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["0A01"],
        "0A02 expired on 2027-03-01"
    );
    log.push(format!("{later:?}"));
    log
}

#[tokio::test]
async fn certificates_agree_on_both_backends() {
    on_both(certificates_scenario).await;
}

/// Two stores over one database (two instances) claim the same
/// certificates at once: each certificate is claimed exactly once, only
/// the winner's serial is recorded, and every loser is told the
/// certificate is not pending.
async fn racing_claims(s1: Arc<dyn Store>, s2: Arc<dyn Store>) -> Vec<String> {
    let mut log = Vec::new();
    let (a, u, org) = setup(&*s1).await;
    for round in 0..4 {
        let c = s1
            .create_order(&order(&a, &u, Some(org.id), None, None))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = if i % 2 == 0 { s1.clone() } else { s2.clone() };
            let serial = format!("{round:02X}{i:02X}");
            let id = c.certificate_id;
            tasks.push(tokio::spawn(async move {
                let r = s.claim_and_reserve_serial("CA1", &serial, id).await;
                (serial, r)
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for t in tasks {
            let (serial, r) = t.await.unwrap();
            match r {
                Ok(()) => winners.push(serial),
                Err(StoreError::Conflict(Conflict::CertificateNotPending { certificate_id })) => {
                    assert_eq!(certificate_id, c.certificate_id);
                    losers.push(serial);
                }
                Err(e) => panic!("claim: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
        assert_eq!(losers.len(), 7);
        // The winner's serial is recorded, the losers' are not.
        let e = s2
            .reserve_serials("CA1", &[winners[0].clone()])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        s2.reserve_serials("CA1", &losers).await.unwrap();
        let cert = s2
            .get_certificate(a.id, c.certificate_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cert.status, CertificateStatus::Issuing);
        log.push(format!("round {round}: 1 winner, {} losers", losers.len()));
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_claim_one_certificate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (l1, l2) = (sqlite_store(&dir).await, sqlite_store(&dir).await);
    let lite = racing_claims(l1.clone(), l2.clone()).await;
    l1.close().await;
    l2.close().await;

    let (_cluster, url) = postgres_url().await;
    let (p1, p2) = (postgres_store(&url).await, postgres_store(&url).await);
    let pg = racing_claims(p1.clone(), p2.clone()).await;
    p1.close().await;
    p2.close().await;
    assert_eq!(lite, pg);
}

fn domain_summary(d: &Domain) -> String {
    format!(
        "{} active={} {} token={:?} expires={:?} types={:?} at={:?} until={:?} attempts={} next={:?} error={:?}",
        d.name,
        d.is_active,
        d.dcv_method.as_str(),
        d.dcv_token,
        d.dcv_token_expires,
        d.validation_types,
        d.validated_at,
        d.validated_until,
        d.dcv_attempts,
        d.dcv_next_check,
        d.dcv_last_error,
    )
}

/// Domain lists and scopes, the DCV poller's schedule, activation,
/// validation links and deletion; the organization-with-domains read
/// shows every field as the row read does.
async fn domains_scenario(s: Arc<dyn Store>) -> Vec<String> {
    let mut log = Vec::new();
    let (a, u, org) = setup(&*s).await;
    let (b, _) = s
        .create_account("Other", &AccountSettings::default(), &conformance::admin())
        .await
        .unwrap();

    let mut row = domain_row(&org, "poll.example");
    row.validation_types = vec![ValidationType::Ov, ValidationType::Ev];
    row.validated_until = None;
    row.dcv_token = Some("t1".into());
    row.dcv_token_expires = Some(datetime!(2026-07-01 0:00 UTC));
    let d1 = s.create_domain(a.id, &row).await.unwrap();
    let mut row2 = domain_row(&org, "plain.example");
    row2.dcv_method = DcvMethod::Email;
    let d2 = s.create_domain(a.id, &row2).await.unwrap();
    let e = s.create_domain(a.id, &row2).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(Conflict::DomainExists { name }) if name == "plain.example"),
        "{e:?}"
    );
    log.push(domain_summary(&d1));
    log.push(domain_summary(&d2));

    // Reads: by account, any account, lists and scopes.
    assert!(s.get_domain(b.id, d1.id).await.unwrap().is_none());
    let any = s.get_domain_any(d1.id).await.unwrap().unwrap();
    assert_eq!(domain_summary(&any), domain_summary(&d1));
    assert!(s.get_domain_any(d2.id + 1000).await.unwrap().is_none());
    let root = [a.root_container_id];
    let nowhere = [a.root_container_id + 1000];
    for (org_id, scope, limit, offset) in [
        (None, None, 10, 0),
        (Some(org.id), None, 10, 0),
        (Some(org.id + 1000), None, 10, 0),
        (None, Some(&root[..]), 10, 0),
        (None, Some(&nowhere[..]), 10, 0),
        (None, Some(&[][..]), 10, 0),
        (None, None, 1, 0),
        (None, None, 1, 1),
        (None, None, 10, 2),
    ] {
        let (list, total) = s
            .list_domains(a.id, org_id, scope, limit, offset)
            .await
            .unwrap();
        log.push(format!(
            "list org={:?} scope={:?} {limit}/{offset}: total {total}, {:?}",
            org_id.map(|o| o == org.id),
            scope.map(|s| s == root),
            list.iter().map(|d| d.name.as_str()).collect::<Vec<_>>()
        ));
    }
    let (_, total) = s.list_domains(b.id, None, None, 10, 0).await.unwrap();
    assert_eq!(total, 0);
    let of_org = s.domains_of_organization(a.id, org.id).await.unwrap();
    assert_eq!(
        of_org.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d1.id, d2.id]
    );
    assert!(s
        .domains_of_organization(b.id, org.id)
        .await
        .unwrap()
        .is_empty());

    // The poller: due while the token is unexpired and the next check is
    // due, then held for five minutes by the poller that claimed it; a
    // failed check counts and reschedules, unless the token changed.
    let due = |at: OffsetDateTime| {
        let s = s.clone();
        async move {
            s.claim_domains_due_for_dcv(at, 10, at + time::Duration::minutes(5))
                .await
                .unwrap()
                .iter()
                .map(|d| d.name.clone())
                .collect::<Vec<_>>()
        }
    };
    log.push(format!(
        "due: {:?}",
        due(datetime!(2026-06-01 0:00 UTC)).await
    ));
    log.push(format!(
        "due after expiry: {:?}",
        due(datetime!(2026-07-01 0:00 UTC)).await
    ));
    log.push(format!(
        "claimed, within its hold: {:?}",
        due(datetime!(2026-06-01 0:04:59 UTC)).await
    ));
    log.push(format!(
        "claimed, once the hold is over: {:?}",
        due(datetime!(2026-06-01 0:05 UTC)).await
    ));
    s.record_dcv_attempt(
        d1.id,
        Some("t1"),
        datetime!(2026-06-02 0:00:00.8 UTC),
        Some("no TXT record"),
    )
    .await
    .unwrap();
    s.record_dcv_attempt(
        d1.id,
        Some("old"),
        datetime!(2026-06-09 0:00 UTC),
        Some("x"),
    )
    .await
    .unwrap();
    s.record_dcv_attempt(d1.id, None, datetime!(2026-06-09 0:00 UTC), Some("x"))
        .await
        .unwrap();
    s.record_dcv_attempt(d2.id, None, datetime!(2026-06-03 0:00 UTC), None)
        .await
        .unwrap();
    let got = s.get_domain(a.id, d1.id).await.unwrap().unwrap();
    assert_eq!(got.dcv_attempts, 1, "only the attempt on the current token");
    assert_eq!(got.dcv_next_check, Some(datetime!(2026-06-02 0:00 UTC)));
    assert_eq!(got.dcv_last_error.as_deref(), Some("no TXT record"));
    assert_eq!(
        s.get_domain(a.id, d2.id)
            .await
            .unwrap()
            .unwrap()
            .dcv_attempts,
        1,
        "no token matches no token"
    );
    log.push(domain_summary(&got));
    log.push(format!(
        "due before next: {:?}",
        due(datetime!(2026-06-01 23:59 UTC)).await
    ));
    log.push(format!(
        "due at next: {:?}",
        due(datetime!(2026-06-02 0:00:00.3 UTC)).await
    ));
    // The organization-with-domains read shows each domain as read alone.
    let (_, domains) = s
        .organization_with_domains(a.id, org.id)
        .await
        .unwrap()
        .unwrap();
    let alone = s.domains_of_organization(a.id, org.id).await.unwrap();
    assert_eq!(format!("{domains:?}"), format!("{alone:?}"));

    // A new token restarts the schedule.
    s.set_domain_dcv(
        a.id,
        d1.id,
        DcvMethod::HttpToken,
        Some(("t2", datetime!(2026-08-01 0:00:00.6 UTC))),
    )
    .await
    .unwrap();
    let got = s.get_domain(a.id, d1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.dcv_attempts,
            got.dcv_next_check,
            got.dcv_last_error.clone()
        ),
        (0, None, None)
    );
    assert_eq!(got.dcv_token_expires, Some(datetime!(2026-08-01 0:00 UTC)));
    log.push(domain_summary(&got));
    assert!(matches!(
        s.set_domain_dcv(b.id, d1.id, DcvMethod::Email, None).await,
        Err(StoreError::NotFound)
    ));
    log.push(format!(
        "due with new token: {:?}",
        due(datetime!(2026-07-15 0:00 UTC)).await
    ));

    // Deactivated or validated domains are not due.
    s.set_domain_active(a.id, d1.id, false).await.unwrap();
    assert!(!s.get_domain(a.id, d1.id).await.unwrap().unwrap().is_active);
    log.push(format!(
        "due inactive: {:?}",
        due(datetime!(2026-07-15 0:00 UTC)).await
    ));
    assert!(matches!(
        s.set_domain_active(b.id, d1.id, true).await,
        Err(StoreError::NotFound)
    ));
    s.set_domain_active(a.id, d1.id, true).await.unwrap();
    s.set_domain_validated(
        d1.id,
        datetime!(2026-07-01 0:00 UTC),
        datetime!(2026-08-01 0:00 UTC),
    )
    .await
    .unwrap();
    log.push(format!(
        "due validated: {:?}",
        due(datetime!(2026-07-15 0:00 UTC)).await
    ));
    log.push(format!(
        "due when validation ends: {:?}",
        due(datetime!(2026-07-31 23:59:59.9 UTC)).await
    ));
    assert!(matches!(
        s.set_domain_validated(
            d2.id + 1000,
            datetime!(2026-07-01 0:00 UTC),
            datetime!(2026-08-01 0:00 UTC)
        )
        .await,
        Err(StoreError::NotFound)
    ));

    // Validation links: used once, before they expire.
    let link = |target, hash: &str, expires| NewValidationLink {
        account_id: a.id,
        target,
        email: "admin@poll.example".into(),
        token_hash: hash.into(),
        expires_at: expires,
        sent_at: datetime!(2026-06-01 0:00:00.5 UTC),
    };
    let c = s
        .create_order(&order(&a, &u, Some(org.id), None, None))
        .await
        .unwrap();
    let l1 = s
        .create_validation_link(&link(
            LinkTarget::Domain { domain_id: d1.id },
            "h1",
            datetime!(2026-06-08 0:00:00.5 UTC),
        ))
        .await
        .unwrap();
    let l2 = s
        .create_validation_link(&link(
            LinkTarget::Mailbox {
                order_id: c.order_id,
            },
            "h2",
            datetime!(2026-06-08 0:00 UTC),
        ))
        .await
        .unwrap();
    let e = s
        .create_validation_link(&link(
            LinkTarget::Domain { domain_id: d2.id },
            "h1",
            datetime!(2026-06-08 0:00 UTC),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(Conflict::Duplicate)),
        "{e:?}"
    );
    let found = s.find_validation_link("h1").await.unwrap().unwrap();
    assert_eq!(found.id, l1);
    assert_eq!(found.target, LinkTarget::Domain { domain_id: d1.id });
    assert_eq!(
        (found.expires_at, found.sent_at, found.used_at),
        (
            datetime!(2026-06-08 0:00 UTC),
            datetime!(2026-06-01 0:00 UTC),
            None
        )
    );
    let found2 = s.find_validation_link("h2").await.unwrap().unwrap();
    assert_eq!(
        found2.target,
        LinkTarget::Mailbox {
            order_id: c.order_id
        }
    );
    assert!(s.find_validation_link("h3").await.unwrap().is_none());
    for (id, at) in [
        (l1, datetime!(2026-06-02 0:00:00.9 UTC)),
        (l1, datetime!(2026-06-02 0:00 UTC)),
        (l2, datetime!(2026-06-08 0:00:00.2 UTC)),
        (l2, datetime!(2026-06-07 23:59:59 UTC)),
        (l2 + 1000, datetime!(2026-06-02 0:00 UTC)),
    ] {
        let used = s.use_validation_link(id, at).await.unwrap();
        log.push(format!(
            "use {} at {at}: {used}",
            if id == l1 { "l1" } else { "l2" }
        ));
    }
    let found = s.find_validation_link("h1").await.unwrap().unwrap();
    assert_eq!(found.used_at, Some(datetime!(2026-06-02 0:00 UTC)));

    // Deleting a domain deletes its links; not another account's domain.
    assert!(matches!(
        s.delete_domain(b.id, d1.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_domain(a.id, d1.id).await.unwrap();
    assert!(s.find_validation_link("h1").await.unwrap().is_none());
    assert!(s.find_validation_link("h2").await.unwrap().is_some());
    assert!(s.get_domain(a.id, d1.id).await.unwrap().is_none());
    assert!(matches!(
        s.delete_domain(a.id, d1.id).await,
        Err(StoreError::NotFound)
    ));
    let (_, domains) = s
        .organization_with_domains(a.id, org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        domains.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d2.id]
    );
    log
}

#[tokio::test]
async fn domains_agree_on_both_backends() {
    on_both(domains_scenario).await;
}

fn org_summary(o: &Organization) -> String {
    format!(
        "{} assumed={:?} active={} data={} validations={:?}",
        o.name,
        o.assumed_name,
        o.is_active,
        o.data,
        o.validations
            .iter()
            .map(|v| format!(
                "{} {} until={:?} users={:?}",
                v.kind.as_str(),
                v.status.as_str(),
                v.validated_until,
                v.verified_users
            ))
            .collect::<Vec<_>>()
    )
}

/// The duplicate-organization check, organization reads and lists, and
/// the validation desk (submissions, decisions, the audit trail).
async fn organizations_scenario(s: Arc<dyn Store>) -> Vec<String> {
    let mut log = Vec::new();
    let (a, _u, org) = setup(&*s).await;
    let (b, _) = s
        .create_account("Other", &AccountSettings::default(), &conformance::admin())
        .await
        .unwrap();
    let sub = s
        .create_container(a.id, a.root_container_id, "sub", "")
        .await
        .unwrap();
    let acme = s
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: sub,
                name: "Acme Widgets".into(),
                assumed_name: Some("Acme DBA".into()),
                data: json!({"address": "2 Side St", "city": "Springfield", "state": "IL",
                             "zip": "62701", "country": "us", "extra": [1, {"k": null}]}),
                validations: vec![
                    (
                        ValidationType::Smime,
                        ValidationStatus::Active,
                        Some(datetime!(2027-01-01 0:00:00.9 UTC)),
                    ),
                    (ValidationType::EvCs, ValidationStatus::Pending, None),
                    (ValidationType::Ev, ValidationStatus::Pending, None),
                    (ValidationType::Cs, ValidationStatus::Rejected, None),
                ],
            },
        )
        .await
        .unwrap();
    assert_eq!(acme.container_id, sub);
    assert_eq!(acme.account_id, a.id);
    log.push(org_summary(&acme));
    let ecole = s
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: a.root_container_id,
                name: "ÉCOLE Supérieure".into(),
                assumed_name: None,
                data: json!({"address": "1 Rue", "city": "Paris", "state": "", "zip": "75001", "country": "fr"}),
                validations: vec![],
            },
        )
        .await
        .unwrap();

    // The duplicate check: names and address fields compared without
    // ASCII case (and surrounding spaces for the address).
    let key = |name: &str, assumed: Option<&str>, city: &str| OrgDuplicateKey {
        name: name.into(),
        assumed_name: assumed.map(str::to_string),
        address: " 2 side st ".into(),
        city: city.into(),
        state: "il".into(),
        zip: "62701".into(),
        country: "US".into(),
    };
    let ecole_key = |name: &str| OrgDuplicateKey {
        name: name.into(),
        assumed_name: None,
        address: "1 rue".into(),
        city: "PARIS".into(),
        state: "".into(),
        zip: "75001".into(),
        country: "FR".into(),
    };
    for (label, account, k) in [
        (
            "same",
            a.id,
            key("acme widgets", Some("ACME dba"), "SPRINGFIELD"),
        ),
        (
            "other city",
            a.id,
            key("Acme Widgets", Some("Acme DBA"), "Shelbyville"),
        ),
        (
            "no assumed name",
            a.id,
            key("Acme Widgets", None, "Springfield"),
        ),
        (
            "other name",
            a.id,
            key("Acme Widget", Some("Acme DBA"), "Springfield"),
        ),
        (
            "other account",
            b.id,
            key("Acme Widgets", Some("Acme DBA"), "Springfield"),
        ),
        ("ascii case only", a.id, ecole_key("École supérieure")),
        ("same accents", a.id, ecole_key("ÉCOLE SUPÉRIEURE")),
    ] {
        let found = s.find_duplicate_organization(account, &k).await.unwrap();
        log.push(format!(
            "duplicate {label}: {:?}",
            found.map(|id| if id == acme.id {
                "acme"
            } else if id == ecole.id {
                "ecole"
            } else {
                "?"
            })
        ));
    }
    s.set_organization_active(a.id, acme.id, false)
        .await
        .unwrap();
    assert_eq!(
        s.find_duplicate_organization(a.id, &key("Acme Widgets", Some("Acme DBA"), "Springfield"))
            .await
            .unwrap(),
        None,
        "inactive organizations are not duplicates"
    );
    assert!(matches!(
        s.set_organization_active(b.id, acme.id, true).await,
        Err(StoreError::NotFound)
    ));

    // Reads and lists.
    let any = s.get_organization_any(acme.id).await.unwrap().unwrap();
    assert!(!any.is_active);
    log.push(org_summary(&any));
    assert!(s
        .get_organization_any(acme.id + 1000)
        .await
        .unwrap()
        .is_none());
    assert!(s.get_organization(b.id, acme.id).await.unwrap().is_none());
    let names = |l: &[Organization]| l.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
    for (label, filter, limit, offset) in [
        ("all", OrgFilter::default(), 10, 0),
        (
            "active",
            OrgFilter {
                active: Some(true),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "inactive",
            OrgFilter {
                active: Some(false),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "in sub",
            OrgFilter {
                container_id: Some(sub),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "scope sub",
            OrgFilter {
                container_ids: Some(vec![sub]),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "scope both",
            OrgFilter {
                container_ids: Some(vec![sub, a.root_container_id]),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "scope none",
            OrgFilter {
                container_ids: Some(vec![]),
                ..Default::default()
            },
            10,
            0,
        ),
        (
            "active in root",
            OrgFilter {
                active: Some(true),
                container_id: Some(a.root_container_id),
                container_ids: Some(vec![a.root_container_id]),
            },
            10,
            0,
        ),
        ("page 2", OrgFilter::default(), 2, 1),
        ("past the end", OrgFilter::default(), 2, 5),
    ] {
        let (list, total) = s
            .list_organizations(a.id, filter, limit, offset)
            .await
            .unwrap();
        log.push(format!("list {label}: {total} {:?}", names(&list)));
        if let Some(o) = list.iter().find(|o| o.id == acme.id) {
            assert_eq!(org_summary(o), org_summary(&any), "lists show validations");
        }
    }
    let (list, total) = s
        .list_organizations(b.id, OrgFilter::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!((list.len(), total), (0, 0));

    // The desk: pending validations, oldest first.
    s.submit_org_validation(
        org.id,
        ValidationType::Ev,
        ValidationStatus::Pending,
        None,
        &json!([{"name": "Jo", "email": "jo@example.com"}]),
    )
    .await
    .unwrap();
    s.submit_org_validation(
        acme.id,
        ValidationType::Ov,
        ValidationStatus::Pending,
        Some(datetime!(2027-02-01 0:00:00.5 UTC)),
        &json!([]),
    )
    .await
    .unwrap();
    let pending = s.pending_org_validations(10).await.unwrap();
    let show = |p: &[PendingOrgValidation]| {
        p.iter()
            .map(|p| {
                format!(
                    "{} {} users={:?} account a={}",
                    p.organization_name,
                    p.kind.as_str(),
                    p.verified_users,
                    p.account_id == a.id
                )
            })
            .collect::<Vec<_>>()
    };
    // Oldest first, then by organization and type (the dates are the
    // clock's at each write: the transcript takes them sorted).
    let keys: Vec<_> = pending
        .iter()
        .map(|p| (p.date_created, p.organization_id, p.kind.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let mut shown = show(&pending);
    shown.sort();
    log.push(format!("pending: {shown:?}"));
    assert_eq!(pending.len(), 4);
    assert_eq!(
        show(&s.pending_org_validations(1).await.unwrap()),
        show(&pending[..1])
    );

    // Decisions: approving keeps earlier verified users when none are
    // given; rejecting needs something to reject; every decision is
    // audited, and a refused one is not.
    let decide = |org_id: i64, kind, approve, contacts: Option<serde_json::Value>| OrgDecision {
        operator_key_id: Some(7),
        organization_id: org_id,
        kind,
        approve,
        validated_until: approve.then_some(datetime!(2028-01-01 0:00:00.3 UTC)),
        note: format!(
            "{} {}",
            if approve { "approve" } else { "reject" },
            kind.as_str()
        ),
        verified_contacts: contacts,
        registration_number: None,
        at: datetime!(2026-05-01 12:00:00.5 UTC),
    };
    s.decide_org_validation(&decide(org.id, ValidationType::Ev, true, None))
        .await
        .unwrap();
    s.decide_org_validation(&decide(
        acme.id,
        ValidationType::Ev,
        true,
        Some(json!([{"name": "Op", "verified": true}])),
    ))
    .await
    .unwrap();
    s.decide_org_validation(&decide(
        acme.id,
        ValidationType::EvCs,
        false,
        Some(json!([])),
    ))
    .await
    .unwrap();
    // An approval may record the registration number the desk found, in
    // the organization's data (other fields kept).
    s.decide_org_validation(&OrgDecision {
        registration_number: Some("HRB 12345".into()),
        ..decide(acme.id, ValidationType::Ds, true, Some(json!([])))
    })
    .await
    .unwrap();
    s.decide_org_validation(&decide(acme.id, ValidationType::Ov, false, None))
        .await
        .unwrap();
    assert!(matches!(
        s.decide_org_validation(&decide(org.id, ValidationType::Smime, false, None))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.decide_org_validation(&decide(acme.id + 1000, ValidationType::Ov, true, None))
            .await,
        Err(StoreError::NotFound)
    ));
    let setup_org = s.get_organization(a.id, org.id).await.unwrap().unwrap();
    log.push(org_summary(&setup_org));
    let acme_now = s.get_organization(a.id, acme.id).await.unwrap().unwrap();
    assert_eq!(acme_now.data["ev"]["registration_number"], "HRB 12345");
    assert_eq!(acme_now.data["city"], "Springfield");
    log.push(org_summary(&acme_now));
    let (with_domains, _) = s
        .organization_with_domains(a.id, acme.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org_summary(&with_domains), org_summary(&acme_now));
    log.push(format!(
        "pending after: {:?}",
        show(&s.pending_org_validations(10).await.unwrap())
    ));

    let audit = |org_id: Option<i64>, limit: i64| {
        let s = s.clone();
        async move {
            s.validation_audit(org_id, limit)
                .await
                .unwrap()
                .iter()
                .map(|e| {
                    assert_eq!(e.account_id, a.id);
                    format!(
                        "{} {} {} {:?} {} {:?} org={}",
                        e.at,
                        e.kind.as_str(),
                        e.decision,
                        e.operator_key_id,
                        e.note,
                        e.verified_contacts,
                        if e.organization_id == acme.id {
                            "acme"
                        } else {
                            "setup"
                        }
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let all = audit(None, 10).await;
    assert_eq!(all.len(), 5);
    log.push(format!("audit: {all:?}"));
    log.push(format!("audit acme: {:?}", audit(Some(acme.id), 10).await));
    log.push(format!("audit last 2: {:?}", audit(None, 2).await));
    assert!(audit(Some(ecole.id), 10).await.is_empty());
    log
}

#[tokio::test]
async fn organizations_agree_on_both_backends() {
    on_both(organizations_scenario).await;
}
