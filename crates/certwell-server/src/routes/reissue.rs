//! Reissue and duplicate (api-surface.md §3.7, §3.8):
//! `POST|GET /order/certificate/{id}/reissue` and `…/duplicate`.

use certwell_store::{CertificateKind, CertificateStatus, OrderStatus, RequestStatus};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_api::order::{OrderCreated, OrderRequest};
use certwell_policy::catalog::find_product;
use certwell_policy::dns::domain_covers;
use certwell_policy::reissue::{validate_smime_extra, validate_tls_extra, ExtraKind};
use certwell_store::{Conflict, NewCertificateRow, NewExtraCertificate, StoreError};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::extract::{parse_json, Caller};
use crate::service::access::load_order;
use crate::service::intake::{initial_status, key_facts, pick_issuing_ca, verify_csr};
use crate::service::issuance::{extra_plan, try_issue_certificate};
use crate::service::order_data::{OrderData, OrderPlan};
use crate::state::AppState;
use crate::views::{certificate_fields, date, datetime, server_platform_json};

/// `POST /order/certificate/{id}/reissue`
pub async fn post_reissue(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
    body: Bytes,
) -> Result<Response> {
    create(state, caller, id, body, ExtraKind::Reissue).await
}

/// `POST /order/certificate/{id}/duplicate`
pub async fn post_duplicate(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
    body: Bytes,
) -> Result<Response> {
    create(state, caller, id, body, ExtraKind::Duplicate).await
}

async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
    kind: ExtraKind,
) -> Result<Response> {
    let order = load_order(&state, &caller, &id).await?;
    let req: OrderRequest = parse_json(&body)?;
    let data = OrderData::from_order(&order)?;
    let product = find_product(&order.product_name_id)
        .ok_or_else(|| Error::internal("The order names an unknown product."))?;
    let now = OffsetDateTime::now_utc();
    if order.status != OrderStatus::Issued {
        let (code, why) = if order.status == OrderStatus::ReissuePending {
            (
                codes::REISSUE_PENDING,
                "a reissue is already pending".to_string(),
            )
        } else {
            (
                codes::INVALID_STATUS_TRANSITION,
                format!("the order is '{}'", order.status),
            )
        };
        return Err(Error::bad_request(
            code,
            format!(
                "Order {} cannot get a {}: {why}; only issued orders can.",
                order.id,
                kind.as_str()
            ),
        ));
    }
    let term_end = crate::service::order_data::parse_term_end(data.plan.term_end())
        .ok_or_else(|| Error::internal("The order's term could not be read."))?;
    if term_end <= now {
        return Err(Error::bad_request(
            codes::CERT_VALIDITY_EXCEEDS_ORDER_VALIDITY,
            "The order's validity has ended; renew the order instead.",
        ));
    }
    let current = match order.certificate_id {
        Some(c) => state.store.get_certificate(caller.account_id, c).await?,
        None => None,
    }
    .ok_or_else(|| Error::internal("The order's certificate record is missing."))?;
    let plan = match &data.plan {
        OrderPlan::Tls(p) => {
            let names = extra_plan(&current)
                .map(|x| x.sans)
                .unwrap_or_else(|| p.sans.clone());
            validate_tls_extra(kind, product, p, &names, &req)?
        }
        OrderPlan::Smime(p) => validate_smime_extra(kind, product, &p.signature_hash, &req)?,
    };
    if plan.skip_approval && !caller.role.can_approve() {
        return Err(Error::missing_permission(
            "skip approval (an administrator or manager key is required)",
        ));
    }
    let csr = verify_csr(&state, &plan.csr)?;
    if let OrderPlan::Smime(p) = &data.plan {
        crate::service::smime::check_key(p, &csr, None)?;
    }
    let ca = pick_issuing_ca(
        &state,
        product,
        Some(plan.ca_cert_id.as_deref().unwrap_or(&data.ca_cert_id)),
    )?;
    // New names must lie within the organization's domains.
    if order.organization_id != 0 && !plan.sans.is_empty() {
        let domains = state
            .store
            .domains_of_organization(caller.account_id, order.organization_id)
            .await?;
        for (i, n) in plan.sans.iter().enumerate() {
            if !domains
                .iter()
                .any(|d| d.is_active && domain_covers(&d.name, n))
            {
                return Err(Error::bad_request(
                    codes::INVALID_DNS_NAME,
                    format!("The name '{n}' (certificate.dns_names[{i}] or common_name) is not covered by a domain of the order's organization; add and validate the domain first."),
                ));
            }
        }
    }
    let (_, request) = initial_status(&state, &caller, plan.skip_approval).await?;
    let approved = plan.skip_approval || request == Some(RequestStatus::Approved);
    let mut x = plan.clone();
    x.ca_cert_id = Some(ca.id.clone());
    let (_, key_size) = key_facts(&csr);
    let created = match state
        .store
        .create_extra_certificate(&NewExtraCertificate {
            account_id: caller.account_id,
            order_id: order.id,
            kind: match kind {
                ExtraKind::Reissue => CertificateKind::Reissue,
                ExtraKind::Duplicate => CertificateKind::Duplicate,
            },
            user_id: caller.user.id,
            certificate: NewCertificateRow {
                csr: plan.csr.clone(),
                spki_sha256: csr.spki_sha256_hex.clone(),
                key_size,
                common_name: plan
                    .common_name
                    .clone()
                    .unwrap_or_else(|| order.common_name.clone()),
                dns_names: plan.sans.clone(),
                signature_hash: plan.signature_hash.clone(),
            },
            data: serde_json::to_value(&x)
                .map_err(|_| Error::internal("The request could not be encoded."))?,
            request: request.map(|s| (s, plan.comments.clone())),
            approved,
            reserve_serial: None,
            created_at: now,
        })
        .await
    {
        Ok(c) => c,
        Err(StoreError::Conflict(c @ Conflict::OrderNotIssued { .. })) => {
            return Err(Error::bad_request(
                codes::INVALID_STATUS_TRANSITION,
                c.to_string(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = OrderCreated {
        id: order.id,
        organization: None,
        requests: crate::service::intake::request_refs(created.request_id, request),
        certificate_id: None,
        certificate_chain: None,
        dcv_random_value: None,
        domains: None,
    };
    if approved {
        resp.certificate_id = Some(created.certificate_id);
        let order = state
            .store
            .get_order(caller.account_id, order.id)
            .await?
            .ok_or_else(Error::order_not_found)?;
        match try_issue_certificate(&state, &order, created.certificate_id).await {
            Ok(Some((_, chain))) => resp.certificate_chain = Some(chain),
            Ok(None) => state.wake_issuer.notify_one(),
            Err(e) => tracing::warn!(order = order.id, error = %e.message, "issuance deferred"),
        }
    }
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `GET /order/certificate/{id}/reissue`
pub async fn list_reissues(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
) -> Result<Json<Value>> {
    list(state, caller, id, CertificateKind::Reissue).await
}

/// `GET /order/certificate/{id}/duplicate`
pub async fn list_duplicates(
    state: State<Arc<AppState>>,
    caller: Caller,
    id: Path<String>,
) -> Result<Json<Value>> {
    list(state, caller, id, CertificateKind::Duplicate).await
}

async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    kind: CertificateKind,
) -> Result<Json<Value>> {
    let order = load_order(&state, &caller, &id).await?;
    let data = OrderData::from_order(&order)?;
    let mut out = Vec::new();
    for c in state.store.certificates_for_order(order.id).await? {
        if c.kind != kind {
            continue;
        }
        let x = extra_plan(&c);
        let mut v = json!({
            "id": c.id,
            "common_name": c.common_name,
            "dns_names": c.dns_names,
            "status": match c.status {
                CertificateStatus::Issued => "approved",
                CertificateStatus::NeedsApproval => "pending",
                other => other.as_str(),
            },
            "date_created": datetime(c.created_at),
            "csr": c.csr,
            "signature_hash": c.signature_hash,
            "key_size": c.key_size,
            "ca_cert_id": x.as_ref().and_then(|x| x.ca_cert_id.clone()).unwrap_or_else(|| data.ca_cert_id.clone()),
            "archived": "0",
        });
        if let Some(p) = x.as_ref().and_then(|x| x.server_platform_id) {
            v["server_platform"] = server_platform_json(p);
        }
        if let Some(u) = c.user_id {
            v["user_id"] = json!(u);
            if let Some(user) = state.store.get_user(caller.account_id, u).await? {
                v["firstname"] = json!(user.first_name);
                v["lastname"] = json!(user.last_name);
            }
        }
        certificate_fields(&c, &mut v);
        if let Some(f) = c.valid_from {
            v["valid_from"] = json!(date(f));
        }
        out.push(v);
    }
    let mut v = json!({});
    if !out.is_empty() {
        v["certificates"] = json!(out);
    }
    Ok(Json(v))
}

/// The routes of this module: reissues and duplicates of an order.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/order/certificate/{id}/reissue",
            get(list_reissues).post(post_reissue),
        )
        .route(
            "/order/certificate/{id}/duplicate",
            get(list_duplicates).post(post_duplicate),
        )
}
