//! Validation by email over real SMTP (a sink on loopback): DCV email to
//! the constructed and `_validation-contactemail` addresses, and mailbox
//! validation of S/MIME addresses. Each test reads the received message,
//! follows its one-time link and asserts the state change.

mod common;

use certwell_ca::KeyAlgorithm;
use common::dns::DnsServer;
use common::smtp::SmtpSink;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORDER: &str = "/services/v2/order/certificate";

fn mail_config(dns: &DnsServer, smtp: &SmtpSink) -> certwell_server::Config {
    let mut cfg = config(false);
    cfg.dcv.nameserver = dns.addr.to_string();
    cfg.dcv.caa_check = true;
    cfg.dcv.caa_identities = vec!["certwell-test.com".into()];
    cfg.dcv.timeout_seconds = 2;
    cfg.smtp.host = "127.0.0.1".into();
    cfg.smtp.port = smtp.addr.port();
    cfg.smtp.from = "certwell <dcv@certwell-test.com>".into();
    cfg
}

/// The path of a link (its host is the configured public URL).
fn path_of(link: &str) -> String {
    let rest = link.trim_start_matches("http://");
    format!("/{}", rest.split_once('/').unwrap().1)
}

async fn page(ts: &TestServer, method: reqwest::Method, path: &str) -> (StatusCode, String) {
    let r = ts
        .client
        .request(method, ts.url(path))
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{path}"
    );
    (s, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_dcv_links_validate_the_domain_and_issue_the_order() {
    let dns = DnsServer::start().await;
    let smtp = SmtpSink::start().await;
    dns.set_txt(
        "_validation-contactemail.mail-check.com",
        &["PKI@mail-check.com", "not an address"],
    );
    let ts = TestServer::start_with(mail_config(&dns, &smtp)).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .send(
            reqwest::Method::PUT,
            &format!("/operator/v1/organization/{org}/validate"),
            Some(&ts.operator_key),
            Some(json!({"type": "ov"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["certificate"]["common_name"] = json!("mail-check.com");
    body["certificate"]["dns_names"] = json!(["www.mail-check.com"]);
    body["validity_years"] = json!(1);
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none(), "{v}");
    assert!(
        v.get("dcv_random_value").is_none(),
        "email DCV has no random value"
    );

    // One message per allowed address, each with its own link.
    for local in [
        "admin",
        "administrator",
        "webmaster",
        "hostmaster",
        "postmaster",
        "pki",
    ] {
        let m = smtp.wait_for(&format!("{local}@mail-check.com"), 10).await;
        assert_eq!(m.from, "dcv@certwell-test.com");
        assert!(m.text().contains("mail-check.com"));
    }
    assert_eq!(smtp.mails().len(), 6, "nothing to the invalid TXT value");
    let admin = smtp.wait_for("admin@mail-check.com", 1).await;
    let pki = smtp.wait_for("pki@mail-check.com", 1).await;
    let link = path_of(&admin.link("/validate/").expect("a link"));
    assert_ne!(link, path_of(&pki.link("/validate/").unwrap()));
    assert!(admin
        .link("/validate/")
        .unwrap()
        .starts_with("http://pki.certwell.example.com/validate/"));

    // The domain lists where its DCV email goes.
    let (_, val) = ts.get(&format!("{ORDER}/{id}/validation")).await;
    let domain_id = val["dns_name_validations"][0]["domain_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(val["dns_name_validations"][0]["method"], "email");
    let (_, emails) = ts
        .get(&format!("/services/v2/domain/{domain_id}/dcv/emails"))
        .await;
    assert_eq!(emails["dns_txt_emails"], json!(["pki@mail-check.com"]));
    assert_eq!(emails["base_emails"].as_array().unwrap().len(), 5);
    // check-dcv explains that email domains are validated by the link
    let (s, e) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], "invalid_dcv_method");

    // Opening the link shows a page and changes nothing (mail scanners).
    let (s, html) = page(&ts, reqwest::Method::GET, &link).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<form method=\"post\"") && html.contains("mail-check.com"),
        "{html}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "pending");
    // Confirming validates the domain; the sweeper issues the order.
    let (s, html) = page(&ts, reqwest::Method::POST, &link).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Domain validated"));
    let info = wait_status(&ts, id, "issued").await;
    assert_eq!(
        info["certificate"]["dns_names"],
        json!(["mail-check.com", "www.mail-check.com"])
    );
    // One time only; unknown links are refused alike.
    let (s, html) = page(&ts, reqwest::Method::POST, &link).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("Link not valid"));
    let (s, _) = page(
        &ts,
        reqwest::Method::GET,
        "/validate/00112233445566778899aabbccddeeff",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(&ts, reqwest::Method::GET, "/validate/<script>").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An expired link is refused like an unknown one.
    let state = &ts.server.as_ref().unwrap().state;
    let secret = "0123456789abcdef0123456789abcdef";
    state
        .store
        .create_validation_link(&certwell_store::NewValidationLink {
            account_id: 1,
            target: certwell_store::LinkTarget::Domain {
                domain_id: domain_id.parse().unwrap(),
            },
            email: "admin@mail-check.com".into(),
            token_hash: certwell_server::extract::hash_api_key(secret),
            expires_at: time::macros::datetime!(2026-01-01 0:00 UTC),
            sent_at: time::macros::datetime!(2025-12-01 0:00 UTC),
        })
        .await
        .unwrap();
    let (s, html) = page(&ts, reqwest::Method::GET, &format!("/validate/{secret}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("expired"));

    // A link sent before the domain switched to another method is dead.
    let (s, d) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "switch-check.com", "organization": {"id": org},
                   "validations": [{"type": "ov"}], "dcv_method": "email"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["validation_emails"]["name_scope"], "switch-check.com");
    for local in ["administrator", "webmaster", "hostmaster", "postmaster"] {
        smtp.wait_for(&format!("{local}@switch-check.com"), 10)
            .await;
    }
    let m = smtp.wait_for("admin@switch-check.com", 10).await;
    let old_link = path_of(&m.link("/validate/").unwrap());
    let (s, _) = ts
        .put(
            &format!("/services/v2/domain/{}/dcv/method", d["id"]),
            json!({"dcv_method": "dns-txt-token"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = page(&ts, reqwest::Method::POST, &old_link).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, info) = ts.get(&format!("/services/v2/domain/{}", d["id"])).await;
    assert_eq!(info["is_pending_validation"], true, "{info}");

    // Resending goes to every address again.
    let before = smtp.mails().len();
    let (s, v) = ts
        .put(
            &format!("/services/v2/domain/{domain_id}/dcv/emails"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["emails"].as_array().unwrap().len(), 6);
    assert_eq!(smtp.mails().len(), before + 6);
    ts.stop().await;
}

fn mailbox_order(emails: &[&str]) -> Value {
    json!({"certificate": {"emails": emails, "csr": csr(KeyAlgorithm::EcdsaP256, "x"),
        "usage_designation": {"primary_usage": "signing"}}, "order_validity": {"years": 1},
        "skip_approval": true})
}

async fn statuses(ts: &TestServer, id: i64) -> Vec<(String, String, bool)> {
    let (_, ev) = ts.get(&format!("{ORDER}/{id}/email-validation")).await;
    ev["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["email"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
                e.get("date_emailed").is_some(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_addresses_are_validated_one_by_one_through_their_links() {
    let dns = DnsServer::start().await;
    let smtp = SmtpSink::start().await;
    let ts = TestServer::start_with(mail_config(&dns, &smtp)).await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/secure_email_mailbox"),
            mailbox_order(&["alice@mbx-check.com", "bob@mbx-check.com"]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert!(v.get("certificate_chain").is_none());
    let alice = smtp.wait_for("alice@mbx-check.com", 10).await;
    let bob = smtp.wait_for("bob@mbx-check.com", 10).await;
    assert!(alice.text().contains(&format!("order {id}")));
    // wait until both sends were recorded
    for _ in 0..50 {
        if statuses(&ts, id).await.iter().all(|(_, _, sent)| *sent) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        statuses(&ts, id).await,
        vec![
            ("alice@mbx-check.com".into(), "unvalidated".into(), true),
            ("bob@mbx-check.com".into(), "unvalidated".into(), true)
        ]
    );

    // Alice confirms through the API form of the link (RB): 204.
    let alice_link = path_of(&alice.link("/validate/").unwrap());
    let secret = alice_link.trim_start_matches("/validate/");
    let (s, e) = ts
        .put(
            &format!("/services/v2/email-validation/{secret}?email=bob@mbx-check.com"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another address's link: {e}");
    let r = ts
        .client
        .put(ts.url(&format!(
            "/services/v2/email-validation/{secret}?email=alice@mbx-check.com"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(statuses(&ts, id).await[0].1, "validated");
    assert_eq!(statuses(&ts, id).await[1].1, "unvalidated");
    let (_, info) = ts.get(&format!("{ORDER}/{id}")).await;
    assert_eq!(info["status"], "pending");

    // Bob asks for the email again; the new link works, and CAA
    // (issuemail) of the address domain is honoured.
    let (s, v) = ts
        .post(
            &format!("{ORDER}/{id}/email-validation"),
            json!({"emails": ["bob@mbx-check.com"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["emails"], json!(["bob@mbx-check.com"]));
    let bob_mails: Vec<_> = smtp
        .mails()
        .into_iter()
        .filter(|m| m.to == ["bob@mbx-check.com"])
        .collect();
    assert_eq!(bob_mails.len(), 2);
    let second = path_of(&bob_mails[1].link("/validate/").unwrap());
    assert_ne!(second, path_of(&bob.link("/validate/").unwrap()));
    dns.set_caa("mbx-check.com", &[(0, "issuemail", "other-ca.example")]);
    let (s, html) = page(&ts, reqwest::Method::POST, &second).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("bob@mbx-check.com"));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, info) = ts
        .get(&format!("{ORDER}/{id}?include_caa_status=true"))
        .await;
    assert_eq!(info["status"], "pending", "issuemail forbids: {info}");
    assert!(info["caa_status_message"]["mbx-check.com"]
        .as_str()
        .unwrap()
        .contains("do not allow"));
    dns.set_caa("mbx-check.com", &[(0, "issuemail", "certwell-test.com")]);
    let (s, v) = ts.put(&format!("{ORDER}/{id}/check-dcv"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["order_status"], "issued");
    // The first link of Bob's is still unused but his address is done;
    // validated addresses get no more mail.
    let (s, v) = ts
        .post(&format!("{ORDER}/{id}/email-validation"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["emails"], json!([]));
    ts.stop().await;
}

/// An SMTP relay that is down when the validation email is due: the order
/// is still created (201), the message waits in the outbox and goes out
/// once the relay is back — once per address, not lost and not repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_email_waits_for_a_relay_that_is_down() {
    let dns = DnsServer::start().await;
    // A loopback port with nothing listening (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(false);
    cfg.dcv.nameserver = dns.addr.to_string();
    cfg.dcv.timeout_seconds = 2;
    cfg.smtp.host = "127.0.0.1".into();
    cfg.smtp.port = port;
    cfg.smtp.from = "certwell <dcv@certwell-test.com>".into();
    cfg.smtp.retry_seconds = 1;
    let ts = TestServer::start_with(cfg).await;
    let org = ts.create_org().await;
    let (s, v) = ts
        .post(
            &format!("{ORDER}/secure_email_mailbox"),
            mailbox_order(&["carol@outage-check.com"]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body["certificate"]["common_name"] = json!("outage-check.com");
    body["certificate"]["dns_names"] = json!([]);
    body["validity_years"] = json!(1);
    body["dcv_method"] = json!("email");
    let (s, v) = ts.post(&format!("{ORDER}/ssl_plus"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The first attempts fail (connection refused) and are rescheduled.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let smtp = SmtpSink::start_on(port).await;
    let carol = smtp.wait_for("carol@outage-check.com", 20).await;
    assert!(carol.link("/validate/").is_some(), "{}", carol.text());
    smtp.wait_for("admin@outage-check.com", 20).await;
    // Sent once: nothing more arrives on later mailer rounds.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let to = |addr: &str| {
        smtp.mails()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == addr))
            .count()
    };
    assert_eq!(to("carol@outage-check.com"), 1);
    assert_eq!(to("admin@outage-check.com"), 1);
    ts.stop().await;
}
