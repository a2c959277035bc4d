//! After issuance: the expiring-orders report, the intermediates list,
//! CRL publication and the OCSP responder.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const ORDER: &str = "/services/v2/order/certificate";

#[tokio::test]
async fn expiring_report_counts_orders_by_days_left() {
    let mut cfg = config(true);
    cfg.tls_max_validity_days = Some(20);
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    for _ in 0..2 {
        let (s, v) = ts
            .post(
                &format!("{ORDER}/ssl_plus"),
                seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // An S/MIME order of 45 days, one of 80 days, and one of a year.
    for days in [45, 80, 365] {
        let (s, v) = ts
            .post(
                &format!("{ORDER}/secure_email_mailbox"),
                json!({"certificate": {"emails": ["a@example.com"], "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
                    "usage_designation": {"primary_usage": "signing"}},
                    "skip_approval": true, "order_validity": {"days": days}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, me) = ts.get("/services/v2/user/me").await;
    let container = me["container"]["id"].as_i64().unwrap();
    let (s, v) = ts
        .get(&format!("/services/v2/report/order/{container}/expiring"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"expiring_orders": [
            {"days_expiring": 30, "order_count": 2},
            {"days_expiring": 60, "order_count": 1},
            {"days_expiring": 90, "order_count": 1}
        ]})
    );
    let (s, v) = ts.get("/services/v2/report/order/999999/expiring").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    ts.stop().await;
}

fn write(dir: &std::path::Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("openssl");
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// `openssl ocsp` against the running responder: good, revoked with its
/// reason at once after a revocation, unknown for a serial never issued;
/// the GET form; pkilint on every response. (Multi-threaded: openssl
/// blocks this thread while the server answers it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_responder_answers_openssl() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dir = ts.dir.path();
    let chain: Vec<&str> = (0..3)
        .map(|i| v["certificate_chain"][i]["pem"].as_str().unwrap())
        .collect();
    let leaf = write(dir, "leaf.pem", chain[0].as_bytes());
    let ica = write(dir, "ica.pem", chain[1].as_bytes());
    let trust = write(
        dir,
        "trust.pem",
        format!("{}{}", chain[2], chain[1]).as_bytes(),
    );
    let url = ts.url("/ocsp");
    let ask = |extra: &[&str]| {
        let mut c = std::process::Command::new("openssl");
        c.args(["ocsp", "-issuer"])
            .arg(&ica)
            .args(extra)
            .args(["-url", &url, "-CAfile"])
            .arg(&trust)
            .arg("-no_nonce");
        c
    };
    // The certificate names the responder.
    let text = openssl_text(dir, chain[0]);
    assert!(
        text.contains("OCSP - URI:http://pki.certwell.example.com/ocsp"),
        "{text}"
    );

    let out = run(ask(&[])
        .arg("-cert")
        .arg(&leaf)
        .args(["-respout"])
        .arg(dir.join("good.der")));
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains(": good"), "{out}");
    let first = std::fs::read(dir.join("good.der")).unwrap();
    let out = run(ask(&[])
        .arg("-cert")
        .arg(&leaf)
        .args(["-respout"])
        .arg(dir.join("good2.der")));
    assert!(out.contains(": good"), "{out}");
    assert_eq!(
        first,
        std::fs::read(dir.join("good2.der")).unwrap(),
        "served from the cache"
    );

    let out = run(ask(&["-serial", "0x0123456789ABCDEF"])
        .args(["-respout"])
        .arg(dir.join("unknown.der")));
    assert!(out.contains(": unknown"), "{out}");
    assert!(out.contains("Response verify OK"), "{out}");

    // Revocation shows at once, with its reason.
    let (s, _) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", v["certificate_id"]),
            json!({"skip_approval": true, "revocation_reason": "keyCompromise"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let out = run(ask(&[])
        .arg("-cert")
        .arg(&leaf)
        .args(["-respout"])
        .arg(dir.join("revoked.der")));
    assert!(out.contains(": revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    assert!(out.contains("Response verify OK"), "{out}");

    // GET form (RFC 5019): base64 of the DER request in the path.
    let out = run(std::process::Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(&ica)
        .arg("-cert")
        .arg(&leaf)
        .args(["-no_nonce", "-reqout"])
        .arg(dir.join("req.der")));
    assert!(!out.contains("rror"), "{out}");
    let req = std::fs::read(dir.join("req.der")).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&req);
    let enc: String = b64
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            '+' => "%2B".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    let r = ts
        .client
        .get(ts.url(&format!("/ocsp/{enc}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/ocsp-response"
    );
    assert!(r.headers().contains_key("cache-control"));
    let body = r.bytes().await.unwrap();
    write(dir, "get.der", &body);
    let out = run(std::process::Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(dir.join("get.der"))
        .arg("-issuer")
        .arg(&ica)
        .arg("-cert")
        .arg(&leaf)
        .arg("-CAfile")
        .arg(&trust)
        .arg("-no_nonce"));
    assert!(out.contains(": revoked"), "{out}");

    // Garbage gets malformedRequest, an unknown issuer unauthorized.
    let r = ts
        .client
        .post(ts.url("/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body(vec![0x30, 0x03, 0x02, 0x01])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        certwell_ca::ocsp_error_response(1)
    );
    let root = write(dir, "root.pem", chain[2].as_bytes());
    let out = run(std::process::Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(&root)
        .arg("-cert")
        .arg(&ica)
        .args(["-no_nonce", "-url", &url]));
    assert!(out.contains("unauthorized"), "{out}");

    if let Some(bin) = pkilint_dir() {
        for f in ["good.der", "unknown.der", "revoked.der", "get.der"] {
            let out = std::process::Command::new(bin.join("lint_ocsp_response"))
                .args(["lint", "-s", "WARNING"])
                .arg(dir.join(f))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{f}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    ts.stop().await;
}

/// `GET /certificate/intermediates`: exactly the issuing CAs products
/// offer (no roots, no OCSP responders), with the §5.5 fields matching the
/// certificates as openssl reads them.
#[tokio::test]
async fn intermediates_lists_the_issuing_cas() {
    let ts = TestServer::start(true).await;
    let (s, v) = ts.get("/services/v2/certificate/intermediates").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = v["intermediates"].as_array().unwrap();
    // Every ca_cert_id any product allows, and nothing else.
    let (_, products) = ts.get("/services/v2/product").await;
    let mut allowed = std::collections::BTreeSet::new();
    for p in products["products"].as_array().unwrap() {
        let (s, info) = ts
            .get(&format!(
                "/services/v2/product/{}",
                p["name_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{info}");
        for ca in info["allowed_ca_certs"].as_array().into_iter().flatten() {
            allowed.insert(ca["id"].as_str().unwrap().to_string());
        }
    }
    let listed: std::collections::BTreeSet<String> = list
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), list.len(), "ids are unique");
    let names: Vec<&str> = list
        .iter()
        .map(|c| c["subject_common_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "certwell TLS OV RSA3072 CA1",
            "certwell TLS OV ECC P256 CA1",
            "certwell TLS EV RSA3072 CA1",
            "certwell S/MIME RSA4096 CA1",
            "certwell S/MIME ECC P384 CA1",
            "certwell Client Authentication ECC P384 CA1",
            "certwell Document Signing RSA3072 CA1",
        ]
    );
    assert_eq!(listed, allowed);
    let dir = ts.dir.path();
    let dt = |s: &str| {
        s.len() == 19
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b' '
            && s.as_bytes()[13] == b':'
    };
    for c in list {
        let pem = c["pem"].as_str().unwrap();
        let text = openssl_text(dir, pem);
        assert!(text.contains("CA:TRUE"), "{text}");
        let cn = c["subject_common_name"].as_str().unwrap();
        assert!(
            text.contains(&format!("CN = {cn}")) || text.contains(&format!("CN={cn}")),
            "{cn}: {text}"
        );
        assert!(!cn.contains("Root") && !cn.contains("OCSP"), "{cn}");
        assert!(
            c["issuer_common_name"].as_str().unwrap().contains("Root"),
            "{c}"
        );
        assert_eq!(c["subject_org_name"], "certwell");
        assert!(
            dt(c["valid_from"].as_str().unwrap()) && dt(c["valid_to"].as_str().unwrap()),
            "{c}"
        );
        assert!(c["valid_from"].as_str() < c["valid_to"].as_str());
        let p = dir.join("ica-serial.pem");
        std::fs::write(&p, pem).unwrap();
        let serial = run(std::process::Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&p));
        let serial = serial
            .trim()
            .trim_start_matches("serial=")
            .trim_start_matches("00");
        assert_eq!(c["serial_number"].as_str().unwrap(), serial);
        let fp = run(std::process::Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&p));
        let fp: String = fp.trim().split('=').nth(1).unwrap().replace(':', "");
        assert_eq!(c["thumbprint"].as_str().unwrap(), fp);
        let sh = c["signature_hash"].as_str().unwrap();
        assert!(sh == "SHA384" || sh == "SHA256", "{sh}");
        assert_eq!(c["is_private"], "1");
    }
    // An API key is needed, as everywhere under /services/v2.
    let (s, v) = ts
        .send(
            reqwest::Method::GET,
            "/services/v2/certificate/intermediates",
            None,
            None,
        )
        .await;
    assert!(
        s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN,
        "{s} {v}"
    );
    assert!(v["errors"][0]["code"].is_string(), "{v}");
    ts.stop().await;
}

/// A revocation re-signs the cached OCSP answer before the revoke call
/// returns (no request needed to refresh it), and every issuing CA has a
/// current delegated responder that renewal leaves alone.
#[tokio::test]
async fn revocation_resigns_cached_ocsp_answers_at_once() {
    use certwell_ca::{OcspCertId, OcspCertStatus, OcspHash};
    let ts = TestServer::start(true).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/ssl_plus"),
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let leaf = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    let ica = pem_to_der(v["certificate_chain"][1]["pem"].as_str().unwrap());
    let serial = hex::decode(certwell_ca::certificate_summary(&leaf).unwrap().serial_hex).unwrap();
    let id = OcspCertId::new(&ica, OcspHash::Sha256, &serial).unwrap();
    let req = certwell_ca::build_ocsp_request(std::slice::from_ref(&id));
    let ask = || async {
        ts.client
            .post(ts.url("/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(req.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    };
    let good = ask().await;
    let cached = |state: &certwell_server::AppState| {
        let c = state.ocsp_cache.read().unwrap();
        c.get(&id.raw).map(|e| (e.status, e.der.as_ref().clone()))
    };
    let (status, der) = cached(&state).expect("cached after the first request");
    assert_eq!(status, OcspCertStatus::Good);
    assert_eq!(der, good);

    let (s, _) = ts
        .put(
            &format!("/services/v2/certificate/{}/revoke", v["certificate_id"]),
            json!({"skip_approval": true, "revocation_reason": "superseded"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (status, der) = cached(&state).expect("still cached");
    assert!(
        matches!(
            status,
            OcspCertStatus::Revoked {
                reason: Some(4),
                ..
            }
        ),
        "{status:?}"
    );
    assert_ne!(der, good);
    assert_eq!(ask().await, der, "the re-signed answer is what is served");

    // One current responder per issuing CA; renewal finds nothing due.
    let responders = state.ocsp_responders.read().unwrap().len();
    assert_eq!(
        responders,
        state
            .ocsp_issuers()
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    assert_eq!(
        certwell_server::service::status::renew_responders(&state)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        certwell_server::service::status::presign_due(&state),
        0,
        "nothing is due yet"
    );
    ts.stop().await;
}

/// Each CA's CRL has its own lock: while one CA's CRL is being made (its
/// slot held, as when this instance waits for another to make it), the
/// other CAs' CRLs are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cas_crl_does_not_wait_for_anothers() {
    let ts = TestServer::start(true).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    let cas: Vec<_> = state
        .cas()
        .cas()
        .filter(|c| c.purpose.is_some())
        .cloned()
        .collect();
    let (a, b) = (&cas[0], &cas[1]);
    let slot = state.crl_slot(&a.id);
    let held = slot.lock().await;
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ts.client.get(ts.url(&format!("/ca/{}.crl", b.id))).send(),
    )
    .await
    .expect("another CA's CRL waited for this one's")
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // ... and A's is served once its slot is free again.
    drop(held);
    let r = ts
        .client
        .get(ts.url(&format!("/ca/{}.crl", a.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    ts.stop().await;
}
