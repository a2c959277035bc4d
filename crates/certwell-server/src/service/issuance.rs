//! Turning an approved, validated order into a certificate.
//!
//! Invariants (Boulder's): the serial is recorded durably, together with a
//! claim on the certificate row, before anything is signed; a certificate
//! whose signing fails gives the claim back and its serial is never reused.

use crate::service::order_data::{OrderData, OrderPlan};
use crate::service::profile::{tls_max_days, tls_subject, validity_window, LeafSpec};
use crate::service::validation::{domain_fact, org_validation_facts};
use certwell_store::{Aggregate, CertificateKind, CertificateStatus, OrderStatus};
use std::collections::HashMap;
use std::sync::Arc;

use certwell_api::order::ChainEntry;
use certwell_ca::RecordedSerial;
use certwell_policy::issuance::issuance_blockers as policy_blockers;
use certwell_policy::organization::NewOrganization;
use certwell_policy::reissue::ExtraPlan;
use certwell_policy::validity::PlanTerm;
use certwell_policy::{catalog::find_product, ValidationLevel};
use certwell_store::{IssuedCertificate, Order, StoreError};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::pem::cert_pem;
use crate::service::hierarchy::{ca_cert_url, ca_crl_url};
use crate::service::ledger;
use crate::state::AppState;

pub fn chain_entries(
    state: &AppState,
    leaf_cn: &str,
    leaf_der: &[u8],
    ca_id: &str,
) -> Vec<ChainEntry> {
    let mut v = vec![ChainEntry {
        subject_common_name: leaf_cn.to_string(),
        pem: cert_pem(leaf_der),
    }];
    for ca in state.cas().chain(ca_id) {
        v.push(ChainEntry {
            subject_common_name: ca.name.clone(),
            pem: cert_pem(&ca.cert_der),
        });
    }
    v
}

/// What still blocks issuance of `order` (empty: issuable); an order that
/// is not approved (`pending`) is blocked by that alone.
pub async fn blockers(state: &AppState, order: &Order, data: &OrderData) -> Result<Vec<Blocker>> {
    if order.status != OrderStatus::Pending {
        return Ok(vec![Blocker::NotApproved]);
    }
    if sandbox_delay_pending(state, order.created_at) {
        return Ok(vec![Blocker::SandboxDelay]);
    }
    validation_blockers(state, order, data, None).await
}

/// How long a CAA failure holds a certificate back before the next check.
pub const CAA_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// Certificates held back by CAA: a certificate whose names CAA forbids
/// is not looked at again for [`CAA_RETRY`], unless the organizations and
/// domains change meanwhile (their epoch on the store's change feed, which
/// follows every instance's writes) or the hold is released (an explicit
/// check). Per instance; at most 10,000 held at once.
#[derive(Default)]
pub struct CaaHolds(std::sync::Mutex<HashMap<i64, (std::time::Instant, u64)>>);

impl CaaHolds {
    /// Whether `cert_id` is still held.
    pub fn holds(&self, state: &AppState, cert_id: i64) -> bool {
        let epoch = state.store.changes().epoch(Aggregate::Organizations);
        let holds = self.0.lock().unwrap_or_else(|p| p.into_inner());
        holds
            .get(&cert_id)
            .is_some_and(|(at, e)| *e == epoch && at.elapsed() < CAA_RETRY)
    }

    /// Holds `cert_id`, found forbidden by CAA under the organizations'
    /// `epoch` (read before the look-up).
    pub fn hold(&self, cert_id: i64, epoch: u64) {
        let mut holds = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if holds.len() > 10_000 {
            holds.clear();
        }
        holds.insert(cert_id, (std::time::Instant::now(), epoch));
    }

    pub fn release(&self, cert_id: i64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&cert_id);
    }
}

/// The CAA failure for a certificate of `product` for `names` (TLS names,
/// or the address domains of an S/MIME certificate), if any. Sandbox mode,
/// client and document-signing certificates are not checked.
pub async fn caa_failure(
    state: &AppState,
    product: &str,
    names: &[String],
) -> Option<crate::service::dcv::DcvFailure> {
    if state.config.sandbox {
        return None;
    }
    let uses = match find_product(product).map(|p| p.family) {
        Some(certwell_policy::catalog::Family::Tls) => {
            crate::service::validation::caa_uses_tls(names)
        }
        Some(certwell_policy::catalog::Family::SecureEmail) => {
            crate::service::validation::caa_uses_email(names)
        }
        _ => return None,
    };
    state.validator.check_caa(&uses).await.err()
}

/// `--validation-delay`: a sandbox order waits this long after creation.
pub fn sandbox_delay_pending(state: &AppState, created_at: OffsetDateTime) -> bool {
    let delay = state.config.validation_delay_seconds;
    if !state.config.sandbox || delay == 0 {
        return false;
    }
    OffsetDateTime::now_utc() < created_at + Duration::seconds(delay as i64)
}

/// What validation still blocks a certificate of `order` for `names`
/// (None: the order's own names).
pub async fn validation_blockers(
    state: &AppState,
    order: &Order,
    data: &OrderData,
    names: Option<&[String]>,
) -> Result<Vec<Blocker>> {
    let product = find_product(&order.product_name_id)
        .ok_or_else(|| Error::internal("The order names an unknown product."))?;
    let now = crate::clock::now();
    if order.organization_id == 0 {
        // Mailbox-validated: every address on its own.
        let emails = state.store.order_emails(order.id).await?;
        return Ok(certwell_policy::issuance::mailbox_blockers(
            emails.iter().map(|e| (e.email.as_str(), e.status)),
        )
        .into_iter()
        .map(Blocker::Validation)
        .collect());
    }
    let (org, domains) = state
        .store
        .organization_with_domains(order.account_id, order.organization_id)
        .await?
        .ok_or_else(|| Error::internal("The order's organization is missing."))?;
    let names: Vec<String> = match (&data.plan, names) {
        (OrderPlan::Tls(_), Some(n)) => n.to_vec(),
        (OrderPlan::Tls(p), None) => p.sans.clone(),
        (OrderPlan::Smime(p), _) => crate::service::profile::email_domains(&p.emails),
    };
    let org_data: Option<NewOrganization> = serde_json::from_value(org.data.clone()).ok();
    let mut out = policy_blockers(
        product.validation,
        &org_validation_facts(&org.validations),
        &domains.iter().map(domain_fact).collect::<Vec<_>>(),
        &names,
        now,
    );
    out.extend(crate::service::profile::registration_blocker(
        state,
        product,
        org_data.as_ref(),
    ));
    Ok(out.into_iter().map(Blocker::Validation).collect())
}

/// Wakes the issuer when dropped, once armed: a request that validated
/// something gives its own order the first chance to issue, then lets the
/// sweeper look at every other waiting order, on every way out.
pub struct WakeIssuerOnDrop<'a> {
    state: &'a AppState,
    armed: bool,
}

impl<'a> WakeIssuerOnDrop<'a> {
    pub fn new(state: &'a AppState) -> Self {
        WakeIssuerOnDrop {
            state,
            armed: false,
        }
    }

    pub fn arm(&mut self) {
        self.armed = true;
    }
}

impl Drop for WakeIssuerOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.state.wake_issuer.notify_one();
        }
    }
}

/// Why an order is not issued yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    NotApproved,
    /// Sandbox `--validation-delay` has not passed yet.
    SandboxDelay,
    /// A CAA record forbids issuance: the vendor's `caa_check_failed|<name>`.
    Caa(String),
    Validation(certwell_policy::issuance::Blocker),
}

impl Blocker {
    /// (code, message) as order info's `pending_reasons` shows it.
    pub fn reason(&self) -> (&'static str, String) {
        match self {
            Blocker::NotApproved => (
                "not_approved",
                "The order's request is waiting for approval.".into(),
            ),
            Blocker::SandboxDelay => (
                "sandbox_delay",
                "The sandbox's validation delay has not passed yet.".into(),
            ),
            Blocker::Caa(name) => (
                "caa_check_failed",
                format!("A CAA record forbids issuance for '{name}'."),
            ),
            Blocker::Validation(b) => (b.code(), b.message()),
        }
    }
}

/// Why a waiting order (`pending` or `needs_approval`) is not issued yet,
/// for order info; empty for other orders.
pub async fn pending_reasons(state: &AppState, order: &Order) -> Result<Vec<Blocker>> {
    if !matches!(
        order.status,
        OrderStatus::Pending | OrderStatus::NeedsApproval
    ) {
        return Ok(Vec::new());
    }
    let data = OrderData::from_order(order)?;
    blockers(state, order, &data).await
}

/// A certificate whose serial is recorded and whose row is claimed: all
/// that is left is to sign it and store the result.
pub struct SignJob {
    /// The order's product (for the issued-certificates metric).
    pub product: &'static str,
    pub account_id: i64,
    pub order_id: i64,
    pub certificate_id: i64,
    pub ca: Arc<crate::service::hierarchy::LoadedCa>,
    pub serial: RecordedSerial,
    pub leaf: LeafSpec,
    pub spki: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub leaf_cn: String,
}

/// How many serials one reservation records.
pub const SERIAL_BLOCK: usize = 128;

/// A serial of `ca_id` already recorded in the database: from the pool, or
/// from a new block reserved (durably) now. Never handed out twice; a
/// serial whose certificate is never stored stays recorded and unused.
pub async fn take_reserved_serial(state: &AppState, ca_id: &str) -> Result<RecordedSerial> {
    if let Some(s) = state
        .serial_pool
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(ca_id)
        .and_then(Vec::pop)
    {
        return Ok(s);
    }
    let (mut block, ()) =
        RecordedSerial::reserve(ledger::Serials(state.store.as_ref()), ca_id, SERIAL_BLOCK).await?;
    let mine = block
        .pop()
        .ok_or_else(|| Error::internal("empty serial block"))?;
    state
        .serial_pool
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(ca_id.to_string())
        .or_default()
        .extend(block);
    Ok(mine)
}

/// Stores `order`; with `serial_for` (the issuing CA of a certificate to
/// sign right after), a fresh serial of that CA is recorded and the
/// certificate claimed in the same transaction, and returned.
pub async fn create_order(
    state: &AppState,
    order: certwell_store::NewOrder,
    serial_for: Option<&str>,
) -> Result<(certwell_store::CreatedOrder, Option<RecordedSerial>)> {
    let write = async {
        match serial_for {
            None => Ok((state.store.create_order(&order).await?, None)),
            Some(ca_id) => {
                let (serial, created) = RecordedSerial::reserve_one(
                    ledger::WithOrder(state.store.as_ref(), order),
                    ca_id,
                )
                .await?;
                Ok((created, Some(serial)))
            }
        }
    };
    state.metrics.db_write("create_order", write).await
}

/// Signs `leaf` with a pre-reserved serial of `ca`, for storing with its
/// order in one transaction.
pub async fn presign(
    state: &AppState,
    ca: &Arc<crate::service::hierarchy::LoadedCa>,
    leaf: LeafSpec,
    spki: Vec<u8>,
    nb: OffsetDateTime,
    na: OffsetDateTime,
) -> Result<certwell_store::PreIssued> {
    // The blocklist first: a refused key uses up no serial.
    refuse_blocked_key(state, &certwell_ca::spki_sha256_hex(&spki)).await?;
    let serial = take_reserved_serial(state, &ca.id).await?;
    let serial_hex = serial.hex();
    let der = build_and_sign(state, ca, serial, leaf, spki, nb, na)
        .await
        .map_err(|e| signing_error(&ca.id, e))?;
    Ok(certwell_store::PreIssued {
        ca_id: ca.id.clone(),
        serial_hex,
        thumbprint: certwell_ca::sha1_thumbprint_hex_upper(&der),
        der,
        valid_from: nb,
        valid_till: na,
    })
}

/// The API error for a certificate that was not signed: a profile
/// violation names the rule (nothing was signed); anything else is the
/// CA's own failure.
fn signing_error(ca_id: &str, e: certwell_ca::CaError) -> Error {
    tracing::error!(ca = %ca_id, error = %e, "signing failed");
    match e {
        certwell_ca::CaError::Profile(why) => Error::bad_request(
            certwell_api::error::codes::CERTIFICATE_PROFILE_VIOLATION,
            format!("The certificate was not issued: it would violate its profile ({why})."),
        ),
        certwell_ca::CaError::Unavailable(_) => Error::unavailable(
            "The CA's signing key is unavailable right now (its HSM does not answer); retry later.",
        ),
        _ => Error::internal("The certificate could not be signed."),
    }
}

/// Refuses a key on the blocklist of keys revoked for compromise, right
/// before every signature (the key may have been blocked since the order
/// was placed or its CSR attached). The store refuses such a key when an
/// order, a reissue or a CSR is written, and its triggers refuse such a
/// certificate row as a backstop.
pub async fn refuse_blocked_key(state: &AppState, spki_sha256_hex: &str) -> Result<()> {
    if state.store.is_key_blocked(spki_sha256_hex).await? {
        return Err(Error::bad_request(
            certwell_api::error::codes::CSR_WEAK_KEY,
            "The field 'certificate.csr' carries a key that was revoked for key compromise; it may not be certified again.",
        ));
    }
    Ok(())
}

/// Builds and signs the leaf of `job` (ECDSA in place, RSA on the
/// blocking pool), after the last look at the blocklist. The serial must
/// have been recorded already: the type says so.
pub async fn sign_leaf(
    state: &AppState,
    ca: &Arc<crate::service::hierarchy::LoadedCa>,
    serial: RecordedSerial,
    leaf: LeafSpec,
    spki: Vec<u8>,
    nb: OffsetDateTime,
    na: OffsetDateTime,
) -> Result<Vec<u8>> {
    refuse_blocked_key(state, &certwell_ca::spki_sha256_hex(&spki)).await?;
    build_and_sign(state, ca, serial, leaf, spki, nb, na)
        .await
        .map_err(|e| signing_error(&ca.id, e))
}

async fn build_and_sign(
    state: &AppState,
    ca: &Arc<crate::service::hierarchy::LoadedCa>,
    serial: RecordedSerial,
    leaf: LeafSpec,
    spki: Vec<u8>,
    nb: OffsetDateTime,
    na: OffsetDateTime,
) -> std::result::Result<Vec<u8>, certwell_ca::CaError> {
    serial.for_issuer(&ca.id)?;
    let base = state.config.base_url();
    let crl_url = ca_crl_url(&base, &ca.id);
    let crt_url = ca_cert_url(&base, &ca.id);
    let ocsp_url = format!("{base}/ocsp");
    let signer = Arc::clone(ca.signer()?);
    let (ca_id, key_algorithm) = (ca.id.clone(), ca.key_algorithm);
    let ca = Arc::clone(ca);
    let blocking = signer.may_block();
    let build = move || match leaf {
        LeafSpec::Tls {
            ev,
            subject,
            sans,
            max_validity_days,
        } => {
            let req = certwell_ca::TlsLeafRequest {
                ev,
                subject: &subject,
                dns_names: &sans,
                subject_spki_der: &spki,
                serial,
                not_before: nb,
                not_after: na,
                max_validity_days,
                crl_url: &crl_url,
                ca_issuers_url: &crt_url,
                ocsp_url: Some(&ocsp_url),
            };
            certwell_ca::build_tls_leaf(req, &ca.cert_der, signer.as_ref())
        }
        LeafSpec::Subscriber(s) => {
            let req = certwell_ca::SubscriberLeafRequest {
                subject: &s.subject,
                emails: &s.emails,
                upn: s.upn.as_deref(),
                key_usage: s.key_usage,
                ext_key_usages: &s.ext_key_usages,
                policy_oids: &s.policy_oids,
                subject_spki_der: &spki,
                serial,
                not_before: nb,
                not_after: na,
                profile: s.profile,
                max_validity_days: s.max_validity_days,
                crl_url: &crl_url,
                ca_issuers_url: &crt_url,
                ocsp_url: Some(&ocsp_url),
                signature: s.scheme,
            };
            certwell_ca::build_subscriber_leaf(req, &ca.cert_der, signer.as_ref())
        }
    };
    // ECDSA signing in software takes tens of microseconds: do it in place
    // rather than paying a thread hop. RSA signing (a millisecond or more)
    // and every token call go to the blocking pool so they do not stall
    // the async workers.
    let started = std::time::Instant::now();
    let signed = if blocking {
        tokio::task::spawn_blocking(build)
            .await
            .map_err(|e| certwell_ca::CaError::Signing(e.to_string()))?
    } else {
        build()
    };
    if signed.is_ok() {
        state.metrics.signed(
            &ca_id,
            key_algorithm.as_str(),
            started.elapsed().as_secs_f64(),
        );
    }
    signed
}

/// Signs a claimed certificate and records it. On failure the claim is
/// released (the serial stays used).
pub async fn sign_and_record(state: &AppState, job: SignJob) -> Result<(i64, Vec<ChainEntry>)> {
    let serial_hex = job.serial.hex();
    let signed = sign_leaf(
        state,
        &job.ca,
        job.serial,
        job.leaf,
        job.spki,
        job.not_before,
        job.not_after,
    )
    .await;
    let der = match signed {
        Ok(der) => der,
        Err(why) => {
            let _ = state.store.release_claim(job.certificate_id).await;
            tracing::error!(order = job.order_id, error = %why.message, "certificate not signed");
            return Err(why);
        }
    };
    let thumbprint = certwell_ca::sha1_thumbprint_hex_upper(&der);
    let record = IssuedCertificate {
        certificate_id: job.certificate_id,
        order_id: job.order_id,
        ca_id: job.ca.id.clone(),
        serial_hex,
        der: der.clone(),
        thumbprint,
        valid_from: job.not_before,
        valid_till: job.not_after,
        date_issued: crate::clock::now(),
    };
    // A signed certificate must not be lost to a transient storage error
    // (the database unreachable or busy): retry with backoff before giving
    // up. A permanent refusal is not retried. Either way the claim then
    // stays until it is stale (CLAIM_LEASE) and is taken back, and the
    // serial is never reused.
    let mut delay = std::time::Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        match state
            .metrics
            .db_write("record_issued", state.store.record_issued(&record))
            .await
        {
            Ok(()) => break,
            Err(StoreError::Unavailable(e)) if attempt < 5 => {
                tracing::warn!(order = job.order_id, error = %e, "recording the issued certificate failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(order = job.order_id, certificate = job.certificate_id, ca = %job.ca.id, "certificate issued");
    state.metrics.issued(job.product);
    let _ = job.account_id;
    Ok((
        job.certificate_id,
        chain_entries(state, &job.leaf_cn, &der, &job.ca.id),
    ))
}

/// Runs [`sign_and_record`] in its own task, so a client that disconnects
/// mid-request cannot abandon a claimed certificate half-way.
pub async fn sign_and_record_detached(
    state: Arc<AppState>,
    job: SignJob,
) -> Result<(i64, Vec<ChainEntry>)> {
    tokio::spawn(async move { sign_and_record(&state, job).await })
        .await
        .map_err(|_| Error::internal("The signing task failed."))?
}

/// Issues `order` if nothing blocks it. Returns the chain when this call
/// issued it; None when it is blocked or someone else is issuing it.
pub async fn try_issue(
    state: &Arc<AppState>,
    account_id: i64,
    order_id: i64,
) -> Result<Option<(i64, Vec<ChainEntry>)>> {
    let Some(order) = state.store.get_order(account_id, order_id).await? else {
        return Ok(None);
    };
    let Some(cert_id) = order.certificate_id else {
        return Ok(None);
    };
    try_issue_certificate(state, &order, cert_id).await
}

/// [`try_issue`], but when another worker (the sweeper, the DCV poller,
/// another instance) holds the certificate's claim, waits for that
/// signature instead of answering "not issued": a caller that has just
/// unblocked the order learns its outcome. The wait ends after the
/// signing time an HSM under load may take; the claim's holder, not this
/// call, records the certificate.
pub async fn try_issue_or_follow(
    state: &Arc<AppState>,
    account_id: i64,
    order_id: i64,
) -> Result<Option<i64>> {
    if let Some((cid, _)) = try_issue(state, account_id, order_id).await? {
        return Ok(Some(cid));
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let Some(order) = state.store.get_order(account_id, order_id).await? else {
            return Ok(None);
        };
        let Some(cert_id) = order.certificate_id else {
            return Ok(None);
        };
        let Some(cert) = state.store.get_certificate(account_id, cert_id).await? else {
            return Ok(None);
        };
        match cert.status {
            CertificateStatus::Issued => return Ok(Some(cert_id)),
            CertificateStatus::Issuing if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            _ => return Ok(None),
        }
    }
}

/// The names, server platform and CA a reissue or duplicate asked for.
pub fn extra_plan(cert: &certwell_store::Certificate) -> Option<ExtraPlan> {
    cert.data
        .as_ref()
        .and_then(|d| serde_json::from_value(d.clone()).ok())
}

/// Issues certificate `cert_id` of `order` (its primary certificate, or a
/// reissue or duplicate) if nothing blocks it.
pub async fn try_issue_certificate(
    state: &Arc<AppState>,
    order: &Order,
    cert_id: i64,
) -> Result<Option<(i64, Vec<ChainEntry>)>> {
    let (account_id, order_id) = (order.account_id, order.id);
    let data = OrderData::from_order(order)?;
    let cert_row = state
        .store
        .get_certificate(account_id, cert_id)
        .await?
        .ok_or_else(|| Error::internal("The order's certificate record is missing."))?;
    if cert_row.status != CertificateStatus::Pending
        || cert_row.csr.is_empty()
        || cert_row.order_id != order_id
    {
        return Ok(None);
    }
    let extra =
        if cert_row.kind == CertificateKind::Primary {
            None
        } else {
            Some(extra_plan(&cert_row).ok_or_else(|| {
                Error::internal("The reissue/duplicate record could not be read.")
            })?)
        };
    let blocked = match &extra {
        None => !blockers(state, order, &data).await?.is_empty(),
        Some(x) => !validation_blockers(state, order, &data, Some(&x.sans))
            .await?
            .is_empty(),
    };
    if blocked {
        return Ok(None);
    }
    // CAA, at most once a minute per certificate while it forbids issuance.
    if state.caa_holds.holds(state, cert_id) {
        return Ok(None);
    }
    let caa_names = match (&extra, &data.plan) {
        (Some(x), _) => x.sans.clone(),
        (None, OrderPlan::Tls(p)) => p.sans.clone(),
        (None, OrderPlan::Smime(p)) => crate::service::profile::email_domains(&p.emails),
    };
    let epoch = state.store.changes().epoch(Aggregate::Organizations);
    if let Some(f) = caa_failure(state, &order.product_name_id, &caa_names).await {
        tracing::info!(order = order_id, code = %f.code, "CAA forbids issuance");
        state.caa_holds.hold(cert_id, epoch);
        return Ok(None);
    }
    state.caa_holds.release(cert_id);
    let org = if order.organization_id == 0 {
        None
    } else {
        Some(
            state
                .store
                .get_organization(account_id, order.organization_id)
                .await?
                .ok_or_else(|| Error::internal("The order's organization is missing."))?,
        )
    };
    let org_data: Option<NewOrganization> = org
        .as_ref()
        .map(|o| serde_json::from_value(o.data.clone()))
        .transpose()
        .map_err(|_| Error::internal("The organization record could not be read."))?;
    let product = find_product(&order.product_name_id)
        .ok_or_else(|| Error::internal("The order names an unknown product."))?;
    let ca = state
        .cas()
        .get(
            extra
                .as_ref()
                .and_then(|x| x.ca_cert_id.as_deref())
                .unwrap_or(&data.ca_cert_id),
        )
        .cloned()
        .ok_or_else(|| Error::internal("The order's issuing CA is not loaded."))?;
    let csr = certwell_ca::parse_and_verify_csr(&cert_row.csr)
        .map_err(|e| Error::internal(format!("The stored CSR no longer verifies: {e}")))?;
    let now = OffsetDateTime::now_utc();
    let (leaf, leaf_cn, not_before, not_after) = match &data.plan {
        OrderPlan::Tls(plan) => {
            let (org, org_data) = org
                .as_ref()
                .zip(org_data.as_ref())
                .ok_or_else(|| Error::internal("A TLS order has no organization."))?;
            let ev = product.validation == ValidationLevel::Ev;
            // The order's first certificate may be shorter than its term
            // (cert_validity); reissues and duplicates run to the term.
            let end = match &extra {
                Some(_) => &plan.term_end,
                None => plan.first_certificate_end(),
            };
            let (nb, na) = validity_window(state, end, now)?;
            let (cn, sans) = match &extra {
                Some(x) => (x.common_name.clone().unwrap_or_default(), x.sans.clone()),
                None => (plan.common_name.clone(), plan.sans.clone()),
            };
            let subject = tls_subject(state, ev, org_data, org.created_at, &cn);
            let leaf = LeafSpec::Tls {
                ev,
                subject,
                sans,
                max_validity_days: tls_max_days(state, now),
            };
            (leaf, cn, nb, na)
        }
        OrderPlan::Smime(plan) => {
            let end = match &extra {
                Some(_) => &plan.term_end,
                None => plan.first_certificate_end(),
            };
            let (nb, na) = crate::service::profile::smime_validity(plan, end, now)?;
            let mut plan = plan.as_ref().clone();
            if let Some(x) = &extra {
                plan.signature_hash = x.signature_hash.clone();
            }
            let spec = crate::service::profile::subscriber_spec(
                state,
                &plan,
                org_data.as_ref(),
                &csr,
                &ca,
            )?;
            (
                LeafSpec::Subscriber(spec),
                order.common_name.clone(),
                nb,
                na,
            )
        }
    };
    // Record the serial and claim the certificate before signing.
    let claim = ledger::ClaimingCertificate(state.store.as_ref(), cert_id);
    let serial = match RecordedSerial::reserve_one(claim, &ca.id).await {
        Ok((serial, ())) => serial,
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let job = SignJob {
        product: find_product(&order.product_name_id)
            .map(|p| p.name_id)
            .unwrap_or("unknown"),
        account_id,
        order_id,
        certificate_id: cert_id,
        ca,
        serial,
        leaf,
        spki: csr.spki_der,
        not_before,
        not_after,
        leaf_cn,
    };
    sign_and_record_detached(Arc::clone(state), job)
        .await
        .map(Some)
}

/// How long a claim (a certificate being signed) is its holder's. Signing
/// takes milliseconds, an HSM under load seconds; a claim older than this
/// was left by a process that died, and the sweeper gives it to another
/// (with a new serial: the old holder's signature, should it still come,
/// can no longer be recorded).
pub const CLAIM_LEASE: Duration = Duration::minutes(2);

/// Background sweeper: issues every approved order whose blockers cleared,
/// and takes back claims older than [`CLAIM_LEASE`].
pub async fn run_sweeper(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.config.issuance_poll_seconds.max(1));
    loop {
        let woken = tokio::select! {
            _ = tokio::time::sleep(period) => false,
            _ = state.wake_issuer.notified() => true,
            _ = shutdown.changed() => return,
        };
        state.metrics.job_run("sweeper");
        // Walk every waiting order in pages (a cursor, so old blocked orders
        // cannot starve newer ones). On the timer, orders changed in the
        // last second are left to the request changing them; woken by a
        // change that may unblock orders (a validation, an approval), every
        // waiting order counts, however new: the claim keeps a certificate
        // from being issued twice.
        let cutoff = if woken {
            crate::clock::now() + Duration::seconds(1)
        } else {
            crate::clock::now() - Duration::seconds(1)
        };
        if !woken {
            match state
                .store
                .reset_stale_claims(crate::clock::now() - CLAIM_LEASE)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    count = n,
                    "certificates claimed for signing too long ago (an instance died) were returned to pending"
                ),
                Err(e) => tracing::warn!(error = %e, "sweeper could not reset stale claims"),
            }
        }
        let mut after = 0;
        loop {
            let list = match state
                .store
                .orders_awaiting_issuance(cutoff, after, 500)
                .await
            {
                Ok(list) => list,
                Err(e) => {
                    tracing::warn!(error = %e, "sweeper could not list orders");
                    break;
                }
            };
            let Some(&(_, last)) = list.last() else { break };
            after = last;
            for (account_id, order_id) in list {
                if *shutdown.borrow() {
                    return;
                }
                if let Err(e) = try_issue(&state, account_id, order_id).await {
                    tracing::warn!(order = order_id, error = %e.message, "sweeper could not issue");
                }
            }
        }
        // Approved reissues and duplicates.
        let mut after = 0;
        loop {
            let list = match state.store.certificates_awaiting_issuance(after, 500).await {
                Ok(list) => list,
                Err(e) => {
                    tracing::warn!(error = %e, "sweeper could not list certificates");
                    break;
                }
            };
            let Some(&(_, _, last)) = list.last() else {
                break;
            };
            after = last;
            for (account_id, order_id, cert_id) in list {
                if *shutdown.borrow() {
                    return;
                }
                let order = match state.store.get_order(account_id, order_id).await {
                    Ok(Some(o)) => o,
                    _ => continue,
                };
                if let Err(e) = try_issue_certificate(&state, &order, cert_id).await {
                    tracing::warn!(order = order_id, certificate = cert_id, error = %e.message, "sweeper could not issue");
                }
            }
        }
    }
}
