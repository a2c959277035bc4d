//! S/MIME and client-certificate orders: creation, the CSR that may come
//! later, per-address validation, and the certificate profile.

use certwell_store::{DcvMethod, OrderStatus};
use std::sync::Arc;

use certwell_api::error::codes;
use certwell_api::order::{CsrUpload, OrderRequest};
use certwell_policy::catalog::{Family, Product, SmimeType};
use certwell_policy::dns::domain_covers;
use certwell_policy::issuance::{issuance_blockers, mailbox_blockers};
use certwell_policy::organization::NewOrganization;
use certwell_policy::smime::{
    check_usage_for_key, email_domain, extended_key_usages, is_public_email_domain, key_usage,
    organization_identifier, smime_policy_oid, subject_attributes, validate_smime_order, CnSource,
    DeclaredKey, Generation, KeyKind, SmimeOrderPlan, SubjectAttribute, CLIENT_AUTH_MAX_TERM_DAYS,
    SMIME_MAX_CERT_DAYS,
};
use certwell_store::{
    format_ts, CsrAttachment, NewCertificateRow, NewOrder, OrderEmail, OrgForOrder, StoreError,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::service::access::{check_contact_users, check_container, check_renewal, load_order};
use crate::service::hierarchy::LoadedCa;
use crate::service::intake::{
    initial_status, key_facts, new_domains_for, pick_issuing_ca, resolve_organization,
    respond_created, verify_csr, DcvScope, Issuance,
};
use crate::service::issuance::{
    try_issue, validity_window_days, LeafSpec, OrderData, OrderPlan, SignJob, SubscriberSpec,
};
use crate::state::AppState;
use certwell_api::order::OrderCreated;

/// The distinct domains of a list of addresses, in order.
pub fn email_domains(emails: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in emails {
        let d = email_domain(e).to_string();
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

pub fn key_kind(csr: &certwell_ca::VerifiedCsr) -> KeyKind {
    match csr.key_type {
        certwell_ca::CsrKeyType::Rsa { .. } => KeyKind::Rsa,
        _ => KeyKind::Ecc,
    }
}

/// The CSR's key must fit the order's usage (and, for a CSR sent after the
/// order, the key the order announced).
pub fn check_key(
    plan: &SmimeOrderPlan,
    csr: &certwell_ca::VerifiedCsr,
    declared: Option<DeclaredKey>,
) -> ApiResult<()> {
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
            return Err(ApiError::bad_request(
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

/// Certificate validity: the order term, capped at 824 days for S/MIME
/// (SBR §6.3.2 allows 825; pkilint warns at the maximum) and three years
/// for client authentication.
pub fn smime_validity(
    plan: &SmimeOrderPlan,
    now: OffsetDateTime,
) -> ApiResult<(OffsetDateTime, OffsetDateTime)> {
    validity_window_days(&plan.term_end, now, smime_max_days(plan))
}

/// The longest certificate of `plan`: the SBR cap for S/MIME, the client
/// term cap otherwise.
fn smime_max_days(plan: &SmimeOrderPlan) -> i64 {
    if plan.smime_type.is_some() {
        SMIME_MAX_CERT_DAYS
    } else {
        CLIENT_AUTH_MAX_TERM_DAYS
    }
}

/// The common name the order row shows.
fn order_common_name(plan: &SmimeOrderPlan, org: Option<&NewOrganization>) -> String {
    match (plan.cn_source, org) {
        (CnSource::OrganizationName, Some(o)) => o.name.clone(),
        _ => plan.subject.common_name.clone(),
    }
}

fn ca_subject_attr(a: SubjectAttribute) -> certwell_ca::SubjectAttr {
    use certwell_ca::SubjectAttr as C;
    use SubjectAttribute as A;
    match a {
        A::Country(v) => C::Country(v),
        A::State(v) => C::State(v),
        A::Locality(v) => C::Locality(v),
        A::Organization(v) => C::Organization(v),
        A::OrganizationalUnit(v) => C::OrganizationalUnit(v),
        A::OrganizationIdentifier(v) => C::OrganizationIdentifier(v),
        A::GivenName(v) => C::GivenName(v),
        A::Surname(v) => C::Surname(v),
        A::Pseudonym(v) => C::Pseudonym(v),
        A::Title(v) => C::Title(v),
        A::SerialNumber(v) => C::SerialNumber(v),
        A::CommonName(v) => C::CommonName(v),
        A::EmailAddress(v) => C::EmailAddress(v),
    }
}

/// Everything the certificate of `plan` contains but key, serial and
/// validity: subject, SAN, KU, EKU, policy and signature scheme.
pub fn subscriber_spec(
    plan: &SmimeOrderPlan,
    org: Option<&NewOrganization>,
    csr: &certwell_ca::VerifiedCsr,
    ca: &LoadedCa,
) -> ApiResult<SubscriberSpec> {
    let kind = key_kind(csr);
    let ku = key_usage(&plan.usage, kind);
    use certwell_ca::SubscriberProfile;
    let (policy_oids, profile) = match (plan.smime_type, plan.generation) {
        (Some(t), Some(g)) => (vec![smime_policy_oid(t, g)], SubscriberProfile::Smime),
        _ if plan.doc_signing.is_some() => (
            vec![certwell_ca::POLICY_CERTWELL_DOCUMENT_SIGNING],
            SubscriberProfile::DocumentSigning,
        ),
        _ => (
            vec![certwell_ca::POLICY_CERTWELL_CLIENT_AUTH],
            SubscriberProfile::ClientAuth,
        ),
    };
    let scheme = certwell_ca::SignatureScheme::for_key(
        ca.signer.key_algorithm(),
        &plan.signature_hash,
        plan.is_rsassa_pss,
    )
    .map_err(|e| ApiError::bad_request(codes::INVALID_SIGNATURE_HASH, e.to_string()))?;
    Ok(SubscriberSpec {
        subject: subject_attributes(plan, org)?
            .into_iter()
            .map(ca_subject_attr)
            .collect(),
        emails: plan.emails.clone(),
        upn: plan.upn.clone(),
        key_usage: certwell_ca::KeyUsageBits {
            digital_signature: ku.digital_signature,
            non_repudiation: ku.non_repudiation,
            key_encipherment: ku.key_encipherment,
            data_encipherment: ku.data_encipherment,
            key_agreement: ku.key_agreement,
            encipher_only: ku.encipher_only,
            decipher_only: ku.decipher_only,
        },
        ext_key_usages: extended_key_usages(&plan.usage),
        policy_oids,
        scheme,
        profile,
        max_validity_days: smime_max_days(plan),
    })
}

/// `POST /order/certificate/{product}` for secure-email, client and
/// document-signing products.
pub async fn create_smime_order(
    state: &Arc<AppState>,
    caller: &Caller,
    product: &'static Product,
    req: OrderRequest,
) -> ApiResult<OrderCreated> {
    let now = OffsetDateTime::now_utc();
    let account = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(ApiError::forbidden_invalid_key)?;
    let default_generation = account
        .settings
        .smime_default_profiles
        .get(product.name_id)
        .and_then(|g| Generation::parse(g))
        .unwrap_or(Generation::Strict);
    let plan = if product.family == Family::DocumentSigning {
        certwell_policy::docsign::validate_document_signing_order(product, &req, now)?
    } else {
        validate_smime_order(product, &req, now, default_generation)?
    };
    if plan.common.skip_approval && !caller.role.can_approve() {
        return Err(ApiError::missing_permission(
            "skip approval (an administrator or manager key is required)",
        ));
    }
    let csr = match &plan.csr {
        Some(pem) => {
            let csr = verify_csr(state, pem)?;
            check_key(&plan, &csr, None)?;
            Some(csr)
        }
        None => None,
    };
    let ca = pick_issuing_ca(state, product, plan.ca_cert_id.as_deref())?;

    let org = match &plan.organization {
        Some(choice) => Some(resolve_organization(state, caller, choice, now).await?),
        None => None,
    };
    let org_data = org.as_ref().and_then(|o| o.data.as_ref());
    if product.smime.is_some_and(|t| t != SmimeType::Mailbox)
        && org_data.and_then(organization_identifier).is_none()
    {
        return Err(ApiError::bad_request(
            codes::INVALID_ORGANIZATION,
            "The organization has no registration_number: organization- and sponsor-validated S/MIME certificates carry an organizationIdentifier (SBR §7.1.4.2.2 d). Use an organization created with a registration_number.",
        ));
    }
    check_contact_users(state, caller, &plan.contacts).await?;
    let order_level = certwell_policy::common::order_level(&req)?;
    crate::service::access::check_user_assignments(state, caller, &order_level).await?;
    let container_id = match plan.common.container_id {
        Some(c) => check_container(state, caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    check_renewal(state, caller, plan.common.renewal_of_order_id).await?;
    crate::service::intake::check_order_custom_fields(state, caller, &plan.common.custom_fields)
        .await?;
    let (payment_plan, payment) =
        crate::service::billing::order_payment(state, caller, product, &req, &plan.term_end, now)
            .await?;

    // Email domains are validated for the organization; free-mail domains
    // only when the organization already validated them.
    let domains = email_domains(&plan.emails);
    let new_domains = match &org {
        Some(o) => {
            for d in &domains {
                let covered = o.domains.iter().any(|x| domain_covers(&x.name, d));
                if !covered && is_public_email_domain(d) {
                    return Err(ApiError::bad_request(
                        codes::PUBLIC_EMAIL_DOMAIN,
                        format!("The field 'certificate.emails' has an address at the public email provider '{d}', which is not validated for this organization."),
                    ));
                }
            }
            new_domains_for(
                state,
                &o.domains,
                &domains,
                container_id,
                DcvMethod::Email,
                product.validation.as_str(),
            )?
        }
        None => Vec::new(),
    };
    // Mailbox-validated products: every address on its own.
    let emails: Vec<OrderEmail> = if org.is_none() {
        plan.emails
            .iter()
            .map(|e| OrderEmail {
                email: e.clone(),
                status: if state.config.sandbox {
                    "validated".into()
                } else {
                    "unvalidated".into()
                },
                date_emailed: None,
                validated_at: state.config.sandbox.then(|| format_ts(now)),
            })
            .collect()
    } else {
        Vec::new()
    };

    let (mut status, request) = initial_status(state, caller, plan.common.skip_approval).await?;
    if status == OrderStatus::Pending && csr.is_none() {
        status = product.awaiting_csr_status();
    }
    let blocked = match &org {
        Some(o) => !issuance_blockers(
            product.validation,
            &o.validation_facts(),
            &o.domain_facts(&new_domains),
            &domains,
            &format_ts(now),
        )
        .is_empty(),
        None => !mailbox_blockers(emails.iter().map(|e| (e.email.as_str(), e.status.as_str())))
            .is_empty(),
    };
    let blocked = blocked
        || crate::service::issuance::sandbox_delay_pending(state, &format_ts(now))
        || (status == OrderStatus::Pending
            && crate::service::issuance::caa_failure(state, product.name_id, &domains)
                .await
                .is_some());
    let immediate = match (&csr, status == OrderStatus::Pending && !blocked) {
        (Some(csr), true) => {
            let (nb, na) = smime_validity(&plan, now)?;
            let spec = subscriber_spec(&plan, org_data, csr, ca)?;
            Some((nb, na, spec))
        }
        _ => None,
    };
    if plan.reject_if_pending && immediate.is_none() {
        let why = match (status, &csr) {
            (OrderStatus::NeedsApproval, _) => "the order needs approval",
            (_, None) => "the order has no CSR",
            _ => "the order's email addresses or organization are not validated yet",
        };
        return Err(ApiError::bad_request(
            codes::ORDER_FAILED_TO_IMMEDIATELY_ISSUE,
            format!("The certificate could not be issued immediately ({why}); reject_if_pending is true, so no order was created."),
        ));
    }

    let (key_type, key_size) = match (&csr, plan.declared_key) {
        (Some(c), _) => key_facts(c),
        (None, Some(DeclaredKey::Rsa(bits))) => ("rsa", bits as i64),
        (None, Some(DeclaredKey::P384)) => ("ecc", 384),
        (None, _) => ("ecc", 256),
    };
    let common_name = order_common_name(&plan, org_data);
    let data = OrderData {
        plan: OrderPlan::Smime(Box::new(plan.clone())),
        ca_cert_id: ca.id.clone(),
        key_type: key_type.into(),
        key_size,
        organization_created: org
            .as_ref()
            .is_some_and(|o| matches!(o.for_order, OrgForOrder::New(_))),
        payment: Some(payment_plan),
        price_cents: payment.price_cents,
        order_level,
    };
    let org_is_none = org.is_none();
    let mailbox_addresses: Vec<String> = emails.iter().map(|e| e.email.clone()).collect();
    let (created, serial) = crate::service::issuance::create_order(
        state,
        NewOrder {
            payment,
            account_id: caller.account_id,
            container_id,
            user_id: caller.user.id,
            product_name_id: product.name_id.to_string(),
            status,
            organization: org.map_or(OrgForOrder::None, |o| o.for_order),
            renewal_of_order_id: plan.common.renewal_of_order_id,
            issued: None,
            common_name: common_name.clone(),
            names: plan.emails.clone(),
            data: serde_json::to_value(&data)
                .map_err(|_| ApiError::internal("order could not be encoded"))?,
            new_domains: new_domains.clone(),
            request: request.map(|s| (s, plan.common.comments.clone())),
            certificate: NewCertificateRow {
                csr: plan.csr.clone().unwrap_or_default(),
                spki_sha256: csr
                    .as_ref()
                    .map(|c| c.spki_sha256_hex.clone())
                    .unwrap_or_default(),
                key_size,
                common_name: common_name.clone(),
                dns_names: Vec::new(),
                signature_hash: plan.signature_hash.clone(),
            },
            reserve_serial: None,
            emails,
            created_at: format_ts(now),
        },
        immediate.as_ref().map(|_| ca.id.as_str()),
    )
    .await?;
    crate::service::intake::update_contact_users(state, caller, &plan.contacts).await?;
    let job = match (immediate.zip(serial), csr) {
        (Some(((not_before, not_after, spec), serial)), Some(csr)) => {
            Issuance::Sign(Box::new(SignJob {
                account_id: caller.account_id,
                order_id: created.order_id,
                certificate_id: created.certificate_id,
                ca: Arc::clone(ca),
                serial,
                leaf: LeafSpec::Subscriber(spec),
                spki: csr.spki_der,
                not_before,
                not_after,
                leaf_cn: common_name,
            }))
        }
        _ => Issuance::Later,
    };
    if org_is_none && !state.config.sandbox {
        for e in &mailbox_addresses {
            let (state, e, account) = (Arc::clone(state), e.clone(), caller.account_id);
            let order_id = created.order_id;
            tokio::spawn(async move {
                if let Err(err) =
                    crate::service::validation::send_mailbox_email(&state, account, order_id, &e)
                        .await
                {
                    tracing::warn!(order = order_id, error = %err.message, "mailbox email not sent");
                }
            });
        }
    }
    respond_created(
        state,
        caller,
        &created,
        request,
        status,
        job,
        DcvScope {
            new_domains: &new_domains,
            names: &domains,
        },
    )
    .await
}

/// `POST /order/certificate/{order_id}/csr` `{"csr": "..."}`: the CSR of an
/// order created without one. 200 with the order's id, status and, when
/// the certificate was issued at once, its id and chain.
pub async fn upload_csr(
    state: &Arc<AppState>,
    caller: &Caller,
    order_id: i64,
    b: CsrUpload,
) -> ApiResult<Value> {
    let order = load_order(state, caller, &order_id.to_string()).await?;
    let pem = b
        .csr
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("csr"))?;
    let data = OrderData::from_order(&order)?;
    let not_waiting = || {
        ApiError::bad_request(
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
            updated_at: format_ts(OffsetDateTime::now_utc()),
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
pub async fn email_states(
    state: &AppState,
    order: &certwell_store::Order,
) -> ApiResult<Vec<Value>> {
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
                    v["date_emailed"] = json!(d);
                }
                if let Some(d) = e.validated_at {
                    v["date_validated"] = json!(d);
                }
                v
            })
            .collect());
    }
    let domains = state
        .store
        .domains_of_organization(order.account_id, order.organization_id)
        .await?;
    let now = format_ts(OffsetDateTime::now_utc());
    Ok(plan
        .emails
        .iter()
        .map(|e| {
            let ok = domains.iter().any(|d| {
                let f = crate::service::issuance::domain_fact(d);
                f.covers(email_domain(e)) && f.is_validated(&now)
            });
            json!({"email": e, "status": if ok { "validated" } else { "unvalidated" }})
        })
        .collect())
}

/// `GET /order/certificate/{id}/email-validation`
pub async fn email_validation(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Value> {
    let order = load_order(state, caller, id).await?;
    let emails = email_states(state, &order).await?;
    let mut v = json!({"delivery_options": ["email"]});
    if !emails.is_empty() {
        v["emails"] = json!(emails);
    }
    Ok(v)
}
