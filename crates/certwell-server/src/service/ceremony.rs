//! Key ceremonies (`certwell ca …`): roots kept offline, intermediates
//! signed by them or by a team's existing enterprise CA, imported CAs,
//! root CRLs, chains. These run against the store and the key store with
//! no server running; a server picks the new CAs up when it starts.
//!
//! A root made here records its key as `offline:<where>`: the serving
//! process never loads it; a ceremony that needs it (an intermediate, a
//! CRL) loads it from there, or from `--root-key` when the medium moved.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use certwell_ca::{KeyAlgorithm, Signer};
use certwell_store::{CaRecord, Store};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::config::{Config, DataDir};
use crate::keystore::{KeyLocation, KeyStore, KeyTarget};
use crate::service::hierarchy::{ca_id_for, issue_ca, Issuer, NewCa, SpecProfile};
use crate::service::status::{sign_crl, ROOT_CRL_VALIDITY};

/// What a ceremony works with: the data directory, its store, its keys
/// and the settings.
pub struct Ceremony<'a> {
    pub dir: &'a DataDir,
    pub store: &'a dyn Store,
    pub keys: &'a KeyStore,
    pub config: &'a Config,
}

/// A CA certificate to import (see [`Ceremony::import_ca`]).
pub struct Import<'a> {
    pub cert_pem: &'a str,
    /// The CA certificates above it, its issuer first, up to a root.
    pub chain_pem: Option<&'a str>,
    pub key: ImportKey<'a>,
    pub profile: Option<&'a str>,
    pub is_default: bool,
}

/// Subject and key of a CA to make.
#[derive(Debug, Clone)]
pub struct CaOptions {
    pub common_name: String,
    /// Subject O and C; the settings' `ca_organization` / `ca_country`
    /// when not given.
    pub organization: Option<String>,
    pub country: Option<String>,
    pub key_algorithm: KeyAlgorithm,
    pub validity_days: i64,
}

impl CaOptions {
    fn subject(&self, config: &Config) -> (String, String) {
        (
            self.country
                .clone()
                .unwrap_or_else(|| config.ca_country.clone()),
            self.organization
                .clone()
                .unwrap_or_else(|| config.ca_organization.clone()),
        )
    }
}

fn find_ca<'a>(cas: &'a [CaRecord], id: &str) -> Result<&'a CaRecord, String> {
    cas.iter()
        .find(|c| c.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| format!("no CA {id} (certwell ca list shows them)"))
}

fn parse_profile(name: &str) -> Result<SpecProfile, String> {
    SpecProfile::parse_issuing(name).ok_or_else(|| {
        format!(
            "unknown profile {name:?} (one of {})",
            SpecProfile::ISSUING_NAMES.join(", ")
        )
    })
}

/// The signer of a CA certwell holds a key of, offline keys included;
/// `key_override` names where the key is now (its medium moved).
fn ceremony_signer(
    keys: &KeyStore,
    ca: &CaRecord,
    key_override: Option<&str>,
) -> Result<Arc<dyn Signer>, String> {
    let alg = KeyAlgorithm::parse(&ca.key_algorithm)
        .ok_or_else(|| format!("CA {}: unknown key algorithm", ca.id))?;
    let location = match key_override {
        Some(o) => KeyLocation::parse(&absolute(o))?,
        None => KeyLocation::parse(&ca.key_file)?,
    };
    let spki = certwell_ca::ca_certificate_info(&ca.cert_der)
        .map_err(|e| e.to_string())?
        .spki_der;
    load_key_of(keys, &ca.id, &location, alg, &spki)
}

/// The key at `location`, which must be the key of the certificate whose
/// public key is `spki`.
fn load_key_of(
    keys: &KeyStore,
    ca_id: &str,
    location: &KeyLocation,
    alg: KeyAlgorithm,
    spki: &[u8],
) -> Result<Arc<dyn Signer>, String> {
    let signer = keys.load_location(ca_id, location, alg)?;
    if signer.spki_der() != spki {
        return Err(format!(
            "CA {ca_id}: the key given is not the key of its certificate"
        ));
    }
    Ok(signer)
}

/// A path given on the command line, made absolute (a key location is
/// stored and used later, from another working directory).
fn absolute(p: &str) -> String {
    if p.starts_with("pkcs11:") {
        return p.to_string();
    }
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

/// What `ca csr` remembers of the key it made, until `ca import` brings
/// the certificate the external CA signed for it.
#[derive(Debug, Serialize, Deserialize)]
struct PendingCa {
    key: String,
    profile: String,
}

fn pending_file(dir: &DataDir, ca_id: &str) -> PathBuf {
    dir.keys().join("pending").join(format!("{ca_id}.json"))
}

/// Every certificate of a PEM bundle.
fn pem_certificates(what: &str, pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let certs: Vec<Vec<u8>> = crate::pem::pem_blocks(pem)
        .map_err(|e| format!("{what}: {e}"))?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    if certs.is_empty() {
        return Err(format!("{what}: no PEM certificate"));
    }
    Ok(certs)
}

/// Where the key of an imported CA is.
pub enum ImportKey<'a> {
    /// The key `ca csr` made for this certificate.
    Pending,
    /// A PEM private key file (plaintext, or encrypted with the
    /// passphrase), or a `pkcs11:` URI of a key in the configured token.
    Given(&'a str),
    /// No key: only the certificate (an external root or intermediate).
    None,
}

impl Ceremony<'_> {
    /// A new root, self-signed, its key generated at `target` (a file
    /// outside the data directory, or the token) and recorded as offline.
    /// Its first CRL is signed at once (valid a year).
    pub async fn create_root(
        &self,
        opts: &CaOptions,
        target: KeyTarget,
    ) -> Result<CaRecord, String> {
        let (store, keys, config) = (self.store, self.keys, self.config);
        if store
            .list_cas()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .any(|c| c.name == opts.common_name)
        {
            return Err(format!("a CA named {:?} exists already", opts.common_name));
        }
        let (country, organization) = opts.subject(config);
        let (rec, signer) = issue_ca(
            store,
            keys,
            config,
            NewCa {
                key_algorithm: opts.key_algorithm,
                key_target: target,
                offline: true,
                country,
                organization,
                common_name: opts.common_name.clone(),
                profile: certwell_ca::CaProfile::Root,
                validity_days: opts.validity_days,
                parent: None,
                purpose: None,
                is_default: false,
                now: crate::clock::now(),
            },
        )
        .await?;
        sign_crl(store, &rec.id, &rec.cert_der, signer, ROOT_CRL_VALIDITY, 0)
            .await
            .map_err(|e| format!("CA {}: its first CRL: {}", rec.id, e.message))?;
        Ok(rec)
    }

    /// A new issuing CA signed by `parent_id` (a root or another CA certwell
    /// holds the key of), its key in the data directory or the token.
    pub async fn create_intermediate(
        &self,
        opts: &CaOptions,
        parent_id: &str,
        profile: &str,
        is_default: bool,
        parent_key: Option<&str>,
    ) -> Result<CaRecord, String> {
        let (store, keys, config) = (self.store, self.keys, self.config);
        let profile = parse_profile(profile)?;
        let cas = store.list_cas().await.map_err(|e| e.to_string())?;
        if cas.iter().any(|c| c.name == opts.common_name) {
            return Err(format!("a CA named {:?} exists already", opts.common_name));
        }
        let parent = find_ca(&cas, parent_id)?;
        let issuer = Issuer {
            id: parent.id.clone(),
            signer: ceremony_signer(keys, parent, parent_key)?,
            cert_der: parent.cert_der.clone(),
        };
        let (country, organization) = opts.subject(config);
        let (rec, _) = issue_ca(
            store,
            keys,
            config,
            NewCa {
                key_algorithm: opts.key_algorithm,
                key_target: KeyTarget::Default,
                offline: false,
                country,
                organization,
                common_name: opts.common_name.clone(),
                profile: profile.ca_profile(),
                validity_days: opts.validity_days,
                parent: Some(&issuer),
                purpose: profile.purpose().map(|p| p.as_str().to_string()),
                is_default,
                now: crate::clock::now(),
            },
        )
        .await?;
        Ok(rec)
    }

    /// Generates an issuing CA's key (data directory or token) and returns a
    /// CSR for it (PEM), for an external root to sign; `ca import` brings the
    /// certificate back.
    pub fn intermediate_csr(&self, opts: &CaOptions, profile: &str) -> Result<String, String> {
        let (dir, keys, config) = (self.dir, self.keys, self.config);
        parse_profile(profile)?;
        let (signer, location) = keys.generate(opts.key_algorithm, &opts.common_name)?;
        let (country, organization) = opts.subject(config);
        let subject = certwell_ca::CaSubject {
            country,
            organization,
            common_name: opts.common_name.clone(),
        };
        let csr =
            certwell_ca::build_ca_csr(&subject, signer.as_ref()).map_err(|e| e.to_string())?;
        let pending = PendingCa {
            key: location.to_string(),
            profile: profile.to_string(),
        };
        crate::keyfile::write_secret(
            &pending_file(dir, &ca_id_for(&signer.spki_der())),
            serde_json::to_string(&pending)
                .map_err(|e| e.to_string())?
                .as_bytes(),
        )?;
        Ok(certwell_ca::der_to_pem("CERTIFICATE REQUEST", &csr))
    }

    /// Imports a CA certificate with the chain above it (`chain_pem`: its
    /// issuer first, up to a root; empty for a root). The chain's CAs are
    /// stored as CAs certwell holds no key of, unless known already. An
    /// issuing CA needs `profile` (what it issues) and its key; a root given
    /// with its key is recorded offline (the key stays where it is).
    pub async fn import_ca(&self, import: Import<'_>) -> Result<CaRecord, String> {
        let (dir, store, keys) = (self.dir, self.store, self.keys);
        let Import {
            cert_pem,
            chain_pem,
            key,
            profile,
            is_default,
        } = import;
        let cert = pem_certificates("the certificate", cert_pem)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let info = certwell_ca::ca_certificate_info(&cert).map_err(|e| e.to_string())?;
        if !info.is_ca {
            return Err("the certificate is not a CA certificate (basicConstraints cA)".into());
        }
        if info.not_after <= crate::clock::now() {
            return Err("the certificate has expired".into());
        }
        let chain = match chain_pem {
            Some(p) => pem_certificates("the chain", p)?,
            None => Vec::new(),
        };
        // The chain must hold: each certificate signed by the next, ending in
        // a self-signed root (the certificate itself when it is a root).
        let mut path = vec![cert.clone()];
        path.extend(chain.iter().cloned());
        for pair in path.windows(2) {
            certwell_ca::verify_issued_by(&pair[0], &pair[1])
                .map_err(|e| format!("the chain does not verify: {e}"))?;
        }
        let top = path.last().cloned().unwrap_or_default();
        let top_info = certwell_ca::ca_certificate_info(&top).map_err(|e| e.to_string())?;
        if !top_info.self_issued {
            return Err(
                "the chain does not end in a root: give every CA certificate up to the root".into(),
            );
        }
        certwell_ca::verify_issued_by(&top, &top).map_err(|e| format!("the root: {e}"))?;

        let existing = store.list_cas().await.map_err(|e| e.to_string())?;
        let id = ca_id_for(&info.spki_der);
        if existing.iter().any(|c| c.id == id) {
            return Err(format!("CA {id} is known already"));
        }
        let is_root = path.len() == 1 && info.self_issued;
        let profile = match (profile, is_root) {
            (Some(p), false) => Some(parse_profile(p)?),
            (None, false) => {
                return Err("an issuing CA needs --profile (what it issues)".into());
            }
            (Some(_), true) => return Err("a root has no --profile".into()),
            (None, true) => None,
        };
        let pending = pending_file(dir, &id);
        let location = match key {
            ImportKey::None => {
                if !is_root {
                    return Err("an issuing CA needs its key".into());
                }
                KeyLocation::None
            }
            ImportKey::Pending => {
                let text = std::fs::read_to_string(&pending).map_err(|_| {
                    "no key was made for this certificate here (certwell ca csr); give --key"
                        .to_string()
                })?;
                let p: PendingCa = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if profile.is_some_and(|pr| Some(pr) != SpecProfile::parse_issuing(&p.profile)) {
                    return Err(format!(
                        "the CSR was made for profile {}; import it with that profile",
                        p.profile
                    ));
                }
                KeyLocation::parse(&p.key)?
            }
            ImportKey::Given(k) => {
                let location = if k.starts_with("pkcs11:") {
                    KeyLocation::parse(k)?
                } else if is_root {
                    // A root's key stays where it is, offline.
                    KeyLocation::parse(&absolute(k))?
                } else {
                    let pkcs8 = keys.read_foreign_key(Path::new(k))?;
                    keys.import_key_file(info.key_algorithm, &pkcs8)?.1
                };
                if is_root {
                    KeyLocation::Offline(Box::new(location))
                } else {
                    location
                }
            }
        };
        if !matches!(location, KeyLocation::None) {
            load_key_of(keys, &id, &location, info.key_algorithm, &info.spki_der)?;
        }
        // The CAs above it, by id, stored without keys unless known.
        let now = crate::clock::now();
        let mut parent_id = None;
        for (i, c) in path.iter().enumerate().skip(1).rev() {
            let ci = certwell_ca::ca_certificate_info(c).map_err(|e| e.to_string())?;
            let cid = ca_id_for(&ci.spki_der);
            if !existing.iter().any(|e| e.id == cid) {
                store
                    .insert_ca(&CaRecord {
                        id: cid.clone(),
                        name: ci.subject_common_name.unwrap_or_else(|| cid.clone()),
                        parent_id: parent_id.clone(),
                        purpose: None,
                        key_algorithm: ci.key_algorithm.as_str().to_string(),
                        key_file: KeyLocation::None.to_string(),
                        cert_der: c.clone(),
                        is_default: false,
                        created_at: now,
                    })
                    .await
                    .map_err(|e| format!("storing CA {cid} (chain position {i}): {e}"))?;
            }
            parent_id = Some(cid);
        }
        let rec = CaRecord {
            id,
            name: info
                .subject_common_name
                .clone()
                .unwrap_or_else(|| ca_id_for(&info.spki_der)),
            parent_id,
            purpose: profile
                .and_then(|p| p.purpose())
                .map(|p| p.as_str().to_string()),
            key_algorithm: info.key_algorithm.as_str().to_string(),
            key_file: location.to_string(),
            cert_der: cert,
            is_default,
            created_at: now,
        };
        store.insert_ca(&rec).await.map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&pending);
        Ok(rec)
    }

    /// Signs a CRL of CA `ca_id` (a root) valid for `days` (at most 365),
    /// listing every revocation recorded for it, and stores it for the
    /// servers to serve.
    pub async fn sign_ca_crl(
        &self,
        ca_id: &str,
        days: i64,
        key_override: Option<&str>,
    ) -> Result<(String, i64), String> {
        let (store, keys) = (self.store, self.keys);
        if !(1..=365).contains(&days) {
            return Err("--days: a CA's CRL is valid 1 to 365 days".into());
        }
        let cas = store.list_cas().await.map_err(|e| e.to_string())?;
        let ca = find_ca(&cas, ca_id)?;
        if ca.purpose.is_some() {
            return Err(format!(
                "CA {}: an issuing CA's CRLs are made by the server",
                ca.id
            ));
        }
        let signer = ceremony_signer(keys, ca, key_override)?;
        let revocations = store
            .crl_state(&ca.id)
            .await
            .map_err(|e| e.to_string())?
            .revocations;
        sign_crl(
            store,
            &ca.id,
            &ca.cert_der,
            signer,
            Duration::days(days),
            revocations,
        )
        .await
        .map_err(|e| e.message)?;
        let number = store
            .stored_crl(&ca.id)
            .await
            .map_err(|e| e.to_string())?
            .map(|(m, _)| m.number)
            .unwrap_or(0);
        Ok((ca.id.clone(), number))
    }

    /// The PEM chain of CA `ca_id`: itself first, up to its root.
    pub async fn chain_pem(&self, ca_id: &str) -> Result<String, String> {
        let store = self.store;
        let cas = store.list_cas().await.map_err(|e| e.to_string())?;
        let mut out = String::new();
        let mut next = Some(find_ca(&cas, ca_id)?);
        let mut hops = 0;
        while let Some(ca) = next {
            out.push_str(&certwell_ca::der_to_pem("CERTIFICATE", &ca.cert_der));
            hops += 1;
            next = match &ca.parent_id {
                Some(p) if hops < 10 => Some(find_ca(&cas, p)?),
                _ => None,
            };
        }
        Ok(out)
    }
}
