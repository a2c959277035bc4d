//! OCSP: delegated responder certificates, requests from `openssl ocsp`,
//! responses verified by `openssl ocsp` and linted with pkilint, and
//! malformed / mutated requests.
//!
//! pkilint is located as in tests/pkilint.rs (missing → FAIL unless
//! CERTWELL_SKIP_PKILINT=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use certwell_ca::*;
use common::{findings, now, pkilint_dir_or_skip, run};
use der::Decode;
use time::{Duration, OffsetDateTime};

struct Cert {
    der: Vec<u8>,
    pem: PathBuf,
}

struct Setup {
    dir: tempfile::TempDir,
    nb: OffsetDateTime,
    root: Cert,
    ica: Cert,
    ica_signer: SoftwareSigner,
    other_ica: Cert,
    responder: Cert,
    responder_signer: SoftwareSigner,
    leaf: Cert,
    leaf_serial: Vec<u8>,
    /// root + ICA, for `openssl ocsp -CAfile`.
    ca_bundle: PathBuf,
}

fn write(dir: &Path, name: &str, der: Vec<u8>) -> Cert {
    let pem = dir.join(format!("{name}.pem"));
    std::fs::write(&pem, der_to_pem("CERTIFICATE", &der)).unwrap();
    std::fs::write(dir.join(format!("{name}.der")), &der).unwrap();
    Cert { der, pem }
}

fn subject(cn: &str) -> CaSubject {
    CaSubject {
        country: "US".into(),
        organization: "Certwell Test".into(),
        common_name: cn.into(),
    }
}

fn ca_request<'a>(
    profile: CaProfile,
    subject: &'a CaSubject,
    spki: &'a [u8],
    serial: RecordedSerial,
    nb: OffsetDateTime,
    days: i64,
) -> CaCertRequest<'a> {
    CaCertRequest {
        profile,
        subject,
        subject_spki_der: spki,
        serial,
        not_before: nb,
        not_after: nb + Duration::days(days),
        issuer_crl_url: Some("http://crl.certwell.example.com/root.crl"),
        issuer_cert_url: Some("http://certs.certwell.example.com/root.crt"),
    }
}

fn make_ica(
    root: &Cert,
    root_signer: &SoftwareSigner,
    alg: KeyAlgorithm,
    cn: &str,
) -> (Vec<u8>, SoftwareSigner) {
    let (signer, _) = SoftwareSigner::generate(alg).unwrap();
    let der = build_ca_certificate(
        ca_request(
            CaProfile::TlsIssuing { ev: false },
            &subject(cn),
            &signer.spki_der(),
            testing::recorded_serial(),
            now(),
            3652,
        ),
        Some(&root.der),
        root_signer,
    )
    .unwrap();
    (der, signer)
}

/// A delegated responder certificate for `ica` with a fresh `alg` key.
fn responder_cert(
    ica: &Cert,
    ica_signer: &SoftwareSigner,
    alg: KeyAlgorithm,
) -> (Vec<u8>, SoftwareSigner) {
    let (signer, _) = SoftwareSigner::generate(alg).unwrap();
    let der = build_ca_certificate(
        ca_request(
            CaProfile::OcspResponder,
            &subject("Certwell Test OCSP Responder"),
            &signer.spki_der(),
            testing::recorded_serial(),
            now(),
            90,
        ),
        Some(&ica.der),
        ica_signer,
    )
    .unwrap();
    (der, signer)
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let nb = now();
    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let root_der = build_ca_certificate(
        CaCertRequest {
            issuer_crl_url: None,
            issuer_cert_url: None,
            ..ca_request(
                CaProfile::Root,
                &subject("Certwell OCSP Test Root"),
                &root_signer.spki_der(),
                testing::recorded_serial(),
                nb,
                7305,
            )
        },
        None,
        &root_signer,
    )
    .unwrap();
    let root = write(dir.path(), "root", root_der);
    let (ica_der, ica_signer) = make_ica(
        &root,
        &root_signer,
        KeyAlgorithm::Rsa3072,
        "Certwell OCSP Test ICA",
    );
    let ica = write(dir.path(), "ica", ica_der);
    let (other_der, _) = make_ica(
        &root,
        &root_signer,
        KeyAlgorithm::EcdsaP256,
        "Certwell OCSP Other ICA",
    );
    let other_ica = write(dir.path(), "other-ica", other_der);
    let (resp_der, responder_signer) = responder_cert(&ica, &ica_signer, KeyAlgorithm::EcdsaP256);
    let responder = write(dir.path(), "responder", resp_der);

    let (leaf_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let recorded = testing::recorded_serial();
    let leaf_serial = recorded.as_bytes().to_vec();
    let leaf_der = build_tls_leaf(
        TlsLeafRequest {
            ev: false,
            subject: &TlsSubject {
                country: "US".into(),
                state: Some("Utah".into()),
                organization: "Example Corp".into(),
                ..Default::default()
            },
            dns_names: &["www.example.com".to_string()],
            subject_spki_der: &leaf_signer.spki_der(),
            serial: recorded,
            not_before: nb,
            // 90 days, or less once the BR maximum is lower (2029).
            not_after: nb + Duration::days(90.min(tls_br_max_days(nb) - 1)),
            max_validity_days: 398,
            crl_url: "http://crl.certwell.example.com/ica.crl",
            ca_issuers_url: "http://certs.certwell.example.com/ica.crt",
            ocsp_url: Some("http://ocsp.certwell.example.com"),
        },
        &ica.der,
        &ica_signer,
    )
    .unwrap();
    let leaf = write(dir.path(), "leaf", leaf_der);
    let ca_bundle = dir.path().join("cas.pem");
    std::fs::write(
        &ca_bundle,
        der_to_pem("CERTIFICATE", &root.der) + &der_to_pem("CERTIFICATE", &ica.der),
    )
    .unwrap();
    Setup {
        dir,
        nb,
        root,
        ica,
        ica_signer,
        other_ica,
        responder,
        responder_signer,
        leaf,
        leaf_serial,
        ca_bundle,
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `openssl ocsp -reqout` for the leaf with extra `args` (digest, nonce).
fn openssl_request(s: &Setup, name: &str, args: &[&str]) -> Vec<u8> {
    let out = s.dir.path().join(name);
    let mut cmd = Command::new("openssl");
    cmd.arg("ocsp").args(args).args([
        "-issuer",
        p(&s.ica.pem),
        "-cert",
        p(&s.leaf.pem),
        "-reqout",
        p(&out),
    ]);
    let (code, o, e) = run(&mut cmd);
    assert_eq!(code, 0, "openssl ocsp -reqout {args:?}: {o}{e}");
    std::fs::read(out).unwrap()
}

/// `openssl ocsp -respin` against the leaf, verifying the delegated
/// responder chain up to the root; returns stdout + stderr.
fn openssl_check(s: &Setup, resp: &Path, extra: &[&str]) -> (i32, String) {
    let (code, o, e) = run(Command::new("openssl")
        .args(["ocsp", "-respin", p(resp)])
        .args(extra)
        .args([
            "-CAfile",
            p(&s.ca_bundle),
            "-issuer",
            p(&s.ica.pem),
            "-cert",
            p(&s.leaf.pem),
            "-no_nonce",
        ]));
    (code, format!("{o}{e}"))
}

fn lint_ocsp(bin: &Path, resp: &Path) -> (i32, String, Vec<(String, String)>) {
    let (code, out, err) = run(Command::new(bin.join("lint_ocsp_response")).args([
        "lint",
        "-s",
        "WARNING",
        "-f",
        "CSV",
        p(resp),
    ]));
    let f = findings(&out);
    (code, format!("{out}{err}"), f)
}

fn single(cert_id_raw: &[u8], status: OcspCertStatus, this: OffsetDateTime) -> OcspSingle<'_> {
    OcspSingle {
        cert_id_raw,
        status,
        this_update: this,
        next_update: this + Duration::days(4),
    }
}

#[test]
fn openssl_requests_responses_and_pkilint() {
    let s = setup();
    let bin = pkilint_dir_or_skip();
    let ica_id_sha1 = issuer_hashes(&s.ica.der, OcspHash::Sha1).unwrap();

    // --- requests from openssl ---------------------------------------------------------
    let plain = parse_ocsp_request(&openssl_request(&s, "req-sha1.der", &["-no_nonce"])).unwrap();
    let with_nonce_der = openssl_request(&s, "req-nonce.der", &[]);
    let with_nonce = parse_ocsp_request(&with_nonce_der).unwrap();
    let sha256 = parse_ocsp_request(&openssl_request(
        &s,
        "req-sha256.der",
        &["-sha256", "-no_nonce"],
    ))
    .unwrap();

    assert_eq!(plain.nonce, None);
    assert_eq!(sha256.nonce, None);
    let nonce = with_nonce
        .nonce
        .clone()
        .expect("openssl adds a nonce by default");
    // RFC 8954: an OCTET STRING of 16 random octets inside extnValue.
    assert_eq!(&nonce[..2], &[0x04, 0x10]);
    assert_eq!(nonce.len(), 18);
    for (req, alg) in [
        (&plain, OcspHash::Sha1),
        (&with_nonce, OcspHash::Sha1),
        (&sha256, OcspHash::Sha256),
    ] {
        assert_eq!(req.cert_ids.len(), 1);
        let id = &req.cert_ids[0];
        assert_eq!(id.hash_algorithm, alg);
        assert_eq!(id.serial, s.leaf_serial);
        assert!(id.matches_issuer(&s.ica.der).unwrap());
        assert!(!id.matches_issuer(&s.other_ica.der).unwrap());
        assert!(!id.matches_issuer(&s.root.der).unwrap());
        assert!(id.matches_issuer(b"not a certificate").is_err());
        let (name_hash, key_hash) = issuer_hashes(&s.ica.der, alg).unwrap();
        assert_eq!(
            (&id.issuer_name_hash, &id.issuer_key_hash),
            (&name_hash, &key_hash)
        );
        // Our own CertID encoding is byte-identical to OpenSSL's.
        assert_eq!(
            OcspCertId::new(&s.ica.der, alg, &s.leaf_serial).unwrap(),
            *id
        );
    }
    assert_eq!(
        (
            plain.cert_ids[0].issuer_name_hash.clone(),
            plain.cert_ids[0].issuer_key_hash.clone()
        ),
        ica_id_sha1
    );

    // --- responses: good / revoked / unknown, SHA-1 and SHA-256 CertIDs ----------------
    let produced = now();
    let this = produced - Duration::minutes(1);
    let revoked_at = this - Duration::minutes(1);
    let cases: [(&str, OcspCertStatus, &[&str]); 4] = [
        ("good", OcspCertStatus::Good, &[": good"]),
        (
            "revoked",
            OcspCertStatus::Revoked {
                time: revoked_at,
                reason: Some(1),
            },
            &[": revoked", "Reason: keyCompromise", "Revocation Time:"],
        ),
        (
            "revoked-noreason",
            OcspCertStatus::Revoked {
                time: revoked_at,
                reason: None,
            },
            &[": revoked", "Revocation Time:"],
        ),
        ("unknown", OcspCertStatus::Unknown, &[": unknown"]),
    ];
    let mut lint_failures = Vec::new();
    for (req_name, req, digest) in [("sha1", &plain, "-sha1"), ("sha256", &sha256, "-sha256")] {
        for (name, status, expect) in &cases {
            let resp = build_ocsp_response(
                &s.responder.der,
                &s.responder_signer,
                produced,
                &[single(&req.cert_ids[0].raw, *status, this)],
                None,
            )
            .unwrap();
            let path = s.dir.path().join(format!("resp-{req_name}-{name}.der"));
            std::fs::write(&path, &resp).unwrap();
            let (code, out) = openssl_check(&s, &path, &[digest]);
            assert_eq!(code, 0, "{req_name}/{name}: {out}");
            assert!(
                out.contains("Response verify OK"),
                "{req_name}/{name}: {out}"
            );
            for e in *expect {
                assert!(out.contains(e), "{req_name}/{name}: missing {e:?} in {out}");
            }
            assert!(!out.contains("WARNING"), "{req_name}/{name}: {out}");
            if *name == "revoked-noreason" {
                assert!(!out.contains("Reason:"), "{out}");
            }
            if let Some(bin) = &bin {
                let (code, out, f) = lint_ocsp(bin, &path);
                if code != 0 || !f.is_empty() {
                    lint_failures.push(format!("{req_name}/{name}: exit {code}\n{out}"));
                }
            }
        }
    }
    assert!(lint_failures.is_empty(), "{}", lint_failures.join("\n"));

    // --- nonce echo: openssl checks it against the request -------------------------------
    let req_path = s.dir.path().join("req-nonce.der");
    let resp = build_ocsp_response(
        &s.responder.der,
        &s.responder_signer,
        produced,
        &[single(
            &with_nonce.cert_ids[0].raw,
            OcspCertStatus::Good,
            this,
        )],
        Some(&nonce),
    )
    .unwrap();
    let path = s.dir.path().join("resp-nonce.der");
    std::fs::write(&path, &resp).unwrap();
    let (code, o, e) = run(Command::new("openssl").args([
        "ocsp",
        "-reqin",
        p(&req_path),
        "-respin",
        p(&path),
        "-CAfile",
        p(&s.ca_bundle),
        "-resp_text",
    ]));
    let out = format!("{o}{e}");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("OCSP Nonce"), "{out}");
    assert!(
        !out.contains("WARNING") && !out.contains("Nonce Verify error"),
        "{out}"
    );
    // ... and the status with -cert.
    let (code, out) = openssl_check(&s, &path, &[]);
    assert!(code == 0 && out.contains(": good"), "{out}");
    if let Some(bin) = &bin {
        let (code, out, f) = lint_ocsp(bin, &path);
        assert!(code == 0 && f.is_empty(), "nonce response: {out}");
    }

    // A different nonce is detected by openssl.
    let mut wrong = nonce.clone();
    let last = wrong.len() - 1;
    wrong[last] ^= 1;
    let resp = build_ocsp_response(
        &s.responder.der,
        &s.responder_signer,
        produced,
        &[single(
            &with_nonce.cert_ids[0].raw,
            OcspCertStatus::Good,
            this,
        )],
        Some(&wrong),
    )
    .unwrap();
    let bad_path = s.dir.path().join("resp-wrong-nonce.der");
    std::fs::write(&bad_path, &resp).unwrap();
    let (code, o, e) = run(Command::new("openssl").args([
        "ocsp",
        "-reqin",
        p(&req_path),
        "-respin",
        p(&bad_path),
        "-CAfile",
        p(&s.ca_bundle),
    ]));
    assert!(
        code != 0 && format!("{o}{e}").contains("Nonce Verify error"),
        "{o}{e}"
    );

    // --- a response for the other ICA's CertID is rejected by openssl -------------------
    // (the responder is not authorised by that issuer).
    let other_id = OcspCertId::new(&s.other_ica.der, OcspHash::Sha1, &s.leaf_serial).unwrap();
    assert!(!other_id.matches_issuer(&s.ica.der).unwrap());
    assert!(other_id.matches_issuer(&s.other_ica.der).unwrap());
    let resp = build_ocsp_response(
        &s.responder.der,
        &s.responder_signer,
        produced,
        &[single(&other_id.raw, OcspCertStatus::Good, this)],
        None,
    )
    .unwrap();
    let path = s.dir.path().join("resp-other-issuer.der");
    std::fs::write(&path, &resp).unwrap();
    let (code, o, e) = run(Command::new("openssl").args([
        "ocsp",
        "-respin",
        p(&path),
        "-CAfile",
        p(&s.ca_bundle),
        "-issuer",
        p(&s.other_ica.pem),
        "-cert",
        p(&s.leaf.pem),
        "-no_nonce",
    ]));
    let out = format!("{o}{e}");
    assert!(
        code != 0 && out.contains("Response Verify Failure"),
        "{out}"
    );

    // --- the CA signs for itself (no delegated responder) -------------------------------
    let resp = build_ocsp_response(
        &s.ica.der,
        &s.ica_signer,
        produced,
        &[single(&plain.cert_ids[0].raw, OcspCertStatus::Good, this)],
        None,
    )
    .unwrap();
    let path = s.dir.path().join("resp-ca-signed.der");
    std::fs::write(&path, &resp).unwrap();
    let (code, out) = openssl_check(&s, &path, &[]);
    assert!(
        code == 0 && out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    if let Some(bin) = &bin {
        let (code, out, f) = lint_ocsp(bin, &path);
        assert!(code == 0 && f.is_empty(), "CA-signed response: {out}");
    }

    // --- error responses -----------------------------------------------------------------
    for (status, text) in [
        (OCSP_STATUS_MALFORMED_REQUEST, "malformedrequest (1)"),
        (OCSP_STATUS_INTERNAL_ERROR, "internalerror (2)"),
        (OCSP_STATUS_TRY_LATER, "trylater (3)"),
        (OCSP_STATUS_SIG_REQUIRED, "sigrequired (5)"),
        (OCSP_STATUS_UNAUTHORIZED, "unauthorized (6)"),
    ] {
        let der = ocsp_error_response(status);
        assert_eq!(der, vec![0x30, 0x03, 0x0a, 0x01, status]);
        let path = s.dir.path().join(format!("err-{status}.der"));
        std::fs::write(&path, &der).unwrap();
        let (_, o, e) = run(Command::new("openssl").args([
            "ocsp",
            "-respin",
            p(&path),
            "-resp_text",
            "-noverify",
        ]));
        let out = format!("{o}{e}");
        assert!(out.to_ascii_lowercase().contains(text), "{status}: {out}");
        if let Some(bin) = &bin {
            let (code, out, f) = lint_ocsp(bin, &path);
            assert!(code == 0 && f.is_empty(), "error response {status}: {out}");
        }
    }
}

#[test]
fn responder_certificate_profile_and_lint() {
    let s = setup();
    let cert =
        x509_cert::Certificate::from_der(&s.responder.der).expect("x509-cert parses the responder");
    verify_issued_by(&s.responder.der, &s.ica.der).unwrap();
    let exts = cert.tbs_certificate().extensions().unwrap();
    let oids: Vec<String> = exts.iter().map(|e| e.extn_id.to_string()).collect();
    assert_eq!(
        oids,
        [
            "2.5.29.15",            // keyUsage
            "2.5.29.37",            // extKeyUsage
            "1.3.6.1.5.5.7.48.1.5", // ocsp-nocheck
            "2.5.29.14",            // SKI
            "2.5.29.35",            // AKI
        ]
    );
    for e in exts.iter() {
        let value = e.extn_value.as_bytes();
        match e.extn_id.to_string().as_str() {
            "2.5.29.15" => assert!(e.critical && value == [0x03, 0x02, 0x07, 0x80]),
            "2.5.29.37" => {
                assert!(!e.critical);
                assert_eq!(hex::encode(value), "300a06082b06010505070309");
            }
            "1.3.6.1.5.5.7.48.1.5" => assert!(!e.critical && value == [0x05, 0x00]),
            _ => assert!(!e.critical),
        }
    }

    // openssl: verifies as an OCSP helper under root + ICA.
    let (code, o, e) = run(Command::new("openssl").args([
        "verify",
        "-x509_strict",
        "-purpose",
        "ocsphelper",
        "-CAfile",
        p(&s.root.pem),
        "-untrusted",
        p(&s.ica.pem),
        p(&s.responder.pem),
    ]));
    assert_eq!(code, 0, "{o}{e}");

    let Some(bin) = pkilint_dir_or_skip() else {
        return;
    };
    let path = p(&s.responder.pem);
    let runs: [(&str, Vec<&str>); 4] = [
        (
            "lint_cabf_serverauth_cert",
            vec!["lint", "-d", "-o", "-s", "WARNING", "-f", "CSV", path],
        ),
        (
            "lint_cabf_serverauth_cert",
            vec![
                "lint",
                "-t",
                "OCSP-RESPONDER",
                "-s",
                "WARNING",
                "-f",
                "CSV",
                path,
            ],
        ),
        (
            "lint_pkix_cert",
            vec!["lint", "-s", "WARNING", "-f", "CSV", path],
        ),
        (
            "lint_pkix_signer_signee_cert_chain",
            vec!["lint", "-s", "WARNING", "-f", "CSV", p(&s.ica.pem), path],
        ),
    ];
    for (tool, args) in runs {
        let (code, out, err) = run(Command::new(bin.join(tool)).args(&args));
        assert!(
            code == 0 && findings(&out).is_empty(),
            "{tool} {args:?}: exit {code}\n{out}\n{err}"
        );
        if args.contains(&"-o") {
            assert!(err.contains("OCSP-RESPONDER"), "detected type: {err}");
        }
    }
}

#[test]
fn responder_and_response_input_errors() {
    let s = setup();
    let id = OcspCertId::new(&s.ica.der, OcspHash::Sha1, &s.leaf_serial).unwrap();
    let produced = now();
    let this = produced - Duration::minutes(1);
    let ok = single(&id.raw, OcspCertStatus::Good, this);
    let build = |cert: &[u8], signer: &dyn Signer, singles: &[OcspSingle], nonce: Option<&[u8]>| {
        build_ocsp_response(cert, signer, produced, singles, nonce)
    };
    build(&s.responder.der, &s.responder_signer, &[ok], None).unwrap();

    let invalid = |r: Result<Vec<u8>, CaError>, what: &str| {
        assert!(matches!(r, Err(CaError::InvalidInput(_))), "{what}: {r:?}");
    };
    invalid(
        build(&s.responder.der, &s.ica_signer, &[ok], None),
        "wrong signer",
    );
    invalid(
        build(&s.leaf.der, &s.responder_signer, &[ok], None),
        "leaf as responder",
    );
    invalid(
        build(&s.responder.der, &s.responder_signer, &[], None),
        "no responses",
    );
    assert!(build(b"junk", &s.responder_signer, &[ok], None).is_err());
    let bad_id = OcspSingle {
        cert_id_raw: b"\x30\x00",
        ..ok
    };
    invalid(
        build(&s.responder.der, &s.responder_signer, &[bad_id], None),
        "bad CertID",
    );
    for (this_update, next_update, what) in [
        (
            produced + Duration::seconds(1),
            produced + Duration::days(1),
            "thisUpdate after producedAt",
        ),
        (this, produced, "nextUpdate not after producedAt"),
        (
            this,
            this + Duration::seconds(8 * 3600 - 2),
            "window below 8 h",
        ),
        (this, this + Duration::days(10), "window above 10 days"),
    ] {
        let sr = OcspSingle {
            this_update,
            next_update,
            ..ok
        };
        invalid(
            build(&s.responder.der, &s.responder_signer, &[sr], None),
            what,
        );
    }
    // Boundaries of the inclusive interval are accepted.
    for secs in [8 * 3600 - 1, 10 * 86400 - 1] {
        let sr = OcspSingle {
            next_update: this + Duration::seconds(secs),
            ..ok
        };
        build(&s.responder.der, &s.responder_signer, &[sr], None).unwrap();
    }
    for (status, what) in [
        (
            OcspCertStatus::Revoked {
                time: this,
                reason: Some(7),
            },
            "reason 7",
        ),
        (
            OcspCertStatus::Revoked {
                time: this + Duration::seconds(1),
                reason: None,
            },
            "revoked after thisUpdate",
        ),
    ] {
        let sr = OcspSingle { status, ..ok };
        invalid(
            build(&s.responder.der, &s.responder_signer, &[sr], None),
            what,
        );
    }
    invalid(
        build(&s.responder.der, &s.responder_signer, &[ok], Some(&[])),
        "empty nonce",
    );
    invalid(
        build(
            &s.responder.der,
            &s.responder_signer,
            &[ok],
            Some(&[4u8; 129]),
        ),
        "long nonce",
    );

    // Responder certificates: the issuer must be a CA with the signer's key,
    // and the responder needs its own key.
    let responder_subject = subject("Certwell Test OCSP Responder 2");
    let req = |spki| {
        ca_request(
            CaProfile::OcspResponder,
            &responder_subject,
            spki,
            testing::recorded_serial(),
            s.nb,
            90,
        )
    };
    let spki = s.responder_signer.spki_der();
    let ica_spki = s.ica_signer.spki_der();
    invalid(
        build_ca_certificate(req(&spki), None, &s.ica_signer),
        "no issuer",
    );
    invalid(
        build_ca_certificate(req(&spki), Some(&s.leaf.der), &s.ica_signer),
        "leaf issuer",
    );
    invalid(
        build_ca_certificate(req(&spki), Some(&s.ica.der), &s.responder_signer),
        "signer is not the issuer",
    );
    invalid(
        build_ca_certificate(req(&ica_spki), Some(&s.ica.der), &s.ica_signer),
        "responder with the CA's own key",
    );
    build_ca_certificate(req(&spki), Some(&s.ica.der), &s.ica_signer).unwrap();
}

// ---- malformed requests ------------------------------------------------------------------

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len < 0x10000 {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn request_with(cert_ids: &[Vec<u8>]) -> Vec<u8> {
    let requests: Vec<u8> = cert_ids.iter().flat_map(|c| tlv(0x30, c)).collect();
    tlv(0x30, &tlv(0x30, &tlv(0x30, &requests)))
}

#[test]
fn malformed_requests_are_errors() {
    let s = setup();
    let id = OcspCertId::new(&s.ica.der, OcspHash::Sha256, &s.leaf_serial).unwrap();
    let valid = request_with(std::slice::from_ref(&id.raw));
    assert_eq!(
        parse_ocsp_request(&valid).unwrap().cert_ids,
        vec![id.clone()]
    );

    let is_err = |der: &[u8], what: &str| {
        let r = parse_ocsp_request(der);
        assert!(r.is_err(), "{what}: {r:?}");
        assert_eq!(
            r.unwrap_err().response_status(),
            OCSP_STATUS_MALFORMED_REQUEST
        );
    };
    is_err(&[], "empty");
    is_err(b"GET / HTTP/1.1\r\n\r\n", "garbage");
    is_err(&[0x30, 0x80, 0x00, 0x00], "indefinite length");
    is_err(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], "huge length");
    for n in 0..valid.len() {
        is_err(&valid[..n], "truncated");
    }
    let mut trailing = valid.clone();
    trailing.push(0);
    is_err(&trailing, "trailing byte");

    // Deep nesting: 10 000 nested SEQUENCEs (definite lengths).
    let mut nested = Vec::new();
    for _ in 0..10_000 {
        nested = tlv(0x30, &nested);
    }
    is_err(&nested, "deep nesting");
    // 1000 CertIDs: rejected by the size or the count limit, without work per entry.
    let many = request_with(&vec![id.raw.clone(); 1000]);
    assert!(matches!(
        parse_ocsp_request(&many),
        Err(OcspError::TooLarge(_))
    ));
    let seventeen = request_with(&vec![id.raw.clone(); 17]);
    assert_eq!(
        parse_ocsp_request(&seventeen),
        Err(OcspError::TooManyCertIds)
    );
    let sixteen = request_with(&vec![id.raw.clone(); 16]);
    assert_eq!(parse_ocsp_request(&sixteen).unwrap().cert_ids.len(), 16);
    assert!(matches!(
        parse_ocsp_request(&vec![0u8; OCSP_MAX_REQUEST_LEN + 1]),
        Err(OcspError::TooLarge(_))
    ));
    is_err(&request_with(&[]), "no CertIDs");

    // Unsupported hash (MD5) and wrong hash length.
    let md5 = {
        let mut c = tlv(
            0x30,
            &[
                tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05]),
                vec![5, 0],
            ]
            .concat(),
        );
        c.extend(tlv(0x04, &[0; 16]));
        c.extend(tlv(0x04, &[0; 16]));
        c.extend(tlv(0x02, &[1]));
        tlv(0x30, &c)
    };
    assert!(matches!(
        parse_ocsp_request(&request_with(&[md5])),
        Err(OcspError::UnsupportedHashAlgorithm(o)) if o == "1.2.840.113549.2.5"
    ));
}

/// Flip bits / bytes of real openssl requests (with nonce, SHA-256 CertID)
/// and truncate them: parsing must never panic, and a successful parse must
/// give a self-consistent CertID.
#[test]
fn mutated_requests_never_panic() {
    let s = setup();
    let seeds = [
        openssl_request(&s, "fuzz-nonce.der", &[]),
        openssl_request(&s, "fuzz-sha256.der", &["-sha256", "-no_nonce"]),
    ];
    let mut parsed_ok = 0usize;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for seed in &seeds {
        for i in 0..seed.len() {
            for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut m = seed.clone();
                m[i] ^= mask;
                if let Ok(r) = parse_ocsp_request(&m) {
                    parsed_ok += 1;
                    for id in &r.cert_ids {
                        assert_eq!(OcspCertId::from_der(&id.raw).unwrap(), *id);
                    }
                }
            }
        }
        // Random multi-byte corruption, insertions and deletions.
        for _ in 0..5000 {
            let mut m = seed.clone();
            for _ in 0..(next() % 4 + 1) {
                let pos = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[pos] = next() as u8,
                    1 => m.insert(pos, next() as u8),
                    _ => {
                        m.remove(pos);
                    }
                }
            }
            let _ = parse_ocsp_request(&m);
        }
    }
    // Some flips land in hash / serial / nonce bytes and still parse.
    assert!(parsed_ok > 0);
}

/// Rough signing-cost figure (not a timed assertion):
/// `cargo test -p certwell-ca --release --test ocsp -- --ignored --nocapture`.
#[test]
#[ignore]
fn ocsp_response_signing_cost() {
    let s = setup();
    let id = OcspCertId::new(&s.ica.der, OcspHash::Sha1, &s.leaf_serial).unwrap();
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Rsa3072,
    ] {
        let (cert, signer) = responder_cert(&s.ica, &s.ica_signer, alg);
        let produced = now();
        let sr = single(&id.raw, OcspCertStatus::Good, produced);
        let n = 500;
        let start = std::time::Instant::now();
        let mut len = 0;
        for _ in 0..n {
            len = build_ocsp_response(&cert, &signer, produced, &[sr], None)
                .unwrap()
                .len();
        }
        let per = start.elapsed() / n;
        eprintln!("{alg}: {per:?} per build_ocsp_response ({len} bytes)");
    }
}

/// `build_ocsp_request` writes what `openssl ocsp -reqout` writes (no
/// nonce, SHA-1 CertID) and parses back to the same CertIDs.
#[test]
fn built_requests_match_openssl_and_parse_back() {
    let s = setup();
    let ours =
        build_ocsp_request(&[OcspCertId::new(&s.ica.der, OcspHash::Sha1, &s.leaf_serial).unwrap()]);
    let theirs = openssl_request(&s, "sha1-nononce.der", &["-no_nonce"]);
    assert_eq!(ours, theirs);

    let ids: Vec<OcspCertId> = [OcspHash::Sha1, OcspHash::Sha256, OcspHash::Sha384]
        .into_iter()
        .map(|h| OcspCertId::new(&s.ica.der, h, &s.leaf_serial).unwrap())
        .collect();
    let parsed = parse_ocsp_request(&build_ocsp_request(&ids)).unwrap();
    assert_eq!(parsed.cert_ids, ids);
    assert_eq!(parsed.nonce, None);
    // openssl reads it too.
    let f = s.dir.path().join("three.der");
    std::fs::write(&f, build_ocsp_request(&ids)).unwrap();
    let (code, out, err) =
        run(Command::new("openssl").args(["ocsp", "-reqin", p(&f), "-req_text"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("Certificate ID:").count(), 3, "{out}");
}
