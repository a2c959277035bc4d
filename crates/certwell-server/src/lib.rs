//! certwell's HTTP server: axum routes over the policy, CA and store crates.

pub mod backup;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod init;
pub mod keyfile;
pub mod keystore;
pub mod mail;
pub mod metrics;
pub mod pem;
pub mod ratelimit;
pub mod routes;
pub mod serve;
pub mod service;
pub mod state;
pub mod token;
pub mod views;
pub mod zip;

use std::net::SocketAddr;
use std::sync::Arc;

use certwell_store::StoreConfig;
use tokio::sync::watch;

pub use config::{Config, DataDir};
pub use state::AppState;

/// Opens the configured store (the SQLite file of `dir`, or the
/// PostgreSQL database of `database_url`), creating `dir` if needed.
pub async fn open_store(
    dir: &DataDir,
    config: &Config,
) -> Result<Arc<dyn certwell_store::Store>, String> {
    keyfile::create_private_dir(&dir.root)?;
    let store = match &config.database_url {
        Some(url) => {
            let cfg = StoreConfig::from_url(&url.0, config.durability)
                .map_err(|e| format!("database_url: {e}"))?;
            if url.has_password() {
                tracing::warn!(
                    "database_url carries a password; PGPASSWORD or ~/.pgpass keep it out of settings and process lists"
                );
            }
            certwell_store::open_store(&cfg)
                .await
                .map_err(|e| format!("database_url: {e}"))?
        }
        None => {
            let store =
                certwell_store::open_store(&StoreConfig::sqlite(dir.database(), config.durability))
                    .await
                    .map_err(|e| format!("{}: {e}", dir.database().display()))?;
            restrict_permissions(&dir.database());
            store
        }
    };
    Ok(store)
}

/// Opens (initializing on first use) the data directory and loads the CAs.
/// Returns the state and, on first initialization, the admin API key.
pub async fn open(
    dir: &DataDir,
    config: Config,
) -> Result<(Arc<AppState>, Option<String>), String> {
    open_with(dir, config, false).await
}

/// [`open`] for `serve` (`serving`): a fresh sandbox answers its first TLS
/// order at once while the rest of its CA hierarchy is made in the
/// background (see [`init::initialize`]); and the server of an embedded
/// database, its one process, drops the leases a process that died left
/// (a CRL lease would otherwise hold that CA's CRL for minutes). Other
/// commands on the same directory leave the leases of a running server be.
pub async fn open_with(
    dir: &DataDir,
    config: Config,
    serving: bool,
) -> Result<(Arc<AppState>, Option<String>), String> {
    config.validate()?;
    let store = open_store(dir, &config).await?;
    check_mode(store.as_ref(), &config).await?;
    if serving && config.database_url.is_none() {
        store
            .release_all_leases()
            .await
            .map_err(|e| e.to_string())?;
    }
    let keys = keystore::KeyStore::open(dir, &config)?;
    let outcome = init::initialize(store.as_ref(), dir, &keys, &config, serving).await?;
    // An embedded database has one process: every claim found at start-up
    // was left by a crash. A shared one has other live instances, whose
    // claims stay theirs until they are older than the claim lease.
    let claimed_before = match &config.database_url {
        None => clock::now() + time::Duration::seconds(1),
        Some(_) => clock::now() - service::issuance::CLAIM_LEASE,
    };
    let reset = store
        .reset_stale_claims(claimed_before)
        .await
        .map_err(|e| e.to_string())?;
    if reset > 0 {
        tracing::warn!(
            count = reset,
            "certificates left mid-issuance by a crash were returned to pending"
        );
    }
    warn_if_internal_url(&config);
    let mut cas = service::hierarchy::CaRegistry::load(store.as_ref(), &keys).await?;
    let responders =
        service::hierarchy::ensure_ocsp_responders(store.as_ref(), &keys, &config, &cas).await?;
    cas.add(responders);
    let rate_limiter =
        ratelimit::RateLimiter::new(config.rate_limit_per_5s, config.rate_limit_per_3min);
    let ocsp_issuers = service::status::issuer_index(&cas)?;
    let ocsp_responders = service::status::responder_index(&cas);
    let validator = service::dcv::Validator::new(&config)?;
    let mailer = mail::Mailer::new(&config.smtp)?;
    let state = Arc::new(AppState {
        validator,
        mailer,
        wake_dcv: Default::default(),
        wake_mail: Default::default(),
        caa_holds: Default::default(),
        serial_pool: Default::default(),
        store,
        hierarchy: std::sync::RwLock::new(Arc::new(cas)),
        hierarchy_pending: Default::default(),
        hierarchy_ready: Default::default(),
        config: Arc::new(config),
        instance_id: format!(
            "{}-{}",
            std::process::id(),
            token::random_hex(6).map_err(|e| e.message)?
        ),
        crl_cache: Default::default(),
        jobs: Default::default(),
        revocations_seen: Default::default(),
        wake_issuer: Default::default(),
        revocations: Default::default(),
        ocsp_cache: Default::default(),
        ocsp_epoch: Default::default(),
        ocsp_issuers: std::sync::RwLock::new(Arc::new(ocsp_issuers)),
        ocsp_responders: std::sync::RwLock::new(ocsp_responders),
        dir: dir.clone(),
        keys,
        rate_limiter,
        key_cache: Default::default(),
        key_use: Default::default(),
        metadata_cache: Default::default(),
        metrics: Default::default(),
    });
    if outcome.hierarchy_deferred {
        state
            .hierarchy_pending
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(init::complete_hierarchy(Arc::clone(&state)));
    }
    Ok((state, outcome.admin_api_key))
}

/// A data directory (or shared database) serves in the mode it was first
/// opened in: a sandbox validates everything at creation, so its data must
/// never meet production's, in either direction.
async fn check_mode(store: &dyn certwell_store::Store, config: &Config) -> Result<(), String> {
    let mode = if config.sandbox {
        "sandbox"
    } else {
        "production"
    };
    let recorded = store
        .meta_once("mode", mode)
        .await
        .map_err(|e| format!("the data directory's mode could not be read: {e}"))?;
    if recorded == mode {
        return Ok(());
    }
    Err(if config.sandbox {
        "sandbox: this data directory was initialized for production; a sandbox would validate organizations and domains at creation over its real data. Use a new data directory for a sandbox (certwell --data-dir ./sandbox serve --sandbox)".to_string()
    } else {
        "sandbox: this data directory was initialized as a sandbox (everything in it was validated at creation without checks); it cannot serve production. Initialize a new data directory (certwell --data-dir DIR init), or serve this one with --sandbox".to_string()
    })
}

/// The database holds customer data and key hashes: owner-only access.
fn restrict_permissions(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [
            path.to_path_buf(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            if p.exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

/// CRL and AIA URLs with an IP address or an internal name make every
/// certificate fail the BR lints (pkilint `cabf.internal_domain_name`).
fn warn_if_internal_url(config: &Config) {
    if certwell_policy::dns::parse_dns_name(&config.public_host(), "public_url").is_err() {
        tracing::warn!(
            public_url = config.base_url(),
            "public_url does not use a public DNS name; issued certificates will carry internal CRL/AIA URLs \
             and fail CA/B Forum lints. Set public_url (CERTWELL_PUBLIC_URL) to a public name for lint-clean certificates."
        );
    }
}

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    http: tokio::task::JoinHandle<()>,
    /// The background jobs (sweeper, publisher, DCV poller, mailer,
    /// revocation follower).
    jobs: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Graceful stop: no new connections, in-flight requests finish, the
    /// background sweeper stops, then the database is closed.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.http.await;
        for job in self.jobs {
            let _ = job.await;
        }
        self.state.store.close().await;
    }

    /// Waits until the server stops (it only stops via `shutdown`).
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

pub type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs background job `name` until shutdown: a run that panics is
/// logged, counted (`job_failures`) and started again after a pause
/// (`job_restarts`, doubling from 1 s to a minute). The job counts as
/// running for readiness while a run of it is alive.
pub fn supervise(
    state: Arc<AppState>,
    shutdown: watch::Receiver<bool>,
    name: &'static str,
    make: fn(Arc<AppState>, watch::Receiver<bool>) -> BoxFuture,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            let running = state.jobs.running(name);
            let run = tokio::spawn(make(state.clone(), shutdown.clone()));
            let outcome = run.await;
            drop(running);
            if *shutdown.borrow() {
                return;
            }
            match outcome {
                Err(e) if e.is_panic() => {
                    tracing::error!(job = name, "background job panicked; restarting it");
                    let labels = metrics::JobLabels { job: name.into() };
                    state.metrics.job_failures.get_or_create(&labels).inc();
                    let mut stop = shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|v| *v) => return,
                    }
                    pause = (pause * 2).min(std::time::Duration::from_secs(60));
                    state.metrics.job_restarts.get_or_create(&labels).inc();
                }
                // Ended without shutdown (it should not): stays stopped,
                // which readiness reports.
                _ => {
                    tracing::error!(job = name, "background job ended");
                    return;
                }
            }
        }
    })
}

/// Binds `state.config.listen` and serves until `shutdown` is called.
pub async fn start(state: Arc<AppState>) -> Result<RunningServer, String> {
    let listener = tokio::net::TcpListener::bind(&state.config.listen)
        .await
        .map_err(|e| format!("listen {}: {e}", state.config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, rx) = watch::channel(false);
    let app = routes::router(state.clone());
    let tls = match (&state.config.tls_cert_file, &state.config.tls_key_file) {
        (Some(cert), Some(key)) => Some(serve::tls_acceptor(cert, key)?),
        _ => None,
    };
    if !addr.ip().is_loopback() && tls.is_none() {
        tracing::warn!(%addr, "serving plain HTTP on a non-loopback address (--insecure-http): put a TLS-terminating proxy in front");
    }
    let http = tokio::spawn(serve::serve(
        listener,
        app,
        tls,
        serve::Limits::of(&state.config),
        rx.clone(),
    ));
    let mut jobs = Vec::new();
    if !state.config.metrics_listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&state.config.metrics_listen)
            .await
            .map_err(|e| format!("metrics_listen {}: {e}", state.config.metrics_listen))?;
        jobs.push(tokio::spawn(serve::serve(
            listener,
            routes::metrics_router(state.clone()),
            None,
            serve::Limits::of(&state.config),
            rx.clone(),
        )));
    }
    type Job = fn(Arc<AppState>, watch::Receiver<bool>) -> BoxFuture;
    let table: [(&'static str, Job); 5] = [
        ("publisher", |s, rx| {
            Box::pin(service::status::run_publisher(s, rx))
        }),
        ("revocation_follower", |s, rx| {
            Box::pin(service::status::follow_revocations(s, rx))
        }),
        ("dcv_poller", |s, rx| {
            Box::pin(service::validation::run_poller(s, rx))
        }),
        ("mailer", |s, rx| {
            Box::pin(service::outbox::run_mailer(s, rx))
        }),
        ("sweeper", |s, rx| {
            Box::pin(service::issuance::run_sweeper(s, rx))
        }),
    ];
    for (name, make) in table {
        jobs.push(supervise(state.clone(), rx.clone(), name, make));
    }
    Ok(RunningServer {
        addr,
        state,
        shutdown: tx,
        http,
        jobs,
    })
}
