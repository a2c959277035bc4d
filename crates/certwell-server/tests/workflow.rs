//! The approval workflows, validation gating and the background issuer.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn no_skip(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("skip_approval");
    body
}

#[tokio::test]
async fn one_step_waits_for_approval_then_issues() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            no_skip(seed_order(
                "ssl_plus",
                org,
                &csr(KeyAlgorithm::EcdsaP256, "x"),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(keys(&v), ["id", "requests"], "201 (one-step): {v}");
    assert_eq!(v["requests"][0]["status"], "pending");
    let order_id = v["id"].as_i64().unwrap();
    let req_id = v["requests"][0]["id"].as_i64().unwrap();
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{order_id}"))
        .await;
    assert_eq!(info["status"], "needs_approval");
    assert_eq!(info["requests"][0]["type"], "new_request");
    assert_eq!(info["requests"][0]["comments"], "Message for the approver");

    let (s, list) = ts.get("/services/v2/request?status=pending").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["requests"][0]["id"], req_id);
    assert_eq!(list["requests"][0]["order"]["id"], order_id);
    assert_eq!(
        list["requests"][0]["order"]["product"]["name_id"],
        "ssl_plus"
    );

    // a standard user may not approve
    let user = ts.key_with_role("user").await;
    let (s, e) = ts
        .put_as(
            &user,
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["errors"][0]["code"], "access_denied|invalid_approver");

    let (s, body) = ts
        .put(
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "approved", "processor_comment": "ok"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null, "204 has an empty body");
    let info = wait_status(&ts, order_id, "issued").await;
    assert!(info["certificate"]["serial_number"].as_str().unwrap().len() >= 16);
    let (_, r) = ts.get(&format!("/services/v2/request/{req_id}")).await;
    assert_eq!(r["status"], "approved");
    assert_eq!(r["processor_comment"], "ok");
    assert_eq!(r["order"]["id"], order_id);

    // processed requests cannot be processed again
    let (s, e) = ts
        .put(
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], "invalid_status_transition");
    ts.stop().await;
}

#[tokio::test]
async fn rejection_rejects_the_order() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            no_skip(seed_order(
                "ssl_plus",
                org,
                &csr(KeyAlgorithm::EcdsaP256, "x"),
            )),
        )
        .await;
    let req_id = v["requests"][0]["id"].as_i64().unwrap();
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["status"], "rejected");
    ts.stop().await;
}

#[tokio::test]
async fn two_step_and_auto_approve() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    ts.set_workflow(1, "two_step").await;
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            no_skip(seed_order(
                "ssl_plus",
                org,
                &csr(KeyAlgorithm::EcdsaP256, "x"),
            )),
        )
        .await;
    assert_eq!(keys(&v), ["id", "requests"], "201 (two-step): {v}");
    assert_eq!(v["requests"][0]["status"], "submitted");
    let req_id = v["requests"][0]["id"].as_i64().unwrap();
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, r) = ts.get(&format!("/services/v2/request/{req_id}")).await;
    assert_eq!(r["status"], "pending", "first approval of two");
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["status"], "needs_approval");
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{req_id}/status"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait_status(&ts, v["id"].as_i64().unwrap(), "issued").await;

    ts.set_workflow(1, "auto_approve").await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            no_skip(seed_order(
                "ssl_plus",
                org,
                &csr(KeyAlgorithm::EcdsaP256, "x"),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["requests"][0]["status"], "approved", "201 (auto): {v}");
    assert!(v["certificate_id"].as_i64().is_some());
    assert_eq!(
        v["certificate_chain"].as_array().unwrap().len(),
        3,
        "sandbox: issued at once"
    );
    ts.stop().await;
}

#[tokio::test]
async fn skip_approval_needs_admin_or_manager() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let user = ts.key_with_role("user").await;
    let (s, e) = ts
        .post_as(
            &user,
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["errors"][0]["code"], "access_denied|missing_permission");
    let manager = ts.key_with_role("manager").await;
    let (s, v) = ts
        .post_as(
            &manager,
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // a user can still order with approval
    let (s, v) = ts
        .post_as(
            &user,
            "/services/v2/order/certificate/ssl_plus",
            no_skip(seed_order(
                "ssl_plus",
                org,
                &csr(KeyAlgorithm::EcdsaP256, "x"),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["requests"][0]["status"], "pending");
    ts.stop().await;
}

#[tokio::test]
async fn without_sandbox_orders_wait_for_the_operator() {
    let ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(keys(&v), ["certificate_id", "id"], "201 (skip): {v}");
    let order_id = v["id"].as_i64().unwrap();
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{order_id}"))
        .await;
    assert_eq!(info["status"], "pending");
    assert!(info["certificate"].get("serial_number").is_none());

    // the order created the domain example.com, pending validation
    let (_, domains) = ts.get("/services/v2/domain").await;
    let d = &domains["domains"][0];
    assert_eq!(d["name"], "example.com");
    assert_eq!(d["is_pending_validation"], true);
    assert_eq!(d["organization"]["is_active"], "1");
    let domain_id = d["id"].as_i64().unwrap();

    // organization validated, domain not yet: still pending
    let op = ts.operator_key.clone();
    let (s, _) = ts
        .put_as(
            &op,
            &format!("/operator/v1/organization/{org}/validate"),
            json!({"type": "ov"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{order_id}"))
        .await;
    assert_eq!(info["status"], "pending");
    // an account key cannot use the operator API
    let (s, e) = ts
        .put(
            &format!("/operator/v1/domain/{domain_id}/validate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, _) = ts
        .put_as(
            &op,
            &format!("/operator/v1/domain/{domain_id}/validate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let info = wait_status(&ts, order_id, "issued").await;
    assert!(info["certificate"]["thumbprint"].as_str().unwrap().len() == 40);

    // an EV order needs the EV validation, OV is not enough
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_ev_plus",
            seed_order("ssl_ev_plus", org, &csr(KeyAlgorithm::Rsa2048, "x")),
        )
        .await;
    let ev_id = v["id"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{ev_id}"))
        .await;
    assert_eq!(info["status"], "pending");
    let (s, _) = ts
        .put_as(
            &op,
            &format!("/operator/v1/organization/{org}/validate"),
            json!({"type": "ev"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait_status(&ts, ev_id, "issued").await;
    ts.stop().await;
}

#[tokio::test]
async fn orders_survive_a_restart() {
    let mut ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    let (_, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    let order_id = v["id"].as_i64().unwrap();
    ts.restart(config(false)).await;
    let (s, info) = ts
        .get(&format!("/services/v2/order/certificate/{order_id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "the admin key and the order survive");
    assert_eq!(info["status"], "pending");
    // validation after the restart still issues it (CAs reloaded from disk)
    let op = ts.operator_key.clone();
    ts.put_as(
        &op,
        &format!("/operator/v1/organization/{org}/validate"),
        json!({"type": "ov"}),
    )
    .await;
    let (_, d) = ts.get("/services/v2/domain").await;
    ts.put_as(
        &op,
        &format!("/operator/v1/domain/{}/validate", d["domains"][0]["id"]),
        json!({}),
    )
    .await;
    wait_status(&ts, order_id, "issued").await;
    ts.stop().await;
}
