//! Domain control validation endpoints (api-surface.md §8.5, §3.4, §3.5)
//! and the one-time confirmation pages that validation emails link to.

use certwell_store::{DcvMethod, MailboxStatus, OrderStatus};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_store::{Domain, Order};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::routes::query_map;
use crate::service::access::load_order;
use crate::service::intake::dcv_token_json;
use crate::service::issuance::try_issue;
use crate::service::order_data::{OrderData, OrderPlan};
use crate::service::validation::{self, Confirmed};
use crate::service::validation::{domain_fact, domain_validated};
use crate::state::AppState;
use crate::token::new_dcv_token;

fn domain_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_DOMAIN,
        "The specified domain was not found.",
    )
}

async fn load_domain(state: &AppState, caller: &Caller, id: &str) -> Result<Domain> {
    let id = path_id(id, domain_not_found)?;
    let d = state
        .store
        .get_domain(caller.account_id, id)
        .await?
        .ok_or_else(domain_not_found)?;
    // Changing a domain's DCV needs it in the caller's own subtree.
    if !crate::service::access::sees_container(state, caller, d.container_id).await? {
        return Err(domain_not_found());
    }
    Ok(d)
}

/// Where DCV email for `d` goes: `{"name_scope","base_emails","dns_txt_emails"}`.
pub fn validation_emails(d: &Domain, base: &[String], txt: &[String]) -> Value {
    json!({"name_scope": d.name, "base_emails": base, "dns_txt_emails": txt})
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
    let d = load_domain(&state, &caller, &id).await?;
    let b: DcvMethodBody = parse_json(&body)?;
    let method = b
        .dcv_method
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("dcv_method"))?;
    let method = certwell_policy::dcv::parse_dcv_method(method, "dcv_method")?;
    let token = if method.is_token() {
        Some(new_dcv_token()?)
    } else {
        None
    };
    state
        .store
        .set_domain_dcv(
            caller.account_id,
            d.id,
            method,
            token.as_ref().map(|(t, e)| (t.as_str(), *e)),
        )
        .await?;
    let d = load_domain(&state, &caller, &id).await?;
    if method == DcvMethod::Email {
        if b.send_dcv_email_flag.unwrap_or(true) && !domain_validated(&d) {
            validation::send_domain_emails(&state, &d).await?;
        }
        let (base, txt) = validation::dcv_addresses(&state, &d).await;
        return Ok(Json(
            json!({"validation_emails": validation_emails(&d, &base, &txt)}),
        ));
    }
    state.wake_dcv.notify_one();
    Ok(Json(json!({"dcv_token": dcv_token_json(&state, &d)})))
}

/// `POST /domain/{id}/dcv/token`: a new random value (token methods only).
pub async fn post_dcv_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>)> {
    let d = load_domain(&state, &caller, &id).await?;
    if !d.dcv_method.is_token() {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            format!(
                "Domain {} uses the DCV method '{}', which has no random value; switch it with PUT /domain/{}/dcv/method.",
                d.name, d.dcv_method, d.id
            ),
        ));
    }
    let (token, exp) = new_dcv_token()?;
    state
        .store
        .set_domain_dcv(caller.account_id, d.id, d.dcv_method, Some((&token, exp)))
        .await?;
    state.wake_dcv.notify_one();
    let mut v = json!({"token": token, "expiration_date": crate::views::datetime(exp)});
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
    let d = load_domain(&state, &caller, &id).await?;
    let token = d.dcv_token.clone().unwrap_or_default();
    if domain_validated(&d) {
        return Ok(Json(json!({"token": token, "status": "active"})));
    }
    validation::check_domain(&state, &d).await??;
    Ok(Json(json!({"token": token, "status": "active"})))
}

/// `GET /domain/{id}/dcv/emails`: where DCV email goes.
pub async fn get_dcv_emails(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let d = load_domain(&state, &caller, &id).await?;
    let (base, txt) = validation::dcv_addresses(&state, &d).await;
    Ok(Json(validation_emails(&d, &base, &txt)))
}

/// `PUT /domain/{id}/dcv/emails`: sends the DCV emails again.
pub async fn put_dcv_emails(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let d = load_domain(&state, &caller, &id).await?;
    if d.dcv_method != DcvMethod::Email {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            format!("Domain {} does not use email DCV.", d.name),
        ));
    }
    if !state.mailer.configured() {
        return Err(Error::bad_request(
            codes::DCV_EMAIL_NOT_SENT,
            "No SMTP relay is configured (smtp.host), so DCV email cannot be sent.",
        ));
    }
    let sent = validation::send_domain_emails(&state, &d).await?;
    Ok(Json(json!({"emails": sent})))
}

async fn set_active(
    state: &AppState,
    caller: &Caller,
    id: &str,
    active: bool,
) -> Result<StatusCode> {
    let d = load_domain(state, caller, id).await?;
    state
        .store
        .set_domain_active(caller.account_id, d.id, active)
        .await?;
    if active {
        state.wake_issuer.notify_one();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /domain/{id}/activate`
pub async fn activate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    set_active(&state, &caller, &id, true).await
}

/// `PUT /domain/{id}/deactivate`: a deactivated domain covers no names.
pub async fn deactivate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    set_active(&state, &caller, &id, false).await
}

/// `DELETE /domain/{id}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let d = load_domain(&state, &caller, &id).await?;
    state.store.delete_domain(caller.account_id, d.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The names of an order (TLS names, or S/MIME address domains).
fn order_names(data: &OrderData) -> Vec<String> {
    match &data.plan {
        OrderPlan::Tls(p) => p.sans.clone(),
        OrderPlan::Smime(p) => crate::service::profile::email_domains(&p.emails),
    }
}

/// The organization's domains that cover `names`, each with the names.
async fn covering_domains(
    state: &AppState,
    order: &Order,
    names: &[String],
) -> Result<Vec<(Domain, Vec<String>)>> {
    if order.organization_id == 0 {
        return Ok(Vec::new());
    }
    let domains = state
        .store
        .domains_of_organization(order.account_id, order.organization_id)
        .await?;
    let mut out: Vec<(Domain, Vec<String>)> = Vec::new();
    for name in names {
        // Prefer a validated domain; else the first that would cover it.
        let pick = domains
            .iter()
            .filter(|d| d.is_active && domain_fact(d).covers(name))
            .max_by_key(|d| domain_validated(d));
        if let Some(d) = pick {
            match out.iter_mut().find(|(x, _)| x.id == d.id) {
                Some((_, n)) => n.push(name.clone()),
                None => out.push((d.clone(), vec![name.clone()])),
            }
        }
    }
    Ok(out)
}

/// `GET /order/certificate/{id}/validation` (§3.4)
pub async fn order_validation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let data = OrderData::from_order(&order)?;
    let names = order_names(&data);
    let mut v = json!({
        "order_id": order.id.to_string(),
        "order_status": order.status,
        "dns_name_validations": [],
    });
    if let OrderPlan::Tls(p) = &data.plan {
        if let Some(m) = &p.dcv_method {
            v["order_dcv_method"] = json!(m);
        }
    }
    if order.organization_id != 0 {
        if let Some(org) = state
            .store
            .get_organization(order.account_id, order.organization_id)
            .await?
        {
            v["organization_id"] = json!(org.id.to_string());
            v["organization_name"] = json!(org.name);
            v["organization_validations"] = json!(org
                .validations
                .iter()
                .map(|val| {
                    let (name, desc) = crate::views::validation_name(&val.kind);
                    let mut x = json!({"type": val.kind, "name": name, "description": desc,
                        "date_created": crate::views::datetime(val.date_created), "status": val.status});
                    if let Some(u) = val.validated_until {
                        x["validated_until"] = json!(crate::views::datetime(u));
                    }
                    x
                })
                .collect::<Vec<_>>());
        }
    }
    let mut list = Vec::new();
    for (d, covered) in covering_domains(&state, &order, &names).await? {
        list.push(json!({
            "domain_id": d.id.to_string(),
            "name_scope": d.name,
            "approval_scope": if d.dcv_method == DcvMethod::HttpToken { "fqdn" } else { "subdomains" },
            "status": if domain_validated(&d) { "approved" } else { "pending" },
            "method": d.dcv_method,
            "dns_names": covered,
        }));
    }
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
    let data = OrderData::from_order(&order)?;
    let mut names = order_names(&data);
    if let Some(only) = &b.dns_names_validations {
        let only: Vec<String> = only
            .iter()
            .map(|o| o.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect();
        if let Some(o) = only.iter().find(|o| !names.contains(o)) {
            return Err(Error::bad_request(
                codes::INVALID_DNS_NAME,
                format!("The field 'dns_names_validations' names '{o}', which is not a name of order {}.", order.id),
            ));
        }
        names.retain(|n| only.contains(n));
    }
    let mut results = Vec::new();
    let mut failure: Option<Error> = None;
    let covering = covering_domains(&state, &order, &names).await?;
    // (mailbox-validated orders have addresses, not domains)
    if let Some(n) = names
        .iter()
        .filter(|_| order.organization_id != 0)
        .find(|n| !covering.iter().any(|(_, c)| c.contains(n)))
    {
        return Err(Error::bad_request(
            codes::INVALID_DNS_NAME,
            format!("No active domain of the organization covers '{n}'; add it with POST /domain (or activate it)."),
        ));
    }
    for (d, covered) in covering {
        let ok = if domain_validated(&d) {
            true
        } else if !d.dcv_method.is_token() {
            failure.get_or_insert(Error::bad_request(
                codes::INVALID_DCV_METHOD,
                format!(
                    "Domain {} uses email DCV; it is validated through the link in its DCV email.",
                    d.name
                ),
            ));
            false
        } else {
            match validation::check_domain(&state, &d).await? {
                Ok(()) => true,
                Err(f) => {
                    failure.get_or_insert(f.into());
                    false
                }
            }
        };
        for n in covered {
            results.push(json!({"dns_name": n, "status": if ok { "approved" } else { "pending" }}));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let mut certificate_id = order.certificate_id;
    let mut status = order.status;
    if order.status == OrderStatus::Pending {
        // An explicit check re-reads CAA at once.
        if let Some(c) = order.certificate_id {
            state
                .caa_holds
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&c);
        }
        if let Some((cid, _)) = try_issue(&state, order.account_id, order.id).await? {
            certificate_id = Some(cid);
            status = OrderStatus::Issued;
        } else if let Some(caa) = caa_message(&state, &order, &data).await {
            return Err(caa);
        }
    }
    let mut v = json!({"order_status": status, "dcv_status": "valid",
        "dns_name_validations": results});
    if let Some(c) = certificate_id {
        v["certificate_id"] = json!(c);
    }
    Ok(Json(v))
}

/// A pending order CAA holds back: its `caa_check_failed|<name>` error.
async fn caa_message(state: &AppState, order: &Order, data: &OrderData) -> Option<Error> {
    if order.status != OrderStatus::Pending {
        return None;
    }
    crate::service::issuance::caa_failure(state, &order.product_name_id, &order_names(data))
        .await
        .map(Into::into)
}

/// `caa_status_message` of order info (`include_caa_status=true`): per
/// name, whether CAA allows issuance; pending orders only.
pub async fn caa_status(state: &AppState, order: &Order) -> Result<Option<Value>> {
    if !matches!(
        order.status,
        OrderStatus::Pending | OrderStatus::NeedsApproval
    ) {
        return Ok(None);
    }
    let data = OrderData::from_order(order)?;
    let mut m = serde_json::Map::new();
    for n in order_names(&data) {
        let msg = match crate::service::issuance::caa_failure(
            state,
            &order.product_name_id,
            std::slice::from_ref(&n),
        )
        .await
        {
            None => "CAA check passed".to_string(),
            Some(f) => f.message,
        };
        m.insert(n, json!(msg));
    }
    Ok(Some(Value::Object(m)))
}

/// `PUT /order/certificate/{id}/dcv-random-value`: new random values for
/// the order's pending token domains.
pub async fn new_order_random_value(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let data = OrderData::from_order(&order)?;
    let mut domains = Vec::new();
    let mut first = None;
    for (d, _) in covering_domains(&state, &order, &order_names(&data)).await? {
        if domain_validated(&d) || !d.dcv_method.is_token() {
            continue;
        }
        let (token, exp) = new_dcv_token()?;
        state
            .store
            .set_domain_dcv(caller.account_id, d.id, d.dcv_method, Some((&token, exp)))
            .await?;
        first.get_or_insert(token.clone());
        let d = state
            .store
            .get_domain(caller.account_id, d.id)
            .await?
            .ok_or_else(domain_not_found)?;
        domains.push(json!({"id": d.id, "name": d.name, "dcv_token": dcv_token_json(&state, &d)}));
    }
    let Some(first) = first else {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            "The order has no pending domain that uses a random value.",
        ));
    };
    state.wake_dcv.notify_one();
    Ok(Json(json!({"dcv_random_value": first, "domains": domains})))
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
    let what = match link.kind.as_str() {
        "domain" => {
            let name = match link.domain_id {
                Some(id) => state
                    .store
                    .get_domain(link.account_id, id)
                    .await
                    .ok()
                    .flatten()
                    .map(|d| d.name)
                    .unwrap_or_default(),
                None => String::new(),
            };
            format!(
                "<p>Confirm that you control the domain <strong>{}</strong> and approve \
                 certificates for it. This message was sent to {}.</p>",
                html_escape(&name),
                html_escape(&link.email)
            )
        }
        _ => format!(
            "<p>Confirm that you control the mailbox <strong>{}</strong> and approve the \
             certificate requested for it (order {}).</p>",
            html_escape(&link.email),
            link.order_id.unwrap_or(0)
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
    let addresses = state.store.order_emails(order.id).await?;
    if addresses.is_empty() {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            "The order has no mailbox-validated addresses.",
        ));
    }
    if !state.mailer.configured() {
        return Err(Error::bad_request(
            codes::DCV_EMAIL_NOT_SENT,
            "No SMTP relay is configured (smtp.host), so validation email cannot be sent.",
        ));
    }
    let mut sent = Vec::new();
    for a in addresses
        .iter()
        .filter(|a| a.status != MailboxStatus::Validated)
    {
        if let Some(only) = &b.emails {
            if !only.iter().any(|o| o.eq_ignore_ascii_case(&a.email)) {
                continue;
            }
        }
        if validation::send_mailbox_email(&state, order.account_id, order.id, &a.email).await? {
            sent.push(a.email.clone());
        }
    }
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
