//! CSR intake: accepted encodings/algorithms and rejections (openssl CLI makes the odd ones).

use std::process::Command;

use certwell_ca::*;

fn openssl_csr(newkey: &[&str], extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-new",
        "-nodes",
        "-subj",
        "/CN=csr.example.com",
        "-keyout",
    ])
    .arg(&key)
    .args(newkey)
    .args(extra);
    let out = cmd.output().expect("openssl CLI is required for this test");
    assert!(
        out.status.success(),
        "openssl {newkey:?} {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rsa(bits: u32) -> Vec<String> {
    vec!["-newkey".into(), format!("rsa:{bits}")]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn make_csr_roundtrip_all_algorithms() {
    for alg in KeyAlgorithm::ALL {
        let (pem, pkcs8) = testing::make_csr(alg, "host.example.com");
        let csr = parse_and_verify_csr(&pem).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(csr.key_algorithm, alg);
        assert_eq!(csr.subject_common_name.as_deref(), Some("host.example.com"));
        let signer = SoftwareSigner::from_pkcs8(alg, &pkcs8).unwrap();
        assert_eq!(csr.spki_der, signer.spki_der());
        assert_eq!(csr.spki_sha256_hex.len(), 64);
        assert_eq!(csr.spki_sha256_hex, csr.spki_sha256_hex.to_lowercase());
        let expected = match alg {
            KeyAlgorithm::EcdsaP256 => CsrKeyType::EcP256,
            KeyAlgorithm::EcdsaP384 => CsrKeyType::EcP384,
            KeyAlgorithm::Rsa2048 => CsrKeyType::Rsa { bits: 2048 },
            KeyAlgorithm::Rsa3072 => CsrKeyType::Rsa { bits: 3072 },
            KeyAlgorithm::Rsa4096 => CsrKeyType::Rsa { bits: 4096 },
        };
        assert_eq!(csr.key_type, expected);
        // openssl agrees the CSR is well formed and self-signed.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("csr.pem");
        std::fs::write(&p, &pem).unwrap();
        let out = Command::new("openssl")
            .args(["req", "-in", p.to_str().unwrap(), "-verify", "-noout"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn accepted_text_forms() {
    let (pem, _) = testing::make_csr(KeyAlgorithm::EcdsaP256, "forms.example.com");
    let body = pem_body(&pem);
    let expected = parse_and_verify_csr(&pem).unwrap();
    let forms = vec![
        // vendor docs: everything on one line
        format!("-----BEGIN CERTIFICATE REQUEST-----{body}-----END CERTIFICATE REQUEST-----"),
        format!("-----BEGIN CERTIFICATE REQUEST----- {body} -----END CERTIFICATE REQUEST-----"),
        pem.replace('\n', "\r\n"),
        pem.replace('\n', "\\n"),
        pem.replace('\n', "\\r\\n"),
        pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
        body.clone(),
        format!("  \n{body}\n"),
        format!("\n\n{pem}\n\n"),
    ];
    for f in forms {
        let got = parse_and_verify_csr(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        assert_eq!(got, expected);
    }
}

#[test]
fn openssl_signature_variants_accepted() {
    let cases: Vec<(Vec<String>, Vec<&str>, CsrKeyType)> = vec![
        (rsa(2048), vec!["-sha256"], CsrKeyType::Rsa { bits: 2048 }),
        (rsa(2048), vec!["-sha384"], CsrKeyType::Rsa { bits: 2048 }),
        (rsa(2048), vec!["-sha512"], CsrKeyType::Rsa { bits: 2048 }),
        (rsa(2056), vec!["-sha256"], CsrKeyType::Rsa { bits: 2056 }),
        (rsa(3072), vec!["-sha256"], CsrKeyType::Rsa { bits: 3072 }),
        // PSS with salt = hash length (aws-lc-rs path)
        (
            rsa(2048),
            vec![
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
                "-sigopt",
                "rsa_mgf1_md:sha256",
            ],
            CsrKeyType::Rsa { bits: 2048 },
        ),
        (
            rsa(2048),
            vec![
                "-sha384",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:48",
                "-sigopt",
                "rsa_mgf1_md:sha384",
            ],
            CsrKeyType::Rsa { bits: 2048 },
        ),
        // PSS with OpenSSL's default (max) salt and salt 20 (bigint path)
        (
            rsa(2048),
            vec![
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_mgf1_md:sha256",
            ],
            CsrKeyType::Rsa { bits: 2048 },
        ),
        (
            rsa(3072),
            vec![
                "-sha512",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:20",
                "-sigopt",
                "rsa_mgf1_md:sha512",
            ],
            CsrKeyType::Rsa { bits: 3072 },
        ),
        (
            rsa(2048),
            vec![
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:0",
                "-sigopt",
                "rsa_mgf1_md:sha256",
            ],
            CsrKeyType::Rsa { bits: 2048 },
        ),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
            ],
            vec!["-sha256"],
            CsrKeyType::EcP256,
        ),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
            ],
            vec!["-sha512"],
            CsrKeyType::EcP256,
        ),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-384".into(),
            ],
            vec!["-sha256"],
            CsrKeyType::EcP384,
        ),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-384".into(),
            ],
            vec!["-sha384"],
            CsrKeyType::EcP384,
        ),
    ];
    for (newkey, extra, key_type) in cases {
        let pem = openssl_csr(&args(&newkey), &extra);
        let csr =
            parse_and_verify_csr(&pem).unwrap_or_else(|e| panic!("{newkey:?} {extra:?}: {e}"));
        assert_eq!(csr.key_type, key_type, "{newkey:?} {extra:?}");
        assert_eq!(csr.subject_common_name.as_deref(), Some("csr.example.com"));
        if key_type == (CsrKeyType::Rsa { bits: 2056 }) {
            assert_eq!(csr.key_algorithm, KeyAlgorithm::Rsa2048);
        }
    }
}

#[test]
fn rejections() {
    // Garbage.
    for junk in [
        "",
        "hello",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
        "MIIB",
        "////",
    ] {
        assert!(
            matches!(parse_and_verify_csr(junk), Err(CsrError::Parse(_))),
            "{junk:?}"
        );
    }
    let (cert_like, _) = testing::make_csr(KeyAlgorithm::EcdsaP256, "x.example.com");
    assert!(matches!(
        parse_and_verify_csr(&cert_like.replace("CERTIFICATE REQUEST", "CERTIFICATE")),
        Err(CsrError::Parse(_))
    ));

    // Tampered signature (flip a byte of the signature value) for RSA and ECDSA.
    for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256] {
        let (pem, _) = testing::make_csr(alg, "tamper.example.com");
        use base64::Engine;
        let mut der = base64::engine::general_purpose::STANDARD
            .decode(pem_body(&pem))
            .unwrap();
        let n = der.len();
        der[n - 3] ^= 0x01;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert!(
            matches!(parse_and_verify_csr(&b64), Err(CsrError::Signature(_))),
            "{alg}"
        );
        // Tampered subject (signed bytes changed).
        let mut der2 = base64::engine::general_purpose::STANDARD
            .decode(pem_body(&pem))
            .unwrap();
        let pos = der2.windows(6).position(|w| w == b"tamper").unwrap();
        der2[pos] = b'T';
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der2);
        assert!(
            matches!(parse_and_verify_csr(&b64), Err(CsrError::Signature(_))),
            "{alg}"
        );
    }

    // Tampered PSS CSR with OpenSSL's default (max) salt: exercises the bigint verifier.
    {
        use base64::Engine;
        let pem = openssl_csr(
            &["-newkey", "rsa:2048"],
            &[
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_mgf1_md:sha256",
            ],
        );
        assert!(parse_and_verify_csr(&pem).is_ok());
        let mut der = base64::engine::general_purpose::STANDARD
            .decode(pem_body(&pem))
            .unwrap();
        let n = der.len();
        der[n - 100] ^= 0x80;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert!(matches!(
            parse_and_verify_csr(&b64),
            Err(CsrError::Signature(_))
        ));
    }

    let weak: Vec<(Vec<String>, Vec<&str>, &str)> = vec![
        (rsa(1024), vec![], "weak"),
        (rsa(2050), vec![], "weak"),
        (
            vec![
                "-newkey".into(),
                "rsa:2048".into(),
                "-pkeyopt".into(),
                "rsa_keygen_pubexp:3".into(),
            ],
            vec![],
            "weak",
        ),
        (rsa(4104), vec![], "unsupported"),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-521".into(),
            ],
            vec![],
            "unsupported",
        ),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:secp256k1".into(),
            ],
            vec![],
            "unsupported",
        ),
        (
            vec!["-newkey".into(), "ed25519".into()],
            vec![],
            "unsupported",
        ),
        (
            vec![
                "-newkey".into(),
                "rsa-pss".into(),
                "-pkeyopt".into(),
                "rsa_keygen_bits:2048".into(),
            ],
            vec![],
            "unsupported",
        ),
        (rsa(2048), vec!["-sha1"], "signature"),
        (
            vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
            ],
            vec!["-sha1"],
            "signature",
        ),
        (
            rsa(2048),
            vec![
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_mgf1_md:sha384",
            ],
            "signature",
        ),
    ];
    for (newkey, extra, kind) in weak {
        let pem = openssl_csr(&args(&newkey), &extra);
        let r = parse_and_verify_csr(&pem);
        let ok = match kind {
            "weak" => matches!(r, Err(CsrError::WeakKey(_))),
            "unsupported" => matches!(r, Err(CsrError::UnsupportedKey(_))),
            _ => matches!(r, Err(CsrError::Signature(_))),
        };
        assert!(ok, "{newkey:?} {extra:?}: expected {kind}, got {r:?}");
        if let Err(e) = r {
            assert!(!e.to_string().is_empty());
        }
    }
}
