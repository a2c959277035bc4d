//! S/MIME and client-authentication hierarchy: CaProfile::SmimeIssuing /
//! ClientAuthIssuing, build_subscriber_leaf with every signature scheme,
//! linted with pkilint and verified with openssl.
//!
//! pkilint is located as in tests/pkilint.rs (missing → FAIL unless
//! CERTWELL_SKIP_PKILINT=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use certwell_ca::*;
use common::{findings, now, pkilint_dir_or_skip, run};
use time::{Duration, OffsetDateTime};

const ROOT_CRL: &str = "http://crl.certwell.example.com/smime-root.crl";
const ROOT_CERT: &str = "http://certs.certwell.example.com/smime-root.crt";
const ICA_CRL: &str = "http://crl.certwell.example.com/smime-ica.crl";
const ICA_CERT: &str = "http://certs.certwell.example.com/smime-ica.crt";
const OCSP: &str = "http://ocsp.certwell.example.com";

const MBX_MP: &str = "2.23.140.1.5.1.2";
const MBX_STRICT: &str = "2.23.140.1.5.1.3";
const ORG_MP: &str = "2.23.140.1.5.2.2";
const SPONSOR_MP: &str = "2.23.140.1.5.3.2";
const SPONSOR_STRICT: &str = "2.23.140.1.5.3.3";

/// pki-profiles.md §1.6, verbatim.
const PSS_SHA256_DER: &str = "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120";
const PSS_SHA384_DER: &str = "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130";
const PSS_SHA512_DER: &str = "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140";

struct Cert {
    name: &'static str,
    der: Vec<u8>,
    pem: PathBuf,
}

struct Ca {
    cert: Cert,
    signer: SoftwareSigner,
}

/// How a leaf is linted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lint {
    /// `lint_cabf_smime_cert lint -d`
    Smime,
    /// `lint_pkix_cert lint` (client auth is outside the S/MIME BR)
    Pkix,
}

struct Leaf {
    cert: Cert,
    ica: &'static str,
    lint: Lint,
    scheme: SignatureScheme,
    smime_type: &'static str,
    purpose: &'static str,
    empty_subject: bool,
}

struct Hierarchy {
    _dir: tempfile::TempDir,
    root: Cert,
    icas: Vec<Ca>,
    leaves: Vec<Leaf>,
}

fn write(dir: &Path, name: &'static str, der: Vec<u8>) -> Cert {
    let pem = dir.join(format!("{name}.pem"));
    std::fs::write(&pem, der_to_pem("CERTIFICATE", &der)).unwrap();
    Cert { name, der, pem }
}

fn ca_subject(cn: &str) -> CaSubject {
    CaSubject {
        country: "US".into(),
        organization: "Certwell Test".into(),
        common_name: cn.into(),
    }
}

/// An issuing CA to create under the root: (name, key, profile, CN).
type IcaSpec = (&'static str, KeyAlgorithm, CaProfile, &'static str);

fn build_ica(dir: &Path, root: &Ca, nb: OffsetDateTime, spec: IcaSpec) -> Ca {
    let (name, alg, profile, cn) = spec;
    let (signer, _) = SoftwareSigner::generate(alg).unwrap();
    let der = build_ca_certificate(
        CaCertRequest {
            profile,
            subject: &ca_subject(cn),
            subject_spki_der: &signer.spki_der(),
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::days(3652),
            issuer_crl_url: Some(ROOT_CRL),
            issuer_cert_url: Some(ROOT_CERT),
        },
        Some(&root.cert.der),
        &root.signer,
    )
    .unwrap();
    Ca {
        cert: write(dir, name, der),
        signer,
    }
}

/// Everything of a leaf that varies between the test profiles.
struct Spec {
    name: &'static str,
    ica: &'static str,
    key: KeyAlgorithm,
    scheme: SignatureScheme,
    subject: Vec<SubjectAttr>,
    emails: Vec<&'static str>,
    upn: Option<&'static str>,
    ku: KeyUsageBits,
    ekus: Vec<&'static str>,
    policy: &'static str,
    lint: Lint,
    /// `lint_cabf_smime_cert -d -o` must detect this type (S/MIME leaves).
    smime_type: &'static str,
    /// `openssl verify -purpose`.
    purpose: &'static str,
}

fn ku(f: impl FnOnce(&mut KeyUsageBits)) -> KeyUsageBits {
    let mut k = KeyUsageBits::default();
    f(&mut k);
    k
}

fn specs() -> Vec<Spec> {
    use SubjectAttr as A;
    let org = || {
        vec![
            A::Country("US".into()),
            A::Organization("Example Corp".into()),
            A::OrganizationIdentifier("NTRUS-1234567".into()),
        ]
    };
    vec![
        Spec {
            name: "mailbox-strict-rsa2048",
            ica: "ica-rsa4096",
            key: KeyAlgorithm::Rsa2048,
            scheme: SignatureScheme::RsaPkcs1Sha256,
            subject: vec![
                A::CommonName("alice@example.com".into()),
                A::EmailAddress("alice@example.com".into()),
            ],
            emails: vec!["alice@example.com"],
            upn: None,
            ku: ku(|k| {
                k.digital_signature = true;
                k.key_encipherment = true;
            }),
            ekus: vec![OID_EKU_EMAIL_PROTECTION],
            policy: MBX_STRICT,
            lint: Lint::Smime,
            smime_type: "MAILBOX-STRICT",
            purpose: "smimesign",
        },
        Spec {
            name: "organization-mp-p256",
            ica: "ica-p384",
            key: KeyAlgorithm::EcdsaP256,
            scheme: SignatureScheme::EcdsaP384Sha384,
            subject: [org(), vec![A::CommonName("Example Corp".into())]].concat(),
            emails: vec!["info@example.com"],
            upn: None,
            ku: ku(|k| {
                k.digital_signature = true;
                k.key_agreement = true;
                k.decipher_only = true;
            }),
            ekus: vec![OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
            policy: ORG_MP,
            lint: Lint::Smime,
            smime_type: "ORGANIZATION-MULTIPURPOSE",
            purpose: "smimesign",
        },
        Spec {
            name: "sponsor-mp-rsa3072-pss384",
            ica: "ica-rsa4096",
            key: KeyAlgorithm::Rsa3072,
            scheme: SignatureScheme::RsaPssSha384,
            subject: [
                org(),
                vec![
                    A::GivenName("John".into()),
                    A::Surname("Doe".into()),
                    A::Title("Chief Cryptographer".into()),
                    A::SerialNumber("EMP-0042".into()),
                    A::CommonName("John Doe".into()),
                    A::EmailAddress("john.doe@example.com".into()),
                ],
            ]
            .concat(),
            emails: vec!["john.doe@example.com"],
            upn: Some("jdoe@corp.example.com"),
            ku: ku(|k| {
                k.digital_signature = true;
                k.non_repudiation = true;
                k.key_encipherment = true;
                k.data_encipherment = true;
            }),
            ekus: vec![OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
            policy: SPONSOR_MP,
            lint: Lint::Smime,
            smime_type: "SPONSORED-MULTIPURPOSE",
            purpose: "smimesign",
        },
        Spec {
            name: "sponsor-strict-p384-pseudonym",
            ica: "ica-p384",
            key: KeyAlgorithm::EcdsaP384,
            scheme: SignatureScheme::EcdsaP384Sha384,
            subject: [
                org(),
                vec![
                    A::Pseudonym("Crypto Fox".into()),
                    A::CommonName("Crypto Fox".into()),
                ],
            ]
            .concat(),
            emails: vec!["fox@example.com"],
            upn: None,
            ku: ku(|k| {
                k.digital_signature = true;
                k.key_agreement = true;
            }),
            ekus: vec![OID_EKU_EMAIL_PROTECTION],
            policy: SPONSOR_STRICT,
            lint: Lint::Smime,
            smime_type: "SPONSORED-STRICT",
            purpose: "smimesign",
        },
        Spec {
            // Empty subject: the SAN must be critical.
            name: "mailbox-mp-rsa2048-sha512-nosubject",
            ica: "ica-rsa4096",
            key: KeyAlgorithm::Rsa2048,
            scheme: SignatureScheme::RsaPkcs1Sha512,
            subject: vec![],
            emails: vec!["bob@example.com", "bob@example.org"],
            upn: None,
            ku: ku(|k| k.digital_signature = true),
            ekus: vec![OID_EKU_EMAIL_PROTECTION],
            policy: MBX_MP,
            lint: Lint::Smime,
            smime_type: "MAILBOX-MULTIPURPOSE",
            purpose: "smimesign",
        },
        Spec {
            name: "mailbox-strict-rsa2048-pss256",
            ica: "ica-rsa4096",
            key: KeyAlgorithm::Rsa2048,
            scheme: SignatureScheme::RsaPssSha256,
            subject: vec![A::CommonName("carol@example.com".into())],
            emails: vec!["carol@example.com"],
            upn: None,
            ku: ku(|k| k.key_encipherment = true),
            ekus: vec![OID_EKU_EMAIL_PROTECTION],
            policy: MBX_STRICT,
            lint: Lint::Smime,
            smime_type: "MAILBOX-STRICT",
            purpose: "smimeencrypt",
        },
        Spec {
            name: "mailbox-mp-rsa2048-pss512",
            ica: "ica-rsa4096",
            key: KeyAlgorithm::Rsa2048,
            scheme: SignatureScheme::RsaPssSha512,
            subject: vec![A::EmailAddress("dave@example.com".into())],
            emails: vec!["dave@example.com"],
            upn: None,
            ku: ku(|k| {
                k.digital_signature = true;
                k.key_encipherment = true;
            }),
            ekus: vec![OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
            policy: MBX_MP,
            lint: Lint::Smime,
            smime_type: "MAILBOX-MULTIPURPOSE",
            purpose: "smimesign",
        },
        Spec {
            name: "client-auth-p256",
            ica: "ica-client-p384",
            key: KeyAlgorithm::EcdsaP256,
            scheme: SignatureScheme::EcdsaP384Sha384,
            subject: vec![
                SubjectAttr::Country("US".into()),
                SubjectAttr::Organization("Example Corp".into()),
                SubjectAttr::CommonName("Device 42".into()),
            ],
            emails: vec!["device42@example.com"],
            upn: None,
            ku: ku(|k| k.digital_signature = true),
            ekus: vec![OID_EKU_CLIENT_AUTH],
            policy: POLICY_CERTWELL_CLIENT_AUTH,
            lint: Lint::Pkix,
            smime_type: "",
            purpose: "sslclient",
        },
    ]
}

fn build() -> Hierarchy {
    let dir = tempfile::tempdir().unwrap();
    let nb = now();

    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let root_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &ca_subject("Certwell Test S/MIME Root CA"),
            subject_spki_der: &root_signer.spki_der(),
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::days(7305),
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &root_signer,
    )
    .unwrap();

    let root = Ca {
        cert: write(dir.path(), "smime-root", root_der),
        signer: root_signer,
    };
    let icas: Vec<Ca> = [
        (
            "ica-rsa4096",
            KeyAlgorithm::Rsa4096,
            CaProfile::SmimeIssuing,
            "Certwell Test S/MIME RSA CA",
        ),
        (
            "ica-p384",
            KeyAlgorithm::EcdsaP384,
            CaProfile::SmimeIssuing,
            "Certwell Test S/MIME ECC CA",
        ),
        (
            "ica-client-p384",
            KeyAlgorithm::EcdsaP384,
            CaProfile::ClientAuthIssuing,
            "Certwell Test Client Auth CA",
        ),
    ]
    .into_iter()
    .map(|spec| build_ica(dir.path(), &root, nb, spec))
    .collect();

    let leaf_na = nb + Duration::seconds(365 * 86400 - 1);
    let mut leaves = Vec::new();
    for s in specs() {
        let ica = icas.iter().find(|c| c.cert.name == s.ica).unwrap();
        let (key, _) = SoftwareSigner::generate(s.key).unwrap();
        let emails: Vec<String> = s.emails.iter().map(|e| e.to_string()).collect();
        let (profile, max_validity_days) = subscriber_profile(s.policy);
        let der = build_subscriber_leaf(
            SubscriberLeafRequest {
                subject: &s.subject,
                emails: &emails,
                upn: s.upn,
                key_usage: s.ku,
                ext_key_usages: &s.ekus,
                policy_oids: &[s.policy],
                subject_spki_der: &key.spki_der(),
                serial: testing::recorded_serial(),
                not_before: nb,
                not_after: leaf_na,
                profile,
                max_validity_days,
                crl_url: ICA_CRL,
                ca_issuers_url: ICA_CERT,
                ocsp_url: Some(OCSP),
                signature: s.scheme,
            },
            &ica.cert.der,
            &ica.signer,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        leaves.push(Leaf {
            cert: write(dir.path(), s.name, der),
            ica: s.ica,
            lint: s.lint,
            scheme: s.scheme,
            smime_type: s.smime_type,
            purpose: s.purpose,
            empty_subject: s.subject.is_empty(),
        });
    }
    Hierarchy {
        _dir: dir,
        root: root.cert,
        icas,
        leaves,
    }
}

/// The pre-sign profile of a leaf with certificatePolicy `policy`, and the
/// validity cap of that product (S/MIME 825 days, the others 1095).
fn subscriber_profile(policy: &str) -> (SubscriberProfile, i64) {
    if policy.starts_with("2.23.140.1.5.") {
        (SubscriberProfile::Smime, 825)
    } else if policy == POLICY_CERTWELL_CLIENT_AUTH {
        (SubscriberProfile::ClientAuth, 1095)
    } else if policy == POLICY_CERTWELL_DOCUMENT_SIGNING {
        (SubscriberProfile::DocumentSigning, 1095)
    } else {
        panic!("no subscriber profile for policy {policy}")
    }
}

fn ica<'a>(h: &'a Hierarchy, name: &str) -> &'a Ca {
    h.icas.iter().find(|c| c.cert.name == name).unwrap()
}

/// What pkilint 0.13.3's S/MIME linter reports for an S/MIME issuing CA.
/// `lint_cabf_smime_cert` only has subscriber profiles: `-d` picks the first
/// reserved OID of the CA's certificatePolicies and applies that subscriber
/// profile. None of these rules applies to a CA certificate (SBR §7.1.2.2):
const SMIME_LINT_NOT_APPLICABLE_TO_CAS: [(&str, &str); 7] = [
    (
        "cabf.smime.certificate_validity_period_exceeds_825_days",
        "825 days is the subscriber maximum (SBR §6.3.2)",
    ),
    (
        "cabf.smime.prohibited_attribute",
        "C and O are prohibited in Mailbox subscriber subjects but required for CAs",
    ),
    (
        "cabf.smime.common_name_value_unknown_source",
        "subscriber CN source rules (CA CN is the CA name)",
    ),
    (
        "cabf.smime.san_extension_missing",
        "SAN is a subscriber extension",
    ),
    ("cabf.smime.is_ca_certificate", "the cert IS a CA"),
    (
        "cabf.smime.prohibited_ku_present",
        "keyCertSign/cRLSign are required for CAs",
    ),
    (
        "cabf.smime.multiple_reserved_policy_oids",
        "exactly-one applies to subscribers; sub-CAs list the types they issue",
    ),
];

/// The root and the client-auth ICA carry no reserved S/MIME policy OID, so
/// `-d` cannot pick a profile and pkilint exits 1 with this message.
const SMIME_LINT_UNDETECTABLE: &str = "Could not determine validation level and generation";

/// Run a pkilint linter with `-s WARNING -f CSV`; (exit code, findings,
/// stdout + stderr).
fn pkilint(
    bin: &Path,
    linter: &str,
    extra: &[&str],
    pem: &Path,
) -> (i32, Vec<(String, String)>, String) {
    let mut args = vec!["lint"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-s", "WARNING", "-f", "CSV", pem.to_str().unwrap()]);
    let (code, out, err) = run(Command::new(bin.join(linter)).args(&args));
    (code, findings(&out), format!("{out}{err}"))
}

/// Lint results collected over the whole hierarchy.
#[derive(Default)]
struct Outcome {
    report: Vec<String>,
    failures: Vec<String>,
}

impl Outcome {
    /// Record a lint run that must exit 0 without findings; returns its output.
    fn expect_clean(&mut self, what: String, res: (i32, Vec<(String, String)>, String)) -> String {
        let (code, f, raw) = res;
        self.report
            .push(format!("{what}: exit {code}, findings {f:?}"));
        if code != 0 || !f.is_empty() {
            self.failures.push(format!("{what}: exit {code}\n{raw}"));
        }
        raw
    }
}

#[test]
fn pkilint_smime_hierarchy_is_clean() {
    let Some(bin) = pkilint_dir_or_skip() else {
        return;
    };
    let h = build();
    let mut o = Outcome::default();

    // CA certificates: RFC 5280 and the TLS linter's CA profiles (ROOT-CA /
    // NON-TLS-CA) must be clean; the S/MIME linter only knows subscribers.
    let cas: Vec<&Cert> = std::iter::once(&h.root)
        .chain(h.icas.iter().map(|c| &c.cert))
        .collect();
    for ca in &cas {
        o.expect_clean(
            format!("{} lint_pkix_cert", ca.name),
            pkilint(&bin, "lint_pkix_cert", &[], &ca.pem),
        );
        let raw = o.expect_clean(
            format!("{} lint_cabf_serverauth_cert -d", ca.name),
            pkilint(&bin, "lint_cabf_serverauth_cert", &["-d", "-o"], &ca.pem),
        );
        let want = if ca.name == h.root.name {
            "ROOT-CA"
        } else {
            "NON-TLS-CA"
        };
        if !raw.contains(want) {
            o.failures.push(format!(
                "{}: serverauth detection should be {want}: {raw}",
                ca.name
            ));
        }
    }
    for ca in &cas {
        let (code, f, raw) = pkilint(&bin, "lint_cabf_smime_cert", &["-d"], &ca.pem);
        o.report.push(format!(
            "{} lint_cabf_smime_cert -d: exit {code}, findings {f:?}",
            ca.name
        ));
        let smime_ica = ca.name == "ica-rsa4096" || ca.name == "ica-p384";
        if !smime_ica {
            if code != 1 || !raw.contains(SMIME_LINT_UNDETECTABLE) {
                o.failures.push(format!(
                    "{}: expected pkilint to refuse (-d): {raw}",
                    ca.name
                ));
            }
            continue;
        }
        let mut codes: Vec<&str> = f.iter().map(|(_, c)| c.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut expected: Vec<&str> = SMIME_LINT_NOT_APPLICABLE_TO_CAS
            .iter()
            .map(|(c, _)| *c)
            .collect();
        expected.sort_unstable();
        if codes != expected {
            o.failures.push(format!(
                "{}: S/MIME linter findings changed (expected only the subscriber-only rules {expected:?}):\n{raw}",
                ca.name
            ));
        }
    }

    // Subscriber certificates.
    for l in &h.leaves {
        match l.lint {
            Lint::Smime => {
                let raw = o.expect_clean(
                    format!("{} lint_cabf_smime_cert -d", l.cert.name),
                    pkilint(&bin, "lint_cabf_smime_cert", &["-d", "-o"], &l.cert.pem),
                );
                if !raw.contains(l.smime_type) {
                    o.failures.push(format!(
                        "{}: expected type {}: {raw}",
                        l.cert.name, l.smime_type
                    ));
                }
            }
            Lint::Pkix => {
                o.expect_clean(
                    format!("{} lint_pkix_cert", l.cert.name),
                    pkilint(&bin, "lint_pkix_cert", &[], &l.cert.pem),
                );
            }
        }
    }

    // Chain linter: ICAs under the ECDSA root, and the non-PSS leaves (the
    // 0.13.3 chain linter mis-verifies RSASSA-PSS, pki-profiles.md §3 gotcha 1;
    // those chains are checked with openssl below).
    let chain = bin.join("lint_pkix_signer_signee_cert_chain");
    let pairs = h.icas.iter().map(|c| (&h.root, &c.cert)).chain(
        h.leaves
            .iter()
            .filter(|l| !is_pss(l.scheme))
            .map(|l| (&ica(&h, l.ica).cert, &l.cert)),
    );
    for (issuer, subject) in pairs {
        let (code, out, err) = run(Command::new(&chain).args([
            "lint",
            "-s",
            "WARNING",
            issuer.pem.to_str().unwrap(),
            subject.pem.to_str().unwrap(),
        ]));
        o.report.push(format!(
            "{} <- {} [chain]: exit {code}",
            subject.name, issuer.name
        ));
        if code != 0 {
            o.failures.push(format!(
                "chain {} <- {}: {out}{err}",
                subject.name, issuer.name
            ));
        }
    }

    eprintln!("pkilint S/MIME report:\n  {}", o.report.join("\n  "));
    assert!(
        o.failures.is_empty(),
        "pkilint findings:\n{}",
        o.failures.join("\n")
    );
}

fn is_pss(s: SignatureScheme) -> bool {
    matches!(
        s,
        SignatureScheme::RsaPssSha256
            | SignatureScheme::RsaPssSha384
            | SignatureScheme::RsaPssSha512
    )
}

fn parse(der: &[u8]) -> x509_cert::Certificate {
    use der::Decode;
    x509_cert::Certificate::from_der(der).unwrap()
}

fn ext<'a>(c: &'a x509_cert::Certificate, oid: &str) -> Option<&'a x509_cert::ext::Extension> {
    c.tbs_certificate()
        .extensions()
        .and_then(|e| e.iter().find(|x| x.extn_id.to_string() == oid))
}

#[test]
fn smime_chains_verify_with_openssl_and_are_profiled() {
    use der::Encode;
    let h = build();
    let root = h.root.pem.to_str().unwrap();
    for c in &h.icas {
        verify_issued_by(&c.cert.der, &h.root.der).unwrap();
        let (code, out, err) = run(Command::new("openssl").args([
            "verify",
            "-x509_strict",
            "-CAfile",
            root,
            c.cert.pem.to_str().unwrap(),
        ]));
        assert_eq!(code, 0, "{}: {out}{err}", c.cert.name);
    }

    for l in &h.leaves {
        let ica = ica(&h, l.ica);
        verify_issued_by(&l.cert.der, &ica.cert.der).unwrap();
        assert!(verify_issued_by(&l.cert.der, &h.root.der).is_err());
        let (code, out, err) = run(Command::new("openssl").args([
            "verify",
            "-x509_strict",
            "-purpose",
            l.purpose,
            "-CAfile",
            root,
            "-untrusted",
            ica.cert.pem.to_str().unwrap(),
            l.cert.pem.to_str().unwrap(),
        ]));
        assert_eq!(
            code, 0,
            "{}: openssl verify failed: {out}{err}",
            l.cert.name
        );
        assert!(out.trim_end().ends_with(": OK"), "{}: {out}", l.cert.name);

        // Signature AlgorithmIdentifier: tbs and outer identical and exact.
        let c = parse(&l.cert.der);
        let outer = c.signature_algorithm().to_der().unwrap();
        assert_eq!(outer, c.tbs_certificate().signature().to_der().unwrap());
        assert_eq!(outer, l.scheme.algorithm_der(), "{}", l.cert.name);
        let pinned = match l.scheme {
            SignatureScheme::RsaPssSha256 => Some(PSS_SHA256_DER),
            SignatureScheme::RsaPssSha384 => Some(PSS_SHA384_DER),
            SignatureScheme::RsaPssSha512 => Some(PSS_SHA512_DER),
            _ => None,
        };
        if let Some(hex_der) = pinned {
            assert_eq!(hex::encode(&outer), hex_der, "{}", l.cert.name);
        }

        // Extensions common to every subscriber profile.
        assert!(ext(&c, "2.5.29.19").is_none(), "no basicConstraints");
        assert!(ext(&c, "2.5.29.15").unwrap().critical, "KU critical");
        assert!(!ext(&c, "2.5.29.32").unwrap().critical);
        assert!(ext(&c, "2.5.29.35").is_some() && ext(&c, "2.5.29.14").is_some());
        let san = ext(&c, "2.5.29.17").unwrap();
        assert_eq!(
            san.critical, l.empty_subject,
            "{}: SAN criticality",
            l.cert.name
        );
        assert_eq!(l.empty_subject, c.tbs_certificate().subject().is_empty());
    }

    // The sponsor leaf carries the UPN otherName after its rfc822Name.
    let sponsor = h
        .leaves
        .iter()
        .find(|l| l.cert.name == "sponsor-mp-rsa3072-pss384")
        .unwrap();
    let (_, text, _) = run(Command::new("openssl").args([
        "x509",
        "-in",
        sponsor.cert.pem.to_str().unwrap(),
        "-noout",
        "-ext",
        "subjectAltName,keyUsage",
    ]));
    assert!(
        text.contains("email:john.doe@example.com, othername: UPN:jdoe@corp.example.com")
            || text.contains("email:john.doe@example.com, othername:UPN:jdoe@corp.example.com")
            || text.contains("email:john.doe@example.com, othername: UPN::jdoe@corp.example.com"),
        "{text}"
    );
    assert!(
        text.contains("Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment"),
        "{text}"
    );

    // CA profiles: policies and EKUs.
    for (name, policies, ekus) in [
        (
            "ica-rsa4096",
            SMIME_ISSUING_CA_POLICIES.to_vec(),
            "E-mail Protection, TLS Web Client Authentication",
        ),
        (
            "ica-client-p384",
            vec![POLICY_CERTWELL_CLIENT_AUTH],
            "TLS Web Client Authentication",
        ),
    ] {
        let (_, text, _) = run(Command::new("openssl").args([
            "x509",
            "-in",
            ica(&h, name).cert.pem.to_str().unwrap(),
            "-noout",
            "-ext",
            "certificatePolicies,extendedKeyUsage,basicConstraints,keyUsage",
        ]));
        for p in policies {
            assert!(
                text.contains(&format!("Policy: {p}")),
                "{name}: {p}\n{text}"
            );
        }
        assert_eq!(
            text.matches("Policy:").count(),
            if name == "ica-rsa4096" { 6 } else { 1 }
        );
        assert!(text.contains(&format!("\n    {ekus}\n")), "{name}: {text}");
        assert!(
            text.contains("critical\n    CA:TRUE, pathlen:0"),
            "{name}: {text}"
        );
        assert!(
            text.contains("Digital Signature, Certificate Sign, CRL Sign"),
            "{name}: {text}"
        );
    }
    assert!(POLICY_CERTWELL_CLIENT_AUTH.starts_with(&format!("{CERTWELL_OID_ARC}.")));
}

/// A small all-P-256 S/MIME hierarchy for input-validation tests.
struct Small {
    root_der: Vec<u8>,
    ica_der: Vec<u8>,
    ica_signer: SoftwareSigner,
    leaf_spki: Vec<u8>,
}

fn small() -> Small {
    let nb = now();
    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let root_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &ca_subject("Small Root"),
            subject_spki_der: &root_signer.spki_der(),
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::days(3650),
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &root_signer,
    )
    .unwrap();
    let (ica_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let ica_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::SmimeIssuing,
            subject: &ca_subject("Small S/MIME CA"),
            subject_spki_der: &ica_signer.spki_der(),
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::days(1825),
            issuer_crl_url: Some(ROOT_CRL),
            issuer_cert_url: Some(ROOT_CERT),
        },
        Some(&root_der),
        &root_signer,
    )
    .unwrap();
    let (leaf_key, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    Small {
        root_der,
        ica_der,
        ica_signer,
        leaf_spki: leaf_key.spki_der(),
    }
}

/// A valid mailbox-strict request for `small()` with a fresh recorded
/// serial; tests vary one field with `..base_request(..)`.
fn base_request<'a>(
    spki: &'a [u8],
    subject: &'a [SubjectAttr],
    emails: &'a [String],
) -> SubscriberLeafRequest<'a> {
    let nb = now();
    SubscriberLeafRequest {
        subject,
        emails,
        upn: None,
        key_usage: KeyUsageBits {
            digital_signature: true,
            ..Default::default()
        },
        ext_key_usages: &[OID_EKU_EMAIL_PROTECTION],
        policy_oids: &[MBX_STRICT],
        subject_spki_der: spki,
        serial: testing::recorded_serial(),
        not_before: nb,
        not_after: nb + Duration::days(365),
        profile: SubscriberProfile::Smime,
        max_validity_days: 825,
        crl_url: ICA_CRL,
        ca_issuers_url: ICA_CERT,
        ocsp_url: None,
        signature: SignatureScheme::EcdsaP256Sha256,
    }
}

#[test]
fn subscriber_leaf_input_errors() {
    use SubjectAttr as A;
    let c = small();
    let emails = vec!["alice@example.com".to_string()];
    let subject = vec![A::CommonName("alice@example.com".into())];
    let issue = |req: SubscriberLeafRequest| build_subscriber_leaf(req, &c.ica_der, &c.ica_signer);
    let invalid = |req: SubscriberLeafRequest, needle: &str| match issue(req) {
        Err(CaError::InvalidInput(m)) => {
            assert!(m.contains(needle), "expected {needle:?} in {m:?}")
        }
        other => panic!("expected InvalidInput({needle:?}), got {other:?}"),
    };
    let base = || base_request(&c.leaf_spki, &subject, &emails);
    let der = issue(base()).unwrap();
    verify_issued_by(&der, &c.ica_der).unwrap();

    // Scheme / issuing-key mismatch.
    for scheme in [
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::EcdsaP384Sha384,
    ] {
        invalid(
            SubscriberLeafRequest {
                signature: scheme,
                ..base()
            },
            "cannot be used with a ecdsa-p256 issuing key",
        );
    }
    // keyUsage.
    let ku = |f: fn(&mut KeyUsageBits)| {
        let mut k = KeyUsageBits::default();
        f(&mut k);
        SubscriberLeafRequest {
            key_usage: k,
            ..base()
        }
    };
    invalid(ku(|_| {}), "at least one usage");
    invalid(
        ku(|k| {
            k.digital_signature = true;
            k.encipher_only = true;
        }),
        "require key_agreement",
    );
    invalid(
        ku(|k| {
            k.key_agreement = true;
            k.encipher_only = true;
            k.decipher_only = true;
        }),
        "at most one",
    );
    invalid(ku(|k| k.key_encipherment = true), "EC key");
    invalid(ku(|k| k.data_encipherment = true), "EC key");
    // SAN / emails.
    let non_ascii = vec!["jörg@example.com".to_string()];
    invalid(
        SubscriberLeafRequest {
            subject: &[],
            emails: &non_ascii,
            ..base()
        },
        "ASCII",
    );
    let dup = vec!["a@example.com".to_string(), "A@example.com".to_string()];
    invalid(
        SubscriberLeafRequest {
            subject: &[],
            emails: &dup,
            ..base()
        },
        "duplicate email",
    );
    invalid(
        SubscriberLeafRequest {
            subject: &[],
            emails: &[],
            upn: None,
            ..base()
        },
        "empty subject needs a subjectAltName",
    );
    invalid(
        SubscriberLeafRequest {
            upn: Some("not a upn"),
            ..base()
        },
        "invalid upn",
    );
    // Subject attributes.
    let bad_subjects: Vec<(Vec<SubjectAttr>, &str)> = vec![
        (vec![A::CommonName("bob@example.com".into())], "SAN email"),
        (vec![A::EmailAddress("bob@example.com".into())], "SAN email"),
        (vec![A::CommonName("x".repeat(65))], "exceeds 64"),
        (vec![A::CommonName(" ".into())], "must not be empty"),
        (vec![A::Organization("-".into())], "metadata"),
        (vec![A::Title("a\u{7}b".into())], "control"),
        (vec![A::Country("us".into())], "two-letter"),
        (vec![A::SerialNumber("EMP_1".into())], "PrintableString"),
        (vec![A::Pseudonym("p".repeat(129))], "exceeds 128"),
        (
            vec![
                A::Country("DE".into()),
                A::OrganizationIdentifier("NTRUS-1".into()),
            ],
            "differs from countryName",
        ),
        (
            vec![A::OrganizationIdentifier("Example 123".into())],
            "SSSCC",
        ),
    ];
    for (attrs, needle) in &bad_subjects {
        invalid(
            SubscriberLeafRequest {
                subject: attrs,
                ..base()
            },
            needle,
        );
    }
    // OIDs, URLs, keys.
    invalid(
        SubscriberLeafRequest {
            policy_oids: &[],
            ..base()
        },
        "policy_oids must not be empty",
    );
    invalid(
        SubscriberLeafRequest {
            policy_oids: &["2.23.140.1.5.1.3", "2.23.140.1.5.1.3"],
            ..base()
        },
        "duplicate",
    );
    invalid(
        SubscriberLeafRequest {
            ext_key_usages: &["1.3.6.1.5.5.7.3.x"],
            ..base()
        },
        "not a dotted OID",
    );
    invalid(
        SubscriberLeafRequest {
            crl_url: "ldap://crl.example.com/ica",
            ..base()
        },
        "crl_url must be an http:// URL",
    );
    invalid(
        SubscriberLeafRequest {
            ocsp_url: Some("https://ocsp.example.com"),
            ..base()
        },
        "ocsp_url must be an http:// URL",
    );
    let ica_spki = c.ica_signer.spki_der();
    invalid(
        SubscriberLeafRequest {
            subject_spki_der: &ica_spki,
            ..base()
        },
        "must not be the CA key",
    );
    // Wrong issuer: a non-CA issuer, and a CA whose key is not the signer.
    match build_subscriber_leaf(base(), &der, &c.ica_signer) {
        Err(CaError::InvalidInput(m)) => assert!(m.contains("not a CA"), "{m}"),
        other => panic!("{other:?}"),
    }
    match build_subscriber_leaf(base(), &c.root_der, &c.ica_signer) {
        Err(CaError::InvalidInput(m)) => assert!(m.contains("signer key"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn subscriber_leaf_optional_parts() {
    use der::Encode;
    let c = small();
    // Empty subject with only a UPN: SAN is critical and holds just the otherName.
    let req = |ext_key_usages| SubscriberLeafRequest {
        upn: Some("svc-backup@corp.example.com"),
        ext_key_usages,
        policy_oids: &[POLICY_CERTWELL_CLIENT_AUTH],
        profile: SubscriberProfile::ClientAuth,
        max_validity_days: 1095,
        ..base_request(&c.leaf_spki, &[], &[])
    };
    // No EKU requested: every subscriber profile requires one, so the
    // builder refuses the request itself, naming the field and the EKU the
    // profile needs (before check_tbs this certificate was issued without
    // an EKU; after it, only the pre-sign check's "needs clientAuth" said so).
    match build_subscriber_leaf(req(&[]), &c.ica_der, &c.ica_signer) {
        Err(CaError::Profile(m)) => assert!(m.contains("clientAuth"), "{m}"),
        other => panic!("expected a profile violation, got {other:?}"),
    }
    for (profile, policy, needed) in [
        (SubscriberProfile::ClientAuth, POLICY_CERTWELL_CLIENT_AUTH, "a client-authentication certificate: clientAuth"),
        (SubscriberProfile::Smime, MBX_STRICT, "an S/MIME certificate: emailProtection"),
        (
            SubscriberProfile::DocumentSigning,
            POLICY_CERTWELL_DOCUMENT_SIGNING,
            "a document-signing certificate: Microsoft Document Signing or Adobe Authentic Documents",
        ),
    ] {
        let emails = ["alice@example.com".to_string()];
        let policies = [policy];
        let req = SubscriberLeafRequest {
            ext_key_usages: &[],
            policy_oids: &policies,
            profile,
            ..base_request(&c.leaf_spki, &[], &emails)
        };
        match build_subscriber_leaf(req, &c.ica_der, &c.ica_signer) {
            Err(CaError::Profile(m)) => assert_eq!(
                m,
                format!(
                    "ext_key_usages is empty, but every subscriber certificate needs an \
                     extKeyUsage ({needed})"
                )
            ),
            other => panic!("{profile:?}: expected a profile violation, got {other:?}"),
        }
    }
    let der =
        build_subscriber_leaf(req(&[OID_EKU_CLIENT_AUTH]), &c.ica_der, &c.ica_signer).unwrap();
    let cert = parse(&der);
    assert!(cert.tbs_certificate().subject().is_empty());
    let san = ext(&cert, "2.5.29.17").unwrap();
    assert!(san.critical);
    // GeneralNames { [0] { OID 1.3.6.1.4.1.311.20.2.3, [0] { UTF8String } } }
    let upn = b"svc-backup@corp.example.com";
    let n = upn.len() as u8; // < 0x60, so every length below is one octet
    let mut expected = vec![0x30, n + 18, 0xa0, n + 16, 0x06, 0x0a];
    expected.extend_from_slice(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03]);
    expected.extend_from_slice(&[0xa0, n + 2, 0x0c, n]);
    expected.extend_from_slice(upn);
    assert_eq!(san.extn_value.as_bytes(), expected.as_slice());
    // extKeyUsage: exactly { id-kp-clientAuth }.
    assert_eq!(
        ext(&cert, "2.5.29.37").unwrap().extn_value.as_bytes(),
        [0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]
    );
    assert!(ext(&cert, "2.5.29.19").is_none());
    // AIA without OCSP, keyIdentifier-only AKI = issuer SKI.
    let ica = parse(&c.ica_der);
    let ski = ext(&ica, "2.5.29.14").unwrap().extn_value.as_bytes()[2..].to_vec();
    let aki = ext(&cert, "2.5.29.35").unwrap().extn_value.as_bytes();
    assert_eq!(&aki[4..], ski.as_slice());
    assert_eq!(aki.len(), 4 + ski.len());
    // Valid for the key: the default scheme round-trips through the certificate.
    assert_eq!(
        cert.signature_algorithm().to_der().unwrap(),
        SignatureScheme::EcdsaP256Sha256.algorithm_der()
    );
}

/// The policies of the request, not only its `profile`, decide which rules
/// the certificate is held to: a reserved S/MIME policy passes only as
/// S/MIME, a TLS policy as no subscriber profile. Nothing is signed.
#[test]
fn subscriber_profile_follows_the_requested_policies() {
    let c = small();
    let emails = vec!["alice@example.com".to_string()];
    let issue = |req: SubscriberLeafRequest| build_subscriber_leaf(req, &c.ica_der, &c.ica_signer);
    let refused = |req: SubscriberLeafRequest, needle: &str| match issue(req) {
        Err(CaError::Profile(m)) => assert!(m.contains(needle), "expected {needle:?} in {m:?}"),
        other => panic!("expected a profile violation {needle:?}, got {other:?}"),
    };
    let client = |policy_oids, ext_key_usages| SubscriberLeafRequest {
        ext_key_usages,
        policy_oids,
        profile: SubscriberProfile::ClientAuth,
        max_validity_days: 1095,
        ..base_request(&c.leaf_spki, &[], &emails)
    };
    // A plain client-authentication certificate is fine…
    let der = issue(client(
        &[POLICY_CERTWELL_CLIENT_AUTH],
        &[OID_EKU_CLIENT_AUTH],
    ))
    .unwrap();
    verify_issued_by(&der, &c.ica_der).unwrap();
    // …but with a reserved S/MIME policy it is an S/MIME certificate, which
    // never passes as ClientAuth (here it would also escape the 825-day cap,
    // the strict-EKU rule and the rfc822Name rule)…
    fn long(req: SubscriberLeafRequest<'_>) -> SubscriberLeafRequest<'_> {
        SubscriberLeafRequest {
            not_after: req.not_before + Duration::days(1000),
            ..req
        }
    }
    refused(
        long(client(
            &[POLICY_CERTWELL_CLIENT_AUTH, MBX_STRICT],
            &[OID_EKU_CLIENT_AUTH, OID_EKU_EMAIL_PROTECTION],
        )),
        "a client-authentication certificate must not carry the reserved S/MIME policy 2.23.140.1.5.1.3",
    );
    // …and as S/MIME it meets the S/MIME rules.
    refused(
        long(SubscriberLeafRequest {
            profile: SubscriberProfile::Smime,
            max_validity_days: 1095,
            ..client(
                &[POLICY_CERTWELL_CLIENT_AUTH, MBX_STRICT],
                &[OID_EKU_CLIENT_AUTH, OID_EKU_EMAIL_PROTECTION],
            )
        }),
        "maximum of 825 days",
    );
    // Nor as document signing.
    refused(
        SubscriberLeafRequest {
            profile: SubscriberProfile::DocumentSigning,
            ..client(
                &[POLICY_CERTWELL_DOCUMENT_SIGNING, MBX_MP],
                &[OID_EKU_DOCUMENT_SIGNING_MS, OID_EKU_EMAIL_PROTECTION],
            )
        },
        "a document-signing certificate must not carry the reserved S/MIME policy 2.23.140.1.5.1.2",
    );
    // A TLS policy makes no subscriber certificate of any kind.
    refused(
        client(
            &[POLICY_CERTWELL_CLIENT_AUTH, POLICY_TLS_OV],
            &[OID_EKU_CLIENT_AUTH],
        ),
        "a client-authentication certificate must not carry the TLS policy 2.23.140.1.2.2",
    );
    refused(
        SubscriberLeafRequest {
            policy_oids: &[MBX_STRICT, POLICY_TLS_EV],
            ..base_request(&c.leaf_spki, &[], &emails)
        },
        "an S/MIME certificate must not carry the TLS policy 2.23.140.1.1",
    );
}

#[test]
fn ca_profile_input_errors() {
    let c = small();
    let (signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let spki = signer.spki_der();
    let subject = ca_subject("X");
    let nb = now();
    let req = |profile, cert_url| CaCertRequest {
        profile,
        subject: &subject,
        subject_spki_der: &spki,
        serial: testing::recorded_serial(),
        not_before: nb,
        not_after: nb + Duration::days(10),
        issuer_crl_url: Some(ROOT_CRL),
        issuer_cert_url: cert_url,
    };
    for profile in [CaProfile::SmimeIssuing, CaProfile::ClientAuthIssuing] {
        // An issuing profile needs the issuer certificate (here the S/MIME ICA).
        assert!(build_ca_certificate(req(profile, Some(ROOT_CERT)), None, &c.ica_signer).is_err());
        match build_ca_certificate(req(profile, None), Some(&c.ica_der), &c.ica_signer) {
            Err(CaError::InvalidInput(m)) => assert!(m.contains("issuer_cert_url"), "{m}"),
            other => panic!("{other:?}"),
        }
        let ok = build_ca_certificate(
            req(profile, Some(ROOT_CERT)),
            Some(&c.ica_der),
            &c.ica_signer,
        )
        .unwrap();
        verify_issued_by(&ok, &c.ica_der).unwrap();
    }
}
