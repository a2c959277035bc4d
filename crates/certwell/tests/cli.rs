//! The `certwell` binary as a user runs it: init, keys, accounts, serve,
//! graceful shutdown on SIGTERM, operator commands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn certwell(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("CERTWELL_LOG", "warn")
        .output()
        .expect("run certwell");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn http(port: u16, method: &str, path: &str, key: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-DC-DEVKEY: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Kills the server if the test fails before stopping it.
struct Guard(std::process::Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_keys_accounts_serve_and_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let (ok, out, err) = certwell(&dir, &["init", "--sandbox"]);
    assert!(ok, "{err}");
    assert!(out.contains("Admin API key"), "{out}");
    let key = std::fs::read_to_string(dir.join("admin-api-key"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(key.len(), 40);
    assert!(out.contains(&key), "printed once");
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.join("admin-api-key")), 0o600);
        assert_eq!(mode(&dir.join("certwell.db")), 0o600);
        let keys: Vec<_> = std::fs::read_dir(dir.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(
            keys.len(),
            17,
            "TLS root + three TLS issuing CAs, S/MIME root + two S/MIME ICAs + client auth ICA, \
             document-signing root + ICA, and an OCSP responder key for each of the seven issuing CAs"
        );
        for k in keys {
            assert_eq!(mode(&k), 0o600, "{}", k.display());
        }
    }
    // the database does not hold the key itself, only a hash
    let db = std::fs::read(dir.join("certwell.db")).unwrap();
    let wal = std::fs::read(dir.join("certwell.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "API key stored in clear"
        );
    }

    let (ok, out, _) = certwell(&dir, &["init", "--sandbox"]);
    assert!(ok);
    assert!(out.contains("already initialized"), "{out}");

    let (ok, manager_key, err) = certwell(&dir, &["apikey", "create", "--role", "manager"]);
    assert!(ok, "{err}");
    assert_eq!(manager_key.trim().len(), 40);
    // A key revoked by its id (told on stderr when it was made).
    let (ok, revoked_key, err) = certwell(&dir, &["apikey", "create", "--role", "user"]);
    assert!(ok, "{err}");
    let id = err
        .split("key id ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key id: {err}"))
        .to_string();
    let (ok, out, err) = certwell(&dir, &["apikey", "revoke", &id]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("API key {id} revoked"));
    let (ok, _, err) = certwell(&dir, &["apikey", "revoke", "999"]);
    assert!(!ok);
    assert!(err.contains("no API key 999"), "{err}");
    let (ok, out, err) = certwell(&dir, &["account", "create", "Tenant B"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("account 2"), "{out}");
    let (ok, out, _) = certwell(
        &dir,
        &["account", "set", "2", "--approval-workflow", "two_step"],
    );
    assert!(ok);
    assert!(out.contains("two_step"));
    let (ok, _, err) = certwell(
        &dir,
        &["apikey", "create", "--role", "user", "--account", "99"],
    );
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "serve",
            "--sandbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("CERTWELL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Guard(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");

    let me = http(port, "GET", "/services/v2/user/me", &key, "");
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    let me = http(port, "GET", "/services/v2/user/me", manager_key.trim(), "");
    assert!(me.contains("\"Manager\""), "{me}");
    let me = http(port, "GET", "/services/v2/user/me", revoked_key.trim(), "");
    assert!(me.starts_with("HTTP/1.1 403"), "{me}");
    let org = r#"{"name":"CLI Org","country":"de","address":"Hauptstr. 1","city":"Berlin","state":"Berlin","zip":"10115","telephone":"+49 30 1234","organization_contact":{"first_name":"A","last_name":"B","email":"a@example.de","job_title":"CEO","telephone":"1"}}"#;
    let created = http(port, "POST", "/services/v2/organization", &key, org);
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");

    let (ok, out, err) = certwell(&dir, &["operator", "validate-org", "1", "--type", "ev"]);
    assert!(ok, "{err}");
    assert!(out.contains("validated"));
    let (ok, _, err) = certwell(&dir, &["operator", "validate-domain", "12345"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    let (ok, _, err) = certwell(
        &dir,
        &["operator", "validate-email", "12345", "a@example.com"],
    );
    assert!(!ok);
    assert!(err.contains("a@example.com"), "{err}");

    // The validation desk from the command line, with its audit trail.
    let (ok, out, err) = certwell(&dir, &["operator", "validations"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "", "nothing pending");
    let (ok, _, err) = certwell(
        &dir,
        &[
            "operator",
            "decide",
            "1",
            "--type",
            "ev_cs",
            "--approve",
            "--note",
            "ok",
        ],
    );
    assert!(!ok, "EV code signing needs verified contacts");
    assert!(err.contains("verified_contacts"), "{err}");
    let (ok, out, err) = certwell(
        &dir,
        &[
            "operator",
            "decide",
            "1",
            "--type",
            "ev_cs",
            "--approve",
            "--note",
            "called the CFO",
            "--verified-contact",
            "Eve Approver <eve@example.com>",
            "--registration-number",
            "HRB 99",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("ev_cs approved"), "{out}");
    let (ok, out, err) = certwell(&dir, &["operator", "audit", "--organization", "1"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("ev_cs approved: called the CFO"), "{out}");
    assert!(
        lines[1].contains("ev approved: validated by the operator"),
        "{out}"
    );
    let (ok, _, err) = certwell(
        &tmp.path().join("production"),
        &["serve", "--validation-delay", "5"],
    );
    assert!(!ok, "the delay needs --sandbox");
    assert!(err.contains("validation_delay_seconds"), "{err}");
}

/// Logs that go to a pipe (a file, a journal) carry no terminal colour
/// codes.
/// `certwell serve --sandbox` with its logs piped, on a free port, once
/// it listens: (the process, the port).
fn serve_logging(dir: &std::path::Path, env: &[(&str, &str)]) -> (Guard, u16) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(dir)
        .args([
            "serve",
            "--sandbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("CERTWELL_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Guard(child);
    // The first start prints the data directory and the admin key first.
    let listening = BufReader::new(child.0.stdout.as_mut().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("listening"));
    assert!(listening, "the server starts");
    (child, port)
}

/// SIGTERM, then everything the server logged.
fn stop_and_read_logs(mut child: Guard) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.0.wait().unwrap();
    let mut logs = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    logs
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = serve_logging(dir.path(), &[]);
    let logs = stop_and_read_logs(child);
    assert!(logs.contains("INFO"), "the start is logged: {logs}");
    assert!(!logs.contains('\u{1b}'), "no escape codes: {logs:?}");
}

/// Moving up from one machine: `certwell store copy` puts a SQLite data
/// directory's store into an empty PostgreSQL database (the target from
/// CERTWELL_DATABASE_URL, so no password on the command line); a server on
/// that database with the same data directory (CA keys) knows the same
/// account and key; a second copy into the now non-empty database is
/// refused.
#[test]
fn store_copy_moves_a_data_directory_to_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (ok, _, err) = certwell(&dir, &["init"]);
    assert!(ok, "{err}");
    let key = std::fs::read_to_string(dir.join("admin-api-key"))
        .unwrap()
        .trim()
        .to_string();
    let pg = certwell_store::testing::TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(pg.fresh_database())
        .unwrap();
    let copy = |dir: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_certwell"))
            .args(["store", "copy", "--from"])
            .arg(dir)
            .env("CERTWELL_DATABASE_URL", &url)
            .env("CERTWELL_LOG", "warn")
            .current_dir(tmp.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = copy(&dir);
    assert!(ok, "{out}{err}");
    assert!(out.contains("match"), "{out}");
    assert!(out.contains("accounts"), "{out}");
    let (ok, out, err) = copy(&dir);
    assert!(!ok, "{out}");
    assert!(err.contains("not empty"), "{err}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["--database-url", &url, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("CERTWELL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Guard(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");
    assert!(
        !line.contains("Admin API key"),
        "not initialized again: {line}"
    );
    let me = http(port, "GET", "/services/v2/user/me", &key, "");
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
}

#[test]
fn version_names_the_build_and_completions_cover_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out, err) = certwell(tmp.path(), &["--version"]);
    assert!(ok, "{err}");
    let v = out.trim();
    assert!(
        v.starts_with(&format!("certwell {} (", env!("CARGO_PKG_VERSION"))) && v.ends_with(')'),
        "{v}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let (ok, out, err) = certwell(tmp.path(), &["completions", shell]);
        assert!(ok, "{shell}: {err}");
        for word in ["serve", "apikey", "create-root", "encrypt-keys", "data-dir"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let (ok, _, err) = certwell(tmp.path(), &["completions", "powershell-ish"]);
    assert!(!ok && err.contains("invalid value"), "{err}");
}

/// `CERTWELL_LOG_FORMAT=json`: one JSON object per line; each request is
/// logged once with its request id (the client's X-Request-Id, sent back),
/// route pattern, status, latency and account — and never the API key or
/// the CSR.
#[test]
fn json_logs_carry_one_line_per_request_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_logging(
        dir.path(),
        &[
            ("CERTWELL_LOG_FORMAT", "json"),
            ("CERTWELL_PUBLIC_URL", "http://pki.certwell.example.com"),
        ],
    );
    let key = std::fs::read_to_string(dir.path().join("admin-api-key"))
        .unwrap()
        .trim()
        .to_string();
    // A request with the client's request id.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /services/v2/product/ssl_plus HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: {key}\r\nX-Request-Id: client-req-42\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("x-request-id: client-req-42"),
        "{resp}"
    );
    // One with a body carrying a CSR, refused for a bad key.
    let csr = "-----BEGIN CERTIFICATE REQUEST-----MIIBsecret-----END CERTIFICATE REQUEST-----";
    let out = http(
        port,
        "POST",
        "/services/v2/order/certificate/ssl_plus",
        "not-a-key",
        &format!(r#"{{"certificate":{{"csr":"{csr}"}}}}"#),
    );
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    let logs = stop_and_read_logs(child);
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["message"] == "request").collect();
    let ours = requests
        .iter()
        .find(|l| l["request_id"] == "client-req-42")
        .unwrap_or_else(|| panic!("no request line: {logs}"));
    assert_eq!(ours["route"], "/services/v2/product/{name_id}", "{ours}");
    assert_eq!(ours["status"], 200);
    assert_eq!(ours["method"], "GET");
    assert_eq!(ours["account_id"], 1);
    assert!(ours["latency_ms"].as_f64().is_some(), "{ours}");
    let refused = requests
        .iter()
        .find(|l| l["status"] == 403)
        .unwrap_or_else(|| panic!("no 403 line: {logs}"));
    assert!(refused["account_id"].is_null(), "{refused}");
    assert!(!logs.contains(&key), "the API key is logged");
    assert!(!logs.contains("MIIBsecret"), "the CSR is logged");
}

/// SIGTERM with clients that never finish their requests (idle
/// connections, a request whose headers never end, a body still owed):
/// the server stops accepting, gives them the shutdown grace period and
/// exits 0 within it, rather than waiting for them.
#[test]
fn sigterm_exits_within_the_grace_period_whatever_clients_do() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve_logging(
        dir.path(),
        &[
            ("CERTWELL_SHUTDOWN_GRACE_SECONDS", "2"),
            ("CERTWELL_HEADER_READ_TIMEOUT_SECONDS", "60"),
        ],
    );
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    let mut partial = TcpStream::connect(("127.0.0.1", port)).unwrap();
    partial
        .write_all(b"GET /services/v2/product HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut owed = TcpStream::connect(("127.0.0.1", port)).unwrap();
    owed.write_all(
        b"POST /services/v2/organization HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM with a 2 s grace period"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    // The held connections are gone with it.
    let mut buf = [0u8; 16];
    held[0]
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(matches!(held[0].read(&mut buf), Ok(0) | Err(_)));
}

/// A production data directory refuses --sandbox: a sandbox validates
/// everything at creation, over real data it would issue for anything.
#[test]
fn a_production_directory_refuses_the_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (ok, _, err) = certwell(&dir, &["init"]);
    assert!(ok, "{err}");
    let (ok, _, err) = certwell(&dir, &["serve", "--sandbox", "--listen", "127.0.0.1:0"]);
    assert!(!ok, "a sandbox over production data must not start");
    assert!(err.contains("initialized for production"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // Nor the other way round, whatever the settings file says later.
    let sandbox = tmp.path().join("sandbox");
    let (ok, _, err) = certwell(&sandbox, &["init", "--sandbox"]);
    assert!(ok, "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_certwell"))
        .arg("--data-dir")
        .arg(&sandbox)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CERTWELL_LOG", "warn")
        .env("CERTWELL_SANDBOX", "false")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("initialized as a sandbox"), "{err}");
}
