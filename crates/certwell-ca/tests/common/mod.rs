//! Shared fixture: a full certwell test hierarchy written to a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use certwell_ca::*;
use time::{Duration, OffsetDateTime};

pub struct Issued {
    pub name: &'static str,
    pub der: Vec<u8>,
    pub pem_path: PathBuf,
}

pub struct Leaf {
    pub issued: Issued,
    pub ica_name: &'static str,
    pub ev: bool,
    pub has_cn: bool,
    pub serial: Vec<u8>,
}

pub struct Ica {
    pub issued: Issued,
    pub signer: SoftwareSigner,
    pub ev: bool,
}

pub struct Crl {
    pub name: &'static str,
    pub der_path: PathBuf,
    pub issuer_pem: PathBuf,
    pub der: Vec<u8>,
    /// "CRL" or "ARL" for pkilint -t
    pub kind: &'static str,
}

pub struct Hierarchy {
    pub dir: tempfile::TempDir,
    pub root: Issued,
    pub root_signer: SoftwareSigner,
    pub icas: Vec<Ica>,
    pub leaves: Vec<Leaf>,
    pub crls: Vec<Crl>,
    /// Serial of the leaf listed in the 2-entry CRL.
    pub revoked_leaf: &'static str,
}

pub fn now() -> OffsetDateTime {
    let n = OffsetDateTime::now_utc();
    n.replace_nanosecond(0).unwrap() - Duration::minutes(5)
}

fn write(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let p = dir.join(format!("{name}.pem"));
    std::fs::write(&p, der_to_pem("CERTIFICATE", der)).unwrap();
    std::fs::write(dir.join(format!("{name}.der")), der).unwrap();
    p
}

fn ov_subject(cn: Option<&str>) -> TlsSubject {
    TlsSubject {
        country: "US".into(),
        state: Some("Utah".into()),
        locality: Some("Lehi".into()),
        organization: "Example Corp".into(),
        common_name: cn.map(str::to_owned),
        ..Default::default()
    }
}

fn ev_subject(cn: Option<&str>) -> TlsSubject {
    TlsSubject {
        country: "US".into(),
        state: Some("Delaware".into()),
        locality: Some("Wilmington".into()),
        organization: "Example Holdings, Inc.".into(),
        common_name: cn.map(str::to_owned),
        business_category: Some("Private Organization".into()),
        jurisdiction_country: Some("US".into()),
        jurisdiction_state: Some("Delaware".into()),
        serial_number: Some("1234567".into()),
        ..Default::default()
    }
}

pub fn build() -> Hierarchy {
    let dir = tempfile::tempdir().unwrap();
    let nb = now();

    // Root: P-384, 20 years.
    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let root_spki = root_signer.spki_der();
    let root_subject = CaSubject {
        country: "US".into(),
        organization: "Certwell Test".into(),
        common_name: "Certwell Test Root CA".into(),
    };
    let root_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &root_subject,
            subject_spki_der: &root_spki,
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
    let root = Issued {
        name: "root",
        pem_path: write(dir.path(), "root", &root_der),
        der: root_der,
    };

    // ICAs.
    let mut icas = Vec::new();
    for (name, alg, ev, cn) in [
        (
            "ica-rsa-ov",
            KeyAlgorithm::Rsa3072,
            false,
            "Certwell Test RSA OV CA",
        ),
        (
            "ica-p256-ov",
            KeyAlgorithm::EcdsaP256,
            false,
            "Certwell Test ECC OV CA",
        ),
        (
            "ica-rsa-ev",
            KeyAlgorithm::Rsa3072,
            true,
            "Certwell Test RSA EV CA",
        ),
    ] {
        let (signer, _) = SoftwareSigner::generate(alg).unwrap();
        let spki = signer.spki_der();
        let subject = CaSubject {
            country: "US".into(),
            organization: "Certwell Test".into(),
            common_name: cn.into(),
        };
        let der = build_ca_certificate(
            CaCertRequest {
                profile: CaProfile::TlsIssuing { ev },
                subject: &subject,
                subject_spki_der: &spki,
                serial: testing::recorded_serial(),
                not_before: nb,
                not_after: nb + Duration::days(3652),
                issuer_crl_url: Some("http://crl.certwell.example.com/root.crl"),
                issuer_cert_url: Some("http://certs.certwell.example.com/root.crt"),
            },
            Some(&root.der),
            &root_signer,
        )
        .unwrap();
        icas.push(Ica {
            issued: Issued {
                name,
                pem_path: write(dir.path(), name, &der),
                der,
            },
            signer,
            ev,
        });
    }

    // Leaves from CSRs.
    // A day under the BR maximum for `nb` (199 days in 2026), so the
    // fixtures keep passing the pre-sign check as the cap steps down.
    let leaf_na = nb + Duration::seconds((tls_br_max_days(nb) - 1) * 86400 - 1);
    struct Spec {
        name: &'static str,
        ica: usize,
        alg: KeyAlgorithm,
        ev: bool,
        dns: Vec<&'static str>,
        cn: Option<&'static str>,
        ocsp: bool,
    }
    let specs = vec![
        Spec {
            name: "leaf-ov-rsa2048",
            ica: 0,
            alg: KeyAlgorithm::Rsa2048,
            ev: false,
            dns: vec!["www.example.com", "example.com"],
            cn: None,
            ocsp: true,
        },
        Spec {
            name: "leaf-ov-rsa2048-cn",
            ica: 0,
            alg: KeyAlgorithm::Rsa2048,
            ev: false,
            dns: vec!["api.example.com"],
            cn: Some("api.example.com"),
            ocsp: false,
        },
        Spec {
            name: "leaf-ov-p256",
            ica: 1,
            alg: KeyAlgorithm::EcdsaP256,
            ev: false,
            dns: vec!["shop.example.com"],
            cn: None,
            ocsp: false,
        },
        Spec {
            name: "leaf-ov-p256-cn",
            ica: 1,
            alg: KeyAlgorithm::EcdsaP256,
            ev: false,
            dns: vec!["mail.example.com", "smtp.example.com"],
            cn: Some("mail.example.com"),
            ocsp: true,
        },
        Spec {
            name: "leaf-ov-wildcard",
            ica: 1,
            alg: KeyAlgorithm::Rsa2048,
            ev: false,
            dns: vec!["*.example.org", "example.org"],
            cn: None,
            ocsp: false,
        },
        Spec {
            name: "leaf-ev-p256",
            ica: 2,
            alg: KeyAlgorithm::EcdsaP256,
            ev: true,
            dns: vec!["secure.example.net", "example.net"],
            cn: None,
            ocsp: false,
        },
        Spec {
            name: "leaf-ev-rsa2048-cn",
            ica: 2,
            alg: KeyAlgorithm::Rsa2048,
            ev: true,
            dns: vec!["bank.example.net"],
            cn: Some("bank.example.net"),
            ocsp: true,
        },
    ];
    let mut leaves = Vec::new();
    for s in specs {
        let (csr_pem, _) = testing::make_csr(s.alg, s.dns[0]);
        let csr = parse_and_verify_csr(&csr_pem).unwrap();
        assert_eq!(csr.key_algorithm, s.alg);
        let subject = if s.ev {
            ev_subject(s.cn)
        } else {
            ov_subject(s.cn)
        };
        let dns: Vec<String> = s.dns.iter().map(|d| d.to_string()).collect();
        let ica = &icas[s.ica];
        assert_eq!(ica.ev, s.ev);
        let recorded = testing::recorded_serial();
        let serial = recorded.as_bytes().to_vec();
        let der = build_tls_leaf(
            TlsLeafRequest {
                ev: s.ev,
                subject: &subject,
                dns_names: &dns,
                subject_spki_der: &csr.spki_der,
                serial: recorded,
                not_before: nb,
                not_after: leaf_na,
                max_validity_days: 398,
                crl_url: "http://crl.certwell.example.com/ica.crl",
                ca_issuers_url: "http://certs.certwell.example.com/ica.crt",
                ocsp_url: if s.ocsp {
                    Some("http://ocsp.certwell.example.com")
                } else {
                    None
                },
            },
            &ica.issued.der,
            &ica.signer,
        )
        .unwrap();
        leaves.push(Leaf {
            issued: Issued {
                name: s.name,
                pem_path: write(dir.path(), s.name, &der),
                der,
            },
            ica_name: ica.issued.name,
            ev: s.ev,
            has_cn: s.cn.is_some(),
            serial,
        });
    }

    // CRLs: ica-rsa-ov with 0 and 2 entries (one is leaf-ov-rsa2048), root ARL with 1 entry.
    let mut crls = Vec::new();
    let mut add_crl = |name: &'static str,
                       kind: &'static str,
                       issuer: &Issued,
                       signer: &dyn Signer,
                       entries: &[CrlEntry],
                       days: i64| {
        let der = build_crl(
            &issuer.der,
            signer,
            42,
            nb,
            nb + Duration::days(days),
            entries,
        )
        .unwrap();
        let der_path = dir.path().join(format!("{name}.der"));
        std::fs::write(&der_path, &der).unwrap();
        std::fs::write(
            dir.path().join(format!("{name}.pem")),
            der_to_pem("X509 CRL", &der),
        )
        .unwrap();
        crls.push(Crl {
            name,
            der_path,
            issuer_pem: issuer.pem_path.clone(),
            der,
            kind,
        });
    };
    add_crl(
        "crl-ica-rsa-ov-empty",
        "CRL",
        &icas[0].issued,
        &icas[0].signer,
        &[],
        7,
    );
    add_crl(
        "crl-ica-rsa-ov-2",
        "CRL",
        &icas[0].issued,
        &icas[0].signer,
        &[
            CrlEntry {
                serial: leaves[0].serial.clone(),
                revocation_date: nb,
                reason: Some(1),
            },
            CrlEntry {
                serial: unissued_serial(),
                revocation_date: nb,
                reason: None,
            },
        ],
        7,
    );
    add_crl(
        "crl-ica-p256-ov-empty",
        "CRL",
        &icas[1].issued,
        &icas[1].signer,
        &[],
        10,
    );
    add_crl(
        "arl-root-1",
        "ARL",
        &root,
        &root_signer,
        &[CrlEntry {
            serial: unissued_serial(),
            revocation_date: nb,
            reason: Some(5),
        }],
        365,
    );

    Hierarchy {
        dir,
        root,
        root_signer,
        icas,
        leaves,
        crls,
        revoked_leaf: "leaf-ov-rsa2048",
    }
}

/// Serial bytes for a CRL entry of a certificate this fixture never issued.
fn unissued_serial() -> Vec<u8> {
    testing::recorded_serial().as_bytes().to_vec()
}

pub fn ica_by_name<'a>(h: &'a Hierarchy, name: &str) -> &'a Ica {
    h.icas.iter().find(|i| i.issued.name == name).unwrap()
}

/// Run a command, returning (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The pkilint venv bin dir: $CERTWELL_PKILINT_BIN_DIR, then
/// /work/main/.venv/bin, then the workspace `.venv/bin`.
pub fn pkilint_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("CERTWELL_PKILINT_BIN_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from("/work/main/.venv/bin"));
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"));
    candidates
        .into_iter()
        .find(|d| d.join("lint_cabf_serverauth_cert").is_file() && d.join("lint_crl").is_file())
}

/// [`pkilint_dir`], or `None` when it is missing and CERTWELL_SKIP_PKILINT=1
/// (the caller then skips); panics when it is missing otherwise.
pub fn pkilint_dir_or_skip() -> Option<PathBuf> {
    if let Some(d) = pkilint_dir() {
        return Some(d);
    }
    if std::env::var("CERTWELL_SKIP_PKILINT").as_deref() == Ok("1") {
        eprintln!("pkilint not found; skipped because CERTWELL_SKIP_PKILINT=1");
        return None;
    }
    panic!(
        "pkilint not found: set CERTWELL_PKILINT_BIN_DIR to a venv bin dir with pkilint 0.13.3 \
         (python3 -m venv .venv && .venv/bin/pip install pkilint==0.13.3), \
         or set CERTWELL_SKIP_PKILINT=1 to skip"
    );
}

/// Findings as (severity, code), from pkilint `-f CSV` output.
pub fn findings(csv: &str) -> Vec<(String, String)> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            (
                f.get(2).unwrap_or(&"").to_string(),
                f.get(3).unwrap_or(&"").to_string(),
            )
        })
        .collect()
}
