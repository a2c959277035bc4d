//! Several certwell instances on one PostgreSQL database, as behind a load
//! balancer, and the database going away under a running instance. These
//! run on PostgreSQL whatever `CERTWELL_TEST_DATABASE` says (a shared
//! database is what they are about); without PostgreSQL they fail and say
//! how to get it.

mod common;

use std::time::{Duration, Instant};

use certwell_ca::{KeyAlgorithm, OcspCertId, OcspHash};
use certwell_server::config::DatabaseUrl;
use certwell_store::testing::TestPostgres;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

/// A sandbox server on a fresh database of `pg`, and its config.
async fn server_on(pg: &TestPostgres) -> (TestServer, certwell_server::Config) {
    let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = config(true);
    cfg.database_url = Some(DatabaseUrl(url));
    (TestServer::start_with(cfg.clone()).await, cfg)
}

async fn issue(ts: &TestServer) -> Value {
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// `Cert Status` of a DER OCSP response, as `openssl ocsp` reads it
/// (signature checked against the issuing CA).
fn ocsp_status(dir: &std::path::Path, resp: &[u8], ica_pem: &str) -> String {
    let name = format!("r{}.der", rand_suffix());
    std::fs::write(dir.join(&name), resp).unwrap();
    std::fs::write(dir.join("ica.pem"), ica_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-resp_text", "-respin"])
        .arg(dir.join(&name))
        .arg("-CAfile")
        .arg(dir.join("ica.pem"))
        .arg("-partial_chain")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Response verify OK"), "{text}");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Cert Status: "))
        .unwrap_or_else(|| panic!("no status: {text}"))
        .to_string()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn fetch(ts: &TestServer, method: reqwest::Method, path: &str, body: Vec<u8>) -> Vec<u8> {
    let resp = ts
        .client
        .request(method, ts.url(path))
        .header("content-type", "application/ocsp-request")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.bytes().await.unwrap().to_vec()
}

/// A certificate revoked through one instance is answered "revoked" by
/// every other instance's OCSP responder within a second (its cached
/// "good" answer is re-signed), and every instance serves one and the same
/// CRL listing it: made once, by one instance, for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_instance_reaches_every_instance() {
    let pg = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let (a, cfg) = server_on(&pg).await;
    let b = a.another_instance(cfg).await;
    let v = issue(&a).await;
    let leaf = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    let ica_pem = v["certificate_chain"][1]["pem"]
        .as_str()
        .unwrap()
        .to_string();
    let serial_hex = certwell_ca::certificate_summary(&leaf).unwrap().serial_hex;
    let serial = hex::decode(&serial_hex).unwrap();
    let id = OcspCertId::new(&pem_to_der(&ica_pem), OcspHash::Sha256, &serial).unwrap();
    let req = certwell_ca::build_ocsp_request(std::slice::from_ref(&id));
    let dir = a.dir.path();
    for ts in [&a, &b] {
        let resp = fetch(ts, reqwest::Method::POST, "/ocsp", req.clone()).await;
        assert_eq!(ocsp_status(dir, &resp, &ica_pem), "good");
    }
    // b's answer is cached now, so only the revocation can change it.
    let (s, p) = b.get("/services/v2/product/ssl_plus").await;
    assert_eq!(s, StatusCode::OK);
    let ica_id = p["allowed_ca_certs"][0]["id"].as_str().unwrap().to_string();
    let crl_before = fetch(
        &b,
        reqwest::Method::GET,
        &format!("/ca/{ica_id}.crl"),
        vec![],
    )
    .await;

    let (s, e) = a
        .put(
            &format!("/services/v2/certificate/{}/revoke", v["certificate_id"]),
            json!({"skip_approval": true, "revocation_reason": "superseded"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let revoked_at = Instant::now();
    let status = loop {
        let resp = fetch(&b, reqwest::Method::POST, "/ocsp", req.clone()).await;
        let status = ocsp_status(dir, &resp, &ica_pem);
        if status == "revoked" || revoked_at.elapsed() > Duration::from_secs(1) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status, "revoked",
        "instance b still answered good after 1 s"
    );

    // One CRL for both, listing the serial (b may ask while a makes it).
    let path = format!("/ca/{ica_id}.crl");
    let (from_a, from_b) = tokio::join!(
        fetch(&a, reqwest::Method::GET, &path, vec![]),
        fetch(&b, reqwest::Method::GET, &path, vec![])
    );
    assert_eq!(from_a, from_b, "every instance serves the one CRL");
    assert_ne!(from_a, crl_before, "a new CRL after the revocation");
    std::fs::write(dir.join("shared.crl"), &from_a).unwrap();
    let text = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(dir.join("shared.crl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_uppercase();
    assert!(
        text.contains(serial_hex.trim_start_matches("00")),
        "{serial_hex} not in {text}"
    );
    // The stored CRL is the one both serve, numbered once.
    let state = &a.server.as_ref().unwrap().state;
    let (meta, der) = state.store.stored_crl(&ica_id).await.unwrap().unwrap();
    assert_eq!(der, from_a);
    assert_eq!(meta.revocations, 1);
    b.stop().await;
    a.stop().await;
}

/// A key revoked through one instance is refused by every other instance
/// within a second, even one that had it cached as valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_api_key_is_refused_by_every_instance() {
    let pg = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let (a, cfg) = server_on(&pg).await;
    let b = a.another_instance(cfg).await;
    let (s, made) = a
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts/1/api-keys",
            Some(&a.operator_key),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let key = made["api_key"].as_str().unwrap().to_string();
    async fn me(ts: &TestServer, key: &str) -> StatusCode {
        ts.get_as(key, "/services/v2/user/me").await.0
    }
    // Both instances know (and b caches) the key.
    assert_eq!(me(&a, &key).await, StatusCode::OK);
    assert_eq!(me(&b, &key).await, StatusCode::OK);

    let path = format!("/operator/v1/api-keys/{}", made["key_id"]);
    let (s, v) = a
        .send(reqwest::Method::DELETE, &path, Some(&a.operator_key), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let revoked_at = Instant::now();
    let status = loop {
        let s = me(&b, &key).await;
        if s != StatusCode::OK || revoked_at.elapsed() > Duration::from_secs(1) {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "instance b still took the key after 1 s"
    );
    assert_eq!(me(&a, &key).await, StatusCode::FORBIDDEN);
    // Again: still 204; an unknown key: 404; not for a customer's key.
    let (s, _) = b
        .send(reqwest::Method::DELETE, &path, Some(&a.operator_key), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = b
        .send(
            reqwest::Method::DELETE,
            "/operator/v1/api-keys/999",
            Some(&a.operator_key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = b
        .send(reqwest::Method::DELETE, &path, Some(&a.key), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    b.stop().await;
    a.stop().await;
}

/// The database going away under a running instance: requests are
/// answered 503 `service_unavailable` (never a 500 or a hang), and once
/// the database is back the same instance serves again and nothing
/// acknowledged before was lost (the orders survive a crash of the
/// database itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_503_and_recovered_from() {
    // A cluster of its own: this test stops it.
    let pg = TestPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    // The test cluster runs with synchronous_commit off; a 201 must
    // survive a crash of the database all the same.
    let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = config(true);
    cfg.database_url = Some(DatabaseUrl(url));
    cfg.durability = certwell_store::Durability::Full;
    let ts = TestServer::start_with(cfg).await;
    let v = issue(&ts).await;
    let order_path = format!("/services/v2/order/certificate/{}", v["id"]);
    let (s, before) = ts.get(&order_path).await;
    assert_eq!(s, StatusCode::OK, "{before}");

    let ready = |ts: &TestServer| {
        let url = ts.url("/readyz");
        let client = ts.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, r) = ready(&ts).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["checks"]["database"], "ok");

    pg.crash().unwrap_or_else(|e| panic!("{e}"));
    // Not ready while the database is away (answered within seconds).
    let asked = Instant::now();
    let (s, r) = ready(&ts).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{r}");
    assert_eq!(r["status"], "not_ready");
    assert_eq!(r["checks"]["database"], "unavailable");
    assert_eq!(r["checks"]["issuing_keys"], "ok");
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "{:?}",
        asked.elapsed()
    );
    // A fresh key is not in the key cache: the request needs the database.
    let (s, e) = ts
        .send(reqwest::Method::GET, &order_path, Some("0000"), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(e["errors"][0]["code"], "service_unavailable", "{e}");
    let (s, e) = ts.get(&order_path).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    let (s, e) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", 1, &csr(KeyAlgorithm::EcdsaP256, "y")),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");

    pg.start_again().unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let (s, v) = ts.get(&order_path).await;
        if s == StatusCode::OK {
            break v;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(Instant::now() < deadline, "not back after 30 s: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(after, before, "the acknowledged order survived");
    let (s, r) = ready(&ts).await;
    assert_eq!(s, StatusCode::OK, "ready again: {r}");
    let v2 = issue(&ts).await;
    assert_ne!(v2["id"], v["id"]);
    ts.stop().await;
}
