//! Reissue and duplicate (api-surface.md §3.7, §3.8): new keys and names
//! within the order's validated scope, approvals, cancel, revocation of
//! every certificate of an order, and validity capped by the order term.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use der::Decode;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

async fn issued_order(ts: &TestServer, product: &str, org: i64) -> Value {
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{product}"),
            seed_order(product, org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["certificate_chain"].is_array(), "{v}");
    v
}

fn leaf(v: &Value) -> x509_cert::Certificate {
    x509_cert::Certificate::from_der(&pem_to_der(
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    ))
    .unwrap()
}

fn sans(c: &x509_cert::Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::{name::GeneralName, SubjectAltName};
    let ext = c
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.17")
        .unwrap();
    SubjectAltName::from_der(ext.extn_value.as_bytes())
        .unwrap()
        .0
        .into_iter()
        .map(|g| match g {
            GeneralName::DnsName(n) => n.to_string(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn not_after(c: &x509_cert::Certificate) -> u64 {
    c.tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs()
}

#[tokio::test]
async fn reissue_with_new_key_and_names_replaces_the_certificate() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let o = issued_order(&ts, "ssl_multi_domain", org).await;
    let id = o["id"].as_i64().unwrap();
    let old_cert = o["certificate_id"].as_i64().unwrap();
    let body = json!({
        "certificate": {
            "common_name": "example.com",
            "dns_names": ["new.example.com", "*.api.example.com"],
            "csr": csr(KeyAlgorithm::EcdsaP384, "x"),
            "server_platform": {"id": 2},
            "signature_hash": "sha256"
        },
        "skip_approval": true,
        "comments": "new key"
    });
    let (s, v) = ts
        .post(&format!("{ORDER}/{id}/reissue"), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], id);
    assert!(v.get("requests").is_none(), "{v}");
    let new_cert = v["certificate_id"].as_i64().unwrap();
    assert_ne!(new_cert, old_cert);
    let c = leaf(&v);
    assert_eq!(
        sans(&c),
        vec!["example.com", "new.example.com", "*.api.example.com"]
    );
    // Capped by the order's term as well as the BR maximum.
    assert!(not_after(&c) <= not_after(&leaf(&o)) + 86400);

    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["certificate"]["id"], new_cert);
    // The old certificate stays valid (and downloadable).
    let r = ts
        .client
        .get(ts.url(&format!(
            "/services/v2/certificate/{old_cert}/download/format/pem_all"
        )))
        .header("X-DC-DEVKEY", &ts.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, list) = ts.get(&format!("{ORDER}/{id}/reissue")).await;
    let r = &list["certificates"][0];
    assert_eq!(r["id"], new_cert);
    assert_eq!(r["status"], "approved");
    assert_eq!(r["server_platform"]["id"], 2);
    assert_eq!(
        r["dns_names"],
        json!(["example.com", "new.example.com", "*.api.example.com"])
    );
    assert!(r["serial_number"].is_string(), "{r}");
    let (_, dups) = ts.get(&format!("{ORDER}/{id}/duplicate")).await;
    assert!(dups.get("certificates").is_none(), "{dups}");

    // A name outside the organization's domains is refused.
    let mut bad = body.clone();
    bad["certificate"]["dns_names"] = json!(["example.net"]);
    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_dns_name");
    // The CSR is required.
    let mut bad = body.clone();
    bad["certificate"].as_object_mut().unwrap().remove("csr");
    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "missing_required_field");
    // Names may be omitted: the order's current names are kept.
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/reissue"),
            json!({"certificate": {"csr": csr(KeyAlgorithm::Rsa2048, "x")}, "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        sans(&leaf(&v)),
        vec!["example.com", "new.example.com", "*.api.example.com"]
    );
    ts.stop().await;
}

#[tokio::test]
async fn reissue_approval_cancel_and_reject() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let o = issued_order(&ts, "ssl_plus", org).await;
    let id = o["id"].as_i64().unwrap();
    let first = o["certificate_id"].as_i64().unwrap();
    let body =
        || json!({"certificate": {"csr": csr(KeyAlgorithm::EcdsaP256, "x")}, "comments": "rotate"});

    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), body()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["requests"][0]["status"], "pending");
    assert!(v.get("certificate_id").is_none(), "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "reissue_pending");
    // No second reissue, no revocation while it is pending.
    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), body()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "reissue_pending");
    let (s, v) = ts
        .put(
            &format!("/services/v2/certificate/{first}/revoke"),
            json!({"skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "reissue_pending");

    // Cancel: the order is issued again with its certificate; the request
    // is rejected with the note.
    let req_id = v_request(&ts, id).await;
    let (s, _) = ts
        .put(
            &format!("{ORDER}/{id}/status"),
            json!({"status": "canceled", "note": "not now"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["certificate"]["id"], first);
    let (_, r) = ts.get(&format!("/services/v2/request/{req_id}")).await;
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["processor_comment"], "not now", "{r}");

    // Reject: the same.
    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), body()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", v["requests"][0]["id"]),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "issued");

    // Approve: the reissue is issued and becomes the order's certificate.
    let (s, v) = ts.post(&format!("{ORDER}/{id}/reissue"), body()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", v["requests"][0]["id"]),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let info = wait_status(&ts, id, "issued").await;
    assert_ne!(info["certificate"]["id"], first);
    let (_, list) = ts.get(&format!("{ORDER}/{id}/reissue")).await;
    let statuses: Vec<&str> = list["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["canceled", "rejected", "approved"]);
    ts.stop().await;
}

async fn v_request(ts: &TestServer, order_id: i64) -> i64 {
    let (_, info) = ts.get(&format!("{ORDER}/{order_id}")).await;
    info["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "reissue")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn duplicates_keep_the_names_and_order_revocation_covers_them() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let o = issued_order(&ts, "ssl_multi_domain", org).await;
    let id = o["id"].as_i64().unwrap();
    let first = o["certificate_id"].as_i64().unwrap();
    // A SAN may move into the CN; the set of names stays.
    let body = json!({
        "certificate": {
            "common_name": "app.example.com",
            "dns_names": ["example.com", "sub.example.com"],
            "csr": csr(KeyAlgorithm::Rsa2048, "x"),
            "server_platform": {"id": 45},
            "signature_hash": "sha256"
        },
        "skip_approval": true
    });
    let (s, v) = ts
        .post(&format!("{ORDER}/{id}/duplicate"), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dup = v["certificate_id"].as_i64().unwrap();
    assert_eq!(
        sans(&leaf(&v)),
        vec!["app.example.com", "example.com", "sub.example.com"]
    );
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(
        info["certificate"]["id"], first,
        "a duplicate is not the order's certificate"
    );
    let (_, list) = ts.get(&format!("{ORDER}/{id}/duplicate")).await;
    assert_eq!(list["certificates"][0]["id"], dup);
    assert_eq!(list["certificates"][0]["common_name"], "app.example.com");

    let mut other = body.clone();
    other["certificate"]["dns_names"] = json!(["example.com"]);
    let (s, v) = ts.post(&format!("{ORDER}/{id}/duplicate"), other).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "duplicate_names_mismatch");
    // A blank common name does not let dns_names skip their checks.
    for names in [
        json!(["xn--zz.example.com"]),
        json!(["bad_name.example.com"]),
    ] {
        let mut blank = body.clone();
        blank["certificate"]["common_name"] = json!("");
        blank["certificate"]["dns_names"] = names;
        let (s, v) = ts.post(&format!("{ORDER}/{id}/duplicate"), blank).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["errors"][0]["code"], "invalid_dns_name", "{v}");
    }

    // Revoking the order revokes the original and the duplicate.
    let (s, v) = ts
        .put(
            &format!("{ORDER}/{id}/revoke"),
            json!({"skip_approval": true, "revocation_reason": "superseded"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    for c in [first, dup] {
        let (s, v) = ts
            .put(
                &format!("/services/v2/certificate/{c}/revoke"),
                json!({"skip_approval": true}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["errors"][0]["code"], "certificate_already_revoked");
    }
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "revoked");
    // A revoked order gets neither.
    let (s, v) = ts.post(&format!("{ORDER}/{id}/duplicate"), body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    ts.stop().await;
}

/// Flex products (Basic OV here) duplicate any of the order's names,
/// rearranged, for server-specific certificates; new names need a reissue.
#[tokio::test]
async fn flex_duplicates_carry_a_subset_of_the_names() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let o = issued_order(&ts, "ssl_basic", org).await;
    let id = o["id"].as_i64().unwrap();
    let dup = |cn: &str, dns: Value| {
        json!({
            "certificate": {"common_name": cn, "dns_names": dns,
                            "csr": csr(KeyAlgorithm::EcdsaP256, "x"), "signature_hash": "sha256"},
            "skip_approval": true
        })
    };
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/duplicate"),
            dup("app.example.com", json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(sans(&leaf(&v)), vec!["app.example.com"]);
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/duplicate"),
            dup("sub.example.com", json!(["example.com"])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(sans(&leaf(&v)), vec!["sub.example.com", "example.com"]);
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/duplicate"),
            dup("example.com", json!(["new.example.com"])),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "duplicate_names_mismatch");
    ts.stop().await;
}

#[tokio::test]
async fn smime_reissue_takes_a_new_key_of_the_right_type() {
    let ts = TestServer::start(true).await;
    let body = json!({
        "certificate": {
            "emails": ["a@example.com"], "profile_type": "multipurpose",
            "csr": csr(KeyAlgorithm::Rsa2048, "x"),
            "usage_designation": {"primary_usage": "key_management", "additional_usages": ["data_encipherment"]}
        },
        "skip_approval": true, "order_validity": {"years": 1}
    });
    let (s, o) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().unwrap();
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/reissue"),
            json!({"certificate": {"csr": csr(KeyAlgorithm::EcdsaP256, "x")}, "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_additional_usage");
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/reissue"),
            json!({"certificate": {"csr": csr(KeyAlgorithm::Rsa3072, "x"), "signature_hash": "sha384"}, "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = leaf(&v);
    assert_eq!(
        c.signature_algorithm().oid.to_string(),
        "1.2.840.113549.1.1.12"
    );
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/duplicate"),
            json!({"certificate": {"csr": csr(KeyAlgorithm::Rsa2048, "x")}, "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["certificate_chain"].is_array());
    ts.stop().await;
}

#[tokio::test]
async fn only_issued_orders_are_reissued() {
    let ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    let (s, o) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{}/reissue", o["id"]),
            json!({"certificate": {"csr": csr(KeyAlgorithm::EcdsaP256, "x")}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_status_transition");
    let (s, _) = ts
        .post(
            &format!("{ORDER}/999999/duplicate"),
            json!({"certificate": {"csr": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ts.stop().await;
}
