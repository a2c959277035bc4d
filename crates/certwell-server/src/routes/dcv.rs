//! Domain control validation endpoints (api-surface.md §8.5, §3.4, §3.5)
//! and the one-time confirmation pages that validation emails link to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_store::{DcvMethod, Domain};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::routes::query_map;
use crate::service::access::load_order;
use crate::service::domains::{self, domain_not_found, DcvAddresses, DcvSetup};
use crate::service::intake::dcv_token_json;
use crate::service::order_data::OrderPlan;
use crate::service::validation::{self, domain_validated, Confirmed, LinkSubject};
use crate::state::AppState;

fn domain_id(id: &str) -> Result<i64> {
    path_id(id, domain_not_found)
}

/// Where DCV email for `d` goes: `{"name_scope","base_emails","dns_txt_emails"}`.
pub fn validation_emails(d: &Domain, a: &DcvAddresses) -> Value {
    json!({"name_scope": d.name, "base_emails": a.base, "dns_txt_emails": a.dns_txt})
}

#[derive(Debug, Default, Deserialize)]
pub struct DcvMethodBody {
    pub dcv_method: Option<String>,
    /// Switching to email: send the DCV emails now (default true).
    pub send_dcv_email_flag: Option<bool>,
}

/// `PUT /domain/{id}/dcv/method`
pub async fn put_dcv_method(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    let id = domain_id(&id)?;
    let b: DcvMethodBody = parse_json(&body)?;
    let method = b
        .dcv_method
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("dcv_method"))?;
    let method = certwell_policy::dcv::parse_dcv_method(method, "dcv_method")?;
    let send = b.send_dcv_email_flag.unwrap_or(true);
    Ok(Json(
        match domains::set_dcv_method(&state, &caller, id, method, send).await? {
            DcvSetup::Email(d, a) => json!({"validation_emails": validation_emails(&d, &a)}),
            DcvSetup::Token(d) => json!({"dcv_token": dcv_token_json(&state, &d)}),
        },
    ))
}

/// `POST /domain/{id}/dcv/token`: a new random value (token methods only).
pub async fn post_dcv_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>)> {
    let d = domains::new_domain_token(&state, &caller, domain_id(&id)?).await?;
    let mut v = json!({"token": d.dcv_token,
        "expiration_date": d.dcv_token_expires.map(crate::views::datetime)});
    if d.dcv_method == DcvMethod::HttpToken {
        v["http_token_url"] = json!(state.validator.token_url(&d.name));
    }
    if d.dcv_method == DcvMethod::DnsCnameToken {
        v["verification_value"] = json!(state.validator.cname_verification_domain());
    }
    Ok((StatusCode::CREATED, Json(v)))
}

/// `PUT /domain/{id}/dcv/validate-token`: checks now (does not change the
/// poller's schedule). 400 `invalid_dns_txt` / `file_random_value_not_found`.
pub async fn put_validate_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let token = domains::check_domain_now(&state, &caller, domain_id(&id)?).await?;
    Ok(Json(json!({"token": token, "status": "active"})))
}

/// `GET /domain/{id}/dcv/emails`: where DCV email goes.
pub async fn get_dcv_emails(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let d = domains::visible_domain(&state, &caller, domain_id(&id)?).await?;
    let a = domains::dcv_addresses(&state, &d).await;
    Ok(Json(validation_emails(&d, &a)))
}

/// `PUT /domain/{id}/dcv/emails`: sends the DCV emails again.
pub async fn put_dcv_emails(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let sent = domains::resend_domain_emails(&state, &caller, domain_id(&id)?).await?;
    Ok(Json(json!({"emails": sent})))
}

/// `PUT /domain/{id}/activate`
pub async fn activate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    domains::set_domain_active(&state, &caller, domain_id(&id)?, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /domain/{id}/deactivate`: a deactivated domain covers no names.
pub async fn deactivate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    domains::set_domain_active(&state, &caller, domain_id(&id)?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /domain/{id}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    domains::delete_domain(&state, &caller, domain_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /order/certificate/{id}/validation` (§3.4)
pub async fn order_validation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let ov = domains::order_validation(&state, &order).await?;
    let mut v = json!({
        "order_id": order.id.to_string(),
        "order_status": order.status,
        "dns_name_validations": [],
    });
    if let OrderPlan::Tls(p) = &ov.data.plan {
        if let Some(m) = &p.dcv_method {
            v["order_dcv_method"] = json!(m);
        }
    }
    if let Some(org) = &ov.organization {
        v["organization_id"] = json!(org.id.to_string());
        v["organization_name"] = json!(org.name);
        v["organization_validations"] = json!(org
            .validations
            .iter()
            .map(|val| {
                let mut x = json!({"type": val.kind, "name": val.kind.display_name(),
                    "description": val.kind.description(),
                    "date_created": crate::views::datetime(val.date_created), "status": val.status});
                if let Some(u) = val.validated_until {
                    x["validated_until"] = json!(crate::views::datetime(u));
                }
                x
            })
            .collect::<Vec<_>>());
    }
    let list: Vec<Value> = ov
        .domains
        .iter()
        .map(|(d, covered)| {
            json!({
                "domain_id": d.id.to_string(),
                "name_scope": d.name,
                "approval_scope": if d.dcv_method == DcvMethod::HttpToken { "fqdn" } else { "subdomains" },
                "status": if domain_validated(d) { "approved" } else { "pending" },
                "method": d.dcv_method,
                "dns_names": covered,
            })
        })
        .collect();
    v["dns_name_validations"] = json!(list);
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckDcvBody {
    pub dns_names_validations: Option<Vec<String>>,
}

/// `PUT /order/certificate/{id}/check-dcv` (§3.5): checks the order's
/// pending token domains now, then issues the order if nothing else blocks.
pub async fn check_order_dcv(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let b: CheckDcvBody = parse_json(&body)?; // an empty body is {}
    let check =
        domains::check_order_dcv(&state, &order, b.dns_names_validations.as_deref()).await?;
    let results: Vec<Value> = check
        .names
        .iter()
        .map(|(n, ok)| json!({"dns_name": n, "status": if *ok { "approved" } else { "pending" }}))
        .collect();
    let mut v = json!({"order_status": check.order_status, "dcv_status": "valid",
        "dns_name_validations": results});
    if let Some(c) = check.certificate_id {
        v["certificate_id"] = json!(c);
    }
    Ok(Json(v))
}

/// `PUT /order/certificate/{id}/dcv-random-value`: new random values for
/// the order's pending token domains.
pub async fn new_order_random_value(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let renewed = domains::new_order_random_values(&state, &order).await?;
    let first = renewed.first().and_then(|d| d.dcv_token.clone());
    let list: Vec<Value> = renewed
        .iter()
        .map(|d| json!({"id": d.id, "name": d.name, "dcv_token": dcv_token_json(&state, d)}))
        .collect();
    Ok(Json(json!({"dcv_random_value": first, "domains": list})))
}

// --- the pages validation emails link to -------------------------------

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} - certwell</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.5}}\
         button{{font-size:1.1em;padding:.5em 1.5em}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>\n",
        t = html_escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r.headers_mut().insert(
        header::HeaderName::from_static("referrer-policy"),
        header::HeaderValue::from_static("no-referrer"),
    );
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn invalid_page() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<p>This validation link is unknown, was already used, or has expired. \
         Ask for a new validation email.</p>",
    )
}

/// `GET /validate/{secret}`: what the link confirms, with a button. The
/// GET changes nothing (mail scanners open links).
pub async fn confirm_page(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
) -> Response {
    let Ok(link) = validation::open_link(&state, &secret).await else {
        return invalid_page();
    };
    let what = match validation::link_subject(&state, &link).await {
        LinkSubject::Domain(name) => format!(
            "<p>Confirm that you control the domain <strong>{}</strong> and approve \
             certificates for it. This message was sent to {}.</p>",
            html_escape(&name),
            html_escape(&link.email)
        ),
        LinkSubject::Mailbox { order_id } => format!(
            "<p>Confirm that you control the mailbox <strong>{}</strong> and approve the \
             certificate requested for it (order {order_id}).</p>",
            html_escape(&link.email),
        ),
    };
    page(
        StatusCode::OK,
        "Confirm validation",
        &format!(
            "{what}<form method=\"post\"><button type=\"submit\">Confirm</button></form>\
             <p>If you did not expect this, close this page; nothing happens without confirmation.</p>"
        ),
    )
}

/// `POST /validate/{secret}`: confirms, once.
pub async fn confirm_submit(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
) -> Response {
    let Ok(link) = validation::open_link(&state, &secret).await else {
        return invalid_page();
    };
    match validation::confirm_link(&state, &link).await {
        Ok(Confirmed::Domain(name)) => page(
            StatusCode::OK,
            "Domain validated",
            &format!(
                "<p>Thank you. Control of <strong>{}</strong> is confirmed.</p>",
                html_escape(&name)
            ),
        ),
        Ok(Confirmed::Mailbox(email)) => page(
            StatusCode::OK,
            "Email address validated",
            &format!(
                "<p>Thank you. <strong>{}</strong> is confirmed.</p>",
                html_escape(&email)
            ),
        ),
        Err(e) if e.kind == crate::error::ErrorKind::NotFound => invalid_page(),
        Err(e) => {
            tracing::warn!(error = %e.message, "confirming a validation link failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>The confirmation could not be recorded. Try again in a moment.</p>",
            )
        }
    }
}

/// `PUT /services/v2/email-validation/{token}?email=` (RB): confirms a
/// mailbox link through the API → 204.
pub async fn put_email_validation(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode> {
    let link = validation::open_link(&state, &secret).await?;
    let q = query_map(raw.as_deref());
    if let Some(e) = q.get("email") {
        if !e.eq_ignore_ascii_case(&link.email) {
            return Err(Error::not_found(
                codes::VALIDATION_LINK_INVALID,
                "This validation link is unknown, already used or expired.",
            ));
        }
    }
    validation::confirm_link(&state, &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct ResendBody {
    pub emails: Option<Vec<String>>,
}

/// `POST /order/certificate/{id}/email-validation`: sends the validation
/// email again to unvalidated addresses (all, or those in `emails`).
pub async fn resend_mailbox_emails(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let b: ResendBody = parse_json(&body)?; // an empty body is {}
    let sent = domains::resend_mailbox_emails(&state, &order, b.emails.as_deref()).await?;
    Ok(Json(json!({"emails": sent})))
}

/// The routes of this module: domain control validation: per-order DCV state and checks, domain DCV methods and random values, validation email links.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/order/certificate/{id}/validation", get(order_validation))
        .route("/order/certificate/{id}/check-dcv", put(check_order_dcv))
        .route(
            "/order/certificate/{id}/dcv-random-value",
            put(new_order_random_value),
        )
        .route("/email-validation/{token}", put(put_email_validation))
        .route("/domain/{id}/activate", put(activate))
        .route("/domain/{id}/deactivate", put(deactivate))
        .route("/domain/{id}/dcv/method", put(put_dcv_method))
        .route("/domain/{id}/dcv/token", post(post_dcv_token))
        .route("/domain/{id}/dcv/validate-token", put(put_validate_token))
        .route(
            "/domain/{id}/dcv/emails",
            get(get_dcv_emails).put(put_dcv_emails),
        )
}
