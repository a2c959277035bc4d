//! Validation work: checking domain tokens, the DCV poller, validation
//! emails with one-time links, and confirming those links. Lookups are in
//! `dcv`, rules in `certwell_policy::dcv`.

use certwell_policy::issuance::{DomainFact, OrgValidationFact};
use certwell_store::DcvMethod;
use std::ops::ControlFlow;
use std::sync::Arc;

use certwell_api::error::codes;
use certwell_policy::dcv::{self as rules, CaaUse};
use certwell_store::{Domain, LinkTarget, NewValidationLink, ValidationLink};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::extract::hash_api_key;
use crate::service::dcv::DcvFailure;
use crate::state::AppState;

/// Domain DCV links live as long as the random value (BR 3.2.2.4.4: 30
/// days); mailbox links 24 hours (S/MIME BR 3.2.2.1.2).
pub const DOMAIN_LINK_DAYS: i64 = 30;
pub const MAILBOX_LINK_HOURS: i64 = 24;

fn now() -> OffsetDateTime {
    crate::clock::now()
}

/// The random values that prove control of `d` now (its own, unexpired).
pub fn live_tokens(d: &Domain) -> Vec<&str> {
    match (&d.dcv_token, d.dcv_token_expires) {
        (Some(t), Some(exp)) if exp > now() => vec![t.as_str()],
        _ => Vec::new(),
    }
}

/// Until when a domain validated at `at` covers issuance:
/// `domain_validation_reuse_days`, else `validation_reuse_days`, else the
/// BR §4.2.1 (SC-081) schedule.
pub fn domain_valid_until(state: &AppState, at: OffsetDateTime) -> OffsetDateTime {
    let c = &state.config;
    match c.domain_validation_reuse_days.or(c.validation_reuse_days) {
        Some(d) => at + Duration::days(d),
        None => certwell_policy::validity::domain_reuse_until(at),
    }
}

/// Until when an organization validated at `at` covers issuance (Subject
/// Identity Information): `organization_validation_reuse_days`, else
/// `validation_reuse_days`, else the BR §4.2.1 schedule.
pub fn organization_valid_until(state: &AppState, at: OffsetDateTime) -> OffsetDateTime {
    let c = &state.config;
    match c
        .organization_validation_reuse_days
        .or(c.validation_reuse_days)
    {
        Some(d) => at + Duration::days(d),
        None => certwell_policy::validity::organization_reuse_until(at),
    }
}

/// Records `d` as validated now (for the reuse period). The caller then
/// wakes the issuer (`wake_issuer`) so that orders waiting on it move on —
/// after issuing its own order, if it has one, so that the sweeper does
/// not take that order from under it.
pub async fn mark_domain_validated(state: &AppState, d: &Domain) -> Result<()> {
    let n = now();
    state
        .store
        .set_domain_validated(d.id, n, domain_valid_until(state, n))
        .await?;
    tracing::info!(domain = %d.name, id = d.id, method = %d.dcv_method, "domain validated");
    Ok(())
}

/// Checks `d` over DNS or HTTP now; on success records the validation
/// (the caller wakes the issuer, see [`mark_domain_validated`]).
/// The outer error is the store's (a 5xx); the inner one why the check
/// did not prove control (a 400).
pub async fn check_domain(
    state: &AppState,
    d: &Domain,
) -> Result<std::result::Result<(), DcvFailure>> {
    let tokens = live_tokens(d);
    if d.dcv_method.is_token() && tokens.is_empty() {
        return Ok(Err(DcvFailure {
            code: codes::INVALID_DCV_METHOD.into(),
            message: format!(
                "Domain {} has no unexpired random value; request a new one (POST /domain/{}/dcv/token).",
                d.name, d.id
            ),
        }));
    }
    let checked = state.validator.check(d.dcv_method, &d.name, &tokens).await;
    state
        .metrics
        .dcv_check(d.dcv_method.as_str(), checked.is_ok());
    if let Err(f) = checked {
        return Ok(Err(f));
    }
    // The value may have been replaced (or the method switched) while the
    // lookup ran: only the value still current counts.
    let current = state.store.get_domain(d.account_id, d.id).await?;
    match current {
        Some(c) if c.dcv_method == d.dcv_method && c.dcv_token == d.dcv_token && c.is_active => {
            mark_domain_validated(state, &c).await?;
            Ok(Ok(()))
        }
        _ => Ok(Err(DcvFailure {
            code: codes::INVALID_DCV_METHOD.into(),
            message: format!(
                "Domain {}'s DCV method or random value changed during the check; check again.",
                d.name
            ),
        })),
    }
}

/// The DCV poller: re-checks due pending domains, backing off per failed
/// check, until their random value expires.
pub async fn run_poller(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.config.dcv.poll_interval_seconds.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = state.wake_dcv.notified() => {}
            _ = shutdown.changed() => return,
        }
        state.metrics.job_run("dcv_poller");
        if state.config.sandbox {
            continue;
        }
        // Due domains in small batches, each held from the pollers of other
        // instances for as long as its checks may take.
        loop {
            let n = now();
            let hold = poll_hold(&state);
            let due = match state
                .store
                .claim_domains_due_for_dcv(n, POLL_BATCH, n + hold)
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "DCV poller could not list domains");
                    break;
                }
            };
            if due.is_empty() {
                break;
            }
            if poll_batch(&state, due, &mut shutdown).await.is_break() {
                return;
            }
        }
    }
}

/// Due domains claimed at a time by the DCV poller.
const POLL_BATCH: i64 = 16;

/// How long the poller holds the domains it claimed: every check of the
/// batch may take the lookup timeout several times (DNS, then HTTP with
/// redirects), with a minute to spare.
fn poll_hold(state: &AppState) -> Duration {
    let per_domain = 3 * state.config.dcv.timeout_seconds.max(1) as i64;
    Duration::seconds(60 + POLL_BATCH * per_domain)
}

/// Checks a claimed batch; `Break` when the server is shutting down.
async fn poll_batch(
    state: &AppState,
    due: Vec<Domain>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> ControlFlow<()> {
    for d in due {
        if *shutdown.borrow() {
            return ControlFlow::Break(());
        }
        // A lookup in flight must not hold up shutdown.
        let checked = tokio::select! {
            r = check_domain(state, &d) => r,
            _ = shutdown.changed() => return ControlFlow::Break(()),
        };
        let f = match checked {
            Ok(Ok(())) => {
                state.wake_issuer.notify_one();
                continue;
            }
            Ok(Err(f)) => f,
            Err(e) => {
                tracing::warn!(domain = %d.name, error = %e.message, "DCV poller: check not recorded");
                continue;
            }
        };
        let attempts = u32::try_from(d.dcv_attempts).unwrap_or(u32::MAX);
        let wait = rules::backoff_seconds(
            attempts,
            state.config.dcv.poll_base_seconds,
            state.config.dcv.poll_max_seconds,
        );
        let next = now() + Duration::seconds(wait as i64);
        tracing::debug!(domain = %d.name, error = %f.message, next = %next, "DCV check failed");
        if let Err(e) = state
            .store
            .record_dcv_attempt(d.id, d.dcv_token.as_deref(), next, Some(&f.message))
            .await
        {
            tracing::warn!(error = %e, "DCV poller could not record a check");
        }
    }
    ControlFlow::Continue(())
}

/// Records a one-time link (128-bit secret; only its hash is stored)
/// for `target` (a domain or an order's mailbox) and `email`, valid for
/// `ttl`, and returns its URL.
async fn new_link(
    state: &AppState,
    account_id: i64,
    target: LinkTarget,
    email: &str,
    ttl: Duration,
) -> Result<String> {
    let secret = crate::token::random_hex(16)?;
    let n = now();
    state
        .store
        .create_validation_link(&NewValidationLink {
            account_id,
            target,
            email: email.to_string(),
            token_hash: hash_api_key(&secret),
            expires_at: n + ttl,
            sent_at: n,
        })
        .await?;
    Ok(format!("{}/validate/{secret}", state.config.base_url()))
}

/// Where DCV email for `d` may go: the constructed addresses and those
/// published in `_validation-contactemail.<domain>`.
/// Without an SMTP relay no DCV email can go out, so the TXT lookup is
/// skipped too.
pub async fn dcv_addresses(state: &AppState, d: &Domain) -> DcvAddresses {
    let dns_txt = if state.mailer.configured() {
        state.validator.contact_emails(&d.name).await
    } else {
        Vec::new()
    };
    DcvAddresses {
        base: rules::constructed_emails(&d.name),
        dns_txt,
    }
}

/// Where a domain's DCV email goes.
pub struct DcvAddresses {
    /// The constructed addresses (admin@, webmaster@, …).
    pub base: Vec<String>,
    /// The addresses published in the domain's DNS TXT contact record.
    pub dns_txt: Vec<String>,
}

/// Sends DCV email for `d` to every allowed address, each with its own
/// one-time link. Returns the addresses written to; sending errors are
/// logged (the links stay valid, a resend may follow).
pub async fn send_domain_emails(state: &AppState, d: &Domain) -> Result<Vec<String>> {
    if !state.mailer.configured() {
        tracing::warn!(domain = %d.name, "no SMTP relay (smtp.host): DCV email not sent");
        return Ok(Vec::new());
    }
    let addresses = dcv_addresses(state, d).await;
    let mut sent = Vec::new();
    for to in addresses.base.iter().chain(addresses.dns_txt.iter()) {
        let url = new_link(
            state,
            d.account_id,
            LinkTarget::Domain { domain_id: d.id },
            to,
            Duration::days(DOMAIN_LINK_DAYS),
        )
        .await?;
        let body = format!(
            "A certificate was requested for names under {name}.\r\n\r\n\
             To confirm that you control {name} and approve certificates for it, open this link \
             (valid for {DOMAIN_LINK_DAYS} days, usable once):\r\n\r\n{url}\r\n\r\n\
             If you did not expect this message, ignore it; nothing is issued without your approval.\r\n",
            name = d.name
        );
        match state
            .mailer
            .send(
                to,
                &format!("Domain control validation for {}", d.name),
                body,
            )
            .await
        {
            Ok(()) => sent.push(to.clone()),
            Err(e) => tracing::warn!(domain = %d.name, to = %to, error = %e, "DCV email not sent"),
        }
    }
    Ok(sent)
}

/// Sends the validation email of one address of a mailbox-validated order.
pub async fn send_mailbox_email(
    state: &AppState,
    account_id: i64,
    order_id: i64,
    email: &str,
) -> Result<bool> {
    if !state.mailer.configured() {
        tracing::warn!(
            order = order_id,
            "no SMTP relay (smtp.host): mailbox validation email not sent"
        );
        return Ok(false);
    }
    let url = new_link(
        state,
        account_id,
        LinkTarget::Mailbox { order_id },
        email,
        Duration::hours(MAILBOX_LINK_HOURS),
    )
    .await?;
    let body = format!(
        "A secure email (S/MIME) certificate was requested for {email} (order {order_id}).\r\n\r\n\
         To confirm that you control this mailbox, open this link \
         (valid for {MAILBOX_LINK_HOURS} hours, usable once):\r\n\r\n{url}\r\n\r\n\
         If you did not request it, ignore this message.\r\n"
    );
    match state
        .mailer
        .send(email, "Confirm your email address", body)
        .await
    {
        Ok(()) => {
            state
                .store
                .mark_order_email_sent(order_id, email, now())
                .await?;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(order = order_id, to = %email, error = %e, "mailbox validation email not sent");
            Ok(false)
        }
    }
}

/// An unexpired, unused link by its secret.
pub async fn open_link(state: &AppState, secret: &str) -> Result<ValidationLink> {
    let invalid = || {
        Error::not_found(
            codes::VALIDATION_LINK_INVALID,
            "This validation link is unknown, already used or expired.",
        )
    };
    if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let link = state
        .store
        .find_validation_link(&hash_api_key(&secret.to_ascii_lowercase()))
        .await?
        .ok_or_else(invalid)?;
    if link.used_at.is_some() || link.expires_at <= now() {
        return Err(invalid());
    }
    Ok(link)
}

/// What a confirmed link validated.
pub enum Confirmed {
    Domain(String),
    Mailbox(String),
}

/// Uses the link once and records what it proves.
pub async fn confirm_link(state: &AppState, link: &ValidationLink) -> Result<Confirmed> {
    let n = now();
    if !state.store.use_validation_link(link.id, n).await? {
        return Err(Error::not_found(
            codes::VALIDATION_LINK_INVALID,
            "This validation link is unknown, already used or expired.",
        ));
    }
    match link.target {
        LinkTarget::Domain { domain_id } => {
            let d = state
                .store
                .get_domain(link.account_id, domain_id)
                .await?
                // A link from before a switch to another method, or to an
                // inactive domain, no longer validates anything.
                .filter(|d| d.dcv_method == DcvMethod::Email && d.is_active)
                .ok_or_else(|| Error::not_found(codes::NOT_FOUND_DOMAIN, "The domain is gone."))?;
            mark_domain_validated(state, &d).await?;
            state.wake_issuer.notify_one();
            Ok(Confirmed::Domain(d.name))
        }
        LinkTarget::Mailbox { order_id } => {
            state
                .store
                .set_order_email_validated(order_id, &link.email, n)
                .await?;
            state.wake_issuer.notify_one();
            Ok(Confirmed::Mailbox(link.email.clone()))
        }
    }
}

/// The CAA uses of a certificate's names: TLS names (wildcards use
/// issuewild) or the domains of S/MIME addresses.
pub fn caa_uses_tls(names: &[String]) -> Vec<(String, CaaUse)> {
    names
        .iter()
        .map(|n| {
            (
                n.trim_start_matches("*.").to_string(),
                CaaUse::Tls {
                    wildcard: n.starts_with("*."),
                },
            )
        })
        .collect()
}

pub fn caa_uses_email(domains: &[String]) -> Vec<(String, CaaUse)> {
    domains.iter().map(|d| (d.clone(), CaaUse::Email)).collect()
}

pub fn org_validation_facts(v: &[certwell_store::OrgValidation]) -> Vec<OrgValidationFact> {
    v.iter()
        .map(|v| OrgValidationFact {
            kind: v.kind,
            status: v.status,
            validated_until: v.validated_until,
        })
        .collect()
}

pub fn domain_fact(d: &certwell_store::Domain) -> DomainFact<'_> {
    DomainFact {
        name: &d.name,
        is_active: d.is_active,
        validated_until: d.validated_until,
        exact_only: d.dcv_method == DcvMethod::HttpToken,
    }
}

/// Whether `d` is active and validated now.
pub fn domain_validated(d: &certwell_store::Domain) -> bool {
    domain_fact(d).is_validated(now())
}

/// What a validation link confirms.
pub enum LinkSubject {
    /// Control of a domain (its name; empty if the domain is gone).
    Domain(String),
    /// A mailbox of an order.
    Mailbox { order_id: i64 },
}

pub async fn link_subject(state: &AppState, link: &ValidationLink) -> LinkSubject {
    match link.target {
        LinkTarget::Mailbox { order_id } => LinkSubject::Mailbox { order_id },
        LinkTarget::Domain { domain_id } => LinkSubject::Domain(
            state
                .store
                .get_domain(link.account_id, domain_id)
                .await
                .ok()
                .flatten()
                .map(|d| d.name)
                .unwrap_or_default(),
        ),
    }
}
