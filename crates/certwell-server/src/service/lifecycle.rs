//! The life of an issued order: revocation (now, or through an approved
//! request), and what revocation sets in motion (CRL and OCSP refresh).

use crate::error::{Error, Result};
use crate::state::AppState;
use certwell_api::error::codes;
use certwell_store::{format_ts, Certificate, Revocation};
use serde_json::Value;
use time::OffsetDateTime;

/// Revokes the certificates at once and refreshes their CAs' CRLs.
pub async fn revoke_now(
    state: &AppState,
    account_id: i64,
    certificate_ids: &[i64],
    reason: &str,
    approve_request: Option<(i64, i64, Option<String>)>,
) -> Result<Vec<Certificate>> {
    let revoked = state
        .store
        .revoke_certificates(&Revocation {
            account_id,
            certificate_ids: certificate_ids.to_vec(),
            reason: reason.to_string(),
            revoked_at: format_ts(OffsetDateTime::now_utc()),
            block_keys: reason == "keyCompromise",
            approve_request,
        })
        .await
        .map_err(|e| match e {
            certwell_store::StoreError::Conflict(
                c @ certwell_store::Conflict::RequestNotOpen { .. },
            ) => Error::bad_request(codes::INVALID_STATUS_TRANSITION, c.to_string()),
            other => other.into(),
        })?;
    let mut cache = state.crl_cache.lock().await;
    for c in &revoked {
        if let Some(ca) = &c.ca_id {
            cache.remove(ca);
        }
        tracing::info!(certificate = c.id, reason, "certificate revoked");
    }
    drop(cache);
    crate::service::status::on_revoked(state, &revoked);
    if !revoked.is_empty() {
        state.revocations.notify_one();
    }
    Ok(revoked)
}

/// Certificate ids and reason of a revoke request.
pub fn revoke_payload(data: Option<&Value>) -> Option<(Vec<i64>, String)> {
    let d = data?;
    let ids = d
        .get("certificate_ids")?
        .as_array()?
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    let reason = d.get("revocation_reason")?.as_str()?.to_string();
    Some((ids, reason))
}
