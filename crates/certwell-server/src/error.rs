//! HTTP errors in the vendor's envelope.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use certwell_api::error::codes;
use certwell_api::ErrorBody;
use certwell_policy::PolicyError;
use certwell_store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn order_not_found() -> Self {
        Self::not_found(codes::NOT_FOUND_ORDER, "The specified order was not found.")
    }
    pub fn route_not_found() -> Self {
        Self::not_found(codes::NOT_FOUND_ROUTE, "The specified route was not found.")
    }
    pub fn forbidden_invalid_key() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            codes::ACCESS_DENIED_INVALID_KEY,
            "Access denied due to access_denied_invalid_key.",
        )
    }
    pub fn missing_permission(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            codes::MISSING_PERMISSION,
            format!("Access denied: your API key's user lacks the permission to {what}."),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        ApiError::bad_request(e.code, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BlockedKey => ApiError::bad_request(
                codes::CSR_WEAK_KEY,
                "The field 'certificate.csr' carries a key that was revoked for key compromise; it may not be certified again.",
            ),
            StoreError::NotFound => ApiError::not_found(codes::NOT_FOUND, "The specified object was not found."),
            StoreError::InsufficientFunds => ApiError::bad_request(
                codes::INSUFFICIENT_FUNDS,
                "The account balance and its negative-balance limit do not cover this order (payment_method 'balance'); no order was created.",
            ),
            StoreError::DuplicateAlternativeOrderId => ApiError::bad_request(
                codes::DUPLICATE_ALTERNATIVE_ORDER_ID,
                "The field 'alternative_order_id' is already assigned to another order of this account, and the account requires unique alternative order ids; no order was created.",
            ),
            StoreError::Conflict(m) => ApiError::bad_request(
                "conflict",
                format!("The request conflicts with the current state ({m}); fetch the object and try again."),
            ),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal("The request could not be completed because of a storage error; nothing was changed.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::single(self.code, self.message);
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
