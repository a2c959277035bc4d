//! The CA hierarchy: which CAs exist (data, not code paths), how they are
//! created on init, and the loaded signers the server issues with.

use std::collections::HashMap;
use std::sync::Arc;

use certwell_ca::{CaProfile, CaSubject, KeyAlgorithm, RecordedSerial, Signer};
use certwell_policy::CaPurpose;
use certwell_store::{CaRecord, Store};
use time::{Duration, OffsetDateTime};

use crate::config::Config;
use crate::keystore::{KeyLocation, KeyStore, KeyTarget};
use crate::service::ledger::Serials;

/// One CA to create on init.
#[derive(Debug, Clone)]
pub struct CaSpec {
    /// Local handle, used only to name the parent.
    pub handle: &'static str,
    pub common_name: &'static str,
    pub key_algorithm: KeyAlgorithm,
    pub profile: SpecProfile,
    pub parent: Option<&'static str>,
    pub purpose: Option<CaPurpose>,
    /// The CA products of `purpose` use unless the order picks another.
    pub is_default: bool,
    pub validity_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecProfile {
    Root,
    TlsIssuing { ev: bool },
    SmimeIssuing,
    ClientAuthIssuing,
    DocumentSigningIssuing,
}

impl SpecProfile {
    /// The issuing profiles by the names ceremony commands take.
    pub const ISSUING_NAMES: [&'static str; 5] = [
        "tls-ov",
        "tls-ev",
        "smime",
        "client-auth",
        "document-signing",
    ];

    pub fn parse_issuing(name: &str) -> Option<SpecProfile> {
        Some(match name {
            "tls-ov" => SpecProfile::TlsIssuing { ev: false },
            "tls-ev" => SpecProfile::TlsIssuing { ev: true },
            "smime" => SpecProfile::SmimeIssuing,
            "client-auth" => SpecProfile::ClientAuthIssuing,
            "document-signing" => SpecProfile::DocumentSigningIssuing,
            _ => return None,
        })
    }

    pub fn ca_profile(self) -> CaProfile {
        match self {
            SpecProfile::Root => CaProfile::Root,
            SpecProfile::TlsIssuing { ev } => CaProfile::TlsIssuing { ev },
            SpecProfile::SmimeIssuing => CaProfile::SmimeIssuing,
            SpecProfile::ClientAuthIssuing => CaProfile::ClientAuthIssuing,
            SpecProfile::DocumentSigningIssuing => CaProfile::DocumentSigningIssuing,
        }
    }

    /// The products an issuing CA of this profile signs for.
    pub fn purpose(self) -> Option<CaPurpose> {
        match self {
            SpecProfile::Root => None,
            SpecProfile::TlsIssuing { ev: false } => Some(CaPurpose::TlsOv),
            SpecProfile::TlsIssuing { ev: true } => Some(CaPurpose::TlsEv),
            SpecProfile::SmimeIssuing => Some(CaPurpose::Smime),
            SpecProfile::ClientAuthIssuing => Some(CaPurpose::ClientAuth),
            SpecProfile::DocumentSigningIssuing => Some(CaPurpose::DocumentSigning),
        }
    }
}

/// The hierarchy `certwell init` creates. Each product family has its own
/// root: the TLS root only ever certifies serverAuth CAs (root programs
/// require dedicated TLS hierarchies), S/MIME and client authentication
/// live under the S/MIME root. A data directory created by an older version
/// gets the CAs it lacks on the next start.
pub fn default_hierarchy() -> Vec<CaSpec> {
    vec![
        CaSpec {
            handle: "tls-root",
            common_name: "certwell TLS Root CA E1",
            key_algorithm: KeyAlgorithm::EcdsaP384,
            profile: SpecProfile::Root,
            parent: None,
            purpose: None,
            is_default: false,
            validity_days: 25 * 365,
        },
        CaSpec {
            handle: "tls-ov-rsa",
            common_name: "certwell TLS OV RSA3072 CA1",
            key_algorithm: KeyAlgorithm::Rsa3072,
            profile: SpecProfile::TlsIssuing { ev: false },
            parent: Some("tls-root"),
            purpose: Some(CaPurpose::TlsOv),
            is_default: true,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "tls-ov-ecc",
            common_name: "certwell TLS OV ECC P256 CA1",
            key_algorithm: KeyAlgorithm::EcdsaP256,
            profile: SpecProfile::TlsIssuing { ev: false },
            parent: Some("tls-root"),
            purpose: Some(CaPurpose::TlsOv),
            is_default: false,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "tls-ev-rsa",
            common_name: "certwell TLS EV RSA3072 CA1",
            key_algorithm: KeyAlgorithm::Rsa3072,
            profile: SpecProfile::TlsIssuing { ev: true },
            parent: Some("tls-root"),
            purpose: Some(CaPurpose::TlsEv),
            is_default: true,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "smime-root",
            common_name: "certwell S/MIME Root CA E1",
            key_algorithm: KeyAlgorithm::EcdsaP384,
            profile: SpecProfile::Root,
            parent: None,
            purpose: None,
            is_default: false,
            validity_days: 25 * 365,
        },
        CaSpec {
            handle: "smime-rsa",
            common_name: "certwell S/MIME RSA4096 CA1",
            key_algorithm: KeyAlgorithm::Rsa4096,
            profile: SpecProfile::SmimeIssuing,
            parent: Some("smime-root"),
            purpose: Some(CaPurpose::Smime),
            is_default: true,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "smime-ecc",
            common_name: "certwell S/MIME ECC P384 CA1",
            key_algorithm: KeyAlgorithm::EcdsaP384,
            profile: SpecProfile::SmimeIssuing,
            parent: Some("smime-root"),
            purpose: Some(CaPurpose::Smime),
            is_default: false,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "client-auth",
            common_name: "certwell Client Authentication ECC P384 CA1",
            key_algorithm: KeyAlgorithm::EcdsaP384,
            profile: SpecProfile::ClientAuthIssuing,
            parent: Some("smime-root"),
            purpose: Some(CaPurpose::ClientAuth),
            is_default: true,
            validity_days: 10 * 365,
        },
        CaSpec {
            handle: "docsign-root",
            common_name: "certwell Document Signing Root CA E1",
            key_algorithm: KeyAlgorithm::EcdsaP384,
            profile: SpecProfile::Root,
            parent: None,
            purpose: None,
            is_default: false,
            validity_days: 25 * 365,
        },
        CaSpec {
            handle: "docsign-rsa",
            common_name: "certwell Document Signing RSA3072 CA1",
            key_algorithm: KeyAlgorithm::Rsa3072,
            profile: SpecProfile::DocumentSigningIssuing,
            parent: Some("docsign-root"),
            purpose: Some(CaPurpose::DocumentSigning),
            is_default: true,
            validity_days: 10 * 365,
        },
    ]
}

/// A CA id as the vendor shows them: 16 upper-case hex digits (here the
/// first 8 bytes of the SHA-256 of the CA's public key).
pub fn ca_id_for(spki_der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    hex::encode_upper(&d.as_ref()[..8])
}

pub fn ca_cert_url(base: &str, id: &str) -> String {
    format!("{base}/ca/{id}.crt")
}

pub fn ca_crl_url(base: &str, id: &str) -> String {
    format!("{base}/ca/{id}.crl")
}

/// Creates every CA of `specs` that does not exist yet (a CA is known by
/// its name); an existing parent's key is loaded from where it is.
pub async fn create_hierarchy(
    store: &dyn Store,
    keys: &KeyStore,
    config: &Config,
    specs: &[CaSpec],
) -> Result<(), String> {
    let existing = store.list_cas().await.map_err(|e| e.to_string())?;
    let mut made: HashMap<&str, Issuer> = HashMap::new();
    let now = crate::clock::now();
    for spec in specs {
        if let Some(rec) = existing.iter().find(|r| r.name == spec.common_name) {
            let needed_as_parent = specs.iter().any(|s| {
                s.parent == Some(spec.handle) && !existing.iter().any(|r| r.name == s.common_name)
            });
            if needed_as_parent {
                let alg = KeyAlgorithm::parse(&rec.key_algorithm)
                    .ok_or_else(|| format!("CA {}: unknown key algorithm", rec.id))?;
                let signer = keys.load(&rec.id, &rec.key_file, alg)?;
                made.insert(
                    spec.handle,
                    Issuer {
                        id: rec.id.clone(),
                        signer,
                        cert_der: rec.cert_der.clone(),
                    },
                );
            }
            continue;
        }
        let profile = spec.profile.ca_profile();
        // A root signs itself; an issuing CA is signed by its parent.
        let parent = match spec.parent {
            None => None,
            Some(p) => Some(
                made.get(p)
                    .ok_or_else(|| format!("CA {}: parent {p} must come first", spec.handle))?,
            ),
        };
        let (rec, signer) = issue_ca(
            store,
            keys,
            config,
            NewCa {
                key_algorithm: spec.key_algorithm,
                key_target: KeyTarget::Default,
                offline: false,
                country: config.ca_country.clone(),
                organization: config.ca_organization.clone(),
                common_name: spec.common_name.to_string(),
                profile,
                validity_days: spec.validity_days,
                parent,
                purpose: spec.purpose.map(|p| p.as_str().to_string()),
                is_default: spec.is_default,
                now,
            },
        )
        .await?;
        if spec.parent.is_none() {
            // A root's CRL is signed now, while its key is at hand; the
            // serving process serves it as stored.
            crate::service::status::sign_crl(
                store,
                &rec.id,
                &rec.cert_der,
                Arc::clone(&signer),
                crate::service::status::ROOT_CRL_VALIDITY,
                0,
            )
            .await
            .map_err(|e| format!("CA {}: its first CRL: {}", rec.id, e.message))?;
        }
        made.insert(
            spec.handle,
            Issuer {
                id: rec.id,
                signer,
                cert_der: rec.cert_der,
            },
        );
    }
    Ok(())
}

/// Whether the store holds CAs a ceremony made (names not in the
/// zero-configuration hierarchy): then `init` leaves the hierarchy alone.
pub fn has_ceremony_cas(existing: &[CaRecord]) -> bool {
    let default = default_hierarchy();
    existing.iter().any(|c| {
        c.purpose.as_deref() != Some(OCSP_RESPONDER_PURPOSE)
            && !default.iter().any(|s| s.common_name == c.name)
    })
}

/// A CA that signs another CA's certificate.
pub(crate) struct Issuer {
    pub id: String,
    pub signer: Arc<dyn Signer>,
    pub cert_der: Vec<u8>,
}

/// A CA certificate to make: a root (no parent), an issuing CA or a
/// delegated OCSP responder.
pub(crate) struct NewCa<'a> {
    pub key_algorithm: KeyAlgorithm,
    /// Where the key goes; `offline`: recorded as a key the serving
    /// process never loads.
    pub key_target: KeyTarget,
    pub offline: bool,
    /// Subject C, O (the settings' `ca_country`, `ca_organization` unless
    /// a ceremony names others) and CN.
    pub country: String,
    pub organization: String,
    pub common_name: String,
    pub profile: CaProfile,
    pub validity_days: i64,
    pub parent: Option<&'a Issuer>,
    pub purpose: Option<String>,
    pub is_default: bool,
    pub now: OffsetDateTime,
}

/// Generates the key of `new` (in the token or a key file, per the
/// settings), records a serial of its issuer (the CA itself for a root)
/// before signing, builds and signs its certificate (checked against its
/// profile first) and stores the CA with its key's location.
pub(crate) async fn issue_ca(
    store: &dyn Store,
    keys: &KeyStore,
    config: &Config,
    new: NewCa<'_>,
) -> Result<(CaRecord, Arc<dyn Signer>), String> {
    // Key generation takes up to seconds (RSA, a token): off the async
    // workers, so a server making CAs in the background keeps answering.
    let (signer, location) = {
        let (keys, alg, name) = (keys.clone(), new.key_algorithm, new.common_name.clone());
        tokio::task::spawn_blocking(move || keys.generate_at(alg, &name, new.key_target))
            .await
            .map_err(|e| format!("key generation: {e}"))??
    };
    let location = if new.offline {
        KeyLocation::Offline(Box::new(location))
    } else {
        location
    };
    let spki = signer.spki_der();
    let id = ca_id_for(&spki);
    let subject = CaSubject {
        country: new.country,
        organization: new.organization,
        common_name: new.common_name.chars().take(64).collect(),
    };
    let issuer_id = new.parent.map_or(id.as_str(), |p| p.id.as_str());
    let (serial, ()) = RecordedSerial::reserve_one(Serials(store), issuer_id)
        .await
        .map_err(|e| format!("CA {}: recording its serial: {e}", new.common_name))?;
    let base = config.base_url();
    let crl = new.parent.map(|p| ca_crl_url(&base, &p.id));
    let crt = new.parent.map(|p| ca_cert_url(&base, &p.id));
    let not_before = new.now - Duration::minutes(5);
    let req = certwell_ca::CaCertRequest {
        profile: new.profile,
        subject: &subject,
        subject_spki_der: &spki,
        serial,
        not_before,
        not_after: not_before + Duration::days(new.validity_days),
        issuer_crl_url: crl.as_deref(),
        issuer_cert_url: crt.as_deref(),
    };
    let (issuer_cert, issuer_signer) = match new.parent {
        Some(p) => (Some(p.cert_der.as_slice()), p.signer.as_ref()),
        None => (None, signer.as_ref()),
    };
    let cert_der = certwell_ca::build_ca_certificate(req, issuer_cert, issuer_signer)
        .map_err(|e| format!("CA {}: {e}", new.common_name))?;
    let rec = CaRecord {
        id,
        name: subject.common_name,
        parent_id: new.parent.map(|p| p.id.clone()),
        purpose: new.purpose,
        key_algorithm: new.key_algorithm.as_str().to_string(),
        key_file: location.to_string(),
        cert_der,
        is_default: new.is_default,
        created_at: new.now,
    };
    store.insert_ca(&rec).await.map_err(|e| e.to_string())?;
    Ok((rec, signer))
}

/// The `purpose` stored for delegated OCSP responder certificates.
pub const OCSP_RESPONDER_PURPOSE: &str = "ocsp_responder";
/// How long a responder certificate is valid, and when it is replaced.
const RESPONDER_VALIDITY_DAYS: i64 = 90;
const RESPONDER_RENEW_AFTER_DAYS: i64 = 60;

/// Gives every issuing CA a current delegated OCSP responder certificate
/// (ECDSA P-256, EKU OCSPSigning, id-pkix-ocsp-nocheck, 90 days), replacing
/// one older than 60 days. Returns the responders it made (already stored).
pub async fn ensure_ocsp_responders(
    store: &dyn Store,
    keys: &KeyStore,
    config: &Config,
    registry: &CaRegistry,
) -> Result<Vec<Arc<LoadedCa>>, String> {
    let now = crate::clock::now();
    let renew_before = now - Duration::days(RESPONDER_RENEW_AFTER_DAYS);
    let records = store.list_cas().await.map_err(|e| e.to_string())?;
    let mut made = Vec::new();
    for ca in registry.cas().filter(|c| c.purpose.is_some()) {
        let current = records.iter().any(|r| {
            r.purpose.as_deref() == Some(OCSP_RESPONDER_PURPOSE)
                && r.parent_id.as_deref() == Some(ca.id.as_str())
                && r.created_at > renew_before
        });
        if current {
            continue;
        }
        let issuer = Issuer {
            id: ca.id.clone(),
            signer: Arc::clone(ca.signer().map_err(|e| e.to_string())?),
            cert_der: ca.cert_der.clone(),
        };
        let (rec, signer) = issue_ca(
            store,
            keys,
            config,
            NewCa {
                key_algorithm: KeyAlgorithm::EcdsaP256,
                key_target: KeyTarget::Default,
                offline: false,
                country: config.ca_country.clone(),
                organization: config.ca_organization.clone(),
                common_name: format!("{} OCSP Responder", ca.name),
                profile: CaProfile::OcspResponder,
                validity_days: RESPONDER_VALIDITY_DAYS,
                parent: Some(&issuer),
                purpose: Some(OCSP_RESPONDER_PURPOSE.to_string()),
                is_default: false,
                now,
            },
        )
        .await
        .map_err(|e| format!("OCSP responder for {}: {e}", ca.id))?;
        let info = certwell_ca::ca_certificate_info(&rec.cert_der).map_err(|e| e.to_string())?;
        made.push(Arc::new(LoadedCa::from_record(rec, info, Some(signer))));
    }
    Ok(made)
}

/// A CA loaded for use.
pub struct LoadedCa {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub purpose: Option<CaPurpose>,
    /// A delegated OCSP responder (not a CA: it signs only OCSP responses).
    pub is_ocsp_responder: bool,
    pub created_at: OffsetDateTime,
    pub is_default: bool,
    pub cert_der: Vec<u8>,
    /// Where its key is (as stored: see [`crate::keystore::KeyLocation`]).
    pub key_file: String,
    /// The CA's public key (from its certificate) and its type.
    pub spki_der: Vec<u8>,
    pub key_algorithm: KeyAlgorithm,
    /// The key, for issuing CAs and OCSP responders. Roots have none in
    /// the serving process: their CRLs are signed by ceremonies (or, for a
    /// root whose key is in the data directory, by a key loaded for that
    /// one signature) and served as stored.
    pub signer: Option<Arc<dyn Signer>>,
}

impl LoadedCa {
    /// The key of an issuing CA or OCSP responder.
    pub fn signer(&self) -> Result<&Arc<dyn Signer>, certwell_ca::CaError> {
        self.signer.as_ref().ok_or_else(|| {
            certwell_ca::CaError::Key(format!(
                "CA {}: its key is not loaded by the server (a root)",
                self.id
            ))
        })
    }

    fn from_record(
        rec: CaRecord,
        info: certwell_ca::CaCertInfo,
        signer: Option<Arc<dyn Signer>>,
    ) -> LoadedCa {
        LoadedCa {
            spki_der: info.spki_der,
            key_algorithm: info.key_algorithm,
            id: rec.id,
            name: rec.name,
            parent_id: rec.parent_id,
            purpose: rec.purpose.as_deref().and_then(CaPurpose::parse),
            is_ocsp_responder: rec.purpose.as_deref() == Some(OCSP_RESPONDER_PURPOSE),
            created_at: rec.created_at,
            is_default: rec.is_default,
            cert_der: rec.cert_der,
            key_file: rec.key_file,
            signer,
        }
    }
}

pub struct CaRegistry {
    cas: Vec<Arc<LoadedCa>>,
}

impl CaRegistry {
    pub async fn load(store: &dyn Store, keys: &KeyStore) -> Result<CaRegistry, String> {
        let mut cas = Vec::new();
        for rec in store.list_cas().await.map_err(|e| e.to_string())? {
            let alg = KeyAlgorithm::parse(&rec.key_algorithm).ok_or_else(|| {
                format!("CA {}: unknown key algorithm {}", rec.id, rec.key_algorithm)
            })?;
            let info = certwell_ca::ca_certificate_info(&rec.cert_der)
                .map_err(|e| format!("CA {}: its certificate: {e}", rec.id))?;
            if info.key_algorithm != alg {
                return Err(format!(
                    "CA {}: its certificate holds a {} key, its record says {alg}",
                    rec.id, info.key_algorithm
                ));
            }
            // Only issuing CAs and OCSP responders sign while serving.
            let signer = if rec.purpose.is_some() {
                Some(keys.load(&rec.id, &rec.key_file, alg)?)
            } else {
                None
            };
            cas.push(Arc::new(LoadedCa::from_record(rec, info, signer)));
        }
        Ok(CaRegistry { cas })
    }

    /// Adds CAs just made (and stored), such as new OCSP responders,
    /// without loading every key again.
    pub fn add(&mut self, made: Vec<Arc<LoadedCa>>) {
        self.cas.extend(made);
    }

    /// Every CA certificate certwell holds: roots, issuing CAs and OCSP
    /// responders.
    pub fn all(&self) -> &[Arc<LoadedCa>] {
        &self.cas
    }

    /// Roots and issuing CAs (the CAs that publish CRLs).
    pub fn cas(&self) -> impl Iterator<Item = &Arc<LoadedCa>> {
        self.cas.iter().filter(|c| !c.is_ocsp_responder)
    }

    /// The newest OCSP responder of issuing CA `ca_id`.
    pub fn ocsp_responder(&self, ca_id: &str) -> Option<&Arc<LoadedCa>> {
        self.cas
            .iter()
            .filter(|c| c.is_ocsp_responder && c.parent_id.as_deref() == Some(ca_id))
            .max_by(|a, b| a.created_at.cmp(&b.created_at))
    }

    pub fn get(&self, id: &str) -> Option<&Arc<LoadedCa>> {
        self.cas.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    /// Issuing CAs that may sign for `purpose`, default first.
    pub fn issuing_for(&self, purpose: CaPurpose) -> Vec<&Arc<LoadedCa>> {
        let mut v: Vec<_> = self
            .cas
            .iter()
            .filter(|c| c.purpose == Some(purpose))
            .collect();
        // Defaults first, the newest default first: a CA added as the new
        // default (a rollover) takes over new orders from the old one,
        // which keeps serving its certificates' CRLs and OCSP.
        v.sort_by_key(|c| (!c.is_default, std::cmp::Reverse(c.created_at)));
        v
    }

    /// The CA's certificate followed by its ancestors' (ICA … root).
    pub fn chain(&self, id: &str) -> Vec<Arc<LoadedCa>> {
        let mut out = Vec::new();
        let mut cur = self.get(id).cloned();
        while let Some(ca) = cur {
            cur = ca.parent_id.as_deref().and_then(|p| self.get(p)).cloned();
            out.push(ca);
            if out.len() > 8 {
                break;
            }
        }
        out
    }

    /// "ICA (SHA2-256) > Root (SHA2-256)"
    pub fn chain_info(&self, id: &str) -> String {
        self.chain(id)
            .iter()
            .map(|c| format!("{} (SHA2-256)", c.name))
            .collect::<Vec<_>>()
            .join(" > ")
    }
}
