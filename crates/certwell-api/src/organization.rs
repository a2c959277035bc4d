//! Organizations, contacts and domains.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ContactInput {
    pub contact_type: Option<String>,
    /// `verified_users` name an existing user as `{"id": N}`.
    #[serde(alias = "id")]
    pub user_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    pub telephone_extension: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub telephone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub telephone_extension: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ValidationInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub verified_users: Option<Vec<ContactInput>>,
}

/// The validation desk's decision on one organization validation
/// (`PUT /operator/v1/organization/{id}/validation/{type}`, certwell's own).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeskDecisionInput {
    /// "approve" or "reject".
    pub decision: Option<String>,
    pub note: Option<String>,
    /// The contacts the operator verified (EV and code signing).
    pub verified_contacts: Option<Vec<ContactInput>>,
    /// The organization's registration number as the desk verified it
    /// (approvals only; needed by organization- and sponsor-validated
    /// S/MIME certificates).
    pub registration_number: Option<String>,
}

/// Fields of `POST /organization` (api-surface.md §7.1), also accepted inline
/// on orders. The EV registration fields are certwell extensions.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OrganizationInput {
    pub name: Option<String>,
    pub assumed_name: Option<String>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub telephone: Option<String>,
    pub organization_contact: Option<ContactInput>,
    pub container: Option<crate::order::IdRef>,
    pub validations: Option<Vec<ValidationInput>>,
    pub skip_duplicate_org_check: Option<bool>,
    /// EV: "Private Organization", "Government Entity", "Business Entity", "Non-Commercial Entity".
    pub business_category: Option<String>,
    pub jurisdiction_country: Option<String>,
    pub jurisdiction_state: Option<String>,
    pub jurisdiction_locality: Option<String>,
    pub registration_number: Option<String>,
}

/// `POST /domain`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DomainInput {
    pub name: Option<String>,
    pub organization: Option<crate::order::IdRef>,
    pub validations: Option<Vec<ValidationInput>>,
    pub dcv_method: Option<String>,
    pub container: Option<crate::order::IdRef>,
    /// Keep a leading `www.` (the vendor documents the type as a string;
    /// clients send true/false either way).
    #[serde(default, deserialize_with = "crate::lenient::opt_bool")]
    pub keep_www: Option<bool>,
}
