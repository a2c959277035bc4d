//! Approval requests (`/request`): who may see them, and what approving or
//! rejecting one sets in motion (the order moves on, a revocation happens,
//! issuance starts).

use certwell_api::error::codes;
use certwell_policy::approval::request_transition;
use certwell_store::{
    OrderStatus, ProcessRequest, Request, RequestApproval, RequestKind, RequestStatus,
};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::service::issuance::try_issue;
use crate::state::AppState;

pub fn request_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_REQUEST,
        "The specified request was not found.",
    )
}

/// Request `id` of the caller's account whose order the caller sees.
pub async fn visible_request(state: &AppState, caller: &Caller, id: i64) -> Result<Request> {
    let r = state
        .store
        .get_request(caller.account_id, id)
        .await?
        .ok_or_else(request_not_found)?;
    crate::service::access::visible_order(state, caller, r.order_id)
        .await?
        .ok_or_else(request_not_found)?;
    Ok(r)
}

/// Moves request `id` to `wanted` (approve or reject), with what follows.
pub async fn process_request(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    wanted: RequestStatus,
    processor_comment: Option<String>,
) -> Result<()> {
    let r = visible_request(state, caller, id).await?;
    if !caller.role.can_approve() {
        return Err(Error::new(
            crate::error::ErrorKind::Forbidden,
            codes::INVALID_APPROVER,
            "Access denied: only administrators and managers may approve or reject requests.",
        ));
    }
    let Some(next) = request_transition(r.status, wanted) else {
        return Err(Error::bad_request(
            codes::INVALID_STATUS_TRANSITION,
            format!(
                "A request in status '{}' cannot be set to '{wanted}'.",
                r.status
            ),
        ));
    };
    if r.kind == RequestKind::Revoke && next == RequestStatus::Approved {
        let (ids, reason) = crate::service::lifecycle::revoke_payload(r.data.as_ref())
            .ok_or_else(|| Error::internal("The revoke request has no certificates recorded."))?;
        crate::service::lifecycle::revoke_now(
            state,
            caller.account_id,
            &ids,
            reason,
            Some(RequestApproval {
                request_id: r.id,
                processor_id: caller.user.id,
                processor_comment: processor_comment.clone(),
            }),
        )
        .await?;
        return Ok(());
    }
    let awaiting_csr_status = match state.store.get_order(caller.account_id, r.order_id).await? {
        Some(o) => certwell_policy::catalog::find_product(&o.product_name_id)
            .map_or(OrderStatus::NeedsCsr, |p| p.awaiting_csr_status()),
        None => OrderStatus::NeedsCsr,
    };
    let order_status = match (r.kind, next) {
        (RequestKind::NewRequest, RequestStatus::Approved) => Some(OrderStatus::Pending),
        (RequestKind::NewRequest, RequestStatus::Rejected) => Some(OrderStatus::Rejected),
        _ => None,
    };
    let ok = state
        .store
        .process_request(&ProcessRequest {
            account_id: caller.account_id,
            request_id: id,
            from: r.status,
            to: next,
            processor_id: caller.user.id,
            processor_comment: processor_comment.clone(),
            date_processed: crate::clock::now(),
            order_status,
            awaiting_csr_status,
        })
        .await?;
    if !ok {
        return Err(Error::bad_request(
            codes::INVALID_STATUS_TRANSITION,
            "The request was changed by someone else; fetch it and try again.",
        ));
    }
    if order_status == Some(OrderStatus::Pending) {
        if let Err(e) = try_issue(state, caller.account_id, r.order_id).await {
            tracing::warn!(order = r.order_id, error = %e.message, "issuance deferred");
        }
        state.wake_issuer.notify_one();
    }
    Ok(())
}
