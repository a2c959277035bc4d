//! Organization and contact rules (api-surface.md §7.1, order seeds).

use certwell_api::error::codes;
use certwell_api::organization::{
    Contact, ContactInput, DomainInput, OrganizationInput, ValidationInput,
};
use serde::{Deserialize, Serialize};

use crate::country::is_country_code;
use crate::error::{
    check_email, optional_str, optional_text, required_str, required_text, PolicyError, Result,
};

/// A validated new organization, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganization {
    pub name: String,
    pub assumed_name: Option<String>,
    /// Lower case, as the vendor's examples echo it.
    pub country: String,
    pub address: String,
    pub address2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub telephone: String,
    pub organization_contact: Contact,
    pub container_id: Option<i64>,
    pub validations: Vec<ValidationType>,
    pub skip_duplicate_org_check: bool,
    pub ev: EvDetails,
}

/// Registration facts the EV subject needs (certwell extension fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvDetails {
    pub business_category: Option<String>,
    pub jurisdiction_country: Option<String>,
    pub jurisdiction_state: Option<String>,
    pub jurisdiction_locality: Option<String>,
    pub registration_number: Option<String>,
}

pub const BUSINESS_CATEGORIES: &[&str] = &[
    "Private Organization",
    "Government Entity",
    "Business Entity",
    "Non-Commercial Entity",
];

/// Validation types an organization can be submitted for (§10.3).
pub use certwell_types::ValidationType;

/// A full new contact: first_name, last_name, email, job_title, telephone.
pub fn validate_new_contact(c: &ContactInput, field: &str) -> Result<Contact> {
    let f = |n: &str| format!("{field}.{n}");
    let email = required_text(&c.email, &f("email"), 255)?;
    check_email(&email, &f("email"))?;
    Ok(Contact {
        first_name: required_text(&c.first_name, &f("first_name"), 128)?,
        last_name: required_text(&c.last_name, &f("last_name"), 128)?,
        email,
        job_title: required_text(&c.job_title, &f("job_title"), 64)?,
        telephone: required_text(&c.telephone, &f("telephone"), 32)?,
        telephone_extension: optional_text(&c.telephone_extension, &f("telephone_extension"), 16)?
            .unwrap_or_default(),
    })
}

/// Validates the create-organization fields. `prefix` is "" for
/// `POST /organization` and "organization." on orders.
pub fn validate_new_organization(o: &OrganizationInput, prefix: &str) -> Result<NewOrganization> {
    let f = |n: &str| format!("{prefix}{n}");
    let name = required_text(&o.name, &f("name"), 64)?;
    let assumed_name = optional_text(&o.assumed_name, &f("assumed_name"), 64)?;
    if let Some(a) = &assumed_name {
        if name.chars().count() + a.chars().count() > 61 {
            return Err(PolicyError::new(
                codes::FIELD_TOO_LONG,
                format!(
                    "The fields '{}' and '{}' together must be at most 61 characters.",
                    f("name"),
                    f("assumed_name")
                ),
            ));
        }
    }
    let country = required_str(&o.country, &f("country"))?;
    if !is_country_code(country) {
        return Err(PolicyError::invalid(
            &f("country"),
            format!("'{country}' is not an ISO 3166-1 alpha-2 country code"),
        ));
    }
    let contact = o
        .organization_contact
        .as_ref()
        .ok_or_else(|| PolicyError::missing(&f("organization_contact")))?;
    let organization_contact = validate_new_contact(contact, &f("organization_contact"))?;
    let validations = validate_validation_types(o.validations.as_deref().unwrap_or(&[]), prefix)?;
    let ev = validate_ev_details(o, prefix)?;
    Ok(NewOrganization {
        name,
        assumed_name,
        country: country.to_ascii_lowercase(),
        address: required_text(&o.address, &f("address"), 64)?,
        address2: optional_text(&o.address2, &f("address2"), 64)?,
        city: required_text(&o.city, &f("city"), 64)?,
        state: required_text(&o.state, &f("state"), 64)?,
        zip: required_text(&o.zip, &f("zip"), 40)?,
        telephone: required_text(&o.telephone, &f("telephone"), 32)?,
        organization_contact,
        container_id: o.container.as_ref().and_then(|c| c.id),
        validations,
        skip_duplicate_org_check: o.skip_duplicate_org_check.unwrap_or(false),
        ev,
    })
}

fn validate_ev_details(o: &OrganizationInput, prefix: &str) -> Result<EvDetails> {
    let f = |n: &str| format!("{prefix}{n}");
    let business_category = optional_text(&o.business_category, &f("business_category"), 64)?;
    if let Some(b) = &business_category {
        if !BUSINESS_CATEGORIES.contains(&b.as_str()) {
            return Err(PolicyError::invalid(
                &f("business_category"),
                format!("must be one of {BUSINESS_CATEGORIES:?}"),
            ));
        }
    }
    let jurisdiction_country = optional_str(&o.jurisdiction_country).map(str::to_string);
    if let Some(c) = &jurisdiction_country {
        if !is_country_code(c) {
            return Err(PolicyError::invalid(
                &f("jurisdiction_country"),
                format!("'{c}' is not an ISO 3166-1 alpha-2 country code"),
            ));
        }
    }
    let registration_number =
        registration_number(&o.registration_number, &f("registration_number"))?;
    Ok(EvDetails {
        business_category,
        jurisdiction_country: jurisdiction_country.map(|c| c.to_ascii_uppercase()),
        jurisdiction_state: optional_text(&o.jurisdiction_state, &f("jurisdiction_state"), 128)?,
        jurisdiction_locality: optional_text(
            &o.jurisdiction_locality,
            &f("jurisdiction_locality"),
            128,
        )?,
        registration_number,
    })
}

/// An organization's registration number (the reference behind the EV
/// serialNumber and the S/MIME organizationIdentifier): at most 64
/// PrintableString characters; blank is none.
pub fn registration_number(v: &Option<String>, field: &str) -> Result<Option<String>> {
    let r = optional_text(v, field, 64)?;
    if let Some(r) = &r {
        if !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
        {
            return Err(PolicyError::invalid(
                field,
                "only PrintableString characters are allowed",
            ));
        }
    }
    Ok(r)
}

/// Parses one validation type (ov, ev, cs, ev_cs, ds, smime; exact
/// spelling).
pub fn parse_validation_type(kind: &str, field: &str) -> Result<ValidationType> {
    ValidationType::from_name(kind).ok_or_else(|| {
        PolicyError::new(
            codes::INVALID_VALIDATION_TYPE,
            format!(
                "The field '{field}' must be one of {:?}; got '{kind}'.",
                ValidationType::names()
            ),
        )
    })
}

/// The `validations: [{"type": …}]` array of organizations and domains.
pub fn validate_validation_types(
    list: &[ValidationInput],
    prefix: &str,
) -> Result<Vec<ValidationType>> {
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let field = format!("{prefix}validations[{i}].type");
        out.push(parse_validation_type(
            required_str(&v.kind, &field)?,
            &field,
        )?);
    }
    Ok(out)
}

/// A verified user of an EV / code-signing validation: an existing user
/// by id, or a person by name and contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedUser {
    #[serde(rename = "id", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One validation type asked for with `POST /organization/{id}/validation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedValidation {
    pub kind: ValidationType,
    pub verified_users: Vec<VerifiedUser>,
}

/// The body of `POST /organization/{id}/validation`: known types, each at
/// most once; `verified_users` required for ev, cs and ev_cs (an `id`, or
/// first_name, last_name and email; with an id the other fields are
/// ignored, as the vendor documents).
pub fn validation_request(list: &[ValidationInput]) -> Result<Vec<RequestedValidation>> {
    let mut out: Vec<RequestedValidation> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let field = format!("validations[{i}].type");
        let kind =
            parse_validation_type(&required_str(&v.kind, &field)?.to_ascii_lowercase(), &field)?;
        if out.iter().any(|r| r.kind == kind) {
            return Err(PolicyError::invalid(
                &field,
                format!("'{kind}' is listed twice"),
            ));
        }
        let mut users = Vec::new();
        for (j, u) in v.verified_users.iter().flatten().enumerate() {
            let f = format!("validations[{i}].verified_users[{j}]");
            if let Some(id) = u.user_id {
                users.push(VerifiedUser {
                    user_id: Some(id),
                    first_name: None,
                    last_name: None,
                    job_title: None,
                    telephone: None,
                    email: None,
                });
                continue;
            }
            let email = required_text(&u.email, &format!("{f}.email"), 255)?;
            check_email(&email, &format!("{f}.email"))?;
            users.push(VerifiedUser {
                user_id: None,
                first_name: Some(required_text(
                    &u.first_name,
                    &format!("{f}.first_name"),
                    128,
                )?),
                last_name: Some(required_text(&u.last_name, &format!("{f}.last_name"), 128)?),
                job_title: optional_text(&u.job_title, &format!("{f}.job_title"), 64)?,
                telephone: optional_text(&u.telephone, &format!("{f}.telephone"), 32)?,
                email: Some(email),
            });
        }
        if kind.needs_verified_users() && users.is_empty() {
            return Err(PolicyError::missing(&format!(
                "validations[{i}].verified_users"
            )));
        }
        out.push(RequestedValidation {
            kind,
            verified_users: users,
        });
    }
    Ok(out)
}

/// A checked desk decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskDecision {
    pub approve: bool,
    pub note: String,
    pub verified_contacts: Vec<VerifiedUser>,
    /// The registration number the desk found (approvals only): recorded
    /// on the organization, where the EV serialNumber and the S/MIME
    /// organizationIdentifier come from.
    pub registration_number: Option<String>,
}

pub const MAX_DESK_NOTE: usize = 2000;

/// The desk's decision on validation `kind`: `decision` approve|reject
/// and a `note` are required; approving ev, cs or ev_cs needs verified
/// contacts, given now or with the submission (`submitted_users`).
pub fn desk_decision(
    input: &certwell_api::organization::DeskDecisionInput,
    kind: ValidationType,
    submitted_users: bool,
) -> Result<DeskDecision> {
    let decision = required_str(&input.decision, "decision")?.to_ascii_lowercase();
    let approve = match decision.as_str() {
        "approve" | "approved" => true,
        "reject" | "rejected" => false,
        other => {
            return Err(PolicyError::invalid(
                "decision",
                format!("must be approve or reject; got '{other}'"),
            ))
        }
    };
    let note = required_text(&input.note, "note", MAX_DESK_NOTE)?;
    let list = [ValidationInput {
        kind: Some(kind.to_string()),
        verified_users: input.verified_contacts.clone(),
    }];
    let contacts = match validation_request(&list) {
        Ok(v) => v
            .into_iter()
            .next()
            .map(|r| r.verified_users)
            .unwrap_or_default(),
        // ev/cs/ev_cs without contacts: fine when rejecting, or when the
        // customer named them with the submission.
        Err(e) if e.code == codes::MISSING_REQUIRED_FIELD && (!approve || submitted_users) => {
            Vec::new()
        }
        Err(e) => {
            return Err(PolicyError::new(
                e.code,
                e.message
                    .replace("validations[0].verified_users", "verified_contacts"),
            ))
        }
    };
    let registration_number =
        registration_number(&input.registration_number, "registration_number")?;
    if registration_number.is_some() && !approve {
        return Err(PolicyError::invalid(
            "registration_number",
            "is recorded only with an approval",
        ));
    }
    Ok(DeskDecision {
        approve,
        note,
        verified_contacts: contacts,
        registration_number,
    })
}

/// A validated `POST /domain` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDomain {
    pub name: String,
    pub organization_id: i64,
    pub validations: Vec<ValidationType>,
    pub dcv_method: crate::dcv::DcvMethod,
    pub container_id: Option<i64>,
}

/// `POST /domain`: a registrable-or-deeper public name (no wildcard), an
/// organization id, at least one validation type, a DCV method (default email).
pub fn validate_new_domain(d: &DomainInput) -> Result<NewDomain> {
    let name = crate::dns::parse_dns_name(required_str(&d.name, "name")?, "name")?;
    if name.wildcard {
        return Err(PolicyError::new(
            codes::INVALID_DNS_NAME,
            "The field 'name' must be a domain, not a wildcard name.",
        ));
    }
    let organization_id = d
        .organization
        .as_ref()
        .and_then(|o| o.id)
        .ok_or_else(|| PolicyError::missing("organization.id"))?;
    let validations = validate_validation_types(d.validations.as_deref().unwrap_or(&[]), "")?;
    if validations.is_empty() {
        return Err(PolicyError::missing("validations"));
    }
    let dcv_method = match optional_str(&d.dcv_method) {
        Some(m) => crate::dcv::parse_dcv_method(m, "dcv_method")?,
        None => crate::dcv::DcvMethod::Email,
    };
    // The vendor adds `www.example.com` as `example.com` unless `keep_www`
    // is true, for the methods that cover subdomains (an http-token file
    // proves its exact name only).
    let name = match name.name.strip_prefix("www.") {
        Some(rest)
            if d.keep_www != Some(true)
                && dcv_method != crate::dcv::DcvMethod::HttpToken
                && crate::dns::parse_dns_name(rest, "name").is_ok() =>
        {
            rest.to_string()
        }
        _ => name.name,
    };
    Ok(NewDomain {
        name,
        organization_id,
        validations,
        dcv_method,
        container_id: d.container.as_ref().and_then(|c| c.id),
    })
}

/// `display_name` is `name (assumed_name)` when an assumed name exists.
pub fn display_name(name: &str, assumed_name: Option<&str>) -> String {
    match assumed_name {
        Some(a) if !a.is_empty() => format!("{name} ({a})"),
        _ => name.to_string(),
    }
}

/// A contact on an order: an existing user by id, or a new contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderContact {
    pub contact_type: ContactType,
    pub user_id: Option<i64>,
    pub contact: Option<Contact>,
    /// Fields given alongside a user_id that update that user on this order.
    pub overrides: ContactOverrides,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactOverrides {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
}

pub const MAX_ORDER_CONTACTS: usize = 20;

pub use certwell_types::ContactType;

pub fn validate_order_contacts(
    contacts: &[ContactInput],
    field: &str,
) -> Result<Vec<OrderContact>> {
    if contacts.len() > MAX_ORDER_CONTACTS {
        return Err(PolicyError::invalid(
            field,
            format!("at most {MAX_ORDER_CONTACTS} contacts are allowed"),
        ));
    }
    let mut out = Vec::new();
    for (i, c) in contacts.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let raw = required_str(&c.contact_type, &format!("{f}.contact_type"))?;
        let ct = ContactType::from_name(raw).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_CONTACT,
                format!(
                    "The field '{f}.contact_type' must be one of {:?}; got '{raw}'.",
                    ContactType::names()
                ),
            )
        })?;
        let entry = match c.user_id {
            Some(id) => {
                let mut o = ContactOverrides::default();
                for (val, name, slot) in [
                    (&c.first_name, "first_name", &mut o.first_name),
                    (&c.last_name, "last_name", &mut o.last_name),
                    (&c.job_title, "job_title", &mut o.job_title),
                    (&c.telephone, "telephone", &mut o.telephone),
                    (&c.email, "email", &mut o.email),
                ] {
                    *slot = optional_text(val, &format!("{f}.{name}"), 255)?;
                }
                if let Some(e) = &o.email {
                    check_email(e, &format!("{f}.email"))?;
                }
                OrderContact {
                    contact_type: ct,
                    user_id: Some(id),
                    contact: None,
                    overrides: o,
                }
            }
            None => OrderContact {
                contact_type: ct,
                user_id: None,
                contact: Some(validate_new_contact(c, &f)?),
                overrides: ContactOverrides::default(),
            },
        };
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn www_is_dropped_unless_kept_or_proved_by_file() {
        let domain = |name: &str, method: &str, keep: Option<bool>| {
            let input: DomainInput = serde_json::from_value(serde_json::json!({
                "name": name, "organization": {"id": 1},
                "validations": [{"type": "ov"}], "dcv_method": method,
            }))
            .unwrap();
            validate_new_domain(&DomainInput {
                keep_www: keep,
                ..input
            })
            .unwrap()
            .name
        };
        for m in ["email", "dns-txt-token", "dns-cname-token"] {
            assert_eq!(domain("www.example.com", m, None), "example.com", "{m}");
            assert_eq!(domain("www.example.com", m, Some(false)), "example.com");
            assert_eq!(domain("www.example.com", m, Some(true)), "www.example.com");
        }
        assert_eq!(
            domain("www.example.com", "http-token", None),
            "www.example.com"
        );
        assert_eq!(
            domain("www.shop.example.com", "email", None),
            "shop.example.com"
        );
        assert_eq!(
            domain("wwwx.example.com", "email", None),
            "wwwx.example.com"
        );
        // Never down to a bare public suffix.
        assert_eq!(domain("www.co.uk", "email", None), "www.co.uk");
        // keep_www as the vendor types it, a string.
        let input: DomainInput =
            serde_json::from_value(serde_json::json!({"name": "x", "keep_www": "true"})).unwrap();
        assert_eq!(input.keep_www, Some(true));
        assert!(
            serde_json::from_value::<DomainInput>(serde_json::json!({"keep_www": "maybe"}))
                .is_err()
        );
    }
    use super::*;

    fn contact() -> ContactInput {
        ContactInput {
            first_name: Some("Gia".into()),
            last_name: Some("Booth".into()),
            email: Some("gia@example.com".into()),
            job_title: Some("CTO".into()),
            telephone: Some("555-555-5555".into()),
            ..Default::default()
        }
    }

    fn org() -> OrganizationInput {
        OrganizationInput {
            name: Some("Example Inc.".into()),
            country: Some("us".into()),
            address: Some("1 Main St".into()),
            city: Some("Lindon".into()),
            state: Some("Utah".into()),
            zip: Some("84042".into()),
            telephone: Some("801-555-0453".into()),
            organization_contact: Some(contact()),
            ..Default::default()
        }
    }

    #[test]
    fn valid_org() {
        let o = validate_new_organization(&org(), "").unwrap();
        assert_eq!(o.country, "us");
        assert_eq!(o.organization_contact.first_name, "Gia");
    }

    #[test]
    fn org_rules() {
        let mut o = org();
        o.name = None;
        let e = validate_new_organization(&o, "organization.").unwrap_err();
        assert_eq!(e.code, "missing_required_field");
        assert!(e.message.contains("organization.name"));

        let mut o = org();
        o.name = Some("A".repeat(40));
        o.assumed_name = Some("B".repeat(22));
        assert_eq!(
            validate_new_organization(&o, "").unwrap_err().code,
            "field_too_long"
        );

        let mut o = org();
        o.country = Some("usa".into());
        assert_eq!(
            validate_new_organization(&o, "").unwrap_err().code,
            "invalid_value"
        );

        let mut o = org();
        o.organization_contact.as_mut().unwrap().email = Some("bad".into());
        let e = validate_new_organization(&o, "").unwrap_err();
        assert_eq!(e.code, "invalid_email");
        assert!(e.message.contains("organization_contact.email"));

        let mut o = org();
        o.address = Some("x".repeat(65));
        assert_eq!(
            validate_new_organization(&o, "").unwrap_err().code,
            "field_too_long"
        );

        let mut o = org();
        o.business_category = Some("Pirates".into());
        assert_eq!(
            validate_new_organization(&o, "").unwrap_err().code,
            "invalid_value"
        );
    }

    #[test]
    fn desk_decisions() {
        use certwell_api::organization::DeskDecisionInput;
        let input = |d: &str, note: &str, contacts: Option<Vec<ContactInput>>| DeskDecisionInput {
            decision: Some(d.into()),
            note: Some(note.into()),
            verified_contacts: contacts,
            registration_number: None,
        };
        let d = desk_decision(
            &input("approve", "checked the registry", None),
            ValidationType::Ov,
            false,
        )
        .unwrap();
        assert!(d.approve && d.verified_contacts.is_empty());
        assert_eq!(d.note, "checked the registry");
        assert!(
            !desk_decision(
                &input("Reject", "no such company", None),
                ValidationType::Ev,
                false
            )
            .unwrap()
            .approve
        );
        // EV approval needs verified contacts, now or from the submission
        let e =
            desk_decision(&input("approve", "ok", None), ValidationType::Ev, false).unwrap_err();
        assert_eq!(e.code, codes::MISSING_REQUIRED_FIELD);
        assert!(e.message.contains("verified_contacts"), "{}", e.message);
        assert!(desk_decision(&input("approve", "ok", None), ValidationType::Ev, true).is_ok());
        let d = desk_decision(
            &input("approve", "ok", Some(vec![contact()])),
            ValidationType::Ev,
            false,
        )
        .unwrap();
        assert_eq!(
            d.verified_contacts[0].email.as_deref(),
            Some("gia@example.com")
        );
        for (bad, field) in [
            (input("maybe", "x", None), "decision"),
            (input("approve", "  ", None), "note"),
        ] {
            let e = desk_decision(&bad, ValidationType::Ov, false).unwrap_err();
            assert!(e.message.contains(field), "{}", e.message);
        }
        assert_eq!(
            parse_validation_type("dv", "type").unwrap_err().code,
            codes::INVALID_VALIDATION_TYPE
        );
    }

    #[test]
    fn contacts() {
        let mut c = contact();
        c.contact_type = Some("ev_approver".into());
        let v = validate_order_contacts(&[c], "organization.contacts").unwrap();
        assert_eq!(v[0].contact_type, ContactType::EvApprover);
        let bad = ContactInput {
            contact_type: Some("boss".into()),
            user_id: Some(1),
            ..Default::default()
        };
        assert_eq!(
            validate_order_contacts(&[bad], "c").unwrap_err().code,
            "invalid_contact"
        );
        let incomplete = ContactInput {
            contact_type: Some("technical_contact".into()),
            first_name: Some("A".into()),
            ..Default::default()
        };
        let e = validate_order_contacts(&[incomplete], "organization.contacts").unwrap_err();
        assert!(
            e.message.contains("organization.contacts[0]"),
            "{}",
            e.message
        );
    }
}

/// The organization an order names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgChoice {
    Existing(i64),
    New(Box<NewOrganization>),
}
