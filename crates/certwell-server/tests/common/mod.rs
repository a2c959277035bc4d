//! Test harness: a real certwell server on an ephemeral loopback port, with
//! a temporary data directory, spoken to over HTTP.
#![allow(dead_code)]

pub mod dns;
pub mod leaf;
pub mod smime;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Command;

use certwell_ca::KeyAlgorithm;
use certwell_policy::approval::Role;
use certwell_server::{Config, DataDir, RunningServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// With `CERTWELL_TEST_DATABASE=postgres`, every test server stores its
/// data in a fresh database of a throwaway PostgreSQL cluster instead of
/// the SQLite file in its data directory (the same suite, the other
/// backend).
fn postgres_wanted() -> bool {
    std::env::var("CERTWELL_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

pub struct TestServer {
    /// The PostgreSQL cluster holding this server's database, if any, and
    /// the database's URL (a restart opens the same one).
    pub postgres: Option<(
        certwell_store::testing::TestPostgres,
        certwell_server::config::DatabaseUrl,
    )>,
    /// The empty DNS server started when the config named no resolver.
    pub dns: Option<dns::DnsServer>,
    pub base: String,
    pub key: String,
    pub operator_key: String,
    /// The data directory (shared with [`another_instance`]s).
    ///
    /// [`another_instance`]: TestServer::another_instance
    pub dir: std::sync::Arc<tempfile::TempDir>,
    pub server: Option<RunningServer>,
    pub client: reqwest::Client,
}

pub fn config(sandbox: bool) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        public_url: "http://pki.certwell.example.com".into(),
        sandbox,
        durability: certwell_store::Durability::Normal,
        issuance_poll_seconds: 1,
        // Hermetic: no lookup leaves the machine. Tests that check DCV or
        // CAA point `dcv.nameserver` at their own server (tests/dcv.rs) and
        // turn CAA on; for the rest `start_with` runs an empty DNS server
        // (every lookup answers NXDOMAIN at once).
        dcv: certwell_server::config::DcvConfig {
            caa_check: false,
            timeout_seconds: 2,
            ..Default::default()
        },
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start(sandbox: bool) -> TestServer {
        Self::start_with(config(sandbox)).await
    }

    pub async fn start_with(cfg: Config) -> TestServer {
        Self::start_opts(cfg, false).await
    }

    /// As `certwell serve` starts: a fresh sandbox makes the CAs of its
    /// first TLS orders and the rest in the background.
    pub async fn start_serving(cfg: Config) -> TestServer {
        Self::start_opts(cfg, true).await
    }

    async fn start_opts(mut cfg: Config, defer_hierarchy: bool) -> TestServer {
        let dns = if cfg.dcv.nameserver.is_empty() {
            let d = dns::DnsServer::start().await;
            cfg.dcv.nameserver = d.addr.to_string();
            Some(d)
        } else {
            None
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let postgres = if postgres_wanted() && cfg.database_url.is_none() {
            let pg =
                certwell_store::testing::TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
            let url = pg.fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
            let url = certwell_server::config::DatabaseUrl(url);
            cfg.database_url = Some(url.clone());
            Some((pg, url))
        } else {
            None
        };
        let (state, key) =
            certwell_server::open_with(&DataDir::new(dir.path()), cfg, defer_hierarchy)
                .await
                .expect("open");
        let key = key.expect("first start creates the admin key");
        let operator_key = certwell_server::init::new_api_key(
            state.store.as_ref(),
            None,
            None,
            Role::Operator,
            "op",
        )
        .await
        .expect("operator key")
        .secret;
        let server = certwell_server::start(state).await.expect("start");
        TestServer {
            postgres,
            dns,
            base: format!("http://{}", server.addr),
            key,
            operator_key,
            dir: std::sync::Arc::new(dir),
            server: Some(server),
            client: reqwest::Client::new(),
        }
    }

    /// Another instance of this server: a second process on the same
    /// database and CA key files, as behind a load balancer (the server's
    /// database must be a shared one: `cfg.database_url`), with the same
    /// API keys.
    pub async fn another_instance(&self, mut cfg: Config) -> TestServer {
        if let (Some(d), true) = (&self.dns, cfg.dcv.nameserver.is_empty()) {
            cfg.dcv.nameserver = d.addr.to_string();
        }
        if let (Some((_, url)), None) = (&self.postgres, &cfg.database_url) {
            cfg.database_url = Some(url.clone());
        }
        assert!(cfg.database_url.is_some(), "instances share a database");
        let (state, key) = certwell_server::open(&DataDir::new(self.dir.path()), cfg)
            .await
            .expect("open another instance");
        assert!(key.is_none(), "another instance must not re-initialize");
        let server = certwell_server::start(state).await.expect("start");
        TestServer {
            postgres: self.postgres.clone(),
            dns: None,
            base: format!("http://{}", server.addr),
            key: self.key.clone(),
            operator_key: self.operator_key.clone(),
            dir: self.dir.clone(),
            server: Some(server),
            client: reqwest::Client::new(),
        }
    }

    /// Restart on the same data directory (state must survive).
    pub async fn restart(&mut self, mut cfg: Config) {
        if let (Some(d), true) = (&self.dns, cfg.dcv.nameserver.is_empty()) {
            cfg.dcv.nameserver = d.addr.to_string();
        }
        if let (Some((_, url)), None) = (&self.postgres, &cfg.database_url) {
            cfg.database_url = Some(url.clone());
        }
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let (state, key) = certwell_server::open(&DataDir::new(self.dir.path()), cfg)
            .await
            .expect("reopen");
        assert!(key.is_none(), "a restart must not re-initialize");
        let server = certwell_server::start(state).await.expect("start");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(k) = key {
            rb = rb.header("X-DC-DEVKEY", k);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(&self.key), None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn post_as(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(key), Some(body))
            .await
    }
    pub async fn get_as(&self, key: &str, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(key), None).await
    }
    pub async fn put_as(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(key), Some(body))
            .await
    }

    /// A key of `role` in the default account.
    pub async fn key_with_role(&self, role: &str) -> String {
        let (s, v) = self
            .send(
                reqwest::Method::POST,
                "/operator/v1/accounts/1/api-keys",
                Some(&self.operator_key),
                Some(json!({"role": role})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["api_key"].as_str().unwrap().to_string()
    }

    pub async fn set_workflow(&self, account: i64, w: &str) {
        let (s, v) = self
            .send(
                reqwest::Method::PUT,
                &format!("/operator/v1/accounts/{account}/settings"),
                Some(&self.operator_key),
                Some(json!({"approval_workflow": w})),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }

    pub async fn create_org(&self) -> i64 {
        let (s, v) = self
            .post("/services/v2/organization", org_body("Example Inc."))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_i64().unwrap()
    }
}

pub fn org_body(name: &str) -> Value {
    json!({
        "name": name, "country": "us", "address": "1 Main St", "city": "Lindon", "state": "Utah", "zip": "84042",
        "telephone": "801-555-0453",
        "organization_contact": {"first_name": "Gia", "last_name": "Booth", "email": "gia@example.com",
            "job_title": "CTO", "telephone": "801-555-0453"},
        "registration_number": "1234567", "business_category": "Private Organization", "jurisdiction_country": "US"
    })
}

pub fn csr(alg: KeyAlgorithm, cn: &str) -> String {
    certwell_ca::testing::make_csr(alg, cn).0
}

/// The OV/EV seed's example body for `product`, with a real CSR and org.
pub fn seed_order(product: &str, org_id: i64, csr_pem: &str) -> Value {
    let wildcard = product.contains("wildcard");
    let ev = product.contains("_ev_");
    let cn = if wildcard {
        "*.example.com"
    } else {
        "example.com"
    };
    let mut v = json!({
        "certificate": {
            "common_name": cn,
            "dns_names": ["sub.example.com", "app.example.com"],
            "csr": csr_pem,
            "server_platform": {"id": 45},
            "signature_hash": "sha256",
            "organization_units": ["Accounting department"]
        },
        "validity_years": 2,
        "comments": "Message for the approver",
        "disable_renewal_notifications": true,
        "locale": "en",
        "payment_method": "balance",
        "skip_approval": true,
        "organization": {"id": org_id},
        "custom_fields": [{"metadata_id": 11, "value": "Invoice #00001"}]
    });
    if ev {
        v["organization"]["contacts"] = json!([{"contact_type": "ev_approver", "first_name": "Eve", "last_name": "Approver",
            "job_title": "CFO", "telephone": "801-555-0000", "email": "eve@example.com"}]);
    }
    v
}

pub const TLS_PRODUCTS: &[&str] = &[
    "ssl_plus",
    "ssl_multi_domain",
    "ssl_wildcard",
    "ssl_ev_plus",
    "ssl_ev_multi_domain",
    "ssl_cloud_wildcard",
    "ssl_securesite",
    "ssl_securesite_multi_domain",
    "ssl_securesite_wildcard",
    "ssl_ev_securesite",
    "ssl_ev_securesite_multi_domain",
];

pub fn pem_to_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

/// `openssl x509 -text` of a PEM certificate.
pub fn openssl_text(dir: &Path, pem: &str) -> String {
    let p = dir.join(format!("c{}.pem", rand_suffix()));
    std::fs::write(&p, pem).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&p)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// `openssl verify` of leaf against ICA and root.
pub fn openssl_verify(dir: &Path, leaf: &str, ica: &str, root: &str) {
    let n = rand_suffix();
    let (l, i, r) = (
        dir.join(format!("l{n}.pem")),
        dir.join(format!("i{n}.pem")),
        dir.join(format!("r{n}.pem")),
    );
    std::fs::write(&l, leaf).unwrap();
    std::fs::write(&i, ica).unwrap();
    std::fs::write(&r, root).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
        .arg(&r)
        .arg("-untrusted")
        .arg(&i)
        .arg(&l)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "verify failed: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where pkilint's commands are: $CERTWELL_PKILINT_BIN_DIR or ./.venv/bin
/// of the workspace. Missing pkilint fails the test unless
/// CERTWELL_SKIP_PKILINT=1.
pub fn pkilint_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("CERTWELL_PKILINT_BIN_DIR") {
        return Some(PathBuf::from(d));
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin");
    if ws.join("lint_cabf_serverauth_cert").exists() {
        return Some(ws);
    }
    if std::env::var("CERTWELL_SKIP_PKILINT").as_deref() == Ok("1") {
        return None;
    }
    panic!("pkilint not found: run .ci/run once, or set CERTWELL_PKILINT_BIN_DIR (or CERTWELL_SKIP_PKILINT=1)");
}

/// Runs a pkilint linter with `-s WARNING -f JSON` and returns the finding
/// codes at WARNING or above.
pub fn pkilint_findings(dir: &Path, linter: &str, args: &[&str], pem: &str) -> Option<Vec<String>> {
    let bin = pkilint_dir()?;
    let p = dir.join(format!("lint{}.pem", rand_suffix()));
    std::fs::write(&p, pem).unwrap();
    let out = Command::new(bin.join(linter))
        .arg("lint")
        .args(args)
        .args(["-s", "WARNING", "-f", "JSON"])
        .arg(&p)
        .output()
        .expect("pkilint");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!(
            "pkilint output not JSON: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut codes = Vec::new();
    for r in v["results"].as_array().into_iter().flatten() {
        for f in r["finding_descriptions"].as_array().into_iter().flatten() {
            codes.push(format!(
                "{} ({})",
                f["code"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?")
            ));
        }
    }
    Some(codes)
}

/// Polls the order until its status is `want` (the sweeper runs every second).
pub async fn wait_status(ts: &TestServer, order_id: i64, want: &str) -> Value {
    for _ in 0..100 {
        let (s, v) = ts
            .get(&format!("/services/v2/order/certificate/{order_id}"))
            .await;
        assert_eq!(s, StatusCode::OK);
        if v["status"] == want {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("order {order_id} never reached {want}");
}

/// One certificate to lint: (linter, extra args, PEM).
pub struct LintJob {
    pub linter: &'static str,
    pub args: Vec<&'static str>,
    pub pem: String,
    /// What the certificate is, for failure messages.
    pub label: String,
}

/// Lints many certificates in one Python process (scripts/pkilint_batch.py)
/// with `-s WARNING` added; returns each job's failures as
/// "label: exit N: output". None when pkilint is absent and skipped.
pub fn pkilint_batch(dir: &Path, jobs: &[LintJob]) -> Option<Vec<String>> {
    let bin = pkilint_dir()?;
    let mut list = Vec::new();
    for j in jobs {
        let p = dir.join(format!("batch{}.pem", rand_suffix()));
        std::fs::write(&p, &j.pem).unwrap();
        let mut args: Vec<&str> = j.args.clone();
        args.extend(["-s", "WARNING"]);
        list.push(json!({"linter": j.linter, "args": args, "file": p}));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pkilint_batch.py");
    let mut child = Command::new(bin.join("python"))
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python of the pkilint venv");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(Value::Array(list).to_string().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pkilint_batch.py failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("batch JSON");
    assert_eq!(results.len(), jobs.len());
    Some(
        results
            .iter()
            .zip(jobs)
            .filter(|(r, _)| r["exit"] != 0)
            .map(|(r, j)| format!("{}: exit {}: {}", j.label, r["exit"], r["output"]))
            .collect(),
    )
}
