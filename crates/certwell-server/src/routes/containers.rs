//! Containers (`GET /container`, `GET /container/{id}`,
//! `POST /container/{id}/children`) and custom order fields
//! (`/account/metadata`), api-surface.md §9.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_policy::account::check_metadata_definition;
use certwell_store::{Container, MetadataField, NewMetadataField};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::{parse_json, path_id, Caller};
use crate::service::access::{admin_only, container_not_found, visible};
use crate::state::AppState;

fn container_json(c: &Container) -> Value {
    let mut v = json!({"id": c.id, "name": c.name, "parent_id": c.parent_id.unwrap_or(0),
        "is_active": true});
    if !c.description.is_empty() {
        v["description"] = json!(c.description);
    }
    v
}

/// `GET /container`
pub async fn list_containers(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>> {
    let list = visible(&state, &caller).await?;
    Ok(Json(
        json!({"containers": list.iter().map(container_json).collect::<Vec<_>>()}),
    ))
}

/// `GET /container/{id}`: 404 for a container the caller does not see.
pub async fn container_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let id = path_id(&id, container_not_found)?;
    let c = visible(&state, &caller)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(container_not_found)?;
    let mut v = container_json(&c);
    let users = state.store.list_users(caller.account_id).await?;
    v["user_id_assignments"] = json!(users
        .iter()
        .filter(|u| u.container_id == c.id)
        .map(|u| u.id.to_string())
        .collect::<Vec<_>>());
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewContainerBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub template_id: Option<i64>,
}

/// `POST /container/{id}/children` `{"name", "description"}` → 201 `{"id"}`.
pub async fn create_child(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let parent = path_id(&id, container_not_found)?;
    admin_only(&caller, "create containers")?;
    let b: NewContainerBody = parse_json(&body)?;
    let name = b
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| certwell_policy::PolicyError::missing("name"))?;
    certwell_policy::error::check_len(name, "name", 128)?;
    certwell_policy::error::check_printable(name, "name")?;
    let description = b.description.as_deref().map(str::trim).unwrap_or("");
    certwell_policy::error::check_len(description, "description", 512)?;
    if !visible(&state, &caller)
        .await?
        .iter()
        .any(|c| c.id == parent)
    {
        return Err(container_not_found());
    }
    let id = match state
        .store
        .create_container(caller.account_id, parent, name, description)
        .await
    {
        Err(certwell_store::StoreError::NotFound) => return Err(container_not_found()),
        other => other?,
    };
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

fn metadata_json(m: &MetadataField) -> Value {
    let mut v = json!({"id": m.id, "label": m.label, "is_required": m.is_required,
        "is_active": m.is_active});
    if !m.data_type.is_empty() {
        v["data_type"] = json!(m.data_type);
    }
    v
}

#[derive(Debug, Default, Deserialize)]
pub struct MetadataBody {
    pub label: Option<String>,
    pub is_required: Option<bool>,
    pub is_active: Option<bool>,
    pub data_type: Option<String>,
}

fn metadata_not_found() -> Error {
    Error::not_found(
        codes::NOT_FOUND,
        "The specified custom field was not found.",
    )
}

/// `GET /account/metadata`: `{"metadata":[…]}`, or `{}` without fields
/// (as the vendor answers).
pub async fn list_metadata(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>> {
    let list = state.store.list_metadata(caller.account_id).await?;
    if list.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(
        json!({"metadata": list.iter().map(metadata_json).collect::<Vec<_>>()}),
    ))
}

fn new_field(b: &MetadataBody, current: Option<&MetadataField>) -> Result<NewMetadataField> {
    let label = b.label.as_deref().or(current.map(|c| c.label.as_str()));
    let data_type = b
        .data_type
        .as_deref()
        .or(current.map(|c| c.data_type.as_str()));
    let (label, data_type) = check_metadata_definition(label, data_type)?;
    Ok(NewMetadataField {
        label,
        is_required: b
            .is_required
            .or(current.map(|c| c.is_required))
            .unwrap_or(false),
        is_active: b.is_active.or(current.map(|c| c.is_active)).unwrap_or(true),
        data_type,
    })
}

/// `POST /account/metadata` → 201 `{"id"}`.
pub async fn create_metadata(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response> {
    admin_only(&caller, "define custom fields")?;
    let b: MetadataBody = parse_json(&body)?;
    let f = new_field(&b, None)?;
    let id = state.store.create_metadata(caller.account_id, &f).await?;
    state.invalidate_metadata(caller.account_id);
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// `PUT /account/metadata/{id}` → 204; absent fields keep their values.
pub async fn update_metadata(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let id = path_id(&id, metadata_not_found)?;
    admin_only(&caller, "change custom fields")?;
    let b: MetadataBody = parse_json(&body)?;
    let list = state.store.list_metadata(caller.account_id).await?;
    let current = list
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(metadata_not_found)?;
    let f = new_field(&b, Some(current))?;
    match state.store.update_metadata(caller.account_id, id, &f).await {
        Err(certwell_store::StoreError::NotFound) => return Err(metadata_not_found()),
        other => other?,
    }
    state.invalidate_metadata(caller.account_id);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /account/metadata/{id}` → 204.
pub async fn delete_metadata(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, metadata_not_found)?;
    admin_only(&caller, "delete custom fields")?;
    match state.store.delete_metadata(caller.account_id, id).await {
        Err(certwell_store::StoreError::NotFound) => return Err(metadata_not_found()),
        other => other?,
    }
    state.invalidate_metadata(caller.account_id);
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module: containers and custom order fields.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/container", get(list_containers))
        .route("/container/{id}", get(container_info))
        .route("/container/{id}/children", post(create_child))
        .route(
            "/account/metadata",
            get(list_metadata).post(create_metadata),
        )
        .route(
            "/account/metadata/{id}",
            put(update_metadata).delete(delete_metadata),
        )
}
