//! Order info and lists, cancel, downloads, chains, CA files, catalog and account.

mod common;

use certwell_ca::KeyAlgorithm;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn issued_order(ts: &TestServer, org: i64) -> Value {
    let (s, v) = ts
        .post(
            "/services/v2/order/certificate/ssl_plus",
            seed_order("ssl_plus", org, &csr(KeyAlgorithm::Rsa2048, "x")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn order_info_by_id_serial_and_thumbprint() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let v = issued_order(&ts, org).await;
    let id = v["id"].as_i64().unwrap();
    let (s, info) = ts
        .get(&format!("/services/v2/order/certificate/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["id"], id);
    assert_eq!(info["status"], "issued");
    assert_eq!(info["product_name_id"], "ssl_plus");
    assert_eq!(
        info["product"],
        json!({"name_id":"ssl_plus","name":"Standard SSL","type":"ssl_certificate","validation_type":"ov","validation_name":"OV","validation_description":"Normal Organization Validation"})
    );
    let c = &info["certificate"];
    assert_eq!(c["id"], v["certificate_id"]);
    assert_eq!(c["common_name"], "example.com");
    assert_eq!(
        c["dns_names"],
        json!(["example.com", "sub.example.com", "app.example.com"])
    );
    assert_eq!(c["signature_hash"], "sha256");
    assert_eq!(c["key_size"], 2048);
    assert_eq!(c["organization_units"], json!(["Accounting department"]));
    assert_eq!(c["server_platform"]["id"], 45);
    assert_eq!(c["server_platform"]["name"], "nginx");
    assert_eq!(c["organization"]["id"], org);
    assert!(c["csr"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE REQUEST"));
    let serial = c["serial_number"].as_str().unwrap().to_string();
    let thumb = c["thumbprint"].as_str().unwrap().to_string();
    assert!(serial
        .chars()
        .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase()));
    assert_eq!(thumb.len(), 40);
    assert_eq!(c["valid_from"].as_str().unwrap().len(), 10, "yyyy-MM-dd");
    assert!(c["days_remaining"].as_i64().unwrap() >= 198);
    assert_eq!(info["organization"]["name"], "Example Inc.");
    assert_eq!(info["organization"]["city"], "Lindon");
    assert_eq!(info["organization_contact"]["first_name"], "Gia");
    assert_eq!(info["technical_contact"]["email"], "gia@example.com");
    assert_eq!(info["container"]["name"], "Default");
    assert_eq!(info["user"]["id"], 1);
    assert_eq!(info["payment_method"], "balance");
    assert_eq!(info["disable_renewal_notifications"], true);
    assert_eq!(
        info["custom_fields"],
        json!([{"metadata_id": 11, "value": "Invoice #00001"}])
    );
    assert_eq!(info["is_renewal"], false);
    assert_eq!(info["locale"], "en");
    // serial number and thumbprint reach the same order (any case)
    for key in [serial.clone(), thumb.clone(), thumb.to_lowercase()] {
        let (s, o) = ts
            .get(&format!("/services/v2/order/certificate/{key}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{key}");
        assert_eq!(o["id"], id);
    }
    let (s, e) = ts.get("/services/v2/order/certificate/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["errors"][0]["code"], "not_found|order");
    // the serial in the API is the certificate's serial
    let der = pem_to_der(v["certificate_chain"][0]["pem"].as_str().unwrap());
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let raw = cert.tbs_certificate().serial_number().as_bytes();
    assert_eq!(
        hex_upper(raw).trim_start_matches("00"),
        serial.trim_start_matches("00")
    );
    assert!(raw.len() >= 8, "at least 64 bits");
    ts.stop().await;
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[tokio::test]
async fn list_orders_with_filters_sort_and_pages() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let mut ids = Vec::new();
    for product in ["ssl_plus", "ssl_multi_domain", "ssl_wildcard"] {
        let (_, v) = ts
            .post(
                &format!("/services/v2/order/certificate/{product}"),
                seed_order(product, org, &csr(KeyAlgorithm::EcdsaP256, "x")),
            )
            .await;
        ids.push(v["id"].as_i64().unwrap());
    }
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body.as_object_mut().unwrap().remove("skip_approval");
    body["certificate"]["common_name"] = json!("other.example.com");
    body["certificate"]["dns_names"] = json!([]);
    let (_, pending) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;

    let (s, l) = ts.get("/services/v2/order/certificate").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["page"], json!({"total": 4, "limit": 1000, "offset": 0}));
    let first = &l["orders"][0];
    assert_eq!(first["id"], ids[0]);
    assert_eq!(
        first["product"],
        json!({"name_id": "ssl_plus", "name": "Standard SSL", "type": "ssl_certificate"})
    );
    assert_eq!(
        first["organization"],
        json!({"id": org, "name": "Example Inc."})
    );
    assert!(first["certificate"]["valid_till"].is_string());
    assert_eq!(first["has_duplicates"], false);

    let q = |s: &str| format!("/services/v2/order/certificate?{s}");
    let (_, l) = ts.get(&q("filters[status]=needs_approval")).await;
    assert_eq!(l["page"]["total"], 1);
    assert_eq!(l["orders"][0]["id"], pending["id"]);
    let (_, l) = ts.get(&q("filters[product_name_id]=ssl_wildcard")).await;
    assert_eq!(l["orders"][0]["id"], ids[2]);
    let (_, l) = ts.get(&q("filters[domain_name]=app.example.com")).await;
    assert_eq!(l["page"]["total"], 3, "CN or any SAN");
    let (_, l) = ts.get(&q("filters[common_name]=other.example.com")).await;
    assert_eq!(l["page"]["total"], 1);
    let (_, l) = ts.get(&q("filters[search]=%25other")).await;
    assert_eq!(l["page"]["total"], 1, "%-prefixed search is 'contains'");
    let (_, l) = ts.get(&q("sort=-order_id&limit=2&offset=1")).await;
    assert_eq!(l["page"], json!({"total": 4, "limit": 2, "offset": 1}));
    assert_eq!(l["orders"][0]["id"], ids[2]);
    assert_eq!(l["orders"].as_array().unwrap().len(), 2);
    let (s, e) = ts.get(&q("sort=password")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (_, l) = ts.get(&q("filters[status]=revoked")).await;
    assert_eq!(l, json!({"page": {"total": 0, "limit": 1000, "offset": 0}}));
    ts.stop().await;
}

#[tokio::test]
async fn cancel_rules() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let issued = issued_order(&ts, org).await;
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body.as_object_mut().unwrap().remove("skip_approval");
    let (_, waiting) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    let wid = waiting["id"].as_i64().unwrap();
    let (s, b) = ts
        .put(
            &format!("/services/v2/order/certificate/{wid}/status"),
            json!({"status": "CANCELED", "note": "not needed"}),
        )
        .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{wid}"))
        .await;
    assert_eq!(info["status"], "canceled");
    assert_eq!(info["requests"][0]["status"], "rejected");
    // a canceled order's request can no longer be approved
    let (s, _) = ts
        .put(
            &format!(
                "/services/v2/request/{}/status",
                waiting["requests"][0]["id"]
            ),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // issued orders cannot be canceled; unknown statuses are refused
    let (s, e) = ts
        .put(
            &format!("/services/v2/order/certificate/{}/status", issued["id"]),
            json!({"status": "canceled"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], "invalid_status_transition");
    let (s, e) = ts
        .put(
            &format!("/services/v2/order/certificate/{}/status", issued["id"]),
            json!({"status": "deleted"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_status"))
    );
    let (s, _) = ts
        .put(
            "/services/v2/order/certificate/424242/status",
            json!({"status": "canceled"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ts.stop().await;
}

#[tokio::test]
async fn downloads_in_every_format() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let v = issued_order(&ts, org).await;
    let cid = v["certificate_id"].as_i64().unwrap();
    let oid = v["id"].as_i64().unwrap();
    let get = |path: String| {
        let c = ts.client.get(ts.url(&path)).header("X-DC-DEVKEY", &ts.key);
        async move {
            let r = c.send().await.unwrap();
            let status = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .map(|h| h.to_str().unwrap().to_string())
                .unwrap_or_default();
            (status, ct, r.bytes().await.unwrap().to_vec())
        }
    };
    let count = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .matches("BEGIN CERTIFICATE")
            .count()
    };
    for (fmt, ct, n) in [
        ("pem_all", "application/x-pem-file", 3),
        ("pem_noroot", "application/x-pem-file", 2),
        ("pem_nointermediate", "application/x-pem-file", 1),
    ] {
        let (s, got_ct, body) = get(format!(
            "/services/v2/certificate/{cid}/download/format/{fmt}"
        ))
        .await;
        assert_eq!(s, StatusCode::OK, "{fmt}");
        assert_eq!(got_ct, ct);
        assert_eq!(count(&body), n, "{fmt}");
    }
    let (_, _, all) = get(format!(
        "/services/v2/certificate/{cid}/download/format/pem_all"
    ))
    .await;
    let all = String::from_utf8(all).unwrap();
    assert!(
        all.starts_with(v["certificate_chain"][0]["pem"].as_str().unwrap()),
        "leaf first"
    );
    for fmt in ["p7b", "cer"] {
        let (s, ct, body) = get(format!(
            "/services/v2/certificate/{cid}/download/format/{fmt}"
        ))
        .await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/x-pkcs7-certificates")
        );
        assert!(body.starts_with(b"-----BEGIN PKCS7-----"));
        let p = ts.dir.path().join(format!("b.{fmt}"));
        std::fs::write(&p, &body).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkcs7", "-print_certs", "-noout", "-in"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .matches("subject=")
                .count(),
            3
        );
    }
    for (fmt, files) in [
        ("default", 3),
        ("default_pem", 3),
        ("default_cer", 3),
        ("apache", 2),
    ] {
        let (s, ct, body) = get(format!(
            "/services/v2/certificate/{cid}/download/format/{fmt}"
        ))
        .await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/zip"),
            "{fmt}"
        );
        let p = ts.dir.path().join(format!("{fmt}.zip"));
        std::fs::write(&p, &body).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            files.to_string(),
            "{fmt}"
        );
    }
    // Accept picks the packing where a format has both: a ZIP of one file
    // per certificate (the leaf named after its common name), or one PEM.
    let get_accepting = |path: String, accept: &'static str| {
        let c = ts
            .client
            .get(ts.url(&path))
            .header("X-DC-DEVKEY", &ts.key)
            .header("Accept", accept);
        async move {
            let r = c.send().await.unwrap();
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            (r.status(), ct, r.bytes().await.unwrap().to_vec())
        }
    };
    // (format, files: the leaf, then one intermediate, then the root)
    for (fmt, files) in [("pem_all", 3), ("pem_noroot", 2), ("pem_nointermediate", 1)] {
        let (s, ct, body) = get_accepting(
            format!("/services/v2/certificate/{cid}/download/format/{fmt}"),
            "application/zip",
        )
        .await;
        assert_eq!(
            (s, ct.as_str()),
            (StatusCode::OK, "application/zip"),
            "{fmt}"
        );
        let p = ts.dir.path().join(format!("accept-{fmt}.zip"));
        std::fs::write(&p, &body).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; assert all(z.read(n).startswith(b'-----BEGIN CERTIFICATE') for n in z.namelist()); print(','.join(z.namelist()))"])
            .arg(&p)
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let names: Vec<&str> = listed.split(',').collect();
        assert_eq!(names.len(), files, "{fmt}: {listed}");
        assert_eq!(names[0], "example_com.crt", "{fmt}: the leaf by its name");
        if files > 1 {
            assert!(
                names[1].contains("CA") && names[1].ends_with(".crt"),
                "{listed}"
            );
        }
        assert_eq!(names.contains(&"TrustedRoot.crt"), files == 3, "{listed}");
    }
    for (fmt, n) in [("default", 3), ("apache", 2)] {
        let (s, ct, body) = get_accepting(
            format!("/services/v2/certificate/{cid}/download/format/{fmt}"),
            "application/x-pem-file",
        )
        .await;
        assert_eq!(
            (s, ct.as_str(), count(&body)),
            (StatusCode::OK, "application/x-pem-file", n),
            "{fmt}"
        );
    }
    // Any other Accept keeps the format's own packing.
    let (s, ct, body) = get_accepting(
        format!("/services/v2/certificate/{cid}/download/format/pem_all"),
        "*/*",
    )
    .await;
    assert_eq!(
        (s, ct.as_str(), count(&body)),
        (StatusCode::OK, "application/x-pem-file", 3)
    );
    let (s, ct, _) = get_accepting(
        format!("/services/v2/certificate/{cid}/download/format/p7b"),
        "application/zip",
    )
    .await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::OK, "application/x-pkcs7-certificates")
    );

    let (s, ct, body) = get(format!(
        "/services/v2/certificate/download/order/{oid}/format/pem_all"
    ))
    .await;
    assert_eq!(
        (s, ct.as_str(), count(&body)),
        (StatusCode::OK, "application/x-pem-file", 3)
    );
    let (s, ct, _) = get(format!("/services/v2/certificate/download/order/{oid}")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/zip"));
    let (s, ct, body) = get(format!("/services/v2/certificate/{cid}/download/platform")).await;
    assert_eq!(
        (s, ct.as_str(), count(&body)),
        (StatusCode::OK, "application/x-pem-file", 3),
        "nginx platform → pem_all"
    );
    // Each platform gets the vendor's format for it.
    for (platform, want_ct, want_certs) in [
        (29, "application/x-pem-file", Some(3)),
        (31, "application/x-pem-file", Some(3)),
        (2, "application/zip", None),
        (40, "application/x-pkcs7-certificates", None),
        (-1, "application/zip", None),
        (1234, "application/zip", None),
    ] {
        let (s, ct, body) = get(format!(
            "/services/v2/certificate/{cid}/download/platform/{platform}"
        ))
        .await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, want_ct), "{platform}");
        if let Some(n) = want_certs {
            assert_eq!(count(&body), n, "{platform}");
        }
    }
    let (s, _, body) = get(format!(
        "/services/v2/certificate/{cid}/download/format/der"
    ))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("invalid_format_type"));
    let (s, _, _) = get("/services/v2/certificate/999999/download/format/pem_all".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // not yet issued
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body.as_object_mut().unwrap().remove("skip_approval");
    let (_, w) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    let (s, _, body) = get(format!(
        "/services/v2/certificate/download/order/{}",
        w["id"]
    ))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("certificate_not_issued"));

    // chain: leaf first, then the intermediate
    let (s, ch) = ts
        .get(&format!("/services/v2/certificate/{cid}/chain"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let inter = ch["intermediates"].as_array().unwrap();
    assert_eq!(inter.len(), 2);
    assert_eq!(inter[0]["subject_common_name"], "example.com");
    assert_eq!(
        inter[1]["subject_common_name"],
        "certwell TLS OV RSA3072 CA1"
    );
    ts.stop().await;
}

#[tokio::test]
async fn ca_files_and_crls_are_served() {
    let ts = TestServer::start(true).await;
    let (_, p) = ts.get("/services/v2/product/ssl_plus").await;
    let ica = p["allowed_ca_certs"][0]["id"].as_str().unwrap().to_string();
    let r = ts
        .client
        .get(ts.url(&format!("/ca/{ica}.crt")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pkix-cert");
    let ica_der = r.bytes().await.unwrap();
    let ica_path = ts.dir.path().join("ica.pem");
    std::fs::write(&ica_path, certwell_ca::der_to_pem("CERTIFICATE", &ica_der)).unwrap();
    let r = ts
        .client
        .get(ts.url(&format!("/ca/{ica}.crl")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pkix-crl");
    let crl = r.bytes().await.unwrap();
    let crl_path = ts.dir.path().join("ica.crl");
    std::fs::write(&crl_path, &crl).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&crl_path)
        .args(["-CAfile"])
        .arg(&ica_path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("No Revoked Certificates"), "{text}");
    if let Some(bin) = pkilint_dir() {
        let out = std::process::Command::new(bin.join("lint_crl"))
            .args(["lint", "-t", "CRL", "-p", "BR", "-s", "WARNING"])
            .arg(&crl_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lint_crl: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let r = ts.client.get(ts.url("/ca/FFFF.crl")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    ts.stop().await;
}

#[tokio::test]
async fn catalog_account_user_organizations_domains() {
    let ts = TestServer::start(true).await;
    let (s, p) = ts.get("/services/v2/product").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = p["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name_id"].as_str().unwrap())
        .collect();
    for id in TLS_PRODUCTS {
        assert!(ids.contains(id), "{id}");
    }
    let (_, info) = ts.get("/services/v2/product/ssl_ev_multi_domain").await;
    assert_eq!(info["validation_type"], "ev");
    assert_eq!(
        info["signature_hash_types"],
        json!({"allowed_hash_types": [{"id": "sha256", "name": "SHA-256"}], "default_hash_type_id": "sha256"})
    );
    assert_eq!(info["allowed_validity_years"], json!([1, 2]));
    let (s, e) = ts.get("/services/v2/product/nope").await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found|product"))
    );

    let (s, me) = ts.get("/services/v2/user/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        me["access_roles"],
        json!([{"id": 1, "name": "Administrator"}])
    );
    assert_eq!(me["account_id"], 1);
    let (_, acct) = ts.get("/services/v2/account").await;
    assert_eq!(acct["id"], 1);
    assert!(acct["root_container_id"].as_i64().is_some());

    // organizations
    let (s, e) = ts
        .post("/services/v2/organization", json!({"name": "X"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], "missing_required_field");
    let mut b = org_body("Name That Is Quite Long Indeed Inc");
    b["assumed_name"] = json!("And An Assumed Name Too Long");
    let (s, e) = ts.post("/services/v2/organization", b).await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("field_too_long"))
    );
    let mut b = org_body("Acme Corp");
    b["assumed_name"] = json!("Acme");
    let (s, v) = ts.post("/services/v2/organization", b).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v.as_object().unwrap().len(), 1, "201 {{\"id\"}}: {v}");
    let org = v["id"].as_i64().unwrap();
    let (_, o) = ts.get(&format!("/services/v2/organization/{org}")).await;
    assert_eq!(o["display_name"], "Acme Corp (Acme)");
    assert_eq!(o["status"], "active");
    assert_eq!(o["country"], "us");
    let kinds: Vec<&str> = o["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"ov") && kinds.contains(&"ev"),
        "sandbox validates every type: {kinds:?}"
    );
    assert!(o["validations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "active"));
    let (_, l) = ts.get("/services/v2/organization").await;
    assert_eq!(l["organizations"][0]["id"], org);
    let (s, _) = ts.get("/services/v2/organization/9999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // domains
    let (s, d) = ts.post("/services/v2/domain", json!({"name": "example.org", "organization": {"id": org}, "validations": [{"type": "ov"}], "dcv_method": "dns-txt-token"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert!(d["dcv_token"]["token"].as_str().unwrap().len() >= 32);
    let did = d["id"].as_i64().unwrap();
    let (_, info) = ts.get(&format!("/services/v2/domain/{did}")).await;
    assert_eq!(info["name"], "example.org");
    assert_eq!(info["dcv_method"], "dns-txt-token");
    assert_eq!(info["organization"]["is_active"], "1");
    assert_eq!(info["validations"][0]["dcv_status"], "complete");
    let (s, e) = ts.post("/services/v2/domain", json!({"name": "example.org", "organization": {"id": org}, "validations": [{"type": "ov"}]})).await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("duplicate_domain"))
    );
    let (s, e) = ts.post("/services/v2/domain", json!({"name": "10.1.1.1", "organization": {"id": org}, "validations": [{"type": "ov"}]})).await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_dns_name"))
    );
    let (s, e) = ts
        .post(
            "/services/v2/domain",
            json!({"name": "example.net", "organization": {"id": org}}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("missing_required_field"))
    );
    let (_, l) = ts.get("/services/v2/domain").await;
    assert_eq!(l["page"]["total"], 1);
    ts.stop().await;
}

#[tokio::test]
async fn status_changes_in_a_time_range() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let v = issued_order(&ts, org).await;
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        format!(
            "{}-{}-{}+{}:{}:{}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let range = format!(
        "{}...{}",
        fmt(now - time::Duration::hours(1)),
        fmt(now + time::Duration::hours(1))
    );
    let (s, l) = ts
        .get(&format!(
            "/services/v2/order/certificate/status-changes?filters[status_last_updated]={range}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(
        l["orders"],
        json!([{"order_id": v["id"], "certificate_id": v["certificate_id"], "status": "issued"}])
    );
    let (_, l) = ts.get("/services/v2/order/certificate/status-changes?filters[status_last_updated]=2020-1-1+0:0:0...2020-1-2+0:0:0").await;
    assert_eq!(l, json!({"orders": []}));
    let (s, e) = ts
        .get("/services/v2/order/certificate/status-changes?filters[status_last_updated]=soon")
        .await;
    assert_eq!(
        (s, e["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_filter"))
    );
    let (s, _) = ts
        .get("/services/v2/order/certificate/status-changes")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    ts.stop().await;
}

/// `GET /certificate/{id}`: a certificate's details by id or serial,
/// only for the account (and containers) that see its order.
#[tokio::test]
async fn certificate_details_by_id_and_serial() {
    let ts = TestServer::start(true).await;
    let org = ts.create_org().await;
    let v = issued_order(&ts, org).await;
    let cid = v["certificate_id"].as_i64().unwrap();
    let (_, info) = ts
        .get(&format!("/services/v2/order/certificate/{}", v["id"]))
        .await;
    let (s, c) = ts.get(&format!("/services/v2/certificate/{cid}")).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["id"], cid);
    assert_eq!(c["order"]["id"], v["id"]);
    assert_eq!(c["order_id"], v["id"]);
    assert_eq!(c["status"], "issued");
    assert_eq!(c["type"], "primary");
    assert_eq!(c["organization"]["id"], org);
    assert_eq!(c["common_name"], "example.com");
    assert_eq!(
        c["dns_names"],
        json!(["example.com", "sub.example.com", "app.example.com"])
    );
    for field in [
        "serial_number",
        "thumbprint",
        "valid_from",
        "valid_till",
        "date_issued",
        "days_remaining",
    ] {
        assert_eq!(c[field], info["certificate"][field], "{field}");
        assert!(!c[field].is_null(), "{field}");
    }
    assert_eq!(c["pem"], v["certificate_chain"][0]["pem"]);
    assert_eq!(c["key_size"], 2048);
    // the same certificate by its serial, as a client may write it
    let serial = c["serial_number"].as_str().unwrap().to_lowercase();
    let (s, by_serial) = ts
        .get(&format!(
            "/services/v2/certificate/{}",
            serial.trim_start_matches('0')
        ))
        .await;
    assert_eq!((s, &by_serial["id"]), (StatusCode::OK, &json!(cid)));

    // not yet issued: no serial, dates or PEM
    let mut body = seed_order("ssl_plus", org, &csr(KeyAlgorithm::EcdsaP256, "x"));
    body.as_object_mut().unwrap().remove("skip_approval");
    let (_, w) = ts
        .post("/services/v2/order/certificate/ssl_plus", body)
        .await;
    let (_, winfo) = ts
        .get(&format!("/services/v2/order/certificate/{}", w["id"]))
        .await;
    let pending_id = &winfo["certificate"]["id"];
    assert!(pending_id.is_i64(), "{winfo}");
    let (s, p) = ts
        .get(&format!("/services/v2/certificate/{pending_id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "pending");
    for field in ["serial_number", "thumbprint", "valid_till", "pem"] {
        assert!(p.get(field).is_none(), "{field}: {p}");
    }

    // unknown, or another account's: 404 not_found|certificate
    let (_, acct) = ts
        .send(
            reqwest::Method::POST,
            "/operator/v1/accounts",
            Some(&ts.operator_key.clone()),
            Some(json!({"name": "B"})),
        )
        .await;
    let other = acct["admin_api_key"].as_str().unwrap().to_string();
    for (key, path) in [
        (
            ts.key.clone(),
            "/services/v2/certificate/999999".to_string(),
        ),
        (other, format!("/services/v2/certificate/{cid}")),
    ] {
        let (s, e) = ts.get_as(&key, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(e["errors"][0]["code"], "not_found|certificate");
    }
    ts.stop().await;
}

/// Health and readiness for load balancers: JSON, no API key; ready lists
/// the database, the issuing keys and every background job.
#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let ts = TestServer::start(true).await;
    let r = ts.client.get(ts.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let r = ts.client.get(ts.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "ready", "checks": {
            "database": "ok",
            "issuing_keys": "ok",
            "jobs": {"dcv_poller": "ok", "mailer": "ok", "publisher": "ok",
                     "revocation_follower": "ok", "sweeper": "ok"}
        }})
    );
    ts.stop().await;
}
