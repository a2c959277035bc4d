//! Shared server state.

use std::collections::HashMap;
use std::sync::Arc;

use certwell_store::Store;
use tokio::sync::{Mutex, Notify};

use crate::config::Config;
use crate::hierarchy::CaRegistry;
use crate::ratelimit::RateLimiter;

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cas: Arc<CaRegistry>,
    pub config: Arc<Config>,
    /// DER CRL per CA id and when it was made.
    pub crl_cache: Mutex<HashMap<String, CachedCrl>>,
    /// Wakes the issuance sweeper (an order may have become issuable).
    pub wake_issuer: Notify,
    /// Wakes the revocation publisher (a certificate was revoked).
    pub revocations: Notify,
    pub rate_limiter: RateLimiter,
    /// Valid API keys by hash, with their user, for a short time (saves two
    /// queries per request). Only valid keys are cached.
    pub key_cache: std::sync::Mutex<HashMap<String, CachedKey>>,
}

#[derive(Clone)]
pub struct CachedKey {
    pub key: certwell_store::ApiKey,
    pub user: Option<certwell_store::User>,
    pub at: std::time::Instant,
}

/// How long a cached key is trusted.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

pub type SharedState = Arc<AppState>;

/// A signed CRL (DER) and when it was made.
pub type CachedCrl = (Arc<Vec<u8>>, time::OffsetDateTime);
