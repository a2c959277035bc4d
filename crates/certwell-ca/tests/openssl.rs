//! Chain, CRL and bundle checks with the openssl CLI and an independent parser (x509-cert).

mod common;

use std::process::Command;

use certwell_ca::*;
use common::{ica_by_name, run};
use der::Decode;

#[test]
fn hierarchy_verifies_with_openssl_and_x509_cert() {
    let h = common::build();

    // Independent strict DER parse of every certificate and CRL.
    for c in std::iter::once(&h.root)
        .chain(h.icas.iter().map(|i| &i.issued))
        .chain(h.leaves.iter().map(|l| &l.issued))
    {
        let parsed = x509_cert::Certificate::from_der(&c.der)
            .unwrap_or_else(|e| panic!("{}: x509-cert parse failed: {e}", c.name));
        assert_eq!(
            parsed.tbs_certificate().version(),
            x509_cert::certificate::Version::V3
        );
    }
    for crl in &h.crls {
        <x509_cert::crl::CertificateList>::from_der(&crl.der)
            .unwrap_or_else(|e| panic!("{}: x509-cert CRL parse failed: {e}", crl.name));
    }

    // Root is self-signed; ICAs chain to root; leaves chain to their ICA.
    verify_issued_by(&h.root.der, &h.root.der).unwrap();
    for ica in &h.icas {
        verify_issued_by(&ica.issued.der, &h.root.der).unwrap();
        assert!(verify_issued_by(&ica.issued.der, &ica.issued.der).is_err());
    }

    let root = h.root.pem_path.to_str().unwrap();
    for leaf in &h.leaves {
        let ica = ica_by_name(&h, leaf.ica_name);
        verify_issued_by(&leaf.issued.der, &ica.issued.der).unwrap();
        let (code, out, err) = run(Command::new("openssl").args([
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            root,
            "-untrusted",
            ica.issued.pem_path.to_str().unwrap(),
            leaf.issued.pem_path.to_str().unwrap(),
        ]));
        assert_eq!(
            code, 0,
            "{}: openssl verify failed: {out}{err}",
            leaf.issued.name
        );
        assert!(
            out.trim_end().ends_with(": OK"),
            "{}: {out}",
            leaf.issued.name
        );
    }

    // CRL signatures.
    for crl in &h.crls {
        verify_issued_by(
            &crl.der,
            &std::fs::read(crl.issuer_pem.with_extension("der")).unwrap(),
        )
        .unwrap();
        let (code, out, err) = run(Command::new("openssl").args([
            "crl",
            "-inform",
            "DER",
            "-in",
            crl.der_path.to_str().unwrap(),
            "-CAfile",
            crl.issuer_pem.to_str().unwrap(),
            "-verify",
            "-noout",
        ]));
        assert_eq!(code, 0, "{}: {out}{err}", crl.name);
        assert!(
            format!("{out}{err}").contains("verify OK"),
            "{}: {out}{err}",
            crl.name
        );
    }

    // CRL AKI equals the issuer SKI (the x509-cert CrlBuilder bug).
    let crl_text = |name: &str| {
        let crl = h.crls.iter().find(|c| c.name == name).unwrap();
        run(Command::new("openssl").args([
            "crl",
            "-inform",
            "DER",
            "-in",
            crl.der_path.to_str().unwrap(),
            "-noout",
            "-text",
        ]))
        .1
    };
    let cert_text = |path: &std::path::Path| {
        run(Command::new("openssl").args([
            "x509",
            "-in",
            path.to_str().unwrap(),
            "-noout",
            "-text",
        ]))
        .1
    };
    let ica0 = &h.icas[0];
    let ica_text = cert_text(&ica0.issued.pem_path);
    let ski = ica_text
        .split("X509v3 Subject Key Identifier:")
        .nth(1)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let t = crl_text("crl-ica-rsa-ov-2");
    assert!(
        t.contains(&ski),
        "CRL AKI should be the ICA SKI {ski}:\n{t}"
    );
    assert!(t.contains("X509v3 CRL Number:"), "{t}");
    assert!(t.contains("Key Compromise"), "{t}");

    // Revocation via CRL: the revoked leaf fails, another leaf of the same ICA passes.
    let crl_pem = |name: &str| h.dir.path().join(format!("{name}.pem"));
    for (leaf_name, crl_name, expect_ok) in [
        (h.revoked_leaf, "crl-ica-rsa-ov-2", false),
        ("leaf-ov-rsa2048-cn", "crl-ica-rsa-ov-2", true),
        (h.revoked_leaf, "crl-ica-rsa-ov-empty", true),
    ] {
        let leaf = h
            .leaves
            .iter()
            .find(|l| l.issued.name == leaf_name)
            .unwrap();
        let ica = ica_by_name(&h, leaf.ica_name);
        let (code, out, err) = run(Command::new("openssl").args([
            "verify",
            "-crl_check",
            "-CAfile",
            root,
            "-untrusted",
            ica.issued.pem_path.to_str().unwrap(),
            "-CRLfile",
            crl_pem(crl_name).to_str().unwrap(),
            leaf.issued.pem_path.to_str().unwrap(),
        ]));
        if expect_ok {
            assert_eq!(code, 0, "{leaf_name} with {crl_name}: {out}{err}");
        } else {
            assert_ne!(code, 0, "{leaf_name} should be revoked by {crl_name}");
            assert!(
                format!("{out}{err}").contains("certificate revoked"),
                "{out}{err}"
            );
        }
    }

    // Thumbprint and CN helpers agree with openssl.
    let leaf = h
        .leaves
        .iter()
        .find(|l| l.issued.name == "leaf-ov-p256-cn")
        .unwrap();
    assert_eq!(
        certificate_common_name(&leaf.issued.der).as_deref(),
        Some("mail.example.com")
    );
    assert_eq!(certificate_common_name(&h.leaves[0].issued.der), None);
    assert_eq!(
        certificate_common_name(&h.root.der).as_deref(),
        Some("Certwell Test Root CA")
    );
    let (_, fp, _) = run(Command::new("openssl").args([
        "x509",
        "-in",
        leaf.issued.pem_path.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]));
    let fp = fp.trim().rsplit('=').next().unwrap().replace(':', "");
    assert_eq!(sha1_thumbprint_hex_upper(&leaf.issued.der), fp);

    // PKCS#7 bundle readable by openssl.
    let ica = ica_by_name(&h, leaf.ica_name);
    let p7 = pkcs7_certs_only_der(&[
        leaf.issued.der.clone(),
        ica.issued.der.clone(),
        h.root.der.clone(),
    ])
    .unwrap();
    let p7_path = h.dir.path().join("bundle.p7b");
    std::fs::write(&p7_path, &p7).unwrap();
    let (code, out, err) = run(Command::new("openssl").args([
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        p7_path.to_str().unwrap(),
        "-print_certs",
        "-noout",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("subject=").count(), 3, "{out}");
    let first = out.find("mail.example.com").unwrap();
    let last = out.find("Certwell Test Root CA").unwrap();
    assert!(first < last, "bundle order preserved: {out}");
}

#[test]
fn leaf_contents_are_profiled() {
    let h = common::build();
    let text_of = |name: &str| {
        let leaf = h.leaves.iter().find(|l| l.issued.name == name).unwrap();
        run(Command::new("openssl").args([
            "x509",
            "-in",
            leaf.issued.pem_path.to_str().unwrap(),
            "-noout",
            "-text",
        ]))
        .1
    };
    let rsa = text_of("leaf-ov-rsa2048");
    assert!(
        rsa.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "{rsa}"
    );
    assert!(rsa.contains("TLS Web Server Authentication"), "{rsa}");
    assert!(!rsa.contains("Client Authentication"), "{rsa}");
    assert!(!rsa.contains("Subject Key Identifier"), "{rsa}");
    assert!(!rsa.contains("Basic Constraints"), "{rsa}");
    assert!(rsa.contains("Policy: 2.23.140.1.2.2"), "{rsa}");
    assert!(
        rsa.contains("OCSP - URI:http://ocsp.certwell.example.com"),
        "{rsa}"
    );
    assert!(
        rsa.contains("CA Issuers - URI:http://certs.certwell.example.com/ica.crt"),
        "{rsa}"
    );
    assert!(
        rsa.contains("URI:http://crl.certwell.example.com/ica.crl"),
        "{rsa}"
    );
    assert!(
        rsa.contains("Subject: C = US, ST = Utah, L = Lehi, O = Example Corp\n"),
        "{rsa}"
    );
    let ec = text_of("leaf-ov-p256");
    assert!(
        ec.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "{ec}"
    );
    assert!(ec.contains("ecdsa-with-SHA256"), "{ec}");
    let ev = text_of("leaf-ev-p256");
    assert!(ev.contains("Policy: 2.23.140.1.1"), "{ev}");
    assert!(
        ev.contains("businessCategory = Private Organization"),
        "{ev}"
    );
    assert!(ev.contains("jurisdictionC = US"), "{ev}");
    assert!(ev.contains("serialNumber = 1234567"), "{ev}");
    // Leaf issuer is the ICA subject verbatim, signed with sha256WithRSAEncryption.
    assert!(
        ev.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{ev}"
    );
    assert!(
        ev.contains("Issuer: C = US, O = Certwell Test, CN = Certwell Test RSA EV CA"),
        "{ev}"
    );

    let root = run(Command::new("openssl").args([
        "x509",
        "-in",
        h.root.pem_path.to_str().unwrap(),
        "-noout",
        "-text",
    ]))
    .1;
    assert!(root.contains("ecdsa-with-SHA384"), "{root}");
    assert!(root.contains("CA:TRUE\n"), "{root}");
    assert!(!root.contains("pathlen"), "{root}");
    assert!(root.contains("Certificate Sign, CRL Sign\n"), "{root}");
    let ica = run(Command::new("openssl").args([
        "x509",
        "-in",
        h.icas[0].issued.pem_path.to_str().unwrap(),
        "-noout",
        "-text",
    ]))
    .1;
    assert!(ica.contains("CA:TRUE, pathlen:0"), "{ica}");
    assert!(
        ica.contains("Digital Signature, Certificate Sign, CRL Sign"),
        "{ica}"
    );
}
