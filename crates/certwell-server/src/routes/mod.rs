//! The HTTP surface: `/services/v2` (the vendor API), `/operator/v1`
//! (certwell administration) and `/ca` (public CA files).

pub mod account;
pub mod ca;
pub mod certificates;
pub mod containers;
pub mod dcv;
pub mod health;
pub mod ocsp;
pub mod operator;
pub mod orders;
pub mod org_admin;
pub mod organizations;
pub mod products;
pub mod reissue;
pub mod requests;
pub mod revoke;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::Error;
use crate::state::AppState;

/// Parses a query string into a map (later keys win).
pub fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A list response: `page` always, the array under `key` only when it is
/// not empty (the vendor omits empty lists).
pub fn paged(
    key: &str,
    items: Vec<serde_json::Value>,
    total: i64,
    limit: i64,
    offset: i64,
) -> serde_json::Value {
    let mut out = serde_json::json!({"page": {"total": total, "limit": limit, "offset": offset}});
    if !items.is_empty() {
        out[key] = serde_json::Value::Array(items);
    }
    out
}

async fn route_not_found() -> Error {
    Error::route_not_found()
}

/// Body-limit and other framework rejections arrive as plain text; rewrite
/// them into the vendor's JSON envelope.
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        // JSON errors, and the HTML pages validation emails link to
        v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
    });
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let err = match status {
            StatusCode::PAYLOAD_TOO_LARGE => Error::new(
                crate::error::ErrorKind::TooLarge,
                certwell_api::error::codes::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            ),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Error::route_not_found(),
            s if s.is_server_error() => Error::internal("The server failed to handle the request."),
            // Another rejection of the framework keeps its own status.
            s => {
                return crate::error::envelope(
                    s,
                    certwell_api::error::codes::BAD_REQUEST_FORMAT,
                    "The request could not be read.",
                )
            }
        };
        return err.into_response();
    }
    resp
}

/// No field of the API takes a NUL character, and not every database can
/// store one: a URL naming one (`%00`) is refused here, a JSON body with
/// one (`\u0000`) by `extract::parse_json`.
async fn refuse_nul(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let has_nul = req
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().as_bytes().windows(3).any(|w| w == b"%00"));
    if has_nul {
        return Error::bad_request(
            certwell_api::error::codes::INVALID_VALUE,
            "The request URL contains a NUL character (%00), which no parameter accepts.",
        )
        .into_response();
    }
    next.run(req).await
}

/// One log line per request (`request`, at info): request id (the
/// client's `X-Request-Id` when it is a plain token, else a new one, sent
/// back in `X-Request-Id`), method, route pattern, status, latency and
/// the account acted for. Never a key, a body or a query string.
async fn request_log(
    State(state): State<Arc<AppState>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| crate::token::random_hex(8).unwrap_or_default());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string());
    let account = crate::extract::RequestAccount::default();
    req.extensions_mut().insert(account.clone());
    let mut resp = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(
        request_id = %id,
        method = %method,
        route = route.as_deref().unwrap_or("-"),
        status = resp.status().as_u16(),
        latency_ms = elapsed * 1e3,
        account_id = account.0.get().copied(),
        "request"
    );
    // Route patterns only: an unknown path must not make a new series.
    let route = route.unwrap_or_else(|| "unmatched".into());
    let method = if route == "unmatched" {
        "other".to_string()
    } else {
        method.as_str().to_string()
    };
    state
        .metrics
        .requests
        .get_or_create(&crate::metrics::RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: resp.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .request_duration
        .get_or_create(&crate::metrics::RouteLabels { method, route })
        .observe(elapsed);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// A request not answered within `request_timeout_seconds` gets 503
/// `request_timeout` (work that must not be cut short, such as signing a
/// claimed certificate, runs detached and completes anyway).
async fn request_timeout(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = std::time::Duration::from_secs(state.config.request_timeout_seconds.max(1));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => Error::new(
            crate::error::ErrorKind::Unavailable,
            certwell_api::error::codes::REQUEST_TIMEOUT,
            format!(
                "The request was not answered within {} s; try again.",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

async fn common_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let mut resp = next.run(req).await;
    let refused = resp.status().is_client_error() || resp.status().is_server_error();
    let h = resp.headers_mut();
    // A request refused with its body unread (a bad key, an unknown route,
    // too large) leaves that body on the connection: say the connection
    // ends here, so the client opens a new one for its next request.
    if has_body && refused {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private,no-cache"),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    resp
}

/// `GET /metrics` on the API listener, unless `metrics_listen` gives
/// metrics their own address ([`metrics_router`]).
fn metrics_route(state: &AppState) -> Router<Arc<AppState>> {
    if state.config.metrics_listen.is_empty() {
        Router::new().route("/metrics", get(health::metrics))
    } else {
        Router::new()
    }
}

/// The router of the `metrics_listen` address: `GET /metrics` only.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(route_not_found)
        .with_state(state)
}

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .merge(orders::router())
        .merge(dcv::router())
        .merge(reissue::router())
        .merge(revoke::router())
        .merge(requests::router())
        .merge(certificates::router())
        .merge(products::router())
        .merge(organizations::router())
        .merge(org_admin::router())
        .merge(account::router())
        .merge(containers::router());
    let operator = operator::router();
    let max_body = state.config.max_body_bytes;
    Router::new()
        .nest("/services/v2", api)
        .nest("/operator/v1", operator)
        .route("/ca/{file}", get(ca::ca_file))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(metrics_route(&state))
        .route("/ocsp", post(ocsp::post_ocsp))
        .route(
            "/validate/{secret}",
            get(dcv::confirm_page).post(dcv::confirm_submit),
        )
        .route("/ocsp/{*request}", get(ocsp::get_ocsp))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(refuse_nul))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(common_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                Error::internal("The server failed to handle the request.").into_response()
            },
        ))
        .with_state(state)
}
