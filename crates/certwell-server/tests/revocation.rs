//! Revocation with and without approval, by id and serial, order-level;
//! the CRL lists exactly the revoked serials; compromised keys are blocked.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn issue(ts: &TestServer, org: i64, csr_pem: &str) -> Value {
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, csr_pem),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Fetches the issuing CA's CRL and returns `openssl crl -text` (verified).
async fn crl_text(ts: &TestServer, leaf_chain: &Value) -> String {
    let ica_pem = leaf_chain["certificate_chain"][1]["pem"].as_str().unwrap();
    let (_, p) = ts.get("/services/v2/product/ssl_plus").await;
    let ica_id = p["allowed_ca_certs"][0]["id"].as_str().unwrap().to_string();
    let crl = ts
        .client
        .get(ts.url(&format!("/ca/{ica_id}.crl")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = ts.dir.path();
    std::fs::write(dir.join("r.crl"), &crl).unwrap();
    std::fs::write(dir.join("ica.pem"), ica_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(dir.join("r.crl"))
        .arg("-CAfile")
        .arg(dir.join("ica.pem"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("verify OK"), "{text}");
    if let Some(bin) = pkilint_dir() {
        let lint = std::process::Command::new(bin.join("lint_crl"))
            .args(["lint", "-t", "CRL", "-p", "BR", "-s", "WARNING"])
            .arg(dir.join("r.crl"))
            .output()
            .unwrap();
        assert!(
            lint.status.success(),
            "lint_crl: {}",
            String::from_utf8_lossy(&lint.stdout)
        );
    }
    text
}

fn serial_of(v: &Value) -> String {
    let der = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    use der::Decode;
    let c = x509_cert::Certificate::from_der(&der).unwrap();
    c.tbs_certificate()
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[tokio::test]
async fn revoke_with_skip_approval_and_key_compromise_blocklist() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let csr_pem = csr(KeyAlgorithm::EcdsaP256, "x");
    let v = issue(&ts, org, &csr_pem).await;
    let cid = v["certificate_id"].as_i64().unwrap();
    let (s, b) = ts
        .put(
            &format!("/services/v2/certificate/{cid}/revoke"),
            json!({"revocation_reason": "keyCompromise", "skip_approval": true}),
        )
        .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["status"], "revoked");
    assert_eq!(info["certificate"]["status"], "revoked");
    assert_eq!(info["certificate"]["revocation_reason"], "keyCompromise");

    let text = crl_text(&ts, &v).await;
    let serial = serial_of(&v);
    assert!(
        text.contains(&format!("Serial Number: {serial}")),
        "{serial} in {text}"
    );
    assert!(text.contains("Key Compromise"), "{text}");

    // the leaf no longer verifies with CRL checking
    let dir = ts.dir.path();
    std::fs::write(
        dir.join("leaf.pem"),
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("root.pem"),
        v["certificate_chain"][2]["pem"].as_str().unwrap(),
    )
    .unwrap();
    let pem_crl = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(dir.join("r.crl"))
        .output()
        .unwrap()
        .stdout;
    std::fs::write(dir.join("crl.pem"), pem_crl).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-crl_check", "-CAfile"])
        .arg(dir.join("root.pem"))
        .arg("-untrusted")
        .arg(dir.join("ica.pem"))
        .arg("-CRLfile")
        .arg(dir.join("crl.pem"))
        .arg(dir.join("leaf.pem"))
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && all.contains("certificate revoked"),
        "{all}"
    );

    // revoking again
    let (s, e) = ts
        .put(
            &format!("/services/v2/certificate/{cid}/revoke"),
            json!({"skip_approval": true}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("certificate_already_revoked")
        )
    );

    // the compromised key is refused on new orders, in any account
    let (s, e) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr_pem),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("csr_weak_key"))
    );
    let op = ts.operator_key.clone();
    let (_, acct) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts",
            Some(&op),
            Some(json!({"name": "B"})),
        )
        .await;
    let other = acct["admin_api_key"].as_str().unwrap().to_string();
    let (_, org_b) = ts
        .post_as(&other, "/services/v2/organization", org_body("B Inc"))
        .await;
    let (s, e) = ts
        .post_as(
            &other,
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org_b["id"].as_i64().unwrap(), &csr_pem),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("csr_weak_key"))
    );
    // and other tenants cannot revoke this tenant's certificates
    let (s, _) = ts
        .put_as(
            &other,
            &format!("/services/v2/certificate/{cid}/revoke"),
            json!({"skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ts.stop().await;
}

#[tokio::test]
async fn revoke_by_serial_through_an_approval_request() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let a = issue(&ts, org, &csr(KeyAlgorithm::EcdsaP256, "x")).await;
    let b = issue(&ts, org, &csr(KeyAlgorithm::Rsa2048, "x")).await;
    let user = ts.key_with_role("user").await;
    let serial = serial_of(&a);
    let (s, e) = ts
        .put_as(
            &user,
            &format!("/services/v2/certificate/{serial}/revoke"),
            json!({"skip_approval": true}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (
            StatusCode::FORBIDDEN,
            json!("access_denied|missing_permission")
        )
    );
    let (s, r) = ts
        .put_as(
            &user,
            &format!("/services/v2/certificate/{serial}/revoke"),
            json!({"revocation_reason": "superseded", "comments": "Revoked via API!"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let mut keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["comments", "date", "id", "requester", "status", "type"]
    );
    assert_eq!(
        (
            r["type"].as_str(),
            r["status"].as_str(),
            r["comments"].as_str()
        ),
        (Some("revoke"), Some("pending"), Some("Revoked via API!"))
    );
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", a["id"]))
        .await;
    assert_eq!(info["status"], "issued", "nothing happens before approval");

    // a second request for b, rejected
    let (_, rb) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", b["certificate_id"]),
            json!({}),
        )
        .await;
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", rb["id"]),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info_b) = ts
        .get(&format!("/services/v2/order/certificate/{}", b["id"]))
        .await;
    assert_eq!(info_b["status"], "issued");

    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", r["id"]),
            json!({"status": "approved", "processor_comment": "ok"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", a["id"]))
        .await;
    assert_eq!(info["status"], "revoked");
    assert!(info["requests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["type"] == "revoke" && q["status"] == "approved"));
    let text = crl_text(&ts, &a).await;
    assert!(text.contains(&format!("Serial Number: {serial}")));
    assert!(text.contains("Superseded"), "{text}");
    assert!(
        !text.contains(&serial_of(&b)),
        "only revoked serials are listed"
    );
    ts.stop().await;
}

#[tokio::test]
async fn order_level_revocation_and_bad_input() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let a = issue(&ts, org, &csr(KeyAlgorithm::EcdsaP256, "x")).await;
    let (s, e) = ts
        .put(
            &format!("/services/v2/order/certificate/{}/revoke", a["id"]),
            json!({"revocation_reason": "becauseISaidSo", "skip_approval": true}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_value"))
    );
    let (s, _) = ts.put(&format!("/services/v2/order/certificate/{}/revoke", a["id"]), json!({"revocation_reason": "cessationOfOperation", "skip_approval": true, "comment": "bye"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", a["id"]))
        .await;
    assert_eq!(info["status"], "revoked");
    let (s, e) = ts
        .put(
            &format!("/services/v2/order/certificate/{}/revoke", a["id"]),
            json!({"skip_approval": true}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("certificate_not_issued"))
    );
    let (s, _) = ts
        .put("/services/v2/order/certificate/987654/revoke", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ts
        .put("/services/v2/certificate/ZZZZ/revoke", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", a["certificate_id"]),
            json!("nope"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, l) = ts
        .get("/services/v2/order/certificate?filters[status]=revoked")
        .await;
    assert_eq!(l["page"]["total"], 1);
    ts.stop().await;
}

/// Serials as clients format them (without certwell's leading zero, in
/// lower case, with colons) find the order, filter the list and revoke;
/// revocation reasons are taken in snake_case too and answered in the
/// vendor's camelCase.
#[tokio::test]
async fn client_spelled_serials_and_snake_case_reasons() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    // An order whose serial starts with a zero digit (about one in eight).
    let mut found = None;
    for _ in 0..150 {
        let v = issue(&ts, org, &csr(KeyAlgorithm::EcdsaP256, "x")).await;
        let (_, info) = ts
            .get(&format!("/services/v2/order/certificate/{}", v["id"]))
            .await;
        let serial = info["certificate"]["serial_number"]
            .as_str()
            .unwrap()
            .to_string();
        if serial.starts_with('0') {
            found = Some((v["id"].as_i64().unwrap(), serial));
            break;
        }
    }
    let (id, serial) = found.expect("a serial with a leading zero");
    let short = serial.trim_start_matches('0').to_string();
    let colons = serial
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    for spelling in [short.clone(), short.to_lowercase(), colons] {
        let (s, info) = ts
            .get(&format!("/services/v2/order/certificate/{spelling}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{spelling}: {info}");
        assert_eq!(info["id"], id, "{spelling}");
        let (s, list) = ts
            .get(&format!(
                "/services/v2/order/certificate?filters[serial_number]={spelling}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["page"]["total"], 1, "{spelling}: {list}");
        assert_eq!(list["orders"][0]["id"], id, "{spelling}");
    }
    let (s, list) = ts
        .get("/services/v2/order/certificate?filters[serial_number]=not-a-serial")
        .await;
    assert_eq!((s, &list["page"]["total"]), (StatusCode::OK, &json!(0)));

    let (s, b) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", short.to_lowercase()),
            json!({"revocation_reason": "cessation_of_operation", "skip_approval": true}),
        )
        .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{id}"))
        .await;
    assert_eq!(info["certificate"]["status"], "revoked");
    assert_eq!(
        info["certificate"]["revocation_reason"],
        "cessationOfOperation"
    );

    // Order-level revocation with the other snake_case names.
    for (reason, answer) in [
        ("key_compromise", "keyCompromise"),
        ("affiliation_change", "affiliationChanged"),
        ("privilege_withdrawn", "privilegeWithdrawn"),
    ] {
        let v = issue(&ts, org, &csr(KeyAlgorithm::EcdsaP256, "x")).await;
        let (s, b) = ts
            .put(
                &format!("/services/v2/order/certificate/{}/revoke", v["id"]),
                json!({"revocation_reason": reason, "skip_approval": true}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{reason}: {b}");
        let (_, info) = ts
            .get(&format!("/services/v2/order/certificate/{}", v["id"]))
            .await;
        assert_eq!(info["certificate"]["revocation_reason"], answer, "{reason}");
    }
    ts.stop().await;
}

/// A key blocked for compromise is refused on every path, and the CA signs
/// nothing for it: a new order is refused before anything is signed (no
/// serial of the issuing CA is used up), and an order placed before the
/// key was blocked is not signed when it is approved afterwards.
#[tokio::test]
async fn a_blocked_key_is_never_signed_on_any_path() {
    let ts = TestServer::start(true).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    let org = ts.create_org().await;
    let csr_pem = csr(KeyAlgorithm::EcdsaP256, "x");
    // Placed while the key is good; it waits for approval.
    let mut waiting = seed_order("ssl_plus", org, &csr_pem);
    waiting.as_object_mut().unwrap().remove("skip_approval");
    let (s, w) = ts
        .post("/services/v2/order/certificate/ssl_plus", waiting)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    let request = w["requests"][0]["id"].as_i64().unwrap();
    // Another order with the key is issued, then revoked for compromise.
    let v = issue(&ts, org, &csr_pem).await;
    let (s, _) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", v["certificate_id"]),
            json!({"revocation_reason": "keyCompromise", "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // A new order: refused before signing (no serial is taken).
    let pooled = || {
        state
            .serial_pool
            .lock()
            .unwrap()
            .values()
            .map(Vec::len)
            .sum::<usize>()
    };
    let before = pooled();
    let (s, e) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr_pem),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("csr_weak_key")),
        "{e}"
    );
    assert_eq!(pooled(), before, "a serial was used: the CA signed");

    // The waiting order, approved now: never signed.
    let (s, e) = ts
        .put(
            &format!("/services/v2/request/{request}/status"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", w["id"]))
        .await;
    assert_eq!(info["status"], "pending", "{info}");
    assert!(info["certificate"]["serial_number"].is_null(), "{info}");
    ts.stop().await;
}
