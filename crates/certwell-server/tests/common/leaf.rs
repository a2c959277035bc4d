//! An issued leaf certificate parsed into what the tests compare.

use std::collections::BTreeSet;

use der::Decode;
use x509_cert::ext::pkix::{
    certpolicy::CertificatePolicies, name::GeneralName, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName,
};

use super::pem_to_der;

/// What the tests check of an issued certificate.
#[derive(Debug)]
pub struct Parsed {
    /// (attribute OID, value) in order.
    pub subject: Vec<(String, String)>,
    pub key_usage: BTreeSet<&'static str>,
    pub key_usage_critical: bool,
    pub eku: Vec<String>,
    pub emails: Vec<String>,
    pub upn: Option<String>,
    pub policies: Vec<String>,
    pub signature_oid: String,
    pub validity_seconds: u64,
}

pub fn parse(pem: &str) -> Parsed {
    let der = pem_to_der(pem);
    let cert = x509_cert::Certificate::from_der(&der).expect("certificate DER");
    let tbs = cert.tbs_certificate();
    let subject = tbs
        .subject()
        .iter()
        .map(|atv| {
            (
                atv.oid.to_string(),
                String::from_utf8_lossy(atv.value.value()).into_owned(),
            )
        })
        .collect();
    let mut p = Parsed {
        subject,
        key_usage: BTreeSet::new(),
        key_usage_critical: false,
        eku: vec![],
        emails: vec![],
        upn: None,
        policies: vec![],
        signature_oid: cert.signature_algorithm().oid.to_string(),
        validity_seconds: tbs.validity().not_after.to_unix_duration().as_secs()
            - tbs.validity().not_before.to_unix_duration().as_secs(),
    };
    for ext in tbs.extensions().into_iter().flatten() {
        let bytes = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            "2.5.29.15" => {
                let ku = KeyUsage::from_der(bytes).unwrap();
                p.key_usage_critical = ext.critical;
                for (flag, name) in [
                    (KeyUsages::DigitalSignature, "digitalSignature"),
                    (KeyUsages::NonRepudiation, "nonRepudiation"),
                    (KeyUsages::KeyEncipherment, "keyEncipherment"),
                    (KeyUsages::DataEncipherment, "dataEncipherment"),
                    (KeyUsages::KeyAgreement, "keyAgreement"),
                    (KeyUsages::KeyCertSign, "keyCertSign"),
                    (KeyUsages::CRLSign, "cRLSign"),
                    (KeyUsages::EncipherOnly, "encipherOnly"),
                    (KeyUsages::DecipherOnly, "decipherOnly"),
                ] {
                    if ku.0.contains(flag) {
                        p.key_usage.insert(name);
                    }
                }
            }
            "2.5.29.37" => {
                p.eku = ExtendedKeyUsage::from_der(bytes)
                    .unwrap()
                    .0
                    .iter()
                    .map(|o| o.to_string())
                    .collect()
            }
            "2.5.29.17" => {
                for gn in SubjectAltName::from_der(bytes).unwrap().0 {
                    match gn {
                        GeneralName::Rfc822Name(s) => p.emails.push(s.to_string()),
                        GeneralName::OtherName(o) => {
                            assert_eq!(o.type_id.to_string(), "1.3.6.1.4.1.311.20.2.3");
                            // value: [0] EXPLICIT UTF8String (x509-cert strips the tag)
                            assert_eq!(der::Tagged::tag(&o.value), der::Tag::Utf8String);
                            p.upn = Some(String::from_utf8_lossy(o.value.value()).into_owned());
                        }
                        other => panic!("unexpected SAN entry {other:?}"),
                    }
                }
            }
            "2.5.29.32" => {
                p.policies = CertificatePolicies::from_der(bytes)
                    .unwrap()
                    .0
                    .iter()
                    .map(|pi| pi.policy_identifier.to_string())
                    .collect()
            }
            _ => {}
        }
    }
    p
}
