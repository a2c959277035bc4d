//! certwell-bench: order throughput of a real server (SQLite, real
//! signing) against the raw signing rate of the same issuing-CA key.
//!
//! `cargo run --release -p certwell-bench -- --orders 4000 --concurrency 16 --ca ecc`

use std::sync::Arc;
use std::time::{Duration, Instant};

use certwell_ca::{KeyAlgorithm, Signer};
use certwell_server::{Config, DataDir};
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Orders to send.
    #[arg(long, default_value_t = 4000)]
    orders: usize,
    /// Concurrent HTTP/1.1 keep-alive connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Issuing CA: "ecc" (OV ECDSA P-256) or "rsa" (OV RSA-3072).
    #[arg(long, default_value = "ecc")]
    ca: String,
    /// SQLite durability: full (fsync per commit) or normal.
    #[arg(long, default_value = "full")]
    durability: String,
    /// Seconds to measure the raw signing rate.
    #[arg(long, default_value_t = 3)]
    sign_seconds: u64,
}

/// Just what the benchmark checks of a 201: an issued chain of three.
#[derive(serde::Deserialize)]
struct Created {
    certificate_chain: Option<Vec<serde::de::IgnoredAny>>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Signatures per second with `threads` threads signing TBS-sized messages.
fn raw_signing_rate(signer: Arc<dyn Signer>, threads: usize, secs: u64) -> f64 {
    let msg = vec![0x5au8; 1100];
    let deadline = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let s = signer.clone();
            let m = msg.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    s.sign(&m).expect("sign");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / secs as f64
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let want_alg = match args.ca.as_str() {
        "ecc" => KeyAlgorithm::EcdsaP256,
        "rsa" => KeyAlgorithm::Rsa3072,
        other => return Err(format!("--ca must be ecc or rsa, not {other}")),
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = Config {
        listen: "127.0.0.1:0".into(),
        public_url: "http://pki.certwell.example.com".into(),
        sandbox: true,
        durability: args.durability.clone(),
        log: "warn".into(),
        ..Config::default()
    };
    let (state, key) = certwell_server::open(&DataDir::new(dir.path()), cfg).await?;
    let key = key.ok_or("no admin key")?;
    let ca = state
        .cas
        .issuing_for(certwell_policy::CaPurpose::TlsOv)
        .into_iter()
        .find(|c| c.signer.key_algorithm() == want_alg)
        .cloned()
        .ok_or("no OV CA with that key type")?;
    let server = certwell_server::start(state.clone()).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| e.to_string())?;

    let org = {
        let r = client
            .post(format!("{base}/services/v2/organization"))
            .header("X-DC-DEVKEY", &key)
            .json(&json!({"name": "Bench Inc.", "country": "us", "address": "1 Main St", "city": "Lindon", "state": "Utah",
                "zip": "84042", "telephone": "801-555-0453",
                "organization_contact": {"first_name": "B", "last_name": "C", "email": "b@example.com", "job_title": "SRE", "telephone": "1"}}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        r.json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())?["id"]
            .as_i64()
            .ok_or("org")?
    };

    eprintln!("preparing {} CSRs (P-256)…", args.orders);
    let csrs: Vec<String> = (0..args.orders)
        .map(|_| certwell_ca::testing::make_csr(KeyAlgorithm::EcdsaP256, "bench").0)
        .collect();
    let bodies: Arc<Vec<String>> = Arc::new(
        csrs.iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"certificate": {"common_name": format!("h{i}.bench.example.com"), "csr": c, "signature_hash": "sha256",
                    "ca_cert_id": ca.id}, "validity_years": 1, "skip_approval": true, "organization": {"id": org}})
                .to_string()
            })
            .collect(),
    );
    // warm-up (creates the domain)
    let r = client
        .post(format!("{base}/services/v2/order/certificate/ssl_plus"))
        .header("X-DC-DEVKEY", &key)
        .header("Content-Type", "application/json")
        .body(bodies[0].clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().as_u16() != 201 {
        return Err(format!(
            "warm-up order failed: {}",
            r.text().await.unwrap_or_default()
        ));
    }

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, base, key, bodies, next) = (
            client.clone(),
            base.clone(),
            key.clone(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/services/v2/order/certificate/ssl_plus"))
                    .header("X-DC-DEVKEY", &key)
                    .header("Content-Type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status().as_u16() == 201 => r
                        .json::<Created>()
                        .await
                        .map(|c| c.certificate_chain.is_some_and(|c| c.len() == 3))
                        .unwrap_or(false),
                    _ => false,
                };
                if !ok {
                    failures += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, failures)
        }));
    }
    let mut lat = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    lat.sort();
    let n = lat.len();
    let rate = n as f64 / elapsed.as_secs_f64();
    server.shutdown().await;

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let sign_rate = raw_signing_rate(ca.signer.clone(), threads, args.sign_seconds);
    println!("ca: {} ({})", ca.name, ca.signer.key_algorithm().as_str());
    println!("durability: {}", args.durability);
    println!(
        "orders: {n} issued at concurrency {} in {:.2}s, failures: {failures}",
        args.concurrency,
        elapsed.as_secs_f64()
    );
    println!("orders/s: {rate:.0}");
    println!(
        "latency p50: {:.2} ms, p99: {:.2} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    println!("raw signing rate ({threads} threads): {sign_rate:.0} signatures/s");
    println!("orders/s ÷ signatures/s: {:.1}%", 100.0 * rate / sign_rate);
    if failures > 0 {
        return Err(format!("{failures} orders were not issued"));
    }
    Ok(())
}
