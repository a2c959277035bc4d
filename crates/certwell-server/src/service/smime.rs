//! S/MIME and client-certificate orders: creation, the CSR that may come
//! later, per-address validation, and the certificate profile.

use crate::service::profile::{email_domains, key_kind, smime_validity, subscriber_spec};
use certwell_store::{DcvMethod, MailboxStatus, OrderStatus};
use std::sync::Arc;

use certwell_api::error::codes;
use certwell_api::order::{CsrUpload, OrderRequest};
use certwell_policy::catalog::{Family, Product};
use certwell_policy::dns::domain_covers;
use certwell_policy::organization::NewOrganization;
use certwell_policy::smime::{
    check_usage_for_key, email_domain, is_public_email_domain, validate_smime_order, CnSource,
    DeclaredKey, Generation, SmimeOrderPlan,
};
use certwell_policy::validity::PlanTerm;
use certwell_store::{CsrAttachment, NewDomainRow, OrderEmail, StoreError};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::service::access::load_order;
use crate::service::hierarchy::LoadedCa;
use crate::service::intake::{
    key_facts, new_domains_for, verify_csr, Common, OrderFamily, ResolvedOrg,
};
use crate::service::issuance::try_issue;
use crate::service::order_data::{OrderData, OrderPlan};
use crate::service::profile::LeafSpec;
use crate::state::AppState;

/// The CSR's key must fit the order's usage (and, for a CSR sent after the
/// order, the key the order announced).
pub fn check_key(
    plan: &SmimeOrderPlan,
    csr: &certwell_ca::VerifiedCsr,
    declared: Option<DeclaredKey>,
) -> Result<()> {
    check_usage_for_key(&plan.usage, key_kind(csr))?;
    if plan.doc_signing.is_some() {
        let rsa_bits = match csr.key_type {
            certwell_ca::CsrKeyType::Rsa { bits } => Some(bits),
            _ => None,
        };
        certwell_policy::docsign::check_document_signing_key(rsa_bits)?;
    }
    if let Some(d) = declared {
        let matches = match (d, csr.key_type) {
            (DeclaredKey::Rsa(bits), certwell_ca::CsrKeyType::Rsa { bits: got }) => bits == got,
            (DeclaredKey::P256, certwell_ca::CsrKeyType::EcP256) => true,
            (DeclaredKey::P384, certwell_ca::CsrKeyType::EcP384) => true,
            _ => false,
        };
        if !matches {
            let (t, size) = key_facts(csr);
            return Err(Error::bad_request(
                codes::CSR_KEY_MISMATCH,
                format!(
                    "The CSR's key ({} {size}) is not the key this order announced ({}: csr_key_type/key_size).",
                    t.to_ascii_uppercase(),
                    d.describe()
                ),
            ));
        }
    }
    Ok(())
}

/// The common name the order row shows.
fn order_common_name(plan: &SmimeOrderPlan, org: Option<&NewOrganization>) -> String {
    match (plan.cn_source, org) {
        (CnSource::OrganizationName, Some(o)) => o.name.clone(),
        _ => plan.subject.common_name.clone(),
    }
}

/// The plan of a secure-email, client or document-signing order (the
/// account's default S/MIME generation applies when the request names
/// none).
pub async fn plan_order(
    state: &AppState,
    caller: &Caller,
    product: &'static Product,
    req: &OrderRequest,
    now: OffsetDateTime,
) -> Result<SmimeOrder> {
    let account = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(Error::forbidden_invalid_key)?;
    let default_generation = account
        .settings
        .smime_default_profiles
        .get(product.name_id)
        .and_then(|g| Generation::parse(g))
        .unwrap_or(Generation::Strict);
    let plan = if product.family == Family::DocumentSigning {
        certwell_policy::docsign::validate_document_signing_order(product, req, now)?
    } else {
        validate_smime_order(product, req, now, default_generation)?
    };
    Ok(SmimeOrder(plan))
}

/// A secure-email, client or document-signing order.
pub struct SmimeOrder(pub SmimeOrderPlan);

impl OrderFamily for SmimeOrder {
    const ONE_TRIP: bool = false;

    fn common(&self) -> Common<'_> {
        let p = &self.0;
        Common {
            skip_approval: p.common.skip_approval,
            csr: p.csr.as_deref(),
            ca_cert_id: p.ca_cert_id.as_deref(),
            organization: p.organization.as_ref(),
            contacts: &p.contacts,
            container_id: p.common.container_id,
            renewal_of_order_id: p.common.renewal_of_order_id,
            custom_fields: &p.common.custom_fields,
            comments: p.common.comments.as_ref(),
            term_end: &p.term_end,
            signature_hash: &p.signature_hash,
        }
    }

    fn check_key(&self, csr: &certwell_ca::VerifiedCsr) -> Result<()> {
        check_key(&self.0, csr, None)
    }

    fn validated_names(&self) -> Vec<String> {
        email_domains(&self.0.emails)
    }

    /// Email domains are validated for the organization; free-mail domains
    /// only when the organization already validated them.
    fn new_domains(
        &self,
        state: &AppState,
        product: &Product,
        org: Option<&ResolvedOrg>,
        names: &[String],
        container_id: i64,
    ) -> Result<Vec<NewDomainRow>> {
        let Some(o) = org else {
            return Ok(Vec::new());
        };
        for d in names {
            let covered = o.domains.iter().any(|x| domain_covers(&x.name, d));
            if !covered && is_public_email_domain(d) {
                return Err(Error::bad_request(
                    codes::PUBLIC_EMAIL_DOMAIN,
                    format!("The field 'certificate.emails' has an address at the public email provider '{d}', which is not validated for this organization."),
                ));
            }
        }
        new_domains_for(
            state,
            &o.domains,
            names,
            container_id,
            DcvMethod::Email,
            product.validation.validation_type(),
        )
    }

    /// Mailbox-validated products: every address on its own.
    fn mailboxes(
        &self,
        state: &AppState,
        org: Option<&ResolvedOrg>,
        now: OffsetDateTime,
    ) -> Vec<OrderEmail> {
        if org.is_some() {
            return Vec::new();
        }
        self.0
            .emails
            .iter()
            .map(|e| OrderEmail {
                email: e.clone(),
                status: if state.config.sandbox {
                    MailboxStatus::Validated
                } else {
                    MailboxStatus::Unvalidated
                },
                date_emailed: None,
                validated_at: state.config.sandbox.then_some(now),
            })
            .collect()
    }

    fn leaf(
        &self,
        state: &AppState,
        _product: &Product,
        org: Option<&ResolvedOrg>,
        csr: &certwell_ca::VerifiedCsr,
        ca: &LoadedCa,
        now: OffsetDateTime,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime, LeafSpec)>> {
        let (nb, na) = smime_validity(&self.0, self.0.first_certificate_end(), now)?;
        let spec = subscriber_spec(state, &self.0, org.and_then(|o| o.data.as_ref()), csr, ca)?;
        Ok(Some((nb, na, LeafSpec::Subscriber(spec))))
    }

    fn refuse_unless_issued_now(
        &self,
        status: OrderStatus,
        has_csr: bool,
        issued_now: bool,
    ) -> Result<()> {
        if !self.0.reject_if_pending || issued_now {
            return Ok(());
        }
        let why = match (status, has_csr) {
            (OrderStatus::NeedsApproval, _) => "the order needs approval",
            (_, false) => "the order has no CSR",
            _ => "the order's email addresses or organization are not validated yet",
        };
        Err(Error::bad_request(
            codes::ORDER_FAILED_TO_IMMEDIATELY_ISSUE,
            format!("The certificate could not be issued immediately ({why}); reject_if_pending is true, so no order was created."),
        ))
    }

    fn key_facts(&self, csr: Option<&certwell_ca::VerifiedCsr>) -> (&'static str, i64) {
        match (csr, self.0.declared_key) {
            (Some(c), _) => key_facts(c),
            (None, Some(DeclaredKey::Rsa(bits))) => ("rsa", bits as i64),
            (None, Some(DeclaredKey::P384)) => ("ecc", 384),
            (None, _) => ("ecc", 256),
        }
    }

    fn common_name(&self, org: Option<&ResolvedOrg>) -> String {
        order_common_name(&self.0, org.and_then(|o| o.data.as_ref()))
    }

    fn order_names(&self) -> Vec<String> {
        self.0.emails.clone()
    }

    fn dns_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn stored_plan(&self) -> OrderPlan {
        OrderPlan::Smime(Box::new(self.0.clone()))
    }
}

/// `POST /order/certificate/{order_id}/csr` `{"csr": "..."}`: the CSR of an
/// order created without one. 200 with the order's id, status and, when
/// the certificate was issued at once, its id and chain.
pub async fn upload_csr(
    state: &Arc<AppState>,
    caller: &Caller,
    order_id: i64,
    b: CsrUpload,
) -> Result<Value> {
    let order = load_order(state, caller, &order_id.to_string()).await?;
    let pem = b
        .csr
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("csr"))?;
    let data = OrderData::from_order(&order)?;
    let not_waiting = || {
        Error::bad_request(
            codes::ORDER_NOT_AWAITING_CSR,
            format!(
                "Order {} is not waiting for a CSR (status '{}').",
                order.id, order.status
            ),
        )
    };
    let plan = data.smime().ok_or_else(not_waiting)?;
    if !matches!(
        order.status,
        OrderStatus::NeedsCsr | OrderStatus::WaitingPickup | OrderStatus::NeedsApproval
    ) {
        return Err(not_waiting());
    }
    let cert_id = order.certificate_id.ok_or_else(not_waiting)?;
    let cert = state
        .store
        .get_certificate(caller.account_id, cert_id)
        .await?
        .ok_or_else(not_waiting)?;
    if !cert.csr.is_empty() {
        return Err(not_waiting());
    }
    let csr = verify_csr(state, pem).map_err(|mut e| {
        e.message = e.message.replace("'certificate.csr'", "'csr'");
        e
    })?;
    check_key(plan, &csr, plan.declared_key)?;
    let next =
        if order.status == OrderStatus::NeedsCsr || order.status == OrderStatus::WaitingPickup {
            OrderStatus::Pending
        } else {
            OrderStatus::NeedsApproval
        };
    match state
        .store
        .attach_csr(&CsrAttachment {
            order_id: order.id,
            certificate_id: cert_id,
            csr: pem.to_string(),
            spki_sha256: csr.spki_sha256_hex.clone(),
            key_size: key_facts(&csr).1,
            order_status: next,
            updated_at: crate::clock::now(),
        })
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(not_waiting()),
        Err(e) => return Err(e.into()),
    }
    let mut resp = json!({"id": order.id, "status": next});
    if next == OrderStatus::Pending {
        resp["certificate_id"] = json!(cert_id);
        match try_issue(state, caller.account_id, order.id).await {
            Ok(Some((_, chain))) => {
                resp["status"] = json!(OrderStatus::Issued);
                resp["certificate_chain"] = json!(chain);
            }
            Ok(None) => state.wake_issuer.notify_one(),
            Err(e) => tracing::warn!(order = order.id, error = %e.message, "issuance deferred"),
        }
    }
    Ok(resp)
}

/// Per-address validation state of an order: mailbox-validated orders keep
/// one per address; organization products report each address's domain.
pub async fn email_states(state: &AppState, order: &certwell_store::Order) -> Result<Vec<Value>> {
    let data = OrderData::from_order(order)?;
    let Some(plan) = data.smime() else {
        return Ok(Vec::new());
    };
    if order.organization_id == 0 {
        return Ok(state
            .store
            .order_emails(order.id)
            .await?
            .into_iter()
            .map(|e| {
                let mut v = json!({"email": e.email, "status": e.status});
                if let Some(d) = e.date_emailed {
                    v["date_emailed"] = json!(crate::views::datetime(d));
                }
                if let Some(d) = e.validated_at {
                    v["date_validated"] = json!(crate::views::datetime(d));
                }
                v
            })
            .collect());
    }
    let domains = state
        .store
        .domains_of_organization(order.account_id, order.organization_id)
        .await?;
    let now = crate::clock::now();
    Ok(plan
        .emails
        .iter()
        .map(|e| {
            let ok = domains.iter().any(|d| {
                let f = crate::service::validation::domain_fact(d);
                f.covers(email_domain(e)) && f.is_validated(now)
            });
            json!({"email": e, "status": if ok { "validated" } else { "unvalidated" }})
        })
        .collect())
}

/// `GET /order/certificate/{id}/email-validation`
pub async fn email_validation(state: &AppState, caller: &Caller, id: &str) -> Result<Value> {
    let order = load_order(state, caller, id).await?;
    let emails = email_states(state, &order).await?;
    let mut v = json!({"delivery_options": ["email"]});
    if !emails.is_empty() {
        v["emails"] = json!(emails);
    }
    Ok(v)
}
