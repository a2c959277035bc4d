//! S/MIME and client certificate profiles over HTTP (seeds
//! order-secure-email.txt and order-client-certificate.txt): every
//! product, profile, key type and usage combination, with the issued
//! certificates parsed field by field and linted with pkilint.

mod common;

use certwell_ca::KeyAlgorithm;
use common::leaf::parse;
use common::smime::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_product_profile_key_and_usage_yields_the_seed_profile() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (rsa_ca, ecc_ca) = ca_ids(&ts, "secure_email_mailbox").await;
    let keys = [Key::Rsa, Key::P256, Key::P384];
    let csrs: Vec<String> = keys.iter().map(|k| csr(k.alg(), "ignored")).collect();
    let mut jobs = Vec::new();
    let mut pss_chains = Vec::new();
    let started = std::time::Instant::now();
    let (mut issued, mut refused, mut n) = (0, 0, 0usize);
    for product in [
        "secure_email_mailbox",
        "secure_email_organization",
        "secure_email_sponsor",
    ] {
        for profile in ["strict", "multipurpose"] {
            for (key, csr_pem) in keys.iter().zip(&csrs) {
                for primary in PRIMARY {
                    for extras in subsets() {
                        let mut body =
                            secure_email_body(product, profile, primary, &extras, csr_pem, org);
                        // Vary the issuing CA, the hash, PSS and the subject email.
                        n += 1;
                        let hash = ["sha256", "sha384", "sha512"][n % 3];
                        let pss = n % 2 == 0;
                        let include_email = n % 4 < 2;
                        if key.rsa() {
                            body["certificate"]["ca_cert_id"] = json!(rsa_ca);
                            body["certificate"]["is_rsassa_pss"] = json!(pss);
                        } else {
                            body["certificate"]["ca_cert_id"] = json!(ecc_ca);
                        }
                        body["certificate"]["signature_hash"] = json!(hash);
                        body["subject"]["include_email"] = json!(include_email);
                        let label = format!("{product}/{profile}/{key:?}/{primary}+{extras:?}");
                        let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
                        if !combination_allowed(&extras, primary, profile, *key) {
                            assert_eq!(s, StatusCode::BAD_REQUEST, "{label}: {v}");
                            assert_eq!(
                                v["errors"][0]["code"], "invalid_additional_usage",
                                "{label}: {v}"
                            );
                            refused += 1;
                            continue;
                        }
                        assert_eq!(s, StatusCode::CREATED, "{label}: {v}");
                        let pem = v["certificate_chain"][0]["pem"]
                            .as_str()
                            .unwrap_or_else(|| panic!("{label}: not issued at once: {v}"));
                        let c = parse(pem);
                        assert_eq!(c.key_usage, expected_ku(primary, &extras, *key), "{label}");
                        assert!(c.key_usage_critical, "{label}");
                        let mut eku = vec![OID_EMAIL_PROTECTION.to_string()];
                        if extras.contains(&"client_auth") {
                            eku.push(OID_CLIENT_AUTH.into());
                        }
                        assert_eq!(c.eku, eku, "{label}");
                        assert_eq!(c.policies, vec![policy_oid(product, profile)], "{label}");
                        assert_eq!(c.emails, vec![ADDRESS.to_string()], "{label}");
                        assert_eq!(c.upn, None);
                        assert_eq!(
                            c.subject,
                            expected_subject(product, include_email),
                            "{label}"
                        );
                        let sig = match (key, pss, hash) {
                            (Key::Rsa, true, _) => "1.2.840.113549.1.1.10",
                            (Key::Rsa, false, "sha256") => "1.2.840.113549.1.1.11",
                            (Key::Rsa, false, "sha384") => "1.2.840.113549.1.1.12",
                            (Key::Rsa, false, _) => "1.2.840.113549.1.1.13",
                            // The P-384 ICA signs with SHA-384 whatever was asked.
                            _ => "1.2.840.10045.4.3.3",
                        };
                        assert_eq!(c.signature_oid, sig, "{label}");
                        assert!(c.validity_seconds <= 824 * 86400, "{label}");
                        if key.rsa() && pss {
                            let purpose = if primary == "key_management" {
                                "smimeencrypt"
                            } else {
                                "smimesign"
                            };
                            pss_chains.push((
                                purpose,
                                (0..3)
                                    .map(|i| {
                                        v["certificate_chain"][i]["pem"]
                                            .as_str()
                                            .unwrap()
                                            .to_string()
                                    })
                                    .collect::<Vec<_>>(),
                            ));
                        }
                        jobs.push(LintJob {
                            linter: "lint_cabf_smime_cert",
                            args: vec!["-d"],
                            pem: pem.to_string(),
                            label,
                        });
                        issued += 1;
                    }
                }
            }
        }
    }
    eprintln!("orders done after {:?}", started.elapsed());
    // 3 products × (RSA strict 5 + multipurpose 16 + 2 curves × (11 + 22)).
    assert_eq!(issued, 3 * (5 + 16 + 2 * (11 + 22)), "issued");
    assert_eq!(refused, 3 * 2 * 3 * 3 * 32 - issued, "refused");
    if let Some(failures) = pkilint_batch(ts.dir.path(), &jobs) {
        assert!(
            failures.is_empty(),
            "{} of {} certificates fail pkilint:\n{}",
            failures.len(),
            jobs.len(),
            failures.join("\n")
        );
    }
    eprintln!("lint done after {:?}", started.elapsed());
    // pkilint's chain check mis-reports RSASSA-PSS; openssl verifies those.
    assert!(pss_chains.len() > 20, "{}", pss_chains.len());
    for (purpose, chain) in &pss_chains {
        openssl_verify_smime(ts.dir.path(), purpose, chain);
    }
    ts.stop().await;
}

/// The client endpoint's products for each key type: fixed usages,
/// Multipurpose for the S/MIME ones, plain client authentication otherwise.
#[tokio::test]
async fn client_products_issue_their_fixed_profiles() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let mut jobs = Vec::new();
    for key in [Key::Rsa, Key::P256, Key::P384] {
        let csr_pem = csr(key.alg(), "x");
        let ke = if key.rsa() {
            "keyEncipherment"
        } else {
            "keyAgreement"
        };
        for (product, ku, eku, subject) in [
            (
                "client_premium",
                vec!["digitalSignature", ke],
                vec![OID_EMAIL_PROTECTION, OID_CLIENT_AUTH],
                Some("Alice Example"),
            ),
            (
                "client_digital_signature_plus",
                vec!["digitalSignature", "nonRepudiation"],
                vec![OID_EMAIL_PROTECTION, OID_CLIENT_AUTH],
                Some("Alice Example"),
            ),
            (
                "client_email_security_plus",
                vec!["digitalSignature", ke],
                vec![OID_EMAIL_PROTECTION],
                Some("Alice Example"),
            ),
            (
                "class1_smime",
                vec!["digitalSignature", ke],
                vec![OID_EMAIL_PROTECTION],
                None,
            ),
            (
                "client_authentication_plus",
                vec!["digitalSignature"],
                vec![OID_CLIENT_AUTH],
                Some("Alice Example"),
            ),
        ] {
            let mut body = json!({
                "certificate": {
                    "emails": ["alice@example.com"],
                    "signature_hash": "sha256",
                    "csr": csr_pem,
                },
                "skip_approval": true,
                "order_validity": {"years": 1}
            });
            if let Some(cn) = subject {
                body["certificate"]["common_name"] = json!(cn);
                body["organization"] = json!({"id": org});
            }
            if product != "client_authentication_plus" && subject.is_some() {
                body["certificate"]["common_name_indicator"] = json!("given_name_surname");
                body["certificate"]["individual"] =
                    json!({"first_name": "Alice", "last_name": "Example"});
            }
            let label = format!("{product}/{key:?}");
            let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
            assert_eq!(s, StatusCode::CREATED, "{label}: {v}");
            let pem = v["certificate_chain"][0]["pem"].as_str().unwrap();
            let c = parse(pem);
            assert_eq!(c.key_usage, ku.into_iter().collect(), "{label}");
            assert_eq!(c.eku, eku, "{label}");
            assert_eq!(c.emails, vec!["alice@example.com"], "{label}");
            let expected = match product {
                "class1_smime" => attrs(&[(CN, "alice@example.com")]),
                "client_authentication_plus" => attrs(&[
                    (C, "US"),
                    (ST, "Utah"),
                    (L, "Lindon"),
                    (O, "Example Inc."),
                    (CN, "Alice Example"),
                ]),
                _ => {
                    let mut v = org_attrs();
                    v.extend([(GN, "Alice"), (SN, "Example"), (CN, "Alice Example")]);
                    attrs(&v)
                }
            };
            assert_eq!(c.subject, expected, "{label}");
            if product == "client_authentication_plus" {
                assert_eq!(c.policies, vec!["1.3.6.1.4.1.32473.1.3"]);
                assert!(
                    v["certificate_chain"][1]["subject_common_name"]
                        .as_str()
                        .unwrap()
                        .contains("Client Authentication"),
                    "client authentication has its own ICA: {v}"
                );
                jobs.push(LintJob {
                    linter: "lint_pkix_cert",
                    args: vec![],
                    pem: pem.into(),
                    label,
                });
            } else {
                assert_eq!(c.policies, vec![policy_oid(product, "multipurpose")]);
                jobs.push(LintJob {
                    linter: "lint_cabf_smime_cert",
                    args: vec!["-d"],
                    pem: pem.into(),
                    label,
                });
            }
        }
    }
    if let Some(failures) = pkilint_batch(ts.dir.path(), &jobs) {
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    ts.stop().await;
}

#[tokio::test]
async fn sponsor_options_upn_pseudonym_title_and_pss_chain() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (rsa_ca, _) = ca_ids(&ts, "secure_email_sponsor").await;
    let body = json!({
        "certificate": {
            "profile_type": "multipurpose",
            "emails": ["agent@example.com", "agent7@example.com"],
            "csr": csr(KeyAlgorithm::Rsa3072, "x"),
            "signature_hash": "sha512",
            "is_rsassa_pss": true,
            "ca_cert_id": rsa_ca,
            "common_name_indicator": "pseudonym",
            "individual": {"pseudonym": "Agent 7"},
            "user_principle_name": ["agent7@corp.example.com"],
            "usage_designation": {"primary_usage": "signing", "additional_usages": ["non_repudiation", "client_auth"]}
        },
        "skip_approval": true,
        "organization": {"id": org},
        "order_validity": {"days": 825},
        "subject": {"include_email": true, "job_title": "Field Agent", "serial_number": "A-007"}
    });
    let (s, v) = ts
        .post(&format!("{ORDER}/secure_email_sponsor"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let chain: Vec<String> = v["certificate_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pem"].as_str().unwrap().to_string())
        .collect();
    let c = parse(&chain[0]);
    let mut expected = org_attrs();
    expected.extend([
        (PSEUDONYM, "Agent 7"),
        (TITLE, "Field Agent"),
        (SERIAL, "A-007"),
        (CN, "Agent 7"),
        (EMAIL, "agent@example.com"),
    ]);
    assert_eq!(c.subject, attrs(&expected));
    assert_eq!(c.emails, vec!["agent@example.com", "agent7@example.com"]);
    assert_eq!(c.upn.as_deref(), Some("agent7@corp.example.com"));
    assert_eq!(c.signature_oid, "1.2.840.113549.1.1.10");
    assert_eq!(c.policies, vec!["2.23.140.1.5.3.2"]);
    // 825 days ordered; the certificate stops one day short of the SBR maximum.
    assert_eq!(c.validity_seconds, 824 * 86400 - 1);
    let (_, info) = ts.get(&format!("{ORDER}/{}", v["id"])).await;
    assert_eq!(info["order_validity"], json!({"days": 825}));
    assert_eq!(info["certificate"]["profile_type"], "multipurpose");
    assert_eq!(
        info["certificate"]["usage_designation"],
        json!({"primary_usage": "signing", "additional_usages": ["non_repudiation", "client_auth"]})
    );
    assert_eq!(
        info["certificate"]["user_principle_name"],
        json!(["agent7@corp.example.com"])
    );

    // openssl accepts the RSASSA-PSS chain for S/MIME signing.
    let dir = ts.dir.path();
    openssl_verify_smime(dir, "smimesign", &chain);
    if let Some(f) = pkilint_batch(
        dir,
        &[LintJob {
            linter: "lint_cabf_smime_cert",
            args: vec!["-d"],
            pem: chain[0].clone(),
            label: "sponsor pseudonym PSS".into(),
        }],
    ) {
        assert!(f.is_empty(), "{}", f.join("\n"));
    }
    ts.stop().await;
}

#[tokio::test]
async fn the_default_profile_is_a_product_setting() {
    let ts = TestServer::start(true).await;
    let rsa = csr(KeyAlgorithm::Rsa2048, "x");
    let body = || {
        let mut b = secure_email_body("secure_email_mailbox", "strict", "signing", &[], &rsa, 0);
        b["certificate"]
            .as_object_mut()
            .unwrap()
            .remove("profile_type");
        b
    };
    let (_, p) = ts.get("/services/v2/product/secure_email_mailbox").await;
    assert_eq!(p["default_profile_type"], "strict");
    let (_, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), body())
        .await;
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(c.policies, vec!["2.23.140.1.5.1.3"]);

    let settings = |b: Value| {
        let ts = &ts;
        async move {
            ts.send(
                reqwest::Method::PUT,
                "/operator/v1/accounts/1/settings",
                Some(&ts.operator_key),
                Some(b),
            )
            .await
        }
    };
    let (s, _) =
        settings(json!({"smime_default_profiles": {"secure_email_mailbox": "multipurpose"}})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) =
        settings(json!({"smime_default_profiles": {"secure_email_mailbox": "legacy"}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = settings(json!({"smime_default_profiles": {"ssl_plus": "strict"}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, p) = ts.get("/services/v2/product/secure_email_mailbox").await;
    assert_eq!(p["default_profile_type"], "multipurpose");
    let (_, v) = ts
        .post(&format!("{ORDER}/secure_email_mailbox"), body())
        .await;
    let c = parse(v["certificate_chain"][0]["pem"].as_str().unwrap());
    assert_eq!(c.policies, vec!["2.23.140.1.5.1.2"]);
    // Other products keep the default.
    let (_, p) = ts.get("/services/v2/product/secure_email_sponsor").await;
    assert_eq!(p["default_profile_type"], "strict");
    ts.stop().await;
}

/// The batch linter's cached-validator path reports what pkilint's CLI
/// reports: an S/MIME issuing CA linted as a subscriber has findings in
/// both, a subscriber certificate has none in both.
#[tokio::test]
async fn the_batch_linter_agrees_with_the_pkilint_cli() {
    let ts = TestServer::start(true).await;
    let mut b = secure_email_body(
        "secure_email_mailbox",
        "strict",
        "signing",
        &[],
        &csr(KeyAlgorithm::EcdsaP256, "x"),
        0,
    );
    b["subject"] = json!({"include_email": true});
    let (s, v) = ts.post(&format!("{ORDER}/secure_email_mailbox"), b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let leaf = v["certificate_chain"][0]["pem"]
        .as_str()
        .unwrap()
        .to_string();
    let ica = v["certificate_chain"][1]["pem"]
        .as_str()
        .unwrap()
        .to_string();
    let job = |pem: &str, label: &str| LintJob {
        linter: "lint_cabf_smime_cert",
        args: vec!["-d"],
        pem: pem.to_string(),
        label: label.into(),
    };
    let Some(batch) = pkilint_batch(ts.dir.path(), &[job(&leaf, "leaf"), job(&ica, "ica")]) else {
        return;
    };
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert!(batch[0].starts_with("ica: exit "), "{batch:?}");
    let cli_leaf = pkilint_findings(ts.dir.path(), "lint_cabf_smime_cert", &["-d"], &leaf).unwrap();
    let cli_ica = pkilint_findings(ts.dir.path(), "lint_cabf_smime_cert", &["-d"], &ica).unwrap();
    assert!(cli_leaf.is_empty(), "{cli_leaf:?}");
    assert!(!cli_ica.is_empty());
    for code in cli_ica {
        let code = code.split(' ').next().unwrap();
        assert!(
            batch[0].contains(code),
            "the batch misses {code}: {}",
            batch[0]
        );
    }
    ts.stop().await;
}

/// Subject variants the usage matrix does not reach, each under both
/// profiles and for RSA and P-256 keys, issued and linted with
/// `lint_cabf_smime_cert -d`: organization with an email CN, sponsor with
/// an email CN, sponsor with a pseudonym, sponsor with title and serial.
#[tokio::test]
async fn subject_variants_pass_pkilint() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (rsa_ca, ecc_ca) = ca_ids(&ts, "secure_email_sponsor").await;
    let variants: Vec<(&str, &str, Value, Value)> = vec![
        (
            "secure_email_organization",
            "email_address",
            json!({}),
            json!({"include_email": true}),
        ),
        (
            "secure_email_sponsor",
            "email_address",
            json!({"first_name": "John", "last_name": "Doe"}),
            json!({"include_email": true}),
        ),
        (
            "secure_email_sponsor",
            "pseudonym",
            json!({"pseudonym": "Agent 7"}),
            json!({"include_pseudonym": true}),
        ),
        (
            "secure_email_sponsor",
            "given_name_surname",
            json!({"first_name": "John", "last_name": "Doe"}),
            json!({"include_given_name_surname": true, "job_title": "SRE", "serial_number": "ABC-123"}),
        ),
    ];
    let mut jobs = Vec::new();
    for (product, indicator, individual, subject) in &variants {
        for profile in ["strict", "multipurpose"] {
            for (alg, ca) in [
                (KeyAlgorithm::Rsa2048, &rsa_ca),
                (KeyAlgorithm::EcdsaP256, &ecc_ca),
            ] {
                let mut body = json!({
                    "certificate": {
                        "profile_type": profile,
                        "emails": [ADDRESS],
                        "csr": csr(alg, "x"),
                        "ca_cert_id": ca,
                        "common_name_indicator": indicator,
                        "usage_designation": {"primary_usage": "signing"}
                    },
                    "skip_approval": true,
                    "organization": {"id": org},
                    "order_validity": {"years": 1},
                    "subject": subject
                });
                if individual.as_object().is_some_and(|o| !o.is_empty()) {
                    body["certificate"]["individual"] = individual.clone();
                }
                let label = format!("{product}/{indicator}/{profile}/{alg:?} {subject}");
                let (s, v) = ts.post(&format!("{ORDER}/{product}"), body).await;
                assert_eq!(s, StatusCode::CREATED, "{label}: {v}");
                let pem = v["certificate_chain"][0]["pem"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let c = parse(&pem);
                let cn = &c.subject.iter().find(|(k, _)| k == CN).unwrap().1;
                match *indicator {
                    "email_address" => assert_eq!(cn, ADDRESS, "{label}"),
                    "pseudonym" => {
                        assert_eq!(cn, "Agent 7", "{label}");
                        assert!(
                            c.subject
                                .iter()
                                .any(|(k, v)| k == PSEUDONYM && v == "Agent 7"),
                            "{label}"
                        );
                    }
                    _ => {
                        assert_eq!(cn, "John Doe", "{label}");
                        assert!(
                            c.subject.iter().any(|(k, v)| k == TITLE && v == "SRE"),
                            "{label}"
                        );
                        assert!(
                            c.subject.iter().any(|(k, v)| k == SERIAL && v == "ABC-123"),
                            "{label}"
                        );
                    }
                }
                jobs.push(LintJob {
                    linter: "lint_cabf_smime_cert",
                    args: vec!["-d"],
                    pem,
                    label,
                });
            }
        }
    }
    assert_eq!(jobs.len(), 16);
    if let Some(failures) = pkilint_batch(ts.dir.path(), &jobs) {
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    ts.stop().await;
}
