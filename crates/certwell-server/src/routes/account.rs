//! `/user/me` and `/account`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::state::AppState;

/// `GET /user/me`
pub async fn user_me(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let u = &caller.user;
    let container = state
        .store
        .get_container(caller.account_id, u.container_id)
        .await?;
    let (role_id, role_name) = caller.role.access_role();
    Ok(Json(json!({
        "id": u.id,
        "username": u.email,
        "account_id": caller.account_id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "email": u.email,
        "job_title": u.job_title,
        "telephone": u.telephone,
        "status": "active",
        "container": container.map(|c| json!({"id": c.id, "name": c.name,
            "parent_id": c.parent_id.unwrap_or(0), "is_active": true})),
        "access_roles": [{"id": role_id, "name": role_name}],
        "is_cert_central": true,
        "is_enterprise": true,
        "is_saml_sso_only": false,
        "type": "standard",
        "has_container_assignments": false,
    })))
}

/// `GET /account`
pub async fn account(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let a = state
        .store
        .get_account(caller.account_id)
        .await?
        .ok_or_else(ApiError::forbidden_invalid_key)?;
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
