//! Users, account and container summaries.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessRole {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserSummary {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// `{"id": N}` where the vendor nests an id (`container`, `access_roles[]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdRef {
    pub id: Option<i64>,
}

/// `POST /user`: a user of the account (certwell users act through API
/// keys, so creating one returns its key once).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    pub container: Option<IdRef>,
    pub access_roles: Option<Vec<IdRef>>,
    /// A service user ("Add service user"): API access only.
    #[serde(default, deserialize_with = "crate::lenient::opt_bool")]
    pub is_api_only: Option<bool>,
    /// A service user's key name.
    pub api_name: Option<String>,
    /// A service user's key role (the API key roles: 0, 100–103).
    #[serde(default, deserialize_with = "crate::lenient::opt_i64")]
    pub restricted_to_role_id: Option<i64>,
    /// A service user's containers (the first is where it is placed).
    pub container_id_assignments: Option<Vec<i64>>,
}

/// `PUT /user/{id}` ("Edit user"): `email` required; a `job_title` or
/// `telephone` left out is cleared.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserEditRequest {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    #[serde(default, deserialize_with = "crate::lenient::opt_bool")]
    pub is_saml_sso_only: Option<bool>,
}

/// `PUT /user/{id}/role`: `{"access_roles":[{"id":N}]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoleRequest {
    pub access_roles: Option<Vec<IdRef>>,
}

/// `PUT /user/{id}/status`, `PUT /key/{id}/status`: `{"status": "…"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusRequest {
    pub status: Option<String>,
}

/// `POST /key/user/{user_id}` ("Create key").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::lenient::opt_i64")]
    pub restricted_to_role_id: Option<i64>,
    /// certwell extension: the key is refused from this date
    /// (`yyyy-MM-dd`, UTC midnight) or instant (RFC 3339).
    pub expiration_date: Option<String>,
}
