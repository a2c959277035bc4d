//! `certwell backup` of a running server under load and `certwell
//! restore` into a new data directory: every order acknowledged before the
//! backup began is there, the restored CA serves, and its CRL numbers jump
//! ahead of any the old server issued after the snapshot.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;

/// The CRL number in `openssl crl -text` output.
fn crl_number(text: &str) -> u64 {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.contains("X509v3 CRL Number") {
            return lines.next().unwrap().trim().parse().unwrap();
        }
    }
    panic!("no CRL number in {text}")
}

#[test]
fn a_backup_taken_under_load_restores_with_a_crl_fence() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("backup"),
        tmp.path().join("c"),
    );
    let server = Server::start(&a, None);
    let key = admin_key(&a);
    let org = create_org(server.port, &key);
    let first = order(server.port, &key, org);
    let ica_pem = first["certificate_chain"][1]["pem"]
        .as_str()
        .unwrap()
        .to_string();
    let ca_id = {
        let (s, l) = http(
            server.port,
            "GET",
            "/services/v2/certificate/intermediates",
            &key,
            "",
        )
        .unwrap();
        assert_eq!(s, 200, "{l}");
        json_value(&l)["intermediates"]
            .as_array()
            .unwrap_or_else(|| panic!("{l}"))
            .iter()
            .find(|c| c["pem"].as_str().unwrap().trim() == ica_pem.trim())
            .map(|c| c["id"].as_str().unwrap().to_string())
            .expect("the issuing CA of the first order")
    };

    // Orders keep coming while the backup runs.
    let acked: Arc<Mutex<Vec<(std::time::Instant, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop, key, port) = (acked.clone(), stop.clone(), key.clone(), server.port);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let v = order(port, &key, org);
                acked
                    .lock()
                    .unwrap()
                    .push((std::time::Instant::now(), v["id"].as_i64().unwrap()));
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let backup_started = std::time::Instant::now();
    let out = certwell_ok(&a, &["backup", b.to_str().unwrap()], &[]);
    assert!(out.contains("Backed up"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    load.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let before: Vec<i64> = acked
        .iter()
        .filter(|(at, _)| *at < backup_started)
        .map(|(_, id)| *id)
        .chain([first["id"].as_i64().unwrap()])
        .collect();
    assert!(before.len() > 3, "load before the backup: {acked:?}");
    assert!(
        acked.iter().any(|(at, _)| *at > backup_started),
        "load after it"
    );

    // The old server goes on: a revocation, and CRLs numbered after the
    // snapshot.
    let revoked = acked.last().unwrap().1;
    let (s, info) = http(
        server.port,
        "GET",
        &format!("/services/v2/order/certificate/{revoked}"),
        &key,
        "",
    )
    .unwrap();
    assert_eq!(s, 200);
    let cert_id = json_value(&info)["certificate"]["id"].as_i64().unwrap();
    let (s, body) = http(
        server.port,
        "PUT",
        &format!("/services/v2/certificate/{cert_id}/revoke"),
        &key,
        r#"{"skip_approval":true,"revocation_reason":"superseded"}"#,
    )
    .unwrap();
    assert_eq!(s, 204, "{body}");
    let (s, crl) = http_bytes(server.port, &format!("/ca/{ca_id}.crl"));
    assert_eq!(s, 200);
    let old_number = crl_number(&openssl_crl(tmp.path(), &crl, &ica_pem));
    server.kill();

    // Backups and restores go into new or empty directories only.
    let (ok, _, err) = certwell(&a, &["backup", b.to_str().unwrap()], &[]);
    assert!(!ok && err.contains("not empty"), "{err}");
    let (ok, _, err) = certwell(
        &a,
        &["restore", b.to_str().unwrap(), a.to_str().unwrap()],
        &[],
    );
    assert!(!ok && err.contains("not empty"), "{err}");

    let out = certwell_ok(
        &a,
        &["restore", b.to_str().unwrap(), c.to_str().unwrap()],
        &[],
    );
    assert!(out.contains("next CRL number"), "{out}");
    let restored = Server::start(&c, None);
    for id in &before {
        let (s, v) = http(
            restored.port,
            "GET",
            &format!("/services/v2/order/certificate/{id}"),
            &key,
            "",
        )
        .unwrap();
        assert_eq!(s, 200, "order {id} acknowledged before the backup: {v}");
        assert_eq!(json_value(&v)["status"], "issued", "{v}");
    }
    // The restored CA issues, and its CRL numbers are past the old ones.
    let again = order(restored.port, &key, org);
    assert!(again["certificate_chain"].is_array());
    let (s, crl) = http_bytes(restored.port, &format!("/ca/{ca_id}.crl"));
    assert_eq!(s, 200);
    let new_number = crl_number(&openssl_crl(tmp.path(), &crl, &ica_pem));
    assert!(
        new_number > old_number + 1_000_000 - 100,
        "{new_number} after {old_number}"
    );
    // Key files keep their owner-only mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for e in std::fs::read_dir(c.join("keys")).unwrap() {
            let mode = e.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
