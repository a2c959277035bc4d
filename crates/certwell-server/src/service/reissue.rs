//! Reissues and duplicates of an issued order (api-surface.md §3.7,
//! §3.8): what may be asked, under which approval, and issuing it when
//! nothing else waits.

use std::sync::Arc;

use certwell_api::error::codes;
use certwell_api::order::{OrderCreated, OrderRequest};
use certwell_policy::catalog::find_product;
use certwell_policy::dns::domain_covers;
use certwell_policy::reissue::{validate_smime_extra, validate_tls_extra, ExtraKind};
use certwell_store::{
    CertificateKind, Conflict, NewCertificateRow, NewExtraCertificate, Order, OrderStatus,
    RequestStatus, StoreError,
};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::service::intake::{initial_status, key_facts, pick_issuing_ca, verify_csr};
use crate::service::issuance::{extra_plan, try_issue_certificate};
use crate::service::order_data::{OrderData, OrderPlan};
use crate::state::AppState;

/// Asks for a reissue or a duplicate of `order`'s certificate: checks it,
/// records it (with its approval request when one is needed) and, when
/// approved and validated, issues it at once.
pub async fn request_extra(
    state: &Arc<AppState>,
    caller: &Caller,
    order: Order,
    req: OrderRequest,
    kind: ExtraKind,
) -> Result<OrderCreated> {
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
    let term_end = crate::service::order_data::parse_term_end(data.plan.term().term_end())
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
    let csr = verify_csr(state, &plan.csr)?;
    if let OrderPlan::Smime(p) = &data.plan {
        crate::service::smime::check_key(p, &csr, None)?;
    }
    let ca = &pick_issuing_ca(
        state,
        product,
        Some(plan.ca_cert_id.as_deref().unwrap_or(&data.ca_cert_id)),
    )
    .await?;
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
    let (_, request) = initial_status(state, caller, plan.skip_approval).await?;
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
        match try_issue_certificate(state, &order, created.certificate_id).await {
            Ok(Some((_, chain))) => resp.certificate_chain = Some(chain),
            Ok(None) => state.wake_issuer.notify_one(),
            Err(e) => tracing::warn!(order = order.id, error = %e.message, "issuance deferred"),
        }
    }
    Ok(resp)
}
