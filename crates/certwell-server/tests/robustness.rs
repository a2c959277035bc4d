//! Bad input never produces a 500 or a crash: mutated order bodies, odd
//! paths and query strings, all answered with 4xx and the error envelope.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// xorshift: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn weird(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(i64::MAX),
        4 => json!(1.5e300),
        5 => json!(""),
        6 => json!("x".repeat(5000)),
        7 => json!("ünïcödé ✓ \u{202e}"),
        8 => json!([]),
        9 => json!([1, "a", null]),
        10 => json!({}),
        11 => json!({"id": "abc"}),
        12 => json!("*.*.example.com"),
        _ => json!("\u{0000}\n\r"),
    }
}

/// Replaces a random node of `v` (at any depth) with a weird value.
fn mutate(v: &mut Value, rng: &mut Rng, depth: usize) {
    match v {
        Value::Object(m) if !m.is_empty() && depth < 4 => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            if rng.below(3) == 0 {
                m.insert(k.clone(), weird(rng));
            } else {
                mutate(m.get_mut(k).unwrap(), rng, depth + 1);
            }
        }
        Value::Array(a) if !a.is_empty() && depth < 4 => {
            let i = rng.below(a.len());
            mutate(&mut a[i], rng, depth + 1);
        }
        other => *other = weird(rng),
    }
}

fn assert_error_envelope(s: StatusCode, v: &Value, what: &str) {
    assert!(s.is_client_error(), "{what}: status {s}: {v}");
    let e = &v["errors"][0];
    assert!(
        e["code"].is_string() && e["message"].is_string(),
        "{what}: {v}"
    );
}

#[tokio::test]
async fn mutated_order_bodies_never_cause_server_errors() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let base = seed_order("ssl_ev_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut created = 0;
    for i in 0..300 {
        let mut body = base.clone();
        for _ in 0..(1 + rng.below(3)) {
            mutate(&mut body, &mut rng, 0);
        }
        let product = TLS_PRODUCTS[rng.below(TLS_PRODUCTS.len())];
        let (s, v) = ts
            .post(&format!("/services/v2/order/certificate/{product}"), body)
            .await;
        if s == StatusCode::CREATED {
            created += 1;
            assert!(v["id"].is_i64(), "{v}");
        } else {
            assert_error_envelope(s, &v, &format!("case {i}"));
        }
    }
    // the server is still healthy and the valid body still works
    let (s, _) = ts
        .post("/services/v2/order/certificate/ssl_ev_plus", base)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(created < 300);
    ts.stop().await;
}

/// The same for the S/MIME and client endpoints, from the sponsor seed
/// body (which touches most of their parameters).
#[tokio::test]
async fn mutated_smime_bodies_never_cause_server_errors() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let base = serde_json::json!({
        "certificate": {
            "profile_type": "multipurpose",
            "individual": {"first_name": "John", "last_name": "Doe", "pseudonym": "JD"},
            "emails": ["john.doe@example.com", "jd@example.com"],
            "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
            "signature_hash": "sha256",
            "common_name_indicator": "given_name_surname",
            "common_name": "John Doe",
            "user_principle_name": ["jd@corp.example.com"],
            "key_size": "p-256",
            "csr_key_type": "ecc",
            "is_rsassa_pss": true,
            "usage_designation": {"primary_usage": "dual_use", "additional_usages": ["non_repudiation", "client_auth"]}
        },
        "skip_approval": true,
        "organization": {"id": org},
        "order_validity": {"years": 1, "days": 30, "custom_expiration_date": "09 JUN 2027"},
        "validity_years": 1,
        "subject": {"include_given_name_surname": true, "include_email": true, "job_title": "SRE", "serial_number": "1"},
        "reject_if_pending": false
    });
    let products = [
        "secure_email_mailbox",
        "secure_email_sponsor",
        "secure_email_organization",
        "client_premium",
        "client_digital_signature_plus",
        "client_email_security_plus",
        "class1_smime",
        "client_authentication_plus",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..300 {
        let mut body = base.clone();
        for _ in 0..(1 + rng.below(3)) {
            mutate(&mut body, &mut rng, 0);
        }
        let product = products[rng.below(products.len())];
        let (s, v) = ts
            .post(&format!("/services/v2/order/certificate/{product}"), body)
            .await;
        if s == StatusCode::CREATED {
            assert!(v["id"].is_i64(), "{v}");
        } else {
            assert_error_envelope(s, &v, &format!("case {i} ({product})"));
        }
    }
    let (s, v) = ts
        .post("/services/v2/order/certificate/secure_email_sponsor", base)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn odd_paths_queries_and_bodies() {
    let ts = TestServer::start(true).await;
    let key = ts.key.clone();
    let paths = [
        "/services/v2/order/certificate/%00",
        "/services/v2/order/certificate/99999999999999999999999",
        "/services/v2/order/certificate/-1/status",
        "/services/v2/certificate/abc/download/format/pem_all",
        "/services/v2/certificate/1/download/format/%2e%2e",
        "/services/v2/certificate/download/order/0",
        "/services/v2/request/1e3",
        "/services/v2/organization/%F0%9F%92%A9",
        "/services/v2/domain/0x10",
        "/services/v2/product/%20",
        "/services/v2/order/certificate?limit=-5",
        "/services/v2/order/certificate?offset=999999999999999999999",
        "/services/v2/order/certificate?filters[id]=x",
        "/services/v2/order/certificate?sort=,,,",
        "/services/v2/order/certificate?filters[search]=%25%25%5C_",
        "/services/v2/request?status=weird",
        "/ca/..%2F..%2Fetc%2Fpasswd.crt",
        "/ca/.crl",
        "/operator/v1/accounts/abc/api-keys",
    ];
    for p in paths {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::POST,
        ] {
            let resp = ts
                .client
                .request(method.clone(), ts.url(p))
                .header("X-DC-DEVKEY", &key)
                .header("Content-Type", "application/json")
                .body("{\"status\": [\"x\"], \"name\": {\"a\": 1}}")
                .send()
                .await
                .unwrap();
            let s = resp.status();
            assert!(!s.is_server_error(), "{method} {p}: {s}");
            if !s.is_success() {
                let text = resp.text().await.unwrap();
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{method} {p}: not JSON: {text}"));
                assert_error_envelope(s, &v, &format!("{method} {p}"));
            }
        }
    }
    // non-UTF-8 and deeply nested bodies
    for body in [
        vec![0xff, 0xfe, 0x00],
        "[".repeat(10_000).into_bytes(),
        b"{\"certificate\":{\"common_name\":1e999}}".to_vec(),
    ] {
        let resp = ts
            .client
            .post(ts.url("/services/v2/order/certificate/ssl_plus"))
            .header("X-DC-DEVKEY", &key)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
    let (s, _) = ts.get("/services/v2/user/me").await;
    assert_eq!(s, StatusCode::OK, "still serving");
    ts.stop().await;
}

/// The validation, user and desk endpoints: weird bodies and ids get 4xx
/// with the error envelope (the confirmation pages answer HTML), never 5xx.
#[tokio::test]
async fn validation_user_and_desk_endpoints_refuse_bad_input() {
    let ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "robust.example.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let dom = d["id"].as_i64().unwrap();
    let (s, o) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let order = o["id"].as_i64().unwrap();
    let targets: Vec<(reqwest::Method, String, Value, bool)> = vec![
        (
            reqwest::Method::PUT,
            format!("/services/v2/domain/{dom}/dcv/method"),
            json!({"dcv_method": "dns-txt-token", "send_dcv_email_flag": false}),
            false,
        ),
        (
            reqwest::Method::POST,
            format!("/services/v2/domain/{dom}/dcv/token"),
            json!({}),
            false,
        ),
        (
            reqwest::Method::PUT,
            format!("/services/v2/domain/{dom}/dcv/validate-token"),
            json!({}),
            false,
        ),
        (
            reqwest::Method::PUT,
            format!("/services/v2/domain/{dom}/dcv/emails"),
            json!({}),
            false,
        ),
        (
            reqwest::Method::PUT,
            format!("/services/v2/order/certificate/{order}/check-dcv"),
            json!({"dns_names_validations": ["example.com"]}),
            false,
        ),
        (
            reqwest::Method::PUT,
            format!("/services/v2/order/certificate/{order}/dcv-random-value"),
            json!({}),
            false,
        ),
        (
            reqwest::Method::POST,
            format!("/services/v2/order/certificate/{order}/email-validation"),
            json!({"emails": ["a@example.com"]}),
            false,
        ),
        (
            reqwest::Method::PUT,
            "/services/v2/email-validation/abc?email=a@example.com".to_string(),
            json!({}),
            false,
        ),
        (
            reqwest::Method::POST,
            "/services/v2/user".to_string(),
            json!({"first_name": "A", "last_name": "B", "email": "a@example.com", "container": {"id": 1}, "access_roles": [{"id": 5}]}),
            false,
        ),
        (
            reqwest::Method::PUT,
            format!("/operator/v1/organization/{org}/validation/ov"),
            json!({"decision": "reject", "note": "x", "verified_contacts": [{"first_name": "A"}]}),
            true,
        ),
        (
            reqwest::Method::POST,
            "/validate/00112233445566778899aabbccddeeff".to_string(),
            json!({}),
            false,
        ),
    ];
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for (method, path, body, operator) in &targets {
        let key = if *operator { &ts.operator_key } else { &ts.key };
        for round in 0..25 {
            let mut b = body.clone();
            if round > 0 {
                mutate(&mut b, &mut rng, 0);
            }
            let resp = ts
                .client
                .request(method.clone(), ts.url(path))
                .header("X-DC-DEVKEY", key)
                .header("Content-Type", "application/json")
                .body(b.to_string())
                .send()
                .await
                .unwrap();
            let s = resp.status();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            let text = resp.text().await.unwrap();
            assert!(!s.is_server_error(), "{method} {path} {b}: {s} {text}");
            if !s.is_success() && !ct.starts_with("text/html") {
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
                assert_error_envelope(s, &v, &format!("{method} {path} {b}"));
            }
        }
    }
    for p in [
        "/services/v2/domain/abc/dcv/method",
        "/services/v2/domain/99999/dcv/token",
        "/services/v2/order/certificate/abc/check-dcv",
        "/services/v2/user?container_id=x",
        "/services/v2/user/%00",
        "/operator/v1/validations/audit?organization_id=x",
        "/operator/v1/organization/x/validation/ev",
        "/operator/v1/organization/1/validation/%F0%9F%92%A9",
        "/validate/..%2F..%2Fetc",
        "/validate/<script>alert(1)</script>",
    ] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::POST,
        ] {
            let key = if p.starts_with("/operator") {
                &ts.operator_key
            } else {
                &ts.key
            };
            let resp = ts
                .client
                .request(method.clone(), ts.url(p))
                .header("X-DC-DEVKEY", key)
                .body("{\"decision\": [1]}")
                .send()
                .await
                .unwrap();
            let s = resp.status();
            let text = resp.text().await.unwrap();
            assert!(!s.is_server_error(), "{method} {p}: {s} {text}");
            assert!(!text.contains("<script>"), "{p}: reflected markup");
        }
    }
    let (s, _) = ts.get("/services/v2/user/me").await;
    assert_eq!(s, StatusCode::OK, "still serving");
    ts.stop().await;
}

/// A NUL character is refused everywhere, whatever the backend could store:
/// in a JSON body (`\u0000`) and in a URL (`%00`), with `invalid_value`;
/// an escaped backslash before `u0000` is ordinary text.
#[tokio::test]
async fn nul_characters_are_refused_in_bodies_and_urls() {
    let ts = TestServer::start(true).await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            json!({"certificate": {"common_name": "a\u{0000}.example.com"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_value", "{v}");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("NUL"),
        "{v}"
    );
    let (s, v) = ts
        .get("/services/v2/order/certificate?filters[common_name]=a%00b")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_value", "{v}");
    // "\\u0000" is a backslash and the text u0000: not refused as NUL.
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            json!({"certificate": {"common_name": "\\u0000"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        !v["errors"][0]["message"].as_str().unwrap().contains("NUL"),
        "{v}"
    );
}

/// A request refused with its body unread ends its connection, and says
/// so: the response carries `Connection: close` and the server closes,
/// so the client's next request goes on a fresh connection instead of
/// failing on the leftover body. A request that succeeds keeps its
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_with_a_body_closes_its_connection() {
    use std::io::{Read, Write};
    let ts = TestServer::start(true).await;
    let addr = ts.base.trim_start_matches("http://").to_string();
    let key = ts.key.clone();
    tokio::task::spawn_blocking(move || {
        let exchange = |request: &[u8]| -> (String, bool) {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            s.write_all(request).unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = Vec::new();
            // Read the response; then see whether the server closes.
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    return (String::from_utf8_lossy(&got).into_owned(), true);
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_lowercase();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len: usize = text[..head_end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if got.len() >= head_end + 4 + len {
                        s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
                            .unwrap();
                        let closed = matches!(s.read(&mut buf), Ok(0));
                        return (text, closed);
                    }
                }
            }
        };
        let big = "x".repeat(200_000);
        // A bad key, with a large body the server never reads.
        let req = format!(
            "POST /services/v2/order/certificate/ssl_plus HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        );
        let (text, closed) = exchange(req.as_bytes());
        assert!(text.starts_with("http/1.1 403"), "{text}");
        assert!(text.contains("connection: close"), "{text}");
        assert!(text.contains("\"errors\""), "{text}");
        assert!(closed, "the connection stays open");
        // Bad JSON: refused, closed too.
        let body = "{\"certificate\": ";
        let req = format!(
            "POST /services/v2/order/certificate/ssl_plus HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (text, closed) = exchange(req.as_bytes());
        assert!(text.starts_with("http/1.1 400"), "{text}");
        assert!(text.contains("connection: close") && closed, "{text}");
        // A request that succeeds keeps the connection.
        let req = format!(
            "GET /services/v2/product HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: {key}\r\n\r\n"
        );
        let (text, closed) = exchange(req.as_bytes());
        assert!(text.starts_with("http/1.1 200"), "{text}");
        assert!(!text.contains("connection: close") && !closed, "{text}");
    })
    .await
    .unwrap();
    ts.stop().await;
}
