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
}
