//! `certwell init`: the data directory, the database, the CA hierarchy,
//! the first account and its admin key.

use certwell_policy::approval::Role;
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
    let key = crate::token::generate_api_key()?;
    let id = store
        .create_api_key(&NewApiKey {
            key_hash: hash_api_key(&key),
            account_id,
            user_id,
            role: role.as_str().to_string(),
            name: name.to_string(),
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
    };
    let (key, user) = create_user_with_key(store, account_id, role, &user).await?;
    Ok((key, user.id))
}

/// Creates `user` with `role` and the key it acts with.
pub async fn create_user_with_key(
    store: &dyn Store,
    account_id: i64,
    role: Role,
    user: &NewUser,
) -> Result<(NewKey, certwell_store::User), Error> {
    let user = store.create_user(account_id, user).await?;
    let key = new_api_key(store, Some(account_id), Some(user.id), role, role.as_str()).await?;
    Ok((key, user))
}

pub struct InitOutcome {
    /// The admin key, when this call created it.
    pub admin_api_key: Option<String>,
}

/// Initializes `dir` if needed. Idempotent: a second call changes nothing.
pub async fn initialize(
    store: &dyn Store,
    dir: &DataDir,
    keys: &KeyStore,
    config: &Config,
) -> Result<InitOutcome, String> {
    keyfile::create_private_dir(&dir.root)?;
    if !dir.config_file().exists() {
        let mut c = config.clone();
        if c.public_url.is_empty() {
            c.public_url = config.base_url();
        }
        let text = toml::to_string_pretty(&c).map_err(|e| e.to_string())?;
        std::fs::write(
            dir.config_file(),
            format!("# certwell settings (CERTWELL_* variables and flags override them)\n{text}"),
        )
        .map_err(|e| format!("{}: {e}", dir.config_file().display()))?;
    }
    // The zero-configuration hierarchy, completed on every start (a data
    // directory from an older version gets the CAs it lacks) — unless the
    // hierarchy comes from `certwell ca` ceremonies.
    let existing = store.list_cas().await.map_err(|e| e.to_string())?;
    if !has_ceremony_cas(&existing) {
        create_hierarchy(store, keys, config, &default_hierarchy()).await?;
    }
    if !store
        .list_accounts()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(InitOutcome {
            admin_api_key: None,
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
        admin_api_key: Some(key),
    })
}
