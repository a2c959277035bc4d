//! Where CA keys live: files in the data directory (PKCS#8, encrypted
//! when a passphrase is configured) or a PKCS#11 token.
//!
//! A CA record stores its key's location (`CaRecord::key_file`) as text:
//! a path (relative to the data directory, or absolute) for a file, an
//! RFC 7512 PKCS#11 URI (`pkcs11:token=<label>;id=%01%02…`) for a token
//! key, either behind `offline:` for a key the serving process never loads
//! (a root kept offline, used only by ceremony commands), or `none` for a
//! CA certwell holds no key of (an external root).
//! [`KeyLocation`] is that text parsed; [`KeyStore`] makes and loads keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use certwell_ca::{KeyAlgorithm, Pkcs11Token, Signer, SoftwareSigner};

use crate::config::{Config, DataDir};
use crate::keyfile;

/// Where one CA key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// A PKCS#8 PEM file, relative to the data directory.
    File(PathBuf),
    /// A private key in the token labelled `token`, with `CKA_ID` = `id`.
    Pkcs11 { token: String, id: Vec<u8> },
    /// A key kept offline: only ceremony commands load it.
    Offline(Box<KeyLocation>),
    /// No key: a CA certwell only has the certificate of.
    None,
}

impl KeyLocation {
    pub fn parse(s: &str) -> Result<KeyLocation, String> {
        if s == "none" {
            return Ok(KeyLocation::None);
        }
        if let Some(inner) = s.strip_prefix("offline:") {
            return match KeyLocation::parse(inner)? {
                l @ (KeyLocation::File(_) | KeyLocation::Pkcs11 { .. }) => {
                    Ok(KeyLocation::Offline(Box::new(l)))
                }
                _ => Err(format!("{s}: offline: names a key file or a token key")),
            };
        }
        let Some(attrs) = s.strip_prefix("pkcs11:") else {
            return Ok(KeyLocation::File(PathBuf::from(s)));
        };
        let (mut token, mut id) = (None, None);
        for attr in attrs.split(';') {
            match attr.split_once('=') {
                Some(("token", v)) => token = Some(percent_decode(v)?),
                Some(("id", v)) => id = Some(percent_decode(v)?),
                _ => {}
            }
        }
        match (token, id) {
            (Some(t), Some(id)) if !id.is_empty() => Ok(KeyLocation::Pkcs11 {
                token: String::from_utf8(t).map_err(|_| format!("{s}: token is not UTF-8"))?,
                id,
            }),
            _ => Err(format!("{s}: a PKCS#11 key URI needs token= and id=")),
        }
    }
}

impl KeyLocation {
    /// Whether the serving process may load the key stored as `location`
    /// (a key file or a token key; not an offline key, not a CA without
    /// a key).
    pub fn is_online(location: &str) -> bool {
        matches!(
            KeyLocation::parse(location),
            Ok(KeyLocation::File(_) | KeyLocation::Pkcs11 { .. })
        )
    }
}

impl std::fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyLocation::File(p) => write!(f, "{}", p.display()),
            KeyLocation::Pkcs11 { token, id } => {
                write!(f, "pkcs11:token={};id=", percent_encode(token.as_bytes()))?;
                id.iter().try_for_each(|b| write!(f, "%{b:02X}"))
            }
            KeyLocation::Offline(inner) => write!(f, "offline:{inner}"),
            KeyLocation::None => f.write_str("none"),
        }
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let v = std::str::from_utf8(&hex)
                .ok()
                .filter(|h| h.len() == 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{s}: bad percent-encoding"))?;
            out.push(v);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// The key file of a new software key: `keys/<CA id>.key`.
fn key_file_for(signer: &SoftwareSigner) -> PathBuf {
    PathBuf::from(format!(
        "keys/{}.key",
        crate::service::hierarchy::ca_id_for(&signer.spki_der())
    ))
}

/// `pkcs8` encrypted with `pass`, as an `ENCRYPTED PRIVATE KEY` PEM.
fn encrypted_pem(path: &Path, pkcs8: &[u8], pass: &[u8]) -> Result<String, String> {
    let enc =
        certwell_ca::encrypt_pkcs8(pkcs8, pass).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(certwell_ca::der_to_pem("ENCRYPTED PRIVATE KEY", &enc))
}

/// Where a ceremony puts a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTarget {
    /// The token if one is configured, else a file in `keys/`.
    Default,
    /// The configured token.
    Token,
    /// This file (absolute, or relative to the data directory).
    File(PathBuf),
}

/// Makes and loads CA keys, per the settings. Cheap to clone (the token
/// is shared).
#[derive(Clone)]
pub struct KeyStore {
    root: PathBuf,
    token: Option<Arc<Pkcs11Token>>,
    passphrase: Option<Vec<u8>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("root", &self.root)
            .field("token", &self.token)
            .field("encrypted", &self.passphrase.is_some())
            .finish()
    }
}

/// The first line of a secret file.
fn read_secret_file(what: &str, path: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{what}: {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(format!("{what}: {} is empty", path.display()));
    }
    Ok(line.to_string())
}

impl KeyStore {
    /// Opens the configured token (logging in: a missing module or token,
    /// or a wrong or locked PIN, is one line) and reads the passphrase.
    pub fn open(dir: &DataDir, config: &Config) -> Result<KeyStore, String> {
        let token = match &config.pkcs11 {
            None => None,
            Some(p) => {
                let pin = match &p.pin_file {
                    Some(f) => read_secret_file("pkcs11.pin_file", f)?,
                    None => std::env::var(&p.pin_env)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            format!(
                                "pkcs11: the token's user PIN is needed: set {} or pkcs11.pin_file",
                                p.pin_env
                            )
                        })?,
                };
                Some(Pkcs11Token::open(&p.module, &p.token()?, &pin).map_err(|e| e.to_string())?)
            }
        };
        let passphrase = match (&config.key_passphrase, &config.key_passphrase_file) {
            (Some(p), _) => Some(p.0.as_bytes().to_vec()),
            (None, Some(f)) => Some(read_secret_file("key_passphrase_file", f)?.into_bytes()),
            (None, None) => None,
        };
        Ok(KeyStore {
            root: dir.root.clone(),
            token,
            passphrase,
        })
    }

    /// Generates a CA key: inside the token when one is configured,
    /// otherwise a file under `keys/` (encrypted with the passphrase when
    /// one is given). `name` labels a token key for people.
    pub fn generate(
        &self,
        alg: KeyAlgorithm,
        name: &str,
    ) -> Result<(Arc<dyn Signer>, KeyLocation), String> {
        self.generate_at(alg, name, KeyTarget::Default)
    }

    /// Generates a CA key where `target` says.
    pub fn generate_at(
        &self,
        alg: KeyAlgorithm,
        name: &str,
        target: KeyTarget,
    ) -> Result<(Arc<dyn Signer>, KeyLocation), String> {
        let in_token = match &target {
            KeyTarget::Token => true,
            KeyTarget::File(_) => false,
            KeyTarget::Default => self.token.is_some(),
        };
        if in_token {
            let token = self.token.as_ref().ok_or(
                "a key in the PKCS#11 token was asked for, but no [pkcs11] token is configured",
            )?;
            let signer = token.generate(alg, name).map_err(|e| e.to_string())?;
            let location = KeyLocation::Pkcs11 {
                token: token.label().to_string(),
                id: signer.id().to_vec(),
            };
            return Ok((Arc::new(signer), location));
        }
        let (signer, pkcs8) = SoftwareSigner::generate(alg).map_err(|e| e.to_string())?;
        let rel = match target {
            KeyTarget::File(path) => path,
            _ => key_file_for(&signer),
        };
        self.write_key_file(&rel, &pkcs8)?;
        Ok((Arc::new(signer), KeyLocation::File(rel)))
    }

    /// Stores an existing PKCS#8 key as a key file of the data directory
    /// (encrypted with the passphrase when one is given): importing a CA.
    pub fn import_key_file(
        &self,
        alg: KeyAlgorithm,
        pkcs8: &[u8],
    ) -> Result<(Arc<dyn Signer>, KeyLocation), String> {
        let signer = SoftwareSigner::from_pkcs8(alg, pkcs8).map_err(|e| e.to_string())?;
        let rel = key_file_for(&signer);
        self.write_key_file(&rel, pkcs8)?;
        Ok((Arc::new(signer), KeyLocation::File(rel)))
    }

    /// Reads a PEM private key file given to a ceremony (plaintext, or
    /// encrypted with the configured passphrase).
    pub fn read_foreign_key(&self, path: &Path) -> Result<Vec<u8>, String> {
        self.read_key_file(&path.display().to_string(), path)
    }

    fn write_key_file(&self, rel: &Path, pkcs8: &[u8]) -> Result<(), String> {
        let path = self.root.join(rel);
        match &self.passphrase {
            Some(pass) => {
                keyfile::write_secret(&path, encrypted_pem(&path, pkcs8, pass)?.as_bytes())
            }
            None => keyfile::write_private_key(&path, pkcs8),
        }
    }

    /// Loads the key at `location` (text as stored with the CA), checked
    /// to be an `alg` key, for the serving process: an offline key or a
    /// CA without a key is refused. `ca` names the CA in messages.
    pub fn load(
        &self,
        ca: &str,
        location: &str,
        alg: KeyAlgorithm,
    ) -> Result<Arc<dyn Signer>, String> {
        match KeyLocation::parse(location).map_err(|e| format!("CA {ca}: {e}"))? {
            KeyLocation::Offline(_) => Err(format!(
                "CA {ca}: its key is kept offline; only `certwell ca` ceremony commands use it"
            )),
            loc => self.load_location(ca, &loc, alg),
        }
    }

    /// Loads a key wherever it is, offline keys included (a ceremony).
    pub fn load_location(
        &self,
        ca: &str,
        location: &KeyLocation,
        alg: KeyAlgorithm,
    ) -> Result<Arc<dyn Signer>, String> {
        match location {
            KeyLocation::None => Err(format!("CA {ca}: certwell holds no key of this CA")),
            KeyLocation::Offline(inner) => self.load_location(ca, inner, alg),
            KeyLocation::Pkcs11 { token, id } => {
                let t = self.token.as_ref().ok_or_else(|| {
                    format!("CA {ca}: its key is in PKCS#11 token {token:?}, but no [pkcs11] token is configured")
                })?;
                if t.label() != token {
                    return Err(format!(
                        "CA {ca}: its key is in PKCS#11 token {token:?}, but the configured token is {:?}",
                        t.label()
                    ));
                }
                let signer = t.find(alg, id).map_err(|e| format!("CA {ca}: {e}"))?;
                Ok(Arc::new(signer))
            }
            KeyLocation::File(rel) => {
                let path = self.root.join(rel);
                let pkcs8 = self.read_key_file(ca, &path)?;
                let signer =
                    SoftwareSigner::from_pkcs8(alg, &pkcs8).map_err(|e| format!("CA {ca}: {e}"))?;
                Ok(Arc::new(signer))
            }
        }
    }

    /// The plaintext PKCS#8 of a key file, decrypting an encrypted one.
    fn read_key_file(&self, ca: &str, path: &Path) -> Result<Vec<u8>, String> {
        let (label, der) = keyfile::read_pem(path)?;
        match label.as_str() {
            "ENCRYPTED PRIVATE KEY" => {
                let pass = self.passphrase.as_ref().ok_or_else(|| {
                    format!(
                        "CA {ca}: its key {} is encrypted: set CERTWELL_KEY_PASSPHRASE or key_passphrase_file",
                        path.display()
                    )
                })?;
                certwell_ca::decrypt_pkcs8(&der, pass)
                    .map_err(|e| format!("CA {ca}: {}: {e}", path.display()))
            }
            "PRIVATE KEY" => {
                if self.passphrase.is_some() {
                    tracing::warn!(
                        ca,
                        file = %path.display(),
                        "CA key file is not encrypted; `certwell ca encrypt-keys` encrypts it"
                    );
                }
                Ok(der)
            }
            other => Err(format!(
                "CA {ca}: {}: a {other:?} PEM block is not a private key",
                path.display()
            )),
        }
    }

    /// Encrypts every plaintext CA key file with the passphrase (each file
    /// replaced atomically); returns how many it encrypted.
    pub fn encrypt_key_files(&self, locations: &[(String, String)]) -> Result<usize, String> {
        let pass = self
            .passphrase
            .as_ref()
            .ok_or("a passphrase is needed: set CERTWELL_KEY_PASSPHRASE or key_passphrase_file")?;
        let mut done = 0;
        for (ca, location) in locations {
            let rel = match KeyLocation::parse(location)? {
                KeyLocation::File(rel) => rel,
                KeyLocation::Offline(inner) => match *inner {
                    KeyLocation::File(rel) => rel,
                    _ => continue,
                },
                _ => continue,
            };
            let path = self.root.join(&rel);
            if !path.exists() {
                // An offline key whose medium is not attached.
                tracing::warn!(ca = %ca, file = %path.display(), "key file not found; not encrypted");
                continue;
            }
            let (label, der) = keyfile::read_pem(&path)?;
            if label != "PRIVATE KEY" {
                continue;
            }
            let pem = encrypted_pem(&path, &der, pass).map_err(|e| format!("CA {ca}: {e}"))?;
            let tmp = path.with_extension("key.tmp");
            let _ = std::fs::remove_file(&tmp);
            keyfile::write_secret(&tmp, pem.as_bytes())?;
            // The encrypted copy must load before it replaces the original.
            let back = self.read_key_file(ca, &tmp)?;
            if back != der {
                let _ = std::fs::remove_file(&tmp);
                return Err(format!("CA {ca}: the encrypted key did not read back"));
            }
            keyfile::replace(&tmp, &path)?;
            done += 1;
        }
        Ok(done)
    }
}
