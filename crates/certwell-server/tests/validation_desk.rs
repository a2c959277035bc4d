//! The organization validation desk (operator decisions with notes and
//! verified contacts, an audit trail, waiting orders moving on) and the
//! sandbox's `--validation-delay`.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

async fn op(
    ts: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    ts.send(method, path, Some(&ts.operator_key), body).await
}

#[tokio::test]
async fn the_desk_decides_pending_organization_validations() {
    let ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    // The customer submits OV and EV (EV with a verified user).
    let (s, v) = ts
        .post(
            &format!("/services/v2/organization/{org}/validation"),
            json!({"validations": [{"type": "ov"}, {"type": "ev", "verified_users": [
                {"first_name": "Eve", "last_name": "Approver", "email": "eve@example.com"}]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // The validated domain alone does not issue: the order waits for OV.
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "example.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (s, _) = op(
        &ts,
        Method::PUT,
        &format!("/operator/v1/domain/{}/validate", d["id"]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let order_id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none());

    // The desk's queue, oldest first, with the submitted verified users.
    let (s, q) = op(&ts, Method::GET, "/operator/v1/validations", None).await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let list = q["validations"].as_array().unwrap();
    let kinds: Vec<&str> = list.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["ev", "ov"], "{q}");
    assert_eq!(list[0]["organization_id"], org);
    assert_eq!(list[0]["verified_users"][0]["email"], "eve@example.com");
    // Customer keys cannot use the desk.
    let (s, _) = ts.get("/operator/v1/validations").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Bad decisions are 400 and change nothing.
    let decide = |kind: &str| format!("/operator/v1/organization/{org}/validation/{kind}");
    for (body, code) in [
        (json!({"decision": "approve"}), "missing_required_field"),
        (json!({"decision": "perhaps", "note": "x"}), "invalid_value"),
        (
            json!({"decision": "reject", "note": "x"}),
            "invalid_validation_type",
        ),
    ] {
        let path = if code == "invalid_validation_type" {
            decide("ds")
        } else {
            decide("ov")
        };
        let (s, e) = op(&ts, Method::PUT, &path, Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["errors"][0]["code"], code, "{e}");
    }
    let (s, _) = op(
        &ts,
        Method::PUT,
        "/operator/v1/organization/99999/validation/ov",
        Some(json!({"decision": "approve", "note": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // EV is rejected, OV approved: the order moves on by itself.
    let (s, e) = op(
        &ts,
        Method::PUT,
        &decide("ev"),
        Some(json!({"decision": "reject", "note": "The registry lists no such company."})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = op(
        &ts,
        Method::PUT,
        &decide("ov"),
        Some(
            json!({"decision": "approve", "note": "Registry and address checked.",
                    "verified_contacts": [{"first_name": "Gia", "last_name": "Booth",
                                           "email": "gia@example.com"}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    wait_status(&ts, order_id, "issued").await;
    let (_, vals) = ts
        .get(&format!("/services/v2/organization/{org}/validation"))
        .await;
    let by_type = |t: &str| -> Value {
        vals["validations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["type"] == t)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_type("ov")["status"], "active", "{vals}");
    assert_eq!(by_type("ev")["status"], "rejected", "{vals}");
    let (_, q) = op(&ts, Method::GET, "/operator/v1/validations", None).await;
    assert_eq!(q["validations"], json!([]));

    // EV approval needs verified contacts when the submission had none.
    let (s, _) = ts
        .post(
            &format!("/services/v2/organization/{org}/validation"),
            json!({"validations": [{"type": "ev_cs", "verified_users": [{"id": 1}]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = op(
        &ts,
        Method::PUT,
        &decide("cs"),
        Some(json!({"decision": "approve", "note": "ok"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("verified_contacts"));
    let (s, _) = op(
        &ts,
        Method::PUT,
        &decide("ev_cs"),
        Some(json!({"decision": "approve", "note": "verified by phone"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "submitted users suffice");

    // The audit trail, newest first, with notes and contacts.
    let (s, a) = op(
        &ts,
        Method::GET,
        &format!("/operator/v1/validations/audit?organization_id={org}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let entries = a["audit"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["decision"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ev_cs", "approved"),
            ("ov", "approved"),
            ("ev", "rejected")
        ]
    );
    assert_eq!(entries[2]["note"], "The registry lists no such company.");
    assert_eq!(
        entries[1]["verified_contacts"][0]["email"],
        "gia@example.com"
    );
    assert!(entries[1]["operator_key_id"].as_i64().is_some());
    ts.stop().await;
}

#[tokio::test]
async fn sandbox_validation_delay_keeps_orders_pending_first() {
    let mut cfg = config(true);
    cfg.validation_delay_seconds = 2;
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    let started = std::time::Instant::now();
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("certificate_chain").is_none(), "not at once: {v}");
    let id = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "pending");
    wait_status(&ts, id, "issued").await;
    // created_at has whole seconds, so a 2 s delay lasts at least 1 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "issued only after the delay"
    );
    // The delay is a sandbox setting only.
    let mut bad = config(false);
    bad.validation_delay_seconds = 5;
    let dir = tempfile::tempdir().unwrap();
    let err = certwell_server::open(&certwell_server::DataDir::new(dir.path()), bad)
        .await
        .err()
        .expect("refused");
    assert!(err.contains("validation_delay_seconds"), "{err}");
    ts.stop().await;
}
