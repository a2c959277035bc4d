//! Order intake: a new order from request to stored order (and, when
//! nothing blocks it, to its certificate). TLS orders are taken here,
//! secure-email, client and document-signing orders in
//! [`crate::service::smime`], through the same helpers.

use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::service::access::{
    check_contact_users, check_container, check_renewal, check_user_assignments,
};
use crate::service::issuance::{
    chain_entries, domain_fact, sign_and_record_detached, tls_subject, try_issue, validity_window,
    LeafSpec, OrderData, OrderPlan, SignJob,
};
use crate::state::AppState;
use crate::token::new_dcv_token;
use crate::views::{self};
use certwell_api::error::codes;
use certwell_api::order::{DcvToken, DomainDcv, IdOnly, OrderCreated, OrderRequest, RequestRef};
use certwell_policy::approval::ApprovalWorkflow;
use certwell_policy::catalog::{Family, Product};
use certwell_policy::dns::{domain_covers, registrable_domain};
use certwell_policy::issuance::{issuance_blockers, DomainFact, OrgValidationFact};
use certwell_policy::organization::NewOrganization;
use certwell_policy::tls::{validate_tls_order, OrgChoice};
use certwell_store::{
    format_ts, NewCertificateRow, NewDomainRow, NewOrder, NewOrganizationRow, OrgDuplicateKey,
    OrgForOrder,
};
use certwell_store::{DcvMethod, OrderStatus, RequestStatus};
use serde_json::Value;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

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

/// Places an order for `product` (`POST /order/certificate/{product}`):
/// every family's request goes through here.
pub async fn create_order(
    state: &Arc<AppState>,
    caller: &Caller,
    product: &'static Product,
    req: OrderRequest,
) -> ApiResult<OrderCreated> {
    if product.family != Family::Tls {
        return crate::service::smime::create_smime_order(state, caller, product, req).await;
    }
    let now = OffsetDateTime::now_utc();
    let plan = validate_tls_order(product, &req, now)?;
    if plan.skip_approval && !caller.role.can_approve() {
        return Err(ApiError::missing_permission(
            "skip approval (an administrator or manager key is required)",
        ));
    }
    let csr = verify_csr(state, &plan.csr)?;
    let ca = pick_issuing_ca(state, product, plan.ca_cert_id.as_deref())?;
    let org = resolve_organization(state, caller, &plan.organization, now).await?;
    check_contact_users(state, caller, &plan.contacts).await?;
    let container_id = match plan.container_id {
        Some(c) => check_container(state, caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    check_renewal(state, caller, plan.renewal_of_order_id).await?;
    let order_level = certwell_policy::common::order_level(&req)?;
    check_user_assignments(state, caller, &order_level).await?;
    crate::service::intake::check_order_custom_fields(state, caller, &plan.custom_fields).await?;
    let (payment_plan, payment) =
        crate::service::billing::order_payment(state, caller, product, &req, &plan.term_end, now)
            .await?;

    // Domains for names no domain of the organization covers yet.
    let dcv_method = plan.dcv_method.unwrap_or(DcvMethod::Email);
    if !state.config.sandbox {
        certwell_policy::dcv::check_method_for_names(
            dcv_method,
            plan.sans
                .iter()
                .filter(|n| !org.domains.iter().any(|d| domain_fact(d).covers(n))),
        )?;
    }
    let new_domains = new_domains_for(
        state,
        &org.domains,
        &plan.sans,
        container_id,
        dcv_method,
        product.validation.as_str(),
    )?;

    let (status, request) = initial_status(state, caller, plan.skip_approval).await?;

    // Issuable during this request? Then the serial is recorded in the same
    // transaction as the order, and the certificate is signed right after.
    let issuable = status == OrderStatus::Pending
        && !crate::service::issuance::sandbox_delay_pending(state, &format_ts(now))
        && issuance_blockers(
            product.validation,
            &org.validation_facts(),
            &org.domain_facts(&new_domains),
            &plan.sans,
            &format_ts(now),
        )
        .is_empty()
        && crate::service::issuance::caa_failure(state, product.name_id, &plan.sans)
            .await
            .is_none();
    let immediate = match (&org.data, issuable) {
        (Some(org_data), true) => {
            let (nb, na) = validity_window(state, &plan.term_end, now)?;
            let ev = product.validation == certwell_policy::ValidationLevel::Ev;
            let subject = tls_subject(state, ev, org_data, &org.created_at, &plan.common_name);
            Some((
                nb,
                na,
                LeafSpec::Tls {
                    ev,
                    subject,
                    sans: plan.sans.clone(),
                    max_validity_days: crate::service::issuance::tls_max_days(state, now),
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
            Some(
                crate::service::issuance::presign(state, ca, leaf, csr.spki_der.clone(), nb, na)
                    .await?,
            ),
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
    let (created, serial) = crate::service::issuance::create_order(
        state,
        NewOrder {
            payment,
            account_id: caller.account_id,
            container_id,
            user_id: caller.user.id,
            product_name_id: product.name_id.to_string(),
            status,
            organization: org.for_order,
            renewal_of_order_id: plan.renewal_of_order_id,
            issued: presigned.clone(),
            common_name: plan.common_name.clone(),
            names: plan.sans.clone(),
            data: serde_json::to_value(&data)
                .map_err(|_| ApiError::internal("order could not be encoded"))?,
            new_domains: new_domains.clone(),
            request: request.map(|s| (s, plan.comments.clone())),
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
    update_contact_users(state, caller, &plan.contacts).await?;
    let job = match (immediate.zip(serial), presigned) {
        (_, Some(p)) => Issuance::Done(chain_entries(state, &plan.common_name, &p.der, &ca.id)),
        (Some(((not_before, not_after, leaf), serial)), None) => {
            Issuance::Sign(Box::new(SignJob {
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
            }))
        }
        (None, None) => Issuance::Later,
    };
    respond_created(
        state,
        caller,
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
) -> ApiResult<&'a Arc<crate::service::hierarchy::LoadedCa>> {
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
                exact_only: d.dcv_method == DcvMethod::HttpToken,
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
            if !crate::service::access::in_org_view(state, caller, org.container_id).await? {
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
                    if crate::service::access::in_org_view(state, caller, o.container_id).await? {
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

/// Domains to add for `names` no domain of the organization covers yet:
/// one per registrable domain, or, for `http-token` (which proves control of
/// one name only), one per name. Validated at once in sandbox mode.
pub fn new_domains_for(
    state: &AppState,
    existing: &[certwell_store::Domain],
    names: &[String],
    container_id: i64,
    dcv_method: DcvMethod,
    validation_type: &str,
) -> ApiResult<Vec<NewDomainRow>> {
    let (validated_at, validated_until) = sandbox_validated_until(state);
    let mut new_domains: Vec<NewDomainRow> = Vec::new();
    let http = dcv_method.exact_name_only();
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
        let token = dcv_method.is_token().then(new_dcv_token).transpose()?;
        new_domains.push(NewDomainRow {
            container_id,
            organization_id: 0,
            name: base,
            dcv_method,
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
) -> ApiResult<(OrderStatus, Option<RequestStatus>)> {
    if skip_approval {
        return Ok((OrderStatus::Pending, None));
    }
    let account = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(ApiError::forbidden_invalid_key)?;
    let workflow = ApprovalWorkflow::parse(&account.settings.approval_workflow)
        .unwrap_or(ApprovalWorkflow::OneStep);
    let request = workflow.initial_request_status();
    let order = match request {
        RequestStatus::Approved => OrderStatus::Pending,
        _ => OrderStatus::NeedsApproval,
    };
    Ok((order, Some(request)))
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
    request: Option<RequestStatus>,
    status: OrderStatus,
    issuance: Issuance,
    dcv: DcvScope<'_>,
) -> ApiResult<OrderCreated> {
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
                status: request
                    .map(RequestStatus::as_str)
                    .unwrap_or_default()
                    .to_string(),
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
    } else if matches!(
        status,
        OrderStatus::Pending | OrderStatus::NeedsCsr | OrderStatus::WaitingPickup
    ) {
        resp.certificate_id = Some(created.certificate_id);
        if status == OrderStatus::Pending {
            match try_issue(state, caller.account_id, created.order_id).await {
                Ok(Some((_, chain))) => resp.certificate_chain = Some(chain),
                Ok(None) => state.wake_issuer.notify_one(),
                Err(e) => {
                    tracing::warn!(order = created.order_id, error = %e.message, "issuance deferred")
                }
            }
        }
    }
    Ok(resp)
}

/// A domain's random value as the API shows it.
pub fn dcv_token_json(state: &AppState, d: &certwell_store::Domain) -> Option<DcvToken> {
    let (token, exp) = (d.dcv_token.clone()?, d.dcv_token_expires.clone()?);
    let validated = crate::service::issuance::domain_validated(d);
    Some(DcvToken {
        token,
        status: if validated { "active" } else { "pending" }.into(),
        expiration_date: exp,
        verification_value: (d.dcv_method == DcvMethod::DnsCnameToken)
            .then(|| state.validator.cname_verification_domain().to_string()),
        http_token_url: (d.dcv_method == DcvMethod::HttpToken)
            .then(|| state.validator.token_url(&d.name)),
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
                && !crate::service::issuance::domain_validated(d)
                && names.iter().any(|n| domain_fact(d).covers(n))
        })
        .collect();
    let mut listed = Vec::new();
    for d in pending {
        if d.dcv_method == DcvMethod::Email {
            if !new_domains.iter().any(|n| n.name == d.name) {
                continue;
            }
            let (state, d) = (Arc::clone(state), d.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::service::validation::send_domain_emails(&state, &d).await {
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

/// Checks an order's custom field values against the account's fields
/// (cached for a short time; changes through this server apply at once).
pub async fn check_order_custom_fields(
    state: &AppState,
    caller: &Caller,
    given: &[certwell_policy::common::CustomFieldValue],
) -> ApiResult<()> {
    let defs = state.metadata_for(caller.account_id).await?;
    if defs.is_empty() && given.is_empty() {
        return Ok(());
    }
    let view: Vec<certwell_policy::account::FieldDef> = defs
        .iter()
        .map(|d| certwell_policy::account::FieldDef {
            id: d.id,
            label: &d.label,
            is_required: d.is_required,
            is_active: d.is_active,
            data_type: &d.data_type,
        })
        .collect();
    certwell_policy::account::check_custom_fields(&view, given)?;
    Ok(())
}
