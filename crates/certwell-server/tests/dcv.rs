//! Real domain control validation, all on loopback: a DNS server certwell's
//! resolver is pointed at, an HTTP server for `fileauth.txt`, and CAA.
//! Each method goes record absent → documented 400 → record published →
//! validated → order issued by the poller and sweeper without a client call.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::response::{IntoResponse, Response};
use certwell_ca::KeyAlgorithm;
use common::dns::DnsServer;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";
const CNAME_DOMAIN: &str = "dcv.certwell-test.com";

/// `fileauth.txt` bodies by Host header (without port); `redirect:` bodies
/// answer 302 to that location instead.
type Files = Arc<Mutex<HashMap<String, String>>>;

async fn http_server() -> (u16, Files) {
    let files: Files = Arc::default();
    async fn serve(
        State(f): State<Files>,
        axum::extract::RawQuery(q): axum::extract::RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        // `?final` is where same-host redirects in the tests point.
        let key = if q.as_deref() == Some("final") {
            format!("final:{host}")
        } else {
            host
        };
        match f.lock().unwrap().get(&key).cloned() {
            Some(b) if b.starts_with("redirect:") => (
                AxStatus::FOUND,
                [("location", b.trim_start_matches("redirect:").to_string())],
            )
                .into_response(),
            Some(b) => b.into_response(),
            None => AxStatus::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route(
            "/.well-known/pki-validation/fileauth.txt",
            axum::routing::get(serve),
        )
        .with_state(Arc::clone(&files));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await });
    (port, files)
}

fn dcv_config(dns: &DnsServer, http_port: u16) -> certwell_server::Config {
    let mut cfg = config(false);
    cfg.dcv.nameserver = dns.addr.to_string();
    cfg.dcv.caa_check = true;
    cfg.dcv.caa_identities = vec!["certwell-test.com".into()];
    cfg.dcv.cname_verification_domain = CNAME_DOMAIN.into();
    cfg.dcv.http_port = http_port;
    // The test's web server is on loopback.
    cfg.dcv.allow_private_addresses = true;
    cfg.dcv.poll_base_seconds = 1;
    cfg.dcv.poll_max_seconds = 2;
    cfg.dcv.poll_interval_seconds = 1;
    cfg.dcv.timeout_seconds = 2;
    cfg
}

/// An organization validated for OV by the operator.
async fn ov_org(ts: &TestServer) -> i64 {
    let org = ts.create_org().await;
    let (s, v) = ts
        .send(
            reqwest::Method::PUT,
            &format!("/operator/v1/organization/{org}/validate"),
            Some(&ts.operator_key),
            Some(json!({"type": "ov"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    org
}

fn tls_order(org: i64, names: &[&str], method: &str) -> Value {
    let mut b = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    b["certificate"]["common_name"] = json!(names[0]);
    b["certificate"]["dns_names"] = json!(names[1..]);
    b["dcv_method"] = json!(method);
    b["validity_years"] = json!(1);
    b
}

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_txt_token_on_a_domain() {
    let dns = DnsServer::start().await;
    let (port, _) = http_server().await;
    let ts = TestServer::start_with(dcv_config(&dns, port)).await;
    let org = ov_org(&ts).await;
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "txt-check.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_i64().unwrap();
    let token = d["dcv_token"]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32, "128-bit random value");
    assert_eq!(d["dcv_token"]["status"], "pending");

    // Absent, or another value: 400 invalid_dns_txt.
    let path = format!("/services/v2/domain/{id}/dcv/validate-token");
    let (s, e) = ts.put(&path, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(code(&e), "invalid_dns_txt");
    dns.set_txt("txt-check.com", &["some-other-value"]);
    let (s, e) = ts.put(&path, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_dns_txt"));
    let (_, info) = ts.get(&format!("/services/v2/domain/{id}")).await;
    assert_eq!(info["is_pending_validation"], true, "{info}");
    assert_eq!(info["dcv_token"]["token"], token.as_str());
    assert_eq!(info["dcv_token"]["status"], "pending");

    // Published (beside an unrelated record): validated.
    dns.set_txt("txt-check.com", &["v=spf1 -all", &token]);
    let (s, v) = ts.put(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"token": token, "status": "active"}));
    let (_, info) = ts.get(&format!("/services/v2/domain/{id}")).await;
    assert_eq!(info["is_pending_validation"], false, "{info}");
    assert_eq!(info["validations"][0]["dcv_status"], "complete");
    // A validated domain stays validated: checking again needs no record.
    dns.set_txt("txt-check.com", &["v=spf1 -all"]);
    let (s, v) = ts.put(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"token": token, "status": "active"}));
    // www. is dropped unless kept (keep_www, sent as the vendor types it).
    for (keep, want) in [(None, "www-drop.com"), (Some("true"), "www.www-keep.com")] {
        let name = if keep.is_some() {
            "www.www-keep.com"
        } else {
            "www.www-drop.com"
        };
        let mut body = json!({"name": name, "organization": {"id": org},
                              "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"});
        if let Some(k) = keep {
            body["keep_www"] = json!(k);
        }
        let (s, d) = ts.post("/services/v2/domain", body).await;
        assert_eq!(s, StatusCode::CREATED, "{d}");
        let (_, info) = ts.get(&format!("/services/v2/domain/{}", d["id"])).await;
        assert_eq!(info["name"], want, "{info}");
    }
    // An email domain is never checked here, validated or not.
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "mail-check.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "email"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let email_check = format!("/services/v2/domain/{}/dcv/validate-token", d["id"]);
    for validated in [false, true] {
        if validated {
            let (s, _) = ts
                .send(
                    reqwest::Method::PUT,
                    &format!("/operator/v1/domain/{}/validate", d["id"]),
                    Some(&ts.operator_key),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT);
        }
        let (s, e) = ts.put(&email_check, json!({})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::BAD_REQUEST, "invalid_dcv_method"),
            "validated: {validated}"
        );
    }

    // An order under a new domain: absent → 400 → published → issued by
    // the poller and sweeper without any client call.
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["app.txt-poll.com", "txt-poll.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let order_id = v["id"].as_i64().unwrap();
    let rv = v["dcv_random_value"].as_str().unwrap().to_string();
    assert_eq!(v["domains"][0]["name"], "txt-poll.com");
    let (s, e) = ts
        .put(&format!("{ORDER}/{order_id}/check-dcv"), json!({}))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_dns_txt"));
    // a new order-level random value replaces the old one
    let (s, nv) = ts
        .put(&format!("{ORDER}/{order_id}/dcv-random-value"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{nv}");
    let rv2 = nv["dcv_random_value"].as_str().unwrap().to_string();
    assert_ne!(rv2, rv);
    // A second order under the same pending domain gets its current value.
    let (s, v2) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["www.txt-poll.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["dcv_random_value"], rv2.as_str(), "{v2}");
    assert_eq!(v2["domains"][0]["name"], "txt-poll.com");
    dns.set_txt("txt-poll.com", &[&rv]);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, info) = ts.get(&format!("{ORDER}/{order_id}")).await;
    assert_eq!(
        info["status"], "pending",
        "the replaced value no longer counts"
    );
    // published at the _dnsauth label this time
    dns.set_txt("_dnsauth.txt-poll.com", &[&rv2]);
    let info = wait_status(&ts, order_id, "issued").await;
    assert_eq!(
        info["certificate"]["dns_names"],
        json!(["app.txt-poll.com", "txt-poll.com"])
    );
    wait_status(&ts, v2["id"].as_i64().unwrap(), "issued").await;

    // A new random value, the method switch, and methods without one.
    let (s, t) = ts
        .post(&format!("/services/v2/domain/{id}/dcv/token"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_ne!(t["token"], token);
    let (s, m) = ts
        .put(
            &format!("/services/v2/domain/{id}/dcv/method"),
            json!({"dcv_method": "dns-cname-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["dcv_token"]["verification_value"], CNAME_DOMAIN);
    let (s, e) = ts
        .put(
            &format!("/services/v2/domain/{id}/dcv/method"),
            json!({"dcv_method": "carrier-pigeon"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dcv_method")
    );
    let (s, _) = ts
        .put(
            &format!("/services/v2/domain/{id}/dcv/method"),
            json!({"dcv_method": "email", "send_dcv_email_flag": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = ts
        .post(&format!("/services/v2/domain/{id}/dcv/token"), json!({}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dcv_method")
    );

    // Deactivate, activate, delete.
    for (verb, want) in [("deactivate", false), ("activate", true)] {
        let (s, _) = ts
            .put(&format!("/services/v2/domain/{id}/{verb}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, info) = ts.get(&format!("/services/v2/domain/{id}")).await;
        assert_eq!(info["is_active"], want);
    }
    let (s, _) = ts
        .send(
            reqwest::Method::DELETE,
            &format!("/services/v2/domain/{id}"),
            Some(&ts.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = ts.get(&format!("/services/v2/domain/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_token_order_is_issued_by_the_poller() {
    let dns = DnsServer::start().await;
    let (port, _) = http_server().await;
    let ts = TestServer::start_with(dcv_config(&dns, port)).await;
    let org = ov_org(&ts).await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(
                org,
                &["cname-check.net", "www.cname-check.net"],
                "dns-cname-token",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none(), "{v}");
    let rv = v["dcv_random_value"].as_str().unwrap().to_string();
    assert_eq!(v["domains"][0]["name"], "cname-check.net");
    assert_eq!(v["domains"][0]["dcv_token"]["token"], rv.as_str());
    assert_eq!(
        v["domains"][0]["dcv_token"]["verification_value"],
        CNAME_DOMAIN
    );

    let (s, e) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dns_txt"),
        "{e}"
    );
    let (_, val) = ts.get(&format!("{ORDER}/{id}/validation")).await;
    assert_eq!(val["dns_name_validations"][0]["status"], "pending", "{val}");
    assert_eq!(
        val["dns_name_validations"][0]["dns_names"],
        json!(["cname-check.net", "www.cname-check.net"])
    );
    assert_eq!(val["dns_name_validations"][0]["method"], "dns-cname-token");
    assert_eq!(val["organization_validations"][0]["status"], "active");

    // A subset of the names may be checked; names not on the order are 400.
    let (s, e) = ts
        .put(
            &format!("{ORDER}/{id}/check-dcv"),
            json!({"dns_names_validations": ["other.example.com"]}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dns_name"),
        "{e}"
    );
    // A wrong target is not enough; the right one is found by the poller.
    dns.set_cname("_dnsauth.cname-check.net", &format!("{rv}.evil.example"));
    let (s, e) = ts
        .put(
            &format!("{ORDER}/{id}/check-dcv"),
            json!({"dns_names_validations": ["WWW.cname-check.net."]}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dns_txt"),
        "{e}"
    );
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("_dnsauth.cname-check.net"));
    dns.set_cname("_dnsauth.cname-check.net", &format!("{rv}.{CNAME_DOMAIN}"));
    let info = wait_status(&ts, id, "issued").await;
    let pem = info["certificate"]["dns_names"].clone();
    assert_eq!(pem, json!(["cname-check.net", "www.cname-check.net"]));
    let (_, val) = ts.get(&format!("{ORDER}/{id}/validation")).await;
    assert_eq!(val["dns_name_validations"][0]["status"], "approved");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_token_covers_the_exact_name_and_follows_no_foreign_redirects() {
    let dns = DnsServer::start().await;
    let (port, files) = http_server().await;
    let ts = TestServer::start_with(dcv_config(&dns, port)).await;
    let org = ov_org(&ts).await;
    dns.set_a("www.http-check.org", Ipv4Addr::LOCALHOST);
    dns.set_a("elsewhere.example.net", Ipv4Addr::LOCALHOST);
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["www.http-check.org"], "http-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let rv = v["dcv_random_value"].as_str().unwrap().to_string();
    assert_eq!(v["domains"][0]["name"], "www.http-check.org", "exact FQDN");
    assert_eq!(
        v["domains"][0]["dcv_token"]["http_token_url"],
        format!("http://www.http-check.org:{port}/.well-known/pki-validation/fileauth.txt")
    );
    let check_path = format!("{ORDER}/{id}/check-dcv");
    let check = || ts.put(&check_path, json!({}));
    // no file (404), a file without the value, a redirect to another host,
    // a file too large, a port where nothing listens: one answer for all
    // (certwell is no port scanner).
    let (s, e) = check().await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "file_random_value_not_found"),
        "{e}"
    );
    let not_served = e["errors"][0]["message"].as_str().unwrap().to_string();
    assert_eq!(
        not_served,
        format!("Could not find the random value at the expected file location for www.http-check.org: http://www.http-check.org:{port}/.well-known/pki-validation/fileauth.txt did not serve it.")
    );
    files
        .lock()
        .unwrap()
        .insert("www.http-check.org".into(), "not-the-value\n".into());
    let (s, e) = check().await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "file_random_value_not_found")
    );
    files.lock().unwrap().insert(
        "www.http-check.org".into(),
        format!(
            "redirect:http://elsewhere.example.net:{port}/.well-known/pki-validation/fileauth.txt"
        ),
    );
    files
        .lock()
        .unwrap()
        .insert("elsewhere.example.net".into(), rv.clone());
    let (s, e) = check().await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "file_random_value_not_found"),
        "{e}"
    );
    // a file far larger than a random value is refused
    files.lock().unwrap().insert(
        "www.http-check.org".into(),
        format!("{rv}\n{}", "x".repeat(20_000)),
    );
    let (s, e) = check().await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "file_random_value_not_found")
    );
    assert_eq!(e["errors"][0]["message"], not_served.as_str());
    dns.set_a("www.http-check.org", Ipv4Addr::new(127, 0, 0, 2));
    let (s, e) = check().await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        e["errors"][0]["message"],
        not_served.as_str(),
        "a closed port reads as a missing file"
    );
    dns.set_a("www.http-check.org", Ipv4Addr::LOCALHOST);

    files
        .lock()
        .unwrap()
        .insert("www.http-check.org".into(), format!("{rv}\r\n"));
    let (s, v) = check().await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["order_status"], "issued", "{v}");
    assert_eq!(v["dcv_status"], "valid");
    assert_eq!(
        v["dns_name_validations"],
        json!([{"dns_name": "www.http-check.org", "status": "approved"}])
    );
    assert!(v["certificate_id"].as_i64().is_some());
    let (_, val) = ts.get(&format!("{ORDER}/{id}/validation")).await;
    assert_eq!(val["dns_name_validations"][0]["approval_scope"], "fqdn");

    // The validated FQDN does not cover a subdomain: a new order for one
    // gets its own domain; a redirect on the same host and port is
    // followed, and the poller issues the order by itself.
    dns.set_a("api.www.http-check.org", Ipv4Addr::LOCALHOST);
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["api.www.http-check.org"], "http-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["domains"][0]["name"], "api.www.http-check.org");
    assert!(v.get("certificate_chain").is_none());
    let id2 = v["id"].as_i64().unwrap();
    let rv2 = v["dcv_random_value"].as_str().unwrap().to_string();
    files.lock().unwrap().insert(
        "api.www.http-check.org".into(),
        format!("redirect:http://api.www.http-check.org:{port}/.well-known/pki-validation/fileauth.txt?x=1"),
    );
    let (s, e) = ts.put(&format!("{ORDER}/{id2}/check-dcv"), json!({})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "file_random_value_not_found"),
        "a redirect loop: {e}"
    );
    files.lock().unwrap().insert(
        "api.www.http-check.org".into(),
        format!("redirect:http://api.www.http-check.org:{port}/.well-known/pki-validation/fileauth.txt?final"),
    );
    files
        .lock()
        .unwrap()
        .insert("final:api.www.http-check.org".into(), rv2.clone());
    wait_status(&ts, id2, "issued").await;

    // A wildcard cannot be validated by an HTTP file: refused up front.
    let mut body = seed_order("ssl_wildcard", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["certificate"]["common_name"] = json!("*.http-wild.org");
    body["certificate"]["dns_names"] = json!([]);
    body["validity_years"] = json!(1);
    body["dcv_method"] = json!("http-token");
    let (s, e) = ts.post(&format!("{ORDER}/ssl_wildcard"), body).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dcv_method"),
        "{e}"
    );
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caa_records_block_issuance_until_they_allow_it() {
    let dns = DnsServer::start().await;
    let (port, _) = http_server().await;
    let ts = TestServer::start_with(dcv_config(&dns, port)).await;
    let org = ov_org(&ts).await;
    // Validate the domains through TXT first.
    for name in ["caa-block.com", "wild-caa.com"] {
        let (s, d) = ts
            .post(
                "/services/v2/domain",
                json!({"name": name, "organization": {"id": org},
                       "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{d}");
        dns.set_txt(name, &[d["dcv_token"]["token"].as_str().unwrap()]);
        let (s, v) = ts
            .put(
                &format!("/services/v2/domain/{}/dcv/validate-token", d["id"]),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // CAA at the parent of the name applies (tree climbing).
    dns.set_caa(
        "caa-block.com",
        &[
            (0, "issue", "other-ca.example"),
            (0, "iodef", "mailto:x@caa-block.com"),
        ],
    );
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["shop.caa-block.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none(), "not issued: {v}");
    let (s, e) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(code(&e), "caa_check_failed|shop.caa-block.com");
    let (_, info) = ts
        .get(&format!("{ORDER}/{id}?include_caa_status=true"))
        .await;
    assert_eq!(info["status"], "pending");
    assert!(info["caa_status_message"]["shop.caa-block.com"]
        .as_str()
        .unwrap()
        .contains("do not allow"));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(
        info["status"], "pending",
        "the sweeper does not issue either"
    );

    // An unknown critical property forbids too; then a record naming us allows.
    dns.set_caa("caa-block.com", &[(128, "future", "x")]);
    let (s, e) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(
        (s, code(&e)),
        (
            StatusCode::BAD_REQUEST,
            "caa_check_failed|shop.caa-block.com"
        )
    );
    dns.set_caa(
        "caa-block.com",
        &[(0, "issue", "certwell-test.com; account=42")],
    );
    let (s, v) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["order_status"], "issued");

    // issuewild governs wildcard names.
    dns.set_caa(
        "wild-caa.com",
        &[(0, "issue", "certwell-test.com"), (0, "issuewild", ";")],
    );
    let mut body = seed_order("ssl_wildcard", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["certificate"]["common_name"] = json!("*.wild-caa.com");
    body["certificate"]["dns_names"] = json!([]);
    body["validity_years"] = json!(1);
    let (s, v) = ts
        .post(&format!("{ORDER}/ssl_wildcard"), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("certificate_chain").is_none(), "{v}");
    let wildcard_id = v["id"].as_i64().unwrap();
    let (s, e) = ts
        .put(&format!("{ORDER}/{}/check-dcv", v["id"]), json!({}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "caa_check_failed|wild-caa.com")
    );
    // while a plain name under the same record set is allowed
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["wild-caa.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(v["certificate_chain"].is_array(), "issued at once: {v}");

    // The held wildcard order: once CAA allows it, a change to the
    // account's organizations or domains (seen by every instance through
    // the change feed) ends the one-minute hold, and the sweeper issues it.
    dns.set_caa(
        "wild-caa.com",
        &[
            (0, "issue", "certwell-test.com"),
            (0, "issuewild", "certwell-test.com"),
        ],
    );
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "unrelated.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let info = wait_status(&ts, wildcard_id, "issued").await;
    assert_eq!(info["status"], "issued");

    // CAA fails closed: a SERVFAIL anywhere on the way up holds issuance
    // (it is not read as "no records"), until the lookup answers again.
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "servfail-caa.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    dns.set_txt(
        "servfail-caa.com",
        &[d["dcv_token"]["token"].as_str().unwrap()],
    );
    let (s, v) = ts
        .put(
            &format!("/services/v2/domain/{}/dcv/validate-token", d["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    dns.set_servfail("servfail-caa.com");
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["shop.servfail-caa.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("certificate_chain").is_none(), "held: {v}");
    let held = v["id"].as_i64().unwrap();
    let (s, e) = ts
        .put(&format!("{ORDER}/{held}/check-dcv"), json!({}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (
            StatusCode::BAD_REQUEST,
            "caa_check_failed|shop.servfail-caa.com"
        ),
        "{e}"
    );
    dns.clear("servfail-caa.com");
    let (s, v) = ts
        .put(&format!("{ORDER}/{held}/check-dcv"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["order_status"], "issued");
    ts.stop().await;
}

/// `dcv_method` is parsed by one rule everywhere: `POST /domain` takes
/// any letter case, as orders and `PUT …/dcv/method` do, and stores the
/// vendor's spelling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcv_method_in_any_case_on_a_new_domain() {
    let dns = DnsServer::start().await;
    let (port, _) = http_server().await;
    let ts = TestServer::start_with(dcv_config(&dns, port)).await;
    let org = ov_org(&ts).await;
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "case-check.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": " DNS-TXT-TOKEN "}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["dcv_token"]["token"].as_str().unwrap().len(), 32, "{d}");
    let (_, info) = ts.get(&format!("/services/v2/domain/{}", d["id"])).await;
    assert_eq!(info["dcv_method"], "dns-txt-token", "{info}");
    let (s, e) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "case-check2.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "carrier-pigeon"}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_dcv_method")
    );
}

/// With the DCV poller and the sweeper's timer out of the way (an hour
/// each), validating a domain by its token issues the order it unblocks
/// at once, as the docs promise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_token_issues_the_waiting_order_at_once() {
    let dns = DnsServer::start().await;
    let (port, _) = http_server().await;
    let mut cfg = dcv_config(&dns, port);
    cfg.dcv.poll_interval_seconds = 3600;
    cfg.dcv.poll_base_seconds = 3600;
    cfg.dcv.poll_max_seconds = 3600;
    cfg.issuance_poll_seconds = 3600;
    let ts = TestServer::start_with(cfg).await;
    let org = ov_org(&ts).await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            tls_order(org, &["now-txt.com"], "dns-txt-token"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let order_id = v["id"].as_i64().unwrap();
    let rv = v["dcv_random_value"].as_str().unwrap().to_string();
    let domain_id = v["domains"][0]["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{order_id}")).await;
    assert_eq!(info["status"], "pending", "{info}");
    dns.set_txt("now-txt.com", &[&rv]);
    let (s, r) = ts
        .put(
            &format!("/services/v2/domain/{domain_id}/dcv/validate-token"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    wait_status(&ts, order_id, "issued").await;
    ts.stop().await;
}

/// By default an http-token check never connects to an internal address
/// (loopback, private, link-local with the metadata address, CGNAT): the
/// file is served on loopback with the right value, and the check still
/// fails, with the same message as any other failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_token_checks_do_not_reach_internal_addresses() {
    let dns = DnsServer::start().await;
    let (port, files) = http_server().await;
    let mut cfg = dcv_config(&dns, port);
    cfg.dcv.allow_private_addresses = false;
    let ts = TestServer::start_with(cfg).await;
    let org = ov_org(&ts).await;
    let mut messages = Vec::new();
    for (name, ip) in [
        ("loop.internal-check.org", Ipv4Addr::LOCALHOST),
        ("meta.internal-check.org", Ipv4Addr::new(169, 254, 169, 254)),
        ("lan.internal-check.org", Ipv4Addr::new(10, 0, 0, 1)),
        ("cgnat.internal-check.org", Ipv4Addr::new(100, 64, 0, 1)),
    ] {
        dns.set_a(name, ip);
        let (s, v) = ts
            .post(
                &format!("{ORDER}/ssl_plus"),
                tls_order(org, &[name], "http-token"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let rv = v["dcv_random_value"].as_str().unwrap().to_string();
        files.lock().unwrap().insert(name.into(), rv);
        let (s, e) = ts
            .put(&format!("{ORDER}/{}/check-dcv", v["id"]), json!({}))
            .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::BAD_REQUEST, "file_random_value_not_found"),
            "{name}: {e}"
        );
        let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
        assert_eq!(info["status"], "pending", "{name}");
        messages.push(
            e["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(name, "NAME"),
        );
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
    ts.stop().await;
}
