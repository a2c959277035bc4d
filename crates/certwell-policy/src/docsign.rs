//! Document-signing orders (seed order-document-signing.txt): products
//! `document_signing_org_1` and `document_signing_org_2`.
//!
//! A valid order becomes a [`SmimeOrderPlan`] without an S/MIME type (like
//! a client-authentication order) whose usage carries the document-signing
//! EKUs, plus a [`DocSigningPlan`] with what only this seed has: the
//! provisioning method, the shipping address, the subject object and the
//! order-level contacts.

pub use crate::smime::{DocSigningPlan, DsSubject, ShipInfo};
use certwell_api::error::codes;
use certwell_api::order::{OrderRequest, ShipInfoInput, SubjectInput};
use time::OffsetDateTime;

use crate::catalog::{Family, Product};
use crate::common::{organization_choice, validate_common};
use crate::country::is_country_code;
use crate::error::{check_email, optional_str, optional_text, required_str, required_text, Result};
use crate::smime::{AdditionalUsage, CnSource, PrimaryUsage, SmimeOrderPlan, SubjectPlan, Usage};
use crate::validity::{resolve_validity, OrderTerm, TermFields};
use crate::PolicyError;
pub use certwell_types::ProvisioningMethod;

pub const SHIPPING_METHODS: &[&str] = &["standard", "expedited"];

/// Does a key fit a document-signing certificate? RSA of at least 3072
/// bits or ECDSA P-256/P-384 (the profile; the CSR intake has
/// already refused anything else certwell cannot use).
pub fn check_document_signing_key(rsa_bits: Option<u32>) -> Result<()> {
    match rsa_bits {
        Some(bits) if bits < 3072 => Err(PolicyError::new(
            codes::CSR_WEAK_KEY,
            format!("The field 'certificate.csr' has an RSA key of {bits} bits: document-signing certificates need RSA of at least 3072 bits, or ECDSA P-256 or P-384."),
        )),
        _ => Ok(()),
    }
}

fn subject(s: Option<&SubjectInput>) -> Result<DsSubject> {
    let s = s.ok_or_else(|| PolicyError::missing("subject"))?;
    let email = required_text(&s.email, "subject.email", 255)?;
    check_email(&email, "subject.email")?;
    Ok(DsSubject {
        name: required_text(&s.name, "subject.name", 64)?,
        job_title: required_text(&s.job_title, "subject.job_title", 64)?,
        phone: required_text(&s.phone, "subject.phone", 32)?,
        email: email.to_ascii_lowercase(),
    })
}

fn ship_info(s: &ShipInfoInput) -> Result<ShipInfo> {
    let country = required_text(&s.country, "ship_info.country", 2)?.to_ascii_lowercase();
    if !is_country_code(&country) {
        return Err(PolicyError::new(
            codes::INVALID_SHIP_INFO,
            format!("The field 'ship_info.country' must be an ISO 3166-1 alpha-2 country code; got '{country}'."),
        ));
    }
    let method = required_text(&s.method, "ship_info.method", 16)?.to_ascii_lowercase();
    if !SHIPPING_METHODS.contains(&method.as_str()) {
        return Err(PolicyError::new(
            codes::INVALID_SHIP_INFO,
            format!(
                "The field 'ship_info.method' must be one of {SHIPPING_METHODS:?}; got '{method}'."
            ),
        ));
    }
    Ok(ShipInfo {
        name: required_text(&s.name, "ship_info.name", 128)?,
        addr1: required_text(&s.addr1, "ship_info.addr1", 128)?,
        addr2: optional_text(&s.addr2, "ship_info.addr2", 128)?,
        city: required_text(&s.city, "ship_info.city", 64)?,
        state: required_text(&s.state, "ship_info.state", 64)?,
        zip: required_text(&s.zip, "ship_info.zip", 16)?,
        country,
        method,
    })
}

/// One document-signing term (`order_validity`, `certificate.cert_validity`
/// or the deprecated root fields): years (1–3) only.
fn term(product: &Product, f: &TermFields) -> Result<OrderTerm> {
    if f.days.is_some() || f.custom_expiration_date.is_some() {
        return Err(PolicyError::new(
            codes::FIELD_NOT_ALLOWED,
            format!(
                "The fields '{}' and '{}' are not allowed for document-signing products; use '{}'.",
                f.name("days"),
                f.name("custom_expiration_date"),
                f.name("years")
            ),
        ));
    }
    let allowed = product.allowed_validity_years;
    match f.years {
        Some(y) if allowed.contains(&y) => Ok(OrderTerm::Years(y)),
        Some(y) => Err(PolicyError::new(
            codes::INVALID_VALIDITY,
            format!(
                "The field '{}' must be one of {allowed:?} for product {}; got {y}.",
                f.name("years"),
                product.name_id
            ),
        )),
        None => Err(PolicyError::missing(&f.name("years"))),
    }
}

/// Validates a document-signing order. `now` fixes the order term's start.
pub fn validate_document_signing_order(
    product: &Product,
    req: &OrderRequest,
    now: OffsetDateTime,
) -> Result<SmimeOrderPlan> {
    debug_assert_eq!(product.family, Family::DocumentSigning);
    let cert = req
        .certificate
        .as_ref()
        .ok_or_else(|| PolicyError::missing("certificate"))?;
    let csr = optional_str(&cert.csr).map(str::to_string);
    if csr.as_ref().is_some_and(|c| c.len() > 64 * 1024) {
        return Err(PolicyError::new(
            codes::CSR_INVALID_CANNOT_PARSE,
            "The field 'certificate.csr' is too large.",
        ));
    }
    let method = match optional_str(&req.cs_provisioning_method) {
        Some(m) => ProvisioningMethod::parse(m).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_PROVISIONING_METHOD,
                format!(
                    "The field 'cs_provisioning_method' must be one of {:?}; got '{m}'.",
                    ProvisioningMethod::names()
                ),
            )
        })?,
        // A CSR means the key is the customer's own (their HSM); without
        // one the order waits for the token application's CSR.
        None if csr.is_some() => ProvisioningMethod::Email,
        None => ProvisioningMethod::ClientApp,
    };
    if method == ProvisioningMethod::Email && csr.is_none() {
        return Err(PolicyError::new(
            codes::MISSING_REQUIRED_FIELD,
            "The field 'certificate.csr' is required when cs_provisioning_method is 'email'.",
        ));
    }
    let ship = req.ship_info.as_ref().map(ship_info).transpose()?;
    if method == ProvisioningMethod::ShipToken && ship.is_none() {
        return Err(PolicyError::new(
            codes::MISSING_REQUIRED_FIELD,
            "The field 'ship_info' is required when cs_provisioning_method is 'ship_token' (where the token is sent).",
        ));
    }
    let server_platform_id = crate::common::server_platform_id(cert)?;
    let signature_hash =
        required_str(&cert.signature_hash, "certificate.signature_hash")?.to_ascii_lowercase();
    if !product.signature_hashes.contains(&signature_hash.as_str()) {
        return Err(PolicyError::new(
            codes::INVALID_SIGNATURE_HASH,
            format!(
                "The field 'certificate.signature_hash' must be one of {:?} for product {}; got '{signature_hash}'.",
                product.signature_hashes, product.name_id
            ),
        ));
    }
    let subject = subject(req.subject.as_ref())?;
    let use_org = req.use_org_as_common_name.unwrap_or(true);
    let (term, term_end, first_certificate) = resolve_validity(
        req,
        now,
        || PolicyError::missing("order_validity"),
        |f| self::term(product, f),
    )?
    .stored();
    let organization = Some(organization_choice(req)?);
    let contacts = crate::common::organization_contacts(req)?;
    let ca_cert_id = optional_str(&cert.ca_cert_id).map(str::to_string);

    Ok(SmimeOrderPlan {
        smime_type: None,
        generation: None,
        emails: vec![subject.email.clone()],
        upn: None,
        cn_source: if use_org {
            CnSource::OrganizationName
        } else {
            CnSource::Explicit
        },
        subject: SubjectPlan {
            common_name: subject.name.clone(),
            title: Some(subject.job_title.clone()),
            email: Some(subject.email.clone()),
            ..SubjectPlan::default()
        },
        usage: Usage {
            primary: PrimaryUsage::Signing,
            additional: vec![AdditionalUsage::NonRepudiation],
            email_protection: false,
            document_signing: true,
        },
        csr,
        declared_key: None,
        is_rsassa_pss: false,
        signature_hash,
        ca_cert_id,
        term,
        term_end,
        first_certificate,
        organization,
        contacts,
        common: validate_common(req)?,
        reject_if_pending: req.reject_if_pending.unwrap_or(false),
        disable_generate_in_browser_email: false,
        doc_signing: Some(DocSigningPlan {
            cs_provisioning_method: method,
            use_org_as_common_name: use_org,
            subject,
            ship_info: ship,
            server_platform_id,
        }),
    })
}

#[cfg(test)]
mod tests;
