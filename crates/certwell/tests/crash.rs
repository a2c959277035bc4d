//! Real `certwell serve` processes. kill -9 under load: every order
//! acknowledged with 201 is there, issued, after the process is killed
//! mid-traffic and started again — on the embedded SQLite store and on
//! PostgreSQL with two instances sharing it (one of them killed, the other
//! serving on). Two instances also race for a unique alternative order id
//! and for an approved order.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// Two instances at once: orders with one alternative order id (the
/// account requires them unique) through both — exactly one is taken; an
/// order approved through the other instance than the one that took it is
/// issued once, the same certificate seen by both.
fn instances_race(dir: &Path, url: &str, a: u16, b: u16, key: &str, org: i64) {
    let operator = cli(
        dir,
        &[
            "--database-url",
            url,
            "apikey",
            "create",
            "--role",
            "operator",
        ],
    );
    let (s, v) = http(
        a,
        "PUT",
        "/operator/v1/accounts/1/settings",
        &operator,
        r#"{"require_unique_alternative_order_id": true}"#,
    )
    .unwrap();
    assert!(s == 200 || s == 204, "{s} {v}");
    let body = order_body(
        org,
        r#","skip_approval":true,"alternative_order_id":"ALT-RACE""#,
    );
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (body, key) = (body.clone(), key.to_string());
            let port = if i % 2 == 0 { a } else { b };
            std::thread::spawn(move || {
                http(
                    port,
                    "POST",
                    "/services/v2/order/certificate/ssl_plus",
                    &key,
                    &body,
                )
                .unwrap()
            })
        })
        .collect();
    let results: Vec<(u16, String)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let taken = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(taken, 1, "{results:?}");
    for (s, b) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*s, 400, "{b}");
        assert_eq!(
            json_value(b)["errors"][0]["code"],
            "duplicate_alternative_order_id"
        );
    }

    let (s, v) = http(
        a,
        "POST",
        "/services/v2/order/certificate/ssl_plus",
        key,
        &order_body(org, ""),
    )
    .unwrap();
    assert_eq!(s, 201, "{v}");
    let v = json_value(&v);
    let order = v["id"].as_i64().unwrap();
    let request = v["requests"][0]["id"].as_i64().unwrap();
    let (s, e) = http(
        b,
        "PUT",
        &format!("/services/v2/request/{request}/status"),
        key,
        r#"{"status":"approved"}"#,
    )
    .unwrap();
    assert_eq!(s, 204, "{e}");
    let info = |port: u16| {
        let (s, b) = http(
            port,
            "GET",
            &format!("/services/v2/order/certificate/{order}"),
            key,
            "",
        )
        .unwrap();
        assert_eq!(s, 200, "{b}");
        json_value(&b)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while info(a)["status"] != "issued" {
        assert!(Instant::now() < deadline, "never issued: {}", info(a));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (from_a, from_b) = (info(a), info(b));
    assert_eq!(
        from_a["certificate"]["serial_number"],
        from_b["certificate"]["serial_number"]
    );
    assert_eq!(
        from_a["certificate"]["thumbprint"],
        from_b["certificate"]["thumbprint"]
    );
}

/// Orders as fast as the servers take them, from four clients spread over
/// `ports`, until `stop`; returns the ids acknowledged with 201.
fn load(
    ports: Vec<u16>,
    key: String,
    org: i64,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<i64>>> {
    let body = order_body(org, r#","skip_approval":true"#);

    (0..4)
        .map(|i| {
            let (ports, key, body, stop) = (ports.clone(), key.clone(), body.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut n = i;
                while !stop.load(Ordering::SeqCst) {
                    let port = ports[n % ports.len()];
                    n += 1;
                    match http(
                        port,
                        "POST",
                        "/services/v2/order/certificate/ssl_plus",
                        &key,
                        &body,
                    ) {
                        Some((201, b)) => {
                            let v: serde_json::Value = serde_json::from_str(&b).unwrap();
                            acked.push(v["id"].as_i64().unwrap());
                        }
                        Some((s, b)) => panic!("{s} {b}"),
                        // The killed server: its clients go on with the others.
                        None => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                acked
            })
        })
        .collect()
}

/// Every acknowledged order is there and issued, its serial unique.
fn check_acknowledged(port: u16, key: &str, acked: &[i64]) {
    let mut serials = std::collections::BTreeSet::new();
    for id in acked {
        let (s, b) = http(
            port,
            "GET",
            &format!("/services/v2/order/certificate/{id}"),
            key,
            "",
        )
        .expect("server up");
        assert_eq!(s, 200, "order {id} acknowledged with 201 is lost: {b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["status"], "issued", "order {id}: {b}");
        let serial = v["certificate"]["serial_number"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(serials.insert(serial), "serial used twice");
    }
}

/// Runs load against `targets` (ports) for a moment, kills `victim` in the
/// middle of it, lets the load go on against the survivors, and returns
/// the acknowledged order ids.
fn load_and_kill(victim: Server, survivors: Vec<u16>, key: &str, org: i64) -> Vec<i64> {
    let mut ports = vec![victim.port];
    ports.extend(&survivors);
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(ports, key.to_string(), org, stop.clone());
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    victim.kill();
    let killed_after = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<i64> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    eprintln!(
        "{} orders acknowledged; killed after {killed_after:?}",
        acked.len()
    );
    assert!(
        acked.len() >= 4,
        "too little load to mean anything: {} orders in {killed_after:?}",
        acked.len()
    );
    acked
}

#[test]
fn acknowledged_orders_survive_kill_9_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("data");
    let server = Server::start(&dir, None);
    let key = admin_key(&dir);
    let org = create_org(server.port, &key);
    let acked = load_and_kill(server, vec![], &key, org);
    let again = Server::start(&dir, None);
    check_acknowledged(again.port, &key, &acked);
    // The store opens for the command line too (nothing left locked).
    cli(&dir, &["account", "list"]);
}

#[test]
fn acknowledged_orders_survive_kill_9_of_one_of_two_instances_on_postgres() {
    let pg = certwell_store::testing::TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(pg.fresh_database())
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("data");
    let a = Server::start(&dir, Some(&url));
    let b = Server::start(&dir, Some(&url));
    let key = admin_key(&dir);
    let org = create_org(a.port, &key);
    instances_race(&dir, &url, a.port, b.port, &key, org);
    let acked = load_and_kill(a, vec![b.port], &key, org);
    // The survivor has every order, whichever instance acknowledged it…
    check_acknowledged(b.port, &key, &acked);
    // …and so has the killed instance once it is back.
    let a = Server::start(&dir, Some(&url));
    check_acknowledged(a.port, &key, &acked);
}

/// A CRL lease left by a process that died (here: taken for ten minutes
/// by a holder that never comes back) does not hold a CA's CRL once the
/// server of the embedded store starts again.
#[test]
fn a_lease_left_by_a_dead_process_does_not_hold_a_crl() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("data");
    cli(&dir, &["init", "--sandbox"]);
    let ica = cli(&dir, &["ca", "list"])
        .lines()
        .find(|l| l.contains("certwell TLS OV RSA3072 CA1"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = certwell_store::open_store(&certwell_store::StoreConfig::sqlite(
            dir.join("certwell.db"),
            certwell_store::Durability::Full,
        ))
        .await
        .unwrap();
        let lease = format!("crl:{ica}");
        assert!(store
            .try_lease(&lease, "a-process-that-died", time::Duration::minutes(10))
            .await
            .unwrap());
        store.close().await;
    });
    // Held, the lease would keep this CA's first CRL from being made:
    // 503 after the wait for its holder.
    let server = Server::start(&dir, None);
    let (status, body) = http_bytes(server.port, &format!("/ca/{ica}.crl"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}
