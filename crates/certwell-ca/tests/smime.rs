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

fn build_ica(
    dir: &Path,
    name: &'static str,
    alg: KeyAlgorithm,
    profile: CaProfile,
    cn: &str,
    root: &Cert,
    root_signer: &SoftwareSigner,
    nb: OffsetDateTime,
) -> Ca {
    let (signer, _) = SoftwareSigner::generate(alg).unwrap();
    let der = build_ca_certificate(
        &CaCertRequest {
            profile,
            subject: &ca_subject(cn),
            subject_spki_der: &signer.spki_der(),
            serial: &random_serial(),
            not_before: nb,
            not_after: nb + Duration::days(3652),
            issuer_crl_url: Some(ROOT_CRL),
            issuer_cert_url: Some(ROOT_CERT),
        },
        Some(&root.der),
        root_signer,
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
        },
    ]
}

fn build() -> Hierarchy {
    let dir = tempfile::tempdir().unwrap();
    let nb = now();

    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let root_der = build_ca_certificate(
        &CaCertRequest {
            profile: CaProfile::Root,
            subject: &ca_subject("Certwell Test S/MIME Root CA"),
            subject_spki_der: &root_signer.spki_der(),
            serial: &random_serial(),
            not_before: nb,
            not_after: nb + Duration::days(7305),
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &root_signer,
    )
    .unwrap();
    let root = write(dir.path(), "smime-root", root_der);

    let icas = vec![
        build_ica(
            dir.path(),
            "ica-rsa4096",
            KeyAlgorithm::Rsa4096,
            CaProfile::SmimeIssuing,
            "Certwell Test S/MIME RSA CA",
            &root,
            &root_signer,
            nb,
        ),
        build_ica(
            dir.path(),
            "ica-p384",
            KeyAlgorithm::EcdsaP384,
            CaProfile::SmimeIssuing,
            "Certwell Test S/MIME ECC CA",
            &root,
            &root_signer,
            nb,
        ),
        build_ica(
            dir.path(),
            "ica-client-p384",
            KeyAlgorithm::EcdsaP384,
            CaProfile::ClientAuthIssuing,
            "Certwell Test Client Auth CA",
            &root,
            &root_signer,
            nb,
        ),
    ];

    let leaf_na = nb + Duration::seconds(365 * 86400 - 1);
    let mut leaves = Vec::new();
    for s in specs() {
        let ica = icas.iter().find(|c| c.cert.name == s.ica).unwrap();
        let (key, _) = SoftwareSigner::generate(s.key).unwrap();
        let emails: Vec<String> = s.emails.iter().map(|e| e.to_string()).collect();
        let der = build_subscriber_leaf(
            &SubscriberLeafRequest {
                subject: &s.subject,
                emails: &emails,
                upn: s.upn,
                key_usage: s.ku,
                ext_key_usages: &s.ekus,
                policy_oids: &[s.policy],
                subject_spki_der: &key.spki_der(),
                serial: &random_serial(),
                not_before: nb,
                not_after: leaf_na,
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
        });
    }
    Hierarchy {
        _dir: dir,
        root,
        icas,
        leaves,
    }
}

fn ica<'a>(h: &'a Hierarchy, name: &str) -> &'a Ca {
    h.icas.iter().find(|c| c.cert.name == name).unwrap()
}

/// Run a pkilint linter with `-s WARNING -f CSV`; (exit code, findings, raw output).
fn pkilint(bin: &Path, linter: &str, extra: &[&str], pem: &Path) -> (i32, Vec<(String, String)>, String) {
    let mut args = vec!["lint"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-s", "INFO", "-f", "CSV", pem.to_str().unwrap()]);
    let (code, out, err) = run(Command::new(bin.join(linter)).args(&args));
    (code, findings(&out), format!("{out}{err}"))
}

#[test]
fn smime_hierarchy_debug_dump() {
    let Some(bin) = pkilint_dir_or_skip() else {
        return;
    };
    let h = build();
    let mut all: Vec<&Cert> = vec![&h.root];
    all.extend(h.icas.iter().map(|c| &c.cert));
    for c in all {
        for (linter, extra) in [
            ("lint_cabf_smime_cert", vec!["-d"]),
            ("lint_pkix_cert", vec![]),
            ("lint_cabf_serverauth_cert", vec!["-d", "-o"]),
        ] {
            let (code, _, raw) = pkilint(&bin, linter, &extra, &c.pem);
            eprintln!("== {} {linter}: exit {code}\n{raw}", c.name);
        }
    }
    for l in &h.leaves {
        let (linter, extra) = match l.lint {
            Lint::Smime => ("lint_cabf_smime_cert", vec!["-d", "-o"]),
            Lint::Pkix => ("lint_pkix_cert", vec![]),
        };
        let (code, _, raw) = pkilint(&bin, linter, &extra, &l.cert.pem);
        eprintln!("== {} {linter}: exit {code}\n{raw}", l.cert.name);
        let _ = (ica(&h, l.ica), l.scheme);
    }
}
