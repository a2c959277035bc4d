//! S/MIME and client certificates over HTTP (seeds order-secure-email.txt
//! and order-client-certificate.txt): every product, profile, key type and
//! usage combination, with the issued certificates parsed field by field
//! and linted with pkilint.

mod common;

use std::collections::BTreeSet;

use certwell_ca::KeyAlgorithm;
use common::leaf::parse;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";
const OID_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

// ---- the seed's usage tables, written out independently of the code -------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Key {
    Rsa,
    P256,
    P384,
}

impl Key {
    fn rsa(self) -> bool {
        self == Key::Rsa
    }
    fn alg(self) -> KeyAlgorithm {
        match self {
            Key::Rsa => KeyAlgorithm::Rsa2048,
            Key::P256 => KeyAlgorithm::EcdsaP256,
            Key::P384 => KeyAlgorithm::EcdsaP384,
        }
    }
}

const PRIMARY: [&str; 3] = ["signing", "key_management", "dual_use"];
const EXTRA: [&str; 5] = [
    "non_repudiation",
    "data_encipherment",
    "client_auth",
    "encipher_only",
    "decipher_only",
];

/// Is `extra` allowed with `primary`, `profile` and key type (seed tables)?
fn seed_allows(extra: &str, primary: &str, profile: &str, key: Key) -> bool {
    let (primaries, profiles, rsa_ok, ecc_ok): (&[&str], &[&str], bool, bool) = match extra {
        "non_repudiation" => (
            &["signing", "dual_use"],
            &["strict", "multipurpose"],
            true,
            true,
        ),
        "data_encipherment" => (
            &["key_management", "dual_use"],
            &["multipurpose"],
            true,
            false,
        ),
        "client_auth" => (&PRIMARY, &["multipurpose"], true, true),
        "encipher_only" | "decipher_only" => (
            &["key_management", "dual_use"],
            &["strict", "multipurpose"],
            false,
            true,
        ),
        _ => unreachable!(),
    };
    primaries.contains(&primary)
        && profiles.contains(&profile)
        && if key.rsa() { rsa_ok } else { ecc_ok }
}

fn combination_allowed(extras: &[&str], primary: &str, profile: &str, key: Key) -> bool {
    extras.iter().all(|e| seed_allows(e, primary, profile, key))
        && !(extras.contains(&"encipher_only") && extras.contains(&"decipher_only"))
}

/// The keyUsage the seed's "Key usage" columns and SBR §7.1.2.3 e give.
fn expected_ku(primary: &str, extras: &[&str], key: Key) -> BTreeSet<&'static str> {
    let mut ku = BTreeSet::new();
    if primary != "key_management" {
        ku.insert("digitalSignature");
    }
    if primary != "signing" {
        ku.insert(if key.rsa() {
            "keyEncipherment"
        } else {
            "keyAgreement"
        });
    }
    for (e, bit) in [
        ("non_repudiation", "nonRepudiation"),
        ("data_encipherment", "dataEncipherment"),
        ("encipher_only", "encipherOnly"),
        ("decipher_only", "decipherOnly"),
    ] {
        if extras.contains(&e) {
            ku.insert(bit);
        }
    }
    ku
}

fn subsets() -> Vec<Vec<&'static str>> {
    (0..1u32 << EXTRA.len())
        .map(|m| {
            EXTRA
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .map(|(_, e)| *e)
                .collect()
        })
        .collect()
}

fn policy_oid(product: &str, profile: &str) -> String {
    let t = match product {
        "secure_email_mailbox" | "class1_smime" => 1,
        "secure_email_organization" => 2,
        _ => 3,
    };
    let g = if profile == "strict" { 3 } else { 2 };
    format!("2.23.140.1.5.{t}.{g}")
}

const C: &str = "2.5.4.6";
const ST: &str = "2.5.4.8";
const L: &str = "2.5.4.7";
const O: &str = "2.5.4.10";
const ORG_ID: &str = "2.5.4.97";
const CN: &str = "2.5.4.3";
const GN: &str = "2.5.4.42";
const SN: &str = "2.5.4.4";
const PSEUDONYM: &str = "2.5.4.65";
const TITLE: &str = "2.5.4.12";
const SERIAL: &str = "2.5.4.5";
const EMAIL: &str = "1.2.840.113549.1.9.1";

fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(o, v)| (o.to_string(), v.to_string()))
        .collect()
}

fn org_attrs() -> Vec<(&'static str, &'static str)> {
    vec![
        (C, "US"),
        (ST, "Utah"),
        (L, "Lindon"),
        (O, "Example Inc."),
        (ORG_ID, "NTRUS-1234567"),
    ]
}

const ADDRESS: &str = "john.doe@example.com";

/// A secure-email body for the matrix.
fn secure_email_body(
    product: &str,
    profile: &str,
    primary: &str,
    extras: &[&str],
    csr: &str,
    org: i64,
) -> Value {
    let mut b = json!({
        "certificate": {
            "profile_type": profile,
            "emails": [ADDRESS],
            "csr": csr,
            "usage_designation": {"primary_usage": primary, "additional_usages": extras},
        },
        "skip_approval": true,
        "order_validity": {"years": 1},
        "payment_method": "balance"
    });
    match product {
        "secure_email_organization" => {
            b["certificate"]["common_name_indicator"] = json!("organization_name");
            b["organization"] = json!({"id": org});
        }
        "secure_email_sponsor" => {
            b["certificate"]["common_name_indicator"] = json!("given_name_surname");
            b["certificate"]["individual"] = json!({"first_name": "John", "last_name": "Doe"});
            b["subject"] = json!({"include_given_name_surname": true});
            b["organization"] = json!({"id": org});
        }
        _ => {}
    }
    b
}

fn expected_subject(product: &str, include_email: bool) -> Vec<(String, String)> {
    let mut v = match product {
        "secure_email_mailbox" | "class1_smime" => vec![(CN, ADDRESS)],
        "secure_email_organization" => {
            let mut v = org_attrs();
            v.push((CN, "Example Inc."));
            v
        }
        "secure_email_sponsor" => {
            let mut v = org_attrs();
            v.extend([(GN, "John"), (SN, "Doe"), (CN, "John Doe")]);
            v
        }
        _ => unreachable!(),
    };
    if include_email {
        v.push((EMAIL, ADDRESS));
    }
    attrs(&v)
}

async fn ca_ids(ts: &TestServer, product: &str) -> (String, String) {
    let (_, p) = ts.get(&format!("/services/v2/product/{product}")).await;
    let cas = p["allowed_ca_certs"].as_array().unwrap();
    let find = |s: &str| {
        cas.iter()
            .find(|c| c["name"].as_str().unwrap().contains(s))
            .unwrap_or_else(|| panic!("no {s} CA: {p}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    (find("RSA4096"), find("ECC P384"))
}

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

/// `openssl verify -x509_strict -purpose <purpose>` of [leaf, ICA, root].
fn openssl_verify_smime(dir: &std::path::Path, purpose: &str, chain: &[String]) {
    for (i, pem) in chain.iter().enumerate() {
        std::fs::write(dir.join(format!("chain{i}.pem")), pem).unwrap();
    }
    let out = std::process::Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", purpose, "-CAfile"])
        .arg(dir.join("chain2.pem"))
        .arg("-untrusted")
        .arg(dir.join("chain1.pem"))
        .arg(dir.join("chain0.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
