//! The account model behind every order: payment (balance with a
//! negative-balance limit, card, profile), the balance endpoint, and
//! alternative order ids, including concurrent identical orders.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

async fn settings(ts: &TestServer, body: Value) {
    let (s, v) = ts
        .send(
            reqwest::Method::PUT,
            "/operator/v1/accounts/1/settings",
            Some(&ts.operator_key),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

async fn deposit(ts: &TestServer, amount: &str) -> Value {
    let (s, v) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts/1/balance",
            Some(&ts.operator_key),
            Some(json!({"amount": amount})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn order_total(ts: &TestServer) -> i64 {
    let (_, v) = ts.get(ORDER).await;
    v["page"]["total"].as_i64().unwrap()
}

/// The seed's ssl_plus order for one year.
fn order(org: i64) -> Value {
    let mut b = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    b["validity_years"] = json!(1);
    b
}

#[tokio::test]
async fn balance_payments_respect_the_negative_balance_limit() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    // A fresh account may go negative without limit.
    let (s, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"balance": "0.00", "currency": "USD", "unpaid_invoice_balance": "0.00",
            "used_credit_from_other_containers": "0.00", "unlimited_negative_balance": true})
    );

    settings(
        &ts,
        json!({"negative_balance_limit": "0.00", "unlimited_negative_balance": false}),
    )
    .await;
    assert_eq!(deposit(&ts, "250.00").await["balance"], "250.00");
    // ssl_plus costs 200.00 a year by default; this order is one year.
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["price"], 200.0, "{info}");
    assert_eq!(info["currency"], "USD");
    assert_eq!(info["payment_method"], "balance");
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "50.00", "{b}");
    assert_eq!(b["negative_balance_limit"], "0.00");
    assert_eq!(b["total_available_funds"], "50.00");

    // Not enough: 400 and nothing is created or debited.
    let before = order_total(&ts).await;
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "insufficient_funds");
    assert_eq!(order_total(&ts).await, before);
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "50.00");
    // An S/MIME order goes through the same check.
    let (s, e) = ts
        .post(
            &format!("{ORDER}/secure_email_mailbox"),
            json!({"certificate": {"emails": ["a@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
                "usage_designation": {"primary_usage": "signing"}}, "order_validity": {"years": 1},
                "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "30.00 fits: {e}");
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "20.00", "{b}");
    let (s, e) = ts
        .post(
            &format!("{ORDER}/secure_email_mailbox"),
            json!({"certificate": {"emails": ["a@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
                "usage_designation": {"primary_usage": "signing"}}, "order_validity": {"years": 1},
                "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "insufficient_funds");

    // A negative-balance limit lets the balance go below zero.
    settings(&ts, json!({"negative_balance_limit": "2000.00"})).await;
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "-180.00", "{b}");
    assert_eq!(b["total_available_funds"], "1820.00");
    // Card payments do not touch the balance.
    let mut body = order(org);
    body["payment_method"] = json!("card");
    body["credit_card"] = json!({"number": "4111111111111111", "expiration_month": 12,
        "expiration_year": 2099, "cvv": 987, "cardholder_name": "Jane Doe"});
    body["billing_address"] = json!({"address": "1 Main St", "city": "Lindon", "state": "UT",
        "zip": "84042", "country": "us"});
    body["vat_number"] = json!("US-123");
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "-180.00");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["payment_method"], "card");
    assert_eq!(info["credit_card"]["last_four_digits"], "1111", "{info}");
    assert_eq!(info["vat_number"], "US-123");
    // The full number and the CVV are nowhere in the database.
    // (WAL included: read while the server runs.)
    let dir = ts.dir.path().to_path_buf();
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            let bytes = std::fs::read(&f).unwrap();
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains("4111111111111111"), "{}", f.display());
            assert!(!hay.contains("\"cvv\""), "{}", f.display());
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn card_profile_and_guest_access_rules() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let before = order_total(&ts).await;
    let mut card = order(org);
    card["payment_method"] = json!("card");
    card["credit_card"] = json!({"number": "4111111111111112", "expiration_month": 12,
        "expiration_year": 2099, "cvv": 987, "cardholder_name": "Jane Doe"});
    card["billing_address"] = json!({"address": "1 Main St", "city": "Lindon", "state": "UT",
        "zip": "84042", "country": "us"});
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), card).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_credit_card");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("credit_card.number"));

    let mut profile = order(org);
    profile["payment_method"] = json!("profile");
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), profile.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "no_default_credit_card");
    settings(&ts, json!({"default_card_last_four": "4242"})).await;
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), profile).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let mut guest = order(org);
    guest["enable_guest_access"] = json!(1);
    settings(&ts, json!({"allow_guest_access": false})).await;
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), guest.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "field_not_allowed");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("enable_guest_access"));
    settings(&ts, json!({"allow_guest_access": true})).await;
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), guest).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["enable_guest_access"], 1);
    assert_eq!(order_total(&ts).await, before + 2);
    ts.stop().await;
}

/// 20 identical orders with one alternative_order_id at once: with the
/// account setting on, exactly one is created and the balance is debited
/// exactly once; with it off, the id may repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_alternative_order_ids_make_ordering_idempotent() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    settings(
        &ts,
        json!({"require_unique_alternative_order_id": true,
        "negative_balance_limit": "0.00", "unlimited_negative_balance": false}),
    )
    .await;
    deposit(&ts, "1000.00").await;
    let before = order_total(&ts).await;
    let mut body = order(org);
    body["alternative_order_id"] = json!("cm-7f3a9c");
    // Twenty tasks, released together.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, key, body, start) = (
            ts.client.clone(),
            ts.url(&format!("{ORDER}/ssl_plus")),
            ts.key.clone(),
            body.to_string(),
            start.clone(),
        );
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let r = client
                .post(url)
                .header("X-DC-DEVKEY", key)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let created: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    for (s, v) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(
            v["errors"][0]["code"], "duplicate_alternative_order_id",
            "{v}"
        );
    }
    assert_eq!(order_total(&ts).await, before + 1);
    let (_, b) = ts.get("/services/v2/finance/balance").await;
    assert_eq!(b["balance"], "800.00", "debited once: {b}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", created[0]["id"])).await;
    assert_eq!(info["alternative_order_id"], "cm-7f3a9c");
    // Another id is fine; an invalid one is refused.
    body["alternative_order_id"] = json!("cm-other");
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    body["alternative_order_id"] = json!("not valid!");
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_alternative_order_id");

    // Setting off: the same id may be used again.
    settings(&ts, json!({"require_unique_alternative_order_id": false})).await;
    body["alternative_order_id"] = json!("cm-7f3a9c");
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn containers_children_and_orders_placed_in_them() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts.get("/services/v2/container").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = v["containers"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    let root = list[0]["id"].as_i64().unwrap();
    assert_eq!(list[0]["parent_id"], 0);

    let (s, c) = ts
        .post(
            &format!("/services/v2/container/{root}/children"),
            json!({"name": "History Department", "description": "For the history department."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let child = c["id"].as_i64().unwrap();
    let (s, info) = ts.get(&format!("/services/v2/container/{child}")).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["parent_id"], root);
    assert_eq!(info["name"], "History Department");
    assert_eq!(info["description"], "For the history department.");
    assert_eq!(info["user_id_assignments"], json!([]));
    let (_, root_info) = ts.get(&format!("/services/v2/container/{root}")).await;
    assert!(!root_info["user_id_assignments"]
        .as_array()
        .unwrap()
        .is_empty());
    let (s, grand) = ts
        .post(
            &format!("/services/v2/container/{child}/children"),
            json!({"name": "Ancient"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{grand}");
    let (_, v) = ts.get("/services/v2/container").await;
    assert_eq!(v["containers"].as_array().unwrap().len(), 3);

    // Bad input, unknown parents, other roles.
    let (s, e) = ts
        .post(
            &format!("/services/v2/container/{root}/children"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "missing_required_field");
    let (s, _) = ts
        .post(
            "/services/v2/container/99999/children",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ts.get("/services/v2/container/99999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let user = ts.key_with_role("user").await;
    let (s, e) = ts
        .post_as(
            &user,
            &format!("/services/v2/container/{root}/children"),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");

    // Orders go into a visible container; others are refused.
    let mut body = order(org);
    body["container"] = json!({"id": child});
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["container"]["id"], child, "{info}");
    body["container"] = json!({"id": 99999});
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_container");

    // Another account sees none of it.
    let (s, acct) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts",
            Some(&ts.operator_key),
            Some(json!({"name": "Other"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{acct}");
    let other = acct["admin_api_key"].as_str().unwrap();
    let (s, _) = ts
        .get_as(other, &format!("/services/v2/container/{child}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = ts.get_as(other, "/services/v2/container").await;
    assert_eq!(v["containers"].as_array().unwrap().len(), 1);
    ts.stop().await;
}

#[tokio::test]
async fn custom_fields_are_defined_and_enforced_on_orders() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts.get("/services/v2/account/metadata").await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let (s, v) = ts
        .post(
            "/services/v2/account/metadata",
            json!({"label": "Invoice #", "is_required": true, "is_active": true, "data_type": "int"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let invoice = v["id"].as_i64().unwrap();
    let (_, v) = ts
        .post(
            "/services/v2/account/metadata",
            json!({"label": "SRE contact", "data_type": "email_address"}),
        )
        .await;
    let sre = v["id"].as_i64().unwrap();
    let (_, v) = ts.get("/services/v2/account/metadata").await;
    assert_eq!(
        v,
        json!({"metadata": [
            {"id": invoice, "label": "Invoice #", "is_required": true, "is_active": true, "data_type": "int"},
            {"id": sre, "label": "SRE contact", "is_required": false, "is_active": true, "data_type": "email_address"}
        ]})
    );

    let before = order_total(&ts).await;
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "custom_field_required");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("metadata_id {invoice}")));
    let mut body = order(org);
    body["custom_fields"] = json!([{"metadata_id": invoice, "value": "12x"}]);
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_custom_field");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("metadata_id {invoice}")));
    body["custom_fields"] =
        json!([{"metadata_id": invoice, "value": "1234"}, {"metadata_id": sre, "value": "nope"}]);
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("metadata_id {sre}")));
    // The S/MIME endpoint enforces the same fields.
    let smime = json!({"certificate": {"emails": ["a@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
        "usage_designation": {"primary_usage": "signing"}}, "order_validity": {"years": 1}, "skip_approval": true});
    let (s, e) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), smime.clone())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "custom_field_required");
    assert_eq!(order_total(&ts).await, before, "nothing stored");

    body["custom_fields"] = json!([{"metadata_id": invoice, "value": "1234"}, {"metadata_id": sre, "value": "sre@example.com"}]);
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(
        info["custom_fields"],
        json!([{"metadata_id": invoice, "value": "1234"}, {"metadata_id": sre, "value": "sre@example.com"}])
    );

    // Deactivated, the field is no longer required; deleted, it is gone.
    let (s, _) = ts
        .put(
            &format!("/services/v2/account/metadata/{invoice}"),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), smime)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = ts.get("/services/v2/account/metadata").await;
    assert_eq!(v["metadata"][0]["is_active"], false);
    assert_eq!(v["metadata"][0]["label"], "Invoice #", "kept");
    let (s, e) = ts
        .put(
            &format!("/services/v2/account/metadata/{invoice}"),
            json!({"data_type": "date"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    for id in [invoice, sre] {
        let (s, _) = ts
            .send(
                reqwest::Method::DELETE,
                &format!("/services/v2/account/metadata/{id}"),
                Some(&ts.key),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (s, _) = ts
        .send(
            reqwest::Method::DELETE,
            &format!("/services/v2/account/metadata/{sre}"),
            Some(&ts.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = ts.get("/services/v2/account/metadata").await;
    assert_eq!(v, json!({}));
    // Only administrators define fields.
    let user = ts.key_with_role("manager").await;
    let (s, _) = ts
        .post_as(
            &user,
            "/services/v2/account/metadata",
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = ts
        .post(
            "/services/v2/account/metadata",
            json!({"is_required": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    ts.stop().await;
}

/// Organizations: submit for validation (verified users for EV), the
/// validation details, activate/deactivate and what that does to orders
/// and the duplicate check, list filters.
#[tokio::test]
async fn organizations_validation_activation_and_filters() {
    let ts = TestServer::start(false).await;
    let org = ts.create_org().await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let uid = me["id"].as_i64().unwrap();
    let path = format!("/services/v2/organization/{org}/validation");

    // EV needs verified users; unknown types and users are refused.
    for (body, code, needle) in [
        (
            json!({"validations": [{"type": "ev"}]}),
            "missing_required_field",
            "validations[0].verified_users",
        ),
        (
            json!({"validations": [{"type": "xv"}]}),
            "invalid_validation_type",
            "validations[0].type",
        ),
        (json!({}), "missing_required_field", "validations"),
        (
            json!({"validations": [{"type": "ev", "verified_users": [{"id": 99999}]}]}),
            "invalid_contact",
            "verified_users[0].id",
        ),
        (
            json!({"validations": [{"type": "cs", "verified_users": [{"first_name": "Jill", "last_name": "V"}]}]}),
            "missing_required_field",
            "verified_users[0].email",
        ),
    ] {
        let (s, e) = ts.post(&path, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["errors"][0]["code"], code, "{e}");
        assert!(
            e["errors"][0]["message"].as_str().unwrap().contains(needle),
            "{needle}: {e}"
        );
    }
    let (s, v) = ts
        .post(
            &path,
            json!({"validations": [{"type": "ov"}, {"type": "ev", "verified_users": [{"id": uid},
                {"first_name": "Jill", "last_name": "Valentine", "job_title": "CTO", "telephone": "555-555-5555",
                 "email": "jill.valentine@example.com"}]}, {"type": "ds"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = ts.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let vals = v["validations"].as_array().unwrap();
    let find = |t: &str| vals.iter().find(|x| x["type"] == t).cloned().unwrap();
    assert_eq!(find("ov")["status"], "pending", "{v}");
    assert_eq!(find("ds")["name"], "DS");
    let ev = find("ev");
    assert_eq!(ev["description"], "Extended Organization Validation (EV)");
    assert_eq!(ev["verified_users"][0], json!({"id": uid}));
    assert_eq!(
        ev["verified_users"][1]["email"],
        "jill.valentine@example.com"
    );
    // The validation desk approves OV; re-submitting keeps it active.
    let (s, _) = ts
        .send(
            reqwest::Method::PUT,
            &format!("/operator/v1/organization/{org}/validate"),
            Some(&ts.operator_key),
            Some(json!({"type": "ov"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = ts
        .post(&path, json!({"validations": [{"type": "ov"}]}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = ts.get(&path).await;
    let ov = v["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "ov")
        .cloned()
        .unwrap();
    assert_eq!(ov["status"], "active", "{v}");
    assert!(ov["validated_until"].is_string());

    // Deactivated: filtered, not usable, not matched as a duplicate.
    let user = ts.key_with_role("user").await;
    let (s, _) = ts
        .put_as(
            &user,
            &format!("/services/v2/organization/{org}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = ts
        .put(
            &format!("/services/v2/organization/{org}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts.get(&format!("/services/v2/organization/{org}")).await;
    assert_eq!(info["is_active"], false, "{info}");
    let (_, l) = ts
        .get("/services/v2/organization?filters[status]=active")
        .await;
    assert!(l.get("organizations").is_none(), "{l}");
    assert_eq!(l["page"]["total"], 0);
    let (_, l) = ts
        .get("/services/v2/organization?filters[status]=inactive")
        .await;
    assert_eq!(l["organizations"][0]["id"], org, "{l}");
    let (s, e) = ts
        .get("/services/v2/organization?filters[status]=maybe")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a deactivated organization: {e}"
    );
    // An inline organization with the same details makes a new one.
    let mut inline = order(org);
    inline["organization"] = org_body("Example Inc.");
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), inline.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_org = v["organization"]["id"]
        .as_i64()
        .expect("a new organization");
    assert_ne!(new_org, org);
    // Active again, the oldest match wins.
    let (s, _) = ts
        .put(
            &format!("/services/v2/organization/{org}/activate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), inline).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["organization"]["id"], org, "{info}");
    let (_, l) = ts
        .get("/services/v2/organization?filters[status]=active&limit=1")
        .await;
    assert_eq!(l["page"]["total"], 2, "{l}");
    assert_eq!(l["organizations"].as_array().unwrap().len(), 1);
    let (s, _) = ts
        .put("/services/v2/organization/99999/activate", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ts.stop().await;
}

/// Order-level contacts and user assignments on the TLS and S/MIME
/// endpoints: shown in order info in place of the organization's, on that
/// order only.
#[tokio::test]
async fn order_level_contacts_and_user_assignments_on_every_endpoint() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let uid = me["id"].as_i64().unwrap();
    let level = json!({
        "organization_contact": {"first_name": "Olga", "last_name": "Order", "email": "olga@example.com",
            "job_title": "COO", "telephone": "801-555-0001"},
        "technical_contact": {"first_name": "Tom", "last_name": "Tech", "email": "tom@example.com"},
        "user_id_assignments": [uid]
    });
    let mut tls = order(org);
    let mut smime = json!({"certificate": {"emails": ["john.doe@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
        "common_name_indicator": "organization_name",
        "usage_designation": {"primary_usage": "signing"}}, "organization": {"id": org},
        "order_validity": {"years": 1}, "skip_approval": true});
    for (k, v) in level.as_object().unwrap() {
        tls[k] = v.clone();
        smime[k] = v.clone();
    }
    for (product, body) in [
        ("ssl_plus", tls.clone()),
        ("secure_email_organization", smime),
    ] {
        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
        assert_eq!(
            info["organization_contact"]["email"], "olga@example.com",
            "{product}: {info}"
        );
        assert_eq!(info["organization_contact"]["job_title"], "COO");
        assert_eq!(info["technical_contact"]["email"], "tom@example.com");
        assert_eq!(info["user_assignments"], json!([{"id": uid}]));
    }
    // The organization keeps its own contact.
    let (_, o) = ts.get(&format!("/services/v2/organization/{org}")).await;
    assert_eq!(o["organization_contact"]["email"], "gia@example.com", "{o}");
    // An order without them shows the organization's.
    let (_, v) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_ne!(info["organization_contact"]["email"], "olga@example.com");
    // Bad values.
    let mut bad = tls.clone();
    bad["user_id_assignments"] = json!([uid, 424242]);
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_user_id_assignment");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("user_id_assignments[1]"));
    let mut bad = tls;
    bad["technical_contact"]["email"] = json!("nope");
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_email");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("technical_contact.email"));
    ts.stop().await;
}

/// Users and roles: a key sees the orders, certificates, requests and users
/// of its container and the containers below it, nothing above or beside.
#[tokio::test]
async fn users_see_only_their_containers() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, v) = ts.get("/services/v2/container").await;
    let root = v["containers"][0]["id"].as_i64().unwrap();
    let child = |parent: i64, name: &'static str| {
        let ts = &ts;
        async move {
            let (s, c) = ts
                .post(
                    &format!("/services/v2/container/{parent}/children"),
                    json!({"name": name}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
            c["id"].as_i64().unwrap()
        }
    };
    let dept = child(root, "Department").await;
    let team = child(dept, "Team").await;
    let other = child(root, "Other department").await;

    // An administrator creates a standard user in the department.
    let (s, created) = ts
        .post(
            "/services/v2/user",
            json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                   "container": {"id": dept}, "access_roles": [{"id": 5}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let ada_id = created["id"].as_i64().unwrap();
    let ada = created["api_key"].as_str().unwrap().to_string();
    let (s, me) = ts.get_as(&ada, "/services/v2/user/me").await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["id"], ada_id);
    assert_eq!(me["container"]["id"], dept);
    assert_eq!(
        me["access_roles"],
        json!([{"id": 5, "name": "Standard user"}])
    );
    // The operator API and the CLI give keys a container too.
    let (s, mgr) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts/1/api-keys",
            Some(&ts.operator_key),
            Some(json!({"role": "manager", "container_id": other})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mgr}");
    let mgr = mgr["api_key"].as_str().unwrap().to_string();
    let (s, e) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts/1/api-keys",
            Some(&ts.operator_key),
            Some(json!({"role": "user", "container_id": 99999})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_container");

    // The admin orders in four containers.
    let mut ids = std::collections::HashMap::new();
    for (name, c) in [
        ("root", root),
        ("dept", dept),
        ("team", team),
        ("other", other),
    ] {
        let mut body = order(org);
        body["container"] = json!({"id": c});
        let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.insert(
            name,
            (
                v["id"].as_i64().unwrap(),
                v["certificate_id"].as_i64().unwrap(),
            ),
        );
    }
    let listed = |key: String| {
        let ts = &ts;
        async move {
            let (s, v) = ts.get_as(&key, ORDER).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let mut got: Vec<i64> = v["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
                .collect();
            got.sort();
            assert_eq!(v["page"]["total"], got.len() as i64);
            got
        }
    };
    assert_eq!(
        listed(ada.clone()).await,
        vec![ids["dept"].0, ids["team"].0]
    );
    assert_eq!(listed(mgr.clone()).await, vec![ids["other"].0]);
    assert_eq!(listed(ts.key.clone()).await.len(), 4);

    // Outside its subtree everything is 404, as for another account.
    for name in ["root", "other"] {
        let (oid, cid) = ids[name];
        for path in [
            format!("{ORDER}/{oid}"),
            format!("/services/v2/certificate/{cid}/download/format/pem_all"),
            format!("/services/v2/certificate/download/order/{oid}"),
        ] {
            let (s, v) = ts.get_as(&ada, &path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
        }
        let (s, v) = ts
            .put_as(
                &ada,
                &format!("{ORDER}/{oid}/revoke"),
                json!({"reason": "superseded"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let (s, v) = ts
            .put_as(
                &ada,
                &format!("/services/v2/certificate/{cid}/revoke"),
                json!({"reason": "superseded"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
    // Reports and status changes follow the same scope.
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/report/order/{root}/expiring"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/report/order/{dept}/expiring"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, ch) = ts
        .get_as(
            &ada,
            "/services/v2/order/certificate/status-changes?filters[status_last_updated]=2020-1-1+0:0:0...2100-1-1+0:0:0",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ch}");
    let mut changed: Vec<i64> = ch["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_i64().unwrap())
        .collect();
    changed.sort();
    assert_eq!(changed, vec![ids["dept"].0, ids["team"].0]);
    let (tid, tcid) = ids["team"];
    let (s, v) = ts.get_as(&ada, &format!("{ORDER}/{tid}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = ts
        .client
        .get(ts.url(&format!(
            "/services/v2/certificate/{tcid}/download/format/pem_all"
        )))
        .header("X-DC-DEVKEY", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));

    // The user's own orders land in its container and wait for approval
    // (a standard user cannot skip it); its request is the only one it sees.
    let mut body = order(org);
    body["skip_approval"] = json!(false);
    let (s, v) = ts
        .post_as(&ada, &format!("{ORDER}/ssl_plus"), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mine = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{mine}")).await;
    assert_eq!(info["container"]["id"], dept, "{info}");
    assert_eq!(info["status"], "needs_approval", "{info}");
    let (_, reqs) = ts.get_as(&ada, "/services/v2/request").await;
    assert_eq!(reqs["page"]["total"], 1, "{reqs}");
    let rid = reqs["requests"][0]["id"].as_i64().unwrap();
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/request/{rid}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ts
        .get_as(&mgr, &format!("/services/v2/request/{rid}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the other department's manager");
    let (_, reqs) = ts.get_as(&mgr, "/services/v2/request").await;
    assert_eq!(reqs["page"]["total"], 0, "{reqs}");
    body["container"] = json!({"id": root});
    let (s, e) = ts.post_as(&ada, &format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_container");

    // Users: the list follows the same scope; only administrators create.
    let (_, users) = ts.get_as(&ada, "/services/v2/user").await;
    let seen: Vec<i64> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![ada_id], "{users}");
    let (_, all) = ts.get("/services/v2/user").await;
    assert!(all["page"]["total"].as_i64().unwrap() >= 3, "{all}");
    let (_, filtered) = ts
        .get(&format!("/services/v2/user?container_id={other}"))
        .await;
    assert_eq!(filtered["page"]["total"], 1, "{filtered}");
    let admin_id = all["users"][0]["id"].as_i64().unwrap();
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/user/{admin_id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, u) = ts.get(&format!("/services/v2/user/{ada_id}")).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["email"], "ada@example.com");
    let (s, e) = ts
        .post_as(
            &ada,
            "/services/v2/user",
            json!({"first_name": "B", "last_name": "C", "email": "b@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    for (body, code) in [
        (
            json!({"first_name": "B", "last_name": "C", "email": "b@example.com",
                   "access_roles": [{"id": 3}]}),
            "invalid_access_role",
        ),
        (
            json!({"first_name": "B", "last_name": "C", "email": "b@example.com",
                   "container": {"id": 99999}}),
            "invalid_container",
        ),
        (
            json!({"first_name": "B", "email": "b@example.com"}),
            "missing_required_field",
        ),
    ] {
        let (s, e) = ts.post("/services/v2/user", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["errors"][0]["code"], code, "{e}");
    }

    // Contacts and assignments may only name users the caller sees.
    let mut body = order(org);
    body["skip_approval"] = json!(false);
    body["organization"]["contacts"] = json!([{"contact_type": "technical_contact",
        "user_id": admin_id, "telephone": "555-0199"}]);
    let (s, e) = ts.post_as(&ada, &format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(
        (s, e["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_contact")),
        "{e}"
    );
    let mut body = order(org);
    body["skip_approval"] = json!(false);
    body["user_id_assignments"] = json!([admin_id]);
    let (s, e) = ts.post_as(&ada, &format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_user_id_assignment");
    // A revoked certificate above the caller is 404, not "already revoked".
    let (rid_order, rid_cert) = ids["root"];
    let (s, _) = ts
        .put(
            &format!("{ORDER}/{rid_order}/revoke"),
            json!({"reason": "superseded"}),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let (s, e) = ts
        .put_as(
            &ada,
            &format!("/services/v2/certificate/{rid_cert}/revoke"),
            json!({"reason": "superseded"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");

    // Organizations and domains: readable from below (orders use them),
    // changed only within the caller's own subtree.
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/organization/{org}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ts
        .put_as(
            &mgr,
            &format!("/services/v2/organization/{org}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, doms) = ts.get("/services/v2/domain").await;
    let root_domain = doms["domains"][0]["id"].as_i64().unwrap();
    let (s, _) = ts
        .get_as(&mgr, &format!("/services/v2/domain/{root_domain}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ts
        .send(
            reqwest::Method::DELETE,
            &format!("/services/v2/domain/{root_domain}"),
            Some(&mgr),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, d) = ts
        .post_as(
            &mgr,
            "/services/v2/domain",
            json!({"name": "other-dept.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (_, info) = ts.get(&format!("/services/v2/domain/{}", d["id"])).await;
    assert_eq!(info["container"]["id"], other, "{info}");
    let (s, _) = ts
        .get_as(&ada, &format!("/services/v2/domain/{}", d["id"]))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a sibling department's domain");
    let (_, list) = ts.get_as(&ada, "/services/v2/domain").await;
    assert!(!list.to_string().contains("other-dept.com"), "{list}");
    let (_, list) = ts.get_as(&mgr, "/services/v2/domain").await;
    assert!(list.to_string().contains("other-dept.com"), "{list}");

    // A contact naming a user with new details updates that user.
    let mut body = order(org);
    body["organization"]["contacts"] = json!([{"contact_type": "technical_contact",
        "user_id": ada_id, "telephone": "555-0100", "job_title": "PKI lead"}]);
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["technical_contact"]["telephone"], "555-0100", "{info}");
    let (_, u) = ts.get(&format!("/services/v2/user/{ada_id}")).await;
    assert_eq!(
        (u["telephone"].as_str(), u["job_title"].as_str()),
        (Some("555-0100"), Some("PKI lead"))
    );
    assert_eq!(u["first_name"], "Ada", "fields not given are kept");
    ts.stop().await;
}

/// `renewal_of_order_id` links a renewal to the order it renews, both ways.
#[tokio::test]
async fn renewals_link_both_orders() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), order(org)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let old = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{old}")).await;
    assert_eq!(
        (
            &info["is_renewal"],
            &info["is_renewed"],
            &info["renewed_order_id"]
        ),
        (&json!(false), &json!(false), &json!(0))
    );
    let mut body = order(org);
    body["renewal_of_order_id"] = json!(old);
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new = v["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("{ORDER}/{new}")).await;
    assert_eq!(info["is_renewal"], true, "{info}");
    assert_eq!(info["renewed_order_id"], old);
    assert_eq!(info["renewal_of_order_id"], old);
    assert_eq!(info["is_renewed"], false);
    let (_, info) = ts.get(&format!("{ORDER}/{old}")).await;
    assert_eq!(info["is_renewed"], true, "{info}");
    assert_eq!(info["is_renewal"], false);

    let (_, list) = ts.get(&format!("{ORDER}?filters[is_renewed]=1")).await;
    assert_eq!(list["page"]["total"], 1, "{list}");
    assert_eq!(list["orders"][0]["id"], old);
    assert_eq!(list["orders"][0]["is_renewed"], true);
    let (_, list) = ts.get(&format!("{ORDER}?filters[is_renewed]=0")).await;
    assert_eq!(list["page"]["total"], 1, "{list}");
    assert_eq!(list["orders"][0]["id"], new);
    let (s, e) = ts.get(&format!("{ORDER}?filters[is_renewed]=maybe")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_filter");

    // One live renewal per order; unknown and invisible orders are refused.
    let (s, e) = ts.post(&format!("{ORDER}/ssl_plus"), body.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_renewal_of_order_id");
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&new.to_string()));
    let (_, v) = ts.get("/services/v2/container").await;
    let root = v["containers"][0]["id"].as_i64().unwrap();
    let (_, c) = ts
        .post(
            &format!("/services/v2/container/{root}/children"),
            json!({"name": "Dept"}),
        )
        .await;
    let (_, k) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts/1/api-keys",
            Some(&ts.operator_key),
            Some(json!({"role": "manager", "container_id": c["id"]})),
        )
        .await;
    let mut body = order(org);
    body["renewal_of_order_id"] = json!(new);
    let (s, e) = ts
        .post_as(
            k["api_key"].as_str().unwrap(),
            &format!("{ORDER}/ssl_plus"),
            body,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_renewal_of_order_id");
    ts.stop().await;
}

/// API keys are cached with their user only while the store's key epoch
/// stays put: a change to the user made through the store (not through a
/// route that drops the entry itself) shows on the very next request, not
/// after the cache's TTL.
#[tokio::test]
async fn cached_keys_follow_the_store_change_feed() {
    let ts = TestServer::start(false).await;
    let (_, me) = ts.get("/services/v2/user/me").await;
    let uid = me["id"].as_i64().unwrap();
    let (_, again) = ts.get("/services/v2/user/me").await;
    assert_eq!(again["first_name"], me["first_name"]);
    let store = &ts.server.as_ref().unwrap().state.store;
    store
        .update_user_contact(
            1,
            uid,
            &certwell_store::UserContactUpdate {
                first_name: Some("Renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (s, me) = ts.get("/services/v2/user/me").await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["first_name"], "Renamed");
    ts.stop().await;
}
