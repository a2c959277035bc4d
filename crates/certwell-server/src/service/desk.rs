//! The operator's validation desk and account administration: deciding
//! organization validations (recorded in the audit trail), validating
//! domains and mailboxes by hand, creating accounts. Called by the
//! `/operator/v1` routes and by the `certwell operator` CLI.

use crate::error::{Error, Result};
use crate::state::AppState;
use certwell_api::error::codes;
use certwell_policy::approval::Role;
use certwell_policy::organization::ValidationType;
use certwell_store::AccountSettings;

pub fn org_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_ORGANIZATION,
        "The specified organization was not found.",
    )
}

/// Marks an organization validated for `kind` (ov, ev, …) for the reuse
/// period, with an audit entry.
pub async fn validate_org(state: &AppState, org_id: i64, kind: ValidationType) -> Result<()> {
    decide(
        state,
        None,
        org_id,
        kind,
        &certwell_policy::organization::DeskDecision {
            approve: true,
            note: "validated by the operator".into(),
            verified_contacts: Vec::new(),
            registration_number: None,
        },
    )
    .await
}

/// The desk's decision on validation `kind` of organization `org_id` as
/// asked (`PUT /operator/v1/organization/{id}/validation/{type}`, or
/// `certwell operator decide`): checked against what the customer
/// submitted, then recorded.
pub async fn decide_on_input(
    state: &AppState,
    operator_key_id: Option<i64>,
    org_id: i64,
    kind: ValidationType,
    input: &certwell_api::organization::DeskDecisionInput,
) -> Result<()> {
    let org = state
        .store
        .get_organization_any(org_id)
        .await?
        .ok_or_else(org_not_found)?;
    let submitted_users = org
        .validations
        .iter()
        .any(|v| v.kind == kind && v.verified_users.is_some());
    let d = certwell_policy::organization::desk_decision(input, kind, submitted_users)?;
    decide(state, operator_key_id, org_id, kind, &d).await
}

/// Records a desk decision (and its audit entry); approvals last the
/// reuse period and wake the issuer, so waiting orders move on.
pub async fn decide(
    state: &AppState,
    operator_key_id: Option<i64>,
    org_id: i64,
    kind: ValidationType,
    d: &certwell_policy::organization::DeskDecision,
) -> Result<()> {
    state
        .store
        .get_organization_any(org_id)
        .await?
        .ok_or_else(org_not_found)?;
    let now = crate::clock::now();
    let contacts = (!d.verified_contacts.is_empty())
        .then(|| serde_json::to_value(&d.verified_contacts))
        .transpose()
        .map_err(|_| Error::internal("The verified contacts could not be recorded."))?;
    state
        .store
        .decide_org_validation(&certwell_store::OrgDecision {
            operator_key_id,
            organization_id: org_id,
            kind,
            approve: d.approve,
            validated_until: d
                .approve
                .then(|| crate::service::validation::organization_valid_until(state, now)),
            note: d.note.clone(),
            verified_contacts: contacts,
            registration_number: d.registration_number.clone(),
            at: now,
        })
        .await
        .map_err(|e| match e {
            certwell_store::StoreError::NotFound => Error::bad_request(
                codes::INVALID_VALIDATION_TYPE,
                format!("Organization {org_id} has no '{kind}' validation to reject."),
            ),
            other => other.into(),
        })?;
    tracing::info!(
        organization = org_id,
        kind = kind.as_str(),
        approve = d.approve,
        "organization validation decided"
    );
    if d.approve {
        state.wake_issuer.notify_one();
    }
    Ok(())
}

pub async fn validate_domain(state: &AppState, domain_id: i64) -> Result<()> {
    state
        .store
        .get_domain_any(domain_id)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                codes::NOT_FOUND_DOMAIN,
                "The specified domain was not found.",
            )
        })?;
    let now = crate::clock::now();
    state
        .store
        .set_domain_validated(
            domain_id,
            now,
            crate::service::validation::domain_valid_until(state, now),
        )
        .await?;
    state.wake_issuer.notify_one();
    Ok(())
}

/// Creates an account with an admin user and returns its first admin key.
pub async fn create_account(state: &AppState, name: &str) -> Result<(i64, String)> {
    let admin = certwell_store::NewUser {
        container_id: None,
        role: "admin".into(),
        first_name: "Account".into(),
        last_name: "Administrator".into(),
        email: "admin@certwell.invalid".into(),
        job_title: "Administrator".into(),
        telephone: String::new(),
        is_api_only: false,
    };
    let (account, user) = state
        .store
        .create_account(name, &AccountSettings::default(), &admin)
        .await?;
    let key = crate::init::new_api_key(
        state.store.as_ref(),
        Some(account.id),
        Some(user.id),
        Role::Admin,
        "admin",
    )
    .await?;
    Ok((account.id, key.secret))
}

/// Revokes an API key (NotFound: no such key).
pub async fn revoke_api_key(state: &AppState, id: i64) -> Result<()> {
    state.store.revoke_api_key(id).await?;
    tracing::info!(key = id, "API key revoked");
    Ok(())
}

/// Marks one address of a mailbox-validated order as validated.
pub async fn validate_order_email(state: &AppState, order_id: i64, email: &str) -> Result<()> {
    match state
        .store
        .set_order_email_validated(order_id, email.trim(), crate::clock::now())
        .await
    {
        Ok(()) => {}
        Err(certwell_store::StoreError::NotFound) => {
            return Err(Error::not_found(
                codes::NOT_FOUND,
                format!(
                    "Order {order_id} has no address '{email}' waiting for mailbox validation."
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    state.wake_issuer.notify_one();
    Ok(())
}
