//! Organization management beyond creation (api-surface.md §7.4–7.6):
//! activate / deactivate, submit for validation, validation details.

use certwell_store::ValidationStatus;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::error::codes;
use certwell_api::organization::ValidationInput;
use certwell_policy::organization::validation_request;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::service::access::{in_org_view, sees_container};
use crate::service::intake::sandbox_validated_until;
use crate::state::AppState;
use crate::views::org_validations;

fn org_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_ORGANIZATION,
        "The specified organization was not found.",
    )
}

async fn set_active(
    state: &AppState,
    caller: &Caller,
    id: &str,
    active: bool,
) -> Result<StatusCode> {
    let id = path_id(id, org_not_found)?;
    if !caller.role.can_approve() {
        return Err(Error::missing_permission(
            "activate or deactivate organizations (an administrator or manager key is required)",
        ));
    }
    let org = state
        .store
        .get_organization(caller.account_id, id)
        .await?
        .ok_or_else(org_not_found)?;
    if !sees_container(state, caller, org.container_id).await? {
        return Err(org_not_found());
    }
    match state
        .store
        .set_organization_active(caller.account_id, id, active)
        .await
    {
        Err(certwell_store::StoreError::NotFound) => Err(org_not_found()),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(StatusCode::NO_CONTENT),
    }
}

/// `PUT /organization/{id}/activate` → 204
pub async fn activate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    set_active(&state, &caller, &id, true).await
}

/// `PUT /organization/{id}/deactivate` → 204: the organization is never
/// matched by the duplicate check again and orders may not use it.
pub async fn deactivate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    set_active(&state, &caller, &id, false).await
}

#[derive(Debug, Default, Deserialize)]
pub struct SubmitBody {
    pub validations: Option<Vec<ValidationInput>>,
}

/// `POST /organization/{id}/validation` `{"validations":[{"type","verified_users"}]}`
/// → 204. Each type becomes `pending` for the validation desk (`active` at
/// once in sandbox mode); a type that is already active stays active.
pub async fn submit_validation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, org_not_found)?;
    let b: SubmitBody = parse_json(&body)?;
    let org = state
        .store
        .get_organization(caller.account_id, id)
        .await?
        .ok_or_else(org_not_found)?;
    if !sees_container(&state, &caller, org.container_id).await? {
        return Err(org_not_found());
    }
    let list = b
        .validations
        .filter(|l| !l.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("validations"))?;
    let requested = validation_request(&list)?;
    // Verified users given by id must be users of this account.
    for (i, r) in requested.iter().enumerate() {
        for (j, u) in r.verified_users.iter().enumerate() {
            if let Some(uid) = u.user_id {
                if crate::service::access::visible_user(&state, &caller, uid)
                    .await?
                    .is_none()
                {
                    return Err(Error::bad_request(
                        codes::INVALID_CONTACT,
                        format!("The field 'validations[{i}].verified_users[{j}].id' names no user in this account: {uid}."),
                    ));
                }
            }
        }
    }
    for r in &requested {
        let already = org
            .validations
            .iter()
            .any(|v| v.kind == r.kind && v.status == ValidationStatus::Active);
        if already {
            continue;
        }
        let (status, until) = if state.config.sandbox {
            (ValidationStatus::Active, sandbox_validated_until(&state).1)
        } else {
            (ValidationStatus::Pending, None)
        };
        let users = serde_json::to_value(&r.verified_users).unwrap_or(Value::Null);
        state
            .store
            .submit_org_validation(org.id, r.kind, status, until, &users)
            .await?;
    }
    if state.config.sandbox {
        state.wake_issuer.notify_one();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /organization/{id}/validation` → `{"validations":[…]}` (§7.5).
pub async fn validation_details(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, org_not_found)?;
    let org = state
        .store
        .get_organization(caller.account_id, id)
        .await?
        .ok_or_else(org_not_found)?;
    if !in_org_view(&state, &caller, org.container_id).await? {
        return Err(org_not_found());
    }
    Ok(Json(json!({"validations": org_validations(&org)})))
}

/// The routes of this module: organization activation and validation requests.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, put};
    axum::Router::new()
        .route("/organization/{id}/activate", put(activate))
        .route("/organization/{id}/deactivate", put(deactivate))
        .route(
            "/organization/{id}/validation",
            get(validation_details).post(submit_validation),
        )
}
