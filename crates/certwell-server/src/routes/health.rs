//! `GET /healthz` and `GET /readyz`: for load balancers and orchestrators,
//! JSON, no API key; `GET /metrics` for Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// `GET /healthz`: the process is up and answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the database answers, the issuing keys are
/// loaded and every background job runs; 503 otherwise, with each check.
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let (ready, body) = crate::service::health::readiness(&state).await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /metrics`: every metric in the OpenMetrics text format (which
/// Prometheus reads), no API key.
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}
