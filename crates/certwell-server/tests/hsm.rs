//! CA keys in a PKCS#11 token (SoftHSM2): the whole hierarchy is generated
//! inside the token, nothing private is written to the data directory,
//! and certificates, CRLs and OCSP answers signed by the token verify with
//! openssl and pass pkilint; a restart finds the keys again by id.

mod common;

use certwell_ca::testing::SoftHsmToken;
use certwell_ca::KeyAlgorithm;
use certwell_server::config::{Config, Pkcs11Config};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn hsm_config(dir: &std::path::Path) -> Config {
    let token = SoftHsmToken::new();
    let pin_file = dir.join("hsm-pin");
    std::fs::write(&pin_file, format!("{}\n", token.pin)).unwrap();
    Config {
        pkcs11: Some(Pkcs11Config {
            module: token.module,
            token_label: Some(token.label),
            pin_file: Some(pin_file),
            ..Default::default()
        }),
        ..config(true)
    }
}

fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("openssl");
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

fn write(dir: &std::path::Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

async fn order(ts: &TestServer, org: i64, ca_cert_id: Option<&Value>) -> Value {
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    if let Some(id) = ca_cert_id {
        body["certificate"]["ca_cert_id"] = id.clone();
    }
    let (s, v) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn assert_lint_clean(dir: &std::path::Path, leaf: &str) {
    if let Some(findings) = pkilint_findings(
        dir,
        "lint_cabf_serverauth_cert",
        &["-t", "OV-FINAL-CERTIFICATE"],
        leaf,
    ) {
        let bad: Vec<_> = findings
            .iter()
            .filter(|f| *f != "cabf.serverauth.ov.common_name_attribute_present (WARNING)")
            .collect();
        assert!(bad.is_empty(), "pkilint findings {bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsm_held_keys_issue_revoke_and_answer_ocsp() {
    let secrets = tempfile::tempdir().unwrap();
    let cfg = hsm_config(secrets.path());
    let mut ts = TestServer::start_with(cfg.clone()).await;
    let data = ts.dir.path().to_path_buf();

    // Every CA key (roots, issuing CAs, OCSP responders) is in the token.
    let keys = data.join("keys");
    let files: Vec<_> = std::fs::read_dir(&keys)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(files.is_empty(), "key files written: {files:?}");
    let state = ts.server.as_ref().unwrap().state.clone();
    let cas = state.store.list_cas().await.unwrap();
    assert!(cas.len() >= 10, "{}", cas.len());
    for ca in &cas {
        assert!(
            ca.key_file.starts_with("pkcs11:token=certwell-test;id=%"),
            "{}: {}",
            ca.name,
            ca.key_file
        );
    }

    // RSA-3072 (the default OV CA) and ECDSA P-256 issuing CAs, both in
    // the token, issue certificates openssl and pkilint accept.
    let org = ts.create_org().await;
    let (_, p) = ts.get("/services/v2/product/ssl_plus").await;
    let ecc = p["allowed_ca_certs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains("ECC"))
        .unwrap()["id"]
        .clone();
    let rsa_order = order(&ts, org, None).await;
    let ecc_order = order(&ts, org, Some(&ecc)).await;
    for v in [&rsa_order, &ecc_order] {
        let chain: Vec<&str> = (0..3)
            .map(|i| v["certificate_chain"][i]["pem"].as_str().unwrap())
            .collect();
        openssl_verify(&data, chain[0], chain[1], chain[2]);
        assert_lint_clean(&data, chain[0]);
    }
    assert!(rsa_order["certificate_chain"][1]["subject_common_name"]
        .as_str()
        .unwrap()
        .contains("RSA3072"));

    // OCSP: good, then revoked, each answer signed by a responder key in
    // the token; the CRL signed by the issuing CA's token key.
    let chain: Vec<&str> = (0..3)
        .map(|i| rsa_order["certificate_chain"][i]["pem"].as_str().unwrap())
        .collect();
    let leaf = write(&data, "leaf.pem", chain[0].as_bytes());
    let ica = write(&data, "ica.pem", chain[1].as_bytes());
    let trust = write(
        &data,
        "trust.pem",
        format!("{}{}", chain[2], chain[1]).as_bytes(),
    );
    let url = ts.url("/ocsp");
    let ask = |out: &str| {
        let mut c = std::process::Command::new("openssl");
        c.args(["ocsp", "-issuer"])
            .arg(&ica)
            .arg("-cert")
            .arg(&leaf)
            .args(["-url", &url, "-CAfile"])
            .arg(&trust)
            .arg("-no_nonce")
            .arg("-respout")
            .arg(data.join(out));
        c
    };
    let out = run(&mut ask("good.der"));
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let (s, _) = ts
        .put(
            &format!(
                "/services/v2/certificate/{}/revoke",
                rsa_order["certificate_id"]
            ),
            json!({"skip_approval": true, "revocation_reason": "superseded"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let out = run(&mut ask("revoked.der"));
    assert!(
        out.contains("Response verify OK") && out.contains(": revoked"),
        "{out}"
    );
    let rsa_ca = p["allowed_ca_certs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains("RSA"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let crl = ts
        .client
        .get(ts.url(&format!("/ca/{rsa_ca}.crl")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let crl_path = write(&data, "r.crl", &crl);
    let text = run(std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&crl_path)
        .arg("-CAfile")
        .arg(&ica));
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Superseded"), "{text}");
    if let Some(bin) = pkilint_dir() {
        for f in ["good.der", "revoked.der"] {
            let out = std::process::Command::new(bin.join("lint_ocsp_response"))
                .args(["lint", "-s", "WARNING"])
                .arg(data.join(f))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{f}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let lint = std::process::Command::new(bin.join("lint_crl"))
            .args(["lint", "-t", "CRL", "-p", "BR", "-s", "WARNING"])
            .arg(&crl_path)
            .output()
            .unwrap();
        assert!(
            lint.status.success(),
            "lint_crl: {}",
            String::from_utf8_lossy(&lint.stdout)
        );
    }

    // A restart loads the same keys from the token (found by id), no new
    // CA is made, and issuance goes on.
    ts.restart(cfg).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    assert_eq!(state.store.list_cas().await.unwrap().len(), cas.len());
    let again = order(&ts, org, Some(&ecc)).await;
    assert_eq!(
        again["certificate_chain"][1]["pem"],
        ecc_order["certificate_chain"][1]["pem"]
    );
    openssl_verify(
        &data,
        again["certificate_chain"][0]["pem"].as_str().unwrap(),
        again["certificate_chain"][1]["pem"].as_str().unwrap(),
        again["certificate_chain"][2]["pem"].as_str().unwrap(),
    );
    ts.stop().await;
}
