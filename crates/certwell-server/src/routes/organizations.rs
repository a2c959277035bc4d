//! `/organization` and `/domain` (creation, lists, info).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use certwell_api::error::codes;
use certwell_api::organization::{DomainInput, OrganizationInput};
use certwell_policy::organization::{validate_new_domain, validate_new_organization};
use certwell_store::{NewDomainRow, NewOrganizationRow};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{paging, parse_json, path_id, Caller};
use crate::routes::{paged, query_map};
use crate::service::access::check_container;
use crate::service::access::{in_org_view, org_view, sees_container};
use crate::service::intake::{initial_validations, sandbox_validated_until, ALL_ORG_VALIDATIONS};
use crate::state::AppState;
use crate::token::new_dcv_token;
use crate::views::{domain_json, organization_json};

fn org_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_ORGANIZATION,
        "The specified organization was not found.",
    )
}

fn domain_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND_DOMAIN,
        "The specified domain was not found.",
    )
}

async fn container_name(state: &AppState, account_id: i64, id: i64) -> Result<String> {
    Ok(state
        .store
        .get_container(account_id, id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default())
}

/// `POST /organization` → 201 `{"id"}`
pub async fn create_organization(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let input: OrganizationInput = parse_json(&body)?;
    let org = validate_new_organization(&input, "")?;
    let container_id = match org.container_id {
        Some(c) => check_container(&state, &caller, c, "container.id").await?,
        None => caller.user.container_id,
    };
    let kinds: Vec<String> = if state.config.sandbox {
        ALL_ORG_VALIDATIONS.iter().map(|s| s.to_string()).collect()
    } else {
        org.validations.clone()
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
                validations: initial_validations(&state, &kinds),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": created.id}))))
}

/// `GET /organization`
pub async fn list_organizations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let status = q.get("filters[status]").map(|s| s.to_ascii_lowercase());
    if let Some(st) = &status {
        if st != "active" && st != "inactive" {
            return Err(Error::bad_request(
                codes::INVALID_VALUE,
                format!("The filter 'filters[status]' must be active or inactive; got '{st}'."),
            ));
        }
    }
    let container = match q.get("container_id") {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            Error::bad_request(
                codes::INVALID_VALUE,
                format!("The parameter 'container_id' must be a number; got '{c}'."),
            )
        })?),
        None => None,
    };
    let filter = certwell_store::OrgFilter {
        active: status.as_deref().map(|s| s == "active"),
        container_id: container,
        container_ids: org_view(&state, &caller).await?,
    };
    let (orgs, total) = state
        .store
        .list_organizations(caller.account_id, filter, limit, offset)
        .await?;
    let mut items = Vec::new();
    for o in &orgs {
        let cname = container_name(&state, caller.account_id, o.container_id).await?;
        items.push(organization_json(o, &cname));
    }
    Ok(Json(paged("organizations", items, total, limit, offset)))
}

/// `GET /organization/{id}`
pub async fn organization_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, org_not_found)?;
    let o = state
        .store
        .get_organization(caller.account_id, id)
        .await?
        .ok_or_else(org_not_found)?;
    if !in_org_view(&state, &caller, o.container_id).await? {
        return Err(org_not_found());
    }
    let cname = container_name(&state, caller.account_id, o.container_id).await?;
    Ok(Json(organization_json(&o, &cname)))
}

/// `POST /domain` → 201 `{"id"}` (+ `dcv_token` for token methods)
pub async fn create_domain(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let input: DomainInput = parse_json(&body)?;
    let d = validate_new_domain(&input)?;
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
    if !in_org_view(&state, &caller, org.container_id).await? {
        return Err(Error::bad_request(
            codes::INVALID_ORGANIZATION,
            format!("The field 'organization.id' names no organization in this account: {org_id}."),
        ));
    }
    let container_id = match d.container_id {
        Some(c) => check_container(&state, &caller, c, "container.id").await?,
        None if sees_container(&state, &caller, org.container_id).await? => org.container_id,
        None => caller.user.container_id,
    };
    let method = d.dcv_method;
    let kinds = d.validations.clone();
    let token = method.is_token().then(new_dcv_token).transpose()?;
    let (validated_at, validated_until) = sandbox_validated_until(&state);
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
    let mut out = json!({"id": created.id});
    if token.is_some() {
        out["dcv_token"] = json!(crate::service::intake::dcv_token_json(&state, &created));
        state.wake_dcv.notify_one();
    } else if !state.config.sandbox {
        // email: the DCV emails go out now; the response names the addresses
        let (base, txt) = crate::service::validation::dcv_addresses(&state, &created).await;
        out["validation_emails"] = crate::routes::dcv::validation_emails(&created, &base, &txt);
        let (state, d) = (Arc::clone(&state), created.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::service::validation::send_domain_emails(&state, &d).await {
                tracing::warn!(domain = %d.name, error = %e.message, "DCV emails not sent");
            }
        });
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /domain`
pub async fn list_domains(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = query_map(raw.as_deref());
    let (limit, offset) = paging(&q)?;
    let org_filter = match q.get("filters[organization_id]") {
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            Error::bad_request(
                codes::INVALID_FILTER,
                "The filter 'organization_id' must be an integer.",
            )
        })?),
        None => None,
    };
    let (domains, total) = state
        .store
        .list_domains(
            caller.account_id,
            org_filter,
            org_view(&state, &caller).await?.as_deref(),
            limit,
            offset,
        )
        .await?;
    let mut items = Vec::new();
    for d in &domains {
        let org = state
            .store
            .get_organization(caller.account_id, d.organization_id)
            .await?;
        let cname = container_name(&state, caller.account_id, d.container_id).await?;
        items.push(with_dcv_token(
            &state,
            d,
            domain_json(d, org.as_ref(), &cname),
        ));
    }
    Ok(Json(paged("domains", items, total, limit, offset)))
}

/// `GET /domain/{id}`
pub async fn domain_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, domain_not_found)?;
    let d = state
        .store
        .get_domain(caller.account_id, id)
        .await?
        .ok_or_else(domain_not_found)?;
    if !in_org_view(&state, &caller, d.container_id).await? {
        return Err(domain_not_found());
    }
    let org = state
        .store
        .get_organization(caller.account_id, d.organization_id)
        .await?;
    let cname = container_name(&state, caller.account_id, d.container_id).await?;
    Ok(Json(with_dcv_token(
        &state,
        &d,
        domain_json(&d, org.as_ref(), &cname),
    )))
}

/// The random value as the DCV endpoints show it (CNAME target domain or
/// HTTP file URL included).
fn with_dcv_token(state: &AppState, d: &certwell_store::Domain, mut v: Value) -> Value {
    if let Some(t) = crate::service::intake::dcv_token_json(state, d) {
        v["dcv_token"] = json!(t);
    }
    v
}

/// The routes of this module: organizations and domains.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/organization",
            get(list_organizations).post(create_organization),
        )
        .route("/organization/{id}", get(organization_info))
        .route("/domain", get(list_domains).post(create_domain))
        .route("/domain/{id}", get(domain_info).delete(super::dcv::delete))
}
