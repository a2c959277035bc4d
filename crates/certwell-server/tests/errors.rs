//! Every rule has a negative test: status, error code, field named.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn expect_400(ts: &TestServer, product: &str, body: Value, code: &str, field: &str) {
    let (s, v) = ts
        .post(&format!("/services/v2/order/certificate/{product}"), body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{code}: {v}");
    assert_eq!(v["errors"][0]["code"], code, "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains(field), "message should name {field}: {msg}");
}

fn set(mut v: Value, path: &[&str], val: Value) -> Value {
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    let last = path[path.len() - 1];
    if val.is_null() {
        cur.as_object_mut().unwrap().remove(last);
    } else {
        cur[last] = val;
    }
    v
}

fn openssl_csr(dir: &std::path::Path, args: &[&str]) -> String {
    let key = dir.join("k.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-new",
            "-nodes",
            "-subj",
            "/CN=example.com",
            "-keyout",
        ])
        .arg(&key)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn transport_level_errors() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));

    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_nope", body.clone())
        .await;
    assert_eq!(
        (s, v["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found|product"))
    );

    for key in [None, Some("WRONGKEY")] {
        let (s, v) = ts
            .send(
                reqwest::Method::POST,
                "/services/v2/order/certificate/ssl_plus",
                key,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            v,
            json!({"errors":[{"code":"access_denied|access_denied_invalid_key","message":"Access denied due to access_denied_invalid_key."}]})
        );
    }

    let (s, v) = ts.get("/services/v2/no/such/route").await;
    assert_eq!(
        (s, v["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found|route"))
    );
    let (s, v) = ts
        .send(
            reqwest::Method::DELETE,
            "/services/v2/product",
            Some(&ts.key.clone()),
            None,
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found|route"))
    );

    // malformed JSON
    let resp = ts
        .client
        .post(ts.url("/services/v2/order/certificate/ssl_plus"))
        .header("X-DC-DEVKEY", &ts.key)
        .body("{\"certificate\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "bad_request_format");

    // too large a body
    let big = json!({"comments": "x".repeat(2 * 1024 * 1024)});
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", big)
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["errors"][0]["code"], "payload_too_large");

    // wrong types name the field
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            set(body.clone(), &["validity_years"], json!("two")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "invalid_field_type");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("validity_years"));
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            set(
                body.clone(),
                &["certificate", "dns_names"],
                json!("a.example.com"),
            ),
        )
        .await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("certificate.dns_names"),
        "{v}"
    );
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", json!([1, 2]))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // non-numeric ids are 404s, not 500s
    let (s, v) = ts.get("/services/v2/order/certificate/not-a-number").await;
    assert_eq!(
        (s, v["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found|order"))
    );
    let (s, _) = ts.get("/services/v2/request/-5").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ts.get("/services/v2/order/certificate?limit=abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    ts.stop().await;
}

#[tokio::test]
async fn order_field_rules() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let good = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    let n = Value::Null;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "ssl_plus",
            set(good.clone(), &["certificate"], n.clone()),
            "missing_required_field",
            "certificate",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["certificate", "common_name"], n.clone()),
            "missing_required_field",
            "certificate.common_name",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["certificate", "csr"], n.clone()),
            "missing_required_field",
            "certificate.csr",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["certificate", "signature_hash"], n.clone()),
            "missing_required_field",
            "certificate.signature_hash",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "signature_hash"],
                json!("sha512"),
            ),
            "invalid_signature_hash",
            "certificate.signature_hash",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["validity_years"], n.clone()),
            "missing_required_field",
            "validity_years",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["validity_years"], json!(3)),
            "invalid_validity",
            "validity_years",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["validity_days"], json!(0)),
            "invalid_validity",
            "validity_days",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["custom_expiration_date"],
                json!("2099-01-01"),
            ),
            "invalid_custom_expiration_date",
            "custom_expiration_date",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["custom_expiration_date"],
                json!("01/02/2027"),
            ),
            "invalid_custom_expiration_date",
            "custom_expiration_date",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "common_name"],
                json!("192.0.2.1"),
            ),
            "invalid_dns_name",
            "certificate.common_name",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "common_name"],
                json!("intranet.corp"),
            ),
            "invalid_dns_name",
            "certificate.common_name",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "common_name"],
                json!("example.com."),
            ),
            "invalid_dns_name",
            "certificate.common_name",
        ),
        (
            "ssl_wildcard",
            set(
                set(
                    good.clone(),
                    &["certificate", "common_name"],
                    json!("*.co.uk"),
                ),
                &["certificate", "dns_names"],
                n.clone(),
            ),
            "invalid_dns_name",
            "certificate.common_name",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "dns_names"],
                json!(["ok.example.com", "bad..example.com"]),
            ),
            "invalid_dns_name",
            "certificate.dns_names[1]",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "common_name"],
                json!("*.example.com"),
            ),
            "wildcard_not_allowed",
            "certificate.common_name",
        ),
        (
            "ssl_wildcard",
            good.clone(),
            "wildcard_required",
            "certificate.common_name",
        ),
        (
            "ssl_ev_plus",
            good.clone(),
            "ev_approver_required",
            "organization.contacts",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["organization", "id"], json!(999_999)),
            "invalid_organization",
            "organization.id",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["organization"], n.clone()),
            "missing_required_field",
            "organization",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["organization", "contacts"],
                json!([{"contact_type":"technical_contact","user_id":424242}]),
            ),
            "invalid_contact",
            "organization.contacts[0].user_id",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["organization", "contacts"],
                json!([{"contact_type":"cto","user_id":1}]),
            ),
            "invalid_contact",
            "organization.contacts[0].contact_type",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["container"], json!({"id": 777})),
            "invalid_container",
            "container.id",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["renewal_of_order_id"], json!(777)),
            "invalid_renewal_of_order_id",
            "renewal_of_order_id",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["payment_method"], json!("cash")),
            "invalid_payment_method",
            "payment_method",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["dcv_method"], json!("fax")),
            "invalid_dcv_method",
            "dcv_method",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["auto_renew"], json!(5)),
            "invalid_auto_renew",
            "auto_renew",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["additional_emails"],
                json!(["not-an-email"]),
            ),
            "invalid_email",
            "additional_emails[0]",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "server_platform", "id"],
                json!(31337),
            ),
            "invalid_server_platform",
            "certificate.server_platform.id",
        ),
        (
            "ssl_plus",
            set(
                good.clone(),
                &["certificate", "profile_option"],
                json!("gold"),
            ),
            "invalid_profile_option",
            "certificate.profile_option",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["renewed_thumbprint"], json!("xyz")),
            "invalid_renewed_thumbprint",
            "renewed_thumbprint",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["locale"], json!("klingon")),
            "invalid_locale",
            "locale",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["custom_fields"], json!([{"value": "x"}])),
            "missing_required_field",
            "custom_fields[0].metadata_id",
        ),
        (
            "ssl_plus",
            set(good.clone(), &["certificate", "csr"], json!("not a csr")),
            "csr_invalid_cannot_parse",
            "certificate.csr",
        ),
    ];
    for (product, body, code, field) in cases {
        expect_400(&ts, product, body, code, field).await;
    }

    // proof of possession: a CSR whose signature does not verify
    let pem = csr(KeyAlgorithm::EcdsaP256, "x");
    let mut der = pem_to_der(&pem);
    let last = der.len() - 3;
    der[last] ^= 0x55;
    use base64::Engine;
    let tampered = base64::engine::general_purpose::STANDARD.encode(&der);
    expect_400(
        &ts,
        "ssl_plus",
        set(good.clone(), &["certificate", "csr"], json!(tampered)),
        "csr_invalid_signature",
        "certificate.csr",
    )
    .await;

    // weak and disallowed keys
    let dir = ts.dir.path();
    let rsa1024 = openssl_csr(dir, &["-newkey", "rsa:1024"]);
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            set(good.clone(), &["certificate", "csr"], json!(rsa1024)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let code = v["errors"][0]["code"].as_str().unwrap();
    assert!(
        code == "csr_weak_key" || code == "csr_key_not_allowed",
        "{v}"
    );
    let p521 = openssl_csr(
        dir,
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
    );
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            set(good.clone(), &["certificate", "csr"], json!(p521)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "csr_key_not_allowed", "{v}");

    // nothing was stored by any of the refused requests
    let (_, list) = ts.get("/services/v2/order/certificate").await;
    assert_eq!(
        list,
        json!({"page": {"total": 0, "limit": 1000, "offset": 0}}),
        "empty list omits the orders key"
    );
    ts.stop().await;
}

#[tokio::test]
async fn csr_forms_accepted() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let pem = csr(KeyAlgorithm::Rsa3072, "x");
    let one_line: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let crlf = pem.replace('\n', "\r\n");
    let pem_one_line =
        format!("-----BEGIN CERTIFICATE REQUEST-----{one_line}-----END CERTIFICATE REQUEST-----");
    for form in [pem.clone(), one_line, crlf, pem_one_line] {
        let (s, v) = ts
            .post(
                "/services/v2/order/certificate/ssl_plus",
                seed_order("ssl_plus", org, &form),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // the subject and SANs come from the order, never from the CSR
    let evil = csr(KeyAlgorithm::EcdsaP256, "evil.example.org");
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &evil),
        )
        .await;
    let text = openssl_text(
        ts.dir.path(),
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    );
    assert!(!text.contains("evil.example.org"));
    ts.stop().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    let order_id = v["id"].as_i64().unwrap();
    let cert_id = v["certificate_id"].as_i64().unwrap();
    let op = ts.operator_key.clone();
    let (s, acct) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts",
            Some(&op),
            Some(json!({"name": "Tenant B"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let other = acct["admin_api_key"].as_str().unwrap().to_string();
    for path in [
        format!("/services/v2/order/certificate/{order_id}"),
        format!("/services/v2/organization/{org}"),
        format!("/services/v2/certificate/{cert_id}/download/format/pem_all"),
        format!("/services/v2/certificate/{cert_id}/chain"),
        format!("/services/v2/certificate/download/order/{order_id}"),
        format!("/services/v2/request/{}", 1),
    ] {
        let (s, v) = ts.get_as(&other, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (_, list) = ts.get_as(&other, "/services/v2/order/certificate").await;
    assert_eq!(list["page"]["total"], 0);
    // the other tenant cannot order with this tenant's organization
    let (s, v) = ts
        .post_as(
            &other,
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "invalid_organization");
    ts.stop().await;
}
