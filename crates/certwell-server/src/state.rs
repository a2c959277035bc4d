//! Shared server state.

use std::collections::HashMap;
use std::sync::Arc;

use certwell_store::Store;
use tokio::sync::{Mutex, Notify};

use crate::config::{Config, DataDir};
use crate::ratelimit::RateLimiter;
use crate::service::hierarchy::{CaRegistry, LoadedCa};

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// DNS, HTTP and CAA checks through the configured resolver.
    pub validator: crate::service::dcv::Validator,
    pub mailer: crate::mail::Mailer,
    /// Wakes the DCV poller (a domain got a new token or method).
    pub wake_dcv: Notify,
    /// Wakes the mailer (validation email was queued).
    pub wake_mail: Notify,
    /// Serials recorded in the database (attached to no certificate yet)
    /// per CA id, handed out once each: a certificate signed with one is
    /// stored with its order in a single transaction.
    pub serial_pool: std::sync::Mutex<HashMap<String, Vec<certwell_ca::RecordedSerial>>>,
    /// Certificates held back by CAA (see [`CaaHolds`]).
    ///
    /// [`CaaHolds`]: crate::service::issuance::CaaHolds
    pub caa_holds: crate::service::issuance::CaaHolds,
    /// The CAs loaded for use (see [`AppState::cas`]); replaced whole when
    /// CAs are added while serving (the rest of a fresh sandbox's
    /// hierarchy, made in the background).
    pub hierarchy: std::sync::RwLock<Arc<CaRegistry>>,
    /// True while CAs of a fresh data directory are still being made in
    /// the background; [`AppState::hierarchy_ready`] is notified once
    /// they are loaded.
    pub hierarchy_pending: std::sync::atomic::AtomicBool,
    pub hierarchy_ready: Notify,
    pub config: Arc<Config>,
    /// Which background jobs are running (readiness).
    pub jobs: Arc<crate::service::health::JobHealth>,
    /// This process among the instances sharing the store (holder name of
    /// its leases).
    pub instance_id: String,
    /// DER CRL per CA id and when it was made (this instance's copy of the
    /// stored one).
    /// One slot per CA, each with its own lock: making one CA's CRL (or
    /// waiting for another instance to) holds up no other CA's.
    pub crl_cache: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<CachedCrl>>>>>,
    /// Revoked certificates already acted on (answers re-signed, CRL
    /// dropped), by id, with their revocation time: each revocation is
    /// acted on once, whether this instance made it or followed it.
    pub revocations_seen: std::sync::Mutex<HashMap<i64, time::OffsetDateTime>>,
    /// Wakes the issuance sweeper (an order may have become issuable).
    pub wake_issuer: Notify,
    /// Wakes the revocation publisher (a certificate was revoked).
    pub revocations: Notify,
    /// Bumped by every revocation: a response looked up before it is not cached.
    pub ocsp_epoch: std::sync::atomic::AtomicU64,
    /// Signed OCSP responses by request CertID.
    pub ocsp_cache: std::sync::RwLock<HashMap<Vec<u8>, CachedOcsp>>,
    /// (hash algorithm, issuer name hash, issuer key hash) → issuing CA id.
    pub ocsp_issuers: std::sync::RwLock<Arc<OcspIssuerIndex>>,
    /// The current delegated OCSP responder of each issuing CA (by CA id);
    /// replaced by the publisher when it is renewed.
    pub ocsp_responders: std::sync::RwLock<HashMap<String, Arc<LoadedCa>>>,
    /// Where CA keys are made and loaded (key files, a PKCS#11 token).
    pub keys: crate::keystore::KeyStore,
    /// The data directory.
    pub dir: DataDir,
    pub rate_limiter: RateLimiter,
    /// Valid API keys by hash, with their user, for a short time (saves two
    /// queries per request). Only valid keys are cached, and only while the
    /// store's key epoch ([`certwell_store::Aggregate::Keys`]) stays where
    /// it was when they were read: a key or user changed through this
    /// instance is read again at once.
    pub key_cache: std::sync::Mutex<HashMap<String, CachedKey>>,
    /// When this instance last recorded each key's use (at most once a
    /// minute per key: `last_used_at` has a minute's grain).
    pub key_use: std::sync::Mutex<HashMap<i64, std::time::Instant>>,
    /// This server's Prometheus metrics (`GET /metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Custom order fields per account, for a short time (one query less
    /// per order), while the store's metadata epoch stays where it was
    /// when they were read (changes through this server show at once).
    pub metadata_cache: std::sync::Mutex<HashMap<i64, CachedMetadata>>,
}

/// Custom-field definitions of an account, when they were read and the
/// store's metadata epoch before that.
pub type CachedMetadata = (
    std::time::Instant,
    u64,
    Arc<Vec<certwell_store::MetadataField>>,
);

/// How long cached custom-field definitions are used (another instance's
/// change shows after this).
pub const METADATA_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    /// The account's custom order fields (cached).
    pub async fn metadata_for(
        &self,
        account_id: i64,
    ) -> Result<Arc<Vec<certwell_store::MetadataField>>, certwell_store::StoreError> {
        let epoch = self
            .store
            .changes()
            .epoch(certwell_store::Aggregate::Metadata);
        if let Ok(c) = self.metadata_cache.lock() {
            if let Some((at, e, defs)) = c.get(&account_id) {
                if *e == epoch && at.elapsed() < METADATA_CACHE_TTL {
                    return Ok(defs.clone());
                }
            }
        }
        let defs = Arc::new(self.store.list_metadata(account_id).await?);
        if let Ok(mut c) = self.metadata_cache.lock() {
            c.insert(account_id, (std::time::Instant::now(), epoch, defs.clone()));
        }
        Ok(defs)
    }

    /// Drops cached keys of the account's users (their details changed).
    pub fn invalidate_user_cache(&self, account_id: i64) {
        let mut cache = self.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, c| c.key.account_id != Some(account_id));
    }

    pub fn invalidate_metadata(&self, account_id: i64) {
        if let Ok(mut c) = self.metadata_cache.lock() {
            c.remove(&account_id);
        }
    }
}

#[derive(Clone)]
pub struct CachedKey {
    pub key: certwell_store::ApiKey,
    pub user: Option<certwell_store::User>,
    /// The user sits in the account's root container (sees everything).
    pub at_root: bool,
    pub at: std::time::Instant,
    /// The store's key epoch before the key was read.
    pub epoch: u64,
}

/// How long a cached key is trusted (changes the store's change feed does
/// not report: another process or instance).
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

pub type SharedState = Arc<AppState>;

/// (hash algorithm, issuer name hash, issuer key hash) → issuing CA id.
pub type OcspIssuerIndex = HashMap<(certwell_ca::OcspHash, Vec<u8>, Vec<u8>), String>;

/// A signed OCSP response for one CertID.
pub struct CachedOcsp {
    pub ca_id: String,
    pub serial: Vec<u8>,
    /// The status it answers (a revocation re-signs "good" answers).
    pub status: certwell_ca::OcspCertStatus,
    pub der: Arc<Vec<u8>>,
    /// Re-sign after this.
    pub refresh_at: time::OffsetDateTime,
}

/// A signed CRL (DER) and when it was made.
pub type CachedCrl = (Arc<Vec<u8>>, time::OffsetDateTime);

impl AppState {
    /// The CAs loaded now.
    pub fn cas(&self) -> Arc<CaRegistry> {
        self.hierarchy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The CRL slot of CA `ca_id` (this instance's copy of its CRL).
    pub fn crl_slot(&self, ca_id: &str) -> Arc<Mutex<Option<CachedCrl>>> {
        self.crl_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(ca_id.to_string())
            .or_default()
            .clone()
    }

    /// The OCSP issuer index of the CAs loaded now.
    pub fn ocsp_issuers(&self) -> Arc<OcspIssuerIndex> {
        self.ocsp_issuers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the loaded CAs (and the OCSP indexes made from them).
    pub fn set_cas(&self, cas: CaRegistry) -> Result<(), String> {
        let issuers = crate::service::status::issuer_index(&cas)?;
        let responders = crate::service::status::responder_index(&cas);
        *self.ocsp_issuers.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(issuers);
        *self
            .ocsp_responders
            .write()
            .unwrap_or_else(|p| p.into_inner()) = responders;
        *self.hierarchy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cas);
        Ok(())
    }
}
