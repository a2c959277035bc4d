//! Reissue and duplicate (api-surface.md §3.7, §3.8):
//! `POST|GET /order/certificate/{id}/reissue` and `…/duplicate`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::order::OrderRequest;
use certwell_policy::reissue::ExtraKind;
use certwell_store::{CertificateKind, CertificateStatus};
use serde_json::{json, Value};

use crate::error::Result;
use crate::extract::{parse_json, Caller};
use crate::service::access::load_order;
use crate::service::issuance::extra_plan;
use crate::service::order_data::OrderData;
use crate::state::AppState;
use crate::views::{certificate_fields, date, datetime, server_platform_json};

/// `POST /order/certificate/{id}/reissue`
pub async fn post_reissue(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
    body: Bytes,
) -> Result<Response> {
    create(state, caller, id, body, ExtraKind::Reissue).await
}

/// `POST /order/certificate/{id}/duplicate`
pub async fn post_duplicate(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
    body: Bytes,
) -> Result<Response> {
    create(state, caller, id, body, ExtraKind::Duplicate).await
}

async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
    kind: ExtraKind,
) -> Result<Response> {
    let order = load_order(&state, &caller, &id).await?;
    let req: OrderRequest = parse_json(&body)?;
    let resp = crate::service::reissue::request_extra(&state, &caller, order, req, kind).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `GET /order/certificate/{id}/reissue`
pub async fn list_reissues(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
) -> Result<Json<Value>> {
    list(state, caller, id, CertificateKind::Reissue).await
}

/// `GET /order/certificate/{id}/duplicate`
pub async fn list_duplicates(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
) -> Result<Json<Value>> {
    list(state, caller, id, CertificateKind::Duplicate).await
}

async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    kind: CertificateKind,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let data = OrderData::from_order(&order)?;
    let mut out = Vec::new();
    for c in state.store.certificates_for_order(order.id).await? {
        if c.kind != kind {
            continue;
        }
        let x = extra_plan(&c);
        let mut v = json!({
            "id": c.id,
            "common_name": c.common_name,
            "dns_names": c.dns_names,
            "status": match c.status {
                CertificateStatus::Issued => "approved",
                CertificateStatus::NeedsApproval => "pending",
                other => other.as_str(),
            },
            "date_created": datetime(c.created_at),
            "csr": c.csr,
            "signature_hash": c.signature_hash,
            "key_size": c.key_size,
            "ca_cert_id": x.as_ref().and_then(|x| x.ca_cert_id.clone()).unwrap_or_else(|| data.ca_cert_id.clone()),
            "archived": "0",
        });
        if let Some(p) = x.as_ref().and_then(|x| x.server_platform_id) {
            v["server_platform"] = server_platform_json(p);
        }
        if let Some(u) = c.user_id {
            v["user_id"] = json!(u);
            if let Some(user) = state.store.get_user(caller.account_id, u).await? {
                v["firstname"] = json!(user.first_name);
                v["lastname"] = json!(user.last_name);
            }
        }
        certificate_fields(&c, &mut v);
        if let Some(f) = c.valid_from {
            v["valid_from"] = json!(date(f));
        }
        out.push(v);
    }
    let mut v = json!({});
    if !out.is_empty() {
        v["certificates"] = json!(out);
    }
    Ok(Json(v))
}

/// The routes of this module: reissues and duplicates of an order.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/order/certificate/{id}/reissue",
            get(list_reissues).post(post_reissue),
        )
        .route(
            "/order/certificate/{id}/duplicate",
            get(list_duplicates).post(post_duplicate),
        )
}
