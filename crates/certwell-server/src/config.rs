//! Settings: a TOML file in the data directory, overridden by `CERTWELL_*`
//! environment variables, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use certwell_store::Durability;
use serde::{Deserialize, Serialize};

/// A database URL. Its debug form hides a password, should one be in it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    /// Whether the URL names a password (`scheme://user:password@…`).
    pub fn has_password(&self) -> bool {
        self.password_span().is_some()
    }

    /// Where the password is in the URL.
    fn password_span(&self) -> Option<std::ops::Range<usize>> {
        let start = self.0.find("://").map_or(0, |i| i + 3);
        let authority_len = self.0[start..]
            .find(['/', '?'])
            .unwrap_or(self.0.len() - start);
        let authority = &self.0[start..start + authority_len];
        let (userinfo, _) = authority.rsplit_once('@')?;
        let colon = userinfo.find(':')?;
        Some(start + colon + 1..start + userinfo.len())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.password_span() {
            Some(r) => write!(f, "\"{}***{}\"", &self.0[..r.start], &self.0[r.end..]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where `GET /metrics` is served: empty for the API listener, or its
    /// own address (e.g. `127.0.0.1:9090`), then not on the API listener.
    pub metrics_listen: String,
    /// The database: unset for the embedded SQLite file in the data
    /// directory, or `postgres://user@host:port/db` for a PostgreSQL
    /// database several instances share. Keep the password out of it (and
    /// out of this file): PostgreSQL's `PGPASSWORD` or `~/.pgpass` supply it.
    pub database_url: Option<DatabaseUrl>,
    /// Base URL certificates point to for CA certificates and CRLs
    /// (`{public_url}/ca/...`). Fixed into certificates at issuance.
    pub public_url: String,
    /// Validate organizations and domains at creation.
    pub sandbox: bool,
    /// `full` (fsync every commit) or `normal`.
    pub durability: Durability,
    /// Put the order's common name in the subject CN (always equal to a SAN).
    pub include_common_name: bool,
    /// Cap on TLS certificate lifetime in days; default: the CA/B Forum
    /// maximum in force on the issuance date (199 days until 2027-03-15).
    pub tls_max_validity_days: Option<i64>,
    /// Days an organization or domain validation may be reused; default:
    /// the BR §4.2.1 (SC-081) schedule in force at each issuance (domains
    /// 199 days until 2027-03-15, organizations 397).
    pub validation_reuse_days: Option<i64>,
    /// Days a domain validation is reused (1–398); before
    /// `validation_reuse_days` and the BR schedule.
    pub domain_validation_reuse_days: Option<i64>,
    /// Days an organization validation is reused (1–825); before
    /// `validation_reuse_days` and the BR schedule.
    pub organization_validation_reuse_days: Option<i64>,
    /// Subject of generated CA certificates.
    pub ca_organization: String,
    pub ca_country: String,
    /// Seconds between background sweeps for orders waiting on validation.
    pub issuance_poll_seconds: u64,
    /// Per-key rate limit (vendor: 100 requests / 5 s and 1000 / 3 min). 0 disables.
    pub rate_limit_per_5s: u32,
    pub rate_limit_per_3min: u32,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// A client must send a request's headers within this many seconds
    /// (an idle keep-alive connection is closed after it too).
    pub header_read_timeout_seconds: u64,
    /// A request is answered within this many seconds, or gets 503.
    pub request_timeout_seconds: u64,
    /// Open connections at most; past it new ones are closed at once.
    pub max_connections: usize,
    /// On shutdown, requests in flight get this long to finish.
    pub shutdown_grace_seconds: u64,
    /// The listener's certificate (then its chain), PEM: HTTPS with
    /// `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// The listener's private key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub tls_key_file: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback (`--insecure-http`).
    pub insecure_http: bool,
    /// tracing filter, e.g. "info" or "certwell_server=debug".
    pub log: String,
    /// `text` (one line per event; colour only at a terminal) or `json`
    /// (one JSON object per line, for a log collector).
    pub log_format: LogFormat,
    /// Yearly price of a product in USD ("218.00"), by product name id;
    /// products not listed cost certwell's default list price.
    pub prices: std::collections::BTreeMap<String, String>,
    /// Sandbox only: validations made at creation take effect this many
    /// seconds later, so clients can exercise their polling.
    pub validation_delay_seconds: u64,
    /// Domain control validation and CAA.
    pub dcv: DcvConfig,
    /// Outgoing mail (DCV and mailbox validation emails).
    pub smtp: SmtpConfig,
    /// CA keys in a PKCS#11 token (an HSM). When set, every CA key
    /// certwell generates is generated inside this token; unset, CA keys
    /// are files in the data directory.
    pub pkcs11: Option<Pkcs11Config>,
    /// A file holding the passphrase CA key files are encrypted with
    /// (`CERTWELL_KEY_PASSPHRASE` gives it directly). With a passphrase no
    /// CA key is written in plaintext, and encrypted keys need it to load.
    pub key_passphrase_file: Option<PathBuf>,
    /// `CERTWELL_KEY_PASSPHRASE`: never read from or written to the file.
    #[serde(skip)]
    pub key_passphrase: Option<Secret>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret from the environment: its debug form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The PKCS#11 token holding CA keys. The PIN is never part of the
/// settings: it comes from the environment variable `pin_env` or from the
/// file `pin_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The module (`libsofthsm2.so`, a vendor's PKCS#11 library).
    pub module: PathBuf,
    /// The token, by label ...
    pub token_label: Option<String>,
    /// ... or by slot number.
    pub slot: Option<u64>,
    /// A file holding the user PIN (its first line).
    pub pin_file: Option<PathBuf>,
    /// The environment variable holding the user PIN when `pin_file` is unset.
    pub pin_env: String,
}

impl Pkcs11Config {
    /// The token these settings name: by label or by slot, exactly one.
    pub fn token(&self) -> Result<certwell_ca::TokenSelector, String> {
        match (&self.token_label, self.slot) {
            (Some(l), None) => Ok(certwell_ca::TokenSelector::Label(l.clone())),
            (None, Some(s)) => Ok(certwell_ca::TokenSelector::Slot(s)),
            _ => Err("pkcs11: name the token by token_label or by slot (one of them)".into()),
        }
    }
}

impl Default for Pkcs11Config {
    fn default() -> Self {
        Pkcs11Config {
            module: PathBuf::new(),
            token_label: None,
            slot: None,
            pin_file: None,
            pin_env: "CERTWELL_PKCS11_PIN".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DcvConfig {
    /// The DNS resolver every lookup goes to, "ip:port"; "" reads the
    /// system's /etc/resolv.conf.
    pub nameserver: String,
    /// Check CAA before issuing TLS and S/MIME certificates.
    pub caa_check: bool,
    /// Issuer domain names that identify this CA in CAA records; empty:
    /// the host of `public_url`.
    pub caa_identities: Vec<String>,
    /// `dns-cname-token`: `_dnsauth.<domain>` must point to
    /// `<token>.<cname_verification_domain>`.
    pub cname_verification_domain: String,
    /// Port `http-token` files are fetched from (80; tests use others).
    pub http_port: u16,
    /// Per lookup or fetch.
    pub timeout_seconds: u64,
    /// The poller re-checks a pending domain after `poll_base_seconds`,
    /// doubling per failed check up to `poll_max_seconds`.
    pub poll_base_seconds: u64,
    pub poll_max_seconds: u64,
    /// How often the poller looks for due domains.
    pub poll_interval_seconds: u64,
    /// Let `http-token` checks fetch from internal addresses (loopback,
    /// private, link-local, CGNAT, ULA, multicast, cloud metadata): off, so
    /// that a customer's DNS cannot point certwell at the operator's
    /// network. The sandbox allows them.
    pub allow_private_addresses: bool,
}

impl Default for DcvConfig {
    fn default() -> Self {
        DcvConfig {
            nameserver: String::new(),
            caa_check: true,
            caa_identities: Vec::new(),
            cname_verification_domain: "dcv.certwell.invalid".into(),
            http_port: 80,
            timeout_seconds: 5,
            poll_base_seconds: 60,
            poll_max_seconds: 3600,
            poll_interval_seconds: 10,
            allow_private_addresses: false,
        }
    }
}

/// How the SMTP relay is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: a relay without credentials, or one on this host
    /// (credentials never cross the network in the clear).
    None,
    /// STARTTLS required.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host; "" sends no mail (validation emails are logged as not sent).
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
    pub username: String,
    pub password: String,
    /// The From address of validation emails.
    pub from: String,
    /// A message the relay did not take is tried again after this many
    /// seconds, doubling per attempt up to an hour, ten attempts in all.
    pub retry_seconds: u64,
}

/// The password never reaches logs or debug output.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("from", &self.from)
            .field("retry_seconds", &self.retry_seconds)
            .finish()
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 25,
            tls: SmtpTls::None,
            username: String::new(),
            password: String::new(),
            from: "certwell <noreply@certwell.invalid>".into(),
            retry_seconds: 60,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: String::new(),
            database_url: None,
            public_url: String::new(),
            sandbox: false,
            durability: Durability::Full,
            include_common_name: true,
            tls_max_validity_days: None,
            validation_reuse_days: None,
            domain_validation_reuse_days: None,
            organization_validation_reuse_days: None,
            ca_organization: "certwell".into(),
            ca_country: "US".into(),
            issuance_poll_seconds: 2,
            rate_limit_per_5s: 0,
            rate_limit_per_3min: 0,
            max_body_bytes: 1024 * 1024,
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_connections: 4096,
            shutdown_grace_seconds: 10,
            tls_cert_file: None,
            tls_key_file: None,
            insecure_http: false,
            log: "info".into(),
            log_format: LogFormat::Text,
            prices: Default::default(),
            validation_delay_seconds: 0,
            dcv: DcvConfig::default(),
            smtp: SmtpConfig::default(),
            pkcs11: None,
            key_passphrase_file: None,
            key_passphrase: None,
        }
    }
}

pub const CONFIG_FILE: &str = "certwell.toml";

impl Config {
    /// Loads `file` (or `DIR/certwell.toml`) if it exists, then applies
    /// `CERTWELL_*` environment variables.
    pub fn load(data_dir: &Path, file: Option<&Path>) -> Result<Config, String> {
        let path = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| data_dir.join(CONFIG_FILE));
        let mut cfg = if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else if file.is_some() {
            return Err(format!("{}: no such file", path.display()));
        } else {
            Config::default()
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        fn parse<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("{k}: cannot parse '{v}'"))
        }
        fn boolean(k: &str, v: &str) -> Result<bool, String> {
            match v {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(format!("{k}: expected true or false, got '{v}'")),
            }
        }
        if let Some(v) = get("CERTWELL_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("CERTWELL_METRICS_LISTEN") {
            self.metrics_listen = v;
        }
        if let Some(v) = get("CERTWELL_TLS_CERT_FILE") {
            self.tls_cert_file = Some(v.into());
        }
        if let Some(v) = get("CERTWELL_TLS_KEY_FILE") {
            self.tls_key_file = Some(v.into());
        }
        if let Some(v) = get("CERTWELL_INSECURE_HTTP") {
            self.insecure_http = boolean("CERTWELL_INSECURE_HTTP", &v)?;
        }
        if let Some(v) = get("CERTWELL_HEADER_READ_TIMEOUT_SECONDS") {
            self.header_read_timeout_seconds = parse("CERTWELL_HEADER_READ_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = get("CERTWELL_REQUEST_TIMEOUT_SECONDS") {
            self.request_timeout_seconds = parse("CERTWELL_REQUEST_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = get("CERTWELL_MAX_CONNECTIONS") {
            self.max_connections = parse("CERTWELL_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("CERTWELL_SHUTDOWN_GRACE_SECONDS") {
            self.shutdown_grace_seconds = parse("CERTWELL_SHUTDOWN_GRACE_SECONDS", &v)?;
        }
        if let Some(v) = get("CERTWELL_DATABASE_URL") {
            self.database_url = (!v.is_empty()).then_some(DatabaseUrl(v));
        }
        if let Some(v) = get("CERTWELL_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("CERTWELL_SANDBOX") {
            self.sandbox = boolean("CERTWELL_SANDBOX", &v)?;
        }
        if let Some(v) = get("CERTWELL_DURABILITY") {
            self.durability = Durability::parse(&v).ok_or_else(|| {
                format!("CERTWELL_DURABILITY: expected full or normal, got '{v}'")
            })?;
        }
        if let Some(v) = get("CERTWELL_INCLUDE_COMMON_NAME") {
            self.include_common_name = boolean("CERTWELL_INCLUDE_COMMON_NAME", &v)?;
        }
        if let Some(v) = get("CERTWELL_TLS_MAX_VALIDITY_DAYS") {
            self.tls_max_validity_days = Some(parse("CERTWELL_TLS_MAX_VALIDITY_DAYS", &v)?);
        }
        if let Some(v) = get("CERTWELL_VALIDATION_REUSE_DAYS") {
            self.validation_reuse_days = Some(parse("CERTWELL_VALIDATION_REUSE_DAYS", &v)?);
        }
        if let Some(v) = get("CERTWELL_DOMAIN_VALIDATION_REUSE_DAYS") {
            self.domain_validation_reuse_days =
                Some(parse("CERTWELL_DOMAIN_VALIDATION_REUSE_DAYS", &v)?);
        }
        if let Some(v) = get("CERTWELL_ORGANIZATION_VALIDATION_REUSE_DAYS") {
            self.organization_validation_reuse_days =
                Some(parse("CERTWELL_ORGANIZATION_VALIDATION_REUSE_DAYS", &v)?);
        }
        if let Some(v) = get("CERTWELL_ISSUANCE_POLL_SECONDS") {
            self.issuance_poll_seconds = parse("CERTWELL_ISSUANCE_POLL_SECONDS", &v)?;
        }
        if let Some(v) = get("CERTWELL_RATE_LIMIT_PER_5S") {
            self.rate_limit_per_5s = parse("CERTWELL_RATE_LIMIT_PER_5S", &v)?;
        }
        if let Some(v) = get("CERTWELL_RATE_LIMIT_PER_3MIN") {
            self.rate_limit_per_3min = parse("CERTWELL_RATE_LIMIT_PER_3MIN", &v)?;
        }
        if let Some(v) = get("CERTWELL_LOG") {
            self.log = v;
        }
        if let Some(v) = get("CERTWELL_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(format!(
                        "CERTWELL_LOG_FORMAT: expected text or json, got '{v}'"
                    ))
                }
            };
        }
        if let Some(v) = get("CERTWELL_VALIDATION_DELAY_SECONDS") {
            self.validation_delay_seconds = parse("CERTWELL_VALIDATION_DELAY_SECONDS", &v)?;
        }
        if let Some(v) = get("CERTWELL_DCV_NAMESERVER") {
            self.dcv.nameserver = v;
        }
        if let Some(v) = get("CERTWELL_DCV_CAA_CHECK") {
            self.dcv.caa_check = boolean("CERTWELL_DCV_CAA_CHECK", &v)?;
        }
        if let Some(v) = get("CERTWELL_SMTP_HOST") {
            self.smtp.host = v;
        }
        if let Some(v) = get("CERTWELL_SMTP_PORT") {
            self.smtp.port = parse("CERTWELL_SMTP_PORT", &v)?;
        }
        if let Some(v) = get("CERTWELL_SMTP_TLS") {
            self.smtp.tls = match v.as_str() {
                "none" => SmtpTls::None,
                "starttls" => SmtpTls::Starttls,
                "tls" => SmtpTls::Tls,
                _ => {
                    return Err(format!(
                        "CERTWELL_SMTP_TLS: expected none, starttls or tls, got '{v}'"
                    ))
                }
            };
        }
        if let Some(v) = get("CERTWELL_SMTP_PASSWORD") {
            self.smtp.password = v;
        }
        if let Some(v) = get("CERTWELL_PKCS11_MODULE") {
            self.pkcs11.get_or_insert_with(Default::default).module = v.into();
        }
        if let Some(v) = get("CERTWELL_PKCS11_TOKEN_LABEL") {
            self.pkcs11.get_or_insert_with(Default::default).token_label = Some(v);
        }
        if let Some(v) = get("CERTWELL_PKCS11_SLOT") {
            self.pkcs11.get_or_insert_with(Default::default).slot =
                Some(parse("CERTWELL_PKCS11_SLOT", &v)?);
        }
        if let Some(v) = get("CERTWELL_PKCS11_PIN_FILE") {
            self.pkcs11.get_or_insert_with(Default::default).pin_file = Some(v.into());
        }
        if let Some(v) = get("CERTWELL_KEY_PASSPHRASE") {
            self.key_passphrase = (!v.is_empty()).then_some(Secret(v));
        }
        if let Some(v) = get("CERTWELL_KEY_PASSPHRASE_FILE") {
            self.key_passphrase_file = Some(v.into());
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        let listen = self.listen.parse::<SocketAddr>().map_err(|_| {
            format!(
                "listen: '{}' is not an address like 127.0.0.1:8080",
                self.listen
            )
        })?;
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err("tls_cert_file and tls_key_file: give both or neither".into());
        }
        if !listen.ip().is_loopback() && self.tls_cert_file.is_none() && !self.insecure_http {
            return Err(format!(
                "listen: {listen} is not a loopback address and no TLS is configured (tls_cert_file, tls_key_file); API keys would cross the network in the clear. Configure TLS, or pass --insecure-http (CERTWELL_INSECURE_HTTP=true) when a TLS-terminating proxy is in front"
            ));
        }
        if self.request_timeout_seconds == 0 || self.header_read_timeout_seconds == 0 {
            return Err(
                "request_timeout_seconds, header_read_timeout_seconds: must be at least 1".into(),
            );
        }
        if self.max_connections == 0 {
            return Err("max_connections: must be at least 1".into());
        }
        for (product, price) in &self.prices {
            if certwell_policy::catalog::find_product(product).is_none() {
                return Err(format!("prices: unknown product '{product}'"));
            }
            if certwell_policy::payment::parse_money(price).is_none_or(|c| c < 0) {
                return Err(format!(
                    "prices.{product}: '{price}' is not an amount like 218.00"
                ));
            }
        }
        for (key, value, max) in [
            ("validation_reuse_days", self.validation_reuse_days, 825),
            (
                "domain_validation_reuse_days",
                self.domain_validation_reuse_days,
                398,
            ),
            (
                "organization_validation_reuse_days",
                self.organization_validation_reuse_days,
                825,
            ),
        ] {
            if value.is_some_and(|d| !(1..=max).contains(&d)) {
                return Err(format!("{key}: must be between 1 and {max}"));
            }
        }
        let loopback_relay = matches!(self.smtp.host.as_str(), "localhost" | "::1")
            || self
                .smtp
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.smtp.tls == SmtpTls::None
            && (!self.smtp.username.is_empty() || !self.smtp.password.is_empty())
            && !loopback_relay
        {
            return Err(format!(
                "smtp: credentials for {} would cross the network in the clear; set smtp.tls to starttls or tls (CERTWELL_SMTP_TLS)",
                self.smtp.host
            ));
        }
        if let Some(d) = self.tls_max_validity_days {
            if !(1..=825).contains(&d) {
                return Err("tls_max_validity_days: must be between 1 and 825".into());
            }
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "metrics_listen: '{}' is not an address like 127.0.0.1:9090",
                self.metrics_listen
            ));
        }
        if !self.dcv.nameserver.is_empty() && self.dcv.nameserver.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "dcv.nameserver: '{}' is not an address like 127.0.0.1:53",
                self.dcv.nameserver
            ));
        }
        if self.validation_delay_seconds > 0 && !self.sandbox {
            return Err("validation_delay_seconds: only with --sandbox".into());
        }
        if let Some(p) = &self.pkcs11 {
            if p.module.as_os_str().is_empty() {
                return Err("pkcs11.module: the PKCS#11 library to load is required".into());
            }
            p.token()?;
        }
        if !self.public_url.is_empty() && !self.public_url.starts_with("http://") {
            return Err(
                "public_url: must be an http:// URL (CRL and AIA URLs must be http)".into(),
            );
        }
        Ok(())
    }

    /// The issuer domain names this CA answers to in CAA records.
    pub fn caa_identities(&self) -> Vec<String> {
        if !self.dcv.caa_identities.is_empty() {
            return self
                .dcv
                .caa_identities
                .iter()
                .map(|i| i.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect();
        }
        vec![self.public_host().to_ascii_lowercase()]
    }

    /// The host of `base_url()`.
    pub fn public_host(&self) -> String {
        self.base_url()
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// The base URL for CA files: `public_url`, or `http://{listen}`.
    pub fn base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

/// Paths inside the data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("certwell.db")
    }
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    pub fn admin_key_file(&self) -> PathBuf {
        self.root.join("admin-api-key")
    }
    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }
}

impl Config {
    /// The yearly price of `product` in cents.
    pub fn yearly_price_cents(&self, product: &certwell_policy::Product) -> i64 {
        self.prices
            .get(product.name_id)
            .and_then(|p| certwell_policy::payment::parse_money(p))
            .unwrap_or_else(|| certwell_policy::payment::default_yearly_price_cents(product))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file() {
        let mut c: Config =
            toml::from_str("listen = \"127.0.0.1:9000\"\nsandbox = false\n").unwrap();
        c.apply_env(|k| match k {
            "CERTWELL_SANDBOX" => Some("true".into()),
            "CERTWELL_TLS_MAX_VALIDITY_DAYS" => Some("30".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert!(c.sandbox);
        assert_eq!(c.tls_max_validity_days, Some(30));
        assert!(c.validate().is_ok());
        assert!(c
            .apply_env(|k| (k == "CERTWELL_SANDBOX").then(|| "maybe".into()))
            .is_err());
    }

    #[test]
    fn dcv_and_smtp_settings() {
        let c: Config = toml::from_str(
            "sandbox = true\nvalidation_delay_seconds = 3\n[dcv]\nnameserver = \"127.0.0.1:5353\"\n\
             caa_identities = [\"Pki.Example.COM.\"]\n[smtp]\nhost = \"mail\"\ntls = \"starttls\"\n\
             password = \"hunter2\"\n",
        )
        .unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.caa_identities(), vec!["pki.example.com"]);
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "no secret in debug output"
        );
        let default_ids = Config {
            public_url: "http://ca.example.net:8080/x".into(),
            ..Config::default()
        };
        assert_eq!(default_ids.caa_identities(), vec!["ca.example.net"]);
        for bad in [
            "[dcv]\nnameserver = \"resolver\"\n",
            "validation_delay_seconds = 3\n",
        ] {
            let c: Config = toml::from_str(bad).unwrap();
            assert!(c.validate().is_err(), "{bad}");
        }
        assert!(toml::from_str::<Config>("[dcv]\nunknown = 1\n").is_err());
        let with_db: Config =
            toml::from_str("database_url = \"postgres://ca:hunter3@db:5432/certwell\"\n").unwrap();
        let url = with_db.database_url.as_ref().unwrap();
        assert!(url.has_password());
        assert!(!format!("{with_db:?}").contains("hunter3"));
        assert!(format!("{url:?}").contains("postgres://ca:***@db:5432/certwell"));
        assert!(!DatabaseUrl("postgres://ca@db/certwell?sslmode=require".into()).has_password());
        assert!(toml::from_str::<Config>("[smtp]\ntls = \"maybe\"\n").is_err());
        assert_eq!(
            toml::from_str::<Config>("[smtp]\ntls = \"starttls\"\n")
                .unwrap()
                .smtp
                .tls,
            SmtpTls::Starttls
        );
    }

    #[test]
    fn smtp_credentials_need_tls_off_this_host() {
        let c = |host: &str, tls: SmtpTls, password: &str| Config {
            smtp: SmtpConfig {
                host: host.into(),
                tls,
                password: password.into(),
                ..SmtpConfig::default()
            },
            ..Config::default()
        };
        assert!(c("mail.example.com", SmtpTls::None, "pw")
            .validate()
            .is_err());
        assert!(c("mail.example.com", SmtpTls::Starttls, "pw")
            .validate()
            .is_ok());
        assert!(c("mail.example.com", SmtpTls::Tls, "pw").validate().is_ok());
        assert!(c("mail.example.com", SmtpTls::None, "").validate().is_ok());
        assert!(c("127.0.0.1", SmtpTls::None, "pw").validate().is_ok());
        assert!(c("localhost", SmtpTls::None, "pw").validate().is_ok());
    }

    #[test]
    fn reuse_periods_are_checked_as_ranges() {
        let c = |d: Option<i64>, o: Option<i64>, both: Option<i64>| Config {
            domain_validation_reuse_days: d,
            organization_validation_reuse_days: o,
            validation_reuse_days: both,
            ..Config::default()
        };
        assert!(c(Some(398), Some(825), Some(825)).validate().is_ok());
        for (bad, key) in [
            (c(Some(399), None, None), "domain_validation_reuse_days"),
            (c(Some(0), None, None), "domain_validation_reuse_days"),
            (
                c(None, Some(826), None),
                "organization_validation_reuse_days",
            ),
            (c(None, None, Some(0)), "validation_reuse_days"),
        ] {
            assert!(bad.validate().unwrap_err().starts_with(key));
        }
    }

    #[test]
    fn plain_http_only_on_loopback_unless_insecure() {
        let c = |listen: &str, insecure: bool, tls: bool| Config {
            listen: listen.into(),
            insecure_http: insecure,
            tls_cert_file: tls.then(|| "c.pem".into()),
            tls_key_file: tls.then(|| "k.pem".into()),
            ..Config::default()
        };
        assert!(c("127.0.0.1:8080", false, false).validate().is_ok());
        assert!(c("[::1]:8080", false, false).validate().is_ok());
        let e = c("0.0.0.0:8080", false, false).validate().unwrap_err();
        assert!(
            e.contains("--insecure-http") && e.contains("tls_cert_file"),
            "{e}"
        );
        assert!(c("0.0.0.0:8080", true, false).validate().is_ok());
        assert!(c("0.0.0.0:8443", false, true).validate().is_ok());
        let half = Config {
            tls_key_file: None,
            ..c("127.0.0.1:8443", false, true)
        };
        assert!(half.validate().unwrap_err().contains("both"));
        let mut e = Config::default();
        e.apply_env(|k| {
            (k == "CERTWELL_INSECURE_HTTP" || k == "CERTWELL_MAX_CONNECTIONS").then(|| {
                if k == "CERTWELL_INSECURE_HTTP" {
                    "true"
                } else {
                    "64"
                }
                .to_string()
            })
        })
        .unwrap();
        assert!(e.insecure_http);
        assert_eq!(e.max_connections, 64);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
        assert!(toml::from_str::<Config>("durability = \"sometimes\"").is_err());
        assert_eq!(
            toml::from_str::<Config>("durability = \"normal\"")
                .unwrap()
                .durability,
            Durability::Normal
        );
        let mut c = Config::default();
        assert!(c
            .apply_env(|k| (k == "CERTWELL_DURABILITY").then(|| "sometimes".into()))
            .is_err());
        let c = Config {
            listen: "nope".into(),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
