//! Order intake: a new order from request to stored order (and, when
//! nothing blocks it, to its certificate). TLS orders are taken here,
//! secure-email, client and document-signing orders in
//! [`crate::service::smime`], through the same helpers.

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::service::access::{
    check_contact_users, check_container, check_renewal, check_user_assignments,
};
use crate::service::hierarchy::LoadedCa;
use crate::service::issuance::{chain_entries, sign_and_record_detached, try_issue, SignJob};
use crate::service::order_data::{OrderData, OrderPlan};
use crate::service::profile::{tls_subject, validity_window, LeafSpec};
use crate::service::validation::domain_fact;
use crate::state::AppState;
use crate::token::new_dcv_token;
use crate::views::{self};
use certwell_api::error::codes;
use certwell_api::order::{DcvToken, DomainDcv, IdOnly, OrderCreated, OrderRequest, RequestRef};
use certwell_policy::approval::ApprovalWorkflow;
use certwell_policy::catalog::Product;
use certwell_policy::common::CustomFieldValue;
use certwell_policy::dns::{domain_covers, registrable_domain};
use certwell_policy::issuance::{issuance_blockers, DomainFact, OrgValidationFact};
use certwell_policy::organization::NewOrganization;
use certwell_policy::organization::OrderContact;
use certwell_policy::tls::{OrgChoice, TlsOrderPlan};
use certwell_policy::validity::PlanTerm;
use certwell_store::{
    DcvMethod, OrderEmail, OrderStatus, RequestStatus, ValidationStatus, ValidationType,
};
use certwell_store::{
    NewCertificateRow, NewDomainRow, NewOrder, NewOrganizationRow, OrgDuplicateKey, OrgForOrder,
};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

pub fn csr_error(e: certwell_ca::CsrError) -> Error {
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
    Error::bad_request(code, msg)
}

/// New validations for an organization or domain created now: all of
/// them active in sandbox mode, else pending.
/// In the sandbox every validation type is active at once, whatever was
/// asked for.
pub fn initial_validations(
    state: &AppState,
    requested: &[ValidationType],
) -> Vec<(ValidationType, ValidationStatus, Option<OffsetDateTime>)> {
    if state.config.sandbox {
        let until =
            crate::service::validation::organization_valid_until(state, crate::clock::now());
        ValidationType::ALL
            .iter()
            .map(|k| (*k, ValidationStatus::Active, Some(until)))
            .collect()
    } else {
        requested
            .iter()
            .map(|k| (*k, ValidationStatus::Pending, None))
            .collect()
    }
}

/// (validated_at, validated_until) of a domain created now: validated at
/// once in sandbox mode.
pub fn sandbox_validated_until(
    state: &AppState,
) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    if state.config.sandbox {
        let now = crate::clock::now();
        (
            Some(now),
            Some(crate::service::validation::domain_valid_until(state, now)),
        )
    } else {
        (None, None)
    }
}

/// What every family's plan tells the pipeline.
pub struct Common<'a> {
    pub skip_approval: bool,
    pub csr: Option<&'a str>,
    pub ca_cert_id: Option<&'a str>,
    pub organization: Option<&'a OrgChoice>,
    pub contacts: &'a [OrderContact],
    pub container_id: Option<i64>,
    pub renewal_of_order_id: Option<i64>,
    pub custom_fields: &'a [CustomFieldValue],
    pub comments: Option<&'a String>,
    pub term_end: &'a str,
    pub signature_hash: &'a str,
}

/// What differs per product family in order intake (TLS here; S/MIME,
/// client and document signing in `service::smime`). Everything else is
/// the one sequence of [`place`].
pub trait OrderFamily {
    /// A certificate signed during the request may be stored with its
    /// order in one transaction (needs an existing organization and no new
    /// domains).
    const ONE_TRIP: bool;
    fn common(&self) -> Common<'_>;
    /// Family rules on a verified CSR's key.
    fn check_key(&self, _csr: &certwell_ca::VerifiedCsr) -> Result<()> {
        Ok(())
    }
    /// The names whose domains must be validated (TLS names, or the
    /// domains of the addresses).
    fn validated_names(&self) -> Vec<String>;
    /// The domains the order adds to its organization.
    fn new_domains(
        &self,
        state: &AppState,
        product: &Product,
        org: Option<&ResolvedOrg>,
        names: &[String],
        container_id: i64,
    ) -> Result<Vec<NewDomainRow>>;
    /// Addresses validated one by one (mailbox-validated S/MIME).
    fn mailboxes(
        &self,
        _state: &AppState,
        _org: Option<&ResolvedOrg>,
        _now: OffsetDateTime,
    ) -> Vec<OrderEmail> {
        Vec::new()
    }
    /// The certificate to sign now: validity window and profile (None:
    /// nothing to sign yet, e.g. no organization data).
    fn leaf(
        &self,
        state: &AppState,
        product: &Product,
        org: Option<&ResolvedOrg>,
        csr: &certwell_ca::VerifiedCsr,
        ca: &LoadedCa,
        now: OffsetDateTime,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime, LeafSpec)>>;
    /// Refuses an order that will not be issued during the request, when
    /// the client asked for that (`reject_if_pending`).
    fn refuse_unless_issued_now(
        &self,
        _status: OrderStatus,
        _has_csr: bool,
        _issued_now: bool,
    ) -> Result<()> {
        Ok(())
    }
    /// ("rsa" | "ecc", bits) of the key, from the CSR or as declared.
    fn key_facts(&self, csr: Option<&certwell_ca::VerifiedCsr>) -> (&'static str, i64);
    /// The order's (and its certificate's) common name.
    fn common_name(&self, org: Option<&ResolvedOrg>) -> String;
    /// The names the order lists (TLS names, or email addresses).
    fn order_names(&self) -> Vec<String>;
    /// The dNSNames of the certificate row.
    fn dns_names(&self) -> Vec<String>;
    /// The plan as stored with the order.
    fn stored_plan(&self) -> OrderPlan;
}

/// A TLS order (the 11 TLS products of the two TLS seeds).
pub struct TlsOrder(pub TlsOrderPlan);

impl OrderFamily for TlsOrder {
    const ONE_TRIP: bool = true;

    fn common(&self) -> Common<'_> {
        let p = &self.0;
        Common {
            skip_approval: p.skip_approval,
            csr: Some(&p.csr),
            ca_cert_id: p.ca_cert_id.as_deref(),
            organization: Some(&p.organization),
            contacts: &p.contacts,
            container_id: p.container_id,
            renewal_of_order_id: p.renewal_of_order_id,
            custom_fields: &p.custom_fields,
            comments: p.comments.as_ref(),
            term_end: &p.term_end,
            signature_hash: &p.signature_hash,
        }
    }

    fn validated_names(&self) -> Vec<String> {
        self.0.sans.clone()
    }

    fn new_domains(
        &self,
        state: &AppState,
        product: &Product,
        org: Option<&ResolvedOrg>,
        names: &[String],
        container_id: i64,
    ) -> Result<Vec<NewDomainRow>> {
        let org = org.ok_or_else(|| Error::internal("A TLS order has no organization."))?;
        // Domains for names no domain of the organization covers yet.
        let dcv_method = self.0.dcv_method.unwrap_or(DcvMethod::Email);
        if !state.config.sandbox {
            certwell_policy::dcv::check_method_for_names(
                dcv_method,
                names
                    .iter()
                    .filter(|n| !org.domains.iter().any(|d| domain_fact(d).covers(n))),
            )?;
        }
        new_domains_for(
            state,
            &org.domains,
            names,
            container_id,
            dcv_method,
            product.validation.validation_type(),
        )
    }

    fn leaf(
        &self,
        state: &AppState,
        product: &Product,
        org: Option<&ResolvedOrg>,
        _csr: &certwell_ca::VerifiedCsr,
        _ca: &LoadedCa,
        now: OffsetDateTime,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime, LeafSpec)>> {
        let Some((org, org_data)) = org.and_then(|o| o.data.as_ref().map(|d| (o, d))) else {
            return Ok(None);
        };
        let (nb, na) = validity_window(state, self.0.first_certificate_end(), now)?;
        let ev = product.validation == certwell_policy::ValidationLevel::Ev;
        let subject = tls_subject(state, ev, org_data, org.created_at, &self.0.common_name);
        Ok(Some((
            nb,
            na,
            LeafSpec::Tls {
                ev,
                subject,
                sans: self.0.sans.clone(),
                max_validity_days: crate::service::profile::tls_max_days(state, now),
            },
        )))
    }

    fn key_facts(&self, csr: Option<&certwell_ca::VerifiedCsr>) -> (&'static str, i64) {
        csr.map_or(("ecc", 256), key_facts)
    }

    fn common_name(&self, _org: Option<&ResolvedOrg>) -> String {
        self.0.common_name.clone()
    }

    fn order_names(&self) -> Vec<String> {
        self.0.sans.clone()
    }

    fn dns_names(&self) -> Vec<String> {
        self.0.sans.clone()
    }

    fn stored_plan(&self) -> OrderPlan {
        OrderPlan::Tls(Box::new(self.0.clone()))
    }
}

/// The order intake sequence, the same for every family: permissions, CSR,
/// issuing CA, organization, tenancy, payment, domains, approval status,
/// blockers; then the order is stored — with its certificate signed first
/// when nothing blocks it (see docs/issuance-cycle.md).
pub async fn place<F: OrderFamily>(
    state: &Arc<AppState>,
    caller: &Caller,
    product: &'static Product,
    req: &OrderRequest,
    family: F,
    now: OffsetDateTime,
) -> Result<OrderCreated> {
    let common = family.common();
    if common.skip_approval && !caller.role.can_approve() {
        return Err(Error::missing_permission(
            "skip approval (an administrator or manager key is required)",
        ));
    }
    let csr = match common.csr {
        Some(pem) => {
            let csr = verify_csr(state, pem)?;
            family.check_key(&csr)?;
            Some(csr)
        }
        None => None,
    };
    let ca = &pick_issuing_ca(state, product, common.ca_cert_id).await?;
    let org = match common.organization {
        Some(choice) => Some(resolve_organization(state, caller, choice, now).await?),
        None => None,
    };
    check_contact_users(state, caller, common.contacts).await?;
    let container_id = match common.container_id {
        Some(c) => check_container(state, caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    check_renewal(state, caller, common.renewal_of_order_id).await?;
    let order_level = certwell_policy::common::order_level(req)?;
    check_user_assignments(state, caller, &order_level).await?;
    check_order_custom_fields(state, caller, common.custom_fields).await?;
    let (payment_plan, payment) =
        crate::service::billing::order_payment(state, caller, product, req, common.term_end, now)
            .await?;
    let names = family.validated_names();
    let new_domains = family.new_domains(state, product, org.as_ref(), &names, container_id)?;
    // The order's own timestamp, as stored.
    let at = crate::clock::whole_seconds(now);
    let mailboxes = family.mailboxes(state, org.as_ref(), at);

    let (mut status, request) = initial_status(state, caller, common.skip_approval).await?;
    if status == OrderStatus::Pending && csr.is_none() {
        status = product.awaiting_csr_status();
    }
    // Issuable during this request? Then the certificate is signed now,
    // with a serial recorded before (see `Issuance`).
    let blocked = match &org {
        Some(o) => {
            !issuance_blockers(
                product.validation,
                &o.validation_facts(),
                &o.domain_facts(&new_domains),
                &names,
                at,
            )
            .is_empty()
                || crate::service::profile::registration_blocker(state, product, o.data.as_ref())
                    .is_some()
        }
        None => !certwell_policy::issuance::mailbox_blockers(
            mailboxes.iter().map(|e| (e.email.as_str(), e.status)),
        )
        .is_empty(),
    };
    let issuable = status == OrderStatus::Pending
        && !blocked
        && !crate::service::issuance::sandbox_delay_pending(state, at)
        && crate::service::issuance::caa_failure(state, product.name_id, &names)
            .await
            .is_none();
    let immediate = match (&csr, issuable) {
        (Some(csr), true) => family.leaf(state, product, org.as_ref(), csr, ca, now)?,
        _ => None,
    };
    family.refuse_unless_issued_now(status, csr.is_some(), immediate.is_some())?;

    // The common case (an existing organization, no new domains): sign now
    // with a serial recorded earlier, and store order and certificate in
    // one transaction.
    let one_trip = F::ONE_TRIP
        && org
            .as_ref()
            .is_some_and(|o| matches!(o.for_order, OrgForOrder::Existing(_)))
        && new_domains.is_empty();
    let spki = csr.as_ref().map(|c| c.spki_der.clone()).unwrap_or_default();
    let (immediate, presigned) = match immediate {
        Some((nb, na, leaf)) if one_trip => (
            None,
            Some(crate::service::issuance::presign(state, ca, leaf, spki.clone(), nb, na).await?),
        ),
        other => (other, None),
    };

    let (key_type, key_size) = family.key_facts(csr.as_ref());
    let common_name = family.common_name(org.as_ref());
    let data = OrderData {
        plan: family.stored_plan(),
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
    let mailbox_addresses: Vec<String> = mailboxes.iter().map(|e| e.email.clone()).collect();
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
            renewal_of_order_id: common.renewal_of_order_id,
            issued: presigned.clone(),
            common_name: common_name.clone(),
            names: family.order_names(),
            data: serde_json::to_value(&data)
                .map_err(|_| Error::internal("order could not be encoded"))?,
            new_domains: new_domains.clone(),
            request: request.map(|s| (s, common.comments.cloned())),
            certificate: NewCertificateRow {
                csr: common.csr.unwrap_or_default().to_string(),
                spki_sha256: csr
                    .as_ref()
                    .map(|c| c.spki_sha256_hex.clone())
                    .unwrap_or_default(),
                key_size,
                common_name: common_name.clone(),
                dns_names: family.dns_names(),
                signature_hash: common.signature_hash.to_string(),
            },
            reserve_serial: None,
            emails: mailboxes,
            created_at: at,
        },
        immediate.as_ref().map(|_| ca.id.as_str()),
    )
    .await?;
    update_contact_users(state, caller, common.contacts).await?;
    let job = match (immediate.zip(serial), presigned) {
        (_, Some(p)) => {
            state.metrics.issued(product.name_id);
            Issuance::Done(chain_entries(state, &common_name, &p.der, &ca.id))
        }
        (Some(((not_before, not_after, leaf), serial)), None) => {
            Issuance::Sign(Box::new(SignJob {
                product: product.name_id,
                account_id: caller.account_id,
                order_id: created.order_id,
                certificate_id: created.certificate_id,
                ca: Arc::clone(ca),
                serial,
                leaf,
                spki,
                not_before,
                not_after,
                leaf_cn: common_name,
            }))
        }
        (None, None) => Issuance::Later,
    };
    if !state.config.sandbox {
        if let Err(e) = crate::service::outbox::queue_mailbox_emails(
            state,
            caller.account_id,
            created.order_id,
            &mailbox_addresses,
        )
        .await
        {
            tracing::warn!(order = created.order_id, error = %e.message, "mailbox emails not queued");
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
            names: &names,
        },
    )
    .await
}

/// Parses a CSR and checks its proof of possession and key; a certwell CA
/// key is refused. (A key revoked for compromise is refused where it
/// matters: by the store when the order or CSR is written, and right
/// before any signature, `issuance::sign_leaf` and `presign`.)
pub fn verify_csr(state: &AppState, pem: &str) -> Result<certwell_ca::VerifiedCsr> {
    let csr = certwell_ca::parse_and_verify_csr(pem).map_err(csr_error)?;
    if state
        .cas()
        .all()
        .iter()
        .any(|ca| ca.spki_der == csr.spki_der)
    {
        return Err(Error::bad_request(
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
/// allowed for the product), else the product's default. While the rest
/// of a fresh sandbox's hierarchy is still being made in the background,
/// an order for a product none of the loaded CAs serves waits for it.
pub async fn pick_issuing_ca(
    state: &AppState,
    product: &Product,
    ca_cert_id: Option<&str>,
) -> Result<Arc<crate::service::hierarchy::LoadedCa>> {
    let mut waited = false;
    loop {
        let cas = state.cas();
        let allowed = cas.issuing_for(product.ca_purpose);
        let found = match ca_cert_id {
            Some(id) => allowed.into_iter().find(|c| c.id.eq_ignore_ascii_case(id)),
            None => allowed.into_iter().next(),
        };
        if let Some(ca) = found {
            return Ok(Arc::clone(ca));
        }
        if !waited {
            waited = true;
            let ready = state.hierarchy_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if state
                .hierarchy_pending
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), ready).await;
                continue;
            }
        }
        return Err(match ca_cert_id {
            Some(id) => Error::bad_request(
                codes::INVALID_CA_CERT_ID,
                format!("The field 'certificate.ca_cert_id' names no issuing CA allowed for product {}: '{id}'.", product.name_id),
            ),
            None => Error::bad_request(
                codes::PRODUCT_NOT_AVAILABLE,
                format!(
                    "Product {} is not available: this CA has no issuing CA for it.",
                    product.name_id
                ),
            ),
        });
    }
}

/// The organization of a new order, with what issuance needs to know of it.
pub struct ResolvedOrg {
    pub for_order: OrgForOrder,
    /// (type, status, validated_until)
    pub validations: Vec<(ValidationType, ValidationStatus, Option<OffsetDateTime>)>,
    pub data: Option<NewOrganization>,
    pub created_at: OffsetDateTime,
    pub domains: Vec<certwell_store::Domain>,
}

impl ResolvedOrg {
    pub fn validation_facts(&self) -> Vec<OrgValidationFact> {
        self.validations
            .iter()
            .map(|(kind, status, until)| OrgValidationFact {
                kind: *kind,
                status: *status,
                validated_until: *until,
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
                validated_until: d.validated_until,
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
) -> Result<ResolvedOrg> {
    let existing = |o: certwell_store::Organization, domains| ResolvedOrg {
        for_order: OrgForOrder::Existing(o.id),
        validations: o
            .validations
            .iter()
            .map(|v| (v.kind, v.status, v.validated_until))
            .collect(),
        data: views::org_data(&o),
        created_at: o.created_at,
        domains,
    };
    match choice {
        OrgChoice::Existing(id) => {
            let unknown = || {
                Error::bad_request(
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
                return Err(Error::bad_request(
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
            let validations = initial_validations(state, &new.validations);
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
                created_at: crate::clock::whole_seconds(now),
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
) -> Result<()> {
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
    validation_type: Option<ValidationType>,
) -> Result<Vec<NewDomainRow>> {
    let validation_type = validation_type
        .ok_or_else(|| Error::internal("A mailbox-validated product has no domains."))?;
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
            validation_types: vec![validation_type],
            validated_at,
            validated_until,
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
) -> Result<(OrderStatus, Option<RequestStatus>)> {
    if skip_approval {
        return Ok((OrderStatus::Pending, None));
    }
    let account = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(Error::forbidden_invalid_key)?;
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
) -> Result<OrderCreated> {
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
        requests: request_refs(created.request_id, request),
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

/// The `requests` of a 201: the request the new order (or reissue or
/// duplicate) opened, with its status.
pub fn request_refs(id: Option<i64>, status: Option<RequestStatus>) -> Option<Vec<RequestRef>> {
    id.map(|id| {
        vec![RequestRef {
            id,
            status: status
                .map(RequestStatus::as_str)
                .unwrap_or_default()
                .to_string(),
        }]
    })
}

/// A domain's random value as the API shows it.
pub fn dcv_token_json(state: &AppState, d: &certwell_store::Domain) -> Option<DcvToken> {
    let (token, exp) = (d.dcv_token.clone()?, d.dcv_token_expires?);
    let validated = crate::service::validation::domain_validated(d);
    Some(DcvToken {
        token,
        status: if validated { "active" } else { "pending" }.into(),
        expiration_date: views::datetime(exp),
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
) -> Result<(Option<String>, Option<Vec<DomainDcv>>)> {
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
                && !crate::service::validation::domain_validated(d)
                && names.iter().any(|n| domain_fact(d).covers(n))
        })
        .collect();
    let mut listed = Vec::new();
    let mut emailed = Vec::new();
    for d in pending {
        if d.dcv_method == DcvMethod::Email {
            if new_domains.iter().any(|n| n.name == d.name) {
                emailed.push(d);
            }
        } else if let Some(t) = dcv_token_json(state, d) {
            listed.push(DomainDcv {
                id: d.id,
                name: d.name.clone(),
                dcv_token: t,
            });
        }
    }
    if let Err(e) = crate::service::outbox::queue_domain_emails(state, &emailed).await {
        tracing::warn!(error = %e.message, "DCV emails not queued");
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
) -> Result<()> {
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
