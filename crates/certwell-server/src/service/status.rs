//! Revocation status: the OCSP responder (RFC 6960) behind `POST /ocsp` and
//! `GET /ocsp/{base64}`, the CRLs behind `/ca/{id}.crl`, and the publisher
//! that keeps both fresh.
//!
//! Responses are signed by a delegated responder certificate per issuing
//! CA and cached per CertID: the first request for a certificate signs its
//! answer, later ones are served from memory, the publisher re-signs the
//! cached answers before they go stale, and a revocation re-signs the
//! cached answers of the revoked serials at once (before the revoke call
//! returns). Nonces are not echoed (RFC 8954 lets a responder ignore them),
//! which is what makes the cache possible. "unknown" is never cached.

use certwell_policy::revocation::RevocationReason;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use certwell_ca::{OcspCertStatus, OcspHash, OcspSingle};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::service::hierarchy::{CaRegistry, LoadedCa};
use crate::state::{AppState, CachedOcsp, OcspIssuerIndex};
use certwell_store::{Certificate, CertificateStatus};

/// Responses are valid this long (BR/SBR: 8 hours to 10 days)…
const RESPONSE_VALIDITY: Duration = Duration::days(4);
/// …and re-signed after this (well inside the validity).
const RESPONSE_REFRESH: Duration = Duration::days(1);
/// The publisher re-signs cached answers this long before their refresh
/// time, so a busy certificate's answer never has to be signed on request.
const PRESIGN_AHEAD: Duration = Duration::hours(2);
/// At most this many cached answers (about 0.5 KiB each); past it the
/// stale ones go, then all of them.
const CACHE_MAX: usize = 200_000;

/// The newest responder of every issuing CA, by CA id.
pub fn responder_index(cas: &CaRegistry) -> HashMap<String, Arc<LoadedCa>> {
    cas.cas()
        .filter(|c| c.purpose.is_some())
        .filter_map(|c| Some((c.id.clone(), cas.ocsp_responder(&c.id)?.clone())))
        .collect()
}

fn responder(state: &AppState, ca_id: &str) -> Option<Arc<LoadedCa>> {
    state.ocsp_responders.read().ok()?.get(ca_id).cloned()
}

/// Signs one answer with the current responder of `ca_id`.
fn sign_single(
    state: &AppState,
    ca_id: &str,
    cert_id_raw: &[u8],
    status: OcspCertStatus,
    now: OffsetDateTime,
) -> Option<Arc<Vec<u8>>> {
    let responder = responder(state, ca_id)?;
    let single = OcspSingle {
        cert_id_raw,
        status,
        this_update: now,
        next_update: now + RESPONSE_VALIDITY,
    };
    match certwell_ca::build_ocsp_response(
        &responder.cert_der,
        responder.signer().ok()?.as_ref(),
        now,
        &[single],
        None,
    ) {
        Ok(d) => Some(Arc::new(d)),
        Err(e) => {
            tracing::error!(ca = %ca_id, error = %e, "OCSP response could not be signed");
            None
        }
    }
}

/// (hash algorithm, issuer name hash, issuer key hash) → CA id, for every
/// issuing CA and every hash algorithm a request may use.
pub fn issuer_index(cas: &CaRegistry) -> std::result::Result<OcspIssuerIndex, String> {
    let mut map = HashMap::new();
    for ca in cas.cas().filter(|c| c.purpose.is_some()) {
        for alg in OcspHash::ALL {
            let (name, key) = certwell_ca::issuer_hashes(&ca.cert_der, alg)
                .map_err(|e| format!("CA {}: {e}", ca.id))?;
            map.insert((alg, name, key), ca.id.clone());
        }
    }
    Ok(map)
}

/// An OCSP answer: the DER response and, when it may be cached by
/// clients, for how many seconds.
pub type OcspAnswer = (Arc<Vec<u8>>, Option<i64>);

/// Answers a DER OCSPRequest; `Err` carries the OCSP error status to send.
/// Each answered certificate is counted by its status, each refusal by
/// its error.
pub async fn answer(state: &AppState, der: &[u8]) -> std::result::Result<OcspAnswer, u8> {
    match answer_with_statuses(state, der).await {
        Ok((der, age, statuses)) => {
            for s in statuses {
                state.metrics.ocsp(match s {
                    OcspCertStatus::Good => "good",
                    OcspCertStatus::Revoked { .. } => "revoked",
                    OcspCertStatus::Unknown => "unknown",
                });
            }
            Ok((der, age))
        }
        Err(code) => {
            state.metrics.ocsp(match code {
                certwell_ca::OCSP_STATUS_MALFORMED_REQUEST => "malformed_request",
                certwell_ca::OCSP_STATUS_UNAUTHORIZED => "unauthorized",
                certwell_ca::OCSP_STATUS_TRY_LATER => "try_later",
                _ => "internal_error",
            });
            Err(code)
        }
    }
}

async fn answer_with_statuses(
    state: &AppState,
    der: &[u8],
) -> std::result::Result<(Arc<Vec<u8>>, Option<i64>, Vec<OcspCertStatus>), u8> {
    let req = match certwell_ca::parse_ocsp_request(der) {
        Ok(r) => r,
        Err(e) => return Err(e.response_status()),
    };
    let now = crate::clock::now();
    // The common case: one certificate, answered from the cache.
    if let [id] = req.cert_ids.as_slice() {
        if let Ok(cache) = state.ocsp_cache.read() {
            if let Some(c) = cache.get(&id.raw).filter(|c| c.refresh_at > now) {
                let age = (c.refresh_at - now).whole_seconds();
                return Ok((c.der.clone(), Some(age), vec![c.status]));
            }
        }
    }
    // All certificates of one request must come from one CA (one signer).
    let mut ca_id = None;
    for id in &req.cert_ids {
        let key = (
            id.hash_algorithm,
            id.issuer_name_hash.clone(),
            id.issuer_key_hash.clone(),
        );
        match (state.ocsp_issuers().get(&key), &ca_id) {
            (None, _) => return Err(certwell_ca::OCSP_STATUS_UNAUTHORIZED),
            (Some(c), Some(prev)) if c != prev => {
                return Err(certwell_ca::OCSP_STATUS_UNAUTHORIZED)
            }
            (Some(c), _) => ca_id = Some(c.clone()),
        }
    }
    let Some(ca_id) = ca_id else {
        return Err(certwell_ca::OCSP_STATUS_MALFORMED_REQUEST);
    };
    let Some(responder) = responder(state, &ca_id) else {
        return Err(certwell_ca::OCSP_STATUS_UNAUTHORIZED);
    };
    let epoch = state.ocsp_epoch.load(Ordering::SeqCst);
    let mut statuses = Vec::new();
    for id in &req.cert_ids {
        match cert_status(state, &ca_id, &id.serial).await {
            Ok(s) => statuses.push(s),
            Err(()) => return Err(certwell_ca::OCSP_STATUS_TRY_LATER),
        }
    }
    let singles: Vec<OcspSingle> = req
        .cert_ids
        .iter()
        .zip(&statuses)
        .map(|(id, status)| OcspSingle {
            cert_id_raw: &id.raw,
            status: *status,
            this_update: now,
            next_update: now + RESPONSE_VALIDITY,
        })
        .collect();
    let der = match responder.signer().and_then(|signer| {
        certwell_ca::build_ocsp_response(&responder.cert_der, signer.as_ref(), now, &singles, None)
    }) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            tracing::error!(ca = %ca_id, error = %e, "OCSP response could not be signed");
            return Err(certwell_ca::OCSP_STATUS_INTERNAL_ERROR);
        }
    };
    // "unknown" may turn into "good" when the serial is issued: never cached.
    if let ([id], [status]) = (req.cert_ids.as_slice(), statuses.as_slice()) {
        if !matches!(status, OcspCertStatus::Unknown) {
            if let Ok(mut cache) = state.ocsp_cache.write() {
                // A revocation since the lookup: do not cache what may be stale.
                if state.ocsp_epoch.load(Ordering::SeqCst) == epoch {
                    if cache.len() >= CACHE_MAX {
                        cache.retain(|_, c| c.refresh_at > now);
                        if cache.len() >= CACHE_MAX {
                            cache.clear();
                        }
                    }
                    cache.insert(
                        id.raw.clone(),
                        CachedOcsp {
                            ca_id: ca_id.clone(),
                            serial: id.serial.clone(),
                            status: *status,
                            der: der.clone(),
                            refresh_at: now + RESPONSE_REFRESH,
                        },
                    );
                }
            }
            return Ok((der, Some(RESPONSE_REFRESH.whole_seconds()), statuses));
        }
    }
    Ok((der, None, statuses))
}

/// good / revoked / unknown for a serial of CA `ca_id`: "good" only for a
/// certificate the CA issued; a reserved serial whose certificate was
/// never signed, or a serial never used, is unknown.
async fn cert_status(
    state: &AppState,
    ca_id: &str,
    serial: &[u8],
) -> std::result::Result<OcspCertStatus, ()> {
    let hex = hex::encode_upper(serial);
    let cert = state
        .store
        .certificate_by_serial(ca_id, &hex)
        .await
        .map_err(|e| tracing::warn!(error = %e, "OCSP lookup failed"))?;
    Ok(match cert {
        Some(c) => status_of(&c),
        None => OcspCertStatus::Unknown,
    })
}

/// What the responder says of a stored certificate.
fn status_of(c: &Certificate) -> OcspCertStatus {
    match c.status {
        CertificateStatus::Issued => OcspCertStatus::Good,
        CertificateStatus::Revoked => {
            let time = c.revoked_at.unwrap_or_else(OffsetDateTime::now_utc);
            let reason = c
                .revocation_reason
                .map(RevocationReason::crl_code)
                .filter(|r| *r != 0);
            OcspCertStatus::Revoked { time, reason }
        }
        _ => OcspCertStatus::Unknown,
    }
}

/// After revocations, made here or followed from another instance (each
/// acted on once): every cached answer for a revoked certificate is
/// re-signed as "revoked" at once (or dropped if that fails), answers
/// being looked up meanwhile are not cached, and the CRLs of their CAs are
/// made again (the publisher is woken).
pub async fn on_revoked(state: &AppState, revoked: &[Certificate]) {
    let revoked: Vec<&Certificate> = {
        let mut seen = state
            .revocations_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        revoked
            .iter()
            .filter(|c| {
                seen.insert(c.id, c.revoked_at.unwrap_or_else(crate::clock::now))
                    .is_none()
            })
            .collect()
    };
    if revoked.is_empty() {
        return;
    }
    let targets: Vec<(String, Vec<u8>, OcspCertStatus)> = revoked
        .iter()
        .filter_map(|c| {
            let serial = hex::decode(c.serial.as_deref()?).ok()?;
            let skip = serial.iter().take_while(|b| **b == 0).count();
            Some((c.ca_id.clone()?, serial[skip..].to_vec(), status_of(c)))
        })
        .collect();
    resign_revoked(state, &targets);
    let cas: std::collections::BTreeSet<&String> =
        revoked.iter().filter_map(|c| c.ca_id.as_ref()).collect();
    for ca in cas {
        *state.crl_slot(ca).lock().await = None;
    }
    state.revocations.notify_one();
}

fn resign_revoked(state: &AppState, targets: &[(String, Vec<u8>, OcspCertStatus)]) {
    let now = crate::clock::now();
    let Ok(mut cache) = state.ocsp_cache.write() else {
        return;
    };
    state.ocsp_epoch.fetch_add(1, Ordering::SeqCst);
    let mut dropped = Vec::new();
    for (raw, entry) in cache.iter_mut() {
        let Some((_, _, status)) = targets
            .iter()
            .find(|(ca, s, _)| *ca == entry.ca_id && *s == entry.serial)
        else {
            continue;
        };
        match sign_single(state, &entry.ca_id, raw, *status, now) {
            Some(der) => {
                entry.der = der;
                entry.status = *status;
                entry.refresh_at = now + RESPONSE_REFRESH;
            }
            None => dropped.push(raw.clone()),
        }
    }
    for raw in dropped {
        cache.remove(&raw);
    }
}

/// How far back the revocation follower looks: revocations are found by
/// their time, which another instance's clock set and which may commit a
/// little after it (instances' clocks must agree within this).
const FOLLOW_WINDOW: Duration = Duration::minutes(5);
/// The follower looks even without a notice this often (a notice may be
/// lost while the database connection is re-established).
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// Revocations read at a time.
const FOLLOW_PAGE: i64 = 1000;

/// Follows revocations made by other instances of a shared store (told by
/// the store's change feed, [`Aggregate::Revocations`], and looked for on
/// a timer too): every instance's OCSP answers and CRLs follow a
/// revocation within moments, wherever it was made.
///
/// [`Aggregate::Revocations`]: certwell_store::Aggregate::Revocations
pub async fn follow_revocations(
    state: Arc<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let feed = state.store.changes().clone();
    let mut seen = feed.epoch(certwell_store::Aggregate::Revocations);
    loop {
        tokio::select! {
            e = feed.wait_past(certwell_store::Aggregate::Revocations, seen) => seen = e,
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        state.metrics.job_run("revocation_follower");
        if let Err(e) = follow_once(&state).await {
            tracing::warn!(error = %e.message, "revocations of other instances could not be read");
        }
    }
}

/// Acts on the revocations of the last [`FOLLOW_WINDOW`] not yet seen.
async fn follow_once(state: &AppState) -> Result<()> {
    let mut since = crate::clock::now() - FOLLOW_WINDOW;
    state
        .revocations_seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|_, at| *at >= since);
    loop {
        let page = state.store.revoked_since(since, FOLLOW_PAGE).await?;
        on_revoked(state, &page).await;
        match page.last().and_then(|c| c.revoked_at) {
            Some(last) if page.len() as i64 == FOLLOW_PAGE && last > since => since = last,
            _ => return Ok(()),
        }
    }
}

/// Re-signs the cached answers that are due within [`PRESIGN_AHEAD`] (run
/// by the publisher), so hot certificates are always answered from memory.
/// Returns how many were re-signed.
pub fn presign_due(state: &AppState) -> usize {
    let now = crate::clock::now();
    let due: Vec<(Vec<u8>, String, OcspCertStatus)> = match state.ocsp_cache.read() {
        Ok(cache) => cache
            .iter()
            .filter(|(_, c)| c.refresh_at <= now + PRESIGN_AHEAD)
            .map(|(raw, c)| (raw.clone(), c.ca_id.clone(), c.status))
            .collect(),
        Err(_) => return 0,
    };
    let mut n = 0;
    for (raw, ca_id, status) in due {
        let epoch = state.ocsp_epoch.load(Ordering::SeqCst);
        let Some(der) = sign_single(state, &ca_id, &raw, status, now) else {
            continue;
        };
        if let Ok(mut cache) = state.ocsp_cache.write() {
            // A revocation meanwhile has re-signed (or dropped) it already.
            if state.ocsp_epoch.load(Ordering::SeqCst) != epoch {
                continue;
            }
            if let Some(c) = cache.get_mut(&raw) {
                c.der = der;
                c.refresh_at = now + RESPONSE_REFRESH;
                n += 1;
            }
        }
    }
    n
}

/// Renews responder certificates that are due (see
/// [`ensure_ocsp_responders`](crate::service::hierarchy::ensure_ocsp_responders)) and
/// makes the new ones current. Cached answers signed by the old responder
/// stay valid (it outlives them) and are replaced as they are refreshed.
pub async fn renew_responders(state: &AppState) -> std::result::Result<usize, String> {
    let made = crate::service::hierarchy::ensure_ocsp_responders(
        state.store.as_ref(),
        &state.keys,
        &state.config,
        &state.cas(),
    )
    .await?;
    let n = made.len();
    if n > 0 {
        let mut map = state
            .ocsp_responders
            .write()
            .map_err(|_| "responder map poisoned".to_string())?;
        for r in made {
            if let Some(parent) = r.parent_id.clone() {
                tracing::info!(ca = %parent, responder = %r.id, "OCSP responder certificate renewed");
                map.insert(parent, r);
            }
        }
    }
    Ok(n)
}

/// A CRL is made again when older than this (nextUpdate is 7 days out),
/// or once it misses a revocation.
const CRL_REFRESH: Duration = Duration::hours(1);
const CRL_NEXT_UPDATE: Duration = Duration::days(7);
/// The lease of the instance making a CA's CRL (one CRL per CA and period
/// for all instances); another takes over once it has expired.
const CRL_LEASE: Duration = Duration::minutes(2);
/// How long an instance waits for the CRL another is making.
const CRL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The current CRL of `ca_id`: this instance's copy while it is fresh
/// (a revocation drops it), else the stored one if it lists every
/// revocation and is fresh, else a new one — made by one instance (the
/// lease holder) and stored for the others.
pub async fn crl_der(state: &AppState, ca_id: &str) -> Result<Arc<Vec<u8>>> {
    let ca = state
        .cas()
        .get(ca_id)
        .filter(|c| !c.is_ocsp_responder)
        .cloned()
        .ok_or_else(|| Error::not_found(certwell_api::error::codes::NOT_FOUND, "No such CA."))?;
    let Some(signer) = ca.signer.clone() else {
        return root_crl_der(state, &ca).await;
    };
    let slot = state.crl_slot(&ca.id);
    let mut cache = slot.lock().await;
    let fresh_since = crate::clock::now() - CRL_REFRESH;
    if let Some((der, made)) = cache.as_ref() {
        if *made > fresh_since {
            return Ok(der.clone());
        }
    }
    let lease = format!("crl:{}", ca.id);
    let waiting_until = std::time::Instant::now() + CRL_WAIT;
    loop {
        let crls = state.store.crl_state(&ca.id).await?;
        if let Some(meta) = crls.current(fresh_since) {
            if let Some((stored, der)) = state.store.stored_crl(&ca.id).await? {
                if stored.number >= meta.number {
                    let der = Arc::new(der);
                    *cache = Some((der.clone(), stored.this_update));
                    return Ok(der);
                }
            }
        }
        if state
            .store
            .try_lease(&lease, &state.instance_id, CRL_LEASE)
            .await?
        {
            // The previous holder may have stored one just before.
            let crls = state.store.crl_state(&ca.id).await?;
            if crls.current(fresh_since).is_some() {
                state
                    .store
                    .release_lease(&lease, &state.instance_id)
                    .await?;
                continue;
            }
            let made = sign_crl(
                state.store.as_ref(),
                &ca.id,
                &ca.cert_der,
                signer.clone(),
                CRL_NEXT_UPDATE,
                crls.revocations,
            )
            .await;
            if let Err(e) = state.store.release_lease(&lease, &state.instance_id).await {
                tracing::warn!(ca = %ca.id, error = %e, "CRL lease not released (it expires)");
            }
            let (der, this_update) = made?;
            *cache = Some((der.clone(), this_update));
            return Ok(der);
        }
        if std::time::Instant::now() >= waiting_until {
            // The maker is slow or died holding the lease: the stored CRL
            // (within its nextUpdate) until the lease passes to another.
            return match state.store.stored_crl(&ca.id).await? {
                Some((_, der)) => Ok(Arc::new(der)),
                None => Err(Error::unavailable(
                    "The CRL is being made by another instance; try again shortly.",
                )),
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Makes, signs and stores a CRL of CA `ca_id` listing (at least) the
/// `revocations` counted so far (the count is read before the entries),
/// valid for `validity`.
pub async fn sign_crl(
    store: &dyn certwell_store::Store,
    ca_id: &str,
    cert_der: &[u8],
    signer: Arc<dyn certwell_ca::Signer>,
    validity: Duration,
    revocations: i64,
) -> Result<(Arc<Vec<u8>>, OffsetDateTime)> {
    let now = crate::clock::now();
    let number = store.next_crl_number(ca_id).await?;
    let mut entries = Vec::new();
    // An entry stays until one CRL period after its certificate expired
    // (RFC 5280 §3.3: it is on a CRL issued after the expiry), then the
    // list stops growing with it.
    for (serial, at, reason) in store.revoked_entries(ca_id, now - CRL_NEXT_UPDATE).await? {
        let Ok(serial) = hex::decode(&serial) else {
            tracing::error!(ca = %ca_id, serial, "unreadable revocation record");
            continue;
        };
        let code = reason.map(RevocationReason::crl_code).filter(|c| *c != 0);
        entries.push(certwell_ca::CrlEntry {
            serial,
            revocation_date: at,
            reason: code,
        });
    }
    let cert_der = cert_der.to_vec();
    let der = tokio::task::spawn_blocking(move || {
        certwell_ca::build_crl(
            &cert_der,
            signer.as_ref(),
            number as u64,
            now,
            now + validity,
            &entries,
        )
    })
    .await
    .map_err(|_| Error::internal("CRL task failed"))?
    .map_err(|e| match e {
        certwell_ca::CaError::Unavailable(_) => {
            Error::unavailable(format!("The CRL could not be signed now: {e}"))
        }
        _ => Error::internal(format!("CRL signing failed: {e}")),
    })?;
    let meta = certwell_store::CrlMeta {
        number,
        this_update: now,
        revocations,
    };
    if !store.save_crl(ca_id, &meta, &der).await? {
        tracing::warn!(ca = %ca_id, number, "a newer CRL was stored meanwhile; this one is served here only");
    }
    Ok((Arc::new(der), now))
}

/// How long a root's CRL is valid (BR §4.9.7: CRLs of CAs that issue only
/// CA certificates, at most twelve months).
pub const ROOT_CRL_VALIDITY: Duration = Duration::days(365);
/// A root CRL older than this is signed again by the server when the
/// root's key is in the data directory or the token (not offline).
const ROOT_CRL_RESIGN: Duration = Duration::days(30);

/// A root's CRL. The serving process holds no root key: it serves the
/// CRL a ceremony (or `init`) signed and stored. A root whose key is
/// online (a key file of the data directory, or the token: the
/// zero-configuration hierarchy) gets a new one once the stored one is a
/// month old, the key loaded for that signature only.
async fn root_crl_der(state: &AppState, ca: &Arc<LoadedCa>) -> Result<Arc<Vec<u8>>> {
    let slot = state.crl_slot(&ca.id);
    let mut cache = slot.lock().await;
    let now = crate::clock::now();
    if let Some((der, made)) = cache.as_ref() {
        if *made > now - CRL_REFRESH {
            return Ok(der.clone());
        }
    }
    let stored = state.store.stored_crl(&ca.id).await?;
    // Due a month after it was signed, or once it has less than eleven
    // months to run (a shorter-lived one, as older versions signed).
    let due = stored.as_ref().is_none_or(|(m, der)| {
        m.this_update < now - ROOT_CRL_RESIGN
            || certwell_ca::crl_next_update(der)
                .is_none_or(|n| n < now + ROOT_CRL_VALIDITY - ROOT_CRL_RESIGN)
    });
    let online = crate::keystore::KeyLocation::is_online(&ca.key_file);
    if due && online {
        let lease = format!("crl:{}", ca.id);
        if state
            .store
            .try_lease(&lease, &state.instance_id, CRL_LEASE)
            .await?
        {
            let made = resign_root_crl(state, ca).await;
            if let Err(e) = state.store.release_lease(&lease, &state.instance_id).await {
                tracing::warn!(ca = %ca.id, error = %e, "CRL lease not released (it expires)");
            }
            match made {
                Ok((der, at)) => {
                    *cache = Some((der.clone(), at));
                    return Ok(der);
                }
                Err(e) => {
                    tracing::warn!(ca = %ca.id, error = %e.message, "root CRL not signed again")
                }
            }
        }
    }
    match state.store.stored_crl(&ca.id).await? {
        Some((_, der)) => {
            let der = Arc::new(der);
            *cache = Some((der.clone(), now));
            Ok(der)
        }
        None => Err(Error::not_found(
            certwell_api::error::codes::NOT_FOUND,
            "No CRL has been signed for this root yet (certwell ca sign-crl).",
        )),
    }
}

/// Loads an online root's key for one CRL and drops it.
async fn resign_root_crl(
    state: &AppState,
    ca: &Arc<LoadedCa>,
) -> Result<(Arc<Vec<u8>>, OffsetDateTime)> {
    let signer = state
        .keys
        .load(&ca.id, &ca.key_file, ca.key_algorithm)
        .map_err(Error::unavailable)?;
    let revocations = state.store.crl_state(&ca.id).await?.revocations;
    sign_crl(
        state.store.as_ref(),
        &ca.id,
        &ca.cert_der,
        signer,
        ROOT_CRL_VALIDITY,
        revocations,
    )
    .await
}

/// How often the publisher re-signs CRLs that nobody fetched (well inside
/// the 7-day nextUpdate; SBR/BR ask for at least every 7 days).
const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Keeps every CA's CRL fresh: on a schedule, and within moments of a
/// revocation (which drops the cached CRL and wakes this task). On the
/// same schedule it renews OCSP responder certificates that are due and
/// re-signs cached OCSP answers before they go stale.
pub async fn run_publisher(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        state.metrics.job_run("publisher");
        let cas: Vec<_> = state.cas().cas().cloned().collect();
        for ca in cas {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = crl_der(&state, &ca.id).await {
                tracing::warn!(ca = %ca.id, error = %e.message, "CRL could not be published");
            }
        }
        if let Err(e) = renew_responders(&state).await {
            tracing::warn!(error = %e, "OCSP responder certificates could not be renewed");
        }
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || presign_due(&st)).await;
        tokio::select! {
            _ = tokio::time::sleep(PUBLISH_EVERY) => {}
            _ = state.revocations.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
