//! certwell-bench: order throughput of a real server (SQLite, real
//! signing) against the raw signing rate of the same issuing-CA key, and
//! the OCSP responder's throughput.
//!
//! `cargo run --release -p certwell-bench -- --orders 4000 --concurrency 16 --ca ecc`
//! `cargo run --release -p certwell-bench -- --database postgres --instances 2 --orders 4000`
//! `cargo run --release -p certwell-bench -- --mode ocsp --requests 200000 --concurrency 16`
//!
//! With `--database postgres` the store is a throwaway PostgreSQL cluster
//! started for the run (fsync and `synchronous_commit = on`, as a
//! production server keeps commits), or the database of `--database-url`;
//! `--instances N` runs N certwell instances on it, the client's
//! connections spread over them round-robin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use certwell_ca::{KeyAlgorithm, Signer};
use certwell_server::{Config, DataDir};
use clap::Parser;
use serde_json::json;

mod http1;

#[derive(Parser)]
struct Args {
    /// What to measure: "orders" (order creation with issuance), "ocsp"
    /// (OCSP GET requests for a mix of good and revoked certificates) or
    /// "startup" (`certwell serve --sandbox` on an empty directory, from
    /// spawn to the first issued TLS order, `--runs` times).
    /// Startup mode: runs to measure.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Startup mode: the certwell binary (default: next to this one).
    #[arg(long)]
    certwell: Option<std::path::PathBuf>,
    #[arg(long, default_value = "orders")]
    mode: String,
    /// OCSP mode: requests to send.
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// OCSP mode: certificates to issue first (a quarter of them revoked).
    #[arg(long, default_value_t = 400)]
    certificates: usize,
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
    /// The store: "sqlite" (a file in a temporary data directory) or
    /// "postgres" (a durable throwaway cluster, or --database-url).
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// An existing, empty PostgreSQL database to use instead.
    #[arg(long)]
    database_url: Option<String>,
    /// certwell instances sharing the store (PostgreSQL only).
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Where the CA keys are: "software" (key files), "hsm" (a SoftHSM2
    /// token made for the run, through PKCS#11) or "both" (one run each,
    /// one after the other).
    #[arg(long, default_value = "software")]
    keys: String,
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
    if args.mode == "startup" {
        return startup_bench(&args).await;
    }
    let modes: &[bool] = match args.keys.as_str() {
        "software" => &[false],
        "hsm" => &[true],
        "both" => &[false, true],
        other => return Err(format!("--keys must be software, hsm or both, not {other}")),
    };
    for (i, hsm) in modes.iter().enumerate() {
        if i > 0 {
            println!();
        }
        run(&args, *hsm).await?;
    }
    Ok(())
}

/// One measurement, with the CA keys in software or in a SoftHSM2 token.
async fn run(args: &Args, hsm: bool) -> Result<(), String> {
    let want_alg = match args.ca.as_str() {
        "ecc" => KeyAlgorithm::EcdsaP256,
        "rsa" => KeyAlgorithm::Rsa3072,
        other => return Err(format!("--ca must be ecc or rsa, not {other}")),
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // The cluster lives as long as the run.
    let mut _cluster = None;
    let database_url = match (args.database.as_str(), &args.database_url) {
        ("postgres", Some(url)) => Some(url.clone()),
        ("postgres", None) => {
            let c = certwell_store::testing::TestPostgres::start_durable()?;
            let url = c.fresh_database().await?;
            _cluster = Some(c);
            Some(url)
        }
        ("sqlite", None) => None,
        (db, _) => {
            return Err(format!(
                "--database must be sqlite or postgres (--database-url with postgres), not {db}"
            ))
        }
    };
    if args.instances == 0 || (args.instances > 1 && database_url.is_none()) {
        return Err("--instances: 1, or more with --database postgres".into());
    }
    let cfg = Config {
        database_url: database_url.map(certwell_server::config::DatabaseUrl),
        listen: "127.0.0.1:0".into(),
        public_url: "http://pki.certwell.example.com".into(),
        sandbox: true,
        durability: certwell_server::config::Durability::parse(&args.durability).ok_or_else(
            || {
                format!(
                    "--durability must be full or normal, not {}",
                    args.durability
                )
            },
        )?,
        log: "warn".into(),
        pkcs11: if hsm {
            Some(hsm_settings(dir.path())?)
        } else {
            None
        },
        ..Config::default()
    };
    let (state, key) = certwell_server::open(&DataDir::new(dir.path()), cfg.clone()).await?;
    let key = key.ok_or("no admin key")?;
    let ca = state
        .cas()
        .issuing_for(certwell_policy::CaPurpose::TlsOv)
        .into_iter()
        .find(|c| c.key_algorithm == want_alg)
        .cloned()
        .ok_or("no OV CA with that key type")?;
    let server = certwell_server::start(state.clone()).await?;
    // The other instances: the same database and data directory (CA keys).
    let mut others = Vec::new();
    for _ in 1..args.instances {
        let (s, _) = certwell_server::open(&DataDir::new(dir.path()), cfg.clone()).await?;
        others.push(certwell_server::start(s).await?);
    }
    let mut addrs = vec![server.addr];
    addrs.extend(others.iter().map(|s| s.addr));
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

    let n_orders = if args.mode == "ocsp" {
        args.certificates + 1
    } else {
        args.orders
    };
    eprintln!("preparing {n_orders} CSRs (P-256)…");
    let csrs: Vec<String> = (0..n_orders)
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

    if args.mode == "ocsp" {
        let result = ocsp_bench(
            args,
            server.addr,
            &client,
            &base,
            &key,
            &bodies,
            &ca.cert_der,
        )
        .await;
        server.shutdown().await;
        return result;
    }
    if args.mode != "orders" {
        return Err(format!("--mode must be orders or ocsp, not {}", args.mode));
    }

    let host = "localhost".to_string();
    let path = "/services/v2/order/certificate/ssl_plus";
    let requests: Vec<Vec<u8>> = bodies
        .iter()
        .map(|b| http1::post(path, &host, &key, b))
        .collect();
    let end = requests.len();
    let (lat, failures, elapsed) = drive(
        &addrs,
        args.concurrency,
        1,
        end,
        Arc::new(requests),
        |_, status, body| {
            status == 201
                && serde_json::from_slice::<Created>(body)
                    .is_ok_and(|c| c.certificate_chain.is_some_and(|c| c.len() == 3))
        },
    )
    .await?;
    let n = lat.len();
    let rate = n as f64 / elapsed.as_secs_f64();
    // What the store holds: every order of the run plus the warm-up, issued.
    let stored = client
        .get(format!(
            "{base}/services/v2/order/certificate?filters[status]=issued&limit=1"
        ))
        .header("X-DC-DEVKEY", &key)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?["page"]["total"]
        .as_u64()
        .unwrap_or(0);
    server.shutdown().await;
    for s in others {
        s.shutdown().await;
    }

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let sign_rate = raw_signing_rate(
        Arc::clone(ca.signer().map_err(|e| e.to_string())?),
        threads,
        args.sign_seconds,
    );
    println!(
        "ca: {} ({}), keys: {}",
        ca.name,
        ca.key_algorithm.as_str(),
        if hsm {
            "SoftHSM2 (PKCS#11)"
        } else {
            "software"
        }
    );
    println!(
        "store: {}, {} instance(s)",
        if _cluster.is_some() || args.database_url.is_some() {
            "postgresql (synchronous_commit on)"
        } else {
            "sqlite"
        },
        args.instances
    );
    println!("durability: {}", args.durability);
    println!(
        "orders: {n} issued at concurrency {} in {:.2}s, failures: {failures}",
        args.concurrency,
        elapsed.as_secs_f64()
    );
    println!("stored: {stored} issued orders (the run and one warm-up order)");
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
    if stored != (n + 1) as u64 {
        return Err(format!(
            "the store holds {stored} issued orders, expected {}",
            n + 1
        ));
    }
    Ok(())
}

/// `certwell serve --sandbox` on an empty data directory, `--runs` times:
/// the time from spawning the process to the 201 of a TLS order carrying
/// its issued chain (an organization is created first, as a client does).
async fn startup_bench(args: &Args) -> Result<(), String> {
    let bin = match &args.certwell {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("certwell"),
    };
    if !bin.exists() {
        return Err(format!(
            "{}: no certwell binary (cargo build --release -p certwell, or --certwell PATH)",
            bin.display()
        ));
    }
    let csr = certwell_ca::testing::make_csr(KeyAlgorithm::EcdsaP256, "startup").0;
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for run in 0..args.runs {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let started = Instant::now();
        let mut child = std::process::Command::new(&bin)
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "serve",
                "--sandbox",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("CERTWELL_LOG", "error")
            .env("CERTWELL_PUBLIC_URL", "http://pki.certwell.example.com")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        // The admin key is printed before "listening" (a blocking read: the
        // server has nothing else for this process to do meanwhile).
        let mut key = None;
        let out = child.stdout.take().ok_or("no stdout")?;
        for line in std::io::BufRead::lines(std::io::BufReader::new(out)) {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(k) = line
                .split("): ")
                .nth(1)
                .filter(|_| line.contains("Admin API key"))
            {
                key = Some(k.trim().to_string());
            }
            if line.contains("listening") {
                break;
            }
        }
        let listening = started.elapsed();
        let key = key.ok_or("the server printed no admin key")?;
        let base = format!("http://127.0.0.1:{port}/services/v2");
        let org: serde_json::Value = client
            .post(format!("{base}/organization"))
            .header("X-DC-DEVKEY", &key)
            .json(&json!({"name": "Startup Inc.", "country": "us", "address": "1 Main St", "city": "Lindon", "state": "Utah",
                "zip": "84042", "telephone": "801-555-0453",
                "organization_contact": {"first_name": "B", "last_name": "C", "email": "b@example.com", "job_title": "SRE", "telephone": "1"}}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let r = client
            .post(format!("{base}/order/certificate/ssl_plus"))
            .header("X-DC-DEVKEY", &key)
            .json(&json!({"certificate": {"common_name": "startup.example.com", "csr": csr, "signature_hash": "sha256"},
                "organization": {"id": org["id"]}, "order_validity": {"years": 1}, "skip_approval": true}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let body: Created = r.json().await.map_err(|e| e.to_string())?;
        let first = started.elapsed();
        if status != 201 || body.certificate_chain.is_none_or(|c| c.len() != 3) {
            return Err(format!(
                "run {run}: the first order was not issued ({status})"
            ));
        }
        let _ = child.kill();
        let _ = child.wait();
        println!(
            "run {:>2}: listening after {:.3} s, first issued 201 after {:.3} s",
            run + 1,
            listening.as_secs_f64(),
            first.as_secs_f64()
        );
        times.push(first);
    }
    times.sort();
    println!(
        "startup to first issued order over {} runs: median {:.3} s, max {:.3} s",
        times.len(),
        percentile(&times, 0.5).as_secs_f64(),
        times.last().copied().unwrap_or_default().as_secs_f64()
    );
    Ok(())
}

/// A SoftHSM2 token for the run (its PIN in a file of the run's data
/// directory) and the settings that put every CA key in it.
fn hsm_settings(dir: &std::path::Path) -> Result<certwell_server::config::Pkcs11Config, String> {
    let token = certwell_ca::testing::SoftHsmToken::new();
    let pin_file = dir.join("hsm-pin");
    std::fs::write(&pin_file, &token.pin).map_err(|e| e.to_string())?;
    Ok(certwell_server::config::Pkcs11Config {
        module: token.module,
        token_label: Some(token.label),
        pin_file: Some(pin_file),
        ..Default::default()
    })
}

/// Issues `--certificates` certificates, revokes every fourth, then sends
/// `--requests` OCSP GET requests (RFC 5019 form, SHA-1 CertIDs, no nonce)
/// spread over all of them at `--concurrency`, checking each answer: a
/// signed response (status successful) whose CertStatus is the expected
/// one.
async fn ocsp_bench(
    args: &Args,
    addr: std::net::SocketAddr,
    client: &reqwest::Client,
    base: &str,
    key: &str,
    bodies: &[String],
    ica_der: &[u8],
) -> Result<(), String> {
    use base64::Engine;
    eprintln!("issuing {} certificates…", args.certificates);
    let mut targets = Vec::new();
    for (i, body) in bodies.iter().enumerate().skip(1) {
        let r = client
            .post(format!("{base}/services/v2/order/certificate/ssl_plus"))
            .header("X-DC-DEVKEY", key)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
        let pem = v["certificate_chain"][0]["pem"]
            .as_str()
            .ok_or_else(|| format!("order {i} not issued: {v}"))?;
        let der = pem_to_der(pem)?;
        let serial = hex::decode(
            certwell_ca::certificate_summary(&der)
                .map_err(|e| e.to_string())?
                .serial_hex,
        )
        .map_err(|e| e.to_string())?;
        let revoked = i % 4 == 0;
        if revoked {
            let r = client
                .put(format!(
                    "{base}/services/v2/certificate/{}/revoke",
                    v["certificate_id"]
                ))
                .header("X-DC-DEVKEY", key)
                .json(&json!({"skip_approval": true, "revocation_reason": "superseded"}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status().as_u16() != 204 {
                return Err(format!("revocation failed: {}", r.status()));
            }
        }
        let id = certwell_ca::OcspCertId::new(ica_der, certwell_ca::OcspHash::Sha1, &serial)
            .map_err(|e| e.to_string())?;
        let req = certwell_ca::build_ocsp_request(&[id]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(req);
        let path: String = b64
            .chars()
            .map(|c| match c {
                '+' => "%2B".to_string(),
                '/' => "%2F".to_string(),
                '=' => "%3D".to_string(),
                c => c.to_string(),
            })
            .collect();
        targets.push((format!("/ocsp/{path}"), revoked));
    }
    let revoked_n = targets.iter().filter(|t| t.1).count();
    eprintln!(
        "{} certificates, {revoked_n} revoked; sending {} OCSP requests…",
        targets.len(),
        args.requests
    );
    let host = addr.to_string();
    let requests: Vec<Vec<u8>> = targets.iter().map(|(p, _)| http1::get(p, &host)).collect();
    let expected: Vec<u8> = targets.iter().map(|(_, r)| u8::from(*r)).collect();
    let (lat, failures, elapsed) = drive(
        &[addr],
        args.concurrency,
        0,
        args.requests,
        Arc::new(requests),
        move |i, status, body| {
            status == 200 && ocsp_status(body) == Some(expected[i % expected.len()])
        },
    )
    .await?;
    let n = lat.len();
    println!(
        "ocsp: {n} GET requests over {} certificates ({revoked_n} revoked) at concurrency {} in {:.2}s, failures: {failures}",
        targets.len(),
        args.concurrency,
        elapsed.as_secs_f64()
    );
    println!("responses/s: {:.0}", n as f64 / elapsed.as_secs_f64());
    println!(
        "latency p50: {:.3} ms, p99: {:.3} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    if failures > 0 {
        return Err(format!("{failures} OCSP answers were wrong"));
    }
    Ok(())
}

/// Sends request `i % requests.len()` for every i in `first..end` from
/// `concurrency` tasks, each on its own keep-alive connection, and checks
/// each answer with `ok(i, status, body)`; returns the sorted latencies,
/// how many answers failed the check, and the wall time.
async fn drive<F>(
    addrs: &[std::net::SocketAddr],
    concurrency: usize,
    first: usize,
    end: usize,
    requests: Arc<Vec<Vec<u8>>>,
    ok: F,
) -> Result<(Vec<Duration>, usize, Duration), String>
where
    F: Fn(usize, u16, &[u8]) -> bool + Clone + Send + Sync + 'static,
{
    let mut conns = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        conns.push(
            http1::Conn::connect(addrs[i % addrs.len()])
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(first));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (ok, next, requests) = (ok.clone(), next.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let t = Instant::now();
                match conn.send(&requests[i % requests.len()]).await {
                    Ok((status, body)) if ok(i, status, &body) => {}
                    Ok(_) => failures += 1,
                    Err(_) => {
                        // The connection is gone; the other tasks take the
                        // remaining requests, and the run fails.
                        failures += 1;
                        lat.push(t.elapsed());
                        break;
                    }
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
    Ok((lat, failures, elapsed))
}

fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| e.to_string())
}

/// The CertStatus of the one SingleResponse in a successful OCSP response:
/// 0 good, 1 revoked, 2 unknown; None when it is not one.
fn ocsp_status(der: &[u8]) -> Option<u8> {
    // A minimal DER walk: OCSPResponse → responseBytes → BasicOCSPResponse
    // → tbsResponseData → responses → SingleResponse → certStatus.
    fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = d.split_first()?;
        let (&l0, rest) = rest.split_first()?;
        let (len, rest) = if l0 < 0x80 {
            (l0 as usize, rest)
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0 || n > 3 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, b| a << 8 | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }
    let (_, resp, _) = tlv(der)?;
    let (tag, status, rest) = tlv(resp)?;
    if tag != 0x0a || status != [0] {
        return None;
    }
    let (_, rb, _) = tlv(rest)?; // [0] responseBytes
    let (_, rb, _) = tlv(rb)?; // SEQUENCE
    let (_, _oid, rest) = tlv(rb)?;
    let (_, basic_os, _) = tlv(rest)?; // OCTET STRING
    let (_, basic, _) = tlv(basic_os)?;
    let (_, tbs, _) = tlv(basic)?;
    let (tag, _, mut rest) = tlv(tbs)?;
    if tag == 0xa0 {
        // version was present: the next element is the responderID.
        let (_, _, r) = tlv(rest)?;
        rest = r;
    }
    let (_, _produced, rest) = tlv(rest)?;
    let (_, responses, _) = tlv(rest)?;
    let (_, single, _) = tlv(responses)?;
    let (_, _cert_id, rest) = tlv(single)?;
    let (tag, _, _) = tlv(rest)?;
    match tag {
        0x80 => Some(0),
        0xa1 => Some(1),
        0x82 => Some(2),
        _ => None,
    }
}
