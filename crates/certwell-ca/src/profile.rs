//! The last check before a real signature: the to-be-signed certificate is
//! parsed again, independently of the builder that wrote it, and checked
//! against its profile (as Boulder lints a precertificate before signing).
//!
//! [`check_tbs`] is the only way to make a [`CheckedTbs`], and the
//! certificate signing functions take nothing else, so a TBS that fails its
//! profile is never signed.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::cert::{
    CaProfile, OID_AD_CA_ISSUERS, OID_AD_OCSP, OID_CN, OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS,
    OID_EKU_CLIENT_AUTH, OID_EKU_DOCUMENT_SIGNING_MS, OID_EKU_EMAIL_PROTECTION,
    OID_EKU_OCSP_SIGNING, OID_EXT_AIA, OID_EXT_AKI, OID_EXT_BC, OID_EXT_CP, OID_EXT_CRLDP,
    OID_EXT_EKU, OID_EXT_KU, OID_EXT_OCSP_NOCHECK, OID_EXT_SAN, OID_EXT_SKI, OID_KP_SERVER_AUTH,
    POLICY_CERTWELL_CLIENT_AUTH, POLICY_CERTWELL_DOCUMENT_SIGNING, POLICY_TLS_EV, POLICY_TLS_OV,
};
use crate::derw::{self, Tlv};
use crate::serial::RecordedSerial;
use crate::CaError;

/// BR §6.3.2 as of 2020: no TLS subscriber certificate is valid longer.
pub const TLS_HARD_MAX_DAYS: i64 = 398;
/// SBR §6.3.2: no S/MIME subscriber certificate is valid longer.
pub const SMIME_HARD_MAX_DAYS: i64 = 825;

const OID_ANY_EKU: &str = "2.5.29.37.0";
const OID_EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
const SMIME_POLICY_PREFIX: &str = "2.23.140.1.5.";

/// Which kind of subscriber certificate a non-TLS leaf is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriberProfile {
    /// S/MIME (SBR): a reserved 2.23.140.1.5.x.y policy, emailProtection,
    /// rfc822Name SANs.
    Smime,
    /// Client authentication (certwell's private policy).
    ClientAuth,
    /// Document signing (certwell's private policy).
    DocumentSigning,
}

/// The profile a TBS certificate is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertProfile {
    /// A root, an issuing CA or a delegated OCSP responder.
    Ca(CaProfile),
    /// OV/EV TLS server certificate; `max_validity_days` is the cap in
    /// force (at most [`TLS_HARD_MAX_DAYS`]).
    TlsServer { ev: bool, max_validity_days: i64 },
    /// S/MIME, client-authentication or document-signing certificate.
    Subscriber {
        kind: SubscriberProfile,
        max_validity_days: i64,
    },
}

/// A to-be-signed certificate that passed [`check_tbs`]: the only input
/// the certificate signing functions accept.
#[derive(Debug)]
pub struct CheckedTbs {
    der: Vec<u8>,
}

impl CheckedTbs {
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }
}

/// Parses `tbs_der` again and checks it against `profile`; `serial` must be
/// the serial it carries and `alg_der` its signature algorithm.
pub fn check_tbs(
    tbs_der: Vec<u8>,
    profile: CertProfile,
    serial: &RecordedSerial,
    alg_der: &[u8],
) -> Result<CheckedTbs, CaError> {
    let tbs = Tbs::parse(&tbs_der)?;
    tbs.check(profile, serial, alg_der)?;
    Ok(CheckedTbs { der: tbs_der })
}

fn violation(why: impl Into<String>) -> CaError {
    CaError::Profile(why.into())
}

struct Extension<'a> {
    oid: String,
    critical: bool,
    value: &'a [u8],
}

struct Tbs<'a> {
    serial: &'a [u8],
    alg: &'a [u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    subject: Tlv<'a>,
    extensions: Vec<Extension<'a>>,
}

impl<'a> Tbs<'a> {
    fn parse(der: &'a [u8]) -> Result<Tbs<'a>, CaError> {
        let ctx = |e: derw::DerError| violation(format!("TBS certificate does not parse: {e}"));
        let tbs = Tlv::parse_single(der)
            .and_then(|t| t.expect(derw::TAG_SEQUENCE))
            .map_err(ctx)?;
        let mut r = tbs.reader();
        let version = r.read_tag(derw::ctx_cons(0)).map_err(ctx)?;
        if version.value != [derw::TAG_INTEGER, 1, 2] {
            return Err(violation("the certificate is not version 3"));
        }
        let serial = r.read_tag(derw::TAG_INTEGER).map_err(ctx)?.value;
        let alg = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?.raw;
        r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?; // issuer
        let validity = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        let mut v = validity.reader();
        let not_before = decode_time(&v.read().map_err(ctx)?)?;
        let not_after = decode_time(&v.read().map_err(ctx)?)?;
        v.finish().map_err(ctx)?;
        let subject = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?; // spki
        let exts = r.read_tag(derw::ctx_cons(3)).map_err(ctx)?;
        r.finish().map_err(ctx)?;
        let list = Tlv::parse_single(exts.value)
            .and_then(|l| l.expect(derw::TAG_SEQUENCE))
            .map_err(ctx)?;
        let mut lr = list.reader();
        let mut extensions: Vec<Extension> = Vec::new();
        while !lr.is_empty() {
            let e = lr.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
            let mut er = e.reader();
            let oid = derw::oid_to_string(er.read_tag(derw::TAG_OID).map_err(ctx)?.value)
                .map_err(ctx)?;
            let critical = match er.read_optional(derw::TAG_BOOLEAN).map_err(ctx)? {
                Some(b) if b.value == [0xff] => true,
                Some(_) => return Err(violation(format!("extension {oid}: critical must be TRUE or absent"))),
                None => false,
            };
            let value = er.read_tag(derw::TAG_OCTET_STRING).map_err(ctx)?.value;
            er.finish().map_err(ctx)?;
            if extensions.iter().any(|x| x.oid == oid) {
                return Err(violation(format!("extension {oid} appears twice")));
            }
            extensions.push(Extension {
                oid,
                critical,
                value,
            });
        }
        Ok(Tbs {
            serial,
            alg,
            not_before,
            not_after,
            subject,
            extensions,
        })
    }

    fn ext(&self, oid: &str) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    fn require(&self, oid: &str, name: &str, critical: Option<bool>) -> Result<&Extension<'a>, CaError> {
        let e = self
            .ext(oid)
            .ok_or_else(|| violation(format!("the {name} extension is missing")))?;
        if let Some(c) = critical {
            if e.critical != c {
                let want = if c { "critical" } else { "non-critical" };
                return Err(violation(format!("the {name} extension must be {want}")));
            }
        }
        Ok(e)
    }

    fn check(&self, profile: CertProfile, serial: &RecordedSerial, alg: &[u8]) -> Result<(), CaError> {
        if self.serial != derw::uint_content(serial.as_bytes()).as_slice() {
            return Err(violation("the serial is not the recorded one"));
        }
        if self.serial.is_empty()
            || self.serial.len() > 20
            || self.serial[0] & 0x80 != 0
            || self.serial.iter().all(|b| *b == 0)
        {
            return Err(violation("the serial must be positive, non-zero and at most 20 octets"));
        }
        if self.alg != alg {
            return Err(violation("the signature algorithm differs from the signer's"));
        }
        if self.not_after <= self.not_before {
            return Err(violation("notAfter is not later than notBefore"));
        }
        self.require(OID_EXT_AKI, "authorityKeyIdentifier", Some(false))?;
        let ku = key_usage(self.require(OID_EXT_KU, "keyUsage", Some(true))?.value)?;
        match profile {
            CertProfile::Ca(CaProfile::OcspResponder) => self.check_ocsp_responder(ku),
            CertProfile::Ca(p) => self.check_ca(p, ku),
            CertProfile::TlsServer {
                ev,
                max_validity_days,
            } => {
                self.check_leaf_common(ku, max_validity_days.min(TLS_HARD_MAX_DAYS))?;
                self.check_tls(ev)
            }
            CertProfile::Subscriber {
                kind,
                max_validity_days,
            } => {
                let cap = match kind {
                    SubscriberProfile::Smime => max_validity_days.min(SMIME_HARD_MAX_DAYS),
                    _ => max_validity_days,
                };
                self.check_leaf_common(ku, cap)?;
                self.check_subscriber(kind)
            }
        }
    }

    fn basic_constraints_ca(&self) -> Result<Option<bool>, CaError> {
        let Some(e) = self.ext(OID_EXT_BC) else {
            return Ok(None);
        };
        let bc = Tlv::parse_single(e.value)
            .and_then(|t| t.expect(derw::TAG_SEQUENCE))
            .map_err(|err| violation(format!("basicConstraints: {err}")))?;
        let mut r = bc.reader();
        let ca = matches!(r.read_optional(derw::TAG_BOOLEAN), Ok(Some(b)) if b.value == [0xff]);
        Ok(Some(ca))
    }

    fn check_ca(&self, p: CaProfile, ku: u16) -> Result<(), CaError> {
        self.require(OID_EXT_BC, "basicConstraints", Some(true))?;
        if self.basic_constraints_ca()? != Some(true) {
            return Err(violation("a CA certificate needs basicConstraints cA=TRUE"));
        }
        self.require(OID_EXT_SKI, "subjectKeyIdentifier", Some(false))?;
        if ku & KU_CERT_SIGN == 0 || ku & KU_CRL_SIGN == 0 {
            return Err(violation("a CA certificate needs keyCertSign and cRLSign"));
        }
        if p == CaProfile::Root {
            if self.ext(OID_EXT_EKU).is_some() {
                return Err(violation("a root certificate carries no extKeyUsage"));
            }
            return Ok(());
        }
        self.require(OID_EXT_CP, "certificatePolicies", Some(false))?;
        self.require(OID_EXT_CRLDP, "cRLDistributionPoints", Some(false))?;
        let ekus = self.ekus()?;
        if ekus.is_empty() || ekus.iter().any(|e| e == OID_ANY_EKU) {
            return Err(violation("an issuing CA needs specific extKeyUsages"));
        }
        Ok(())
    }

    fn check_ocsp_responder(&self, ku: u16) -> Result<(), CaError> {
        if self.basic_constraints_ca()? == Some(true) {
            return Err(violation("an OCSP responder certificate is not a CA"));
        }
        self.require(OID_EXT_SKI, "subjectKeyIdentifier", Some(false))?;
        if ku != KU_DIGITAL_SIGNATURE {
            return Err(violation("an OCSP responder's keyUsage is digitalSignature only"));
        }
        if self.ekus()? != [OID_EKU_OCSP_SIGNING] {
            return Err(violation("an OCSP responder's extKeyUsage is id-kp-OCSPSigning only"));
        }
        self.require(OID_EXT_OCSP_NOCHECK, "id-pkix-ocsp-nocheck", Some(false))?;
        Ok(())
    }

    /// What every subscriber certificate needs: not a CA, no CA key usages,
    /// revocation pointers, policies, and a validity within `max_days`
    /// (counted as the BRs do: notAfter − notBefore + 1 s).
    fn check_leaf_common(&self, ku: u16, max_days: i64) -> Result<(), CaError> {
        if self.basic_constraints_ca()? == Some(true) {
            return Err(violation("a subscriber certificate must not be a CA"));
        }
        if ku & (KU_CERT_SIGN | KU_CRL_SIGN) != 0 {
            return Err(violation("a subscriber certificate must not have keyCertSign or cRLSign"));
        }
        self.require(OID_EXT_CP, "certificatePolicies", Some(false))?;
        self.require(OID_EXT_CRLDP, "cRLDistributionPoints", Some(false))?;
        let aia = self.require(OID_EXT_AIA, "authorityInformationAccess", Some(false))?;
        if !access_methods(aia.value)?.iter().any(|m| m == OID_AD_CA_ISSUERS || m == OID_AD_OCSP) {
            return Err(violation("authorityInformationAccess names no caIssuers or OCSP URL"));
        }
        let ekus = self.ekus()?;
        for bad in [OID_ANY_EKU, OID_EKU_OCSP_SIGNING, OID_EKU_CODE_SIGNING, OID_EKU_TIME_STAMPING] {
            if ekus.iter().any(|e| e == bad) {
                return Err(violation(format!("extKeyUsage {bad} is not allowed here")));
            }
        }
        let period = (self.not_after - self.not_before).whole_seconds() + 1;
        if max_days <= 0 || period > max_days * 86_400 {
            return Err(violation(format!(
                "the validity period ({} s) exceeds the profile's maximum of {max_days} days",
                period
            )));
        }
        Ok(())
    }

    fn check_tls(&self, ev: bool) -> Result<(), CaError> {
        let ekus = self.ekus()?;
        if !ekus.iter().any(|e| e == OID_KP_SERVER_AUTH)
            || ekus.iter().any(|e| e != OID_KP_SERVER_AUTH && e != OID_EKU_CLIENT_AUTH)
        {
            return Err(violation("a TLS certificate's extKeyUsage is serverAuth (and at most clientAuth)"));
        }
        let policy = if ev { POLICY_TLS_EV } else { POLICY_TLS_OV };
        if !self.policies()?.iter().any(|p| p == policy) {
            return Err(violation(format!("a TLS certificate needs the policy {policy}")));
        }
        let san = self.require(OID_EXT_SAN, "subjectAltName", None)?;
        let names = general_names(san.value)?;
        if names.is_empty() {
            return Err(violation("the subjectAltName is empty"));
        }
        let mut dns = Vec::with_capacity(names.len());
        for (tag, value) in &names {
            if *tag != derw::ctx_prim(2) {
                return Err(violation("a TLS certificate's subjectAltName holds dNSNames only"));
            }
            let name = std::str::from_utf8(value)
                .map_err(|_| violation("a dNSName is not ASCII"))?;
            check_public_dns_name(name, ev)?;
            dns.push(name);
        }
        for cn in self.common_names()? {
            if !dns.contains(&cn.as_str()) {
                return Err(violation(format!("the subject commonName {cn:?} is not one of the dNSNames")));
            }
        }
        Ok(())
    }

    fn check_subscriber(&self, kind: SubscriberProfile) -> Result<(), CaError> {
        let ekus = self.ekus()?;
        if ekus.iter().any(|e| e == OID_KP_SERVER_AUTH) {
            return Err(violation("only TLS certificates may have serverAuth"));
        }
        let policies = self.policies()?;
        let has = |oid: &str| ekus.iter().any(|e| e == oid);
        match kind {
            SubscriberProfile::Smime => {
                let reserved: Vec<&String> =
                    policies.iter().filter(|p| p.starts_with(SMIME_POLICY_PREFIX)).collect();
                if reserved.len() != 1 {
                    return Err(violation("an S/MIME certificate needs exactly one reserved S/MIME policy"));
                }
                if !has(OID_EKU_EMAIL_PROTECTION) {
                    return Err(violation("an S/MIME certificate needs emailProtection"));
                }
                if reserved[0].ends_with(".3") && ekus.len() != 1 {
                    return Err(violation("a strict S/MIME certificate has emailProtection only"));
                }
                let san = self.require(OID_EXT_SAN, "subjectAltName", None)?;
                if !general_names(san.value)?.iter().any(|(t, _)| *t == derw::ctx_prim(1)) {
                    return Err(violation("an S/MIME certificate needs an rfc822Name"));
                }
            }
            SubscriberProfile::ClientAuth => {
                if !policies.iter().any(|p| p == POLICY_CERTWELL_CLIENT_AUTH) {
                    return Err(violation("a client certificate needs the client-authentication policy"));
                }
                if !has(OID_EKU_CLIENT_AUTH) {
                    return Err(violation("a client certificate needs clientAuth"));
                }
            }
            SubscriberProfile::DocumentSigning => {
                if !policies.iter().any(|p| p == POLICY_CERTWELL_DOCUMENT_SIGNING) {
                    return Err(violation("a document-signing certificate needs the document-signing policy"));
                }
                if !has(OID_EKU_DOCUMENT_SIGNING_MS) && !has(OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS) {
                    return Err(violation("a document-signing certificate needs a document-signing extKeyUsage"));
                }
            }
        }
        Ok(())
    }

    fn ekus(&self) -> Result<Vec<String>, CaError> {
        match self.ext(OID_EXT_EKU) {
            None => Ok(Vec::new()),
            Some(e) => oid_sequence(e.value, "extKeyUsage", |t| Ok(t)),
        }
    }

    fn policies(&self) -> Result<Vec<String>, CaError> {
        match self.ext(OID_EXT_CP) {
            None => Ok(Vec::new()),
            // PolicyInformation ::= SEQUENCE { policyIdentifier, qualifiers OPTIONAL }
            Some(e) => oid_sequence(e.value, "certificatePolicies", |info| {
                info.expect(derw::TAG_SEQUENCE)?.reader().read_tag(derw::TAG_OID)
            }),
        }
    }

    fn common_names(&self) -> Result<Vec<String>, CaError> {
        let ctx = |e: derw::DerError| violation(format!("subject: {e}"));
        let mut out = Vec::new();
        let mut rdns = self.subject.reader();
        while !rdns.is_empty() {
            let set = rdns.read_tag(derw::TAG_SET).map_err(ctx)?;
            let mut atvs = set.reader();
            while !atvs.is_empty() {
                let atv = atvs.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
                let mut a = atv.reader();
                let oid = derw::oid_to_string(a.read_tag(derw::TAG_OID).map_err(ctx)?.value)
                    .map_err(ctx)?;
                let value = a.read().map_err(ctx)?;
                if oid == OID_CN {
                    out.push(
                        derw::decode_string(&value)
                            .ok_or_else(|| violation("subject commonName is not a string"))?,
                    );
                }
            }
        }
        Ok(out)
    }
}

const KU_DIGITAL_SIGNATURE: u16 = 1 << 15;
const KU_CERT_SIGN: u16 = 1 << 10;
const KU_CRL_SIGN: u16 = 1 << 9;

/// keyUsage as 16 bits, bit 0 (digitalSignature) the most significant.
fn key_usage(value: &[u8]) -> Result<u16, CaError> {
    let bits = Tlv::parse_single(value)
        .and_then(|t| t.expect(derw::TAG_BIT_STRING))
        .map_err(|e| violation(format!("keyUsage: {e}")))?;
    let (_, bytes) = bits
        .value
        .split_first()
        .ok_or_else(|| violation("keyUsage is empty"))?;
    let hi = u16::from(*bytes.first().unwrap_or(&0)) << 8;
    let lo = u16::from(*bytes.get(1).unwrap_or(&0));
    if hi | lo == 0 {
        return Err(violation("keyUsage asserts no usage"));
    }
    Ok(hi | lo)
}

/// The OIDs of a `SEQUENCE OF x`, where `pick` finds the OID in each x.
fn oid_sequence(
    value: &[u8],
    name: &str,
    pick: impl for<'t> Fn(Tlv<'t>) -> Result<Tlv<'t>, derw::DerError>,
) -> Result<Vec<String>, CaError> {
    let ctx = |e: derw::DerError| violation(format!("{name}: {e}"));
    let list = Tlv::parse_single(value)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(ctx)?;
    let mut r = list.reader();
    let mut out = Vec::new();
    while !r.is_empty() {
        let oid = pick(r.read().map_err(ctx)?).and_then(|t| t.expect(derw::TAG_OID)).map_err(ctx)?;
        out.push(derw::oid_to_string(oid.value).map_err(ctx)?);
    }
    Ok(out)
}

/// (tag, value) of each GeneralName of a subjectAltName.
fn general_names(value: &[u8]) -> Result<Vec<(u8, &[u8])>, CaError> {
    let ctx = |e: derw::DerError| violation(format!("subjectAltName: {e}"));
    let list = Tlv::parse_single(value)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(ctx)?;
    let mut r = list.reader();
    let mut out = Vec::new();
    while !r.is_empty() {
        let gn = r.read().map_err(ctx)?;
        out.push((gn.tag, gn.value));
    }
    Ok(out)
}

/// accessMethod OIDs of an authorityInformationAccess.
fn access_methods(value: &[u8]) -> Result<Vec<String>, CaError> {
    oid_sequence(value, "authorityInformationAccess", |ad| {
        ad.expect(derw::TAG_SEQUENCE)?.reader().read_tag(derw::TAG_OID)
    })
}

/// A dNSName a publicly-trusted TLS certificate may carry: LDH labels under
/// a known public suffix, not the suffix itself, no internal name, a
/// wildcard only as the whole leftmost label (never in EV).
fn check_public_dns_name(name: &str, ev: bool) -> Result<(), CaError> {
    let bad = |why: &str| violation(format!("dNSName {name:?}: {why}"));
    if name.is_empty() || name.len() > 253 || name.ends_with('.') {
        return Err(bad("not a fully-qualified name"));
    }
    let base = match name.strip_prefix("*.") {
        Some(_) if ev => return Err(bad("EV certificates carry no wildcards")),
        Some(rest) => rest,
        None => name,
    };
    for label in base.split('.') {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty() || label.len() > 63 || !ldh || label.starts_with('-') || label.ends_with('-') {
            return Err(bad("not a lower-case LDH name"));
        }
    }
    if base.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad("an IP address is not a dNSName"));
    }
    match psl::suffix(base.as_bytes()) {
        Some(s) if s.is_known() => {}
        _ => return Err(bad("an internal name (no public suffix)")),
    }
    if psl::domain(base.as_bytes()).is_none() {
        return Err(bad("a public suffix itself"));
    }
    Ok(())
}

/// UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime
/// (YYYYMMDDHHMMSSZ, years from 2050), as RFC 5280 §4.1.2.5 requires.
fn decode_time(t: &Tlv<'_>) -> Result<OffsetDateTime, CaError> {
    let s = std::str::from_utf8(t.value).map_err(|_| violation("a time is not ASCII"))?;
    let bad = || violation(format!("malformed time {s:?}"));
    let digits = s.strip_suffix('Z').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().map_err(|_| bad());
    let (year, rest) = match (t.tag, digits.len()) {
        (derw::TAG_UTC_TIME, 12) => {
            let yy = num(0..2)? as i32;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (derw::TAG_GENERALIZED_TIME, 14) => {
            let y = num(0..4)? as i32;
            if y < 2050 {
                return Err(violation("a year before 2050 must be a UTCTime"));
            }
            (y, 4)
        }
        _ => return Err(bad()),
    };
    let month = Month::try_from(num(rest..rest + 2)? as u8).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, num(rest + 2..rest + 4)? as u8).map_err(|_| bad())?;
    let time = Time::from_hms(
        num(rest + 4..rest + 6)? as u8,
        num(rest + 6..rest + 8)? as u8,
        num(rest + 8..rest + 10)? as u8,
    )
    .map_err(|_| bad())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}
