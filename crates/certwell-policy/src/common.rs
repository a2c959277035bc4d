//! Order parameters shared by every order endpoint (TLS, S/MIME, client,
//! document signing): container, custom fields, comments, renewal links,
//! notification emails and payment.

pub use certwell_types::PaymentMethod;
use serde::{Deserialize, Serialize};

use certwell_api::error::codes;
use certwell_api::order::OrderRequest;

use crate::error::{check_email, check_len, optional_str, PolicyError, Result};
use crate::organization::validate_new_organization;
use crate::organization::OrgChoice;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    pub metadata_id: i64,
    pub value: String,
}

/// `organization.contacts` of an order (none when the order names no
/// organization).
pub fn organization_contacts(req: &OrderRequest) -> Result<Vec<crate::organization::OrderContact>> {
    match &req.organization {
        Some(o) => crate::organization::validate_order_contacts(
            o.contacts.as_deref().unwrap_or(&[]),
            "organization.contacts",
        ),
        None => Ok(Vec::new()),
    }
}

/// What any order may say about who deals with it: order-level contacts
/// (they replace the organization's on this order only) and the users
/// assigned to manage it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_contact: Option<certwell_api::organization::Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technical_contact: Option<certwell_api::organization::Contact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_id_assignments: Vec<i64>,
}

/// An order-level `organization_contact` / `technical_contact`:
/// first_name, last_name, email required; job_title, telephone optional.
pub fn order_level_contact(
    c: &certwell_api::organization::ContactInput,
    field: &str,
) -> Result<certwell_api::organization::Contact> {
    use crate::error::{optional_text, required_text};
    let f = |n: &str| format!("{field}.{n}");
    let email = required_text(&c.email, &f("email"), 255)?;
    check_email(&email, &f("email"))?;
    Ok(certwell_api::organization::Contact {
        first_name: required_text(&c.first_name, &f("first_name"), 128)?,
        last_name: required_text(&c.last_name, &f("last_name"), 128)?,
        email,
        job_title: optional_text(&c.job_title, &f("job_title"), 64)?.unwrap_or_default(),
        telephone: optional_text(&c.telephone, &f("telephone"), 32)?.unwrap_or_default(),
        telephone_extension: optional_text(&c.telephone_extension, &f("telephone_extension"), 16)?
            .unwrap_or_default(),
    })
}

/// `organization_contact`, `technical_contact` and `user_id_assignments`
/// of any order (the users themselves are checked by the caller).
pub fn order_level(req: &OrderRequest) -> Result<OrderLevel> {
    let user_id_assignments = req.user_id_assignments.clone().unwrap_or_default();
    if let Some(bad) = user_id_assignments.iter().find(|id| **id <= 0) {
        return Err(PolicyError::new(
            codes::INVALID_USER_ID_ASSIGNMENT,
            format!("The field 'user_id_assignments' must list user ids; got {bad}."),
        ));
    }
    Ok(OrderLevel {
        organization_contact: req
            .organization_contact
            .as_ref()
            .map(|c| order_level_contact(c, "organization_contact"))
            .transpose()?,
        technical_contact: req
            .technical_contact
            .as_ref()
            .map(|c| order_level_contact(c, "technical_contact"))
            .transpose()?,
        user_id_assignments,
    })
}

/// The shared parameters of an order, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCommon {
    pub container_id: Option<i64>,
    pub custom_fields: Vec<CustomFieldValue>,
    pub comments: Option<String>,
    /// How many times the certificate renews automatically (the S/MIME and
    /// client seeds: "Number of times"); plans stored as a boolean read as 0/1.
    #[serde(deserialize_with = "count_or_bool")]
    pub auto_renew: u32,
    pub additional_emails: Vec<String>,
    pub renewal_of_order_id: Option<i64>,
    pub payment_method: PaymentMethod,
    pub skip_approval: bool,
}

pub fn validate_common(req: &OrderRequest) -> Result<OrderCommon> {
    Ok(OrderCommon {
        container_id: container_id(req)?,
        custom_fields: custom_fields(req)?,
        comments: comments(req)?,
        auto_renew: auto_renew_count(req)?,
        additional_emails: additional_emails(req)?,
        renewal_of_order_id: renewal_of_order_id(req)?,
        payment_method: payment_method(req)?,
        skip_approval: req.skip_approval.unwrap_or(false),
    })
}

/// `organization`: `{"id": N}` for an existing organization, or the
/// fields of a new one (created unless a duplicate exists).
pub fn organization_choice(req: &OrderRequest) -> Result<OrgChoice> {
    let org_in = req
        .organization
        .as_ref()
        .ok_or_else(|| PolicyError::missing("organization"))?;
    match org_in.id {
        Some(id) if id <= 0 => Err(PolicyError::new(
            codes::INVALID_ORGANIZATION,
            format!("The field 'organization.id' is not a valid organization id: {id}."),
        )),
        Some(id) => Ok(OrgChoice::Existing(id)),
        None if org_in.new.name.is_none() => Err(PolicyError::missing("organization.id")),
        None => Ok(OrgChoice::New(Box::new(validate_new_organization(
            &org_in.new,
            "organization.",
        )?))),
    }
}

pub fn container_id(req: &OrderRequest) -> Result<Option<i64>> {
    match &req.container {
        None => Ok(None),
        Some(c) => Ok(Some(
            c.id.ok_or_else(|| PolicyError::missing("container.id"))?,
        )),
    }
}

pub fn custom_fields(req: &OrderRequest) -> Result<Vec<CustomFieldValue>> {
    let mut out = Vec::new();
    for (i, cf) in req.custom_fields.iter().flatten().enumerate() {
        let f = format!("custom_fields[{i}]");
        let metadata_id = cf
            .metadata_id
            .ok_or_else(|| PolicyError::missing(&format!("{f}.metadata_id")))?;
        let value = match &cf.value {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::Bool(b)) => b.to_string(),
            None | Some(serde_json::Value::Null) => {
                return Err(PolicyError::missing(&format!("{f}.value")))
            }
            Some(_) => {
                return Err(PolicyError::new(
                    codes::INVALID_FIELD_TYPE,
                    format!("The field '{f}.value' must be a string."),
                ))
            }
        };
        check_len(&value, &format!("{f}.value"), 1024)?;
        out.push(CustomFieldValue { metadata_id, value });
    }
    Ok(out)
}

pub fn comments(req: &OrderRequest) -> Result<Option<String>> {
    let comments = optional_str(&req.comments).map(str::to_string);
    if let Some(c) = &comments {
        check_len(c, "comments", 4096)?;
    }
    Ok(comments)
}

pub fn auto_renew(req: &OrderRequest) -> Result<bool> {
    match req.auto_renew {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(v) => Err(PolicyError::new(
            codes::INVALID_AUTO_RENEW,
            format!("The field 'auto_renew' must be 0 or 1; got {v}."),
        )),
    }
}

/// The most automatic renewals an order may ask for.
pub const MAX_AUTO_RENEW: i64 = 99;

/// `auto_renew` as a count (S/MIME, client, document signing): 0..=99.
pub fn auto_renew_count(req: &OrderRequest) -> Result<u32> {
    match req.auto_renew {
        None => Ok(0),
        Some(v) if (0..=MAX_AUTO_RENEW).contains(&v) => Ok(v as u32),
        Some(v) => Err(PolicyError::new(
            codes::INVALID_AUTO_RENEW,
            format!("The field 'auto_renew' must be a number of renewals from 0 to {MAX_AUTO_RENEW}; got {v}."),
        )),
    }
}

fn count_or_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum CountOrBool {
        Count(u32),
        Bool(bool),
    }
    Ok(match CountOrBool::deserialize(d)? {
        CountOrBool::Count(n) => n,
        CountOrBool::Bool(b) => u32::from(b),
    })
}

/// `certificate.server_platform.id`: a known platform, default -1 (other).
pub fn server_platform_id(cert: &certwell_api::order::CertificateInput) -> Result<i64> {
    match &cert.server_platform {
        None => Ok(-1),
        Some(p) => {
            let id =
                p.id.ok_or_else(|| PolicyError::missing("certificate.server_platform.id"))?;
            if crate::catalog::server_platform_name(id).is_none() {
                return Err(PolicyError::new(
                    codes::INVALID_SERVER_PLATFORM,
                    format!("The field 'certificate.server_platform.id' is not a known server platform: {id}."),
                ));
            }
            Ok(id)
        }
    }
}

pub fn additional_emails(req: &OrderRequest) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, e) in req.additional_emails.iter().flatten().enumerate() {
        let e = e.trim();
        check_email(e, &format!("additional_emails[{i}]"))?;
        out.push(e.to_string());
    }
    Ok(out)
}

pub fn renewal_of_order_id(req: &OrderRequest) -> Result<Option<i64>> {
    if let Some(id) = req.renewal_of_order_id {
        if id <= 0 {
            return Err(PolicyError::new(
                codes::INVALID_RENEWAL_OF_ORDER_ID,
                format!("The field 'renewal_of_order_id' is not a valid order id: {id}."),
            ));
        }
    }
    Ok(req.renewal_of_order_id)
}

pub fn payment_method(req: &OrderRequest) -> Result<PaymentMethod> {
    let raw = optional_str(&req.payment_method)
        .unwrap_or("balance")
        .to_ascii_lowercase();
    PaymentMethod::from_name(&raw).ok_or_else(|| {
        PolicyError::new(
            codes::INVALID_PAYMENT_METHOD,
            format!(
                "The field 'payment_method' must be one of {:?}; got '{raw}'.",
                PaymentMethod::names()
            ),
        )
    })
}
