//! The life of an issued order: revocation (now, or through an approved
//! request), and what revocation sets in motion (CRL and OCSP refresh).

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::state::AppState;
use certwell_api::error::codes;
use certwell_policy::order_status::StatusChange;
use certwell_policy::revocation::{parse_reason, RevocationReason};
use certwell_store::{
    Certificate, CertificateStatus, OrderStatus, RequestApproval, RequestKind, RequestStatus,
    Revocation,
};
use serde_json::json;
use serde_json::Value;

/// Revokes the certificates at once and refreshes their CAs' CRLs.
pub async fn revoke_now(
    state: &AppState,
    account_id: i64,
    certificate_ids: &[i64],
    reason: RevocationReason,
    approve_request: Option<RequestApproval>,
) -> Result<Vec<Certificate>> {
    let revoked = state
        .store
        .revoke_certificates(&Revocation {
            account_id,
            certificate_ids: certificate_ids.to_vec(),
            reason,
            revoked_at: crate::clock::now(),
            block_keys: reason == RevocationReason::KeyCompromise,
            approve_request,
        })
        .await
        .map_err(|e| match e {
            certwell_store::StoreError::Conflict(
                c @ certwell_store::Conflict::RequestNotOpen { .. },
            ) => Error::bad_request(codes::INVALID_STATUS_TRANSITION, c.to_string()),
            other => other.into(),
        })?;
    for c in &revoked {
        tracing::info!(
            certificate = c.id,
            reason = reason.as_str(),
            "certificate revoked"
        );
    }
    crate::service::status::on_revoked(state, &revoked).await;
    Ok(revoked)
}

/// Certificate ids and reason of a revoke request.
pub fn revoke_payload(data: Option<&Value>) -> Option<(Vec<i64>, RevocationReason)> {
    let d = data?;
    let ids = d
        .get("certificate_ids")?
        .as_array()?
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    let reason = RevocationReason::from_name(d.get("revocation_reason")?.as_str()?)?;
    Some((ids, reason))
}

/// A revocation as a client asks for it.
pub struct RevokeAsk {
    /// The reason as sent (`revocation_reason` or `reason`); parsed here.
    pub reason: Option<String>,
    pub comments: Option<String>,
    pub skip_approval: bool,
}

/// What a revocation call did.
pub enum Revoked {
    /// Revoked now (an administrator or manager skipped approval).
    Now,
    /// A `revoke` request waits for approval.
    Requested(certwell_store::Request),
}

/// `PUT /certificate/{id or serial}/revoke`: one issued certificate the
/// caller sees.
pub async fn revoke_certificate(
    state: &AppState,
    caller: &Caller,
    key: &str,
    ask: RevokeAsk,
) -> Result<Revoked> {
    let (cert, _) = crate::service::access::visible_certificate(state, caller, key).await?;
    match cert.status {
        CertificateStatus::Issued => {}
        CertificateStatus::Revoked => {
            return Err(Error::bad_request(
                codes::CERTIFICATE_ALREADY_REVOKED,
                format!("Certificate {} is already revoked.", cert.id),
            ))
        }
        _ => {
            return Err(Error::bad_request(
                codes::CERTIFICATE_NOT_ISSUED,
                format!("Certificate {} has not been issued.", cert.id),
            ))
        }
    }
    let order_id = cert.order_id;
    revoke_or_request(state, caller, order_id, vec![cert], ask).await
}

/// `PUT /order/certificate/{id}/revoke`: every issued certificate of the
/// order.
pub async fn revoke_order(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    ask: RevokeAsk,
) -> Result<Revoked> {
    let order = crate::service::access::visible_order(state, caller, order_id)
        .await?
        .ok_or_else(Error::order_not_found)?;
    let certs: Vec<Certificate> = state
        .store
        .certificates_for_order(order.id)
        .await?
        .into_iter()
        .filter(|c| c.status == CertificateStatus::Issued)
        .collect();
    if certs.is_empty() {
        return Err(Error::bad_request(
            codes::CERTIFICATE_NOT_ISSUED,
            format!("Order {} has no issued certificate to revoke.", order.id),
        ));
    }
    revoke_or_request(state, caller, order.id, certs, ask).await
}

/// Revokes `certs` now, or opens a revoke request.
async fn revoke_or_request(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    certs: Vec<Certificate>,
    ask: RevokeAsk,
) -> Result<Revoked> {
    let reason = parse_reason(ask.reason.as_deref())?;
    let comments = ask.comments.filter(|c| !c.trim().is_empty());
    if let Some(c) = &comments {
        certwell_policy::error::check_len(c, "comments", 4096)?;
    }
    let ids: Vec<i64> = certs.iter().map(|c| c.id).collect();
    if state
        .store
        .get_order(caller.account_id, order_id)
        .await?
        .is_some_and(|o| o.status == OrderStatus::ReissuePending)
    {
        return Err(Error::bad_request(
            codes::REISSUE_PENDING,
            format!("Order {order_id} has a pending reissue; cancel the reissue or wait for it before revoking."),
        ));
    }
    if ask.skip_approval {
        if !caller.role.can_approve() {
            return Err(Error::missing_permission(
                "skip approval (an administrator or manager key is required)",
            ));
        }
        revoke_now(state, caller.account_id, &ids, reason, None).await?;
        return Ok(Revoked::Now);
    }
    let req = state
        .store
        .create_request(
            caller.account_id,
            order_id,
            RequestKind::Revoke,
            RequestStatus::Pending,
            caller.user.id,
            comments.as_deref(),
            &json!({"certificate_ids": ids, "revocation_reason": reason}),
        )
        .await?;
    Ok(Revoked::Requested(req))
}

/// `PUT /order/certificate/{id}/status`: cancels the order, or, while a
/// reissue is pending, the reissue (the order keeps its certificate).
pub async fn change_order_status(
    state: &AppState,
    caller: &Caller,
    id: i64,
    change: StatusChange,
    note: Option<&str>,
) -> Result<()> {
    let order = crate::service::access::visible_order(state, caller, id)
        .await?
        .ok_or_else(Error::order_not_found)?;
    match change {
        StatusChange::Canceled if order.status == OrderStatus::ReissuePending => {
            let ok = state
                .store
                .cancel_reissue(caller.account_id, id, note, crate::clock::now())
                .await?;
            if !ok {
                return Err(Error::bad_request(
                    codes::INVALID_STATUS_TRANSITION,
                    "The reissue is being issued and can no longer be canceled.",
                ));
            }
        }
        StatusChange::Canceled => {
            let ok = state
                .store
                .set_order_status(
                    caller.account_id,
                    id,
                    &[
                        OrderStatus::NeedsApproval,
                        OrderStatus::Pending,
                        OrderStatus::WaitingPickup,
                        OrderStatus::NeedsCsr,
                    ],
                    OrderStatus::Canceled,
                )
                .await?;
            if !ok {
                return Err(Error::bad_request(
                    codes::INVALID_STATUS_TRANSITION,
                    format!("An order in status '{}' cannot be canceled.", order.status),
                ));
            }
        }
    }
    Ok(())
}
