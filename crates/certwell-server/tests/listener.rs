//! The listener under hostile clients: idle and byte-at-a-time
//! connections are closed by the header read timeout and do not keep
//! others from being served; past `max_connections` a new connection is
//! closed at once; HTTPS with a configured certificate, verified against
//! the CA that issued it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many connections this process may hold for a test: the soft limit
/// on open files leaves room for the server's side of each and the rest.
fn connection_budget(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    wanted.min(soft.saturating_sub(300) / 2)
}

/// Whether the server has closed `s` (EOF or reset) within `wait`.
async fn closed_by_server(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or 400 sent before the close: keep reading.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_do_not_stop_other_clients() {
    let mut cfg = config(true);
    cfg.header_read_timeout_seconds = 2;
    let ts = TestServer::start_with(cfg).await;
    let addr = ts.server.as_ref().unwrap().addr;
    let n = connection_budget(1000);
    assert!(n >= 200, "too few file descriptors for this test ({n})");
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Byte-at-a-time clients: a request line that never ends.
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let stop = stop.clone();
        slow.push(tokio::spawn(async move {
            for b in b"GET /services/v2/product HTTP/1.1\r\nX-Slow: "
                .iter()
                .cycle()
            {
                tokio::select! {
                    _ = stop.notified() => return false,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                if s.write_all(&[*b]).await.is_err() {
                    return true; // closed by the server
                }
            }
            false
        }));
    }
    // Everyone else is served meanwhile.
    for _ in 0..20 {
        let (s, v) = tokio::time::timeout(Duration::from_secs(10), ts.get("/services/v2/product"))
            .await
            .expect("a normal client is answered");
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The header read timeout closes the idle and the slow ones.
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_server(s, Duration::from_secs(10)).await,
            "idle connection {i} still open"
        );
    }
    for t in slow {
        let closed = tokio::time::timeout(Duration::from_secs(10), t).await;
        assert!(
            matches!(closed, Ok(Ok(true))),
            "a byte-at-a-time client was not cut off"
        );
    }
    stop.notify_waiters();
    ts.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_are_closed() {
    let mut cfg = config(true);
    cfg.max_connections = 4;
    cfg.header_read_timeout_seconds = 30;
    let ts = TestServer::start_with(cfg).await;
    let addr = ts.server.as_ref().unwrap().addr;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the server accept them all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        closed_by_server(&mut extra, Duration::from_secs(5)).await,
        "the fifth connection is closed at once"
    );
    // A held connection is still served.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    held[0].read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, _) = ts.get("/healthz").await;
    assert_eq!(s, StatusCode::OK, "slots come back as connections close");
    ts.stop().await;
}

/// A request over TLS with `name` as SNI, trusting `root_der` only; the
/// raw HTTP response.
async fn https_request(
    addr: std::net::SocketAddr,
    name: &str,
    root_der: &[u8],
    request: &str,
) -> Result<String, String> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(root_der.to_vec()))
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let server_name =
        rustls_pki_types::ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn https_with_a_certificate_issued_by_the_ca() {
    // One certwell issues the listener certificate of another.
    let issuer = TestServer::start(true).await;
    let org = issuer.create_org().await;
    let (csr_pem, key_pkcs8) = certwell_ca::testing::make_csr(KeyAlgorithm::EcdsaP256, "x");
    let mut body = seed_order("ssl_plus", org, &csr_pem);
    body["certificate"]["common_name"] = serde_json::json!("api.example.com");
    body["certificate"]["dns_names"] = serde_json::json!([]);
    body["certificate"]["ca_cert_id"] = serde_json::Value::Null;
    let (s, v) = issuer
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let chain: Vec<String> = v["certificate_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pem"].as_str().unwrap().to_string())
        .collect();
    let root_der = pem_to_der(&chain[2]);
    let secrets = tempfile::tempdir().unwrap();
    let cert_file = secrets.path().join("listener.pem");
    let key_file = secrets.path().join("listener.key");
    std::fs::write(&cert_file, format!("{}{}", chain[0], chain[1])).unwrap();
    std::fs::write(
        &key_file,
        certwell_ca::der_to_pem("PRIVATE KEY", &key_pkcs8),
    )
    .unwrap();

    let mut cfg = config(true);
    cfg.tls_cert_file = Some(cert_file);
    cfg.tls_key_file = Some(key_file);
    let ts = TestServer::start_with(cfg).await;
    let addr = ts.server.as_ref().unwrap().addr;
    let resp = https_request(
        addr,
        "api.example.com",
        &root_der,
        &format!(
            "GET /services/v2/user/me HTTP/1.1\r\nHost: api.example.com\r\nX-DC-DEVKEY: {}\r\nConnection: close\r\n\r\n",
            ts.key
        ),
    )
    .await
    .unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"access_roles\""), "{resp}");
    // The certificate names api.example.com only; a client asking for
    // another name refuses the server.
    let wrong = https_request(
        addr,
        "other.example.com",
        &root_der,
        "GET /healthz HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(wrong.is_err(), "{wrong:?}");
    // Plain HTTP on the TLS port gets nothing useful.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    ts.stop().await;
    issuer.stop().await;
}
