//! Key custody as an operator meets it: CA key files encrypted with a
//! passphrase (and needed to start), plaintext files from earlier versions
//! converted by `certwell ca encrypt-keys`, CA keys in a PKCS#11 token
//! (SoftHSM2) with a wrong PIN stopping start-up with one line.

mod common;

use std::path::Path;
use std::process::Command;

use common::certwell;

/// (file name, first line) of every file under `keys/`.
fn key_files(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir.join("keys")) else {
        return Vec::new();
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                text.lines().next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// No file anywhere in the data directory holds a plaintext private key.
fn assert_no_plaintext_key(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes
                        .windows(b"BEGIN PRIVATE KEY".len())
                        .any(|w| w == b"BEGIN PRIVATE KEY"),
                    "plaintext key in {}",
                    p.display()
                );
            }
        }
    }
}

/// The error `certwell` stopped with: exactly one line.
fn one_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    lines[0]
}

const PASS: &str = "correct horse battery staple";

#[test]
fn a_passphrase_encrypts_every_key_file_and_is_needed_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let with = [("CERTWELL_KEY_PASSPHRASE", PASS)];
    let (ok, _, err) = certwell(&dir, &["init"], &with);
    assert!(ok, "{err}");
    let files = key_files(&dir);
    assert_eq!(files.len(), 17, "{files:?}");
    for (name, first) in &files {
        assert_eq!(first, "-----BEGIN ENCRYPTED PRIVATE KEY-----", "{name}");
    }
    assert_no_plaintext_key(&dir);
    // openssl reads the files with the passphrase (standard PKCS#8).
    let any = dir.join("keys").join(&files[0].0);
    let out = Command::new("openssl")
        .args(["pkey", "-noout", "-passin", &format!("pass:{PASS}"), "-in"])
        .arg(&any)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without the passphrase, or with a wrong one, the server does not
    // start, and says why in one line without the secret.
    let (ok, _, err) = certwell(&dir, &["serve", "--listen", "127.0.0.1:0"], &[]);
    assert!(!ok);
    let line = one_line(&err);
    assert!(
        line.contains("is encrypted") && line.contains("CERTWELL_KEY_PASSPHRASE"),
        "{line}"
    );
    let (ok, _, err) = certwell(
        &dir,
        &["serve", "--listen", "127.0.0.1:0"],
        &[("CERTWELL_KEY_PASSPHRASE", "not the passphrase")],
    );
    assert!(!ok);
    let line = one_line(&err);
    assert!(line.contains("passphrase"), "{line}");
    assert!(!line.contains("not the passphrase"), "{line}");
    // The passphrase from a file works as the variable does.
    let pass_file = tmp.path().join("pass");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
    let (ok, out, err) = certwell(
        &dir,
        &["init"],
        &[("CERTWELL_KEY_PASSPHRASE_FILE", pass_file.to_str().unwrap())],
    );
    assert!(ok, "{err}");
    assert!(out.contains("already initialized"), "{out}");
    // The settings file written at init holds no passphrase.
    let settings = std::fs::read_to_string(dir.join("certwell.toml")).unwrap();
    assert!(!settings.contains(PASS), "{settings}");
}

#[test]
fn the_settings_file_is_private_and_holds_no_smtp_password() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (ok, _, err) = certwell(
        &dir,
        &["init"],
        &[
            ("CERTWELL_SMTP_HOST", "mail.example.com"),
            ("CERTWELL_SMTP_PASSWORD", "smtp-secret-123"),
            ("CERTWELL_SMTP_TLS", "starttls"),
        ],
    );
    assert!(ok, "{err}");
    // Credentials without TLS to a relay off this host are refused.
    let (ok, _, err) = certwell(
        &tmp.path().join("plain"),
        &["init"],
        &[
            ("CERTWELL_SMTP_HOST", "mail.example.com"),
            ("CERTWELL_SMTP_PASSWORD", "smtp-secret-123"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("starttls") && !err.contains("smtp-secret-123"),
        "{err}"
    );
    let path = dir.join("certwell.toml");
    let settings = std::fs::read_to_string(&path).unwrap();
    assert!(settings.contains("mail.example.com"), "{settings}");
    assert!(!settings.contains("smtp-secret-123"), "{settings}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn plaintext_key_files_keep_loading_and_encrypt_keys_converts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (ok, _, err) = certwell(&dir, &["init"], &[]);
    assert!(ok, "{err}");
    let before = key_files(&dir);
    assert!(before
        .iter()
        .all(|(_, l)| l == "-----BEGIN PRIVATE KEY-----"));
    let with = [("CERTWELL_KEY_PASSPHRASE", PASS)];
    // Plaintext files load with a passphrase set, with a warning.
    let (ok, _, err) = certwell(&dir, &["init"], &with);
    assert!(ok, "{err}");
    assert!(err.contains("encrypt-keys"), "{err}");

    let (ok, _, err) = certwell(&dir, &["ca", "encrypt-keys"], &[]);
    assert!(!ok);
    assert!(one_line(&err).contains("passphrase"), "{err}");
    let (ok, out, err) = certwell(&dir, &["ca", "encrypt-keys"], &with);
    assert!(ok, "{err}");
    assert!(out.contains("Encrypted 17 CA key file(s)"), "{out}");
    let after = key_files(&dir);
    assert_eq!(after.len(), 17, "no file left behind: {after:?}");
    for (name, first) in &after {
        assert_eq!(first, "-----BEGIN ENCRYPTED PRIVATE KEY-----", "{name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("keys").join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
    assert_no_plaintext_key(&dir);
    // Idempotent.
    let (ok, out, _) = certwell(&dir, &["ca", "encrypt-keys"], &with);
    assert!(ok);
    assert!(out.contains("Encrypted 0 CA key file(s)"), "{out}");
    // Now the passphrase is needed.
    let (ok, _, _) = certwell(&dir, &["init"], &[]);
    assert!(!ok);
    let (ok, _, err) = certwell(&dir, &["init"], &with);
    assert!(ok, "{err}");
}

#[test]
fn hsm_keys_are_generated_in_the_token_and_a_wrong_pin_stops_start_up() {
    let token = certwell_ca::testing::SoftHsmToken::new();
    let module = token.module.to_str().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let hsm = |pin: &str, label: &str| {
        vec![
            ("CERTWELL_PKCS11_MODULE", module.clone()),
            ("CERTWELL_PKCS11_TOKEN_LABEL", label.to_string()),
            ("CERTWELL_PKCS11_PIN", pin.to_string()),
        ]
    };
    let env = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let run = |args: &[&str], v: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        certwell(&dir, args, &pairs)
    };

    let wrong = format!("{}0", token.pin);
    let (ok, _, err) = run(&["init"], env(&hsm(&wrong, &token.label)));
    assert!(!ok);
    let line = one_line(&err);
    assert!(line.contains("PIN is wrong"), "{line}");
    assert!(!line.contains(&wrong), "{line}");
    let (ok, _, err) = run(&["init"], env(&hsm(&token.pin, "no-such-token")));
    assert!(!ok);
    assert!(
        one_line(&err).contains("no initialised token labelled"),
        "{err}"
    );

    let (ok, out, err) = run(&["init"], env(&hsm(&token.pin, &token.label)));
    assert!(ok, "{err}");
    assert!(out.contains("Admin API key"), "{out}");
    assert!(key_files(&dir).is_empty(), "{:?}", key_files(&dir));
    assert_no_plaintext_key(&dir);
    // The settings name the token, never the PIN.
    let settings = std::fs::read_to_string(dir.join("certwell.toml")).unwrap();
    assert!(settings.contains("[pkcs11]"), "{settings}");
    assert!(!settings.contains(&token.pin), "{settings}");
    // Without the token the CAs cannot load: one line naming the PIN source.
    let (ok, _, err) = run(&["init"], vec![("CERTWELL_PKCS11_PIN", String::new())]);
    assert!(!ok);
    let _ = one_line(&err);
    let (ok, out, err) = run(&["init"], env(&hsm(&token.pin, &token.label)));
    assert!(ok, "{err}");
    assert!(out.contains("already initialized"), "{out}");
}
