//! Helpers of the binary's tests: real `certwell` processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `certwell serve --sandbox` process; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(dir: &Path, database_url: Option<&str>) -> Server {
        Self::start_with(dir, database_url, &[])
    }

    /// With extra environment variables (a passphrase, a token's PIN).
    pub fn start_with(dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Server {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_certwell"));
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["serve", "--sandbox", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("CERTWELL_LOG", "warn")
            .env("CERTWELL_DURABILITY", "full")
            .env("CERTWELL_PUBLIC_URL", "http://pki.certwell.example.com")
            .env("CERTWELL_RATE_LIMIT_PER_5S", "1000000")
            .env("CERTWELL_RATE_LIMIT_PER_3MIN", "1000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(url) = database_url {
            cmd.env("CERTWELL_DATABASE_URL", url);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "server exited");
            if line.contains("listening") {
                break;
            }
        }
        Server { child, port }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// One HTTP/1.1 request; `None` when the connection failed (the server
/// is gone), else the status and body.
pub fn http(port: u16, method: &str, path: &str, key: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-DC-DEVKEY: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// Runs a `certwell` command on `dir`; its standard output, trimmed.
pub fn cli(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("CERTWELL_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "certwell {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn csr() -> String {
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=example.com",
            "-outform",
            "PEM",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

pub fn order_body(org: i64, extra: &str) -> String {
    format!(
        r#"{{"certificate":{{"common_name":"example.com","csr":"{}","signature_hash":"sha256"}},"organization":{{"id":{org}}},"order_validity":{{"years":1}}{extra}}}"#,
        json_escape(&csr())
    )
}

pub fn json_value(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

pub fn json_escape(s: &str) -> String {
    s.replace('\n', "\\n")
}

pub fn admin_key(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("admin-api-key"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn create_org(port: u16, key: &str) -> i64 {
    let org = r#"{"name":"Crash Org","country":"us","address":"1 Main St","city":"Lindon","state":"Utah","zip":"84042","telephone":"801-555-0100","organization_contact":{"first_name":"A","last_name":"B","email":"a@example.com","job_title":"CEO","telephone":"1"}}"#;
    let (s, b) = http(port, "POST", "/services/v2/organization", key, org).unwrap();
    assert_eq!(s, 201, "{b}");
    serde_json::from_str::<serde_json::Value>(&b).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Runs `certwell --data-dir DIR ARGS` with `env` (and a public URL, so
/// certificates are lint-clean); (success, stdout, stderr).
pub fn certwell(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("CERTWELL_LOG", "warn")
        .env("CERTWELL_PUBLIC_URL", "http://pki.certwell.example.com")
        .env_remove("CERTWELL_KEY_PASSPHRASE")
        .envs(env.iter().copied())
        .output()
        .expect("run certwell");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`certwell`] that must succeed: its standard output.
pub fn certwell_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (ok, out, err) = certwell(dir, args, env);
    assert!(ok, "certwell {args:?}: {err}");
    out
}

/// An ssl_plus order through `port`: the response (201 expected).
pub fn order(port: u16, key: &str, org: i64) -> serde_json::Value {
    let (s, b) = http(
        port,
        "POST",
        "/services/v2/order/certificate/ssl_plus",
        key,
        &order_body(org, r#","skip_approval":true"#),
    )
    .unwrap();
    assert_eq!(s, 201, "{b}");
    json_value(&b)
}

/// GET of a binary resource (a CRL): status and body bytes.
pub fn http_bytes(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let status = std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap();
    (status, out[head_end + 4..].to_vec())
}

/// `openssl verify` of a leaf against its chain (PEMs), trusting `root`.
pub fn openssl_verify(dir: &Path, leaf: &str, intermediates: &str, root: &str) {
    let n = std::process::id();
    let (l, i, r) = (
        dir.join(format!("leaf{n}.pem")),
        dir.join(format!("ica{n}.pem")),
        dir.join(format!("root{n}.pem")),
    );
    std::fs::write(&l, leaf).unwrap();
    std::fs::write(&i, intermediates).unwrap();
    std::fs::write(&r, root).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
        .arg(&r)
        .arg("-untrusted")
        .arg(&i)
        .arg(&l)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl crl -text` of a DER CRL verified with the issuer (PEM).
pub fn openssl_crl(dir: &Path, crl: &[u8], issuer: &str) -> String {
    let n = std::process::id();
    let (c, i) = (
        dir.join(format!("crl{n}.der")),
        dir.join(format!("issuer{n}.pem")),
    );
    std::fs::write(&c, crl).unwrap();
    std::fs::write(&i, issuer).unwrap();
    let out = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&c)
        .arg("-CAfile")
        .arg(&i)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// The id a `certwell ca` command printed first.
pub fn first_word(out: &str) -> String {
    out.split_whitespace().next().unwrap_or("").to_string()
}

/// Runs a pkilint command (`lint_…`) on `file` with `args` and `-s
/// WARNING`: its exit status and output. None when pkilint is absent and
/// CERTWELL_SKIP_PKILINT=1.
pub fn pkilint(linter: &str, args: &[&str], file: &Path) -> Option<(bool, String)> {
    let bin = match std::env::var("CERTWELL_PKILINT_BIN_DIR") {
        Ok(d) => std::path::PathBuf::from(d),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
    };
    if !bin.join(linter).exists() {
        if std::env::var("CERTWELL_SKIP_PKILINT").as_deref() == Ok("1") {
            return None;
        }
        panic!("pkilint not found: run ./scripts/test once, or set CERTWELL_PKILINT_BIN_DIR");
    }
    let out = Command::new(bin.join(linter))
        .arg("lint")
        .args(args)
        .args(["-s", "WARNING"])
        .arg(file)
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}
