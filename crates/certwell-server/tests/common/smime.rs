//! Shared by the S/MIME and client-certificate tests: the seed's usage
//! tables written out independently of the code, subject attribute OIDs
//! and the expected subjects, and request bodies.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use certwell_ca::KeyAlgorithm;

use super::TestServer;

pub const OID_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
pub const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

// ---- the seed's usage tables, written out independently of the code -------

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key {
    Rsa,
    P256,
    P384,
}

impl Key {
    pub fn rsa(self) -> bool {
        self == Key::Rsa
    }
    pub fn alg(self) -> KeyAlgorithm {
        match self {
            Key::Rsa => KeyAlgorithm::Rsa2048,
            Key::P256 => KeyAlgorithm::EcdsaP256,
            Key::P384 => KeyAlgorithm::EcdsaP384,
        }
    }
}

pub const PRIMARY: [&str; 3] = ["signing", "key_management", "dual_use"];
pub const EXTRA: [&str; 5] = [
    "non_repudiation",
    "data_encipherment",
    "client_auth",
    "encipher_only",
    "decipher_only",
];

/// Is `extra` allowed with `primary`, `profile` and key type (seed tables)?
pub fn seed_allows(extra: &str, primary: &str, profile: &str, key: Key) -> bool {
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

pub fn combination_allowed(extras: &[&str], primary: &str, profile: &str, key: Key) -> bool {
    extras.iter().all(|e| seed_allows(e, primary, profile, key))
        && !(extras.contains(&"encipher_only") && extras.contains(&"decipher_only"))
}

/// The keyUsage the seed's "Key usage" columns and SBR §7.1.2.3 e give.
pub fn expected_ku(primary: &str, extras: &[&str], key: Key) -> BTreeSet<&'static str> {
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

pub fn subsets() -> Vec<Vec<&'static str>> {
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

pub fn policy_oid(product: &str, profile: &str) -> String {
    let t = match product {
        "secure_email_mailbox" | "class1_smime" => 1,
        "secure_email_organization" => 2,
        _ => 3,
    };
    let g = if profile == "strict" { 3 } else { 2 };
    format!("2.23.140.1.5.{t}.{g}")
}

pub const C: &str = "2.5.4.6";
pub const ST: &str = "2.5.4.8";
pub const L: &str = "2.5.4.7";
pub const O: &str = "2.5.4.10";
pub const ORG_ID: &str = "2.5.4.97";
pub const CN: &str = "2.5.4.3";
pub const GN: &str = "2.5.4.42";
pub const SN: &str = "2.5.4.4";
pub const PSEUDONYM: &str = "2.5.4.65";
pub const TITLE: &str = "2.5.4.12";
pub const SERIAL: &str = "2.5.4.5";
pub const EMAIL: &str = "1.2.840.113549.1.9.1";

pub fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(o, v)| (o.to_string(), v.to_string()))
        .collect()
}

pub fn org_attrs() -> Vec<(&'static str, &'static str)> {
    vec![
        (C, "US"),
        (ST, "Utah"),
        (L, "Lindon"),
        (O, "Example Inc."),
        (ORG_ID, "NTRUS-1234567"),
    ]
}

pub const ADDRESS: &str = "john.doe@example.com";

/// A secure-email body for the matrix.
pub fn secure_email_body(
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

pub fn expected_subject(product: &str, include_email: bool) -> Vec<(String, String)> {
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

pub async fn ca_ids(ts: &TestServer, product: &str) -> (String, String) {
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

/// `openssl verify -x509_strict -purpose <purpose>` of [leaf, ICA, root].
pub fn openssl_verify_smime(dir: &std::path::Path, purpose: &str, chain: &[String]) {
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
