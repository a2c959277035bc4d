//! `GET /metrics`: the OpenMetrics text of a real server after real
//! requests, orders, signatures and OCSP answers; route patterns, not
//! paths; rate-limit refusals; a separate metrics address; and a
//! background job that panics being counted and restarted.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use certwell_ca::{KeyAlgorithm, OcspCertId, OcspHash};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn metrics_text(ts: &TestServer, base: &str) -> (StatusCode, String, String) {
    let r = ts
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// The value of the sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_orders_signatures_and_ocsp() {
    let mut cfg = config(true);
    cfg.rate_limit_per_5s = 3;
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let leaf = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    let ica = pem_to_der(v["certificate_chain"][1]["pem"].as_str().unwrap());
    let serial = hex::decode(certwell_ca::certificate_summary(&leaf).unwrap().serial_hex).unwrap();
    let id = OcspCertId::new(&ica, OcspHash::Sha256, &serial).unwrap();
    let req = certwell_ca::build_ocsp_request(std::slice::from_ref(&id));
    for _ in 0..2 {
        let r = ts
            .client
            .post(ts.url("/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(req.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ts
        .client
        .post(ts.url("/ocsp"))
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "an OCSP error is a 200 body");
    let (s, _) = ts.get("/services/v2/no/such/path/12345").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The per-key limit (3 per 5 s) refuses the next requests.
    let mut refused = 0;
    for _ in 0..4 {
        if ts.get("/services/v2/product").await.0 == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused > 0);

    // No key needed; OpenMetrics text.
    let (s, ct, text) = metrics_text(&ts, &ts.base).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let ca = v["certificate"]["ca_cert"]["id"]
        .as_str()
        .map(str::to_string);
    let _ = ca;
    for (series, want) in [
        (
            r#"certwell_http_requests_total{method="POST",route="/services/v2/order/certificate/{id}",status="201"}"#,
            1.0,
        ),
        (
            r#"certwell_http_request_duration_seconds_count{method="POST",route="/services/v2/order/certificate/{id}"}"#,
            1.0,
        ),
        (
            r#"certwell_http_requests_total{method="other",route="unmatched",status="404"}"#,
            1.0,
        ),
        (
            r#"certwell_certificates_issued_total{product="ssl_plus"}"#,
            1.0,
        ),
        (r#"certwell_ocsp_responses_total{status="good"}"#, 2.0),
        (
            r#"certwell_ocsp_responses_total{status="malformed_request"}"#,
            1.0,
        ),
        ("certwell_rate_limited_total", refused as f64),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
    // The one leaf signature, by its CA and key type, and the order's
    // database write.
    let signed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("certwell_signatures_total{"))
        .collect();
    assert_eq!(signed.len(), 1, "{text}");
    // (the issuing CA's key type: ssl_plus defaults to the RSA CA)
    assert!(
        signed[0].contains("key_type=\"rsa-3072\"") && signed[0].ends_with(" 1"),
        "{}",
        signed[0]
    );
    assert!(
        sample(
            &text,
            r#"certwell_db_write_duration_seconds_count{op="create_order"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("certwell_job_runs_total{job=\"publisher\"}"),
        "{text}"
    );
    // Paths are never labels.
    assert!(!text.contains("12345"), "{text}");
    ts.stop().await;
}

#[tokio::test]
async fn metrics_can_have_their_own_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(true);
    cfg.metrics_listen = format!("127.0.0.1:{port}");
    let ts = TestServer::start_with(cfg).await;
    let (s, _, _) = metrics_text(&ts, &ts.base).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not on the API listener");
    let (s, _, text) = metrics_text(&ts, &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.contains("# TYPE certwell_http_requests counter"),
        "{text}"
    );
    ts.stop().await;
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Panics on its first run; then runs until shutdown.
fn flaky_job(
    _state: Arc<certwell_server::state::AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> certwell_server::BoxFuture {
    Box::pin(async move {
        if RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the first run fails");
        }
        let _ = shutdown.wait_for(|v| *v).await;
    })
}

#[tokio::test]
async fn a_job_that_panics_is_counted_and_restarted() {
    let ts = TestServer::start(true).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let job = certwell_server::supervise(state.clone(), rx, "flaky", flaky_job);
    let mut text = String::new();
    for _ in 0..50 {
        text = metrics_text(&ts, &ts.base).await.2;
        if sample(&text, r#"certwell_job_restarts_total{job="flaky"}"#) == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(&text, r#"certwell_job_failures_total{job="flaky"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"certwell_job_restarts_total{job="flaky"}"#),
        Some(1.0),
        "{text}"
    );
    // Running again: ready.
    let r: Value = ts
        .client
        .get(ts.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["checks"]["jobs"]["flaky"], "ok", "{r}");
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
    tx.send(true).unwrap();
    job.await.unwrap();
    ts.stop().await;
}
