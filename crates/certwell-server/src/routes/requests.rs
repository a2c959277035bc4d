//! `/request…`: the approval workflow.

use certwell_store::RequestStatus;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::error::codes;
use certwell_api::request::RequestStatusUpdate;
use certwell_store::Request;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::routes::orders::order_json;
use crate::routes::{paged, query_map};
use crate::service::requests::request_not_found;
use crate::state::AppState;
use crate::views::{datetime, product_summary, user_summary};

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

/// `GET /request/{id}`
pub async fn request_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, request_not_found)?;
    let r = crate::service::requests::visible_request(&state, &caller, id).await?;
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
    crate::service::requests::process_request(&state, &caller, id, wanted, body.processor_comment)
        .await?;
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
