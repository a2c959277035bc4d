//! Domain control validation and CAA over real DNS and HTTP. Every lookup
//! goes to the configured resolver (`dcv.nameserver`, else the system's);
//! the HTTP client resolves names through the same resolver. The rules of
//! what proves control live in `certwell_policy::dcv`.

use certwell_store::DcvMethod;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use certwell_api::error::codes;
use certwell_policy::dcv::{self as rules, CaaRecord, CaaUse};
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::config::Config;
use crate::error::Error;

/// Why a check did not prove control: the vendor's error code and a
/// message naming the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcvFailure {
    pub code: String,
    pub message: String,
}

impl From<DcvFailure> for Error {
    fn from(f: DcvFailure) -> Self {
        Error::bad_request(&f.code, f.message)
    }
}

pub struct Validator {
    resolver: TokioResolver,
    http: reqwest::Client,
    http_port: u16,
    cname_domain: String,
    caa_identities: Vec<String>,
    pub caa_check: bool,
}

/// reqwest resolves through certwell's resolver (never the system's),
/// and connects only to public addresses unless internal ones are allowed
/// (`dcv.allow_private_addresses`): every connection of a fetch, redirects
/// included, goes through here.
struct ViaResolver {
    resolver: TokioResolver,
    allow_private: bool,
}

impl reqwest::dns::Resolve for ViaResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (r, allow_private) = (self.resolver.clone(), self.allow_private);
        let host = format!("{}.", name.as_str().trim_end_matches('.'));
        Box::pin(async move {
            let ips = r.lookup_ip(host).await?;
            let addrs: Vec<SocketAddr> = ips
                .iter()
                .filter(|ip| allow_private || !rules::is_internal_address(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if addrs.is_empty() {
                return Err("the name has no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

impl Validator {
    pub fn new(cfg: &Config) -> Result<Validator, String> {
        let d = &cfg.dcv;
        let timeout = Duration::from_secs(d.timeout_seconds.max(1));
        let (config, mut opts) = if d.nameserver.is_empty() {
            hickory_resolver::system_conf::read_system_conf().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no system resolver configuration; DCV and CAA lookups go to 127.0.0.1:53 (set dcv.nameserver)");
                (
                    ResolverConfig::from_parts(
                        None,
                        vec![],
                        NameServerConfigGroup::from_ips_clear(&[std::net::Ipv4Addr::LOCALHOST.into()], 53, true),
                    ),
                    ResolverOpts::default(),
                )
            })
        } else {
            let addr: SocketAddr = d
                .nameserver
                .parse()
                .map_err(|_| format!("dcv.nameserver: bad address '{}'", d.nameserver))?;
            (
                ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
                ),
                ResolverOpts::default(),
            )
        };
        // Fresh answers for every check (a record just published must be
        // seen), no hosts file, no search domains.
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        opts.timeout = timeout;
        opts.attempts = 2;
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(opts)
                .build();
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(ViaResolver {
                resolver: resolver.clone(),
                allow_private: d.allow_private_addresses || cfg.sandbox,
            }))
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent("certwell-dcv")
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // Redirects stay on the same host and on http (BR 3.2.2.4.18
                // allows others; certwell is stricter, as the issue asks).
                let same_host = attempt.previous().first().is_some_and(|first| {
                    first.host_str() == attempt.url().host_str()
                        && first.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if attempt.previous().len() > 3 {
                    attempt.error("too many redirects")
                } else if same_host && attempt.url().scheme() == "http" {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| format!("dcv: HTTP client: {e}"))?;
        Ok(Validator {
            resolver,
            http,
            http_port: d.http_port,
            cname_domain: d.cname_verification_domain.clone(),
            caa_identities: cfg.caa_identities(),
            caa_check: d.caa_check,
        })
    }

    pub fn cname_verification_domain(&self) -> &str {
        &self.cname_domain
    }

    /// The records of `rtype` at `name`; empty only for an answer that
    /// says so (NXDOMAIN, or NOERROR without records). Any other failure —
    /// SERVFAIL, REFUSED, a timeout — is an error: CAA fails closed on it.
    async fn records(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, String> {
        match self.resolver.lookup(fqdn(name), rtype).await {
            Ok(l) => Ok(l.record_iter().map(|r| r.data().clone()).collect()),
            Err(e) if says_empty(&e) => Ok(Vec::new()),
            Err(e) => Err(format!("DNS lookup of {name} ({rtype}) failed: {e}")),
        }
    }

    pub async fn txt(&self, name: &str) -> Result<Vec<String>, String> {
        Ok(self
            .records(name, RecordType::TXT)
            .await?
            .iter()
            .filter_map(|d| match d {
                RData::TXT(t) => Some(
                    t.txt_data()
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    async fn cname(&self, name: &str) -> Result<Vec<String>, String> {
        Ok(self
            .records(name, RecordType::CNAME)
            .await?
            .iter()
            .filter_map(|d| match d {
                RData::CNAME(c) => Some(c.0.to_ascii()),
                _ => None,
            })
            .collect())
    }

    /// Proves control of `domain` with `method` and one of `tokens`.
    pub async fn check(
        &self,
        method: DcvMethod,
        domain: &str,
        tokens: &[&str],
    ) -> Result<(), DcvFailure> {
        match method {
            DcvMethod::DnsTxtToken => {
                for n in rules::txt_names(domain) {
                    let found = self.txt(&n).await.map_err(|e| txt_failure(domain, &e))?;
                    if rules::txt_matches(found.iter().map(String::as_str), tokens) {
                        return Ok(());
                    }
                }
                Err(txt_failure(
                    domain,
                    &format!("no TXT record at {domain} or _dnsauth.{domain} holds the random value"),
                ))
            }
            DcvMethod::DnsCnameToken => {
                let n = rules::cname_name(domain);
                let targets = self.cname(&n).await.map_err(|e| txt_failure(domain, &e))?;
                if targets
                    .iter()
                    .any(|t| rules::cname_matches(t, tokens, &self.cname_domain))
                {
                    Ok(())
                } else {
                    Err(txt_failure(
                        domain,
                        &format!(
                            "{n} has no CNAME to <random value>.{}",
                            self.cname_domain
                        ),
                    ))
                }
            }
            DcvMethod::HttpToken => {
                // One message for every failure: whether the port is closed,
                // filtered, internal or answers without the value is not
                // told (no port scanning through certwell); the log has it.
                let found = match self.fetch_token_file(domain).await {
                    Ok(body) if rules::http_body_matches(&body, tokens) => Ok(()),
                    Ok(_) => Err("the file does not hold the random value".to_string()),
                    Err(e) => Err(e),
                };
                found.map_err(|why| {
                    tracing::debug!(domain, why, "http-token check failed");
                    DcvFailure {
                        code: codes::FILE_RANDOM_VALUE_NOT_FOUND.into(),
                        message: format!(
                            "Could not find the random value at the expected file location for {domain}: {} did not serve it.",
                            self.token_url(domain)
                        ),
                    }
                })
            }
            other => Err(DcvFailure {
                code: codes::INVALID_DCV_METHOD.into(),
                message: format!(
                    "Domain {domain} uses the DCV method '{other}', which has no random value to check."
                ),
            }),
        }
    }

    /// `http://<fqdn>[:port]/.well-known/pki-validation/fileauth.txt`
    pub fn token_url(&self, domain: &str) -> String {
        let port = if self.http_port == 80 {
            String::new()
        } else {
            format!(":{}", self.http_port)
        };
        format!("http://{domain}{port}{}", rules::HTTP_TOKEN_PATH)
    }

    async fn fetch_token_file(&self, domain: &str) -> Result<Vec<u8>, String> {
        // A name, never an address (which would skip the resolver's check).
        if domain
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
        {
            return Err("an IP address is not a domain".into());
        }
        let mut resp = self
            .http
            .get(self.token_url(domain))
            .send()
            .await
            .map_err(|e| format!("the request failed ({})", error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("the server answered {}", resp.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("reading the file failed ({e})"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > rules::MAX_HTTP_TOKEN_BYTES {
                return Err(format!(
                    "the file is larger than {} bytes",
                    rules::MAX_HTTP_TOKEN_BYTES
                ));
            }
        }
        Ok(body)
    }

    /// Addresses published in `_validation-contactemail.<domain>` TXT records.
    pub async fn contact_emails(&self, domain: &str) -> Vec<String> {
        match self
            .txt(&format!("{}.{domain}", rules::CONTACT_EMAIL_LABEL))
            .await
        {
            Ok(t) => rules::contact_emails(t.iter().map(String::as_str)),
            Err(e) => {
                tracing::warn!(domain, error = %e, "contact email lookup failed");
                Vec::new()
            }
        }
    }

    /// The relevant CAA record set of `name` (RFC 8659 §3): the first
    /// non-empty set climbing from the name toward the TLD.
    async fn caa_set(&self, name: &str) -> Result<Vec<CaaRecord>, String> {
        for n in rules::caa_search_names(name) {
            let set: Vec<CaaRecord> = self
                .records(&n, RecordType::CAA)
                .await?
                .iter()
                .filter_map(|d| match d {
                    RData::CAA(c) => Some(CaaRecord {
                        critical: c.issuer_critical(),
                        tag: c.tag().as_str().to_ascii_lowercase(),
                        value: String::from_utf8_lossy(c.raw_value()).into_owned(),
                    }),
                    _ => None,
                })
                .collect();
            if !set.is_empty() {
                return Ok(set);
            }
        }
        Ok(Vec::new())
    }

    /// CAA for every name: 400 `caa_check_failed|<name>` for the first a
    /// record forbids (or whose lookup failed: certwell fails closed).
    pub async fn check_caa(&self, names: &[(String, CaaUse)]) -> Result<(), DcvFailure> {
        if !self.caa_check {
            return Ok(());
        }
        for (name, usage) in names {
            let code = format!("{}|{name}", codes::CAA_CHECK_FAILED);
            let set = self.caa_set(name).await.map_err(|e| DcvFailure {
                code: code.clone(),
                message: format!("CAA check failed for {name}: {e}"),
            })?;
            if !rules::caa_permits(&set, *usage, &self.caa_identities) {
                return Err(DcvFailure {
                    code,
                    message: format!(
                        "CAA check failed: the CAA records of {name} do not allow this CA ({}) to issue.",
                        self.caa_identities.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Whether a failed lookup is an answer that there are no records
/// (NXDOMAIN, or NOERROR with none), rather than no answer.
fn says_empty(e: &hickory_resolver::ResolveError) -> bool {
    use hickory_resolver::proto::op::ResponseCode;
    use hickory_resolver::proto::ProtoErrorKind;
    matches!(
        e.proto().map(|p| p.kind()),
        Some(ProtoErrorKind::NoRecordsFound {
            response_code: ResponseCode::NXDomain | ResponseCode::NoError,
            ..
        })
    )
}

fn txt_failure(domain: &str, why: &str) -> DcvFailure {
    DcvFailure {
        code: codes::INVALID_DNS_TXT.into(),
        message: format!("Could not find a valid TXT record for {domain}: {why}."),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
