//! TLS ordering end to end: every seed example on every product, the
//! response shapes, the issued certificates (parsed, verified, linted).

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

#[tokio::test]
async fn every_tls_product_issues_immediately_with_the_seed_body() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    for product in TLS_PRODUCTS {
        let body = seed_order(
            product,
            org,
            &csr(KeyAlgorithm::Rsa2048, "ignored.example.net"),
        );
        let (s, v) = ts
            .post(&format!("/services/v2/order/certificate/{product}"), body)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        // "201 (immediate)": exactly id, certificate_id, certificate_chain
        assert_eq!(
            keys(&v),
            ["certificate_chain", "certificate_id", "id"],
            "{product}: {v}"
        );
        let chain = v["certificate_chain"].as_array().unwrap();
        assert_eq!(chain.len(), 3, "{product}: leaf, ICA, root");
        let cn = if product.contains("wildcard") {
            "*.example.com"
        } else {
            "example.com"
        };
        assert_eq!(chain[0]["subject_common_name"], cn);
        let ev = product.contains("_ev_");
        let ica_name = chain[1]["subject_common_name"].as_str().unwrap();
        assert_eq!(
            ica_name.contains(" EV "),
            ev,
            "{product} issued by {ica_name}"
        );
        assert_eq!(chain[2]["subject_common_name"], "certwell TLS Root CA E1");
        let leaf = chain[0]["pem"].as_str().unwrap();
        assert!(leaf.starts_with("-----BEGIN CERTIFICATE-----\r\n"));
        openssl_verify(
            ts.dir.path(),
            leaf,
            chain[1]["pem"].as_str().unwrap(),
            chain[2]["pem"].as_str().unwrap(),
        );

        let text = openssl_text(ts.dir.path(), leaf);
        assert!(
            text.contains(&format!(
                "DNS:{cn}, DNS:sub.example.com, DNS:app.example.com"
            )),
            "{product}: {text}"
        );
        assert!(text.contains("TLS Web Server Authentication"));
        assert!(
            !text.contains("TLS Web Client Authentication"),
            "serverAuth only"
        );
        assert!(
            text.contains(if ev {
                "Policy: 2.23.140.1.1"
            } else {
                "Policy: 2.23.140.1.2.2"
            }),
            "{text}"
        );
        assert!(
            text.contains("Subject: C = US, ST = Utah, L = Lindon"),
            "{text}"
        );
        assert!(!text.contains("OU ="), "OU is prohibited in TLS subjects");
        if ev {
            assert!(
                text.contains("businessCategory = Private Organization"),
                "{text}"
            );
            assert!(text.contains("jurisdictionC = US"), "{text}");
            assert!(text.contains("serialNumber = 1234567"), "{text}");
        }
        assert!(text.contains("X509v3 CRL Distribution Points"));
        assert!(text.contains("CA Issuers - URI:http://pki.certwell.example.com/ca/"));

        assert_serverauth_lint_clean(&ts, product, ev, leaf);
        // lint_pkix_cert is not used for TLS leaves: it warns when the SKI is
        // absent (RFC 5280 SHOULD) while the BR profile (which the serverauth
        // linter applies, superseding the PKIX rule) says SKI is NOT RECOMMENDED.
    }
    ts.stop().await;
}

/// pkilint's serverauth linter for an OV or EV leaf: clean but for the
/// documented CN-presence warnings.
fn assert_serverauth_lint_clean(ts: &TestServer, product: &str, ev: bool, leaf: &str) {
    let t = if ev {
        "EV-FINAL-CERTIFICATE"
    } else {
        "OV-FINAL-CERTIFICATE"
    };
    if let Some(findings) =
        pkilint_findings(ts.dir.path(), "lint_cabf_serverauth_cert", &["-t", t], leaf)
    {
        let allowed = [
            "cabf.serverauth.ov.common_name_attribute_present (WARNING)",
            "cabf.ev_guidelines.common_name_attribute_present (WARNING)",
        ];
        let bad: Vec<_> = findings
            .iter()
            .filter(|f| !allowed.contains(&f.as_str()))
            .collect();
        assert!(bad.is_empty(), "{product}: pkilint findings {bad:?}");
    }
}

/// The vendor's current TLS products beyond the seeds are listed and issue
/// on certwell's OV or EV profile; the Flex ones take a wildcard common
/// name, EV ones no wildcard at all.
#[tokio::test]
async fn current_vendor_products_issue_on_their_profiles() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, list) = ts.get("/services/v2/product").await;
    let ids: Vec<String> = list["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name_id"].as_str().unwrap().to_string())
        .collect();
    for (product, cn, ev) in [
        ("ssl_basic", "*.example.com", false),
        ("ssl_ev_basic", "example.com", true),
        ("ssl_securesite_pro", "*.example.com", false),
        ("ssl_ev_securesite_pro", "example.com", true),
        ("ssl_securesite_flex", "example.com", false),
        ("ssl_ev_securesite_flex", "example.com", true),
        ("ssl_geotrust_truebizid", "example.com", false),
        ("private_ssl_flex", "*.example.com", false),
        ("private_ssl_plus", "example.com", false),
        ("private_ssl_wildcard", "*.example.com", false),
        ("private_ssl_multi_domain", "example.com", false),
    ] {
        assert!(ids.iter().any(|i| i == product), "{product} listed");
        let mut body = seed_order(product, org, &csr(KeyAlgorithm::EcdsaP256, "x"));
        body["certificate"]["common_name"] = json!(cn);
        let (s, v) = ts
            .post(
                &format!("/services/v2/order/certificate/{product}"),
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{product}: {v}");
        let chain = v["certificate_chain"].as_array().unwrap();
        assert_eq!(chain[0]["subject_common_name"], cn, "{product}");
        let ica = chain[1]["subject_common_name"].as_str().unwrap();
        assert_eq!(ica.contains(" EV "), ev, "{product} issued by {ica}");
        assert_serverauth_lint_clean(&ts, product, ev, chain[0]["pem"].as_str().unwrap());
        if ev {
            body["certificate"]["dns_names"] = json!(["*.example.com"]);
            let (s, e) = ts
                .post(&format!("/services/v2/order/certificate/{product}"), body)
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{product}");
            assert_eq!(e["errors"][0]["code"], "wildcard_not_allowed", "{product}");
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn without_common_name_the_lint_is_fully_clean() {
    let mut cfg = config(true);
    cfg.include_common_name = false;
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    for (product, alg) in [
        ("ssl_plus", KeyAlgorithm::EcdsaP256),
        ("ssl_ev_plus", KeyAlgorithm::Rsa3072),
        ("ssl_wildcard", KeyAlgorithm::EcdsaP384),
    ] {
        let (s, v) = ts
            .post(
                &format!("/services/v2/order/certificate/{product}"),
                seed_order(product, org, &csr(alg, "x")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let leaf = v["certificate_chain"][0]["pem"].as_str().unwrap();
        let text = openssl_text(ts.dir.path(), leaf);
        let subject = text
            .lines()
            .find(|l| l.trim_start().starts_with("Subject:"))
            .unwrap();
        assert!(
            !subject.contains("CN = "),
            "no CN in the subject: {subject}"
        );
        let t = if product.contains("_ev_") {
            "EV-FINAL-CERTIFICATE"
        } else {
            "OV-FINAL-CERTIFICATE"
        };
        if let Some(f) =
            pkilint_findings(ts.dir.path(), "lint_cabf_serverauth_cert", &["-t", t], leaf)
        {
            assert!(f.is_empty(), "{product}: {f:?}");
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn validity_is_capped_and_the_order_keeps_its_term() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let der = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let val = cert.tbs_certificate().validity();
    let nb = val.not_before.to_unix_duration().as_secs();
    let na = val.not_after.to_unix_duration().as_secs();
    assert_eq!(
        na - nb,
        199 * 86400 - 1,
        "199 days minus one second (BR SHOULD-NOT maximum in force)"
    );
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["validity_years"], 2);
    assert_eq!(info["certificate"]["cert_validity"], json!({"years": 2}));
    let till = info["order_valid_till"].as_str().unwrap();
    let year_now: i32 = time::OffsetDateTime::now_utc().year();
    assert!(
        till.starts_with(&(year_now + 2).to_string()),
        "order term is two years: {till}"
    );

    // validity_days overrides years; a short term caps the certificate
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["validity_days"] = json!(10);
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cert = x509_cert::Certificate::from_der(&pem_to_der(
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    ))
    .unwrap();
    let val = cert.tbs_certificate().validity();
    assert_eq!(
        val.not_after.to_unix_duration().as_secs() - val.not_before.to_unix_duration().as_secs(),
        10 * 86400 - 1
    );

    // configured private-PKI cap
    let mut cfg = config(true);
    cfg.tls_max_validity_days = Some(30);
    let ts2 = TestServer::start_with(cfg).await;
    let org2 = ts2.create_org().await;
    let (_, v) = ts2
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org2, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    let cert = x509_cert::Certificate::from_der(&pem_to_der(
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    ))
    .unwrap();
    let val = cert.tbs_certificate().validity();
    assert_eq!(
        val.not_after.to_unix_duration().as_secs() - val.not_before.to_unix_duration().as_secs(),
        30 * 86400 - 1
    );
    ts.stop().await;
    ts2.stop().await;
}

fn validity_seconds(v: &Value) -> u64 {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(&pem_to_der(
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    ))
    .unwrap();
    let val = cert.tbs_certificate().validity();
    val.not_after.to_unix_duration().as_secs() - val.not_before.to_unix_duration().as_secs()
}

/// The vendor's current form: `order_validity` for the plan, an optional
/// shorter first certificate (`certificate.cert_validity`); the next
/// certificate of the plan is a reissue and runs to the BR maximum.
#[tokio::test]
async fn order_validity_plans_and_a_shorter_first_certificate() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body.as_object_mut().unwrap().remove("validity_years");
    body["order_validity"] = json!({"years": 2});
    body["certificate"]["cert_validity"] = json!({"days": 30});
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(validity_seconds(&v), 30 * 86400 - 1);
    let id = v["id"].as_i64().unwrap();
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{id}"))
        .await;
    assert_eq!(info["order_validity"], json!({"years": 2}));
    assert_eq!(info["validity_years"], 2);
    assert_eq!(info["certificate"]["cert_validity"], json!({"days": 30}));
    assert_eq!(info["is_multi_year_plan"], "1");
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(info["order_valid_from"], today.to_string());
    let till = info["order_valid_till"].as_str().unwrap();
    assert!(till.starts_with(&(today.year() + 2).to_string()), "{till}");
    assert!(info["certificate"]["valid_till"].as_str().unwrap() < till);

    // The plan's next certificate: a reissue, as long as the BR allow.
    let (s, r) = ts
        .post(
            &format!("/services/v2/order/certificate/{id}/reissue"),
            json!({"certificate": {"common_name": "example.com",
                "csr": csr(KeyAlgorithm::EcdsaP256, "x"), "signature_hash": "sha256"},
                "skip_approval": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let br_days = certwell_policy::validity::tls_br_max_days(time::OffsetDateTime::now_utc());
    assert_eq!(validity_seconds(&r), br_days as u64 * 86400 - 1);

    // Both forms given: the current one counts.
    body["validity_years"] = json!(1);
    body["order_validity"] = json!({"days": 20});
    body["certificate"]
        .as_object_mut()
        .unwrap()
        .remove("cert_validity");
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(validity_seconds(&v), 20 * 86400 - 1);
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["order_validity"], json!({"days": 20}));
    assert!(info.get("is_multi_year_plan").is_none(), "{info}");

    // A first certificate may not outlive its order.
    body["certificate"]["cert_validity"] = json!({"years": 1});
    let (s, e) = ts
        .post("/services/v2/order/certificate/ssl_plus", body.clone())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        e["errors"][0]["code"],
        "cert_validity_exceeds_order_validity"
    );
    // Neither form: the error names both.
    body.as_object_mut().unwrap().remove("validity_years");
    body.as_object_mut().unwrap().remove("order_validity");
    let (s, e) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], "missing_required_field");
    let msg = e["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("'order_validity'") && msg.contains("'validity_years'"),
        "{msg}"
    );
    ts.stop().await;
}

#[tokio::test]
async fn ca_cert_id_picks_the_issuing_ca() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (_, p) = ts.get("/services/v2/product/ssl_plus").await;
    let cas = p["allowed_ca_certs"].as_array().unwrap().clone();
    assert_eq!(cas.len(), 2, "RSA and ECC OV ICAs: {p}");
    let ecc = cas
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains("ECC"))
        .unwrap();
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::Rsa2048, "x"));
    body["certificate"]["ca_cert_id"] = ecc["id"].clone();
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["certificate_chain"][1]["subject_common_name"],
        ecc["name"]
    );
    let text = openssl_text(
        ts.dir.path(),
        v["certificate_chain"][0]["pem"].as_str().unwrap(),
    );
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{text}"
    );
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    assert_eq!(info["certificate"]["ca_cert"]["id"], ecc["id"]);

    // the EV product does not allow an OV ICA; unknown ids are refused
    let (_, evp) = ts.get("/services/v2/product/ssl_ev_plus").await;
    assert_eq!(evp["allowed_ca_certs"].as_array().unwrap().len(), 1);
    for bad in [ecc["id"].clone(), json!("0123456789ABCDEF")] {
        let mut body = seed_order("ssl_ev_plus", org, &csr(KeyAlgorithm::Rsa2048, "x"));
        body["certificate"]["ca_cert_id"] = bad;
        let (s, v) = ts
            .post("/services/v2/order/certificate/ssl_ev_plus", body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["errors"][0]["code"], "invalid_ca_cert_id");
    }
    ts.stop().await;
}

#[tokio::test]
async fn inline_organization_is_created_once_and_reused() {
    let ts = TestServer::start(true).await;
    let mut body = seed_order("ssl_plus", 0, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["organization"] = org_body("Inline Org LLC");
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let org_id = v["organization"]["id"]
        .as_i64()
        .expect("new organization id in the response");
    // the same inline organization again: the duplicate check reuses it
    body["certificate"]["csr"] = json!(csr(KeyAlgorithm::EcdsaP256, "x"));
    let (s, v2) = ts
        .post("/services/v2/order/certificate/ssl_plus", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        v2.get("organization").is_none(),
        "no new organization: {v2}"
    );
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v2["id"]))
        .await;
    assert_eq!(info["organization"]["id"], org_id);
    // skip_duplicate_org_check forces a new one
    body["organization"]["skip_duplicate_org_check"] = json!(true);
    let (_, v3) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_ne!(v3["organization"]["id"].as_i64().unwrap(), org_id);
    let (_, orgs) = ts.get("/services/v2/organization").await;
    assert_eq!(orgs["page"]["total"], 2);
    ts.stop().await;
}
