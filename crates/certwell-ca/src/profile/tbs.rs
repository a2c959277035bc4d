//! Reading a to-be-signed certificate back: the fields and extensions the
//! profile rules look at, parsed independently of the builders that wrote
//! them.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::violation;
use crate::cert::{OID_CN, OID_EXT_BC, OID_EXT_CP, OID_EXT_EKU};
use crate::derw::{self, Tlv};
use crate::CaError;

pub(super) struct Extension<'a> {
    pub(super) oid: String,
    pub(super) critical: bool,
    pub(super) value: &'a [u8],
}

pub(super) struct Tbs<'a> {
    pub(super) serial: &'a [u8],
    pub(super) alg: &'a [u8],
    pub(super) not_before: OffsetDateTime,
    pub(super) not_after: OffsetDateTime,
    pub(super) subject: Tlv<'a>,
    pub(super) extensions: Vec<Extension<'a>>,
}

impl<'a> Tbs<'a> {
    pub(super) fn parse(der: &'a [u8]) -> Result<Tbs<'a>, CaError> {
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
            let oid =
                derw::oid_to_string(er.read_tag(derw::TAG_OID).map_err(ctx)?.value).map_err(ctx)?;
            let critical = match er.read_optional(derw::TAG_BOOLEAN).map_err(ctx)? {
                Some(b) if b.value == [0xff] => true,
                Some(_) => {
                    return Err(violation(format!(
                        "extension {oid}: critical must be TRUE or absent"
                    )))
                }
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

    pub(super) fn ext(&self, oid: &str) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    pub(super) fn require(
        &self,
        oid: &str,
        name: &str,
        critical: Option<bool>,
    ) -> Result<&Extension<'a>, CaError> {
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

    pub(super) fn basic_constraints_ca(&self) -> Result<Option<bool>, CaError> {
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

    pub(super) fn ekus(&self) -> Result<Vec<String>, CaError> {
        match self.ext(OID_EXT_EKU) {
            None => Ok(Vec::new()),
            Some(e) => oid_sequence(e.value, "extKeyUsage", |t| Ok(t)),
        }
    }

    pub(super) fn policies(&self) -> Result<Vec<String>, CaError> {
        match self.ext(OID_EXT_CP) {
            None => Ok(Vec::new()),
            // PolicyInformation ::= SEQUENCE { policyIdentifier, qualifiers OPTIONAL }
            Some(e) => oid_sequence(e.value, "certificatePolicies", |info| {
                info.expect(derw::TAG_SEQUENCE)?
                    .reader()
                    .read_tag(derw::TAG_OID)
            }),
        }
    }

    pub(super) fn common_names(&self) -> Result<Vec<String>, CaError> {
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

pub(super) const KU_DIGITAL_SIGNATURE: u16 = 1 << 15;
pub(super) const KU_CERT_SIGN: u16 = 1 << 10;
pub(super) const KU_CRL_SIGN: u16 = 1 << 9;

/// keyUsage as 16 bits, bit 0 (digitalSignature) the most significant.
pub(super) fn key_usage(value: &[u8]) -> Result<u16, CaError> {
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
pub(super) fn oid_sequence(
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
        let oid = pick(r.read().map_err(ctx)?)
            .and_then(|t| t.expect(derw::TAG_OID))
            .map_err(ctx)?;
        out.push(derw::oid_to_string(oid.value).map_err(ctx)?);
    }
    Ok(out)
}

/// (tag, value) of each GeneralName of a subjectAltName.
pub(super) fn general_names(value: &[u8]) -> Result<Vec<(u8, &[u8])>, CaError> {
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
pub(super) fn access_methods(value: &[u8]) -> Result<Vec<String>, CaError> {
    oid_sequence(value, "authorityInformationAccess", |ad| {
        ad.expect(derw::TAG_SEQUENCE)?
            .reader()
            .read_tag(derw::TAG_OID)
    })
}

/// UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime
/// (YYYYMMDDHHMMSSZ, years from 2050), as RFC 5280 §4.1.2.5 requires.
pub(super) fn decode_time(t: &Tlv<'_>) -> Result<OffsetDateTime, CaError> {
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
    let date =
        Date::from_calendar_date(year, month, num(rest + 2..rest + 4)? as u8).map_err(|_| bad())?;
    let time = Time::from_hms(
        num(rest + 4..rest + 6)? as u8,
        num(rest + 6..rest + 8)? as u8,
        num(rest + 8..rest + 10)? as u8,
    )
    .map_err(|_| bad())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}
