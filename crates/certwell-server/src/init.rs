//! `certwell init`: the data directory, the database, the CA hierarchy,
//! the first account and its admin key.

use certwell_policy::approval::{KeyRestriction, Role};
use certwell_store::{AccountSettings, NewApiKey, NewUser, Store};

use crate::config::{Config, DataDir};
use crate::error::Error;
use crate::extract::hash_api_key;
use crate::keyfile;
use crate::keystore::KeyStore;
use crate::service::hierarchy::{create_hierarchy, default_hierarchy, has_ceremony_cas};

/// Stores the hash of a new key and returns the key (shown once).
pub async fn new_api_key(
    store: &dyn Store,
    account_id: Option<i64>,
    user_id: Option<i64>,
    role: Role,
    name: &str,
) -> Result<NewKey, Error> {
    new_api_key_with(store, account_id, user_id, role, name, KeyLimits::default()).await
}

/// What a key may do beyond its user's role, and until when.
#[derive(Debug, Clone, Copy)]
pub struct KeyLimits {
    pub restriction: KeyRestriction,
    pub expires_at: Option<time::OffsetDateTime>,
}

impl Default for KeyLimits {
    fn default() -> Self {
        KeyLimits {
            restriction: KeyRestriction::None,
            expires_at: None,
        }
    }
}

/// [`new_api_key`] with a key role restriction and an expiry.
pub async fn new_api_key_with(
    store: &dyn Store,
    account_id: Option<i64>,
    user_id: Option<i64>,
    role: Role,
    name: &str,
    limits: KeyLimits,
) -> Result<NewKey, Error> {
    let key = crate::token::generate_api_key()?;
    let id = store
        .create_api_key(&NewApiKey {
            key_hash: hash_api_key(&key),
            account_id,
            user_id,
            role: role.as_str().to_string(),
            name: name.to_string(),
            restricted_role: limits.restriction.id(),
            expires_at: limits.expires_at,
        })
        .await?;
    Ok(NewKey { secret: key, id })
}

/// A key just made: the secret (shown once; only its hash is stored) and
/// the key's id (what revokes it).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub secret: String,
    pub id: i64,
}

/// Creates a user of `role` in the account and a key for it.
/// `container_id` (checked by the caller) defaults to the root container.
pub async fn create_user_key(
    store: &dyn Store,
    account_id: i64,
    role: Role,
    container_id: Option<i64>,
) -> Result<(NewKey, i64), Error> {
    let user = NewUser {
        container_id,
        role: role.as_str().to_string(),
        first_name: "API".into(),
        last_name: format!("{} user", role.as_str()),
        email: format!("{}@certwell.invalid", role.as_str()),
        job_title: String::new(),
        telephone: String::new(),
        is_api_only: false,
    };
    let (key, user) =
        create_user_with_key(store, account_id, role, &user, KeyLimits::default()).await?;
    Ok((key, user.id))
}

/// Creates `user` with `role` and the key it acts with.
pub async fn create_user_with_key(
    store: &dyn Store,
    account_id: i64,
    role: Role,
    user: &NewUser,
    limits: KeyLimits,
) -> Result<(NewKey, certwell_store::User), Error> {
    let user = store.create_user(account_id, user).await?;
    let key = new_api_key_with(
        store,
        Some(account_id),
        Some(user.id),
        role,
        role.as_str(),
        limits,
    )
    .await?;
    Ok((key, user))
}

pub struct InitOutcome {
    /// The admin key, when this call created it.
    pub admin_api_key: Option<String>,
    /// Only the CAs the first TLS order needs were made; the rest of the
    /// hierarchy is to be made in the background ([`complete_hierarchy`]).
    pub hierarchy_deferred: bool,
}

/// Makes the missing CAs of `specs` under the `hierarchy` lease, so that
/// instances starting together on one fresh database make each CA once.
pub async fn create_hierarchy_once(
    store: &dyn Store,
    keys: &KeyStore,
    config: &Config,
    specs: &[crate::service::hierarchy::CaSpec],
) -> Result<(), String> {
    let holder = crate::token::random_hex(8).map_err(|e| e.message)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !store
        .try_lease("hierarchy", &holder, time::Duration::minutes(2))
        .await
        .map_err(|e| e.to_string())?
    {
        if std::time::Instant::now() > deadline {
            return Err("another instance has been making the CA hierarchy for two minutes".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let made = create_hierarchy(store, keys, config, specs).await;
    if let Err(e) = store.release_lease("hierarchy", &holder).await {
        tracing::warn!(error = %e, "hierarchy lease not released (it expires)");
    }
    made
}

/// Makes the rest of a fresh sandbox's hierarchy while the server already
/// serves TLS orders, then loads it (with OCSP responders for the new
/// issuing CAs); orders for products of those CAs wait for it.
pub async fn complete_hierarchy(state: std::sync::Arc<crate::AppState>) {
    let made = async {
        create_hierarchy_once(
            state.store.as_ref(),
            &state.keys,
            &state.config,
            &default_hierarchy(),
        )
        .await?;
        let mut cas =
            crate::service::hierarchy::CaRegistry::load(state.store.as_ref(), &state.keys).await?;
        let responders = crate::service::hierarchy::ensure_ocsp_responders(
            state.store.as_ref(),
            &state.keys,
            &state.config,
            &cas,
        )
        .await?;
        cas.add(responders);
        state.set_cas(cas)
    }
    .await;
    match made {
        Ok(()) => tracing::info!("CA hierarchy complete"),
        Err(e) => {
            tracing::error!(error = %e, "the rest of the CA hierarchy could not be made; it is made at the next start")
        }
    }
    state
        .hierarchy_pending
        .store(false, std::sync::atomic::Ordering::SeqCst);
    state.hierarchy_ready.notify_waiters();
}

/// Initializes `dir` if needed. Idempotent: a second call changes nothing.
///
/// With `defer_hierarchy`, a fresh sandbox gets only the CAs of its first
/// TLS orders now (the TLS root and OV issuing CAs: one RSA key instead of
/// five, so the first order is answered within a second); the caller makes
/// the rest in the background.
pub async fn initialize(
    store: &dyn Store,
    dir: &DataDir,
    keys: &KeyStore,
    config: &Config,
    defer_hierarchy: bool,
) -> Result<InitOutcome, String> {
    keyfile::create_private_dir(&dir.root)?;
    if !dir.config_file().exists() {
        let mut c = config.clone();
        if c.public_url.is_empty() {
            c.public_url = config.base_url();
        }
        // No secret goes into the file: an SMTP password given through
        // CERTWELL_SMTP_PASSWORD stays in the environment.
        c.smtp.password.clear();
        let text = toml::to_string_pretty(&c).map_err(|e| e.to_string())?;
        keyfile::write_secret(
            &dir.config_file(),
            format!("# certwell settings (CERTWELL_* variables and flags override them)\n{text}")
                .as_bytes(),
        )?;
    }
    // The zero-configuration hierarchy, completed on every start (a data
    // directory from an older version gets the CAs it lacks) — unless the
    // hierarchy comes from `certwell ca` ceremonies.
    let existing = store.list_cas().await.map_err(|e| e.to_string())?;
    let hierarchy_deferred = defer_hierarchy && config.sandbox && existing.is_empty();
    if !has_ceremony_cas(&existing) {
        let all = default_hierarchy();
        let now: Vec<_> = if hierarchy_deferred {
            all.into_iter()
                .filter(|s| matches!(s.handle, "tls-root" | "tls-ov-rsa" | "tls-ov-ecc"))
                .collect()
        } else {
            all
        };
        create_hierarchy_once(store, keys, config, &now).await?;
    }
    if !store
        .list_accounts()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(InitOutcome {
            admin_api_key: None,
            hierarchy_deferred,
        });
    }
    let admin = NewUser {
        container_id: None,
        role: "admin".into(),
        first_name: "certwell".into(),
        last_name: "Administrator".into(),
        email: "admin@certwell.invalid".into(),
        job_title: "Administrator".into(),
        telephone: String::new(),
        is_api_only: false,
    };
    let (account, user) = store
        .create_account("Default", &AccountSettings::default(), &admin)
        .await
        .map_err(|e| e.to_string())?;
    let key = new_api_key(store, Some(account.id), Some(user.id), Role::Admin, "admin")
        .await
        .map_err(|e| e.message)?
        .secret;
    let path = dir.admin_key_file();
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    keyfile::write_secret(&path, format!("{key}\n").as_bytes())?;
    Ok(InitOutcome {
        hierarchy_deferred,
        admin_api_key: Some(key),
    })
}
