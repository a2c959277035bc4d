//! Document-signing orders over HTTP (seed order-document-signing.txt):
//! the products, every parameter, the certificates (parsed and linted with
//! `lint_pkix_cert`), and orders that wait in `waiting_pickup` for a CSR.

mod common;

use certwell_ca::KeyAlgorithm;
use common::leaf::parse;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";
const OID_DOC_SIGNING_MS: &str = "1.3.6.1.4.1.311.10.3.12";
const OID_ADOBE: &str = "1.2.840.113583.1.1.5";
const POLICY_DS: &str = "1.3.6.1.4.1.32473.1.4";
const CN: &str = "2.5.4.3";
const O: &str = "2.5.4.10";
const TITLE: &str = "2.5.4.12";
const EMAIL: &str = "1.2.840.113549.1.9.1";

/// Every parameter of the seed (ids and the CSR filled in).
fn full_body(org: i64, csr_pem: Option<&str>, user: i64) -> Value {
    let mut b = json!({
        "certificate": {
            "server_platform": {"id": 21},
            "signature_hash": "sha256"
        },
        "cs_provisioning_method": "email",
        "use_org_as_common_name": true,
        "order_validity": {"years": 2},
        "comments": "Contracts team",
        "organization_contact": {"first_name": "Olga", "last_name": "Order", "email": "olga@example.com",
            "job_title": "COO", "telephone": "801-555-0001"},
        "technical_contact": {"first_name": "Tom", "last_name": "Tech", "email": "tom@example.com"},
        "organization": {"id": org},
        "container": {"id": 1},
        "ship_info": {"name": "Jane Doe", "addr1": "1 Main St", "city": "Lindon", "state": "Utah",
            "zip": "84042", "country": "us", "method": "standard"},
        "subject": {"name": "Jane Doe", "job_title": "Contracts Manager", "phone": "801-555-0100",
            "email": "jane.doe@example.com"},
        "user_id_assignments": [user],
        "skip_approval": true,
        "payment_method": "balance"
    });
    match csr_pem {
        Some(c) => b["certificate"]["csr"] = json!(c),
        None => {
            b["cs_provisioning_method"] = json!("ship_token");
        }
    }
    b
}

#[tokio::test]
async fn products_are_listed_with_their_signature_allowance() {
    let ts = TestServer::start(true).await;
    for (id, n) in [
        ("document_signing_org_1", 2000),
        ("document_signing_org_2", 5000),
    ] {
        let (s, p) = ts.get(&format!("/services/v2/product/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["signature_allowance"], n, "{p}");
        assert_eq!(p["group_name"], "document_signing");
        assert_eq!(p["allowed_validity_years"], json!([1, 2, 3]));
        let cas = p["allowed_ca_certs"].as_array().unwrap();
        assert_eq!(cas.len(), 1, "{p}");
        assert!(
            cas[0]["name"]
                .as_str()
                .unwrap()
                .contains("Document Signing"),
            "{p}"
        );
    }
    let (_, list) = ts.get("/services/v2/product").await;
    let ids: Vec<&str> = list["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"document_signing_org_1") && ids.contains(&"document_signing_org_2"));
    ts.stop().await;
}

/// Every seed parameter, for each product and key type: 201 with the
/// chain, the certificate field by field, order info, and pkilint.
#[tokio::test]
async fn every_parameter_and_key_type_issues_a_document_signing_certificate() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let user = me["id"].as_i64().unwrap();
    let mut jobs = Vec::new();
    for product in ["document_signing_org_1", "document_signing_org_2"] {
        for alg in [
            KeyAlgorithm::Rsa3072,
            KeyAlgorithm::Rsa4096,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
        ] {
            for use_org in [true, false] {
                let mut body = full_body(org, Some(&csr(alg, "ignored")), user);
                body["use_org_as_common_name"] = json!(use_org);
                let label = format!("{product}/{alg:?}/use_org={use_org}");
                let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
                assert_eq!(s, StatusCode::CREATED, "{label}: {v}");
                assert!(v["certificate_id"].as_i64().is_some(), "{v}");
                let chain = v["certificate_chain"].as_array().unwrap();
                assert_eq!(chain.len(), 3, "{label}: {v}");
                assert!(chain[1]["subject_common_name"]
                    .as_str()
                    .unwrap()
                    .contains("Document Signing"));
                let pem = chain[0]["pem"].as_str().unwrap();
                let c = parse(pem);
                assert_eq!(c.eku, vec![OID_DOC_SIGNING_MS, OID_ADOBE], "{label}");
                assert_eq!(
                    c.key_usage.iter().copied().collect::<Vec<_>>(),
                    vec!["digitalSignature", "nonRepudiation"],
                    "{label}"
                );
                assert!(c.key_usage_critical);
                assert_eq!(c.policies, vec![POLICY_DS], "{label}");
                assert_eq!(c.emails, vec!["jane.doe@example.com"], "{label}");
                let attr = |oid: &str| {
                    c.subject
                        .iter()
                        .find(|(k, _)| k == oid)
                        .map(|(_, v)| v.as_str())
                };
                assert_eq!(attr(O), Some("Example Inc."), "{label}");
                assert_eq!(attr(TITLE), Some("Contracts Manager"), "{label}");
                assert_eq!(attr(EMAIL), Some("jane.doe@example.com"), "{label}");
                assert_eq!(
                    attr(CN),
                    Some(if use_org { "Example Inc." } else { "Jane Doe" }),
                    "{label}"
                );
                // RSA ICA, sha256 (the seed allows only sha256).
                assert_eq!(c.signature_oid, "1.2.840.113549.1.1.11", "{label}");
                // Two years ordered; the certificate covers them.
                assert!(c.validity_seconds > 2 * 365 * 86400, "{label}");
                jobs.push(LintJob {
                    linter: "lint_pkix_cert",
                    args: vec![],
                    pem: pem.to_string(),
                    label: label.clone(),
                });

                let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
                assert_eq!(info["status"], "issued", "{info}");
                assert_eq!(info["product"]["name_id"], product);
                let cert = &info["certificate"];
                assert_eq!(cert["cs_provisioning_method"], "email");
                assert_eq!(cert["use_org_as_common_name"], use_org);
                assert_eq!(cert["server_platform"]["id"], 21);
                assert_eq!(
                    cert["subject"],
                    json!({"name": "Jane Doe", "job_title": "Contracts Manager", "phone": "801-555-0100",
                        "email": "jane.doe@example.com"})
                );
                assert_eq!(cert["ship_info"]["method"], "standard");
                assert_eq!(cert["ship_info"]["zip"], "84042");
                assert_eq!(
                    info["organization_contact"]["email"], "olga@example.com",
                    "{info}"
                );
                assert_eq!(info["technical_contact"]["email"], "tom@example.com");
                assert_eq!(info["user_assignments"], json!([{"id": user}]));
                assert_eq!(info["comments"], "Contracts team");
            }
        }
    }
    if let Some(f) = pkilint_batch(ts.dir.path(), &jobs) {
        assert!(f.is_empty(), "{}", f.join("\n"));
    }
    ts.stop().await;
}

#[tokio::test]
async fn bad_keys_and_bad_parameters_are_400_and_store_nothing() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let user = me["id"].as_i64().unwrap();
    let (_, before) = ts.get(ORDER).await;
    let count = |v: &Value| v["page"]["total"].as_i64().unwrap();
    let base = || full_body(org, Some(&csr(KeyAlgorithm::Rsa3072, "x")), user);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            full_body(org, Some(&csr(KeyAlgorithm::Rsa2048, "x")), user),
            "csr_weak_key",
            "3072",
        ),
        (
            {
                let mut b = base();
                b["user_id_assignments"] = json!([user, 999_999]);
                b
            },
            "invalid_user_id_assignment",
            "user_id_assignments[1]",
        ),
        (
            {
                let mut b = base();
                b["certificate"].as_object_mut().unwrap().remove("csr");
                b
            },
            "missing_required_field",
            "certificate.csr",
        ),
        (
            {
                let mut b = base();
                b["subject"].as_object_mut().unwrap().remove("email");
                b
            },
            "missing_required_field",
            "subject.email",
        ),
        (
            {
                let mut b = base();
                b["ship_info"]["method"] = json!("drone");
                b
            },
            "invalid_ship_info",
            "ship_info.method",
        ),
        (
            {
                let mut b = base();
                b["certificate"]["signature_hash"] = json!("sha512");
                b
            },
            "invalid_signature_hash",
            "certificate.signature_hash",
        ),
        (
            {
                let mut b = base();
                b["order_validity"] = json!({"years": 4});
                b
            },
            "invalid_validity",
            "order_validity.years",
        ),
        (
            {
                let mut b = base();
                b.as_object_mut().unwrap().remove("organization");
                b
            },
            "missing_required_field",
            "organization",
        ),
    ];
    for (body, code, needle) in cases {
        let (s, v) = ts
            .post(&format!("{ORDER}/document_signing_org_1"), body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{code}: {v}");
        assert_eq!(v["errors"][0]["code"], code, "{v}");
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    let (_, after) = ts.get(ORDER).await;
    assert_eq!(count(&after), count(&before), "nothing was stored");
    ts.stop().await;
}

/// Without a CSR the order waits in `waiting_pickup`, with or without an
/// approval step first; `POST …/csr` then issues it (and refuses a weak
/// key).
#[tokio::test]
async fn orders_without_a_csr_wait_in_waiting_pickup() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let user = me["id"].as_i64().unwrap();

    // skip_approval: waiting_pickup at once.
    let (s, v) = ts
        .post(
            &format!("{ORDER}/document_signing_org_1"),
            full_body(org, None, user),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("certificate_chain").is_none(), "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "waiting_pickup", "{info}");
    assert_eq!(info["certificate"]["cs_provisioning_method"], "ship_token");
    let (s, e) = ts
        .post(
            &format!("{ORDER}/{id}/csr"),
            json!({"csr": csr(KeyAlgorithm::Rsa2048, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "csr_weak_key");
    let (s, r) = ts
        .post(
            &format!("{ORDER}/{id}/csr"),
            json!({"csr": csr(KeyAlgorithm::EcdsaP384, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "issued", "{r}");
    let c = parse(r["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(c.eku, vec![OID_DOC_SIGNING_MS, OID_ADOBE]);

    // One-step approval: needs_approval, then waiting_pickup.
    let mut body = full_body(org, None, user);
    body.as_object_mut().unwrap().remove("skip_approval");
    let (s, v) = ts
        .post(&format!("{ORDER}/document_signing_org_2"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["requests"][0]["status"], "pending", "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "needs_approval");
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", v["requests"][0]["id"]),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "waiting_pickup", "{info}");
    let (s, r) = ts
        .post(
            &format!("{ORDER}/{id}/csr"),
            json!({"csr": csr(KeyAlgorithm::Rsa3072, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "issued", "{r}");
    // A second CSR is refused: the order no longer waits for one.
    let (s, e) = ts
        .post(
            &format!("{ORDER}/{id}/csr"),
            json!({"csr": csr(KeyAlgorithm::Rsa3072, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "order_not_awaiting_csr");

    // waiting_pickup orders can be canceled.
    let (_, v) = ts
        .post(
            &format!("{ORDER}/document_signing_org_1"),
            full_body(org, None, user),
        )
        .await;
    let (s, e) = ts
        .put(
            &format!("{ORDER}/{}/status", v["id"]),
            json!({"status": "canceled"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    ts.stop().await;
}
