//! `/request…`: the approval workflow.

use certwell_store::{OrderStatus, RequestKind, RequestStatus};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::error::codes;
use certwell_api::request::RequestStatusUpdate;
use certwell_policy::approval::request_transition;
use certwell_store::{ProcessRequest, Request};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::routes::orders::order_json;
use crate::routes::{paged, query_map};
use crate::service::issuance::try_issue;
use crate::state::AppState;
use crate::views::{datetime, product_summary, user_summary};

fn request_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_REQUEST,
        "The specified request was not found.",
    )
}

fn statuses() -> Vec<&'static str> {
    RequestStatus::names()
}

async fn list_item(state: &AppState, r: &Request) -> Result<Value> {
    let mut v = json!({"id": r.id, "date": datetime(r.date), "type": r.kind, "status": r.status});
    if let Some(u) = state.store.get_user(r.account_id, r.requester_id).await? {
        v["requester"] = user_summary(&u);
    }
    if let Some(o) = state.store.get_order(r.account_id, r.order_id).await? {
        let mut order = json!({"id": o.id, "certificate": {"common_name": o.common_name},
            "product": product_summary(&o.product_name_id, false)});
        if let Some(org) = state
            .store
            .get_organization(o.account_id, o.organization_id)
            .await?
        {
            order["organization"] = json!({"id": org.id, "name": org.name});
        }
        if let Some(c) = state
            .store
            .get_container(o.account_id, o.container_id)
            .await?
        {
            order["container"] = json!({"id": c.id, "name": c.name});
        }
        v["order"] = order;
    }
    if let Some(c) = &r.comments {
        v["comments"] = json!(c);
    }
    Ok(v)
}

/// `GET /request`
pub async fn list_requests(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let status = match q.get("status").or_else(|| q.get("filters[status]")) {
        None => None,
        Some(s) => Some(RequestStatus::from_name(s).ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_FILTER,
                format!("The filter 'status' must be one of {:?}.", statuses()),
            )
        })?),
    };
    let scope = crate::service::access::order_scope(&state, &caller).await?;
    let (reqs, total) = state
        .store
        .list_requests(caller.account_id, status, scope.as_deref(), limit, offset)
        .await?;
    let mut items = Vec::new();
    for r in &reqs {
        items.push(list_item(&state, r).await?);
    }
    Ok(Json(paged("requests", items, total, limit, offset)))
}

/// Request `id` of the caller's account whose order the caller sees.
async fn visible_request(state: &AppState, caller: &Caller, id: i64) -> Result<Request> {
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

/// `GET /request/{id}`
pub async fn request_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, request_not_found)?;
    let r = visible_request(&state, &caller, id).await?;
    let mut v = list_item(&state, &r).await?;
    if let Some(d) = r.date_processed {
        v["date_processed"] = json!(datetime(d));
    }
    if let Some(pid) = r.processor_id {
        if let Some(u) = state.store.get_user(r.account_id, pid).await? {
            v["processor"] = user_summary(&u);
        }
    }
    if let Some(c) = &r.processor_comment {
        v["processor_comment"] = json!(c);
    }
    if let Some(o) = state.store.get_order(r.account_id, r.order_id).await? {
        v["order"] = order_json(&state, &o).await?;
    }
    Ok(Json(v))
}

/// `PUT /request/{id}/status`
pub async fn update_request_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, request_not_found)?;
    let body: RequestStatusUpdate = parse_json(&body)?;
    let raw = body
        .status
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("status"))?;
    let wanted = RequestStatus::parse(&raw).ok_or_else(|| {
        Error::bad_request(
            codes::INVALID_STATUS,
            format!(
                "The field 'status' must be one of {:?}; got '{raw}'.",
                statuses()
            ),
        )
    })?;
    let r = visible_request(&state, &caller, id).await?;
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
            &state,
            caller.account_id,
            &ids,
            &reason,
            Some((r.id, caller.user.id, body.processor_comment.clone())),
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let awaiting_csr_status = match state.store.get_order(caller.account_id, r.order_id).await? {
        Some(o) => certwell_policy::catalog::find_product(&o.product_name_id)
            .map_or(OrderStatus::NeedsCsr, |p| p.awaiting_csr_status()),
        None => OrderStatus::NeedsCsr,
    };
    let order_status = match (r.kind.as_str(), next) {
        ("new_request", RequestStatus::Approved) => Some(OrderStatus::Pending),
        ("new_request", RequestStatus::Rejected) => Some(OrderStatus::Rejected),
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
            processor_comment: body.processor_comment.clone(),
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
        if let Err(e) = try_issue(&state, caller.account_id, r.order_id).await {
            tracing::warn!(order = r.order_id, error = %e.message, "issuance deferred");
        }
        state.wake_issuer.notify_one();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module: approval requests.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, put};
    axum::Router::new()
        .route("/request", get(list_requests))
        .route("/request/{id}", get(request_info))
        .route("/request/{id}/status", put(update_request_status))
}
