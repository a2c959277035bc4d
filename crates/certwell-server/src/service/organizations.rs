//! Organizations as an account creates them.

use certwell_policy::organization::NewOrganization;
use certwell_store::{NewOrganizationRow, Organization};
use serde_json::Value;

use crate::error::Result;
use crate::extract::Caller;
use crate::service::access::check_container;
use crate::service::intake::initial_validations;
use crate::state::AppState;

/// `POST /organization`: stores the organization in the caller's container
/// (or the one named, if the caller sees it). In the sandbox every
/// validation type is active at once; otherwise the requested ones wait
/// for the validation desk.
pub async fn create_organization(
    state: &AppState,
    caller: &Caller,
    org: NewOrganization,
) -> Result<Organization> {
    let container_id = match org.container_id {
        Some(c) => check_container(state, caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    let created = state
        .store
        .create_organization(
            caller.account_id,
            &NewOrganizationRow {
                container_id,
                name: org.name.clone(),
                assumed_name: org.assumed_name.clone(),
                data: serde_json::to_value(&org).unwrap_or(Value::Null),
                validations: initial_validations(state, &org.validations),
            },
        )
        .await?;
    Ok(created)
}
