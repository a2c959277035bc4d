//! `/ca/{id}.crt` and `/ca/{id}.crl`: public, unauthenticated, as the AIA
//! and CRL distribution point URLs in every certificate name them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Result};
use crate::service::status::crl_der;
use crate::state::AppState;

pub async fn ca_file(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
) -> Result<Response> {
    if let Some(id) = file.strip_suffix(".crt") {
        let ca = state.cas().get(id).cloned().ok_or_else(|| {
            Error::not_found(certwell_api::error::codes::NOT_FOUND, "No such CA.")
        })?;
        return Ok((
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            ca.cert_der.clone(),
        )
            .into_response());
    }
    if let Some(id) = file.strip_suffix(".crl") {
        let der = crl_der(&state, id).await?;
        return Ok((
            [(header::CONTENT_TYPE, "application/pkix-crl")],
            der.as_ref().clone(),
        )
            .into_response());
    }
    Err(Error::route_not_found())
}
