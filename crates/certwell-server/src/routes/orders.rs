//! `/order/certificate…`: create, info, list, status.

use certwell_policy::organization::{ContactType, OrderContact};
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_api::order::{OrderRequest, OrderStatusUpdate};
use certwell_policy::catalog::find_product;
use certwell_policy::order_status::parse_status_change;
use certwell_store::{Order, OrderQuery};
use serde_json::{json, Value};
use time::Duration;

use crate::error::{Error, Result};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::routes::{paged, query_map};
use crate::service::access::load_order;
use crate::service::access::{order_scope, sees_container};
use crate::service::order_data::OrderData;
use crate::state::AppState;
use crate::views::{self, OrderContext};

/// `POST /order/certificate/{product_name_id}`
pub async fn create_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let product = find_product(&product_id).ok_or_else(|| {
        Error::not_found(
            codes::NOT_FOUND_PRODUCT,
            format!("The product '{product_id}' was not found."),
        )
    })?;
    let req: OrderRequest = parse_json(&body)?;
    let created = crate::service::orders::create_order(&state, &caller, product, req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn resolve_contacts(
    contacts: &[OrderContact],
    org: Option<&certwell_store::Organization>,
    users: &HashMap<i64, certwell_store::User>,
) -> (Option<Value>, Option<Value>) {
    let org_contact = org
        .and_then(views::org_data)
        .map(|d| views::contact_json(&d.organization_contact));
    let find = |kind: ContactType| -> Option<Value> {
        let c = contacts.iter().find(|c| c.contact_type == kind)?;
        if let Some(ct) = &c.contact {
            return Some(views::contact_json(ct));
        }
        let u = users.get(&c.user_id?)?;
        let o = &c.overrides;
        Some(json!({
            "first_name": o.first_name.clone().unwrap_or_else(|| u.first_name.clone()),
            "last_name": o.last_name.clone().unwrap_or_else(|| u.last_name.clone()),
            "email": o.email.clone().unwrap_or_else(|| u.email.clone()),
            "job_title": o.job_title.clone().unwrap_or_else(|| u.job_title.clone()),
            "telephone": o.telephone.clone().unwrap_or_else(|| u.telephone.clone()),
        }))
    };
    let oc = find(ContactType::OrganizationContact).or(org_contact);
    let tc = find(ContactType::TechnicalContact).or_else(|| oc.clone());
    (oc, tc)
}

async fn order_context_values(state: &AppState, order: &Order, full: bool) -> Result<Value> {
    let data = OrderData::from_order(order)?;
    let org = state
        .store
        .get_organization(order.account_id, order.organization_id)
        .await?;
    let cert = match order.certificate_id {
        Some(id) => state.store.get_certificate(order.account_id, id).await?,
        None => None,
    };
    let container = state
        .store
        .get_container(order.account_id, order.container_id)
        .await?;
    let container_name = container.map(|c| c.name).unwrap_or_default();
    let requests = if full {
        state.store.requests_for_order(order.id).await?
    } else {
        Vec::new()
    };
    let user = if full {
        state
            .store
            .get_user(order.account_id, order.user_id)
            .await?
    } else {
        None
    };
    let mut users = HashMap::new();
    if full {
        for c in data.plan.contacts() {
            if let Some(uid) = c.user_id {
                if let Some(u) = state.store.get_user(order.account_id, uid).await? {
                    users.insert(uid, u);
                }
            }
        }
    }
    let ca_name = state.cas().get(&data.ca_cert_id).map(|c| c.name.clone());
    let renewed_by = state
        .store
        .renewal_order_of(order.account_id, order.id)
        .await?;
    let pending_reasons = if full {
        crate::service::issuance::pending_reasons(state, order)
            .await?
            .iter()
            .map(|b| b.reason())
            .collect()
    } else {
        Vec::new()
    };
    let ctx = OrderContext {
        renewed_by,
        pending_reasons,
        order,
        data: &data,
        org: org.as_ref(),
        cert: cert.as_ref(),
        container_name: &container_name,
        requests: &requests,
        user: user.as_ref(),
        ca_name: ca_name.as_deref(),
        contacts: if full {
            resolve_contacts(data.plan.contacts(), org.as_ref(), &users)
        } else {
            (None, None)
        },
    };
    Ok(if full {
        views::order_info_json(&ctx)
    } else {
        views::order_list_item(&ctx)
    })
}

pub async fn order_json(state: &AppState, order: &Order) -> Result<Value> {
    order_context_values(state, order, true).await
}

/// `GET /order/certificate/{id|serial|thumbprint}`
pub async fn order_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &key).await?;
    let mut v = order_json(&state, &order).await?;
    let q = query_map(raw.as_deref());
    if q.get("include_caa_status")
        .is_some_and(|v| v == "true" || v == "1")
    {
        if let Some(per_name) = crate::service::domains::caa_status(&state, &order).await? {
            v["caa_status_message"] = Value::Object(
                per_name
                    .into_iter()
                    .map(|(name, message)| (name, json!(message)))
                    .collect(),
            );
        }
    }
    Ok(Json(v))
}

/// `GET /order/certificate`
pub async fn list_orders(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let int = |k: &str| -> Result<Option<i64>> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                Error::bad_request(
                    codes::INVALID_FILTER,
                    format!("The filter '{k}' must be an integer."),
                )
            }),
        }
    };
    let s = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let flag = |k: &str| -> Result<Option<bool>> {
        match q.get(k).map(String::as_str) {
            None | Some("") => Ok(None),
            Some("1" | "true") => Ok(Some(true)),
            Some("0" | "false") => Ok(Some(false)),
            Some(_) => Err(Error::bad_request(
                codes::INVALID_FILTER,
                format!("The filter '{k}' must be 1 or 0."),
            )),
        }
    };
    let mut products: Vec<String> = q
        .iter()
        .filter(|(k, _)| k.starts_with("filters[product_name_id]"))
        .map(|(_, v)| v.clone())
        .collect();
    products.sort();
    let mut sort = Vec::new();
    if let Some(spec) = s("sort") {
        if spec.split(',').count() > 5 {
            return Err(Error::bad_request(
                codes::INVALID_FILTER,
                "The parameter 'sort' may name at most 5 keys.",
            ));
        }
        for part in spec.split(',') {
            let (desc, key) = match part.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, part),
            };
            let Some(key) = certwell_store::OrderSortKey::parse(key) else {
                return Err(Error::bad_request(
                    codes::INVALID_FILTER,
                    format!("The sort key '{key}' is not supported."),
                ));
            };
            // A repeated key (or another name of it) orders by nothing more.
            if !sort
                .iter()
                .any(|s: &certwell_store::OrderSort| s.key == key)
            {
                sort.push(certwell_store::OrderSort {
                    key,
                    descending: desc,
                });
            }
        }
    }
    let search = s("filters[search]").map(|v| match v.strip_prefix('%') {
        Some(rest) => (rest.to_string(), true),
        None => (v, false),
    });
    let oq = OrderQuery {
        id: int("filters[id]")?,
        status: s("filters[status]"),
        organization_id: int("filters[organization_id]")?,
        product_name_id: products,
        user_id: int("filters[user_id]")?,
        common_name: s("filters[common_name]"),
        domain_name: s("filters[domain_name]"),
        email: s("filters[email]"),
        container_id: int("filters[container_id]")?,
        container_ids: order_scope(&state, &caller).await?,
        is_renewed: flag("filters[is_renewed]")?,
        certificate_id: int("filters[certificate_id]")?,
        // Any spelling of a serial (no leading zero, colons, lower case);
        // what is no serial at all matches nothing.
        serial_number: s("filters[serial_number]")
            .map(|v| certwell_store::SerialNumber::parse(&v).map_or(v, |n| n.to_string())),
        search,
        sort,
        limit,
        offset,
    };
    let (orders, total) = state.store.list_orders(caller.account_id, &oq).await?;
    let mut items = Vec::new();
    for o in &orders {
        items.push(order_context_values(&state, o, false).await?);
    }
    Ok(Json(paged("orders", items, total, limit, offset)))
}

/// `PUT /order/certificate/{id}/status`
pub async fn update_order_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&key, Error::order_not_found)?;
    let req: OrderStatusUpdate = parse_json(&body)?;
    let change = parse_status_change(req.status.as_deref())?;
    crate::service::lifecycle::change_order_status(
        &state,
        &caller,
        id,
        change,
        req.note.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /order/certificate/status-changes?filters[status_last_updated]=START...END`
pub async fn status_changes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let range = q
        .get("filters[status_last_updated]")
        .ok_or_else(|| certwell_policy::PolicyError::missing("filters[status_last_updated]"))?;
    let bad = || {
        Error::bad_request(
            codes::INVALID_FILTER,
            "The filter 'status_last_updated' must be START...END with dates like 2024-1-5 10:0:0.",
        )
    };
    let (a, b) = range.split_once("...").ok_or_else(bad)?;
    let from = certwell_policy::validity::parse_range_time(a, false).ok_or_else(bad)?;
    let to = certwell_policy::validity::parse_range_time(b, true).ok_or_else(bad)?;
    let mut rows = state
        .store
        .order_status_changes(caller.account_id, from, to)
        .await?;
    // A user below the root sees the changes of its containers' orders only.
    if let Some(scope) = order_scope(&state, &caller).await? {
        let mut kept = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(o) = state.store.get_order(caller.account_id, r.0).await? {
                if scope.contains(&o.container_id) {
                    kept.push(r);
                }
            }
        }
        rows = kept;
    }
    let orders: Vec<Value> = rows
        .into_iter()
        .map(|(order_id, certificate_id, status)| {
            let mut v = json!({"order_id": order_id, "status": status});
            if let Some(c) = certificate_id {
                v["certificate_id"] = json!(c);
            }
            v
        })
        .collect();
    Ok(Json(json!({ "orders": orders })))
}

/// `GET /report/order/{container_id}/expiring`: issued orders whose
/// certificate ends within 30, 31–60 and 61–90 days.
pub async fn expiring_report(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(container): Path<String>,
) -> Result<Json<Value>> {
    let not_found = || Error::not_found(codes::NOT_FOUND, "The specified container was not found.");
    let container = path_id(&container, not_found)?;
    state
        .store
        .get_container(caller.account_id, container)
        .await?
        .ok_or_else(not_found)?;
    if !sees_container(&state, &caller, container).await? {
        return Err(not_found());
    }
    let now = crate::clock::now();
    let ends = state
        .store
        .expiring_certificates(caller.account_id, container, now, now + Duration::days(90))
        .await?;
    let mut buckets = [(30i64, 0i64), (60, 0), (90, 0)];
    for end in ends {
        let days = views::days_remaining(end);
        if let Some(b) = buckets.iter_mut().find(|(limit, _)| days <= *limit) {
            b.1 += 1;
        }
    }
    Ok(Json(json!({
        "expiring_orders": buckets
            .iter()
            .map(|(d, n)| json!({"days_expiring": d, "order_count": n}))
            .collect::<Vec<_>>()
    })))
}

/// `POST /order/certificate/{id}/csr`: the CSR of an order created without one.
pub async fn upload_csr(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let order_id = path_id(&id, Error::order_not_found)?;
    let b: certwell_api::order::CsrUpload = parse_json(&body)?;
    let resp = crate::service::smime::upload_csr(&state, &caller, order_id, b).await?;
    Ok((StatusCode::OK, Json(resp)))
}

/// `GET /order/certificate/{id}/email-validation`
pub async fn email_validation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(
        crate::service::smime::email_validation(&state, &caller, &id).await?,
    ))
}

/// The routes of this module: `/order/certificate…` (create, info, list, status, CSR upload, mailbox validation state) and the expiring report.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, put};
    axum::Router::new()
        .route("/order/certificate", get(list_orders))
        .route("/order/certificate/status-changes", get(status_changes))
        .route(
            "/order/certificate/{id}",
            get(order_info).post(create_order),
        )
        .route("/order/certificate/{id}/status", put(update_order_status))
        .route(
            "/order/certificate/{id}/csr",
            axum::routing::post(upload_csr),
        )
        .route(
            "/order/certificate/{id}/email-validation",
            get(email_validation).post(super::dcv::resend_mailbox_emails),
        )
        .route(
            "/report/order/{container_id}/expiring",
            get(expiring_report),
        )
}
