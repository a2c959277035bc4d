//! Revocation: `PUT /certificate/{id|serial}/revoke` and
//! `PUT /order/certificate/{id}/revoke` (api-surface.md §3.9, §5.3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::service::lifecycle::{self, RevokeAsk, Revoked};
use crate::state::AppState;
use crate::views::user_summary;

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

/// The client's revocation, as the service takes it.
fn ask(body: RevokeBody) -> RevokeAsk {
    RevokeAsk {
        reason: body.revocation_reason.or(body.reason),
        comments: body.comments.or(body.comment),
        skip_approval: body.skip_approval.unwrap_or(false),
    }
}

/// 204 when revoked now; 201 with the request when approval is needed.
fn answer(caller: &Caller, done: Revoked) -> Response {
    match done {
        Revoked::Now => StatusCode::NO_CONTENT.into_response(),
        Revoked::Requested(req) => {
            let mut v = json!({"id": req.id, "date": crate::views::datetime(req.date), "type": "revoke", "status": "pending",
                "requester": user_summary(&caller.user)});
            if let Some(c) = &req.comments {
                v["comments"] = json!(c);
            }
            (StatusCode::CREATED, Json(v)).into_response()
        }
    }
}

/// `PUT /certificate/{id or serial}/revoke`
pub async fn revoke_certificate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body: RevokeBody = parse_json(&body)?;
    let done = lifecycle::revoke_certificate(&state, &caller, &key, ask(body)).await?;
    Ok(answer(&caller, done))
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
    let done = lifecycle::revoke_order(&state, &caller, id, ask(body)).await?;
    Ok(answer(&caller, done))
}

/// The routes of this module: revocation of an order's or a certificate's certificates.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::put;
    axum::Router::new()
        .route("/order/certificate/{id}/revoke", put(revoke_order))
        .route("/certificate/{id}/revoke", put(revoke_certificate))
}
