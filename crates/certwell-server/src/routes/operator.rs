//! `/operator/v1`: certwell's own administration and validation desk.
//! Operator keys are not bound to an account.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::error::codes;
use certwell_policy::approval::{ApprovalWorkflow, Role};
use certwell_policy::organization::{parse_validation_type, ValidationType};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Operator};
use crate::service::desk::{
    create_account, decide_on_input, org_not_found, validate_domain, validate_order_email,
    validate_org,
};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ValidateOrgBody {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `GET /operator/v1/validations`: organization validations waiting for
/// the desk, oldest first.
pub async fn list_pending(
    State(state): State<Arc<AppState>>,
    _op: Operator,
) -> Result<Json<Value>> {
    let list = state.store.pending_org_validations(1000).await?;
    Ok(Json(json!({"validations": list.iter().map(|p| {
        let mut v = json!({"account_id": p.account_id, "organization_id": p.organization_id,
            "organization_name": p.organization_name, "type": p.kind, "status": "pending",
            "date_created": crate::views::datetime(p.date_created)});
        if let Some(u) = &p.verified_users {
            v["verified_users"] = u.clone();
        }
        v
    }).collect::<Vec<_>>()})))
}

/// `PUT /operator/v1/organization/{id}/validation/{type}`
/// `{"decision":"approve"|"reject","note":"…","verified_contacts":[…]}` → 204
pub async fn put_decision(
    State(state): State<Arc<AppState>>,
    op: Operator,
    Path((id, kind)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, org_not_found)?;
    let input: certwell_api::organization::DeskDecisionInput = parse_json(&body)?;
    let kind = parse_validation_type(&kind.to_ascii_lowercase(), "type")?;
    decide_on_input(&state, Some(op.key_id), id, kind, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /operator/v1/validations/audit[?organization_id=N]`: decisions,
/// newest first.
pub async fn get_audit(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<Value>> {
    let q = crate::routes::query_map(raw.as_deref());
    let org = match q.get("organization_id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            Error::bad_request(
                codes::INVALID_FILTER,
                "The query parameter 'organization_id' must be an integer.",
            )
        })?),
    };
    let list = state.store.validation_audit(org, 1000).await?;
    Ok(Json(
        json!({"audit": list.iter().map(audit_json).collect::<Vec<_>>()}),
    ))
}

pub fn audit_json(a: &certwell_store::AuditEntry) -> Value {
    let mut v = json!({"id": a.id, "date": crate::views::datetime(a.at), "account_id": a.account_id,
        "organization_id": a.organization_id, "type": a.kind, "decision": a.decision,
        "note": a.note, "operator_key_id": a.operator_key_id});
    if let Some(c) = &a.verified_contacts {
        v["verified_contacts"] = c.clone();
    }
    v
}

/// `PUT /operator/v1/organization/{id}/validate` `{"type":"ov"}` → 204
pub async fn put_validate_org(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, || {
        Error::not_found(
            codes::NOT_FOUND_ORGANIZATION,
            "The specified organization was not found.",
        )
    })?;
    let b: ValidateOrgBody = parse_json(&body)?;
    let kind = match b.kind.as_deref() {
        Some(k) => parse_validation_type(k, "type")?,
        None => ValidationType::Ov,
    };
    validate_org(&state, id, kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /operator/v1/domain/{id}/validate` → 204
pub async fn put_validate_domain(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, || {
        Error::not_found(
            codes::NOT_FOUND_DOMAIN,
            "The specified domain was not found.",
        )
    })?;
    validate_domain(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccountBody {
    pub name: Option<String>,
}

/// `POST /operator/v1/accounts` `{"name"}` → 201 `{"id","admin_api_key"}`
pub async fn post_account(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: NewAccountBody = parse_json(&body)?;
    let name = b
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("name"))?;
    certwell_policy::error::check_len(name, "name", 128)?;
    let (id, key) = create_account(&state, name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "admin_api_key": key})),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewKeyBody {
    pub role: Option<String>,
    /// The container of the key's user (default: the account's root).
    pub container_id: Option<i64>,
}

/// `POST /operator/v1/accounts/{id}/api-keys` `{"role":"user"}` → 201
/// `{"api_key","key_id","user_id"}`
pub async fn post_api_key(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let not_found = || {
        Error::not_found(
            codes::NOT_FOUND_ACCOUNT,
            "The specified account was not found.",
        )
    };
    let id = path_id(&id, not_found)?;
    let b: NewKeyBody = parse_json(&body)?;
    let role = b.role.as_deref().unwrap_or("user");
    let role = Role::parse(role)
        .filter(|r| *r != Role::Operator)
        .ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_VALUE,
                "The field 'role' must be admin, manager or user.",
            )
        })?;
    state.store.get_account(id).await?.ok_or_else(not_found)?;
    if let Some(c) = b.container_id {
        if state.store.get_container(id, c).await?.is_none() {
            return Err(Error::bad_request(
                codes::INVALID_CONTAINER,
                format!("The field 'container_id' names no container of account {id}: {c}."),
            ));
        }
    }
    let (key, user_id) =
        crate::init::create_user_key(state.store.as_ref(), id, role, b.container_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"api_key": key.secret, "key_id": key.id, "user_id": user_id})),
    ))
}

/// `DELETE /operator/v1/api-keys/{id}` → 204: the key is refused from now
/// on, by every instance (their key caches follow the store's change
/// feed). Revoking a revoked key is a 204 too; an unknown id is 404.
pub async fn delete_api_key(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let not_found = || Error::not_found(codes::NOT_FOUND, "The specified API key was not found.");
    let id = path_id(&id, not_found)?;
    crate::service::desk::revoke_api_key(&state, id)
        .await
        .map_err(|e| match e.kind {
            crate::error::ErrorKind::NotFound => not_found(),
            _ => e,
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsBody {
    pub approval_workflow: Option<String>,
    /// product name id → "strict" | "multipurpose" (the product setting
    /// "default S/MIME profile").
    pub smime_default_profiles: Option<std::collections::BTreeMap<String, String>>,
    /// The vendor's "Require unique alternative order IDs".
    pub require_unique_alternative_order_id: Option<bool>,
    pub allow_guest_access: Option<bool>,
    /// Last four digits of the account's default card (payment_method
    /// `profile`); "" removes it.
    pub default_card_last_four: Option<String>,
    /// "2000.00": how far the balance may go below zero.
    pub negative_balance_limit: Option<String>,
    pub unlimited_negative_balance: Option<bool>,
}

/// `PUT /operator/v1/accounts/{id}/settings` `{"approval_workflow":"two_step"}` → 204
pub async fn put_settings(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let not_found = || {
        Error::not_found(
            codes::NOT_FOUND_ACCOUNT,
            "The specified account was not found.",
        )
    };
    let id = path_id(&id, not_found)?;
    let b: SettingsBody = parse_json(&body)?;
    let mut account = state.store.get_account(id).await?.ok_or_else(not_found)?;
    if let Some(w) = b.approval_workflow {
        let w = ApprovalWorkflow::parse(&w).ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_VALUE,
                "The field 'approval_workflow' must be one_step, two_step or auto_approve.",
            )
        })?;
        account.settings.approval_workflow = w.as_str().to_string();
    }
    for (product, profile) in b.smime_default_profiles.iter().flatten() {
        let field = format!("smime_default_profiles.{product}");
        let p = certwell_policy::catalog::find_product(product)
            .filter(|p| p.family == certwell_policy::catalog::Family::SecureEmail)
            .ok_or_else(|| {
                Error::bad_request(
                    codes::INVALID_VALUE,
                    format!("The field '{field}' must name a secure_email_* product."),
                )
            })?;
        let g = certwell_policy::smime::Generation::parse(profile).ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_PROFILE_TYPE,
                format!("The field '{field}' must be 'strict' or 'multipurpose'; got '{profile}'."),
            )
        })?;
        account
            .settings
            .smime_default_profiles
            .insert(p.name_id.to_string(), g.as_str().to_string());
    }
    if let Some(v) = b.require_unique_alternative_order_id {
        account.settings.require_unique_alternative_order_id = v;
    }
    if let Some(v) = b.allow_guest_access {
        account.settings.allow_guest_access = v;
    }
    if let Some(v) = b.default_card_last_four {
        let v = v.trim().to_string();
        if !(v.is_empty() || (v.len() == 4 && v.bytes().all(|c| c.is_ascii_digit()))) {
            return Err(Error::bad_request(
                codes::INVALID_VALUE,
                "The field 'default_card_last_four' must be four digits (or empty to remove the card).",
            ));
        }
        account.settings.default_card_last_four = (!v.is_empty()).then_some(v);
    }
    if b.negative_balance_limit.is_some() || b.unlimited_negative_balance.is_some() {
        let current = state.store.balance(id).await?;
        let limit = match &b.negative_balance_limit {
            Some(l) => certwell_policy::payment::parse_money(l)
                .filter(|c| *c >= 0)
                .ok_or_else(|| {
                    Error::bad_request(
                        codes::INVALID_VALUE,
                        "The field 'negative_balance_limit' must be an amount like 2000.00.",
                    )
                })?,
            None => current.negative_limit_cents,
        };
        let unlimited = b
            .unlimited_negative_balance
            .unwrap_or(b.negative_balance_limit.is_none() && current.unlimited_negative);
        state.store.set_negative_limit(id, limit, unlimited).await?;
    }
    state
        .store
        .update_account_settings(id, &account.settings)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct DepositBody {
    /// "250.00"; negative takes money away.
    pub amount: Option<String>,
    pub note: Option<String>,
}

/// `POST /operator/v1/accounts/{id}/balance` `{"amount":"250.00"}` →
/// 200 `{"balance":"…"}`: adds funds to an account (a deposit).
pub async fn post_deposit(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>> {
    let not_found = || {
        Error::not_found(
            codes::NOT_FOUND_ACCOUNT,
            "The specified account was not found.",
        )
    };
    let id = path_id(&id, not_found)?;
    let b: DepositBody = parse_json(&body)?;
    let cents = b
        .amount
        .as_deref()
        .and_then(certwell_policy::payment::parse_money)
        .ok_or_else(|| {
            Error::bad_request(
                codes::INVALID_VALUE,
                "The field 'amount' must be an amount like 250.00.",
            )
        })?;
    let balance = match state
        .store
        .deposit(id, cents, b.note.as_deref().unwrap_or("deposit"))
        .await
    {
        Err(certwell_store::StoreError::NotFound) => return Err(not_found()),
        other => other?,
    };
    Ok(Json(
        serde_json::json!({"balance": certwell_policy::payment::format_money(balance)}),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ValidateEmailBody {
    pub email: Option<String>,
}

/// `PUT /operator/v1/order/{id}/email-validation` `{"email": "a@example.com"}` → 204
pub async fn put_validate_order_email(
    State(state): State<Arc<AppState>>,
    _op: Operator,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, Error::order_not_found)?;
    let b: ValidateEmailBody = parse_json(&body)?;
    let email = b
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("email"))?;
    validate_order_email(&state, id, email).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module: certwell's own administration (`/operator/v1`).
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/organization/{id}/validate", put(put_validate_org))
        .route("/domain/{id}/validate", put(put_validate_domain))
        .route("/validations", get(list_pending))
        .route("/validations/audit", get(get_audit))
        .route("/organization/{id}/validation/{type}", put(put_decision))
        .route("/accounts", post(post_account))
        .route("/accounts/{id}/api-keys", post(post_api_key))
        .route("/api-keys/{id}", axum::routing::delete(delete_api_key))
        .route("/accounts/{id}/settings", put(put_settings))
        .route("/accounts/{id}/balance", post(post_deposit))
        .route(
            "/order/{id}/email-validation",
            put(put_validate_order_email),
        )
}
