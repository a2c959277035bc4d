//! S/MIME and client certificate ordering over HTTP (seeds
//! order-secure-email.txt and order-client-certificate.txt): the seed
//! examples, rule violations, waiting for a CSR or a mailbox, downloads,
//! revocation, lists, workflows and validity fields. The certificates'
//! profiles are in smime_profiles.rs.

mod common;

use certwell_ca::KeyAlgorithm;
use common::leaf::parse;
use common::smime::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

/// The seed's three full secure-email examples, sent as the vendor prints
/// them (trailing commas included) with only the CSR and ids filled in,
/// and the client example for Authentication Plus. The organization is
/// created as the vendor's API creates one, without certwell's
/// registration number: the sandbox stands in a value marked as its own.
#[tokio::test]
async fn seed_examples_return_201() {
    let ts = TestServer::start(true).await;
    let mut plain = org_body("Example Inc.");
    plain.as_object_mut().unwrap().remove("registration_number");
    let (s, o) = ts.post("/services/v2/organization", plain).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let org = o["id"].as_i64().unwrap();
    let csr_pem = csr(KeyAlgorithm::Rsa2048, "x").replace('\n', "");
    let examples = [
        (
            "secure_email_mailbox",
            r#"{
  "certificate": {
    "profile_type": "multipurpose",
    "emails": [
      "john.doe@example.com"
    ],
    "csr": "{{csr}}",
    "common_name_indicator": "email_address",
    "usage_designation": {
      "primary_usage": "dual_use",
      "additional_usages": [
        "non_repudiation"
      ]
    },   
  },
  "skip_approval": true,
  "order_validity": {
    "years": 1
  },
  "payment_method": "balance"
}"#,
        ),
        (
            "secure_email_organization",
            r#"{
  "certificate": {
    "profile_type": "multipurpose",
    "individual": {
      "first_name": "John",
      "last_name": "Doe"
    },
    "emails": [
      "john.doe@example.com"
    ],
    "csr": "{{csr}}",
    "common_name_indicator": "organization_name",
    "usage_designation": {
      "primary_usage": "dual_use",
      "additional_usages": [
        "non_repudiation"
      ]
    },  
  },
  "skip_approval": true,
  "organization": {
    "id": {{organization_id}}
  },
  "order_validity": {
    "years": 1
  },
  "subject": {      
      "include_email": true
  },
  "payment_method": "balance"
}"#,
        ),
        (
            "secure_email_sponsor",
            r#"{
  "certificate": {
    "profile_type": "multipurpose",
    "individual": {
      "first_name": "John",
      "last_name": "Doe"
    },
    "emails": [
      "john.doe@example.com"
    ],
    "csr": "{{csr}}",
    "signature_hash": "sha256",
    "common_name_indicator": "given_name_surname",
    "usage_designation": {
      "primary_usage": "dual_use",
      "additional_usages": [
        "non_repudiation"
      ]
    }   
  },
  "skip_approval": true,
  "organization": {
    "id": "{{organization_id}}"
  },
  "order_validity": {
    "years": 1
  },
  "subject": {      
      "include_given_name_surname": true,
      "include_email": true,
      "include_pseudonym": false   
  },
  "payment_method": "balance"
}"#,
        ),
        (
            "client_authentication_plus",
            r#"{
  "certificate": {
    "common_name": "john.doe@example.com",
    "emails": [
      "john.doe@example.com"
    ],
    "signature_hash": "sha256",
    "csr": "{{csr}}"
  },
  "skip_approval": true,
  "organization": {
    "id": {{organization_id}}
  },
  "order_validity": {
    "years": 1  
  },
  "payment_method": "balance"
}"#,
        ),
    ];
    for (product, text) in examples {
        let body = text
            .replace("{{csr}}", &csr_pem)
            .replace("{{organization_id}}", &org.to_string());
        let resp = ts
            .client
            .post(ts.url(&format!("{ORDER}/{product}")))
            .header("X-DC-DEVKEY", &ts.key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{product}");
        let v: Value = resp.json().await.unwrap();
        // skip_approval: {"id", "certificate_id"} (+ the chain, issued at once)
        assert!(v["id"].as_i64().unwrap() > 0, "{v}");
        assert!(v["certificate_id"].as_i64().unwrap() > 0, "{v}");
        assert!(v.get("requests").is_none(), "{v}");
        assert!(v.get("organization").is_none(), "{v}");
        assert_eq!(v["certificate_chain"].as_array().unwrap().len(), 3, "{v}");
        let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
        assert_eq!(info["status"], "issued", "{info}");
        assert_eq!(
            info["certificate"]["emails"],
            json!(["john.doe@example.com"])
        );
        let leaf = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
        let org_id: Vec<&str> = leaf
            .subject
            .iter()
            .filter(|(oid, _)| oid == ORG_ID)
            .map(|(_, v)| v.as_str())
            .collect();
        match product {
            "secure_email_organization" | "secure_email_sponsor" => {
                assert_eq!(org_id, vec!["NTRUS-SANDBOX"], "{product}")
            }
            _ => assert!(org_id.is_empty(), "{product}: {org_id:?}"),
        }
    }
    ts.stop().await;
}

async fn order_count(ts: &TestServer) -> i64 {
    let (_, v) = ts.get(ORDER).await;
    v["page"]["total"].as_i64().unwrap()
}

#[tokio::test]
async fn rule_violations_are_400_and_store_nothing() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let ecc = csr(KeyAlgorithm::EcdsaP256, "x");
    let base =
        |product: &str| secure_email_body(product, "multipurpose", "dual_use", &[], &rsa, org);
    let before = order_count(&ts).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["certificate"]["profile_type"] = json!("legacy");
                b
            },
            "invalid_profile_type",
            "profile_type",
        ),
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["certificate"]["usage_designation"]["additional_usages"] =
                    json!(["data_encipherment"]);
                b["certificate"]["csr"] = json!(ecc);
                b
            },
            "invalid_additional_usage",
            "data_encipherment",
        ),
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["certificate"].as_object_mut().unwrap().remove("csr");
                b["reject_if_pending"] = json!(true);
                b
            },
            "order_failed_to_immediately_issue",
            "no CSR",
        ),
        (
            "secure_email_sponsor",
            {
                let mut b = base("secure_email_sponsor");
                b["certificate"]["emails"] = json!(["someone@gmail.com"]);
                b
            },
            "public_email_domain_not_validated",
            "gmail.com",
        ),
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["certificate"]["ca_cert_id"] = json!("0000000000000000");
                b
            },
            "invalid_ca_cert_id",
            "certificate.ca_cert_id",
        ),
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["subject"] = json!({"job_title": "SRE"});
                b
            },
            "field_not_allowed",
            "subject.job_title",
        ),
        (
            "class1_smime",
            json!({"certificate": {"common_name": "x", "emails": ["a@example.com"], "csr": rsa,
                "signature_hash": "sha256"}, "order_validity": {"years": 1}}),
            "field_not_allowed",
            "certificate.common_name",
        ),
        (
            "client_premium",
            json!({"certificate": {"common_name": "Alice Example", "emails": ["a@example.com"], "csr": rsa,
                "signature_hash": "sha256", "common_name_indicator": "given_name_surname",
                "individual": {"first_name": "Alice", "last_name": "Example"}},
                "organization": {"id": org}, "validity_years": 3}),
            "invalid_validity",
            "validity_years",
        ),
        (
            "secure_email_mailbox",
            {
                let mut b = base("secure_email_mailbox");
                b["order_validity"] = json!({"custom_expiration_date": "2027-06-09"});
                b
            },
            "invalid_custom_expiration_date",
            "dd MMM YYYY",
        ),
    ];
    for (product, body, code, needle) in cases {
        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{product} {code}: {v}");
        assert_eq!(v["errors"][0]["code"], code, "{v}");
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    assert_eq!(order_count(&ts).await, before, "nothing was stored");
    // A TLS CA may not issue S/MIME.
    let (_, p) = ts.get("/services/v2/product/ssl_plus").await;
    let mut b = base("secure_email_mailbox");
    b["certificate"]["ca_cert_id"] = p["allowed_ca_certs"][0]["id"].clone();
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_mailbox"), b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "invalid_ca_cert_id");
    ts.stop().await;
}

#[tokio::test]
async fn orders_without_a_csr_wait_for_one() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let mut body = secure_email_body(
        "secure_email_sponsor",
        "strict",
        "key_management",
        &["decipher_only"],
        "",
        org,
    );
    let cert = body["certificate"].as_object_mut().unwrap();
    cert.remove("csr");
    cert.insert("csr_key_type".into(), json!("ecc"));
    cert.insert("key_size".into(), json!("p-384"));
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_sponsor"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none());
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "needs_csr");
    assert_eq!(info["certificate"]["csr_key_type"], "ecc");
    assert_eq!(info["certificate"]["key_size"], 384);

    let path = format!("{ORDER}/{id}/csr");
    // The key must be the one announced.
    for (alg, _why) in [
        (KeyAlgorithm::EcdsaP256, "wrong curve"),
        (KeyAlgorithm::Rsa2048, "RSA"),
    ] {
        let (s, v) = ts.post(&path, json!({"csr": csr(alg, "x")})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let code = v["errors"][0]["code"].as_str().unwrap();
        assert!(
            code == "csr_key_mismatch" || code == "invalid_additional_usage",
            "{v}"
        );
    }
    let (s, v) = ts.post(&path, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "missing_required_field");
    let (s, v) = ts.post(&path, json!({"csr": "garbage"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "csr_invalid_cannot_parse");

    let (s, v) = ts
        .post(&path, json!({"csr": csr(KeyAlgorithm::EcdsaP384, "x")}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "issued", "{v}");
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(
        c.key_usage,
        ["keyAgreement", "decipherOnly"].into_iter().collect()
    );
    let (s, v) = ts
        .post(&path, json!({"csr": csr(KeyAlgorithm::EcdsaP384, "x")}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "order_not_awaiting_csr");

    // A TLS order never waits for a CSR.
    let (_, tls) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{}/csr", tls["id"]),
            json!({"csr": csr(KeyAlgorithm::EcdsaP256, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "order_not_awaiting_csr");

    // Approval first, CSR later: needs_approval → needs_csr → issued.
    ts.set_workflow(1, "one_step").await;
    let mut body = secure_email_body("secure_email_mailbox", "strict", "signing", &[], "", org);
    body["certificate"].as_object_mut().unwrap().remove("csr");
    body["skip_approval"] = json!(false);
    body["disable_generate_in_browser_email"] = json!(true);
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["requests"][0]["status"], "pending");
    let id = v["id"].as_i64().unwrap();
    let (s, _) = ts
        .put(
            &format!("/services/v2/request/{}/status", v["requests"][0]["id"]),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "needs_csr");
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/csr"),
            json!({"csr": csr(KeyAlgorithm::Rsa2048, "x")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "issued");
    ts.stop().await;
}

#[tokio::test]
async fn mailboxes_and_email_domains_are_validated_before_issuance() {
    let ts = TestServer::start(false).await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let mut body = secure_email_body("secure_email_mailbox", "strict", "signing", &[], &rsa, 0);
    body["certificate"]["emails"] = json!(["a@example.com", "b@example.org"]);
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none());
    let (_, ev) = ts.get(&format!("{ORDER}/{id}/email-validation")).await;
    assert_eq!(
        ev["emails"],
        json!([{"email": "a@example.com", "status": "unvalidated"},
               {"email": "b@example.org", "status": "unvalidated"}])
    );
    let validate = |email: &'static str| {
        let ts = &ts;
        async move {
            ts.send(
                reqwest::Method::PUT,
                &format!("/operator/v1/order/{id}/email-validation"),
                Some(&ts.operator_key),
                Some(json!({"email": email})),
            )
            .await
        }
    };
    let (s, _) = validate("a@example.com").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = validate("c@example.com").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "pending", "one address is still unproven");
    let (s, _) = validate("b@example.org").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait_status(&ts, id, "issued").await;

    // Organization products: the organization (smime) and each email
    // domain must be validated.
    let org = ts.create_org().await;
    let body = secure_email_body(
        "secure_email_organization",
        "strict",
        "signing",
        &[],
        &rsa,
        org,
    );
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_organization"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, ev) = ts.get(&format!("{ORDER}/{id}/email-validation")).await;
    assert_eq!(ev["emails"][0]["status"], "unvalidated");
    let op = |path: String, body: Value| {
        let ts = &ts;
        async move {
            ts.send(
                reqwest::Method::PUT,
                &path,
                Some(&ts.operator_key),
                Some(body),
            )
            .await
        }
    };
    let (s, _) = op(
        format!("/operator/v1/organization/{org}/validate"),
        json!({"type": "smime"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, domains) = ts.get("/services/v2/domain").await;
    let d = domains["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "example.com")
        .unwrap()["id"]
        .clone();
    let (s, _) = op(format!("/operator/v1/domain/{d}/validate"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait_status(&ts, id, "issued").await;
    let (_, ev) = ts.get(&format!("{ORDER}/{id}/email-validation")).await;
    assert_eq!(ev["emails"][0]["status"], "validated");
    ts.stop().await;
}

/// S/MIME certificates download like any other, and revocation puts them
/// on their own ICA's CRL.
#[tokio::test]
async fn smime_certificates_download_and_revoke() {
    let ts = TestServer::start(true).await;
    let mut b = secure_email_body(
        "secure_email_mailbox",
        "strict",
        "dual_use",
        &[],
        &csr(KeyAlgorithm::Rsa2048, "x"),
        0,
    );
    b["subject"] = json!({"include_email": true});
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_mailbox"), b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cert_id = v["certificate_id"].as_i64().unwrap();
    let leaf = v["certificate_chain"][0]["pem"]
        .as_str()
        .unwrap()
        .to_string();

    let get = |path: String| {
        let ts = &ts;
        async move {
            let r = ts
                .client
                .get(ts.url(&path))
                .header("X-DC-DEVKEY", &ts.key)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .map(|h| h.to_str().unwrap().to_string());
            (status, ct, r.bytes().await.unwrap())
        }
    };
    let (s, _, body) = get(format!(
        "/services/v2/certificate/{cert_id}/download/format/pem_all"
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 3, "{text}");
    assert!(text
        .replace("\r\n", "\n")
        .starts_with(&leaf.replace("\r\n", "\n")));
    let (s, ct, body) = get(format!(
        "/services/v2/certificate/{cert_id}/download/format/default"
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/zip"));
    assert!(body.starts_with(b"PK"));
    let (_, chain) = ts
        .get(&format!("/services/v2/certificate/{cert_id}/chain"))
        .await;
    assert_eq!(
        chain["intermediates"][1]["subject_common_name"],
        "certwell S/MIME RSA4096 CA1"
    );

    let (s, v) = ts
        .put(
            &format!("/services/v2/certificate/{cert_id}/revoke"),
            json!({"revocation_reason": "keyCompromise", "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (rsa_ca, _) = ca_ids(&ts, "secure_email_mailbox").await;
    let (s, _, crl) = get(format!("/ca/{rsa_ca}.crl")).await;
    assert_eq!(s, StatusCode::OK);
    let dir = ts.dir.path();
    std::fs::write(dir.join("smime.crl"), &crl).unwrap();
    std::fs::write(
        dir.join("smime-ica.pem"),
        chain["intermediates"][1]["pem"].as_str().unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(dir.join("smime.crl"))
        .arg("-CAfile")
        .arg(dir.join("smime-ica.pem"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    let (_, info) = ts
        .get(&format!("{ORDER}/{}", chain_order(&ts, cert_id).await))
        .await;
    assert_eq!(info["status"], "revoked");
    ts.stop().await;
}

async fn chain_order(ts: &TestServer, cert_id: i64) -> i64 {
    let (_, list) = ts
        .get(&format!("{ORDER}?filters[certificate_id]={cert_id}"))
        .await;
    list["orders"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn orders_list_filters_by_email_and_mixed_case_common_name() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let body = secure_email_body(
        "secure_email_sponsor",
        "strict",
        "signing",
        &[],
        &csr(KeyAlgorithm::EcdsaP256, "x"),
        org,
    );
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_sponsor"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].clone();
    for q in [
        "filters[email]=John.Doe@example.com",
        "filters[common_name]=John%20Doe",
        "filters[common_name]=john%20doe",
        "filters[search]=%25doe",
        "filters[product_name_id]=secure_email_sponsor",
    ] {
        let (s, l) = ts.get(&format!("{ORDER}?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {l}");
        assert_eq!(l["orders"][0]["id"], id, "{q}: {l}");
        assert_eq!(
            l["orders"][0]["certificate"]["emails"],
            json!([ADDRESS]),
            "{l}"
        );
    }
    let (_, l) = ts
        .get(&format!("{ORDER}?filters[email]=nobody@example.com"))
        .await;
    assert_eq!(l["page"]["total"], 0, "{l}");
    ts.stop().await;
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// The seeds' 201 shapes under each approval workflow, on the secure-email
/// and the client endpoint (seed order-secure-email.txt 168-199,
/// order-client-certificate.txt 104-131).
#[tokio::test]
async fn workflow_shapes_on_the_smime_and_client_endpoints() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let bodies = [
        ("secure_email_mailbox", {
            let mut b =
                secure_email_body("secure_email_mailbox", "strict", "signing", &[], &rsa, org);
            b.as_object_mut().unwrap().remove("skip_approval");
            b
        }),
        (
            "client_authentication_plus",
            json!({"certificate": {"common_name": "john.doe@example.com", "emails": ["john.doe@example.com"],
                "signature_hash": "sha256", "csr": rsa}, "organization": {"id": org},
                "order_validity": {"years": 1}, "payment_method": "balance"}),
        ),
    ];
    for (product, body) in &bodies {
        ts.set_workflow(1, "one_step").await;
        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        assert_eq!(
            sorted_keys(&v),
            ["id", "requests"],
            "{product} one-step: {v}"
        );
        assert_eq!(v["requests"][0]["status"], "pending");
        let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
        assert_eq!(info["status"], "needs_approval", "{info}");

        ts.set_workflow(1, "two_step").await;
        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        assert_eq!(
            sorted_keys(&v),
            ["id", "requests"],
            "{product} two-step: {v}"
        );
        assert_eq!(v["requests"][0]["status"], "submitted");
        assert!(v["requests"][0]["id"].as_i64().unwrap() > 0);

        ts.set_workflow(1, "auto_approve").await;
        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        assert_eq!(
            v["requests"][0]["status"], "approved",
            "{product} auto: {v}"
        );
        assert!(v["certificate_id"].as_i64().unwrap() > 0, "{v}");
        assert_eq!(
            v["certificate_chain"].as_array().map(Vec::len),
            Some(3),
            "sandbox: issued at once: {v}"
        );
    }
    ts.stop().await;
}

/// `reject_if_pending`: 400 `order_failed_to_immediately_issue` with
/// nothing stored whenever the order would not issue during the request —
/// it needs approval, or a mailbox is not validated yet — and 201 with the
/// chain when it does issue.
#[tokio::test]
async fn reject_if_pending_refuses_every_order_that_would_wait() {
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let mailbox = |skip: bool| {
        let mut b = secure_email_body("secure_email_mailbox", "strict", "signing", &[], &rsa, 0);
        b["skip_approval"] = json!(skip);
        b["reject_if_pending"] = json!(true);
        b
    };
    // Sandbox: validations are done at once.
    let ts = TestServer::start(true).await;
    let before = order_count(&ts).await;
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), mailbox(false))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "needs approval (one-step): {v}");
    assert_eq!(v["errors"][0]["code"], "order_failed_to_immediately_issue");
    assert_eq!(order_count(&ts).await, before, "nothing stored");
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), mailbox(true))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["certificate_chain"].as_array().map(Vec::len),
        Some(3),
        "{v}"
    );
    ts.stop().await;

    // Without the sandbox the mailbox is not validated yet.
    let ts = TestServer::start(false).await;
    let before = order_count(&ts).await;
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), mailbox(true))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unvalidated mailbox: {v}");
    assert_eq!(v["errors"][0]["code"], "order_failed_to_immediately_issue");
    assert_eq!(order_count(&ts).await, before, "nothing stored");
    // The same order without the flag waits for validation.
    let mut b = mailbox(true);
    b.as_object_mut().unwrap().remove("reject_if_pending");
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_mailbox"), b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("certificate_chain").is_none(), "{v}");
    assert_eq!(order_count(&ts).await, before + 1);
    ts.stop().await;
}

/// The seed's truncated examples, completed only with what every order
/// needs (CSR, usage, organization id, validity): the subject-DN example
/// (its name fields at the root, as the seed writes them) and the
/// notice's two examples. Each returns 201 with the chain, and the
/// certificate carries what the seed says.
#[tokio::test]
async fn truncated_seed_examples_return_201() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let complete = |mut b: Value| {
        b["certificate"]["csr"] = json!(rsa);
        b["certificate"]["usage_designation"] = json!({"primary_usage": "signing"});
        b["order_validity"] = json!({"years": 1});
        b["skip_approval"] = json!(true);
        b
    };
    // Subject DN: email, title and serial number in the subject.
    let mut dn = complete(json!({
        "certificate": {"emails": ["example@example.com"]},
        "common_name_indicator": "given_name_surname",
        "individual": {"given_name": "John", "surname": "Doe"},
        "subject": {"include_given_name_surname": true, "include_email": true, "include_pseudonym": false,
            "serial_number": "ABC-123", "job_title": "SRE"}
    }));
    dn["organization"] = json!({"id": org});
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_sponsor"), dn).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    let attr = |c: &common::leaf::Parsed, oid: &str| {
        c.subject
            .iter()
            .find(|(k, _)| k == oid)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attr(&c, EMAIL).as_deref(), Some("example@example.com"));
    assert_eq!(attr(&c, TITLE).as_deref(), Some("SRE"));
    assert_eq!(attr(&c, SERIAL).as_deref(), Some("ABC-123"));
    assert_eq!(attr(&c, GN).as_deref(), Some("John"));
    assert_eq!(attr(&c, SN).as_deref(), Some("Doe"));
    assert_eq!(attr(&c, CN).as_deref(), Some("John Doe"));

    // Mailbox, no name fields, profile_type omitted: the product default
    // (strict; docs/compatibility.md).
    let (s, v) = ts
        .post(
            &format!("{ORDER}/secure_email_mailbox"),
            complete(json!({"certificate": {"emails": ["alice@example.com"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(c.policies, vec!["2.23.140.1.5.1.3"]);
    assert_eq!(attr(&c, CN).as_deref(), Some("alice@example.com"));

    // Sponsor, strict, email common name.
    let mut sp = complete(
        json!({"certificate": {"emails": ["alice@example.com"], "profile_type": "strict",
        "common_name_indicator": "email_address",
        "individual": {"first_name": "Alice", "last_name": "Example"}}}),
    );
    sp["organization"] = json!({"id": org});
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_sponsor"), sp).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(attr(&c, CN).as_deref(), Some("alice@example.com"));
    assert_eq!(c.policies, vec!["2.23.140.1.5.3.3"]);
    ts.stop().await;
}

/// Either spelling of the term on every product: the older root fields on
/// a secure-email order; `certificate.cert_validity` shortens the first
/// certificate, not the order.
#[tokio::test]
async fn root_validity_fields_and_cert_validity_on_secure_email() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let mut b = secure_email_body(
        "secure_email_mailbox",
        "multipurpose",
        "dual_use",
        &[],
        &rsa,
        org,
    );
    b.as_object_mut().unwrap().remove("order_validity");
    b["validity_years"] = json!(2);
    b["certificate"]["cert_validity"] = json!({"custom_expiration_date": "not a date"});
    let (s, e) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), b.clone())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["code"], "invalid_custom_expiration_date");
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("certificate.cert_validity.custom_expiration_date"),
        "{e}"
    );
    b["certificate"]["cert_validity"] = json!({"days": 30});
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_mailbox"), b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(c.validity_seconds, 30 * 86400 - 1);
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["order_validity"], json!({"years": 2}));
    assert_eq!(info["certificate"]["cert_validity"], json!({"days": 30}));
    assert_eq!(info["is_multi_year_plan"], "1");
    ts.stop().await;
}
