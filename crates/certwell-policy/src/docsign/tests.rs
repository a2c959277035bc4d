use super::*;
use crate::catalog::find_product;
use crate::smime::{extended_key_usages, key_usage, KeyKind};
use crate::testutil::with;
use serde_json::{json, Value};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn check(product: &str, body: Value) -> Result<SmimeOrderPlan> {
    let req: OrderRequest = serde_json::from_value(body).unwrap();
    validate_document_signing_order(find_product(product).unwrap(), &req, NOW)
}

fn code(body: Value) -> &'static str {
    check("document_signing_org_1", body).unwrap_err().code
}

/// Every parameter of the seed, in use.
fn full() -> Value {
    json!({
        "certificate": {
            "csr": "<csr>",
            "server_platform": {"id": 21},
            "signature_hash": "sha256"
        },
        "cs_provisioning_method": "email",
        "use_org_as_common_name": false,
        "order_validity": {"years": 3},
        "comments": "For the contracts team",
        "organization_contact": {"first_name": "Gia", "last_name": "Booth", "email": "gia@example.com",
            "job_title": "CTO", "telephone": "801-555-0453"},
        "technical_contact": {"first_name": "Tom", "last_name": "Tech", "email": "tom@example.com"},
        "organization": {"id": 4},
        "container": {"id": 1},
        "ship_info": {"name": "Jane Doe", "addr1": "1 Main St", "addr2": "Suite 2", "city": "Lindon",
            "state": "Utah", "zip": "84042", "country": "US", "method": "EXPEDITED"},
        "subject": {"name": "Jane Doe", "job_title": "Contracts Manager", "phone": "801-555-0100",
            "email": "Jane.Doe@example.com"},
        "custom_fields": [{"metadata_id": 3, "value": "x"}],
        "user_id_assignments": [1, 2],
        "skip_approval": true,
        "payment_method": "balance"
    })
}

fn minimal() -> Value {
    json!({
        "certificate": {"signature_hash": "sha256"},
        "organization": {"id": 4},
        "order_validity": {"years": 1},
        "subject": {"name": "Jane Doe", "job_title": "Clerk", "phone": "1", "email": "jane@example.com"}
    })
}

#[test]
fn every_seed_parameter() {
    let p = check("document_signing_org_2", full()).unwrap();
    let ds = p.doc_signing.as_ref().unwrap();
    assert_eq!(ds.cs_provisioning_method, ProvisioningMethod::Email);
    assert!(!ds.use_org_as_common_name);
    assert_eq!(ds.server_platform_id, 21);
    let req: OrderRequest = serde_json::from_value(full()).unwrap();
    let level = crate::common::order_level(&req).unwrap();
    assert_eq!(level.user_id_assignments, vec![1, 2]);
    assert_eq!(
        level.organization_contact.as_ref().unwrap().job_title,
        "CTO"
    );
    assert_eq!(
        level.technical_contact.as_ref().unwrap().email,
        "tom@example.com"
    );
    assert_eq!(
        ds.subject,
        DsSubject {
            name: "Jane Doe".into(),
            job_title: "Contracts Manager".into(),
            phone: "801-555-0100".into(),
            email: "jane.doe@example.com".into(),
        }
    );
    let ship = ds.ship_info.as_ref().unwrap();
    assert_eq!(
        (ship.country.as_str(), ship.method.as_str()),
        ("us", "expedited")
    );
    assert_eq!(ship.addr2.as_deref(), Some("Suite 2"));
    assert_eq!(p.cn_source, CnSource::Explicit);
    assert_eq!(p.subject.common_name, "Jane Doe");
    assert_eq!(p.subject.title.as_deref(), Some("Contracts Manager"));
    assert_eq!(p.emails, vec!["jane.doe@example.com"]);
    assert_eq!(p.term.years, Some(3));
    assert!(p.term_end.starts_with("2029-11-23"), "{}", p.term_end);
    assert_eq!(p.csr.as_deref(), Some("<csr>"));
    assert!(p.common.skip_approval);
    assert_eq!(p.common.comments.as_deref(), Some("For the contracts team"));
    assert_eq!(p.common.container_id, Some(1));
    assert_eq!(p.smime_type, None);
    assert_eq!(p.generation, None);
}

#[test]
fn defaults() {
    let p = check("document_signing_org_1", minimal()).unwrap();
    let ds = p.doc_signing.unwrap();
    // Without a CSR the token application will supply one.
    assert_eq!(ds.cs_provisioning_method, ProvisioningMethod::ClientApp);
    assert!(ds.use_org_as_common_name);
    assert_eq!(ds.server_platform_id, -1);
    assert_eq!(p.cn_source, CnSource::OrganizationName);
    assert!(p.csr.is_none());
    let p = check(
        "document_signing_org_1",
        with(minimal(), "certificate.csr", json!("<csr>")),
    )
    .unwrap();
    assert_eq!(
        p.doc_signing.unwrap().cs_provisioning_method,
        ProvisioningMethod::Email
    );
    // The deprecated validity_years.
    let p = check(
        "document_signing_org_1",
        with(
            with(minimal(), "order_validity", Value::Null),
            "validity_years",
            json!(2),
        ),
    )
    .unwrap();
    assert_eq!(p.term.years, Some(2));
}

#[test]
fn certificate_usage_is_document_signing() {
    let p = check("document_signing_org_1", minimal()).unwrap();
    assert_eq!(
        extended_key_usages(&p.usage),
        vec!["1.3.6.1.4.1.311.10.3.12", "1.2.840.113583.1.1.5"]
    );
    for kind in [KeyKind::Rsa, KeyKind::Ecc] {
        let ku = key_usage(&p.usage, kind);
        assert!(ku.digital_signature && ku.non_repudiation);
        assert!(!ku.key_encipherment && !ku.key_agreement && !ku.data_encipherment);
    }
}

#[test]
fn keys() {
    assert!(check_document_signing_key(None).is_ok());
    assert!(check_document_signing_key(Some(3072)).is_ok());
    assert!(check_document_signing_key(Some(4096)).is_ok());
    let e = check_document_signing_key(Some(2048)).unwrap_err();
    assert_eq!(e.code, "csr_weak_key");
    assert!(e.message.contains("3072"));
}

fn unreachable_plan() -> SmimeOrderPlan {
    panic!("expected an error")
}

#[test]
fn rule_violations_name_their_field() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(minimal(), "certificate", Value::Null),
            "missing_required_field",
            "'certificate'",
        ),
        (
            with(minimal(), "cs_provisioning_method", json!("email")),
            "missing_required_field",
            "certificate.csr",
        ),
        (
            with(minimal(), "cs_provisioning_method", json!("carrier_pigeon")),
            "invalid_cs_provisioning_method",
            "cs_provisioning_method",
        ),
        (
            with(minimal(), "cs_provisioning_method", json!("ship_token")),
            "missing_required_field",
            "ship_info",
        ),
        (
            with(minimal(), "certificate.signature_hash", Value::Null),
            "missing_required_field",
            "certificate.signature_hash",
        ),
        (
            with(minimal(), "certificate.signature_hash", json!("sha384")),
            "invalid_signature_hash",
            "certificate.signature_hash",
        ),
        (
            with(
                minimal(),
                "certificate.server_platform",
                json!({"id": 9999}),
            ),
            "invalid_server_platform",
            "certificate.server_platform.id",
        ),
        (
            with(minimal(), "subject", Value::Null),
            "missing_required_field",
            "'subject'",
        ),
        (
            with(minimal(), "subject.phone", Value::Null),
            "missing_required_field",
            "subject.phone",
        ),
        (
            with(minimal(), "subject.job_title", Value::Null),
            "missing_required_field",
            "subject.job_title",
        ),
        (
            with(minimal(), "subject.name", json!("n".repeat(65))),
            "field_too_long",
            "subject.name",
        ),
        (
            with(minimal(), "subject.email", json!("not-mail")),
            "invalid_email",
            "subject.email",
        ),
        (
            with(minimal(), "organization", Value::Null),
            "missing_required_field",
            "'organization'",
        ),
        (
            with(minimal(), "order_validity.years", json!(4)),
            "invalid_validity",
            "order_validity.years",
        ),
        (
            with(minimal(), "order_validity", json!({"days": 30})),
            "field_not_allowed",
            "order_validity.days",
        ),
        (
            with(
                with(minimal(), "order_validity", Value::Null),
                "validity_years",
                json!(5),
            ),
            "invalid_validity",
            "validity_years",
        ),
        (
            with(minimal(), "order_validity", Value::Null),
            "missing_required_field",
            "order_validity",
        ),
        (
            with(full(), "ship_info.method", json!("overnight")),
            "invalid_ship_info",
            "ship_info.method",
        ),
        (
            with(full(), "ship_info.country", json!("UK")),
            "invalid_ship_info",
            "ship_info.country",
        ),
        (
            with(full(), "ship_info.zip", Value::Null),
            "missing_required_field",
            "ship_info.zip",
        ),
        (
            with(full(), "ship_info.addr1", Value::Null),
            "missing_required_field",
            "ship_info.addr1",
        ),
        (
            with(full(), "organization_contact.email", json!("x")),
            "invalid_email",
            "organization_contact.email",
        ),
        (
            with(full(), "technical_contact.last_name", Value::Null),
            "missing_required_field",
            "technical_contact.last_name",
        ),
        (
            with(minimal(), "user_id_assignments", json!([0])),
            "invalid_user_id_assignment",
            "user_id_assignments",
        ),
        (
            with(minimal(), "auto_renew", json!(-1)),
            "invalid_auto_renew",
            "auto_renew",
        ),
    ];
    for (body, want, field) in cases {
        // The order-level parameters every endpoint shares are checked by
        // `common::order_level`, which the server runs for every order.
        let req: OrderRequest = serde_json::from_value(body.clone()).unwrap();
        let e = check("document_signing_org_1", body)
            .and_then(|_| crate::common::order_level(&req).map(|_| unreachable_plan()))
            .unwrap_err();
        assert_eq!(e.code, want, "{field}: {}", e.message);
        assert!(e.message.contains(field), "{field}: {}", e.message);
    }
    assert_eq!(
        code(with(
            minimal(),
            "cs_provisioning_method",
            json!("SHIP_TOKEN")
        )),
        "missing_required_field"
    );
}
