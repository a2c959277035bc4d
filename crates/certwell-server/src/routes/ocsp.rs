//! `POST /ocsp` (body: DER OCSPRequest) and `GET /ocsp/{base64 of the
//! request}` (RFC 6960, with RFC 5019's GET form): the URL every
//! certificate's AIA names. The answers come from
//! [`crate::service::status`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::state::AppState;

async fn answer(state: &AppState, der: &[u8]) -> Response {
    match crate::service::status::answer(state, der).await {
        Ok((der, max_age)) => ocsp_response(der, max_age),
        Err(status) => error_response(status),
    }
}

fn ocsp_response(der: Arc<Vec<u8>>, max_age: Option<i64>) -> Response {
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/ocsp-response")],
        der.as_ref().clone(),
    )
        .into_response();
    if let Some(age) = max_age {
        if let Ok(v) = header::HeaderValue::from_str(&format!(
            "max-age={age}, public, no-transform, must-revalidate"
        )) {
            resp.headers_mut().insert(header::CACHE_CONTROL, v);
        }
    }
    resp
}

fn error_response(status: u8) -> Response {
    ocsp_response(Arc::new(certwell_ca::ocsp_error_response(status)), None)
}

/// `POST /ocsp`
pub async fn post_ocsp(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    answer(&state, &body).await
}

/// `GET /ocsp/{base64}`: the request, base64 (standard or URL-safe,
/// percent-decoded by the router).
pub async fn get_ocsp(State(state): State<Arc<AppState>>, Path(b64): Path<String>) -> Response {
    let text: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('='))
        });
    match decoded {
        Ok(der) => answer(&state, &der).await,
        Err(_) => error_response(certwell_ca::OCSP_STATUS_MALFORMED_REQUEST),
    }
}
