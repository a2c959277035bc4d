//! `/order/certificate…`: create, info, list, status.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_api::order::{
    DcvToken, DomainDcv, IdOnly, OrderCreated, OrderRequest, OrderStatusUpdate, RequestRef,
};
use certwell_policy::approval::ApprovalWorkflow;
use certwell_policy::catalog::{find_product, Family, Product};
use certwell_policy::dns::{domain_covers, registrable_domain};
use certwell_policy::organization::NewOrganization;
use certwell_policy::tls::{validate_tls_order, OrgChoice};
use certwell_store::{
    format_ts, NewCertificateRow, NewDomainRow, NewOrder, NewOrganizationRow, Order, OrderQuery,
    OrgDuplicateKey, OrgForOrder,
};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::error::{ApiError, ApiResult};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::issuance::{
    chain_entries, domain_fact, sign_and_record_detached, tls_subject, try_issue, validity_window,
    LeafSpec, OrderData, OrderPlan, SignJob,
};
use crate::routes::containers::{order_scope, sees_container};
use crate::routes::{paged, query_map};
use crate::state::AppState;
use crate::token::new_dcv_token;
use crate::views::{self, OrderContext};
use certwell_policy::issuance::{issuance_blockers, DomainFact, OrgValidationFact};

pub fn csr_error(e: certwell_ca::CsrError) -> ApiError {
    use certwell_ca::CsrError::*;
    let (code, msg) = match &e {
        Parse(m) => (
            codes::CSR_INVALID_CANNOT_PARSE,
            format!("The field 'certificate.csr' could not be parsed: {m}"),
        ),
        Signature(m) => (
            codes::CSR_INVALID_SIGNATURE,
            format!("The field 'certificate.csr' has an invalid signature: {m}"),
        ),
        WeakKey(m) => (
            codes::CSR_WEAK_KEY,
            format!("The field 'certificate.csr' has a weak or blocked key: {m}"),
        ),
        UnsupportedKey(m) => (
            codes::CSR_KEY_NOT_ALLOWED,
            format!("The field 'certificate.csr' has a key type or size that is not allowed: {m}"),
        ),
    };
    ApiError::bad_request(code, msg)
}

/// New validations for an organization or domain created now: all of
/// them active in sandbox mode, else pending.
pub fn initial_validations(
    state: &AppState,
    kinds: &[String],
) -> Vec<(String, String, Option<String>)> {
    let until = (OffsetDateTime::now_utc() + Duration::days(state.config.validation_reuse_days))
        .replace_nanosecond(0);
    kinds
        .iter()
        .map(|k| {
            if state.config.sandbox {
                (k.clone(), "active".to_string(), until.ok().map(format_ts))
            } else {
                (k.clone(), "pending".to_string(), None)
            }
        })
        .collect()
}

pub fn sandbox_validated_until(state: &AppState) -> (Option<String>, Option<String>) {
    if state.config.sandbox {
        let now = OffsetDateTime::now_utc();
        (
            Some(format_ts(now)),
            Some(format_ts(
                now + Duration::days(state.config.validation_reuse_days),
            )),
        )
    } else {
        (None, None)
    }
}

pub const ALL_ORG_VALIDATIONS: &[&str] = &["ov", "ev", "cs", "ev_cs", "ds", "smime"];

/// `POST /order/certificate/{product_name_id}`
pub async fn create_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(product_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let product = find_product(&product_id).ok_or_else(|| {
        ApiError::not_found(
            codes::NOT_FOUND_PRODUCT,
            format!("The product '{product_id}' was not found."),
        )
    })?;
    if product.family != Family::Tls {
        return crate::smime::create_smime_order(state, caller, product, &body).await;
    }
    let req: OrderRequest = parse_json(&body)?;
    let now = OffsetDateTime::now_utc();
    let plan = validate_tls_order(product, &req, now)?;
    if plan.skip_approval && !caller.role.can_approve() {
        return Err(ApiError::missing_permission(
            "skip approval (an administrator or manager key is required)",
        ));
    }
    let csr = verify_csr(&state, &plan.csr)?;
    let ca = pick_issuing_ca(&state, product, plan.ca_cert_id.as_deref())?;
    let org = resolve_organization(&state, &caller, &plan.organization, now).await?;
    check_contact_users(&state, &caller, &plan.contacts).await?;
    let container_id = match plan.container_id {
        Some(c) => check_container(&state, &caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    check_renewal(&state, &caller, plan.renewal_of_order_id).await?;
    let order_level = certwell_policy::common::order_level(&req)?;
    check_user_assignments(&state, &caller, &order_level).await?;
    crate::routes::containers::check_order_custom_fields(&state, &caller, &plan.custom_fields)
        .await?;
    let (payment_plan, payment) =
        crate::billing::order_payment(&state, &caller, product, &req, &plan.term_end, now).await?;

    // Domains for names no domain of the organization covers yet.
    let dcv_method = plan.dcv_method.clone().unwrap_or_else(|| "email".into());
    if !state.config.sandbox {
        certwell_policy::dcv::check_method_for_names(
            &dcv_method,
            plan.sans
                .iter()
                .filter(|n| !org.domains.iter().any(|d| domain_fact(d).covers(n))),
        )?;
    }
    let new_domains = new_domains_for(
        &state,
        &org.domains,
        &plan.sans,
        container_id,
        &dcv_method,
        product.validation.as_str(),
    )?;

    let (status, request) = initial_status(&state, &caller, plan.skip_approval).await?;

    // Issuable during this request? Then the serial is recorded in the same
    // transaction as the order, and the certificate is signed right after.
    let issuable = status == "pending"
        && !crate::issuance::sandbox_delay_pending(&state, &format_ts(now))
        && issuance_blockers(
            product.validation,
            &org.validation_facts(),
            &org.domain_facts(&new_domains),
            &plan.sans,
            &format_ts(now),
        )
        .is_empty()
        && crate::issuance::caa_failure(&state, product.name_id, &plan.sans)
            .await
            .is_none();
    let immediate = match (&org.data, issuable) {
        (Some(org_data), true) => {
            let (nb, na) = validity_window(&state, &plan.term_end, now)?;
            let ev = product.validation == certwell_policy::ValidationLevel::Ev;
            let subject = tls_subject(&state, ev, org_data, &org.created_at, &plan.common_name);
            Some((
                nb,
                na,
                LeafSpec::Tls {
                    ev,
                    subject,
                    sans: plan.sans.clone(),
                    max_validity_days: crate::issuance::tls_max_days(&state, now),
                },
            ))
        }
        _ => None,
    };

    // The common case (an existing organization, no new domains): sign now
    // with a serial recorded earlier, and store order and certificate in
    // one transaction.
    let one_trip = matches!(org.for_order, OrgForOrder::Existing(_)) && new_domains.is_empty();
    let (immediate, presigned) = match immediate {
        Some((nb, na, leaf)) if one_trip => (
            None,
            Some(crate::issuance::presign(&state, ca, leaf, csr.spki_der.clone(), nb, na).await?),
        ),
        other => (other, None),
    };

    let (key_type, key_size) = key_facts(&csr);
    let data = OrderData {
        plan: OrderPlan::Tls(Box::new(plan.clone())),
        ca_cert_id: ca.id.clone(),
        key_type: key_type.into(),
        key_size,
        organization_created: matches!(org.for_order, OrgForOrder::New(_)),
        payment: Some(payment_plan),
        price_cents: payment.price_cents,
        order_level,
    };
    let (created, serial) = crate::issuance::create_order(
        &state,
        NewOrder {
            payment,
            account_id: caller.account_id,
            container_id,
            user_id: caller.user.id,
            product_name_id: product.name_id.to_string(),
            status: status.to_string(),
            organization: org.for_order,
            renewal_of_order_id: plan.renewal_of_order_id,
            issued: presigned.clone(),
            common_name: plan.common_name.clone(),
            names: plan.sans.clone(),
            data: serde_json::to_value(&data)
                .map_err(|_| ApiError::internal("order could not be encoded"))?,
            new_domains: new_domains.clone(),
            request: request.map(|s| (s.to_string(), plan.comments.clone())),
            certificate: NewCertificateRow {
                csr: plan.csr.clone(),
                spki_sha256: csr.spki_sha256_hex.clone(),
                key_size,
                common_name: plan.common_name.clone(),
                dns_names: plan.sans.clone(),
                signature_hash: plan.signature_hash.clone(),
            },
            reserve_serial: None,
            emails: Vec::new(),
            created_at: format_ts(now),
        },
        immediate.as_ref().map(|_| ca.id.as_str()),
    )
    .await?;
    update_contact_users(&state, &caller, &plan.contacts).await?;
    let job = match (immediate.zip(serial), presigned) {
        (_, Some(p)) => Issuance::Done(chain_entries(&state, &plan.common_name, &p.der, &ca.id)),
        (Some(((not_before, not_after, leaf), serial)), None) => Issuance::Sign(Box::new(SignJob {
            account_id: caller.account_id,
            order_id: created.order_id,
            certificate_id: created.certificate_id,
            ca: Arc::clone(ca),
            serial,
            leaf,
            spki: csr.spki_der.clone(),
            not_before,
            not_after,
            leaf_cn: plan.common_name.clone(),
        })),
        (None, None) => Issuance::Later,
    };
    respond_created(
        &state,
        &caller,
        &created,
        request,
        status,
        job,
        DcvScope {
            new_domains: &new_domains,
            names: &plan.sans,
        },
    )
    .await
}

/// Parses a CSR and checks its proof of possession and key; a certwell CA
/// key is refused.
pub fn verify_csr(state: &AppState, pem: &str) -> ApiResult<certwell_ca::VerifiedCsr> {
    let csr = certwell_ca::parse_and_verify_csr(pem).map_err(csr_error)?;
    if state
        .cas
        .all()
        .iter()
        .any(|ca| ca.signer.spki_der() == csr.spki_der)
    {
        return Err(ApiError::bad_request(
            codes::CSR_WEAK_KEY,
            "The field 'certificate.csr' carries the public key of a certwell CA; a subscriber may not use a CA key.",
        ));
    }
    Ok(csr)
}

/// ("rsa" | "ecc", bits) of a verified CSR's key.
pub fn key_facts(csr: &certwell_ca::VerifiedCsr) -> (&'static str, i64) {
    match csr.key_type {
        certwell_ca::CsrKeyType::Rsa { bits } => ("rsa", bits as i64),
        certwell_ca::CsrKeyType::EcP256 => ("ecc", 256),
        certwell_ca::CsrKeyType::EcP384 => ("ecc", 384),
    }
}

/// The issuing CA of an order: the one `ca_cert_id` names (it must be
/// allowed for the product), else the product's default.
pub fn pick_issuing_ca<'a>(
    state: &'a AppState,
    product: &Product,
    ca_cert_id: Option<&str>,
) -> ApiResult<&'a Arc<crate::hierarchy::LoadedCa>> {
    let allowed = state.cas.issuing_for(product.ca_purpose);
    match ca_cert_id {
        Some(id) => allowed.into_iter().find(|c| c.id.eq_ignore_ascii_case(id)).ok_or_else(|| {
            ApiError::bad_request(
                codes::INVALID_CA_CERT_ID,
                format!("The field 'certificate.ca_cert_id' names no issuing CA allowed for product {}: '{id}'.", product.name_id),
            )
        }),
        None => allowed
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("No issuing CA is configured for this product.")),
    }
}

/// The organization of a new order, with what issuance needs to know of it.
pub struct ResolvedOrg {
    pub for_order: OrgForOrder,
    /// (type, status, validated_until)
    pub validations: Vec<(String, String, Option<String>)>,
    pub data: Option<NewOrganization>,
    pub created_at: String,
    pub domains: Vec<certwell_store::Domain>,
}

impl ResolvedOrg {
    pub fn validation_facts(&self) -> Vec<OrgValidationFact<'_>> {
        self.validations
            .iter()
            .map(|(kind, status, until)| OrgValidationFact {
                kind,
                status,
                validated_until: until.as_deref(),
            })
            .collect()
    }

    /// The organization's domains plus those the order adds.
    pub fn domain_facts<'a>(&'a self, new: &'a [NewDomainRow]) -> Vec<DomainFact<'a>> {
        self.domains
            .iter()
            .map(domain_fact)
            .chain(new.iter().map(|d| DomainFact {
                name: &d.name,
                is_active: true,
                validated_until: d.validated_until.as_deref(),
                exact_only: d.dcv_method == "http-token",
            }))
            .collect()
    }
}

/// Resolves the organization an order names: an active organization of the
/// account, a duplicate of the inline one, or a new one.
pub async fn resolve_organization(
    state: &AppState,
    caller: &Caller,
    choice: &OrgChoice,
    now: OffsetDateTime,
) -> ApiResult<ResolvedOrg> {
    let existing = |o: certwell_store::Organization, domains| ResolvedOrg {
        for_order: OrgForOrder::Existing(o.id),
        validations: o
            .validations
            .iter()
            .map(|v| (v.kind.clone(), v.status.clone(), v.validated_until.clone()))
            .collect(),
        data: views::org_data(&o),
        created_at: o.created_at.clone(),
        domains,
    };
    match choice {
        OrgChoice::Existing(id) => {
            let unknown = || {
                ApiError::bad_request(
                    codes::INVALID_ORGANIZATION,
                    format!(
                        "The field 'organization.id' names no organization in this account: {id}."
                    ),
                )
            };
            let (org, domains) = state
                .store
                .organization_with_domains(caller.account_id, *id)
                .await?
                .ok_or_else(unknown)?;
            if !crate::routes::containers::in_org_view(state, caller, org.container_id).await? {
                return Err(unknown());
            }
            if !org.is_active {
                return Err(ApiError::bad_request(
                    codes::INVALID_ORGANIZATION,
                    format!("The field 'organization.id' names an inactive organization: {id}."),
                ));
            }
            Ok(existing(org, domains))
        }
        OrgChoice::New(new) => {
            let dup = if new.skip_duplicate_org_check {
                None
            } else {
                state
                    .store
                    .find_duplicate_organization(
                        caller.account_id,
                        &OrgDuplicateKey {
                            name: new.name.clone(),
                            assumed_name: new.assumed_name.clone(),
                            address: new.address.clone(),
                            city: new.city.clone(),
                            state: new.state.clone(),
                            zip: new.zip.clone(),
                            country: new.country.clone(),
                        },
                    )
                    .await?
            };
            if let Some(id) = dup {
                if let Some((o, domains)) = state
                    .store
                    .organization_with_domains(caller.account_id, id)
                    .await?
                {
                    // (a match the caller may not use does not count)
                    if crate::routes::containers::in_org_view(state, caller, o.container_id).await?
                    {
                        return Ok(existing(o, domains));
                    }
                }
            }
            let container_id = match new.container_id {
                Some(c) => check_container(state, caller, c, "organization.container.id").await?,
                None => caller.user.container_id,
            };
            let mut kinds: Vec<String> = new.validations.clone();
            if state.config.sandbox {
                kinds = ALL_ORG_VALIDATIONS.iter().map(|s| s.to_string()).collect();
            }
            let validations = initial_validations(state, &kinds);
            Ok(ResolvedOrg {
                for_order: OrgForOrder::New(NewOrganizationRow {
                    container_id,
                    name: new.name.clone(),
                    assumed_name: new.assumed_name.clone(),
                    data: serde_json::to_value(new.as_ref()).unwrap_or(Value::Null),
                    validations: validations.clone(),
                }),
                validations,
                data: Some(new.as_ref().clone()),
                created_at: format_ts(now),
                domains: Vec::new(),
            })
        }
    }
}

/// Contacts naming a user with new details update that user (the seeds:
/// "the specified user's information will be updated with the new value").
/// Runs once the order is stored.
pub async fn update_contact_users(
    state: &AppState,
    caller: &Caller,
    contacts: &[certwell_policy::organization::OrderContact],
) -> ApiResult<()> {
    let mut changed = false;
    for c in contacts {
        let (Some(uid), o) = (c.user_id, &c.overrides) else {
            continue;
        };
        if *o == Default::default() {
            continue;
        }
        let update = certwell_store::UserContactUpdate {
            first_name: o.first_name.clone(),
            last_name: o.last_name.clone(),
            email: o.email.clone(),
            job_title: o.job_title.clone(),
            telephone: o.telephone.clone(),
        };
        state
            .store
            .update_user_contact(caller.account_id, uid, &update)
            .await?;
        changed = true;
    }
    if changed {
        state.invalidate_user_cache(caller.account_id);
    }
    Ok(())
}

/// User `uid` of the account, if it sits in a container the caller sees.
pub async fn visible_user(
    state: &AppState,
    caller: &Caller,
    uid: i64,
) -> ApiResult<Option<certwell_store::User>> {
    match state.store.get_user(caller.account_id, uid).await? {
        Some(u) if sees_container(state, caller, u.container_id).await? => Ok(Some(u)),
        _ => Ok(None),
    }
}

/// Contacts naming users must name users the caller sees.
pub async fn check_contact_users(
    state: &AppState,
    caller: &Caller,
    contacts: &[certwell_policy::organization::OrderContact],
) -> ApiResult<()> {
    for (i, c) in contacts.iter().enumerate() {
        if let Some(uid) = c.user_id {
            if visible_user(state, caller, uid).await?.is_none() {
                return Err(ApiError::bad_request(
                    codes::INVALID_CONTACT,
                    format!("The field 'organization.contacts[{i}].user_id' names no user in this account: {uid}."),
                ));
            }
        }
    }
    Ok(())
}

/// `user_id_assignments` must name users of the account.
pub async fn check_user_assignments(
    state: &AppState,
    caller: &Caller,
    level: &certwell_policy::common::OrderLevel,
) -> ApiResult<()> {
    for (i, uid) in level.user_id_assignments.iter().enumerate() {
        if visible_user(state, caller, *uid).await?.is_none() {
            return Err(ApiError::bad_request(
                codes::INVALID_USER_ID_ASSIGNMENT,
                format!(
                    "The field 'user_id_assignments[{i}]' names no user in this account: {uid}."
                ),
            ));
        }
    }
    Ok(())
}

pub async fn check_renewal(state: &AppState, caller: &Caller, id: Option<i64>) -> ApiResult<()> {
    if let Some(r) = id {
        if visible_order(state, caller, r).await?.is_none() {
            return Err(ApiError::bad_request(
                codes::INVALID_RENEWAL_OF_ORDER_ID,
                format!("The field 'renewal_of_order_id' names no order in this account: {r}."),
            ));
        }
        if let Some(by) = state.store.renewal_order_of(caller.account_id, r).await? {
            // (the renewing order's id only when the caller sees it)
            let by = match visible_order(state, caller, by).await? {
                Some(_) => format!("order {by}"),
                None => "another order".to_string(),
            };
            return Err(ApiError::bad_request(
                codes::INVALID_RENEWAL_OF_ORDER_ID,
                format!(
                    "Order {r} is already renewed by {by}; cancel that order to renew it again."
                ),
            ));
        }
    }
    Ok(())
}

/// Domains to add for `names` no domain of the organization covers yet:
/// one per registrable domain, or, for `http-token` (which proves control of
/// one name only), one per name. Validated at once in sandbox mode.
pub fn new_domains_for(
    state: &AppState,
    existing: &[certwell_store::Domain],
    names: &[String],
    container_id: i64,
    dcv_method: &str,
    validation_type: &str,
) -> ApiResult<Vec<NewDomainRow>> {
    let (validated_at, validated_until) = sandbox_validated_until(state);
    let mut new_domains: Vec<NewDomainRow> = Vec::new();
    let http = dcv_method == "http-token";
    for name in names {
        if existing.iter().any(|d| domain_fact(d).covers(name))
            || new_domains.iter().any(|d| {
                if http {
                    d.name == *name
                } else {
                    domain_covers(&d.name, name)
                }
            })
        {
            continue;
        }
        let base = if http {
            Some(name.trim_start_matches("*.").to_string())
        } else {
            registrable_domain(name)
        };
        let Some(mut base) = base else {
            continue;
        };
        // A domain of that name exists but does not cover the name (it was
        // validated by an HTTP file, which proves one name only): the new
        // domain is the name itself.
        if existing.iter().any(|d| d.name == base) {
            base = name.trim_start_matches("*.").to_string();
            if existing.iter().any(|d| d.name == base) {
                continue;
            }
        }
        if new_domains.iter().any(|d| d.name == base) {
            continue;
        }
        let token = (dcv_method != "email").then(new_dcv_token).transpose()?;
        new_domains.push(NewDomainRow {
            container_id,
            organization_id: 0,
            name: base,
            dcv_method: dcv_method.to_string(),
            dcv_token: token.as_ref().map(|t| t.0.clone()),
            dcv_token_expires: token.map(|t| t.1),
            validation_types: vec![validation_type.to_string()],
            validated_at: validated_at.clone(),
            validated_until: validated_until.clone(),
        });
    }
    Ok(new_domains)
}

/// (order status, new_request status) of a new order under the account's
/// approval workflow.
pub async fn initial_status(
    state: &AppState,
    caller: &Caller,
    skip_approval: bool,
) -> ApiResult<(&'static str, Option<&'static str>)> {
    if skip_approval {
        return Ok(("pending", None));
    }
    let account = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(ApiError::forbidden_invalid_key)?;
    let workflow = ApprovalWorkflow::parse(&account.settings.approval_workflow)
        .unwrap_or(ApprovalWorkflow::OneStep);
    Ok(match workflow.initial_request_status() {
        "approved" => ("pending", Some("approved")),
        "pending" => ("needs_approval", Some("pending")),
        _ => ("needs_approval", Some("submitted")),
    })
}

/// What creating an order does about its certificate.
pub enum Issuance {
    /// Nothing is signed during the request.
    Later,
    /// The serial was claimed with the order: sign now, then record.
    Sign(Box<SignJob>),
    /// Signed with a pre-reserved serial and stored with the order.
    Done(Vec<certwell_api::order::ChainEntry>),
}

/// What a new order asks of domain validation: the domains it added and
/// the names (TLS names or address domains) it needs validated.
pub struct DcvScope<'a> {
    pub new_domains: &'a [NewDomainRow],
    pub names: &'a [String],
}

/// The 201 body of a new order; signs the certificate first when the order
/// was issuable at once, or tries to issue it when it is approved.
pub async fn respond_created(
    state: &Arc<AppState>,
    caller: &Caller,
    created: &certwell_store::CreatedOrder,
    request: Option<&str>,
    status: &str,
    issuance: Issuance,
    dcv: DcvScope<'_>,
) -> ApiResult<Response> {
    let (dcv_random_value, domains) = start_domain_validation(
        state,
        caller.account_id,
        created.organization_id,
        dcv.new_domains,
        dcv.names,
    )
    .await?;
    let mut resp = OrderCreated {
        dcv_random_value,
        domains,
        id: created.order_id,
        organization: created.organization_created.then_some(IdOnly {
            id: created.organization_id,
        }),
        requests: created.request_id.map(|id| {
            vec![RequestRef {
                id,
                status: request.unwrap_or_default().to_string(),
            }]
        }),
        certificate_id: None,
        certificate_chain: None,
    };
    if let Issuance::Done(chain) = issuance {
        resp.certificate_id = Some(created.certificate_id);
        resp.certificate_chain = Some(chain);
        tracing::info!(
            order = created.order_id,
            certificate = created.certificate_id,
            "certificate issued"
        );
    } else if let Issuance::Sign(job) = issuance {
        resp.certificate_id = Some(created.certificate_id);
        match sign_and_record_detached(Arc::clone(state), *job).await {
            Ok((_, chain)) => resp.certificate_chain = Some(chain),
            Err(e) => {
                tracing::warn!(order = created.order_id, error = %e.message, "issuance deferred")
            }
        }
    } else if status == "pending" || status == "needs_csr" || status == "waiting_pickup" {
        resp.certificate_id = Some(created.certificate_id);
        if status == "pending" {
            match try_issue(state, caller.account_id, created.order_id).await {
                Ok(Some((_, chain))) => resp.certificate_chain = Some(chain),
                Ok(None) => state.wake_issuer.notify_one(),
                Err(e) => {
                    tracing::warn!(order = created.order_id, error = %e.message, "issuance deferred")
                }
            }
        }
    }
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// A domain's random value as the API shows it.
pub fn dcv_token_json(state: &AppState, d: &certwell_store::Domain) -> Option<DcvToken> {
    let (token, exp) = (d.dcv_token.clone()?, d.dcv_token_expires.clone()?);
    let validated = crate::issuance::domain_validated(d);
    Some(DcvToken {
        token,
        status: if validated { "active" } else { "pending" }.into(),
        expiration_date: exp,
        verification_value: (d.dcv_method == "dns-cname-token")
            .then(|| state.validator.cname_verification_domain().to_string()),
        http_token_url: (d.dcv_method == "http-token").then(|| state.validator.token_url(&d.name)),
    })
}

/// After an order is stored: the pending token domains covering its
/// `names` (new or not) are returned with their random values and wake the
/// DCV poller; email domains the order added get their DCV email (in the
/// background). Sandbox domains are validated already.
pub async fn start_domain_validation(
    state: &Arc<AppState>,
    account_id: i64,
    organization_id: i64,
    new_domains: &[NewDomainRow],
    names: &[String],
) -> ApiResult<(Option<String>, Option<Vec<DomainDcv>>)> {
    if state.config.sandbox || organization_id == 0 || names.is_empty() {
        return Ok((None, None));
    }
    let all = state
        .store
        .domains_of_organization(account_id, organization_id)
        .await?;
    let pending: Vec<&certwell_store::Domain> = all
        .iter()
        .filter(|d| {
            d.is_active
                && !crate::issuance::domain_validated(d)
                && names.iter().any(|n| domain_fact(d).covers(n))
        })
        .collect();
    let mut listed = Vec::new();
    for d in pending {
        if d.dcv_method == "email" {
            if !new_domains.iter().any(|n| n.name == d.name) {
                continue;
            }
            let (state, d) = (Arc::clone(state), d.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::validation::send_domain_emails(&state, &d).await {
                    tracing::warn!(domain = %d.name, error = %e.message, "DCV emails not sent");
                }
            });
        } else if let Some(t) = dcv_token_json(state, d) {
            listed.push(DomainDcv {
                id: d.id,
                name: d.name.clone(),
                dcv_token: t,
            });
        }
    }
    if listed.is_empty() {
        return Ok((None, None));
    }
    state.wake_dcv.notify_one();
    Ok((Some(listed[0].dcv_token.token.clone()), Some(listed)))
}

pub async fn check_container(
    state: &AppState,
    caller: &Caller,
    id: i64,
    field: &str,
) -> ApiResult<i64> {
    // The caller's own container needs no lookup; others must lie below it.
    if id == caller.user.container_id {
        return Ok(id);
    }
    let visible = crate::routes::containers::visible(state, caller).await?;
    match visible.iter().find(|c| c.id == id) {
        Some(c) => Ok(c.id),
        None => Err(ApiError::bad_request(
            codes::INVALID_CONTAINER,
            format!("The field '{field}' names no container this key can use: {id}."),
        )),
    }
}

/// The order `id` of the caller's account, if it lies in a container the
/// caller sees (a user of a child container sees nothing above it).
pub async fn visible_order(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Option<Order>> {
    match state.store.get_order(caller.account_id, id).await? {
        Some(o) if sees_container(state, caller, o.container_id).await? => Ok(Some(o)),
        _ => Ok(None),
    }
}

/// Loads an order by id, or by its certificate's serial number or
/// thumbprint; 404 for orders outside the caller's containers.
pub async fn load_order(state: &AppState, caller: &Caller, key: &str) -> ApiResult<Order> {
    let mut found = None;
    if let Ok(id) = key.parse::<i64>() {
        found = state.store.get_order(caller.account_id, id).await?;
    }
    if found.is_none()
        && key.len() >= 8
        && key.len() <= 64
        && key.bytes().all(|b| b.is_ascii_hexdigit())
    {
        found = state
            .store
            .find_order_by_certificate(caller.account_id, key)
            .await?;
    }
    match found {
        Some(o) if sees_container(state, caller, o.container_id).await? => Ok(o),
        _ => Err(ApiError::order_not_found()),
    }
}

fn resolve_contacts(
    contacts: &[certwell_policy::organization::OrderContact],
    org: Option<&certwell_store::Organization>,
    users: &HashMap<i64, certwell_store::User>,
) -> (Option<Value>, Option<Value>) {
    let org_contact = org
        .and_then(views::org_data)
        .map(|d| views::contact_json(&d.organization_contact));
    let find = |kind: &str| -> Option<Value> {
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
    let oc = find("organization_contact").or(org_contact);
    let tc = find("technical_contact").or_else(|| oc.clone());
    (oc, tc)
}

async fn order_context_values(state: &AppState, order: &Order, full: bool) -> ApiResult<Value> {
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
    let ca_name = state.cas.get(&data.ca_cert_id).map(|c| c.name.clone());
    let renewed_by = state
        .store
        .renewal_order_of(order.account_id, order.id)
        .await?;
    let ctx = OrderContext {
        renewed_by,
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

pub async fn order_json(state: &AppState, order: &Order) -> ApiResult<Value> {
    order_context_values(state, order, true).await
}

/// `GET /order/certificate/{id|serial|thumbprint}`
pub async fn order_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let order = load_order(&state, &caller, &key).await?;
    let mut v = order_json(&state, &order).await?;
    let q = query_map(raw.as_deref());
    if q.get("include_caa_status")
        .is_some_and(|v| v == "true" || v == "1")
    {
        if let Some(m) = crate::routes::dcv::caa_status(&state, &order).await? {
            v["caa_status_message"] = m;
        }
    }
    Ok(Json(v))
}

/// `GET /order/certificate`
pub async fn list_orders(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let int = |k: &str| -> ApiResult<Option<i64>> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(
                    codes::INVALID_FILTER,
                    format!("The filter '{k}' must be an integer."),
                )
            }),
        }
    };
    let s = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let flag = |k: &str| -> ApiResult<Option<bool>> {
        match q.get(k).map(String::as_str) {
            None | Some("") => Ok(None),
            Some("1" | "true") => Ok(Some(true)),
            Some("0" | "false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(
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
            return Err(ApiError::bad_request(
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
                return Err(ApiError::bad_request(
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
        serial_number: s("filters[serial_number]"),
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
) -> ApiResult<StatusCode> {
    let id = path_id(&key, ApiError::order_not_found)?;
    let req: OrderStatusUpdate = parse_json(&body)?;
    let status = req
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("status"))?
        .to_ascii_lowercase();
    let order = visible_order(&state, &caller, id)
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    match status.as_str() {
        "canceled" if order.status == "reissue_pending" => {
            // Cancels the reissue; the order keeps its certificate.
            let ok = state
                .store
                .cancel_reissue(
                    caller.account_id,
                    id,
                    req.note.as_deref(),
                    &format_ts(OffsetDateTime::now_utc()),
                )
                .await?;
            if !ok {
                return Err(ApiError::bad_request(
                    codes::INVALID_STATUS_TRANSITION,
                    "The reissue is being issued and can no longer be canceled.",
                ));
            }
            Ok(StatusCode::NO_CONTENT)
        }
        "canceled" => {
            let ok = state
                .store
                .set_order_status(
                    caller.account_id,
                    id,
                    &["needs_approval", "pending", "waiting_pickup", "needs_csr"],
                    "canceled",
                )
                .await?;
            if !ok {
                return Err(ApiError::bad_request(
                    codes::INVALID_STATUS_TRANSITION,
                    format!("An order in status '{}' cannot be canceled.", order.status),
                ));
            }
            Ok(StatusCode::NO_CONTENT)
        }
        "renewed" | "not_renewed" => Err(ApiError::bad_request(
            codes::INVALID_STATUS_TRANSITION,
            format!("The status '{status}' can only be set on migrated orders."),
        )),
        other => Err(ApiError::bad_request(
            codes::INVALID_STATUS,
            format!(
                "The field 'status' must be one of canceled, renewed, not_renewed; got '{other}'."
            ),
        )),
    }
}

/// `GET /order/certificate/status-changes?filters[status_last_updated]=START...END`
pub async fn status_changes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let q = query_map(raw.as_deref());
    let range = q
        .get("filters[status_last_updated]")
        .ok_or_else(|| certwell_policy::PolicyError::missing("filters[status_last_updated]"))?;
    let bad = || {
        ApiError::bad_request(
            codes::INVALID_FILTER,
            "The filter 'status_last_updated' must be START...END with dates like 2024-1-5 10:0:0.",
        )
    };
    let (a, b) = range.split_once("...").ok_or_else(bad)?;
    let from = certwell_policy::validity::parse_range_time(a, false)
        .map(format_ts)
        .ok_or_else(bad)?;
    let to = certwell_policy::validity::parse_range_time(b, true)
        .map(format_ts)
        .ok_or_else(bad)?;
    let mut rows = state
        .store
        .order_status_changes(caller.account_id, &from, &to)
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
) -> ApiResult<Json<Value>> {
    let not_found =
        || ApiError::not_found(codes::NOT_FOUND, "The specified container was not found.");
    let container = path_id(&container, not_found)?;
    state
        .store
        .get_container(caller.account_id, container)
        .await?
        .ok_or_else(not_found)?;
    if !sees_container(&state, &caller, container).await? {
        return Err(not_found());
    }
    let now = OffsetDateTime::now_utc();
    let ends = state
        .store
        .expiring_certificates(
            caller.account_id,
            container,
            &format_ts(now),
            &format_ts(now + Duration::days(90)),
        )
        .await?;
    let mut buckets = [(30i64, 0i64), (60, 0), (90, 0)];
    for end in ends {
        let days = views::days_remaining(&end);
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
