//! Rules of the secure-email endpoint (seed order-secure-email.txt) and the
//! client-certificate endpoint (seed order-client-certificate.txt), and what
//! the resulting certificate contains (pki-profiles.md §1).
//!
//! Validation happens in two steps, because several rules depend on the
//! key type and the key is only known once a CSR arrives (which may be
//! after the order was created): [`validate_smime_order`] checks everything
//! the request alone decides, and [`check_key_for_order`] checks the key.

use serde::{Deserialize, Serialize};
use time::{macros::format_description, Date, Duration, OffsetDateTime};

use certwell_api::error::codes;
use certwell_api::order::{CertificateInput, OrderRequest};

use crate::catalog::{Family, Product, SmimeType};
use crate::common::{validate_common, OrderCommon};
use crate::dns::parse_dns_name;
use crate::error::{check_email, optional_str, optional_text, PolicyError, Result};
use crate::organization::OrgChoice;
use crate::organization::{NewOrganization, OrderContact};
use crate::validity::StoredTerm;
use crate::validity::{
    parse_ymd, resolve_validity, FirstCertificate, OrderTerm, TermFields, TermSpelling,
};

/// Most email addresses on one certificate.
pub use crate::catalog::MAX_EMAILS;
/// Longest S/MIME order term (SBR §6.3.2: 825 days for Strict and
/// Multipurpose).
pub const SMIME_MAX_TERM_DAYS: i64 = certwell_types::limits::SMIME_MAX_DAYS;
/// Longest term of a client-authentication-only order (three years).
pub const CLIENT_AUTH_MAX_TERM_DAYS: i64 = 1095;
/// Longest S/MIME certificate certwell signs: the BR asks not to issue at
/// the exact maximum, and pkilint warns there, so one day less.
pub const SMIME_MAX_CERT_DAYS: i64 = 824;
/// The vendor stopped accepting Legacy-profile orders at this instant.
pub const LEGACY_CUTOFF: OffsetDateTime = time::macros::datetime!(2025-07-10 17:00 UTC);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    Multipurpose,
    Strict,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::Multipurpose => "multipurpose",
            Generation::Strict => "strict",
        }
    }
    pub fn parse(s: &str) -> Option<Generation> {
        match s.trim().to_ascii_lowercase().as_str() {
            "multipurpose" => Some(Generation::Multipurpose),
            "strict" => Some(Generation::Strict),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryUsage {
    Signing,
    KeyManagement,
    DualUse,
}

impl PrimaryUsage {
    pub const ALL: [PrimaryUsage; 3] = [
        PrimaryUsage::Signing,
        PrimaryUsage::KeyManagement,
        PrimaryUsage::DualUse,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            PrimaryUsage::Signing => "signing",
            PrimaryUsage::KeyManagement => "key_management",
            PrimaryUsage::DualUse => "dual_use",
        }
    }
    fn parse(s: &str) -> Option<PrimaryUsage> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
    fn signs(self) -> bool {
        self != PrimaryUsage::KeyManagement
    }
    fn manages_keys(self) -> bool {
        self != PrimaryUsage::Signing
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdditionalUsage {
    NonRepudiation,
    DataEncipherment,
    ClientAuth,
    EncipherOnly,
    DecipherOnly,
}

impl AdditionalUsage {
    pub const ALL: [AdditionalUsage; 5] = [
        AdditionalUsage::NonRepudiation,
        AdditionalUsage::DataEncipherment,
        AdditionalUsage::ClientAuth,
        AdditionalUsage::EncipherOnly,
        AdditionalUsage::DecipherOnly,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AdditionalUsage::NonRepudiation => "non_repudiation",
            AdditionalUsage::DataEncipherment => "data_encipherment",
            AdditionalUsage::ClientAuth => "client_auth",
            AdditionalUsage::EncipherOnly => "encipher_only",
            AdditionalUsage::DecipherOnly => "decipher_only",
        }
    }
    fn parse(s: &str) -> Option<AdditionalUsage> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// The seed's tables: the primary usages this additional usage goes with.
    fn allowed_with(self, primary: PrimaryUsage) -> bool {
        match self {
            AdditionalUsage::NonRepudiation => primary.signs(),
            AdditionalUsage::DataEncipherment
            | AdditionalUsage::EncipherOnly
            | AdditionalUsage::DecipherOnly => primary.manages_keys(),
            AdditionalUsage::ClientAuth => true,
        }
    }
    /// The seed's tables: Strict allows only non_repudiation and the ECC
    /// key-agreement restrictions.
    fn allowed_in(self, generation: Generation) -> bool {
        match self {
            AdditionalUsage::DataEncipherment | AdditionalUsage::ClientAuth => {
                generation == Generation::Multipurpose
            }
            _ => true,
        }
    }
    /// The key type this usage needs (None: either).
    fn key_kind(self) -> Option<KeyKind> {
        match self {
            AdditionalUsage::DataEncipherment => Some(KeyKind::Rsa),
            AdditionalUsage::EncipherOnly | AdditionalUsage::DecipherOnly => Some(KeyKind::Ecc),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Rsa,
    Ecc,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Rsa => "rsa",
            KeyKind::Ecc => "ecc",
        }
    }
}

/// The key an order without a CSR announces (`csr_key_type`, `key_size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredKey {
    Rsa(u32),
    P256,
    P384,
}

impl DeclaredKey {
    pub fn kind(self) -> KeyKind {
        match self {
            DeclaredKey::Rsa(_) => KeyKind::Rsa,
            _ => KeyKind::Ecc,
        }
    }
    pub fn describe(self) -> String {
        match self {
            DeclaredKey::Rsa(b) => format!("RSA {b}"),
            DeclaredKey::P256 => "ECC p-256".into(),
            DeclaredKey::P384 => "ECC p-384".into(),
        }
    }
}

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub primary: PrimaryUsage,
    pub additional: Vec<AdditionalUsage>,
    /// emailProtection in the EKU (every S/MIME certificate).
    pub email_protection: bool,
    /// The document-signing EKUs (Microsoft Document Signing, Adobe
    /// Authentic Documents) instead of the S/MIME ones.
    #[serde(default)]
    pub document_signing: bool,
}

impl Usage {
    fn has(&self, u: AdditionalUsage) -> bool {
        self.additional.contains(&u)
    }
}

/// Where the subject common name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CnSource {
    EmailAddress,
    GivenNameSurname,
    Pseudonym,
    OrganizationName,
    /// `certificate.common_name` of the client endpoint, as given.
    Explicit,
}

impl CnSource {
    fn parse(s: &str) -> Option<CnSource> {
        match s {
            "email_address" => Some(CnSource::EmailAddress),
            "given_name_surname" => Some(CnSource::GivenNameSurname),
            "pseudonym" => Some(CnSource::Pseudonym),
            "organization_name" => Some(CnSource::OrganizationName),
            _ => None,
        }
    }
}

/// The subject attributes chosen for the certificate (values are resolved
/// against the organization at issuance, see [`subject_attributes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectPlan {
    pub common_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub pseudonym: Option<String>,
    pub title: Option<String>,
    pub serial_number: Option<String>,
    pub email: Option<String>,
    pub organizational_units: Vec<String>,
}

/// Everything a valid secure-email or client order says, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmimeOrderPlan {
    /// None: a client-authentication-only certificate (not S/MIME).
    pub smime_type: Option<SmimeType>,
    pub generation: Option<Generation>,
    pub emails: Vec<String>,
    pub upn: Option<String>,
    pub cn_source: CnSource,
    pub subject: SubjectPlan,
    pub usage: Usage,
    pub csr: Option<String>,
    /// The key announced for a later CSR (None when the CSR came with the order).
    pub declared_key: Option<DeclaredKey>,
    pub is_rsassa_pss: bool,
    pub signature_hash: String,
    pub ca_cert_id: Option<String>,
    pub term: StoredTerm,
    /// RFC 3339 end of the order term.
    pub term_end: String,
    /// Set when `certificate.cert_validity` ends the first certificate
    /// before the order (absent from orders stored before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_certificate: Option<FirstCertificate>,
    pub organization: Option<OrgChoice>,
    pub contacts: Vec<OrderContact>,
    pub common: OrderCommon,
    pub reject_if_pending: bool,
    pub disable_generate_in_browser_email: bool,
    /// Document-signing orders: what their seed adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_signing: Option<DocSigningPlan>,
}

fn err(code: &'static str, msg: impl Into<String>) -> PolicyError {
    PolicyError::new(code, msg)
}

fn not_allowed(field: &str, why: &str) -> PolicyError {
    err(
        codes::FIELD_NOT_ALLOWED,
        format!("The field '{field}' is not allowed {why}."),
    )
}

/// Validates an order for a secure-email or client product. `now` fixes
/// "today"; `default_generation` is the product setting used when
/// `profile_type` is omitted.
pub fn validate_smime_order(
    product: &Product,
    req: &OrderRequest,
    now: OffsetDateTime,
    default_generation: Generation,
) -> Result<SmimeOrderPlan> {
    let given = req
        .certificate
        .as_ref()
        .ok_or_else(|| PolicyError::missing("certificate"))?;
    // The seed's subject-DN example has these two at the root.
    let lifted;
    let cert = if (given.common_name_indicator.is_none() && req.common_name_indicator.is_some())
        || (given.individual.is_none() && req.individual.is_some())
    {
        let mut c = given.clone();
        if c.common_name_indicator.is_none() {
            c.common_name_indicator = req.common_name_indicator.clone();
        }
        if c.individual.is_none() {
            c.individual = req.individual.clone();
        }
        lifted = c;
        &lifted
    } else {
        given
    };
    let client = product.family == Family::Client;
    let smime_type = product.smime;

    let generation = match (client, smime_type) {
        (_, None) => None,
        // The client endpoint issues every S/MIME product as Multipurpose.
        (true, Some(_)) => Some(Generation::Multipurpose),
        (false, Some(_)) => Some(profile_type(cert, now, default_generation)?),
    };

    let emails = emails(cert)?;
    let upn = user_principle_name(product, cert, generation)?;
    let usage = if client {
        client_usage(product)
    } else {
        usage_designation(cert, generation.unwrap_or(Generation::Strict))?
    };
    let (csr, declared_key) = key_material(cert)?;
    if let Some(k) = declared_key {
        check_usage_for_key(&usage, k.kind())?;
    }
    let is_rsassa_pss = cert.is_rsassa_pss.unwrap_or(false);

    let signature_hash = match optional_str(&cert.signature_hash) {
        Some(h) => h.to_ascii_lowercase(),
        None if client => return Err(PolicyError::missing("certificate.signature_hash")),
        None => "sha256".to_string(),
    };
    if !product.signature_hashes.contains(&signature_hash.as_str()) {
        return Err(err(
            codes::INVALID_SIGNATURE_HASH,
            format!(
                "The field 'certificate.signature_hash' must be one of {:?} for product {}; got '{}'.",
                product.signature_hashes, product.name_id, signature_hash
            ),
        ));
    }
    let ca_cert_id = optional_str(&cert.ca_cert_id).map(str::to_string);

    let (cn_source, subject) = if client {
        client_subject(product, cert, &emails)?
    } else {
        secure_email_subject(product, req, cert, &emails)?
    };

    let max_term_days = if smime_type.is_some() {
        SMIME_MAX_TERM_DAYS
    } else {
        CLIENT_AUTH_MAX_TERM_DAYS
    };
    let (term, term_end, first_certificate) = resolve_validity(
        req,
        now,
        || PolicyError::missing("order_validity"),
        |f| resolve_term(product, f, max_term_days, now.date()),
    )?
    .stored();

    let needs_org = smime_type != Some(SmimeType::Mailbox);
    let organization = if needs_org {
        Some(crate::common::organization_choice(req)?)
    } else {
        None
    };
    let contacts = if needs_org {
        crate::common::organization_contacts(req)?
    } else {
        Vec::new()
    };

    Ok(SmimeOrderPlan {
        smime_type,
        generation,
        emails,
        upn,
        cn_source,
        subject,
        usage,
        csr,
        declared_key,
        is_rsassa_pss,
        signature_hash,
        ca_cert_id,
        term,
        term_end,
        first_certificate,
        organization,
        contacts,
        common: validate_common(req)?,
        reject_if_pending: req.reject_if_pending.unwrap_or(false),
        disable_generate_in_browser_email: req.disable_generate_in_browser_email.unwrap_or(false),
        doc_signing: None,
    })
}

fn profile_type(
    cert: &CertificateInput,
    now: OffsetDateTime,
    default: Generation,
) -> Result<Generation> {
    let Some(raw) = optional_str(&cert.profile_type) else {
        return Ok(default);
    };
    if raw.eq_ignore_ascii_case("legacy") && now >= LEGACY_CUTOFF {
        return Err(err(
            codes::INVALID_PROFILE_TYPE,
            "The field 'certificate.profile_type' may not be 'legacy': Legacy S/MIME profiles are not accepted since 10 July 2025 17:00 UTC (SBR §7.1.6.1). Use 'multipurpose' or 'strict'.",
        ));
    }
    Generation::parse(raw).ok_or_else(|| {
        err(
            codes::INVALID_PROFILE_TYPE,
            format!("The field 'certificate.profile_type' must be 'multipurpose' or 'strict'; got '{raw}'."),
        )
    })
}

/// `certificate.emails`: required, valid ASCII mailboxes, duplicates merged.
fn emails(cert: &CertificateInput) -> Result<Vec<String>> {
    let list = cert
        .emails
        .as_ref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| PolicyError::missing("certificate.emails"))?;
    if list.len() > MAX_EMAILS {
        return Err(err(
            codes::TOO_MANY_EMAILS,
            format!("The field 'certificate.emails' has {} addresses; at most {MAX_EMAILS} are allowed.", list.len()),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let field = format!("certificate.emails[{i}]");
        let e = normalize_email(raw, &field)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&e)) {
            out.push(e);
        }
    }
    Ok(out)
}

/// A mailbox with its domain in lower case. The domain must be a public
/// DNS name (an address certwell can validate).
pub fn normalize_email(raw: &str, field: &str) -> Result<String> {
    let e = raw.trim();
    check_email(e, field)?;
    let (local, domain) = e.rsplit_once('@').unwrap_or((e, ""));
    let d = parse_dns_name(domain, field).map_err(|_| {
        err(
            codes::INVALID_EMAIL,
            format!("The field '{field}' has a domain that is not a public DNS name: '{domain}'."),
        )
    })?;
    if d.wildcard {
        return Err(err(
            codes::INVALID_EMAIL,
            format!("The field '{field}' is not a valid email address: '{e}'."),
        ));
    }
    Ok(format!("{local}@{}", d.name))
}

/// The domain part of a normalised address.
pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, d)| d)
}

fn user_principle_name(
    product: &Product,
    cert: &CertificateInput,
    generation: Option<Generation>,
) -> Result<Option<String>> {
    let Some(list) = &cert.user_principle_name else {
        return Ok(None);
    };
    let list: Vec<&str> = list
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() || product.family == Family::Client {
        // The client endpoint has no UPN parameter; it is ignored there.
        return Ok(None);
    }
    if product.smime != Some(SmimeType::Sponsor) {
        return Err(not_allowed(
            "certificate.user_principle_name",
            &format!(
                "for product {}: only secure_email_sponsor carries a UPN",
                product.name_id
            ),
        ));
    }
    if generation == Some(Generation::Strict) {
        return Err(not_allowed(
            "certificate.user_principle_name",
            "with profile_type 'strict': Strict S/MIME certificates may carry no otherName but SmtpUTF8Mailbox (SBR §7.1.2.3 h)",
        ));
    }
    if list.len() > 1 {
        return Err(err(
            codes::INVALID_USER_PRINCIPLE_NAME,
            format!(
                "The field 'certificate.user_principle_name' may hold one name; got {}.",
                list.len()
            ),
        ));
    }
    let upn = list[0];
    if upn.chars().count() > 255 {
        return Err(PolicyError::too_long(
            "certificate.user_principle_name[0]",
            255,
        ));
    }
    // A UPN is `user@suffix`; certwell encodes it as given and requires
    // that shape so a mistyped value is caught here, not in the certificate.
    if !crate::error::is_valid_email(upn) {
        return Err(err(
            codes::INVALID_USER_PRINCIPLE_NAME,
            format!("The field 'certificate.user_principle_name[0]' must have the form user@domain.example (ASCII); got '{upn}'."),
        ));
    }
    Ok(Some(upn.to_string()))
}

fn usage_designation(cert: &CertificateInput, generation: Generation) -> Result<Usage> {
    let ud = cert
        .usage_designation
        .as_ref()
        .ok_or_else(|| PolicyError::missing("certificate.usage_designation"))?;
    let raw = optional_str(&ud.primary_usage)
        .ok_or_else(|| PolicyError::missing("certificate.usage_designation.primary_usage"))?;
    let primary = PrimaryUsage::parse(&raw.to_ascii_lowercase()).ok_or_else(|| {
        err(
            codes::INVALID_PRIMARY_USAGE,
            format!("The field 'certificate.usage_designation.primary_usage' must be one of signing, key_management or dual_use; got '{raw}'."),
        )
    })?;
    let mut additional = Vec::new();
    for (i, raw) in ud.additional_usages.iter().flatten().enumerate() {
        let field = format!("certificate.usage_designation.additional_usages[{i}]");
        let u = AdditionalUsage::parse(&raw.trim().to_ascii_lowercase()).ok_or_else(|| {
            err(
                codes::INVALID_ADDITIONAL_USAGE,
                format!("The field '{field}' must be one of non_repudiation, data_encipherment, client_auth, encipher_only or decipher_only; got '{raw}'."),
            )
        })?;
        if !u.allowed_with(primary) {
            return Err(err(
                codes::INVALID_ADDITIONAL_USAGE,
                format!(
                    "The field '{field}' ({}) is not available with primary_usage '{}'.",
                    u.as_str(),
                    primary.as_str()
                ),
            ));
        }
        if !u.allowed_in(generation) {
            return Err(err(
                codes::INVALID_ADDITIONAL_USAGE,
                format!(
                    "The field '{field}' ({}) is not available with profile_type '{}'.",
                    u.as_str(),
                    generation.as_str()
                ),
            ));
        }
        if !additional.contains(&u) {
            additional.push(u);
        }
    }
    if additional.contains(&AdditionalUsage::EncipherOnly)
        && additional.contains(&AdditionalUsage::DecipherOnly)
    {
        return Err(err(
            codes::INVALID_ADDITIONAL_USAGE,
            "The field 'certificate.usage_designation.additional_usages' may contain encipher_only or decipher_only, not both.",
        ));
    }
    Ok(Usage {
        primary,
        additional,
        email_protection: true,
        document_signing: false,
    })
}

fn client_usage(product: &Product) -> Usage {
    let u = product.client_usage.unwrap_or(crate::catalog::ClientUsage {
        signing: true,
        key_management: false,
        non_repudiation: false,
        email_protection: false,
        client_auth: true,
    });
    let primary = match (u.signing, u.key_management) {
        (true, true) => PrimaryUsage::DualUse,
        (false, true) => PrimaryUsage::KeyManagement,
        _ => PrimaryUsage::Signing,
    };
    let mut additional = Vec::new();
    if u.non_repudiation {
        additional.push(AdditionalUsage::NonRepudiation);
    }
    if u.client_auth {
        additional.push(AdditionalUsage::ClientAuth);
    }
    Usage {
        primary,
        additional,
        email_protection: u.email_protection,
        document_signing: false,
    }
}

/// The key-type rules of the seed's "RSA CSR" and "ECC CSR" tables.
pub fn check_usage_for_key(usage: &Usage, kind: KeyKind) -> Result<()> {
    for u in &usage.additional {
        if let Some(need) = u.key_kind() {
            if need != kind {
                return Err(err(
                    codes::INVALID_ADDITIONAL_USAGE,
                    format!(
                        "The additional usage '{}' needs an {} key; this order's key is {}.",
                        u.as_str(),
                        need.as_str().to_ascii_uppercase(),
                        kind.as_str().to_ascii_uppercase()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The CSR, or the key announced for a later one.
fn key_material(cert: &CertificateInput) -> Result<(Option<String>, Option<DeclaredKey>)> {
    let kind = match optional_str(&cert.csr_key_type).map(str::to_ascii_lowercase) {
        None => None,
        Some(k) if k == "rsa" => Some(KeyKind::Rsa),
        Some(k) if k == "ecc" || k == "ec" || k == "ecdsa" => Some(KeyKind::Ecc),
        Some(k) => {
            return Err(err(
                codes::INVALID_CSR_KEY_TYPE,
                format!("The field 'certificate.csr_key_type' must be 'rsa' or 'ecc'; got '{k}'."),
            ))
        }
    };
    let declared = declared_key(kind, cert.key_size.as_ref())?;
    match optional_str(&cert.csr) {
        Some(csr) => {
            if csr.len() > 64 * 1024 {
                return Err(err(
                    codes::CSR_INVALID_CANNOT_PARSE,
                    "The field 'certificate.csr' is too large.",
                ));
            }
            Ok((Some(csr.to_string()), None))
        }
        None => Ok((None, Some(declared))),
    }
}

fn declared_key(kind: Option<KeyKind>, size: Option<&serde_json::Value>) -> Result<DeclaredKey> {
    use serde_json::Value;
    let bad = |what: &str| {
        err(
            codes::INVALID_KEY_SIZE,
            format!("The field 'certificate.key_size' must be 2048, 3072 or 4096 for RSA, or 'p-256' or 'p-384' for ECC; got {what}."),
        )
    };
    let curve = |s: &str| match s.trim().to_ascii_lowercase().as_str() {
        "p-256" | "p256" | "256" | "prime256v1" | "secp256r1" => Some(DeclaredKey::P256),
        // "p-354" is how the seed spells p-384.
        "p-384" | "p384" | "384" | "secp384r1" | "p-354" => Some(DeclaredKey::P384),
        _ => None,
    };
    match (kind.unwrap_or(KeyKind::Rsa), size) {
        (KeyKind::Rsa, None | Some(Value::Null)) => Ok(DeclaredKey::Rsa(2048)),
        (KeyKind::Ecc, None | Some(Value::Null)) => Ok(DeclaredKey::P256),
        (KeyKind::Rsa, Some(v)) => {
            let bits = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match bits {
                Some(b @ (2048 | 3072 | 4096)) => Ok(DeclaredKey::Rsa(b as u32)),
                _ => Err(bad(&v.to_string())),
            }
        }
        (KeyKind::Ecc, Some(v)) => {
            let s = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            curve(&s).ok_or_else(|| bad(&v.to_string()))
        }
    }
}

fn individual_names(
    cert: &CertificateInput,
) -> Result<(Option<String>, Option<String>, Option<String>)> {
    let Some(ind) = &cert.individual else {
        return Ok((None, None, None));
    };
    Ok((
        optional_text(&ind.first_name, "certificate.individual.first_name", 64)?,
        optional_text(&ind.last_name, "certificate.individual.last_name", 64)?,
        optional_text(&ind.pseudonym, "certificate.individual.pseudonym", 128)?,
    ))
}

fn require_full_name(
    first: &Option<String>,
    last: &Option<String>,
    why: &str,
) -> Result<(String, String)> {
    match (first, last) {
        (Some(f), Some(l)) => Ok((f.clone(), l.clone())),
        (None, _) => Err(err(
            codes::MISSING_REQUIRED_FIELD,
            format!("The field 'certificate.individual.first_name' is required {why}."),
        )),
        (_, None) => Err(err(
            codes::MISSING_REQUIRED_FIELD,
            format!("The field 'certificate.individual.last_name' is required {why}."),
        )),
    }
}

fn full_name_cn(first: &str, last: &str) -> Result<String> {
    let cn = format!("{first} {last}");
    if cn.chars().count() > 64 {
        return Err(err(
            codes::FIELD_TOO_LONG,
            "The fields 'certificate.individual.first_name' and 'last_name' together must be at most 63 characters (the common name holds 64).",
        ));
    }
    Ok(cn)
}

fn indicator(cert: &CertificateInput, product: &Product, allowed: &[&str]) -> Result<CnSource> {
    let raw = optional_str(&cert.common_name_indicator).ok_or_else(|| {
        err(
            codes::MISSING_REQUIRED_FIELD,
            format!(
                "The field 'certificate.common_name_indicator' is required for product {} (one of {allowed:?}).",
                product.name_id
            ),
        )
    })?;
    let lower = raw.to_ascii_lowercase();
    match CnSource::parse(&lower) {
        Some(s) if allowed.contains(&lower.as_str()) => Ok(s),
        _ => Err(err(
            codes::INVALID_COMMON_NAME_INDICATOR,
            format!(
                "The field 'certificate.common_name_indicator' must be one of {allowed:?} for product {}; got '{raw}'.",
                product.name_id
            ),
        )),
    }
}

/// The subject of a secure-email order (the seed's "Common name value" and
/// "Optional subject DN attributes").
fn secure_email_subject(
    product: &Product,
    req: &OrderRequest,
    cert: &CertificateInput,
    emails: &[String],
) -> Result<(CnSource, SubjectPlan)> {
    let kind = product.smime.unwrap_or(SmimeType::Mailbox);
    let s = req.subject.clone().unwrap_or_default();
    let sponsor = kind == SmimeType::Sponsor;
    let only_sponsor = |set: bool, field: &str| -> Result<()> {
        if set && !sponsor {
            return Err(not_allowed(
                field,
                &format!(
                    "for product {}: only secure_email_sponsor supports it",
                    product.name_id
                ),
            ));
        }
        Ok(())
    };
    only_sponsor(
        s.include_given_name_surname == Some(true),
        "subject.include_given_name_surname",
    )?;
    only_sponsor(
        s.include_pseudonym == Some(true),
        "subject.include_pseudonym",
    )?;
    only_sponsor(optional_str(&s.pseudonym).is_some(), "subject.pseudonym")?;
    only_sponsor(optional_str(&s.job_title).is_some(), "subject.job_title")?;
    only_sponsor(
        optional_str(&s.serial_number).is_some(),
        "subject.serial_number",
    )?;

    let include_email =
        s.include_email.unwrap_or(false) || cert.include_email_in_subject.unwrap_or(false);
    let mut plan = SubjectPlan {
        email: include_email.then(|| emails[0].clone()),
        ..SubjectPlan::default()
    };

    let source = match kind {
        SmimeType::Mailbox => {
            // The indicator is ignored: the CN is always the first address.
            plan.common_name = emails[0].clone();
            CnSource::EmailAddress
        }
        SmimeType::Organization => {
            let source = indicator(cert, product, &["email_address", "organization_name"])?;
            if source == CnSource::EmailAddress {
                plan.common_name = emails[0].clone();
            }
            // organization_name: filled from the organization at issuance.
            source
        }
        SmimeType::Sponsor => {
            let source = indicator(
                cert,
                product,
                &["email_address", "given_name_surname", "pseudonym"],
            )?;
            sponsor_subject(cert, &s, source, emails, &mut plan)?;
            source
        }
    };
    // Title and serial number (sponsor only, checked above). X.520 bounds
    // (ub-title and ub-serial-number are 64) are tighter than the seed's.
    plan.title = optional_text(&s.job_title, "subject.job_title", 64)?;
    plan.serial_number = optional_text(&s.serial_number, "subject.serial_number", 64)?;
    if let Some(sn) = &plan.serial_number {
        if !sn
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
        {
            return Err(PolicyError::invalid(
                "subject.serial_number",
                "only PrintableString characters are allowed",
            ));
        }
    }
    Ok((source, plan))
}

fn sponsor_subject(
    cert: &CertificateInput,
    s: &certwell_api::order::SubjectInput,
    source: CnSource,
    emails: &[String],
    plan: &mut SubjectPlan,
) -> Result<()> {
    if cert.individual.is_none() {
        return Err(PolicyError::missing("certificate.individual"));
    }
    let (first, last, pseudonym) = individual_names(cert)?;
    let subject_pseudonym = optional_text(&s.pseudonym, "subject.pseudonym", 128)?;
    let include_gns = s.include_given_name_surname.unwrap_or(false);
    let include_pseudonym = s.include_pseudonym.unwrap_or(false);
    if include_pseudonym && pseudonym.is_none() {
        return Err(err(
            codes::MISSING_REQUIRED_FIELD,
            "The field 'certificate.individual.pseudonym' is required when subject.include_pseudonym is true (or set subject.pseudonym instead).",
        ));
    }
    // The pseudonym attribute, if any.
    let mut pseudonym_attr = if include_pseudonym {
        pseudonym.clone()
    } else {
        subject_pseudonym.clone()
    };
    match source {
        CnSource::GivenNameSurname => {
            let (f, l) = require_full_name(
                &first,
                &last,
                "when common_name_indicator is given_name_surname",
            )?;
            if !include_gns {
                return Err(err(
                    codes::MISSING_REQUIRED_FIELD,
                    "The field 'subject.include_given_name_surname' must be true when common_name_indicator is given_name_surname.",
                ));
            }
            plan.common_name = full_name_cn(&f, &l)?;
        }
        CnSource::Pseudonym => {
            let p = pseudonym.clone().ok_or_else(|| {
                err(
                    codes::MISSING_REQUIRED_FIELD,
                    "The field 'certificate.individual.pseudonym' is required when common_name_indicator is pseudonym.",
                )
            })?;
            if subject_pseudonym.as_ref().is_some_and(|sp| *sp != p) {
                return Err(PolicyError::invalid(
                    "subject.pseudonym",
                    "it must equal certificate.individual.pseudonym when the common name is the pseudonym",
                ));
            }
            plan.common_name = p.clone();
            pseudonym_attr = Some(p);
        }
        _ => {
            // email_address: the subject still needs a name or a pseudonym.
            if (first.is_none() || last.is_none()) && pseudonym.is_none() {
                return Err(err(
                    codes::MISSING_REQUIRED_FIELD,
                    "The field 'certificate.individual' needs first_name and last_name, or pseudonym, for secure_email_sponsor.",
                ));
            }
            plan.common_name = emails[0].clone();
        }
    }
    if include_gns && pseudonym_attr.is_some() {
        return Err(PolicyError::invalid(
            "subject.include_given_name_surname",
            "a subject may carry a pseudonym or a given name and surname, not both (SBR §7.1.4.2.2)",
        ));
    }
    if include_gns {
        let (f, l) = require_full_name(
            &first,
            &last,
            "when subject.include_given_name_surname is true",
        )?;
        plan.given_name = Some(f);
        plan.surname = Some(l);
    } else if pseudonym_attr.is_some() {
        plan.pseudonym = pseudonym_attr;
    } else if let (Some(f), Some(l)) = (first, last) {
        // SBR §7.1.4.2.2: a sponsor-validated subject carries the personal
        // name or a pseudonym; the name is added when neither was asked for.
        plan.given_name = Some(f);
        plan.surname = Some(l);
    } else {
        plan.pseudonym = pseudonym;
    }
    Ok(())
}

/// The subject of a client-endpoint order.
fn client_subject(
    product: &Product,
    cert: &CertificateInput,
    emails: &[String],
) -> Result<(CnSource, SubjectPlan)> {
    let cn = optional_text(&cert.common_name, "certificate.common_name", 64)?;
    let mut plan = SubjectPlan::default();
    match product.smime {
        Some(SmimeType::Mailbox) => {
            if cn.is_some() {
                return Err(not_allowed(
                    "certificate.common_name",
                    &format!("for product {}: the common name of a mailbox-validated certificate is the first email address", product.name_id),
                ));
            }
            plan.common_name = emails[0].clone();
            Ok((CnSource::EmailAddress, plan))
        }
        Some(_) => {
            let cn = cn.ok_or_else(|| PolicyError::missing("certificate.common_name"))?;
            let source = indicator(cert, product, &["given_name_surname", "pseudonym"])?;
            let (first, last, pseudonym) = individual_names(cert)?;
            match source {
                CnSource::GivenNameSurname => {
                    let (f, l) = require_full_name(
                        &first,
                        &last,
                        "when common_name_indicator is given_name_surname",
                    )?;
                    let full = full_name_cn(&f, &l)?;
                    plan.given_name = Some(f);
                    plan.surname = Some(l);
                    plan.common_name = pick_client_cn(&cn, &[full], emails)?;
                }
                _ => {
                    let p = pseudonym.ok_or_else(|| {
                        err(
                            codes::MISSING_REQUIRED_FIELD,
                            "The field 'certificate.individual.pseudonym' is required when common_name_indicator is pseudonym.",
                        )
                    })?;
                    plan.pseudonym = Some(p.clone());
                    plan.common_name = pick_client_cn(&cn, &[p], emails)?;
                }
            }
            Ok((CnSource::Explicit, plan))
        }
        None => {
            plan.common_name = cn.ok_or_else(|| PolicyError::missing("certificate.common_name"))?;
            for (i, ou) in cert.organization_units.iter().flatten().enumerate() {
                if let Some(ou) = optional_text(
                    &Some(ou.clone()),
                    &format!("certificate.organization_units[{i}]"),
                    64,
                )? {
                    plan.organizational_units.push(ou);
                }
            }
            Ok((CnSource::Explicit, plan))
        }
    }
}

/// A sponsor-validated common name must be the personal name, the
/// pseudonym or one of the addresses (SBR §7.1.4.2.2 a).
fn pick_client_cn(cn: &str, names: &[String], emails: &[String]) -> Result<String> {
    if let Some(n) = names.iter().find(|n| n.as_str() == cn) {
        return Ok(n.clone());
    }
    if let Some(e) = emails.iter().find(|e| e.eq_ignore_ascii_case(cn)) {
        return Ok(e.clone());
    }
    Err(err(
        codes::INVALID_COMMON_NAME,
        format!("The field 'certificate.common_name' must be the individual's name ({}), or one of the addresses in certificate.emails; got '{cn}'.", names.join(", ")),
    ))
}

/// `dd MMM YYYY`, e.g. "09 JUN 2025".
pub fn parse_dd_mmm_yyyy(s: &str) -> Option<Date> {
    Date::parse(
        s.trim(),
        format_description!("[day] [month repr:short case_sensitive:false] [year]"),
    )
    .ok()
}

/// One S/MIME or client term (`order_validity`, `certificate.cert_validity`
/// or the older root fields): a date over days over years. Dates are
/// `dd MMM YYYY` in the objects and `yyyy-MM-dd` at the root, as the seeds
/// write them.
fn resolve_term(
    product: &Product,
    f: &TermFields,
    max_days: i64,
    today: Date,
) -> Result<OrderTerm> {
    let years_allowed = product.allowed_validity_years;
    // Each given field must be valid, even when a later one overrides it.
    let years = f
        .years
        .map(|y| {
            if years_allowed.contains(&y) {
                Ok(OrderTerm::Years(y))
            } else {
                Err(err(
                    codes::INVALID_VALIDITY,
                    format!(
                        "The field '{}' must be one of {years_allowed:?} for product {}; got {y}.",
                        f.name("years"),
                        product.name_id
                    ),
                ))
            }
        })
        .transpose()?;
    let days = match f.days {
        Some(d) if (1..=max_days).contains(&d) => Some(OrderTerm::Days(d)),
        Some(d) => {
            return Err(err(
                codes::INVALID_VALIDITY,
                format!(
                    "The field '{}' must be between 1 and {max_days} for product {}; got {d}.",
                    f.name("days"),
                    product.name_id
                ),
            ))
        }
        None => None,
    };
    let date = f
        .custom_expiration_date
        .map(|raw| {
            let field = f.name("custom_expiration_date");
            let (parsed, format) = match f.spelling {
                TermSpelling::Root => (parse_ymd(raw), "yyyy-MM-dd"),
                TermSpelling::Object(_) => {
                    (parse_dd_mmm_yyyy(raw), "dd MMM YYYY (e.g. \"09 JUN 2025\")")
                }
            };
            let d = parsed.ok_or_else(|| {
                err(
                    codes::INVALID_CUSTOM_EXPIRATION_DATE,
                    format!(
                        "The field '{field}' must be a date in the format {format}; got '{raw}'."
                    ),
                )
            })?;
            if d <= today {
                return Err(err(
                    codes::INVALID_CUSTOM_EXPIRATION_DATE,
                    format!("The field '{field}' must be in the future."),
                ));
            }
            if d > today + Duration::days(max_days) {
                return Err(err(
                    codes::INVALID_CUSTOM_EXPIRATION_DATE,
                    format!("The field '{field}' must be at most {max_days} days ahead."),
                ));
            }
            Ok(OrderTerm::Date(d))
        })
        .transpose()?;
    date.or(days)
        .or(years)
        .ok_or_else(|| PolicyError::missing(&f.name("years")))
}

/// keyUsage bits (pki-profiles.md §1.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub data_encipherment: bool,
    pub key_agreement: bool,
    pub encipher_only: bool,
    pub decipher_only: bool,
}

/// The keyUsage a usage designation yields for a key type: signing → DS,
/// key management → KE (RSA) or KA (ECC), plus the additional bits.
pub fn key_usage(usage: &Usage, kind: KeyKind) -> KeyUsage {
    let rsa = kind == KeyKind::Rsa;
    KeyUsage {
        digital_signature: usage.primary.signs(),
        non_repudiation: usage.has(AdditionalUsage::NonRepudiation),
        key_encipherment: rsa && usage.primary.manages_keys(),
        data_encipherment: rsa && usage.has(AdditionalUsage::DataEncipherment),
        key_agreement: !rsa && usage.primary.manages_keys(),
        encipher_only: !rsa && usage.has(AdditionalUsage::EncipherOnly),
        decipher_only: !rsa && usage.has(AdditionalUsage::DecipherOnly),
    }
}

pub const OID_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
pub const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
pub const OID_DOCUMENT_SIGNING_MS: &str = "1.3.6.1.4.1.311.10.3.12";
pub const OID_ADOBE_AUTHENTIC_DOCUMENTS: &str = "1.2.840.113583.1.1.5";

/// The extendedKeyUsage OIDs of a usage designation.
pub fn extended_key_usages(usage: &Usage) -> Vec<&'static str> {
    let mut v = Vec::new();
    if usage.email_protection {
        v.push(OID_EMAIL_PROTECTION);
    }
    if usage.has(AdditionalUsage::ClientAuth) {
        v.push(OID_CLIENT_AUTH);
    }
    if usage.document_signing {
        v.push(OID_DOCUMENT_SIGNING_MS);
        v.push(OID_ADOBE_AUTHENTIC_DOCUMENTS);
    }
    v
}

/// The reserved S/MIME policy OID (pki-profiles.md §1.1).
pub fn smime_policy_oid(kind: SmimeType, generation: Generation) -> &'static str {
    match (kind, generation) {
        (SmimeType::Mailbox, Generation::Multipurpose) => "2.23.140.1.5.1.2",
        (SmimeType::Mailbox, Generation::Strict) => "2.23.140.1.5.1.3",
        (SmimeType::Organization, Generation::Multipurpose) => "2.23.140.1.5.2.2",
        (SmimeType::Organization, Generation::Strict) => "2.23.140.1.5.2.3",
        (SmimeType::Sponsor, Generation::Multipurpose) => "2.23.140.1.5.3.2",
        (SmimeType::Sponsor, Generation::Strict) => "2.23.140.1.5.3.3",
    }
}

/// One subject attribute, in certificate order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAttribute {
    Country(String),
    State(String),
    Locality(String),
    Organization(String),
    OrganizationalUnit(String),
    OrganizationIdentifier(String),
    GivenName(String),
    Surname(String),
    Pseudonym(String),
    Title(String),
    SerialNumber(String),
    CommonName(String),
    EmailAddress(String),
}

/// The SBR organizationIdentifier (SBR §7.1.4.2.2 d) of an organization:
/// `NTR` + country + `-` + registration number. None when the organization
/// has no registration number on record.
pub fn organization_identifier(org: &NewOrganization) -> Option<String> {
    let reg = org.ev.registration_number.as_deref()?.trim();
    if reg.is_empty() {
        return None;
    }
    Some(format!("NTR{}-{reg}", org.country.to_ascii_uppercase()))
}

/// What an S/MIME order of type `smime` waits for besides validation: an
/// organization- or sponsor-validated certificate names the
/// organization's registration number (see [`organization_identifier`]),
/// which the validation desk records.
pub fn registration_blocker(
    smime: Option<SmimeType>,
    org: Option<&NewOrganization>,
) -> Option<crate::issuance::Blocker> {
    (smime.is_some_and(|t| t != SmimeType::Mailbox)
        && org.and_then(organization_identifier).is_none())
    .then_some(crate::issuance::Blocker::RegistrationNumberMissing)
}

/// The subject attributes of the certificate, given the order's
/// organization (None for mailbox-validated products).
pub fn subject_attributes(
    plan: &SmimeOrderPlan,
    org: Option<&NewOrganization>,
) -> Result<Vec<SubjectAttribute>> {
    use SubjectAttribute as A;
    let mut out = Vec::new();
    if let Some(o) = org {
        out.push(A::Country(o.country.to_ascii_uppercase()));
        out.push(A::State(o.state.clone()));
        out.push(A::Locality(o.city.clone()));
        out.push(A::Organization(o.name.clone()));
        for ou in &plan.subject.organizational_units {
            out.push(A::OrganizationalUnit(ou.clone()));
        }
        if plan.smime_type.is_some() {
            let id = organization_identifier(o).ok_or_else(|| {
                err(
                    codes::INVALID_ORGANIZATION,
                    "The organization has no registration number: organization- and sponsor-validated S/MIME certificates carry an organizationIdentifier (SBR §7.1.4.2.2 d).",
                )
            })?;
            out.push(A::OrganizationIdentifier(id));
        }
    }
    let s = &plan.subject;
    if let Some(v) = &s.given_name {
        out.push(A::GivenName(v.clone()));
    }
    if let Some(v) = &s.surname {
        out.push(A::Surname(v.clone()));
    }
    if let Some(v) = &s.pseudonym {
        out.push(A::Pseudonym(v.clone()));
    }
    if let Some(v) = &s.title {
        out.push(A::Title(v.clone()));
    }
    if let Some(v) = &s.serial_number {
        out.push(A::SerialNumber(v.clone()));
    }
    let cn = match plan.cn_source {
        CnSource::OrganizationName => org.map(|o| o.name.clone()).unwrap_or_default(),
        _ => s.common_name.clone(),
    };
    if cn.chars().count() > 64 {
        return Err(err(
            codes::FIELD_TOO_LONG,
            "The common name of this certificate would exceed 64 characters.",
        ));
    }
    if !cn.is_empty() {
        out.push(A::CommonName(cn));
    }
    if let Some(v) = &s.email {
        out.push(A::EmailAddress(v.clone()));
    }
    Ok(out)
}

/// Free-mail domains whose addresses an organization may only put on a
/// sponsor- or organization-validated certificate after validating the
/// domain itself (the seed's note on public email service providers).
pub const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "qq.com",
    "163.com",
];

pub fn is_public_email_domain(domain: &str) -> bool {
    PUBLIC_EMAIL_DOMAINS.contains(&domain)
}

/// What a document-signing order adds to the common subscriber plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSigningPlan {
    pub cs_provisioning_method: certwell_types::ProvisioningMethod,
    pub use_org_as_common_name: bool,
    pub subject: DsSubject,
    pub ship_info: Option<ShipInfo>,
    pub server_platform_id: i64,
}

/// The seed's `subject` object: the person the certificate is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsSubject {
    pub name: String,
    pub job_title: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipInfo {
    pub name: String,
    pub addr1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
    /// ISO 3166-1 alpha-2, lower case.
    pub country: String,
    /// standard | expedited
    pub method: String,
}

#[cfg(test)]
mod tests;
