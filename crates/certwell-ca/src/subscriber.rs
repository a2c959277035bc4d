//! Generic subscriber certificates: S/MIME (SBR §7.1.2.3), client
//! authentication and (later) document signing.
//!
//! The builder is profile-agnostic: the caller (certwell-policy) decides which
//! subject attributes, key usages, EKUs and policy OIDs a product gets. This
//! module enforces what holds for every such certificate: RFC 5280 syntax,
//! X.520 upper bounds and string types, key-usage bits that fit the key type,
//! every subject email address repeated in the SAN, and a SAN that is critical
//! exactly when the subject is empty.

use time::OffsetDateTime;

use crate::cert::{
    check_http_url, country_rdn, encode_validity, ext_aia, ext_aki, ext_crldp, ext_eku, ext_ku,
    ext_policy_list, ext_ski, extension, key_identifier, rdn, sign_with_and_assemble,
    tbs_certificate, validate_subject_spki, ParsedCert, SpkiKind, StrType, OID_C, OID_CN,
    OID_EXT_SAN, OID_L, OID_O, OID_POSTAL_CODE, OID_SERIAL_NUMBER, OID_ST, OID_STREET,
};
use crate::derw;
use crate::profile::{check_tbs, CertProfile, SubscriberProfile};
use crate::serial::RecordedSerial;
use crate::signer::{SignatureScheme, Signer};
use crate::CaError;

const OID_OU: &str = "2.5.4.11";
const OID_TITLE: &str = "2.5.4.12";
const OID_SURNAME: &str = "2.5.4.4";
const OID_GIVEN_NAME: &str = "2.5.4.42";
const OID_PSEUDONYM: &str = "2.5.4.65";
const OID_ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";
const OID_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";
/// Microsoft User Principal Name otherName (szOID_NT_PRINCIPAL_NAME).
const OID_ON_UPN: &str = "1.3.6.1.4.1.311.20.2.3";

// keyUsage bit numbers (RFC 5280 §4.2.1.3)
const KU_DIGITAL_SIGNATURE: u8 = 0;
const KU_NON_REPUDIATION: u8 = 1;
const KU_KEY_ENCIPHERMENT: u8 = 2;
const KU_DATA_ENCIPHERMENT: u8 = 3;
const KU_KEY_AGREEMENT: u8 = 4;
const KU_ENCIPHER_ONLY: u8 = 7;
const KU_DECIPHER_ONLY: u8 = 8;

/// Longest rfc822Name accepted (RFC 5321 §4.5.3.1.3 path limit minus "<>").
const MAX_EMAIL_LEN: usize = 254;

/// One subject attribute, in the order they should appear (one attribute per RDN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectAttr {
    /// ISO 3166-1 alpha-2, PrintableString.
    Country(String),
    State(String),
    Locality(String),
    PostalCode(String),
    Street(String),
    Organization(String),
    OrganizationalUnit(String),
    /// SBR §7.1.4.2.2 (d) / EVG format `SSSCC[+SP][-reference]`, e.g. `NTRUS-1234567`.
    OrganizationIdentifier(String),
    /// An email address here must also be one of the SAN emails.
    CommonName(String),
    GivenName(String),
    Surname(String),
    Pseudonym(String),
    Title(String),
    /// PrintableString.
    SerialNumber(String),
    /// IA5String; must also be one of the SAN emails.
    EmailAddress(String),
}

/// keyUsage bits a subscriber certificate may carry (keyCertSign / cRLSign
/// are CA-only and not representable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUsageBits {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub data_encipherment: bool,
    pub key_agreement: bool,
    pub encipher_only: bool,
    pub decipher_only: bool,
}

/// Input for [`build_subscriber_leaf`].
#[derive(Debug)]
pub struct SubscriberLeafRequest<'a> {
    /// Subject attributes in order; may be empty (the SAN is then critical).
    pub subject: &'a [SubjectAttr],
    /// rfc822Name SAN entries (ASCII addresses).
    pub emails: &'a [String],
    /// SAN otherName User Principal Name (UTF8String value).
    pub upn: Option<&'a str>,
    /// keyUsage (critical).
    pub key_usage: KeyUsageBits,
    /// extKeyUsage OIDs (non-critical); non-empty: every subscriber
    /// profile requires an extKeyUsage (S/MIME: emailProtection; client
    /// authentication: clientAuth; document signing: Microsoft Document
    /// Signing or Adobe Authentic Documents), so an empty list is refused.
    pub ext_key_usages: &'a [&'a str],
    /// certificatePolicies OIDs without qualifiers (non-critical); non-empty.
    pub policy_oids: &'a [&'a str],
    pub subject_spki_der: &'a [u8],
    /// The serial, recorded before signing (consumed by the build).
    pub serial: RecordedSerial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Which subscriber profile the pre-sign check holds the certificate to.
    pub profile: SubscriberProfile,
    /// The validity cap of the product (S/MIME: at most 825 days).
    pub max_validity_days: i64,
    /// CRLDP of the issuing CA (http).
    pub crl_url: &'a str,
    /// AIA caIssuers (http).
    pub ca_issuers_url: &'a str,
    /// AIA ocsp (http), optional.
    pub ocsp_url: Option<&'a str>,
    /// Signature scheme; must be one the signer's key can produce.
    pub signature: SignatureScheme,
}

/// Build a subscriber certificate (S/MIME, client authentication, document
/// signing) issued by `issuer_cert_der`, whose key is `signer`.
///
/// Extensions: AKI (issuer SKI), SKI, keyUsage (critical), extKeyUsage,
/// certificatePolicies, CRLDP, AIA (caIssuers + optional OCSP) and SAN
/// (rfc822Names, then the UPN otherName; critical iff the subject is empty;
/// omitted only when there are neither emails nor a UPN). No basicConstraints.
/// The certificate is verified against the issuer key before it is returned.
pub fn build_subscriber_leaf(
    req: SubscriberLeafRequest,
    issuer_cert_der: &[u8],
    signer: &dyn Signer,
) -> Result<Vec<u8>, CaError> {
    let issuer = ParsedCert::parse(issuer_cert_der)?;
    let signer_spki = check_issuer_and_signer(&issuer, signer, &req)?;
    let kind = validate_subject_spki(req.subject_spki_der)?;

    check_emails(req.emails)?;
    if let Some(upn) = req.upn {
        check_email_syntax("upn", upn)?;
    }
    let san_present = !req.emails.is_empty() || req.upn.is_some();
    if req.subject.is_empty() && !san_present {
        return Err(CaError::InvalidInput(
            "a certificate with an empty subject needs a subjectAltName (emails or upn)".into(),
        ));
    }
    let subject = subject_der(req.subject, req.emails)?;
    let ku = key_usage_bits(&req.key_usage, kind)?;
    check_oid_list("ext_key_usages", req.ext_key_usages, false)?;
    if req.ext_key_usages.is_empty() {
        // A profile rule, reported as such (the pre-sign check would refuse
        // the certificate too, but less plainly).
        return Err(CaError::Profile(format!(
            "ext_key_usages is empty, but every subscriber certificate needs an \
             extKeyUsage ({}: {})",
            req.profile.describe(),
            required_eku(req.profile)
        )));
    }
    check_oid_list("policy_oids", req.policy_oids, true)?;
    check_http_url("crl_url", req.crl_url)?;
    check_http_url("ca_issuers_url", req.ca_issuers_url)?;
    if let Some(u) = req.ocsp_url {
        check_http_url("ocsp_url", u)?;
    }
    let validity = encode_validity(req.not_before, req.not_after)?;

    let mut exts = vec![
        ext_aki(&issuer.subject_key_id()?),
        ext_ski(&key_identifier(req.subject_spki_der)?),
        ext_ku(&ku),
    ];
    exts.push(ext_eku(req.ext_key_usages));
    exts.push(ext_policy_list(req.policy_oids));
    exts.push(ext_crldp(req.crl_url));
    exts.push(ext_aia(Some(req.ca_issuers_url), req.ocsp_url));
    if san_present {
        exts.push(ext_san_email_upn(
            req.emails,
            req.upn,
            req.subject.is_empty(),
        ));
    }

    let alg = req.signature.algorithm_der();
    let tbs = tbs_certificate(
        &req.serial,
        &alg,
        issuer.subject_raw,
        &validity,
        &subject,
        req.subject_spki_der,
        &exts,
    )?;
    let profile = CertProfile::Subscriber {
        kind: req.profile,
        max_validity_days: req.max_validity_days,
    };
    let tbs = check_tbs(tbs, profile, &req.serial, &alg)?;
    sign_with_and_assemble(tbs, req.signature, signer, &signer_spki)
}

/// The extKeyUsage a subscriber profile cannot do without, as the
/// empty-list refusal names it.
fn required_eku(profile: SubscriberProfile) -> &'static str {
    match profile {
        SubscriberProfile::Smime => "emailProtection",
        SubscriberProfile::ClientAuth => "clientAuth",
        SubscriberProfile::DocumentSigning => {
            "Microsoft Document Signing or Adobe Authentic Documents"
        }
    }
}

/// The issuer must be a CA whose key is `signer`, the scheme must fit that
/// key and the subscriber key must differ from it. Returns the signer SPKI.
fn check_issuer_and_signer(
    issuer: &ParsedCert,
    signer: &dyn Signer,
    req: &SubscriberLeafRequest,
) -> Result<Vec<u8>, CaError> {
    if !issuer.is_ca() {
        return Err(CaError::InvalidInput(
            "issuer certificate is not a CA certificate".into(),
        ));
    }
    let signer_spki = signer.spki_der();
    if issuer.spki_raw != signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "signer key does not match the issuer certificate".into(),
        ));
    }
    if !req.signature.is_valid_for(signer.key_algorithm()) {
        return Err(CaError::InvalidInput(format!(
            "signature scheme {} cannot be used with a {} issuing key",
            req.signature,
            signer.key_algorithm()
        )));
    }
    if req.subject_spki_der == signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "subscriber key must not be the CA key".into(),
        ));
    }
    Ok(signer_spki)
}

// ---- subject -------------------------------------------------------------------------------

/// (OID, field name, string type, X.520 / SBR upper bound in characters).
fn attr_encoding(attr: &SubjectAttr) -> (&'static str, &'static str, StrType, usize, &str) {
    use SubjectAttr as A;
    match attr {
        A::Country(v) => (OID_C, "country", StrType::Printable, 2, v),
        A::State(v) => (OID_ST, "state", StrType::Utf8, 128, v),
        A::Locality(v) => (OID_L, "locality", StrType::Utf8, 128, v),
        A::PostalCode(v) => (OID_POSTAL_CODE, "postal_code", StrType::Utf8, 40, v),
        A::Street(v) => (OID_STREET, "street", StrType::Utf8, 128, v),
        A::Organization(v) => (OID_O, "organization", StrType::Utf8, 64, v),
        A::OrganizationalUnit(v) => (OID_OU, "organizational_unit", StrType::Utf8, 64, v),
        // X.520 leaves it unbounded; 128 is ample for SCHEME+CC+SP-reference.
        A::OrganizationIdentifier(v) => (
            OID_ORGANIZATION_IDENTIFIER,
            "organization_identifier",
            StrType::Utf8,
            128,
            v,
        ),
        A::CommonName(v) => (OID_CN, "common_name", StrType::Utf8, 64, v),
        // ub-name is 32768; cap personal names at a practical 128.
        A::GivenName(v) => (OID_GIVEN_NAME, "given_name", StrType::Utf8, 128, v),
        A::Surname(v) => (OID_SURNAME, "surname", StrType::Utf8, 128, v),
        A::Pseudonym(v) => (OID_PSEUDONYM, "pseudonym", StrType::Utf8, 128, v),
        A::Title(v) => (OID_TITLE, "title", StrType::Utf8, 64, v),
        A::SerialNumber(v) => (
            OID_SERIAL_NUMBER,
            "serial_number",
            StrType::Printable,
            64,
            v,
        ),
        A::EmailAddress(v) => (OID_EMAIL_ADDRESS, "email_address", StrType::Ia5, 255, v),
    }
}

/// Encode the subject, one attribute per RDN, in the given order.
fn subject_der(attrs: &[SubjectAttr], emails: &[String]) -> Result<Vec<u8>, CaError> {
    let mut rdns: Vec<Vec<u8>> = Vec::with_capacity(attrs.len());
    for attr in attrs {
        check_attr_semantics(attr, attrs, emails)?;
        let (oid, name, ty, max, value) = attr_encoding(attr);
        let encoded = match attr {
            SubjectAttr::Country(v) => country_rdn(oid, name, v)?,
            _ => rdn(oid, name, value, ty, max)?,
        };
        rdns.push(encoded);
    }
    let refs: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
    Ok(derw::seq(&refs))
}

/// Cross-field rules: subject email addresses must be SAN emails, and an
/// organizationIdentifier must be well-formed and agree with countryName.
fn check_attr_semantics(
    attr: &SubjectAttr,
    attrs: &[SubjectAttr],
    emails: &[String],
) -> Result<(), CaError> {
    match attr {
        SubjectAttr::EmailAddress(v) => {
            check_email_syntax("email_address", v)?;
            require_in_san("email_address", v, emails)
        }
        SubjectAttr::CommonName(v) if v.contains('@') => require_in_san("common_name", v, emails),
        SubjectAttr::OrganizationIdentifier(v) => check_organization_identifier(v, attrs),
        _ => Ok(()),
    }
}

fn require_in_san(name: &str, value: &str, emails: &[String]) -> Result<(), CaError> {
    if emails.iter().any(|e| e == value) {
        Ok(())
    } else {
        Err(CaError::InvalidInput(format!(
            "{name} {value:?} must also be one of the SAN email addresses"
        )))
    }
}

/// `SSSCC[+SP][-reference]`: a two-letter scheme plus a letter or ':' (national
/// schemes), an upper-case country code, an optional state/province of up to
/// three characters and an optional reference. The country must equal the
/// subject countryName unless it is the global scheme code `XG`.
fn check_organization_identifier(value: &str, attrs: &[SubjectAttr]) -> Result<(), CaError> {
    let bad = || {
        CaError::InvalidInput(format!(
            "organization_identifier {value:?} must have the form SSSCC[+SP][-reference]"
        ))
    };
    let b = value.as_bytes();
    if b.len() < 5
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !(b[2].is_ascii_uppercase() || b[2] == b':')
        || !b[3..5].iter().all(u8::is_ascii_uppercase)
    {
        return Err(bad());
    }
    let country = &value[3..5];
    let mut rest = &value[5..];
    if let Some(after_plus) = rest.strip_prefix('+') {
        let sp_len = after_plus.find('-').unwrap_or(after_plus.len());
        let sp = &after_plus[..sp_len];
        if sp.is_empty() || sp.len() > 3 || !sp.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        rest = &after_plus[sp_len..];
    }
    if !rest.is_empty() && rest.len() < 2 {
        return Err(bad());
    }
    if !rest.is_empty() && !rest.starts_with('-') {
        return Err(bad());
    }
    if country == "XG" {
        return Ok(());
    }
    for a in attrs {
        if let SubjectAttr::Country(c) = a {
            if c != country {
                return Err(CaError::InvalidInput(format!(
                    "organization_identifier country {country:?} differs from countryName {c:?}"
                )));
            }
        }
    }
    Ok(())
}

// ---- subjectAltName ----------------------------------------------------------------------------

fn check_emails(emails: &[String]) -> Result<(), CaError> {
    for (i, e) in emails.iter().enumerate() {
        check_email_syntax("email", e)?;
        if emails[..i].iter().any(|o| o.eq_ignore_ascii_case(e)) {
            return Err(CaError::InvalidInput(format!("duplicate email {e:?}")));
        }
    }
    Ok(())
}

/// ASCII `local@domain` (RFC 5321 dot-atom local part, LDH domain of at least
/// two labels). Quoted local parts and address literals are not accepted.
pub(crate) fn check_email_syntax(name: &str, addr: &str) -> Result<(), CaError> {
    let bad = |why: &str| CaError::InvalidInput(format!("invalid {name} {addr:?}: {why}"));
    if !addr.is_ascii() {
        return Err(bad(
            "must be ASCII (internationalized mailboxes are not supported)",
        ));
    }
    if addr.len() > MAX_EMAIL_LEN {
        return Err(bad("longer than 254 characters"));
    }
    let (local, domain) = match addr.split_once('@') {
        Some((l, d)) if !d.contains('@') => (l, d),
        _ => return Err(bad("must contain exactly one '@'")),
    };
    check_local_part(local).map_err(&bad)?;
    check_mail_domain(domain).map_err(bad)
}

fn check_local_part(local: &str) -> Result<(), &'static str> {
    const ATEXT_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    if local.is_empty() || local.len() > 64 {
        return Err("local part must be 1..=64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("misplaced '.' in the local part");
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(c))
    {
        return Err("local part has characters outside the RFC 5322 dot-atom set");
    }
    Ok(())
}

fn check_mail_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() || domain.len() > 253 {
        return Err("domain must be 1..=253 characters");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("domain must be fully qualified");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err("domain labels must be 1..=63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("domain labels must be LDH (use A-labels for IDNs)");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain labels must not start or end with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("top-level label must not be numeric");
    }
    Ok(())
}

/// SAN: rfc822Names in order, then the UPN otherName.
fn ext_san_email_upn(emails: &[String], upn: Option<&str>, critical: bool) -> Vec<u8> {
    let mut names: Vec<Vec<u8>> = emails
        .iter()
        .map(|e| derw::tlv(derw::ctx_prim(1), e.as_bytes()))
        .collect();
    if let Some(u) = upn {
        // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT UTF8String },
        // as GeneralName [0] IMPLICIT.
        let value = derw::cons(
            derw::ctx_cons(0),
            &[&derw::tlv(derw::TAG_UTF8_STRING, u.as_bytes())],
        );
        names.push(derw::cons(
            derw::ctx_cons(0),
            &[&derw::oid(OID_ON_UPN), &value],
        ));
    }
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_SAN, critical, &derw::seq(&refs))
}

// ---- keyUsage, OIDs ----------------------------------------------------------------------------

/// Bit numbers for `ku`, checked against RFC 5280 and the key type
/// (RFC 4055 / RFC 5480: no keyAgreement for RSA, no key/data encipherment for EC).
fn key_usage_bits(ku: &KeyUsageBits, kind: SpkiKind) -> Result<Vec<u8>, CaError> {
    let bad = |why: &str| CaError::InvalidInput(format!("key_usage: {why}"));
    if (ku.encipher_only || ku.decipher_only) && !ku.key_agreement {
        return Err(bad("encipher_only / decipher_only require key_agreement"));
    }
    if ku.encipher_only && ku.decipher_only {
        return Err(bad("set at most one of encipher_only and decipher_only"));
    }
    match kind {
        SpkiKind::Rsa if ku.key_agreement => {
            return Err(bad("key_agreement is not possible with an RSA key"));
        }
        SpkiKind::Ec if ku.key_encipherment || ku.data_encipherment => {
            return Err(bad(
                "key_encipherment / data_encipherment are not possible with an EC key",
            ));
        }
        _ => {}
    }
    let bits: Vec<u8> = [
        (ku.digital_signature, KU_DIGITAL_SIGNATURE),
        (ku.non_repudiation, KU_NON_REPUDIATION),
        (ku.key_encipherment, KU_KEY_ENCIPHERMENT),
        (ku.data_encipherment, KU_DATA_ENCIPHERMENT),
        (ku.key_agreement, KU_KEY_AGREEMENT),
        (ku.encipher_only, KU_ENCIPHER_ONLY),
        (ku.decipher_only, KU_DECIPHER_ONLY),
    ]
    .into_iter()
    .filter_map(|(set, bit)| set.then_some(bit))
    .collect();
    if bits.is_empty() {
        return Err(bad("at least one usage must be set"));
    }
    Ok(bits)
}

/// Every entry a canonical dotted OID, no duplicates; non-empty if `required`.
fn check_oid_list(name: &str, oids: &[&str], required: bool) -> Result<(), CaError> {
    if required && oids.is_empty() {
        return Err(CaError::InvalidInput(format!("{name} must not be empty")));
    }
    for (i, o) in oids.iter().enumerate() {
        if !is_valid_oid(o) {
            return Err(CaError::InvalidInput(format!(
                "{name}: {o:?} is not a dotted OID"
            )));
        }
        if oids[..i].contains(o) {
            return Err(CaError::InvalidInput(format!("{name}: duplicate {o}")));
        }
    }
    Ok(())
}

/// Canonical dotted-decimal OID whose arcs the DER writer can encode.
pub(crate) fn is_valid_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    if arcs.len() < 2 {
        return false;
    }
    let mut values = Vec::with_capacity(arcs.len());
    for a in &arcs {
        let canonical = !a.is_empty()
            && a.bytes().all(|b| b.is_ascii_digit())
            && (a.len() == 1 || !a.starts_with('0'));
        match a.parse::<u64>() {
            Ok(v) if canonical => values.push(v),
            _ => return false,
        }
    }
    match (values[0], values[1]) {
        (0 | 1, second) => second < 40,
        (2, second) => second <= u64::MAX - 80,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_syntax() {
        assert!(is_valid_oid("1.3.6.1.5.5.7.3.4"));
        assert!(is_valid_oid("2.999.1"));
        assert!(!is_valid_oid("1"));
        assert!(!is_valid_oid("1..3"));
        assert!(!is_valid_oid("1.03"));
        assert!(!is_valid_oid("3.1"));
        assert!(!is_valid_oid("1.40"));
        assert!(!is_valid_oid("1.2.99999999999999999999999"));
        assert!(!is_valid_oid("1.2.a"));
    }

    #[test]
    fn email_syntax() {
        for ok in ["alice@example.com", "a.b+c@mail.Example.org", "x@a-b.co"] {
            assert!(check_email_syntax("e", ok).is_ok(), "{ok}");
        }
        for bad in [
            "jörg@example.com",
            "alice@exämple.com",
            "alice",
            "a@b@example.com",
            "@example.com",
            "alice@",
            "alice@localhost",
            ".alice@example.com",
            "al..ice@example.com",
            "al ice@example.com",
            "alice@-example.com",
            "alice@example.123",
            "alice@exa_mple.com",
        ] {
            assert!(check_email_syntax("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn organization_identifier_syntax() {
        let us = [SubjectAttr::Country("US".into())];
        assert!(check_organization_identifier("NTRUS-1234567", &us).is_ok());
        assert!(check_organization_identifier("NTRUS+CA-1234567", &us).is_ok());
        assert!(check_organization_identifier("LEIXG-5493001KJTIIGC8Y1R12", &us).is_ok());
        assert!(check_organization_identifier("GOVUS", &us).is_ok());
        assert!(check_organization_identifier("NTRDE-HRB1234", &us).is_err());
        assert!(check_organization_identifier("NTRus-1", &us).is_err());
        assert!(check_organization_identifier("NTRUS1234", &us).is_err());
        assert!(check_organization_identifier("NTRUS-", &us).is_err());
        assert!(check_organization_identifier("NTRUS+ABCD-1", &us).is_err());
        assert!(check_organization_identifier("NTRUS+-1", &us).is_err());
    }

    #[test]
    fn key_usage_rules() {
        let ds = KeyUsageBits {
            digital_signature: true,
            ..Default::default()
        };
        assert_eq!(key_usage_bits(&ds, SpkiKind::Rsa).unwrap(), vec![0]);
        let empty = KeyUsageBits::default();
        assert!(key_usage_bits(&empty, SpkiKind::Ec).is_err());
        let eo = KeyUsageBits {
            digital_signature: true,
            encipher_only: true,
            ..Default::default()
        };
        assert!(key_usage_bits(&eo, SpkiKind::Ec).is_err());
        let ka_do = KeyUsageBits {
            digital_signature: true,
            key_agreement: true,
            decipher_only: true,
            ..Default::default()
        };
        assert_eq!(key_usage_bits(&ka_do, SpkiKind::Ec).unwrap(), vec![0, 4, 8]);
        assert!(key_usage_bits(&ka_do, SpkiKind::Rsa).is_err());
        let both = KeyUsageBits {
            encipher_only: true,
            ..ka_do
        };
        assert!(key_usage_bits(&both, SpkiKind::Ec).is_err());
        let ke = KeyUsageBits {
            key_encipherment: true,
            ..Default::default()
        };
        assert!(key_usage_bits(&ke, SpkiKind::Ec).is_err());
        assert_eq!(key_usage_bits(&ke, SpkiKind::Rsa).unwrap(), vec![2]);
    }
}
