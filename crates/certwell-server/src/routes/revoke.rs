//! Revocation: `PUT /certificate/{id|serial}/revoke` and
//! `PUT /order/certificate/{id}/revoke` (api-surface.md §3.9, §5.3).

use certwell_store::{CertificateStatus, OrderStatus, RequestKind, RequestStatus};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_store::Certificate;
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::service::lifecycle::revoke_now;
use crate::state::AppState;
use crate::views::user_summary;
use certwell_policy::revocation::parse_reason;

#[derive(Debug, Default, Deserialize)]
pub struct RevokeBody {
    pub revocation_reason: Option<String>,
    /// Spelling used by some clients.
    pub reason: Option<String>,
    pub comments: Option<String>,
    /// The newer parameter table's spelling.
    pub comment: Option<String>,
    pub skip_approval: Option<bool>,
}

/// Revokes `certs` now, or opens a revoke request.
async fn revoke_or_request(
    state: &AppState,
    caller: &Caller,
    order_id: i64,
    certs: Vec<Certificate>,
    body: RevokeBody,
) -> Result<Response> {
    let reason =
        parse_reason(body.revocation_reason.as_deref().or(body.reason.as_deref()))?.to_string();
    let comments = body
        .comments
        .clone()
        .or(body.comment.clone())
        .filter(|c| !c.trim().is_empty());
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
    if body.skip_approval.unwrap_or(false) {
        if !caller.role.can_approve() {
            return Err(Error::missing_permission(
                "skip approval (an administrator or manager key is required)",
            ));
        }
        revoke_now(state, caller.account_id, &ids, &reason, None).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
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
    let mut v = json!({"id": req.id, "date": req.date, "type": "revoke", "status": "pending",
        "requester": user_summary(&caller.user)});
    if let Some(c) = &comments {
        v["comments"] = json!(c);
    }
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn cert_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_CERTIFICATE,
        "The specified certificate was not found.",
    )
}

/// `PUT /certificate/{id or serial}/revoke`
pub async fn revoke_certificate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body: RevokeBody = parse_json(&body)?;
    let cert = state
        .store
        .find_certificate(caller.account_id, key.trim())
        .await?
        .ok_or_else(cert_not_found)?;
    if crate::service::access::visible_order(&state, &caller, cert.order_id)
        .await?
        .is_none()
    {
        return Err(cert_not_found());
    }
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
    revoke_or_request(&state, &caller, order_id, vec![cert], body).await
}

/// `PUT /order/certificate/{id}/revoke`: every issued certificate of the order.
pub async fn revoke_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body: RevokeBody = parse_json(&body)?;
    let id = path_id(&id, Error::order_not_found)?;
    let order = crate::service::access::visible_order(&state, &caller, id)
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
    revoke_or_request(&state, &caller, order.id, certs, body).await
}

/// The routes of this module: revocation of an order's or a certificate's certificates.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::put;
    axum::Router::new()
        .route("/order/certificate/{id}/revoke", put(revoke_order))
        .route("/certificate/{id}/revoke", put(revoke_certificate))
}
