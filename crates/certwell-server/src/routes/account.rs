//! `/user`, `/user/me` and `/account`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::account::{KeyRequest, RoleRequest, StatusRequest, UserEditRequest, UserRequest};
use certwell_api::error::codes;
use certwell_policy::approval::Role;
use certwell_store::{NewUser, User, UserStatus};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::routes::query_map;
use crate::service::access::visible;
use crate::service::users;
use crate::state::AppState;

/// A user as `GET /user/{id}` shows it.
async fn user_json(state: &AppState, u: &User) -> Result<Value> {
    let container = state
        .store
        .get_container(u.account_id, u.container_id)
        .await?;
    let (role_id, role_name) = Role::parse(&u.role).unwrap_or(Role::User).access_role();
    Ok(json!({
        "id": u.id,
        "username": u.email,
        "account_id": u.account_id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "email": u.email,
        "job_title": u.job_title,
        "telephone": u.telephone,
        "status": u.status.as_str(),
        "is_api_only": u.is_api_only,
        "container": container.map(|c| json!({"id": c.id, "name": c.name,
            "parent_id": c.parent_id.unwrap_or(0), "is_active": true})),
        "access_roles": [{"id": role_id, "name": role_name}],
        "is_cert_central": true,
        "is_enterprise": true,
        "is_saml_sso_only": false,
        "type": if u.is_api_only { "service" } else { "standard" },
        "has_container_assignments": false,
    }))
}

/// `GET /user?container_id=&offset=&limit=`: the users in containers the
/// caller sees.
pub async fn list_users(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let only = match q.get("container_id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            Error::bad_request(
                codes::INVALID_FILTER,
                "The query parameter 'container_id' must be an integer.",
            )
        })?),
    };
    let seen: Vec<i64> = visible(&state, &caller)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let users: Vec<User> = state
        .store
        .list_users(caller.account_id)
        .await?
        .into_iter()
        .filter(|u| {
            u.status != UserStatus::Deleted
                && seen.contains(&u.container_id)
                && only.is_none_or(|c| c == u.container_id)
        })
        .collect();
    let total = users.len();
    let mut items = Vec::new();
    for u in users.iter().skip(offset as usize).take(limit as usize) {
        items.push(user_json(&state, u).await?);
    }
    Ok(Json(json!({"users": items,
        "page": {"total": total, "limit": limit, "offset": offset}})))
}

/// `GET /user/{id}`: 404 for users outside the caller's containers.
pub async fn user_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, users::user_not_found)?;
    let u = users::visible_user(&state, &caller, id).await?;
    Ok(Json(user_json(&state, &u).await?))
}

/// `PUT /user/{id}` ("Edit user") → 204.
pub async fn edit_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, users::user_not_found)?;
    let req: UserEditRequest = parse_json(&body)?;
    users::edit_user(&state, &caller, id, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /user/{id}` → 204.
pub async fn delete_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, users::user_not_found)?;
    users::delete_user(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /user/{id}/role` ("Change user role") → 204.
pub async fn change_role(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, users::user_not_found)?;
    let req: RoleRequest = parse_json(&body)?;
    users::change_role(&state, &caller, id, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /user/{id}/status` `{"status":"active"|"inactive"}` → 204.
pub async fn user_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, users::user_not_found)?;
    let req: StatusRequest = parse_json(&body)?;
    users::set_status(&state, &caller, id, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /key`: `{"api_keys":[…]}`.
pub async fn list_keys(State(state): State<Arc<AppState>>, caller: Caller) -> Result<Json<Value>> {
    let keys = users::list_keys(&state, &caller).await?;
    Ok(Json(json!({"api_keys": keys
        .iter()
        .map(|(k, u)| crate::views::api_key_json(k, u.as_ref()))
        .collect::<Vec<_>>()})))
}

/// `POST /key/user/{user_id}` ("Create key") → 201 `{"id","api_key"}`.
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let user_id = path_id(&user_id, users::user_not_found)?;
    let req: KeyRequest = parse_json(&body)?;
    let key = users::create_key(&state, &caller, user_id, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": key.id, "api_key": key.secret})),
    ))
}

/// `PUT /key/{id}/status` `{"status":"revoked"}` → 204.
pub async fn key_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, users::key_not_found)?;
    let req: StatusRequest = parse_json(&body)?;
    users::set_key_status(&state, &caller, id, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /user` (administrators): 201 `{"id", "api_key"}`; the key is
/// shown once and stored hashed.
pub async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    if caller.role != Role::Admin {
        return Err(Error::missing_permission(
            "create users (an administrator key is required)",
        ));
    }
    let req: UserRequest = parse_json(&body)?;
    if req.is_api_only == Some(true) {
        let (user, key) = users::create_service_user(&state, &caller, &req).await?;
        return Ok((
            StatusCode::CREATED,
            Json(json!({"id": user.id, "api_key": key.secret})),
        ));
    }
    let u = certwell_policy::account::validate_new_user(&req)?;
    let container_id = match u.container_id {
        None => caller.user.container_id,
        Some(c) => {
            crate::service::access::check_container(&state, &caller, c, "container.id").await?
        }
    };
    let new = NewUser {
        container_id: Some(container_id),
        role: u.role.as_str().to_string(),
        first_name: u.first_name,
        last_name: u.last_name,
        email: u.email,
        job_title: u.job_title,
        telephone: u.telephone,
        is_api_only: false,
    };
    let (key, user) = crate::init::create_user_with_key(
        state.store.as_ref(),
        caller.account_id,
        u.role,
        &new,
        crate::init::KeyLimits {
            restriction: caller.restriction,
            expires_at: None,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "api_key": key.secret})),
    ))
}

/// `GET /user/me`: the key's user, with the key's role.
pub async fn user_me(State(state): State<Arc<AppState>>, caller: Caller) -> Result<Json<Value>> {
    let mut v = user_json(&state, &caller.user).await?;
    let (role_id, role_name) = caller.role.access_role();
    v["access_roles"] = json!([{"id": role_id, "name": role_name}]);
    Ok(Json(v))
}

/// `GET /account`
pub async fn account(State(state): State<Arc<AppState>>, caller: Caller) -> Result<Json<Value>> {
    let a = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(Error::forbidden_invalid_key)?;
    let (orgs, _) = state
        .store
        .list_organizations(caller.account_id, Default::default(), 1, 0)
        .await?;
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "make_renewal_calls": false,
        "express_install_enabled": false,
        "balance_negative_limit": 0,
        "root_container_id": a.root_container_id,
        "cert_transparency": "embed",
        "cert_central_type": "enterprise",
        "billing_account_id": a.id,
        "billing_account_name": a.name,
        "language_id": 1,
        "migrated": false,
        "has_auth_key": false,
        "approval_workflow": a.settings.approval_workflow,
    });
    if let Some(o) = orgs.first() {
        v["primary_organization_id"] = json!(o.id);
        v["primary_organization_name"] = json!(o.name);
        if let Some(d) = crate::views::org_data(o) {
            v["primary_organization_country"] = json!(d.country);
        }
    }
    Ok(Json(v))
}

/// `GET /finance/balance`
pub async fn get_balance(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>> {
    Ok(Json(
        crate::service::billing::balance(&state, &caller).await?,
    ))
}

/// The routes of this module: the account, its users and balance.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/finance/balance", get(get_balance))
        .route("/user/me", get(user_me))
        .route("/user", get(list_users).post(create_user))
        .route(
            "/user/{id}",
            get(user_info).put(edit_user).delete(delete_user),
        )
        .route("/user/{id}/role", put(change_role))
        .route("/user/{id}/status", put(user_status))
        .route("/key", get(list_keys))
        .route("/key/user/{user_id}", post(create_key))
        .route("/key/{id}/status", put(key_status))
        .route("/account", get(account))
}
