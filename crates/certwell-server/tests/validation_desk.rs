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
    // Order info says why it waits.
    let (_, info) = ts.get(&format!("{ORDER}/{order_id}")).await;
    assert_eq!(info["status"], "pending");
    let reasons: Vec<&str> = info["pending_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["organization_not_validated"], "{info}");

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

fn pending_reasons(info: &Value) -> Vec<String> {
    info["pending_reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Organization- and sponsor-validated S/MIME certificates name the
/// organization's registration number (organizationIdentifier). An order
/// for an organization whose validation has not recorded one is accepted
/// and waits, saying why; the desk records the number with its approval
/// and the order issues with it.
#[tokio::test]
async fn smime_orders_wait_for_the_registration_number_the_desk_records() {
    let ts = TestServer::start(false).await;
    let mut body = org_body("Registry Later LLC");
    body.as_object_mut().unwrap().remove("registration_number");
    let (s, o) = ts.post("/services/v2/organization", body).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let org = o["id"].as_i64().unwrap();
    let (s, v) = ts
        .post(
            &format!("/services/v2/organization/{org}/validation"),
            json!({"validations": [{"type": "smime"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = ts
        .post(
            &format!("{ORDER}/secure_email_organization"),
            json!({
                "certificate": {
                    "profile_type": "strict",
                    "emails": ["john.doe@example.com"],
                    "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
                    "common_name_indicator": "organization_name",
                    "usage_designation": {"primary_usage": "signing"}
                },
                "skip_approval": true,
                "organization": {"id": org},
                "order_validity": {"years": 1}
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let order_id = v["id"].as_i64().unwrap();
    let info_path = format!("{ORDER}/{order_id}");
    let i = ts.get(&info_path).await.1;
    assert_eq!(i["status"], "pending", "{i}");
    assert_eq!(
        pending_reasons(&i),
        vec![
            "organization_not_validated",
            "domain_not_validated",
            "registration_number_missing"
        ],
        "{i}"
    );
    assert!(i["pending_reasons"][2]["message"]
        .as_str()
        .unwrap()
        .contains("registration number"));

    // The address's domain is validated by hand, the organization approved
    // without a number: still waiting, for the number alone.
    let (_, doms) = ts.get("/services/v2/domain").await;
    let dom = doms["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "example.com")
        .unwrap_or_else(|| panic!("{doms}"))["id"]
        .clone();
    let (s, _) = op(
        &ts,
        Method::PUT,
        &format!("/operator/v1/domain/{dom}/validate"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let decide = format!("/operator/v1/organization/{org}/validation/smime");
    let (s, e) = op(
        &ts,
        Method::PUT,
        &decide,
        Some(json!({"decision": "approve", "note": "Registry checked; number to follow."})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let i = ts.get(&info_path).await.1;
    assert_eq!(i["status"], "pending", "{i}");
    assert_eq!(pending_reasons(&i), vec!["registration_number_missing"]);

    // A number goes with an approval only, and must be PrintableString.
    for (body, field) in [
        (
            json!({"decision": "reject", "note": "x", "registration_number": "7654321"}),
            "registration_number",
        ),
        (
            json!({"decision": "approve", "note": "x", "registration_number": "№ 7"}),
            "registration_number",
        ),
    ] {
        let (s, e) = op(&ts, Method::PUT, &decide, Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["errors"][0]["message"].as_str().unwrap().contains(field));
    }
    let (s, e) = op(
        &ts,
        Method::PUT,
        &decide,
        Some(
            json!({"decision": "approve", "note": "Registry extract received.",
                    "registration_number": "7654321"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let i = wait_status(&ts, order_id, "issued").await;
    assert!(i.get("pending_reasons").is_none(), "{i}");
    let (_, o) = ts.get(&format!("/services/v2/organization/{org}")).await;
    assert_eq!(o["registration_number"], "7654321", "{o}");
    let cert_id = i["certificate"]["id"].as_i64().unwrap();
    let (s, c) = ts.get(&format!("/services/v2/certificate/{cert_id}")).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let leaf_pem = c["pem"].as_str().unwrap();
    let leaf = common::leaf::parse(leaf_pem);
    assert!(
        leaf.subject
            .iter()
            .any(|(oid, v)| oid == "2.5.4.97" && v == "NTRUS-7654321"),
        "{:?}",
        leaf.subject
    );
    if let Some(findings) =
        pkilint_findings(ts.dir.path(), "lint_cabf_smime_cert", &["-d"], leaf_pem)
    {
        assert!(findings.is_empty(), "{findings:?}");
    }
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

fn rfc3339(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

/// Validations last as BR §4.2.1 (SC-081) allows at issuance: a domain's
/// as long as the phase in force lets its data be reused (a shorter phase
/// ahead may end it early), an organization's 397 days; a configured
/// `validation_reuse_days` replaces both.
#[tokio::test]
async fn validations_last_as_the_reuse_schedule_allows() {
    // (None: the schedule; Some(n): validation_reuse_days = n, and an
    // organization period of its own, which wins for organizations.)
    for configured in [None, Some(30)] {
        let mut cfg = config(false);
        cfg.validation_reuse_days = configured;
        cfg.organization_validation_reuse_days = configured.map(|_| 100);
        let ts = TestServer::start_with(cfg).await;
        let org = ts.create_org().await;
        let (s, d) = ts
            .post(
                "/services/v2/domain",
                json!({"name": "reuse.example.com", "organization": {"id": org},
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
        let (_, info) = ts
            .get(&format!("/services/v2/domain/{}?include_dcv=true", d["id"]))
            .await;
        let at = rfc3339(&info["dcv_approval_datetime"]);
        let until = rfc3339(&info["dcv_expiration_datetime"]);
        let expected = match configured {
            Some(days) => at + time::Duration::days(days),
            None => certwell_policy::validity::domain_reuse_until(at),
        };
        assert_eq!(until, expected, "{info}");
        if configured.is_none() {
            // Today's phase allows 200 days, the next (from 2027-03-15) 100.
            let next = time::macros::datetime!(2027-03-15 00:00 UTC);
            assert!(until <= at + time::Duration::days(199), "{info}");
            if at < next && at + time::Duration::days(100) < next {
                assert_eq!(until, next, "the 100-day phase ends it: {info}");
            }
        }
        let (s, e) = op(
            &ts,
            Method::PUT,
            &format!("/operator/v1/organization/{org}/validate"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
        let (_, o) = ts
            .get(&format!("/services/v2/organization/{org}/validation"))
            .await;
        let ov = o["validations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["type"] == "ov")
            .cloned()
            .unwrap();
        let days = (rfc3339(&ov["validated_until"]) - time::OffsetDateTime::now_utc()).whole_days();
        let want = configured.map_or(397, |_| 100);
        assert!((want - 1..=want).contains(&days), "{days} vs {want}: {ov}");
        ts.stop().await;
    }
}
