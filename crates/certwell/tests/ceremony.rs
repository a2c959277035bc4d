//! Owning the hierarchy with `certwell ca` ceremonies: a root kept offline
//! (the server never loads its key and serves the CRL the ceremony
//! signed), an intermediate signed by it, an intermediate signed by an
//! external root (a team's enterprise CA, here made with openssl), and a
//! rollover to a new default issuing CA while the old one keeps serving.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const PASS: &str = "ceremony passphrase";

fn pem_of(chain: &serde_json::Value, i: usize) -> String {
    chain["certificate_chain"][i]["pem"]
        .as_str()
        .unwrap_or_else(|| panic!("no chain[{i}]: {chain}"))
        .to_string()
}

fn lint_leaf(dir: &Path, pem: &str) {
    let f = dir.join("leaf-lint.pem");
    std::fs::write(&f, pem).unwrap();
    if let Some((_, out)) = pkilint(
        "lint_cabf_serverauth_cert",
        &["-t", "OV-FINAL-CERTIFICATE"],
        &f,
    ) {
        let bad: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("(WARNING)") || l.contains("(ERROR)") || l.contains("(FATAL)"))
            .filter(|l| !l.contains("cabf.serverauth.ov.common_name_attribute_present"))
            .collect();
        assert!(bad.is_empty(), "pkilint: {out}");
    }
}

#[test]
fn an_offline_root_signs_an_intermediate_and_its_crl_in_ceremonies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let usb = tmp.path().join("usb");
    let root_key = usb.join("root.key");
    let env = [("CERTWELL_KEY_PASSPHRASE", PASS)];

    let out = certwell_ok(
        &dir,
        &[
            "ca",
            "create-root",
            "--name",
            "Example Root R1",
            "--organization",
            "Example Corp",
            "--country",
            "DE",
            "--key-type",
            "ecdsa-p384",
            "--key-out",
            root_key.to_str().unwrap(),
        ],
        &env,
    );
    let root = first_word(&out);
    assert_eq!(root.len(), 16, "{out}");
    // The root key went to the medium, encrypted; nothing in the data
    // directory.
    let text = std::fs::read_to_string(&root_key).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(!dir.join("keys").join(format!("{root}.key")).exists());

    let out = certwell_ok(
        &dir,
        &[
            "ca",
            "create-intermediate",
            "--parent",
            &root,
            "--name",
            "Example TLS ICA 1",
            "--organization",
            "Example Corp",
            "--country",
            "DE",
            "--key-type",
            "ecdsa-p256",
            "--profile",
            "tls-ov",
            "--default",
        ],
        &env,
    );
    let ica = first_word(&out);
    let out = certwell_ok(
        &dir,
        &["ca", "sign-crl", "--ca", &root, "--days", "90"],
        &env,
    );
    assert!(out.contains("valid 90 days"), "{out}");

    // The medium leaves the machine. The server starts without it: it
    // never loads the root key.
    let away = tmp.path().join("safe");
    std::fs::rename(&usb, &away).unwrap();
    let list = certwell_ok(&dir, &["ca", "list"], &env);
    assert!(
        list.contains(&format!("offline:{}", root_key.display())),
        "{list}"
    );
    assert!(
        !list.contains("certwell TLS Root"),
        "no default hierarchy: {list}"
    );

    let server = Server::start_with(&dir, None, &env);
    let key = admin_key(&dir);
    let org = create_org(server.port, &key);
    let v = order(server.port, &key, org);
    assert_eq!(v["certificate_chain"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(
        v["certificate_chain"][1]["subject_common_name"],
        "Example TLS ICA 1"
    );
    assert_eq!(
        v["certificate_chain"][2]["subject_common_name"],
        "Example Root R1"
    );
    let work = tmp.path();
    openssl_verify(work, &pem_of(&v, 0), &pem_of(&v, 1), &pem_of(&v, 2));
    lint_leaf(work, &pem_of(&v, 0));
    // A product no CA of this hierarchy issues: a clear 400, not a 500.
    let (s, b) = http(
        server.port,
        "POST",
        "/services/v2/order/certificate/class1_smime",
        &key,
        &format!(
            r#"{{"certificate":{{"emails":["alice@example.com"],"signature_hash":"sha256","csr":"{}"}},"skip_approval":true,"order_validity":{{"years":1}}}}"#,
            json_escape(&csr())
        ),
    )
    .unwrap();
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        json_value(&b)["errors"][0]["code"],
        "product_not_available",
        "{b}"
    );

    // The root's CRL is the one the ceremony signed: 90 days, verified by
    // the root; the ICA's CRL is the server's own.
    let (s, crl) = http_bytes(server.port, &format!("/ca/{root}.crl"));
    assert_eq!(s, 200);
    let text = openssl_crl(work, &crl, &pem_of(&v, 2));
    assert!(text.contains("verify OK"), "{text}");
    let f = work.join("root.crl");
    std::fs::write(&f, &crl).unwrap();
    if let Some((ok, out)) = pkilint("lint_crl", &["-t", "ARL", "-p", "BR"], &f) {
        assert!(ok, "lint_crl ARL: {out}");
    }
    let (s, crl) = http_bytes(server.port, &format!("/ca/{ica}.crl"));
    assert_eq!(s, 200);
    assert!(openssl_crl(work, &crl, &pem_of(&v, 1)).contains("verify OK"));
    drop(server);

    let chain = certwell_ok(&dir, &["ca", "chain", "--ca", &ica], &env);
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    assert!(
        squash(&chain).starts_with(&squash(&pem_of(&v, 1))),
        "{chain}"
    );
    assert!(squash(&chain).ends_with(&squash(&pem_of(&v, 2))), "{chain}");

    // The next CRL needs the medium: without it one clear line, with it
    // (wherever it is now) a new CRL.
    let (ok, _, err) = certwell(&dir, &["ca", "sign-crl", "--ca", &root], &env);
    assert!(!ok);
    assert!(err.contains("root.key"), "{err}");
    let moved = away.join("root.key");
    let out = certwell_ok(
        &dir,
        &[
            "ca",
            "sign-crl",
            "--ca",
            &root,
            "--key",
            moved.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.contains("valid 365 days"), "{out}");
    // A wrong key for the root is refused.
    let (ok, _, err) = certwell(
        &dir,
        &[
            "ca",
            "sign-crl",
            "--ca",
            &root,
            "--key",
            dir.join("keys")
                .join(format!("{ica}.key"))
                .to_str()
                .unwrap(),
        ],
        &env,
    );
    assert!(!ok, "{err}");
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_intermediate_for_an_external_root_from_a_csr() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let w = tmp.path();
    let p = |n: &str| w.join(n).to_str().unwrap().to_string();
    // The team's enterprise root, made with openssl.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        &p("ext-root.key"),
        "-out",
        &p("ext-root.pem"),
        "-days",
        "3650",
        "-subj",
        "/C=DE/O=Example Corp/CN=Example Enterprise Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    let csr = certwell_ok(
        &dir,
        &[
            "ca",
            "csr",
            "--name",
            "Example Issuing CA",
            "--organization",
            "Example Corp",
            "--country",
            "DE",
            "--key-type",
            "ecdsa-p256",
            "--profile",
            "tls-ov",
        ],
        &[],
    );
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    std::fs::write(w.join("ica.csr"), &csr).unwrap();
    std::fs::write(
        w.join("ica.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\n\
         keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n\
         extendedKeyUsage=serverAuth\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid:always\n\
         certificatePolicies=2.23.140.1.2.2\n\
         crlDistributionPoints=URI:http://pki.example.com/root.crl\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("ica.csr"),
        "-CA",
        &p("ext-root.pem"),
        "-CAkey",
        &p("ext-root.key"),
        "-CAcreateserial",
        "-days",
        "1825",
        "-sha384",
        "-extfile",
        &p("ica.ext"),
        "-out",
        &p("ica.pem"),
    ]);
    // A chain that does not hold is refused.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("other.key"),
        "-out",
        &p("other.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=Other Root",
    ]);
    let (ok, _, err) = certwell(
        &dir,
        &[
            "ca",
            "import",
            "--cert",
            &p("ica.pem"),
            "--chain",
            &p("other.pem"),
            "--profile",
            "tls-ov",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("does not verify"), "{err}");
    let out = certwell_ok(
        &dir,
        &[
            "ca",
            "import",
            "--cert",
            &p("ica.pem"),
            "--chain",
            &p("ext-root.pem"),
            "--profile",
            "tls-ov",
            "--default",
        ],
        &[],
    );
    let ica = first_word(&out);
    let (ok, _, err) = certwell(
        &dir,
        &[
            "ca",
            "import",
            "--cert",
            &p("ica.pem"),
            "--chain",
            &p("ext-root.pem"),
            "--profile",
            "tls-ov",
        ],
        &[],
    );
    assert!(!ok && err.contains("known already"), "{err}");
    let list = certwell_ok(&dir, &["ca", "list"], &[]);
    assert!(
        list.contains("Example Enterprise Root") && list.contains("(none)"),
        "{list}"
    );

    let server = Server::start_with(&dir, None, &[]);
    let key = admin_key(&dir);
    let org = create_org(server.port, &key);
    let v = order(server.port, &key, org);
    assert_eq!(
        v["certificate_chain"][1]["subject_common_name"],
        "Example Issuing CA"
    );
    assert_eq!(
        v["certificate_chain"][2]["subject_common_name"],
        "Example Enterprise Root"
    );
    let root = std::fs::read_to_string(w.join("ext-root.pem")).unwrap();
    openssl_verify(w, &pem_of(&v, 0), &pem_of(&v, 1), &root);
    lint_leaf(w, &pem_of(&v, 0));
    let (s, crl) = http_bytes(server.port, &format!("/ca/{ica}.crl"));
    assert_eq!(s, 200);
    assert!(openssl_crl(w, &crl, &pem_of(&v, 1)).contains("verify OK"));
}

#[test]
fn rollover_to_a_new_default_issuing_ca_keeps_the_old_one_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let w = tmp.path();
    certwell_ok(&dir, &["init", "--sandbox"], &[]);
    let key = admin_key(&dir);
    let server = Server::start_with(&dir, None, &[]);
    let org = create_org(server.port, &key);
    let old = order(server.port, &key, org);
    assert_eq!(
        old["certificate_chain"][1]["subject_common_name"],
        "certwell TLS OV RSA3072 CA1"
    );
    drop(server);

    let list = certwell_ok(&dir, &["ca", "list"], &[]);
    let tls_root = list
        .lines()
        .find(|l| l.contains("certwell TLS Root CA E1"))
        .map(first_word)
        .unwrap();
    let out = certwell_ok(
        &dir,
        &[
            "ca",
            "create-intermediate",
            "--parent",
            &tls_root,
            "--name",
            "certwell TLS OV RSA3072 CA2",
            "--key-type",
            "rsa-3072",
            "--profile",
            "tls-ov",
            "--default",
        ],
        &[],
    );
    let new_ca = first_word(&out);

    let server = Server::start_with(&dir, None, &[]);
    let new = order(server.port, &key, org);
    assert_eq!(
        new["certificate_chain"][1]["subject_common_name"],
        "certwell TLS OV RSA3072 CA2"
    );
    openssl_verify(w, &pem_of(&new, 0), &pem_of(&new, 1), &pem_of(&new, 2));
    // The product lists the new default first.
    let (_, p) = http(
        server.port,
        "GET",
        "/services/v2/product/ssl_plus",
        &key,
        "",
    )
    .unwrap();
    let p = json_value(&p);
    assert_eq!(p["allowed_ca_certs"][0]["id"], new_ca.as_str(), "{p}");
    // The old certificate's chain is still the one it was issued under.
    let (s, chain) = http(
        server.port,
        "GET",
        &format!("/services/v2/certificate/{}/chain", old["certificate_id"]),
        &key,
        "",
    )
    .unwrap();
    assert_eq!(s, 200, "{chain}");
    let chain = json_value(&chain);
    assert_eq!(
        chain["intermediates"][1]["subject_common_name"], "certwell TLS OV RSA3072 CA1",
        "{chain}"
    );
    // ... and its CA still publishes a CRL.
    let old_ca = p["allowed_ca_certs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "certwell TLS OV RSA3072 CA1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, crl) = http_bytes(server.port, &format!("/ca/{old_ca}.crl"));
    assert_eq!(s, 200);
    assert!(openssl_crl(w, &crl, &pem_of(&old, 1)).contains("verify OK"));
}
