//! The one error type of certwell's operations. Services, policy checks
//! and the store's errors all end up as an [`Error`]: a kind, the vendor's
//! error code and a message for the client. Only the edge
//! ([`IntoResponse`]) turns it into HTTP: the status from the [`ErrorKind`]
//! and the vendor's `{"errors":[{"code","message"}]}` envelope. A store or
//! corrupt-record failure is logged and becomes a generic message: database
//! text never reaches a client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use certwell_api::error::codes;
use certwell_api::ErrorBody;
use certwell_policy::PolicyError;
use certwell_store::StoreError;

/// What kind of failure an [`Error`] is; the edge picks the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request breaks a rule (400).
    Invalid,
    /// The caller may not do this (403).
    Forbidden,
    /// No such object, or not one the caller sees (404).
    NotFound,
    /// The request body is too large (413).
    TooLarge,
    /// Too many requests (429).
    RateLimited,
    /// certwell failed; nothing the client can change (500).
    Internal,
    /// Something certwell depends on (the database, the CRL's maker) is
    /// not available now; the same request may succeed shortly (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status of this kind (the edge's business only).
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The error of an operation: its kind, the vendor's error code and a
/// message for the client.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code: code.to_string(),
            message: message.into(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }
    pub fn order_not_found() -> Self {
        Self::not_found(codes::NOT_FOUND_ORDER, "The specified order was not found.")
    }
    pub fn certificate_not_found() -> Self {
        Self::not_found(
            codes::NOT_FOUND_CERTIFICATE,
            "The specified certificate was not found.",
        )
    }
    pub fn route_not_found() -> Self {
        Self::not_found(codes::NOT_FOUND_ROUTE, "The specified route was not found.")
    }
    pub fn forbidden_invalid_key() -> Self {
        Self::new(
            ErrorKind::Forbidden,
            codes::ACCESS_DENIED_INVALID_KEY,
            "Access denied due to access_denied_invalid_key.",
        )
    }
    pub fn missing_permission(what: &str) -> Self {
        Self::new(
            ErrorKind::Forbidden,
            codes::MISSING_PERMISSION,
            format!("Access denied: your API key's user lacks the permission to {what}."),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal_error", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, codes::SERVICE_UNAVAILABLE, message)
    }
}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        Error::bad_request(e.code, e.message)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BlockedKey => Error::bad_request(
                codes::CSR_WEAK_KEY,
                "The field 'certificate.csr' carries a key that was revoked for key compromise; it may not be certified again.",
            ),
            StoreError::NotFound => Error::not_found(codes::NOT_FOUND, "The specified object was not found."),
            StoreError::InsufficientFunds => Error::bad_request(
                codes::INSUFFICIENT_FUNDS,
                "The account balance and its negative-balance limit do not cover this order (payment_method 'balance'); no order was created.",
            ),
            StoreError::DuplicateAlternativeOrderId => Error::bad_request(
                codes::DUPLICATE_ALTERNATIVE_ORDER_ID,
                "The field 'alternative_order_id' is already assigned to another order of this account, and the account requires unique alternative order ids; no order was created.",
            ),
            StoreError::Conflict(m) => Error::bad_request(
                "conflict",
                format!("The request conflicts with the current state ({m}); fetch the object and try again."),
            ),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                Error::unavailable(
                    "The database is not available at the moment; try again shortly.",
                )
            }
            other => {
                tracing::error!(error = %other, "store error");
                Error::internal("The request could not be completed because of a storage error; nothing was changed.")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        envelope(self.kind.http_status(), &self.code, &self.message)
    }
}

/// The vendor's error envelope with `status`: the edge's only error shape.
pub fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody::single(code, message);
    let json = serde_json::to_vec(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_reach_no_client_with_their_text() {
        for e in [
            StoreError::Database("SQLITE_BUSY: database is locked (orders.data)".into()),
            StoreError::Corrupt("orders.status: unknown value \"x\"".into()),
        ] {
            let err = Error::from(e);
            assert_eq!(err.kind, ErrorKind::Internal);
            assert!(!err.message.contains("SQLITE") && !err.message.contains("orders."));
            assert_eq!(
                err.into_response().status(),
                StatusCode::INTERNAL_SERVER_ERROR
            );
        }
        let conflict = Error::from(StoreError::Conflict(certwell_store::Conflict::Duplicate));
        assert_eq!(conflict.kind, ErrorKind::Invalid);
        // A database that is away: 503, its text withheld too.
        let down = Error::from(StoreError::Unavailable(
            "pool timed out while waiting for an open connection".into(),
        ));
        assert_eq!(down.code, "service_unavailable");
        assert!(!down.message.contains("pool"));
        assert_eq!(
            down.into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn kinds_are_statuses_only_at_the_edge() {
        let cases = [
            (ErrorKind::Invalid, 400),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::TooLarge, 413),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in cases {
            let resp = Error::new(kind, "c", "m").into_response();
            assert_eq!(resp.status().as_u16(), status);
            assert_eq!(
                resp.headers()[header::CONTENT_TYPE],
                "application/json",
                "{kind:?}"
            );
        }
    }
}
