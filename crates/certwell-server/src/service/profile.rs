//! What the certificate of an order contains, apart from key and serial:
//! the TLS subject and validity window, the S/MIME, client and document
//! signing profile ([`SubscriberSpec`]) and its validity. Used by intake
//! (certificates signed during the request) and issuance (later ones).

use crate::error::{Error, Result};
use crate::service::hierarchy::LoadedCa;
use crate::service::order_data::parse_term_end;
use crate::state::AppState;
use certwell_api::error::codes;
use certwell_policy::organization::NewOrganization;
use certwell_policy::smime::{
    email_domain, extended_key_usages, key_usage, smime_policy_oid, subject_attributes, KeyKind,
    SmimeOrderPlan, SubjectAttribute, CLIENT_AUTH_MAX_TERM_DAYS, SMIME_MAX_CERT_DAYS,
};
use time::{Duration, OffsetDateTime};

/// The certificate profile of a sign job.
pub enum LeafSpec {
    /// OV/EV TLS (BR §7.1.2.7).
    Tls {
        ev: bool,
        subject: certwell_ca::TlsSubject,
        sans: Vec<String>,
        /// The validity cap in force (checked again before signing).
        max_validity_days: i64,
    },
    /// S/MIME, client authentication.
    Subscriber(SubscriberSpec),
}

/// Everything of a subscriber certificate but the key, serial and validity.
pub struct SubscriberSpec {
    pub subject: Vec<certwell_ca::SubjectAttr>,
    pub emails: Vec<String>,
    pub upn: Option<String>,
    pub key_usage: certwell_ca::KeyUsageBits,
    pub ext_key_usages: Vec<&'static str>,
    pub policy_oids: Vec<&'static str>,
    pub scheme: certwell_ca::SignatureScheme,
    pub profile: certwell_ca::SubscriberProfile,
    pub max_validity_days: i64,
}

/// The TLS subject for an order of `org` (EV adds the registration fields).
pub fn tls_subject(
    state: &AppState,
    ev: bool,
    org_data: &NewOrganization,
    org_created_at: OffsetDateTime,
    common_name: &str,
) -> certwell_ca::TlsSubject {
    let mut subject = certwell_ca::TlsSubject {
        country: org_data.country.to_ascii_uppercase(),
        state: Some(org_data.state.clone()),
        locality: Some(org_data.city.clone()),
        postal_code: None,
        street: None,
        organization: org_data.name.clone(),
        common_name: state
            .config
            .include_common_name
            .then(|| common_name.to_string()),
        business_category: None,
        jurisdiction_country: None,
        jurisdiction_state: None,
        jurisdiction_locality: None,
        serial_number: None,
    };
    if ev {
        let e = &org_data.ev;
        subject.business_category = Some(
            e.business_category
                .clone()
                .unwrap_or_else(|| "Private Organization".into()),
        );
        subject.jurisdiction_country = Some(
            e.jurisdiction_country
                .clone()
                .unwrap_or_else(|| org_data.country.to_ascii_uppercase()),
        );
        subject.jurisdiction_state = e.jurisdiction_state.clone();
        subject.jurisdiction_locality = e.jurisdiction_locality.clone();
        subject.serial_number = Some(
            e.registration_number
                .clone()
                .unwrap_or_else(|| crate::views::date(org_created_at)),
        );
    }
    subject
}

/// TLS certificate validity for an order term ending at `term_end` (RFC 3339).
pub fn validity_window(
    state: &AppState,
    term_end: &str,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    validity_window_days(term_end, now, tls_max_days(state, now))
}

/// Certificate validity: from now to the end of the order term, at most
/// `max_days`.
pub fn validity_window_days(
    term_end: &str,
    now: OffsetDateTime,
    max_days: i64,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let term_end = parse_term_end(term_end).unwrap_or(now + Duration::days(1));
    let (not_before, not_after) =
        certwell_policy::validity::certificate_window(term_end, now, max_days);
    if not_after <= not_before {
        return Err(Error::bad_request(
            certwell_api::error::codes::CERT_VALIDITY_EXCEEDS_ORDER_VALIDITY,
            "The order's validity has ended; no certificate can be issued for it.",
        ));
    }
    Ok((not_before, not_after))
}

/// The longest TLS certificate certwell issues now: the configured cap, or
/// the BR maximum in force.
pub fn tls_max_days(state: &AppState, now: OffsetDateTime) -> i64 {
    state
        .config
        .tls_max_validity_days
        .unwrap_or_else(|| certwell_policy::validity::tls_br_max_days(now))
}

/// The distinct domains of a list of addresses, in order.
pub fn email_domains(emails: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in emails {
        let d = email_domain(e).to_string();
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

pub fn key_kind(csr: &certwell_ca::VerifiedCsr) -> KeyKind {
    match csr.key_type {
        certwell_ca::CsrKeyType::Rsa { .. } => KeyKind::Rsa,
        _ => KeyKind::Ecc,
    }
}

/// Certificate validity: to `term_end` (the order's, or its first
/// certificate's), capped at 824 days for S/MIME
/// (SBR §6.3.2 allows 825; pkilint warns at the maximum) and three years
/// for client authentication.
pub fn smime_validity(
    plan: &SmimeOrderPlan,
    term_end: &str,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    validity_window_days(term_end, now, smime_max_days(plan))
}

/// The longest certificate of `plan`: the SBR cap for S/MIME, the client
/// term cap otherwise.
fn smime_max_days(plan: &SmimeOrderPlan) -> i64 {
    if plan.smime_type.is_some() {
        SMIME_MAX_CERT_DAYS
    } else {
        CLIENT_AUTH_MAX_TERM_DAYS
    }
}

fn ca_subject_attr(a: SubjectAttribute) -> certwell_ca::SubjectAttr {
    use certwell_ca::SubjectAttr as C;
    use SubjectAttribute as A;
    match a {
        A::Country(v) => C::Country(v),
        A::State(v) => C::State(v),
        A::Locality(v) => C::Locality(v),
        A::Organization(v) => C::Organization(v),
        A::OrganizationalUnit(v) => C::OrganizationalUnit(v),
        A::OrganizationIdentifier(v) => C::OrganizationIdentifier(v),
        A::GivenName(v) => C::GivenName(v),
        A::Surname(v) => C::Surname(v),
        A::Pseudonym(v) => C::Pseudonym(v),
        A::Title(v) => C::Title(v),
        A::SerialNumber(v) => C::SerialNumber(v),
        A::CommonName(v) => C::CommonName(v),
        A::EmailAddress(v) => C::EmailAddress(v),
    }
}

/// The organization as an S/MIME certificate names it. In sandbox mode an
/// organization whose validation recorded no registration number gets
/// `SANDBOX` (an organizationIdentifier of `NTR<country>-SANDBOX`),
/// standing in for what the validation desk records.
pub fn smime_organization<'a>(
    state: &AppState,
    org: &'a NewOrganization,
) -> std::borrow::Cow<'a, NewOrganization> {
    let missing = org
        .ev
        .registration_number
        .as_deref()
        .is_none_or(|r| r.trim().is_empty());
    if state.config.sandbox && missing {
        let mut o = org.clone();
        o.ev.registration_number = Some("SANDBOX".into());
        std::borrow::Cow::Owned(o)
    } else {
        std::borrow::Cow::Borrowed(org)
    }
}

/// What an order of `product` for `org` waits for besides validation: an
/// organization- or sponsor-validated S/MIME certificate needs the
/// organization's registration number.
pub fn registration_blocker(
    state: &AppState,
    product: &certwell_policy::catalog::Product,
    org: Option<&NewOrganization>,
) -> Option<certwell_policy::issuance::Blocker> {
    certwell_policy::smime::registration_blocker(
        product.smime,
        org.map(|o| smime_organization(state, o)).as_deref(),
    )
}

/// Everything the certificate of `plan` contains but key, serial and
/// validity: subject, SAN, KU, EKU, policy and signature scheme.
pub fn subscriber_spec(
    state: &AppState,
    plan: &SmimeOrderPlan,
    org: Option<&NewOrganization>,
    csr: &certwell_ca::VerifiedCsr,
    ca: &LoadedCa,
) -> Result<SubscriberSpec> {
    let kind = key_kind(csr);
    let ku = key_usage(&plan.usage, kind);
    use certwell_ca::SubscriberProfile;
    let (policy_oids, profile) = match (plan.smime_type, plan.generation) {
        (Some(t), Some(g)) => (vec![smime_policy_oid(t, g)], SubscriberProfile::Smime),
        _ if plan.doc_signing.is_some() => (
            vec![certwell_ca::POLICY_CERTWELL_DOCUMENT_SIGNING],
            SubscriberProfile::DocumentSigning,
        ),
        _ => (
            vec![certwell_ca::POLICY_CERTWELL_CLIENT_AUTH],
            SubscriberProfile::ClientAuth,
        ),
    };
    let scheme = certwell_ca::SignatureScheme::for_key(
        ca.key_algorithm,
        &plan.signature_hash,
        plan.is_rsassa_pss,
    )
    .map_err(|e| Error::bad_request(codes::INVALID_SIGNATURE_HASH, e.to_string()))?;
    Ok(SubscriberSpec {
        subject: subject_attributes(plan, org.map(|o| smime_organization(state, o)).as_deref())?
            .into_iter()
            .map(ca_subject_attr)
            .collect(),
        emails: plan.emails.clone(),
        upn: plan.upn.clone(),
        key_usage: certwell_ca::KeyUsageBits {
            digital_signature: ku.digital_signature,
            non_repudiation: ku.non_repudiation,
            key_encipherment: ku.key_encipherment,
            data_encipherment: ku.data_encipherment,
            key_agreement: ku.key_agreement,
            encipher_only: ku.encipher_only,
            decipher_only: ku.decipher_only,
        },
        ext_key_usages: extended_key_usages(&plan.usage),
        policy_oids,
        scheme,
        profile,
        max_validity_days: smime_max_days(plan),
    })
}
