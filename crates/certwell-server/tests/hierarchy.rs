//! The CA hierarchy: a data directory made by an older version (TLS CAs
//! only) gets the S/MIME and client-authentication CAs on the next start,
//! and the CAs it had stay as they were.

use certwell_server::keystore::KeyStore;
mod common;

use certwell_ca::KeyAlgorithm;
use certwell_server::service::hierarchy::{create_hierarchy, default_hierarchy};
use certwell_server::{Config, DataDir};
use certwell_store::{Durability, SqliteStore, Store};

#[tokio::test]
async fn missing_cas_are_added_and_existing_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    std::fs::create_dir_all(dir.keys()).unwrap();
    let store = SqliteStore::open(&dir.database(), Durability::Normal)
        .await
        .unwrap();
    let config = Config::default();
    let keys = KeyStore::open(&dir, &config).unwrap();
    let all = default_hierarchy();
    let tls: Vec<_> = all
        .iter()
        .filter(|s| s.handle.starts_with("tls"))
        .cloned()
        .collect();
    assert_eq!(tls.len(), 4);
    create_hierarchy(&store, &keys, &config, &tls)
        .await
        .unwrap();
    let before = store.list_cas().await.unwrap();
    assert_eq!(before.len(), 4);

    create_hierarchy(&store, &keys, &config, &all)
        .await
        .unwrap();
    let after = store.list_cas().await.unwrap();
    assert_eq!(after.len(), 10);
    for old in &before {
        let same = after.iter().find(|c| c.id == old.id).unwrap();
        assert_eq!(same.cert_der, old.cert_der, "{} unchanged", old.name);
    }
    let root = after
        .iter()
        .find(|c| c.name == "certwell S/MIME Root CA E1")
        .unwrap();
    for name in [
        "certwell S/MIME RSA4096 CA1",
        "certwell S/MIME ECC P384 CA1",
        "certwell Client Authentication ECC P384 CA1",
    ] {
        let ca = after.iter().find(|c| c.name == name).unwrap();
        assert_eq!(ca.parent_id.as_deref(), Some(root.id.as_str()), "{name}");
        certwell_ca::verify_issued_by(&ca.cert_der, &root.cert_der).unwrap();
    }
    let ds_root = after
        .iter()
        .find(|c| c.name == "certwell Document Signing Root CA E1")
        .unwrap();
    let ds = after
        .iter()
        .find(|c| c.name == "certwell Document Signing RSA3072 CA1")
        .unwrap();
    assert_eq!(ds.parent_id.as_deref(), Some(ds_root.id.as_str()));
    assert_eq!(ds.purpose.as_deref(), Some("document_signing"));
    certwell_ca::verify_issued_by(&ds.cert_der, &ds_root.cert_der).unwrap();
    // Idempotent.
    create_hierarchy(&store, &keys, &config, &all)
        .await
        .unwrap();
    assert_eq!(store.list_cas().await.unwrap().len(), 10);

    // A child whose parent already exists is signed by that parent's key.
    let mut partial = all.clone();
    partial.retain(|s| s.handle != "client-auth");
    let tmp2 = tempfile::tempdir().unwrap();
    let dir2 = DataDir::new(tmp2.path());
    std::fs::create_dir_all(dir2.keys()).unwrap();
    let store2 = SqliteStore::open(&dir2.database(), Durability::Normal)
        .await
        .unwrap();
    let keys2 = KeyStore::open(&dir2, &config).unwrap();
    create_hierarchy(&store2, &keys2, &config, &partial)
        .await
        .unwrap();
    create_hierarchy(&store2, &keys2, &config, &all)
        .await
        .unwrap();
    let cas = store2.list_cas().await.unwrap();
    let root = cas
        .iter()
        .find(|c| c.name == "certwell S/MIME Root CA E1")
        .unwrap();
    let client = cas
        .iter()
        .find(|c| c.name == "certwell Client Authentication ECC P384 CA1")
        .unwrap();
    certwell_ca::verify_issued_by(&client.cert_der, &root.cert_der).unwrap();
    store.close().await;
    store2.close().await;
}

/// Every CA certificate certwell signs — roots, issuing CAs and the
/// delegated OCSP responders made at start — carries a serial that was
/// recorded for its issuer before signing: recording it again collides.
#[tokio::test]
async fn every_ca_certificate_serial_was_recorded_before_signing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let config = Config {
        sandbox: true,
        public_url: "http://ca.certwell.example".into(),
        ..Config::default()
    };
    let (state, _) = certwell_server::open(&dir, config).await.unwrap();
    let cas = state.store.list_cas().await.unwrap();
    let responders = cas
        .iter()
        .filter(|c| c.purpose.as_deref() == Some("ocsp_responder"))
        .count();
    assert!(responders > 0, "the OCSP responders were made at start");
    for ca in &cas {
        let serial = certwell_ca::certificate_summary(&ca.cert_der)
            .unwrap()
            .serial_hex;
        let issuer = ca.parent_id.clone().unwrap_or_else(|| ca.id.clone());
        let again = state
            .store
            .reserve_serials(&issuer, std::slice::from_ref(&serial))
            .await;
        assert!(
            matches!(again, Err(certwell_store::StoreError::Conflict(_))),
            "{}: serial {serial} of issuer {issuer} was not recorded ({again:?})",
            ca.name
        );
    }
    state.store.close().await;
}

/// `serve --sandbox` on an empty directory makes only the CAs of its
/// first TLS orders before it answers (one RSA key instead of five); the
/// rest of the hierarchy follows in the background, and an order for a
/// product of those CAs, placed at once, waits for them and is issued.
/// (The background work takes seconds of key generation; the first look
/// comes well before it ends.)
#[tokio::test]
async fn a_fresh_sandbox_answers_first_and_completes_its_hierarchy_in_the_background() {
    let ts = common::TestServer::start_serving(common::config(true)).await;
    let state = ts.server.as_ref().unwrap().state.clone();
    let mut first: Vec<String> = state.cas().cas().map(|c| c.name.clone()).collect();
    first.sort();
    assert!(state
        .hierarchy_pending
        .load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        first,
        [
            "certwell TLS OV ECC P256 CA1",
            "certwell TLS OV RSA3072 CA1",
            "certwell TLS Root CA E1"
        ]
    );
    // An S/MIME order at once: it waits for its CA, then is issued.
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/class1_smime",
            serde_json::json!({
                "certificate": {"emails": ["alice@example.com"], "signature_hash": "sha256",
                    "csr": common::csr(KeyAlgorithm::EcdsaP256, "")},
                "skip_approval": true, "order_validity": {"years": 1}}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let v = common::wait_status(&ts, v["id"].as_i64().unwrap(), "issued").await;
    assert_eq!(v["status"], "issued");
    // The hierarchy is whole: every CA of the default hierarchy, each
    // issuing CA with an OCSP responder, each root with a CRL.
    assert!(!state
        .hierarchy_pending
        .load(std::sync::atomic::Ordering::SeqCst));
    let cas = state.cas();
    for spec in default_hierarchy() {
        let ca = cas
            .cas()
            .find(|c| c.name == spec.common_name)
            .unwrap_or_else(|| panic!("{} missing", spec.common_name));
        if ca.purpose.is_some() {
            assert!(cas.ocsp_responder(&ca.id).is_some(), "{}", ca.name);
        } else {
            let r = ts
                .client
                .get(ts.url(&format!("/ca/{}.crl", ca.id)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK, "{}", ca.name);
        }
    }
    ts.stop().await;
}
