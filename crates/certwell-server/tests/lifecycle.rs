//! After issuance: the expiring-orders report, the intermediates list,
//! CRL publication and the OCSP responder.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const ORDER: &str = "/services/v2/order/certificate";

#[tokio::test]
async fn expiring_report_counts_orders_by_days_left() {
    let mut cfg = config(true);
    cfg.tls_max_validity_days = Some(20);
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    for _ in 0..2 {
        let (s, v) = ts
            .post(
                &format!("{ORDER}/ssl_plus"),
                seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // An S/MIME order of 45 days, one of 80 days, and one of a year.
    for days in [45, 80, 365] {
        let (s, v) = ts
            .post(
                &format!("{ORDER}/secure_email_mailbox"),
                json!({"certificate": {"emails": ["a@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
                    "usage_designation": {"primary_usage": "signing"}},
                    "skip_approval": true, "order_validity": {"days": days}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, me) = ts.get("/services/v2/user/me").await;
    let container = me["container"]["id"].as_i64().unwrap();
    let (s, v) = ts
        .get(&format!("/services/v2/report/order/{container}/expiring"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"expiring_orders": [
            {"days_expiring": 30, "order_count": 2},
            {"days_expiring": 60, "order_count": 1},
            {"days_expiring": 90, "order_count": 1}
        ]})
    );
    let (s, v) = ts.get("/services/v2/report/order/999999/expiring").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    ts.stop().await;
}
