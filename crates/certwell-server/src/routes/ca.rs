//! `/ca/{id}.crt` and `/ca/{id}.crl`: public, unauthenticated, as the AIA
//! and CRL distribution point URLs in every certificate name them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use time::{Duration, OffsetDateTime};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A CRL is regenerated when older than this (nextUpdate is 7 days out).
const CRL_REFRESH: Duration = Duration::hours(1);
const CRL_NEXT_UPDATE: Duration = Duration::days(7);

pub async fn crl_der(state: &AppState, ca_id: &str) -> ApiResult<Arc<Vec<u8>>> {
    let ca = state
        .cas
        .get(ca_id)
        .filter(|c| !c.is_ocsp_responder)
        .cloned()
        .ok_or_else(|| ApiError::not_found(certwell_api::error::codes::NOT_FOUND, "No such CA."))?;
    let now = crate::routes::ocsp::now_secs();
    let mut cache = state.crl_cache.lock().await;
    if let Some((der, made)) = cache.get(&ca.id) {
        if now - *made < CRL_REFRESH {
            return Ok(der.clone());
        }
    }
    let number = state.store.next_crl_number(&ca.id).await? as u64;
    let mut entries = Vec::new();
    for (serial, at, reason) in state.store.revoked_entries(&ca.id).await? {
        let (Ok(serial), Ok(at)) = (
            hex::decode(&serial),
            OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339),
        ) else {
            tracing::error!(ca = %ca.id, serial, "unreadable revocation record");
            continue;
        };
        let code = reason
            .as_deref()
            .and_then(certwell_policy::revocation::reason_code)
            .filter(|c| *c != 0);
        entries.push(certwell_ca::CrlEntry {
            serial,
            revocation_date: at,
            reason: code,
        });
    }
    let ca2 = Arc::clone(&ca);
    let der = tokio::task::spawn_blocking(move || {
        certwell_ca::build_crl(
            &ca2.cert_der,
            ca2.signer.as_ref(),
            number,
            now,
            now + CRL_NEXT_UPDATE,
            &entries,
        )
    })
    .await
    .map_err(|_| ApiError::internal("CRL task failed"))?
    .map_err(|e| ApiError::internal(format!("CRL signing failed: {e}")))?;
    let der = Arc::new(der);
    cache.insert(ca.id.clone(), (der.clone(), now));
    Ok(der)
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
        let cas: Vec<_> = state.cas.cas().cloned().collect();
        for ca in cas {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = crl_der(&state, &ca.id).await {
                tracing::warn!(ca = %ca.id, error = %e.message, "CRL could not be published");
            }
        }
        if let Err(e) = super::ocsp::renew_responders(&state).await {
            tracing::warn!(error = %e, "OCSP responder certificates could not be renewed");
        }
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || super::ocsp::presign_due(&st)).await;
        tokio::select! {
            _ = tokio::time::sleep(PUBLISH_EVERY) => {}
            _ = state.revocations.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub async fn ca_file(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    if let Some(id) = file.strip_suffix(".crt") {
        let ca = state.cas.get(id).ok_or_else(|| {
            ApiError::not_found(certwell_api::error::codes::NOT_FOUND, "No such CA.")
        })?;
        return Ok((
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            ca.cert_der.clone(),
        )
            .into_response());
    }
    if let Some(id) = file.strip_suffix(".crl") {
        let der = crl_der(&state, id).await?;
        return Ok((
            [(header::CONTENT_TYPE, "application/pkix-crl")],
            der.as_ref().clone(),
        )
            .into_response());
    }
    Err(ApiError::route_not_found())
}
