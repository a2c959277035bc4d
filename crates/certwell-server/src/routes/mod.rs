//! The HTTP surface: `/services/v2` (the vendor API), `/operator/v1`
//! (certwell administration) and `/ca` (public CA files).

pub mod account;
pub mod ca;
pub mod certificates;
pub mod containers;
pub mod dcv;
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

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
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

async fn common_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
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

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/order/certificate", get(orders::list_orders))
        .route(
            "/order/certificate/status-changes",
            get(orders::status_changes),
        )
        .route(
            "/order/certificate/{id}",
            get(orders::order_info).post(orders::create_order),
        )
        .route(
            "/order/certificate/{id}/status",
            put(orders::update_order_status),
        )
        .route(
            "/order/certificate/{id}/csr",
            axum::routing::post(orders::upload_csr),
        )
        .route(
            "/order/certificate/{id}/email-validation",
            get(orders::email_validation).post(dcv::resend_mailbox_emails),
        )
        .route(
            "/order/certificate/{id}/validation",
            get(dcv::order_validation),
        )
        .route(
            "/order/certificate/{id}/check-dcv",
            put(dcv::check_order_dcv),
        )
        .route(
            "/order/certificate/{id}/dcv-random-value",
            put(dcv::new_order_random_value),
        )
        .route("/email-validation/{token}", put(dcv::put_email_validation))
        .route(
            "/order/certificate/{id}/reissue",
            get(reissue::list_reissues).post(reissue::post_reissue),
        )
        .route(
            "/order/certificate/{id}/duplicate",
            get(reissue::list_duplicates).post(reissue::post_duplicate),
        )
        .route("/order/certificate/{id}/revoke", put(revoke::revoke_order))
        .route("/certificate/{id}/revoke", put(revoke::revoke_certificate))
        .route("/request", get(requests::list_requests))
        .route("/request/{id}", get(requests::request_info))
        .route("/request/{id}/status", put(requests::update_request_status))
        .route(
            "/certificate/{id}/download/format/{format}",
            get(certificates::download_format),
        )
        .route(
            "/certificate/{id}/download/platform",
            get(certificates::download_platform),
        )
        .route(
            "/certificate/{id}/download/platform/{platform}",
            get(certificates::download_platform),
        )
        .route(
            "/certificate/download/order/{id}",
            get(certificates::download_order),
        )
        .route(
            "/certificate/download/order/{id}/format/{format}",
            get(certificates::download_order_format),
        )
        .route("/certificate/{id}/chain", get(certificates::chain))
        .route(
            "/certificate/intermediates",
            get(certificates::intermediates),
        )
        .route("/product", get(products::list_products))
        .route("/product/{name_id}", get(products::product_info))
        .route(
            "/organization",
            get(organizations::list_organizations).post(organizations::create_organization),
        )
        .route("/organization/{id}", get(organizations::organization_info))
        .route("/organization/{id}/activate", put(org_admin::activate))
        .route("/organization/{id}/deactivate", put(org_admin::deactivate))
        .route(
            "/organization/{id}/validation",
            get(org_admin::validation_details).post(org_admin::submit_validation),
        )
        .route(
            "/domain",
            get(organizations::list_domains).post(organizations::create_domain),
        )
        .route(
            "/domain/{id}",
            get(organizations::domain_info).delete(dcv::delete),
        )
        .route("/domain/{id}/activate", put(dcv::activate))
        .route("/domain/{id}/deactivate", put(dcv::deactivate))
        .route("/domain/{id}/dcv/method", put(dcv::put_dcv_method))
        .route("/domain/{id}/dcv/token", post(dcv::post_dcv_token))
        .route(
            "/domain/{id}/dcv/validate-token",
            put(dcv::put_validate_token),
        )
        .route(
            "/domain/{id}/dcv/emails",
            get(dcv::get_dcv_emails).put(dcv::put_dcv_emails),
        )
        .route(
            "/report/order/{container_id}/expiring",
            get(orders::expiring_report),
        )
        .route("/finance/balance", get(account::get_balance))
        .route("/container", get(containers::list_containers))
        .route("/container/{id}", get(containers::container_info))
        .route("/container/{id}/children", post(containers::create_child))
        .route(
            "/account/metadata",
            get(containers::list_metadata).post(containers::create_metadata),
        )
        .route(
            "/account/metadata/{id}",
            put(containers::update_metadata).delete(containers::delete_metadata),
        )
        .route("/user/me", get(account::user_me))
        .route("/user", get(account::list_users).post(account::create_user))
        .route("/user/{id}", get(account::user_info))
        .route("/account", get(account::account));
    let operator = Router::new()
        .route(
            "/organization/{id}/validate",
            put(operator::put_validate_org),
        )
        .route("/domain/{id}/validate", put(operator::put_validate_domain))
        .route("/validations", get(operator::list_pending))
        .route("/validations/audit", get(operator::get_audit))
        .route(
            "/organization/{id}/validation/{type}",
            put(operator::put_decision),
        )
        .route("/accounts", post(operator::post_account))
        .route("/accounts/{id}/api-keys", post(operator::post_api_key))
        .route("/accounts/{id}/settings", put(operator::put_settings))
        .route("/accounts/{id}/balance", post(operator::post_deposit))
        .route(
            "/order/{id}/email-validation",
            put(operator::put_validate_order_email),
        );
    let max_body = state.config.max_body_bytes;
    Router::new()
        .nest("/services/v2", api)
        .nest("/operator/v1", operator)
        .route("/ca/{file}", get(ca::ca_file))
        .route("/ocsp", post(ocsp::post_ocsp))
        .route(
            "/validate/{secret}",
            get(dcv::confirm_page).post(dcv::confirm_submit),
        )
        .route("/ocsp/{*request}", get(ocsp::get_ocsp))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(common_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                Error::internal("The server failed to handle the request.").into_response()
            },
        ))
        .with_state(state)
}
