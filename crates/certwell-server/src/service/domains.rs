//! Domains and their control validation, as an account manages them: the
//! DCV method and random value of a domain, checking it now, activating
//! and deleting it; and, per order, which domains cover its names, checking
//! them now and issuing when nothing else blocks.
//!
//! The checks themselves (DNS, HTTP, email links) and the background poller
//! live in [`validation`](crate::service::validation).

use certwell_api::error::codes;
use certwell_policy::organization::NewDomain;
use certwell_store::{
    DcvMethod, Domain, MailboxStatus, NewDomainRow, Order, OrderStatus, Organization,
};

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::service::issuance::try_issue_or_follow;
use crate::service::order_data::{OrderData, OrderPlan};
use crate::service::validation::{self, domain_fact, domain_validated};
use crate::state::AppState;
use crate::token::new_dcv_token;

pub fn domain_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_DOMAIN,
        "The specified domain was not found.",
    )
}

/// Domain `id` of the caller's account, in the caller's own subtree
/// (changing a domain's DCV needs that).
pub async fn visible_domain(state: &AppState, caller: &Caller, id: i64) -> Result<Domain> {
    let d = state
        .store
        .get_domain(caller.account_id, id)
        .await?
        .ok_or_else(domain_not_found)?;
    if !crate::service::access::sees_container(state, caller, d.container_id).await? {
        return Err(domain_not_found());
    }
    Ok(d)
}

pub use crate::service::validation::{dcv_addresses, DcvAddresses};

/// A domain's DCV after its method was set.
pub enum DcvSetup {
    /// Email: the domain and where its DCV email goes.
    Email(Domain, DcvAddresses),
    /// A token method: the domain with its new random value.
    Token(Domain),
}

/// `PUT /domain/{id}/dcv/method`: switches the method; a token method gets
/// a new random value, email sends the DCV emails when `send_email`.
pub async fn set_dcv_method(
    state: &AppState,
    caller: &Caller,
    id: i64,
    method: DcvMethod,
    send_email: bool,
) -> Result<DcvSetup> {
    let d = visible_domain(state, caller, id).await?;
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
    let d = visible_domain(state, caller, id).await?;
    if method == DcvMethod::Email {
        if send_email && !domain_validated(&d) {
            validation::send_domain_emails(state, &d).await?;
        }
        let addresses = dcv_addresses(state, &d).await;
        return Ok(DcvSetup::Email(d, addresses));
    }
    state.wake_dcv.notify_one();
    Ok(DcvSetup::Token(d))
}

/// `POST /domain/{id}/dcv/token`: a new random value (token methods only).
/// Returns the domain with it.
pub async fn new_domain_token(state: &AppState, caller: &Caller, id: i64) -> Result<Domain> {
    let d = visible_domain(state, caller, id).await?;
    if !d.dcv_method.is_token() {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            format!(
                "Domain {} uses the DCV method '{}', which has no random value; switch it with PUT /domain/{}/dcv/method.",
                d.name, d.dcv_method, d.id
            ),
        ));
    }
    let d = renew_token(state, &d).await?;
    state.wake_dcv.notify_one();
    Ok(d)
}

/// A new random value for `d` (a token-method domain); the domain with it.
async fn renew_token(state: &AppState, d: &Domain) -> Result<Domain> {
    let (token, exp) = new_dcv_token()?;
    state
        .store
        .set_domain_dcv(d.account_id, d.id, d.dcv_method, Some((&token, exp)))
        .await?;
    state
        .store
        .get_domain(d.account_id, d.id)
        .await?
        .ok_or_else(domain_not_found)
}

/// `PUT /domain/{id}/dcv/validate-token`: checks now (the poller's
/// schedule is unchanged). The domain's random value when it is validated.
pub async fn check_domain_now(state: &AppState, caller: &Caller, id: i64) -> Result<String> {
    let d = visible_domain(state, caller, id).await?;
    // The endpoint checks token methods only, validated or not; a domain
    // already validated stays so until its validation expires.
    if !d.dcv_method.is_token() {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            format!(
                "Domain {} uses email DCV; it is validated through the link in its DCV email.",
                d.name
            ),
        ));
    }
    if !domain_validated(&d) {
        validation::check_domain(state, &d).await??;
        state.wake_issuer.notify_one();
    }
    Ok(d.dcv_token.unwrap_or_default())
}

/// `PUT /domain/{id}/dcv/emails`: sends the DCV emails again; the
/// addresses they went to.
pub async fn resend_domain_emails(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Vec<String>> {
    let d = visible_domain(state, caller, id).await?;
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
    validation::send_domain_emails(state, &d).await
}

/// `PUT /domain/{id}/activate|deactivate`: a deactivated domain covers no
/// names; activating one may unblock orders.
pub async fn set_domain_active(
    state: &AppState,
    caller: &Caller,
    id: i64,
    active: bool,
) -> Result<()> {
    let d = visible_domain(state, caller, id).await?;
    state
        .store
        .set_domain_active(caller.account_id, d.id, active)
        .await?;
    if active {
        state.wake_issuer.notify_one();
    }
    Ok(())
}

/// `DELETE /domain/{id}`
pub async fn delete_domain(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let d = visible_domain(state, caller, id).await?;
    state.store.delete_domain(caller.account_id, d.id).await?;
    Ok(())
}

/// What `POST /domain` made.
pub struct AddedDomain {
    pub domain: Domain,
    /// Email DCV outside the sandbox: where the DCV emails (sent in the
    /// background) go.
    pub emails: Option<DcvAddresses>,
}

/// `POST /domain`: adds a domain to an organization the caller sees. A
/// token method gets its random value (and the poller is woken); email DCV
/// sends its emails in the background.
pub async fn add_domain(
    state: &std::sync::Arc<AppState>,
    caller: &Caller,
    d: NewDomain,
) -> Result<AddedDomain> {
    let org_id = d.organization_id;
    let org = state
        .store
        .get_organization(caller.account_id, org_id)
        .await?
        .ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_ORGANIZATION,
                format!(
                    "The field 'organization.id' names no organization in this account: {org_id}."
                ),
            )
        })?;
    if !crate::service::access::in_org_view(state, caller, org.container_id).await? {
        return Err(Error::bad_request(
            codes::INVALID_ORGANIZATION,
            format!("The field 'organization.id' names no organization in this account: {org_id}."),
        ));
    }
    let container_id = match d.container_id {
        Some(c) => {
            crate::service::access::check_container(state, caller, c, "container.id").await?
        }
        None if crate::service::access::sees_container(state, caller, org.container_id).await? => {
            org.container_id
        }
        None => caller.user.container_id,
    };
    let method = d.dcv_method;
    let kinds = d.validations.clone();
    let token = method.is_token().then(new_dcv_token).transpose()?;
    let (validated_at, validated_until) = crate::service::intake::sandbox_validated_until(state);
    let created = state
        .store
        .create_domain(
            caller.account_id,
            &NewDomainRow {
                container_id,
                organization_id: org.id,
                name: d.name.clone(),
                dcv_method: method,
                dcv_token: token.as_ref().map(|t| t.0.clone()),
                dcv_token_expires: token.as_ref().map(|t| t.1),
                validation_types: kinds,
                validated_at,
                validated_until,
            },
        )
        .await
        .map_err(|e| match e {
            certwell_store::StoreError::Conflict(
                certwell_store::Conflict::DomainExists { .. } | certwell_store::Conflict::Duplicate,
            ) => Error::bad_request(
                codes::DUPLICATE_DOMAIN,
                format!(
                    "The domain '{}' already exists for organization {}.",
                    d.name, org.id
                ),
            ),
            other => other.into(),
        })?;
    let mut emails = None;
    if token.is_some() {
        state.wake_dcv.notify_one();
    } else if !state.config.sandbox {
        emails = Some(dcv_addresses(state, &created).await);
        if let Err(e) = crate::service::outbox::queue_domain_emails(state, &[&created]).await {
            tracing::warn!(domain = %created.name, error = %e.message, "DCV emails not queued");
        }
    }
    Ok(AddedDomain {
        domain: created,
        emails,
    })
}

/// The names of an order (TLS names, or S/MIME address domains).
pub fn order_names(data: &OrderData) -> Vec<String> {
    match &data.plan {
        OrderPlan::Tls(p) => p.sans.clone(),
        OrderPlan::Smime(p) => crate::service::profile::email_domains(&p.emails),
    }
}

/// The organization's domains that cover `names`, each with the names.
pub async fn covering_domains(
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

/// What `GET /order/certificate/{id}/validation` shows.
pub struct OrderValidation {
    pub data: OrderData,
    /// The order's organization (none for mailbox-validated orders).
    pub organization: Option<Organization>,
    /// The domains covering the order's names, each with those names.
    pub domains: Vec<(Domain, Vec<String>)>,
}

pub async fn order_validation(state: &AppState, order: &Order) -> Result<OrderValidation> {
    let data = OrderData::from_order(order)?;
    let organization = if order.organization_id != 0 {
        state
            .store
            .get_organization(order.account_id, order.organization_id)
            .await?
    } else {
        None
    };
    let domains = covering_domains(state, order, &order_names(&data)).await?;
    Ok(OrderValidation {
        data,
        organization,
        domains,
    })
}

/// The outcome of `PUT /order/certificate/{id}/check-dcv`.
pub struct DcvCheck {
    pub order_status: OrderStatus,
    /// Set when the order is (now) issued.
    pub certificate_id: Option<i64>,
    /// Each checked name, and whether its domain is validated.
    pub names: Vec<(String, bool)>,
}

/// Checks the order's pending token domains now (only the names in `only`
/// when given), then issues the order if nothing else blocks it.
pub async fn check_order_dcv(
    state: &std::sync::Arc<AppState>,
    order: &Order,
    only: Option<&[String]>,
) -> Result<DcvCheck> {
    let data = OrderData::from_order(order)?;
    let mut names = order_names(&data);
    if let Some(only) = only {
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
    let covering = covering_domains(state, order, &names).await?;
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
    // Other orders waiting on a domain validated here move on once this
    // one has had its chance: the issuer is woken on the way out.
    let mut wake = crate::service::issuance::WakeIssuerOnDrop::new(state);
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
            match validation::check_domain(state, &d).await? {
                Ok(()) => {
                    wake.arm();
                    true
                }
                Err(f) => {
                    failure.get_or_insert(f.into());
                    false
                }
            }
        };
        results.extend(covered.into_iter().map(|n| (n, ok)));
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let mut check = DcvCheck {
        order_status: order.status,
        certificate_id: order.certificate_id,
        names: results,
    };
    if order.status == OrderStatus::Pending {
        // An explicit check re-reads CAA at once.
        if let Some(c) = order.certificate_id {
            state.caa_holds.release(c);
        }
        if let Some(cid) = try_issue_or_follow(state, order.account_id, order.id).await? {
            check.certificate_id = Some(cid);
            check.order_status = OrderStatus::Issued;
        } else if let Some(caa) = crate::service::issuance::caa_failure(
            state,
            &order.product_name_id,
            &order_names(&data),
        )
        .await
        {
            return Err(caa.into());
        }
    }
    Ok(check)
}

/// `caa_status_message` of order info (`include_caa_status=true`): per
/// name, whether CAA allows issuance; pending orders only.
pub async fn caa_status(state: &AppState, order: &Order) -> Result<Option<Vec<(String, String)>>> {
    if !matches!(
        order.status,
        OrderStatus::Pending | OrderStatus::NeedsApproval
    ) {
        return Ok(None);
    }
    let data = OrderData::from_order(order)?;
    let mut out = Vec::new();
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
        out.push((n, msg));
    }
    Ok(Some(out))
}

/// `PUT /order/certificate/{id}/dcv-random-value`: new random values for
/// the order's pending token domains; the domains with them.
pub async fn new_order_random_values(state: &AppState, order: &Order) -> Result<Vec<Domain>> {
    let data = OrderData::from_order(order)?;
    let mut domains = Vec::new();
    for (d, _) in covering_domains(state, order, &order_names(&data)).await? {
        if domain_validated(&d) || !d.dcv_method.is_token() {
            continue;
        }
        domains.push(renew_token(state, &d).await?);
    }
    if domains.is_empty() {
        return Err(Error::bad_request(
            codes::INVALID_DCV_METHOD,
            "The order has no pending domain that uses a random value.",
        ));
    }
    state.wake_dcv.notify_one();
    Ok(domains)
}

/// `POST /order/certificate/{id}/email-validation`: sends the validation
/// email again to the order's unvalidated addresses (all, or those in
/// `only`); the addresses it went to.
pub async fn resend_mailbox_emails(
    state: &AppState,
    order: &Order,
    only: Option<&[String]>,
) -> Result<Vec<String>> {
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
        if only.is_some_and(|only| !only.iter().any(|o| o.eq_ignore_ascii_case(&a.email))) {
            continue;
        }
        if validation::send_mailbox_email(state, order.account_id, order.id, &a.email).await? {
            sent.push(a.email.clone());
        }
    }
    Ok(sent)
}
