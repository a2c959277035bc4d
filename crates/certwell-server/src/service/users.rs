//! The users of an account and their API keys: editing a profile,
//! changing a role, deactivating and deleting users, service (API-only)
//! users, and keys with a role restriction and an expiry, listed with
//! their last use and revoked at once. Used by the `/user` and `/key`
//! routes.

use certwell_api::account::{KeyRequest, RoleRequest, StatusRequest, UserEditRequest, UserRequest};
use certwell_api::error::codes;
use certwell_policy::account::{
    validate_key_status, validate_new_key, validate_new_service_user, validate_role_change,
    validate_user_edit, validate_user_status,
};
use certwell_policy::approval::{KeyRestriction, Role};
use certwell_store::{ApiKey, NewUser, User, UserContactUpdate, UserStatus};

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::init::{KeyLimits, NewKey};
use crate::service::access::sees_container;
use crate::state::AppState;

pub fn user_not_found() -> Error {
    Error::not_found(codes::NOT_FOUND, "The specified user was not found.")
}

pub fn key_not_found() -> Error {
    Error::not_found(codes::NOT_FOUND, "The specified API key was not found.")
}

/// The restriction of a key made by `caller`: a restricted key only
/// makes keys restricted as it is (it cannot mint itself more power).
fn restriction_for(caller: &Caller, wanted: KeyRestriction) -> Result<KeyRestriction> {
    if caller.restriction == KeyRestriction::None || caller.restriction == wanted {
        return Ok(wanted);
    }
    Err(Error::bad_request(
        codes::INVALID_ACCESS_ROLE,
        format!(
            "A key restricted to '{}' (restricted_to_role_id {}) makes keys with that restriction only.",
            caller.restriction.name(),
            caller.restriction.id()
        ),
    ))
}

fn admin_only(caller: &Caller, what: &str) -> Result<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::missing_permission(&format!(
            "{what} (an administrator key is required)"
        )))
    }
}

/// A user of the caller's account in a container it sees; deleted users
/// are gone (404).
pub async fn visible_user(state: &AppState, caller: &Caller, id: i64) -> Result<User> {
    let u = state
        .store
        .get_user(caller.account_id, id)
        .await?
        .filter(|u| u.status != UserStatus::Deleted)
        .ok_or_else(user_not_found)?;
    if !sees_container(state, caller, u.container_id).await? {
        return Err(user_not_found());
    }
    Ok(u)
}

/// Refuses a change that would leave the account without an active
/// administrator.
async fn keep_an_admin(state: &AppState, caller: &Caller, leaving: &User) -> Result<()> {
    if leaving.role != Role::Admin.as_str() {
        return Ok(());
    }
    let others = state
        .store
        .list_users(caller.account_id)
        .await?
        .into_iter()
        .filter(|u| {
            u.id != leaving.id && u.role == Role::Admin.as_str() && u.status == UserStatus::Active
        })
        .count();
    if others == 0 {
        return Err(Error::bad_request(
            codes::INVALID_ACCESS_ROLE,
            format!(
                "User {} is the account's last active administrator; make another user an administrator first.",
                leaving.id
            ),
        ));
    }
    Ok(())
}

/// `PUT /user/{id}`: administrators and managers edit the users they see;
/// anyone edits their own profile.
pub async fn edit_user(
    state: &AppState,
    caller: &Caller,
    id: i64,
    req: &UserEditRequest,
) -> Result<()> {
    let u = visible_user(state, caller, id).await?;
    if u.id != caller.user.id && !caller.role.can_approve() {
        return Err(Error::missing_permission(
            "edit other users (an administrator or manager key is required)",
        ));
    }
    let e = validate_user_edit(req, u.is_api_only)?;
    let update = if u.is_api_only {
        UserContactUpdate {
            email: Some(e.email),
            ..Default::default()
        }
    } else {
        UserContactUpdate {
            first_name: e.first_name,
            last_name: e.last_name,
            email: Some(e.email),
            job_title: Some(e.job_title),
            telephone: Some(e.telephone),
        }
    };
    state
        .store
        .update_user_contact(caller.account_id, id, &update)
        .await?;
    Ok(())
}

/// `PUT /user/{id}/role` (administrators).
pub async fn change_role(
    state: &AppState,
    caller: &Caller,
    id: i64,
    req: &RoleRequest,
) -> Result<()> {
    admin_only(caller, "change a user's role")?;
    let u = visible_user(state, caller, id).await?;
    let role = validate_role_change(req)?;
    if role != Role::Admin {
        keep_an_admin(state, caller, &u).await?;
    }
    state
        .store
        .set_user_role(caller.account_id, id, role.as_str())
        .await?;
    Ok(())
}

/// `PUT /user/{id}/status` (administrators): an inactive user's keys are
/// refused until it is active again.
pub async fn set_status(
    state: &AppState,
    caller: &Caller,
    id: i64,
    req: &StatusRequest,
) -> Result<()> {
    admin_only(caller, "activate or deactivate users")?;
    let u = visible_user(state, caller, id).await?;
    let status = validate_user_status(req)?;
    if status == UserStatus::Inactive {
        if u.id == caller.user.id {
            return Err(Error::bad_request(
                codes::INVALID_STATUS,
                "A user cannot deactivate itself.",
            ));
        }
        keep_an_admin(state, caller, &u).await?;
    }
    state
        .store
        .set_user_status(caller.account_id, id, status)
        .await?;
    Ok(())
}

/// `DELETE /user/{id}` (administrators): the user is gone from every list
/// and its keys are revoked; its orders keep naming it.
pub async fn delete_user(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    admin_only(caller, "delete users")?;
    let u = visible_user(state, caller, id).await?;
    if u.id == caller.user.id {
        return Err(Error::bad_request(
            codes::INVALID_STATUS,
            "A user cannot delete itself.",
        ));
    }
    keep_an_admin(state, caller, &u).await?;
    state
        .store
        .set_user_status(caller.account_id, id, UserStatus::Deleted)
        .await?;
    Ok(())
}

/// `POST /user` with `is_api_only` (administrators): a service user, acting
/// as an administrator through its one key, narrowed by the key's role.
pub async fn create_service_user(
    state: &AppState,
    caller: &Caller,
    req: &UserRequest,
) -> Result<(User, NewKey)> {
    admin_only(caller, "create users")?;
    let s = validate_new_service_user(req)?;
    let restriction = restriction_for(caller, s.restriction)?;
    let container_id = match s.container_ids.as_slice() {
        [] => caller.user.container_id,
        [one] => {
            crate::service::access::check_container(
                state,
                caller,
                *one,
                "container_id_assignments[0]",
            )
            .await?
        }
        _ => {
            return Err(Error::bad_request(
                codes::INVALID_CONTAINER,
                "The field 'container_id_assignments' may name one container: a certwell user belongs to one container (and sees those below it).",
            ))
        }
    };
    let user = state
        .store
        .create_user(
            caller.account_id,
            &NewUser {
                container_id: Some(container_id),
                role: Role::Admin.as_str().into(),
                first_name: s.api_name.clone(),
                last_name: "Service user".into(),
                email: s.email,
                job_title: String::new(),
                telephone: String::new(),
                is_api_only: true,
            },
        )
        .await?;
    let key = crate::init::new_api_key_with(
        state.store.as_ref(),
        Some(caller.account_id),
        Some(user.id),
        Role::Admin,
        &s.api_name,
        KeyLimits {
            restriction,
            expires_at: None,
        },
    )
    .await?;
    Ok((user, key))
}

/// `GET /key`: an administrator sees every key of the account, anyone
/// else the keys of its own user; each with its user.
pub async fn list_keys(state: &AppState, caller: &Caller) -> Result<Vec<(ApiKey, Option<User>)>> {
    let users = state.store.list_users(caller.account_id).await?;
    Ok(state
        .store
        .list_api_keys(caller.account_id)
        .await?
        .into_iter()
        .filter(|k| caller.role == Role::Admin || k.user_id == Some(caller.user.id))
        .map(|k| {
            let u = users.iter().find(|u| Some(u.id) == k.user_id).cloned();
            (k, u)
        })
        .collect())
}

/// `POST /key/user/{user_id}`: administrators create keys for the users
/// they see, anyone for itself. The key acts with the user's role.
pub async fn create_key(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    req: &KeyRequest,
) -> Result<NewKey> {
    let u = visible_user(state, caller, user_id).await?;
    if u.id != caller.user.id {
        admin_only(caller, "create keys for other users")?;
    }
    let k = validate_new_key(req, crate::clock::now())?;
    let role = Role::parse(&u.role).ok_or_else(|| Error::internal("unknown user role"))?;
    crate::init::new_api_key_with(
        state.store.as_ref(),
        Some(caller.account_id),
        Some(u.id),
        role,
        &k.name,
        KeyLimits {
            restriction: restriction_for(caller, k.restriction)?,
            expires_at: k.expires_at,
        },
    )
    .await
}

/// `PUT /key/{id}/status` `{"status":"revoked"}`: administrators revoke any
/// key of the account, anyone its own; refused from the next request on
/// (every instance within a second).
pub async fn set_key_status(
    state: &AppState,
    caller: &Caller,
    key_id: i64,
    req: &StatusRequest,
) -> Result<()> {
    let key = state
        .store
        .list_api_keys(caller.account_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .filter(|k| caller.role == Role::Admin || k.user_id == Some(caller.user.id))
        .ok_or_else(key_not_found)?;
    match (validate_key_status(req)?, key.revoked) {
        (true, false) => {
            state.store.revoke_api_key(key.id).await?;
            Ok(())
        }
        (true, true) | (false, false) => Ok(()),
        (false, true) => Err(Error::bad_request(
            codes::INVALID_STATUS_TRANSITION,
            "A revoked key cannot be made active again; create a new key.",
        )),
    }
}
