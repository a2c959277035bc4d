//! Users and API keys over HTTP: editing a profile, changing a role,
//! deactivating and deleting users (their keys refused at once), service
//! (API-only) users, keys with an API key role, an expiry and their last
//! use, revoked by their owner or an administrator.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn new_user(ts: &TestServer, email: &str, role_id: i64) -> (i64, String) {
    let (s, v) = ts
        .post(
            "/services/v2/user",
            json!({"first_name": "Bea", "last_name": "Smith", "email": email,
                   "job_title": "SRE", "telephone": "555", "access_roles": [{"id": role_id}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["id"].as_i64().unwrap(),
        v["api_key"].as_str().unwrap().to_string(),
    )
}

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or("")
}

async fn send_as(
    ts: &TestServer,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    ts.send(method, path, Some(key), body).await
}

#[tokio::test]
async fn users_are_edited_restricted_deactivated_and_deleted() {
    let ts = TestServer::start(true).await;
    let (bea, bea_key) = new_user(&ts, "bea@example.com", 5).await;
    let path = format!("/services/v2/user/{bea}");

    // Edit: email required; names kept, job title and telephone cleared
    // when left out.
    let (s, e) = ts.put(&path, json!({"first_name": "Bee"})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "missing_required_field")
    );
    let (s, e) = ts
        .put(
            &path,
            json!({"email": "bea@corp.example.com", "first_name": "Beatrice"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, u) = ts.get(&path).await;
    assert_eq!(
        (
            &u["email"],
            &u["first_name"],
            &u["last_name"],
            &u["job_title"],
            &u["telephone"],
            &u["status"]
        ),
        (
            &json!("bea@corp.example.com"),
            &json!("Beatrice"),
            &json!("Smith"),
            &json!(""),
            &json!(""),
            &json!("active")
        ),
        "{u}"
    );
    // A standard user edits itself, not others.
    let (s, e) = send_as(
        &ts,
        &bea_key,
        Method::PUT,
        &path,
        Some(json!({"email": "bea@example.com", "job_title": "Lead"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, me) = ts.get("/services/v2/user/me").await;
    let admin_id = me["id"].as_i64().unwrap();
    let (s, e) = send_as(
        &ts,
        &bea_key,
        Method::PUT,
        &format!("/services/v2/user/{admin_id}"),
        Some(json!({"email": "x@example.com"})),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "access_denied|missing_permission")
    );

    // Role: administrators only; the user's key acts with the new role.
    let role_path = format!("{path}/role");
    let (s, _) = send_as(
        &ts,
        &bea_key,
        Method::PUT,
        &role_path,
        Some(json!({"access_roles": [{"id": 1}]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = ts
        .put(&role_path, json!({"access_roles": [{"id": 4}]}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, me) = send_as(&ts, &bea_key, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(me["access_roles"][0]["id"], 4, "{me}");
    let (s, e) = ts
        .put(&role_path, json!({"access_roles": [{"id": 3}]}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_access_role")
    );
    // The last administrator cannot give up the role, be deactivated or deleted.
    let (s, e) = ts
        .put(
            &format!("/services/v2/user/{admin_id}/role"),
            json!({"access_roles": [{"id": 5}]}),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_access_role"),
        "{e}"
    );
    let (s, e) = ts
        .send(
            Method::DELETE,
            &format!("/services/v2/user/{admin_id}"),
            Some(&ts.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // Deactivated: its key is refused at once, and works again once active.
    let status_path = format!("{path}/status");
    let (s, e) = ts.put(&status_path, json!({"status": "inactive"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = send_as(&ts, &bea_key, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(
        (s, code(&e)),
        (
            StatusCode::FORBIDDEN,
            "access_denied|access_denied_invalid_key"
        )
    );
    let (_, u) = ts.get(&path).await;
    assert_eq!(u["status"], "inactive");
    let (s, e) = ts.put(&status_path, json!({"status": "deleted"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_status"));
    let (s, _) = ts.put(&status_path, json!({"status": "active"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = send_as(&ts, &bea_key, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(s, StatusCode::OK);

    // Deleted: gone from lists and lookups, its key revoked.
    let (s, _) = ts.send(Method::DELETE, &path, Some(&ts.key), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = send_as(&ts, &bea_key, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = ts.get(&path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = ts.get("/services/v2/user").await;
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != bea),
        "{list}"
    );
    let (_, keys) = ts.get("/services/v2/key").await;
    assert!(keys["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["user"]["id"] == bea)
        .all(|k| k["status"] == "revoked"));
    ts.stop().await;
}

#[tokio::test]
async fn service_users_and_key_roles_expiry_and_revocation() {
    let ts = TestServer::start(true).await;
    // A view-only service user.
    let (s, v) = ts
        .post(
            "/services/v2/user",
            json!({"is_api_only": true, "email": "ci@example.com", "api_name": "CI reader",
                   "restricted_to_role_id": 102}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let svc = v["id"].as_i64().unwrap();
    let svc_key = v["api_key"].as_str().unwrap().to_string();
    let (s, _) = send_as(
        &ts,
        &svc_key,
        Method::GET,
        "/services/v2/order/certificate",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = send_as(
        &ts,
        &svc_key,
        Method::POST,
        "/services/v2/organization",
        Some(org_body("Nope Inc.")),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "access_denied|missing_permission")
    );
    assert!(e["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("View Only"));
    let (_, u) = ts.get(&format!("/services/v2/user/{svc}")).await;
    assert_eq!(
        (&u["type"], &u["is_api_only"]),
        (&json!("service"), &json!(true)),
        "{u}"
    );
    // Only its email can be edited.
    let (s, e) = ts
        .put(
            &format!("/services/v2/user/{svc}"),
            json!({"email": "ci2@example.com", "first_name": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, _) = ts
        .put(
            &format!("/services/v2/user/{svc}"),
            json!({"email": "ci2@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // A key of the admin restricted to orders: orders yes, organizations no.
    let (_, me) = ts.get("/services/v2/user/me").await;
    let admin_id = me["id"].as_i64().unwrap();
    let (s, k) = ts
        .post(
            &format!("/services/v2/key/user/{admin_id}"),
            json!({"name": "orders only", "restricted_to_role_id": 100}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let orders_key = k["api_key"].as_str().unwrap().to_string();
    let orders_key_id = k["id"].as_i64().unwrap();
    let (s, _) = send_as(
        &ts,
        &orders_key,
        Method::GET,
        "/services/v2/order/certificate",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send_as(
        &ts,
        &orders_key,
        Method::GET,
        "/services/v2/organization",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, want) in [
        (
            json!({"name": "x", "restricted_to_role_id": 104}),
            "invalid_access_role",
        ),
        (
            json!({"restricted_to_role_id": 0}),
            "missing_required_field",
        ),
        (
            json!({"name": "x", "expiration_date": "2001-01-01"}),
            "invalid_value",
        ),
    ] {
        let (s, e) = ts
            .post(&format!("/services/v2/key/user/{admin_id}"), body)
            .await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, want), "{e}");
    }

    // A restricted key makes keys (and users' keys) restricted as it is.
    let (s, k) = ts
        .post(
            &format!("/services/v2/key/user/{admin_id}"),
            json!({"name": "users", "restricted_to_role_id": 103}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let users_key = k["api_key"].as_str().unwrap().to_string();
    for body in [
        json!({"name": "escape", "restricted_to_role_id": 0}),
        json!({"name": "escape"}),
    ] {
        let (s, e) = send_as(
            &ts,
            &users_key,
            Method::POST,
            &format!("/services/v2/key/user/{admin_id}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::BAD_REQUEST, "invalid_access_role"),
            "{e}"
        );
    }
    let (s, e) = send_as(
        &ts,
        &users_key,
        Method::POST,
        "/services/v2/user",
        Some(json!({"is_api_only": true, "email": "x@example.com", "api_name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, v) = send_as(
        &ts,
        &users_key,
        Method::POST,
        "/services/v2/user",
        Some(
            json!({"first_name": "New", "last_name": "Admin", "email": "na@example.com",
                    "access_roles": [{"id": 1}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_admin_key = v["api_key"].as_str().unwrap().to_string();
    let (s, _) = send_as(
        &ts,
        &new_admin_key,
        Method::GET,
        "/services/v2/order/certificate",
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the new user's key is restricted to users too"
    );

    // The list shows each key's role and its last use (recorded off the
    // request path, once a minute at most).
    let used = |keys: &Value| -> Option<Value> {
        keys["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == orders_key_id)
            .map(|k| k["last_used_date"].clone())
    };
    let mut keys = Value::Null;
    for _ in 0..50 {
        keys = ts.get("/services/v2/key").await.1;
        if used(&keys).is_some_and(|u| u.is_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let k = keys["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == orders_key_id)
        .cloned()
        .unwrap_or_else(|| panic!("{keys}"));
    assert_eq!(
        (
            &k["status"],
            &k["name"],
            &k["restricted_to_role_id"],
            &k["user"]["id"]
        ),
        (
            &json!("active"),
            &json!("orders only"),
            &json!(100),
            &json!(admin_id)
        ),
        "{k}"
    );
    assert!(k["last_used_date"].is_string(), "{k}");
    assert!(
        keys.to_string().find(&orders_key).is_none(),
        "keys are never shown again"
    );
    // A standard user sees only its own keys.
    let (_, std_key) = new_user(&ts, "std@example.com", 5).await;
    let (_, mine) = send_as(&ts, &std_key, Method::GET, "/services/v2/key", None).await;
    assert_eq!(mine["api_keys"].as_array().unwrap().len(), 1, "{mine}");
    let (s, _) = send_as(
        &ts,
        &std_key,
        Method::PUT,
        &format!("/services/v2/key/{orders_key_id}/status"),
        Some(json!({"status": "revoked"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not its key");

    // Revoked: refused from the next request; not made active again.
    let status = format!("/services/v2/key/{orders_key_id}/status");
    let (s, e) = ts.put(&status, json!({"status": "revoked"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, _) = send_as(
        &ts,
        &orders_key,
        Method::GET,
        "/services/v2/order/certificate",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = ts.put(&status, json!({"status": "active"})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "invalid_status_transition")
    );

    // An expiring key works until its time, then is refused.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let (s, k) = ts
        .post(
            &format!("/services/v2/key/user/{admin_id}"),
            json!({"name": "short", "expiration_date":
                   soon.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let short = k["api_key"].as_str().unwrap().to_string();
    let (s, _) = send_as(&ts, &short, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (s, _) = send_as(&ts, &short, Method::GET, "/services/v2/user/me", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    ts.stop().await;
}
