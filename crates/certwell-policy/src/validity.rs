//! Order term and certificate validity.
//!
//! The order keeps the term the client asked for, spelled as the vendor's
//! current `order_validity` object or as the older root fields
//! (`validity_years`, `validity_days`, `custom_expiration_date`); inside
//! either, a date overrides days, which override years. The first
//! certificate may be shorter (`certificate.cert_validity`); every
//! certificate's own lifetime is capped at the CA/B Forum maximum in force.

use time::{macros::format_description, Date, Duration, OffsetDateTime};

use crate::error::{optional_str, PolicyError, Result};
use certwell_api::error::codes;
use certwell_api::order::{OrderRequest, OrderValidityInput};
use serde::{Deserialize, Serialize};

/// What the order asked for; stored and echoed as `cert_validity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderTerm {
    Years(i64),
    Days(i64),
    Date(Date),
}

/// Longest order term in days (custom dates must be less than this far ahead).
pub const MAX_TERM_DAYS: i64 = 825;

/// The longest TLS certificate certwell issues at `at`: a day below the
/// BR §6.3.2 (SC-081) maximum ([`certwell_types::limits::tls_br_max_days`]),
/// so that no rounding of notBefore/notAfter can reach it.
pub fn tls_br_max_days(at: OffsetDateTime) -> i64 {
    certwell_types::limits::tls_br_max_days(at) - 1
}

/// Until when a domain validation made at `at` covers issuance under BR
/// §4.2.1 (SC-081), a day below each phase's limit
/// ([`certwell_types::limits::DCV_REUSE`]).
pub fn domain_reuse_until(at: OffsetDateTime) -> OffsetDateTime {
    certwell_types::limits::reuse_until(at, certwell_types::limits::DCV_REUSE)
}

/// Until when an organization validation (Subject Identity Information)
/// made at `at` covers issuance under BR §4.2.1
/// ([`certwell_types::limits::IDENTITY_REUSE`]).
pub fn organization_reuse_until(at: OffsetDateTime) -> OffsetDateTime {
    certwell_types::limits::reuse_until(at, certwell_types::limits::IDENTITY_REUSE)
}

pub fn parse_ymd(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

pub fn format_ymd(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Where a term's three fields were read from; names them in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermSpelling {
    /// The older root-level `validity_years`, `validity_days`,
    /// `custom_expiration_date`.
    Root,
    /// An object with `years`, `days`, `custom_expiration_date`:
    /// `order_validity` or `certificate.cert_validity`.
    Object(&'static str),
}

/// One term as a request spells it, before it is checked.
#[derive(Debug, Clone, Copy)]
pub struct TermFields<'a> {
    pub years: Option<i64>,
    pub days: Option<i64>,
    pub custom_expiration_date: Option<&'a str>,
    pub spelling: TermSpelling,
}

impl<'a> TermFields<'a> {
    /// The order's term: `order_validity` (the vendor's current form) when
    /// given, else the older root fields when any of them is; `None` when
    /// the request has neither.
    pub fn order(req: &'a OrderRequest) -> Option<Self> {
        if let Some(ov) = &req.order_validity {
            return Some(Self::object(ov, "order_validity"));
        }
        let custom_expiration_date = optional_str(&req.custom_expiration_date);
        (req.validity_years.is_some()
            || req.validity_days.is_some()
            || custom_expiration_date.is_some())
        .then_some(TermFields {
            years: req.validity_years,
            days: req.validity_days,
            custom_expiration_date,
            spelling: TermSpelling::Root,
        })
    }

    /// `certificate.cert_validity`, when given.
    pub fn certificate(req: &'a OrderRequest) -> Option<Self> {
        let cv = req.certificate.as_ref()?.cert_validity.as_ref()?;
        Some(Self::object(cv, "certificate.cert_validity"))
    }

    fn object(o: &'a OrderValidityInput, name: &'static str) -> Self {
        TermFields {
            years: o.years,
            days: o.days,
            custom_expiration_date: optional_str(&o.custom_expiration_date),
            spelling: TermSpelling::Object(name),
        }
    }

    /// The request's name of one of the three fields.
    pub fn name(&self, unit: &str) -> String {
        match self.spelling {
            TermSpelling::Root if unit == "custom_expiration_date" => unit.to_string(),
            TermSpelling::Root => format!("validity_{unit}"),
            TermSpelling::Object(o) => format!("{o}.{unit}"),
        }
    }
}

/// A custom expiration date: `yyyy-MM-dd`, or `dd MMM yyyy` ("21 DEC
/// 2021") as one of the vendor's examples writes it.
pub fn parse_expiration_date(s: &str) -> Option<Date> {
    parse_ymd(s).or_else(|| {
        Date::parse(
            s.trim(),
            format_description!("[day] [month repr:short case_sensitive:false] [year]"),
        )
        .ok()
    })
}

/// Checks a term's fields and picks the one that counts
/// (`custom_expiration_date` over days over years, the vendor's order).
/// Every field given must be valid, even one that is overridden.
pub fn resolve_term(f: &TermFields, allowed_years: &[i64], today: Date) -> Result<OrderTerm> {
    if let Some(y) = f.years {
        if !allowed_years.contains(&y) {
            return Err(PolicyError::new(
                codes::INVALID_VALIDITY,
                format!(
                    "The field '{}' must be one of {allowed_years:?}; got {y}.",
                    f.name("years")
                ),
            ));
        }
    }
    if let Some(d) = f.days {
        if !(1..=MAX_TERM_DAYS).contains(&d) {
            return Err(PolicyError::new(
                codes::INVALID_VALIDITY,
                format!(
                    "The field '{}' must be between 1 and {MAX_TERM_DAYS}; got {d}.",
                    f.name("days")
                ),
            ));
        }
    }
    if let Some(s) = f.custom_expiration_date {
        let field = f.name("custom_expiration_date");
        let date = parse_expiration_date(s).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                format!("The field '{field}' must be a date in the format yyyy-MM-dd; got '{s}'."),
            )
        })?;
        if date <= today {
            return Err(PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                format!("The field '{field}' must be in the future."),
            ));
        }
        if date >= today + Duration::days(MAX_TERM_DAYS) {
            return Err(PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                format!(
                    "The field '{field}' must be less than {MAX_TERM_DAYS} days in the future."
                ),
            ));
        }
        return Ok(OrderTerm::Date(date));
    }
    if let Some(d) = f.days {
        return Ok(OrderTerm::Days(d));
    }
    match f.years {
        Some(y) => Ok(OrderTerm::Years(y)),
        None => Err(PolicyError::missing(&f.name("years"))),
    }
}

/// The order's term and, when `certificate.cert_validity` asks for a
/// shorter first certificate, that certificate's term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    pub term: OrderTerm,
    pub term_end: OffsetDateTime,
    pub first_certificate: Option<(OrderTerm, OffsetDateTime)>,
}

/// Resolves an order's validity: its term from either spelling
/// (`order_validity` wins over the root fields; `missing` when there is
/// neither) and the optional `certificate.cert_validity`, which may not end
/// after the order. `resolve` checks one spelled term by the family's rules.
pub fn resolve_validity(
    req: &OrderRequest,
    now: OffsetDateTime,
    missing: impl FnOnce() -> PolicyError,
    resolve: impl Fn(&TermFields) -> Result<OrderTerm>,
) -> Result<Validity> {
    let fields = TermFields::order(req).ok_or_else(missing)?;
    let term = resolve(&fields)?;
    let end = term_end(&term, now);
    let first_certificate = match TermFields::certificate(req) {
        Some(f) => {
            let cert_term = resolve(&f)?;
            let cert_end = term_end(&cert_term, now);
            if cert_end > end {
                return Err(PolicyError::new(
                    codes::CERT_VALIDITY_EXCEEDS_ORDER_VALIDITY,
                    format!(
                        "The field 'certificate.cert_validity' ends on {}, after the order's validity ({}).",
                        format_ymd(cert_end.date()),
                        format_ymd(end.date())
                    ),
                ));
            }
            Some((cert_term, cert_end))
        }
        None => None,
    };
    Ok(Validity {
        term,
        term_end: end,
        first_certificate,
    })
}

/// A TLS order's validity ([`resolve_validity`] with the TLS limits).
pub fn resolve_tls_validity(
    req: &OrderRequest,
    allowed_years: &[i64],
    now: OffsetDateTime,
) -> Result<Validity> {
    resolve_validity(
        req,
        now,
        || {
            PolicyError::new(
                codes::MISSING_REQUIRED_FIELD,
                "The field 'order_validity' is required (or the older 'validity_years', \
                 'validity_days' or 'custom_expiration_date').",
            )
        },
        |f| resolve_term(f, allowed_years, now.date()),
    )
}

impl Validity {
    /// The order's term as a plan stores it (RFC 3339 end).
    pub fn stored(&self) -> (StoredTerm, String, Option<FirstCertificate>) {
        (
            StoredTerm::from(&self.term),
            rfc3339(self.term_end),
            self.first_certificate
                .as_ref()
                .map(|(term, end)| FirstCertificate {
                    term: StoredTerm::from(term),
                    end: rfc3339(*end),
                }),
        )
    }
}

/// The first certificate of an order whose `certificate.cert_validity`
/// makes it shorter than the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstCertificate {
    /// As asked for; order info echoes it as `cert_validity`.
    pub term: StoredTerm,
    /// RFC 3339, like the order's `term_end`.
    pub end: String,
}

/// An order plan's term, whatever its product family.
pub trait PlanTerm {
    /// The order's term as asked for; order info echoes it as
    /// `order_validity`.
    fn term(&self) -> &StoredTerm;
    /// RFC 3339 end of the order's term.
    fn term_end(&self) -> &str;
    fn first_certificate(&self) -> Option<&FirstCertificate>;

    /// The latest end of the order's first certificate (RFC 3339): its
    /// `cert_validity`, else the order's term. Reissues and duplicates run
    /// to the order's term.
    fn first_certificate_end(&self) -> &str {
        self.first_certificate().map_or(self.term_end(), |f| &f.end)
    }

    /// What order info shows as the certificate's `cert_validity`.
    fn cert_validity(&self) -> &StoredTerm {
        self.first_certificate().map_or(self.term(), |f| &f.term)
    }
}

/// Implements [`PlanTerm`] for plans that keep their term in the fields
/// `term`, `term_end` and `first_certificate`.
macro_rules! plan_term_fields {
    ($($plan:ty),+) => {$(
        impl $crate::validity::PlanTerm for $plan {
            fn term(&self) -> &$crate::validity::StoredTerm {
                &self.term
            }
            fn term_end(&self) -> &str {
                &self.term_end
            }
            fn first_certificate(&self) -> Option<&$crate::validity::FirstCertificate> {
                self.first_certificate.as_ref()
            }
        }
    )+};
}

plan_term_fields!(crate::tls::TlsOrderPlan, crate::smime::SmimeOrderPlan);

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The last instant the order term covers, starting at `start`.
pub fn term_end(term: &OrderTerm, start: OffsetDateTime) -> OffsetDateTime {
    match term {
        OrderTerm::Years(y) => {
            let d = start.date();
            let target_year = d.year() + *y as i32;
            let date = Date::from_calendar_date(target_year, d.month(), d.day())
                .or_else(|_| Date::from_calendar_date(target_year, d.month(), 28))
                .unwrap_or(d);
            date.with_time(start.time()).assume_utc() - Duration::seconds(1)
        }
        OrderTerm::Days(n) => start + Duration::days(*n) - Duration::seconds(1),
        OrderTerm::Date(date) => date.with_time(time::macros::time!(23:59:59)).assume_utc(),
    }
}

/// Whether an order term from `start` to `end` is a Multi-year Plan: longer
/// than one year (a leap year's 366 days).
pub fn is_multi_year(start: OffsetDateTime, end: OffsetDateTime) -> bool {
    end - start > Duration::days(366)
}

/// Certificate validity window: notBefore = `now` (whole seconds), notAfter
/// = min(order term end, notBefore + max_days·86400 − 1 s).
pub fn certificate_window(
    term_end: OffsetDateTime,
    now: OffsetDateTime,
    max_days: i64,
) -> (OffsetDateTime, OffsetDateTime) {
    let not_before = now.replace_nanosecond(0).unwrap_or(now);
    let cap = not_before + Duration::days(max_days) - Duration::seconds(1);
    let not_after = if term_end < cap { term_end } else { cap };
    (
        not_before,
        not_after.replace_nanosecond(0).unwrap_or(not_after),
    )
}

/// Serializable form of [`OrderTerm`], echoed as `cert_validity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTerm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_expiration_date: Option<String>,
}

impl From<&OrderTerm> for StoredTerm {
    fn from(t: &OrderTerm) -> Self {
        match t {
            OrderTerm::Years(y) => StoredTerm {
                years: Some(*y),
                days: None,
                custom_expiration_date: None,
            },
            OrderTerm::Days(d) => StoredTerm {
                years: None,
                days: Some(*d),
                custom_expiration_date: None,
            },
            OrderTerm::Date(d) => StoredTerm {
                years: None,
                days: None,
                custom_expiration_date: Some(crate::validity::format_ymd(*d)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    /// The older root fields.
    fn resolve_tls_term(
        years: Option<i64>,
        days: Option<i64>,
        custom_expiration_date: Option<&str>,
        allowed_years: &[i64],
        today: Date,
    ) -> Result<OrderTerm> {
        let f = TermFields {
            years,
            days,
            custom_expiration_date,
            spelling: TermSpelling::Root,
        };
        resolve_term(&f, allowed_years, today)
    }

    fn validity(body: serde_json::Value) -> Result<Validity> {
        let req: OrderRequest = serde_json::from_value(body).unwrap();
        resolve_tls_validity(&req, &[1, 2], datetime!(2026-11-23 12:00 UTC))
    }

    #[test]
    fn both_spellings_of_the_term() {
        let v = validity(json!({"order_validity": {"years": 2}})).unwrap();
        assert_eq!(v.term, OrderTerm::Years(2));
        assert_eq!(v.term_end, datetime!(2028-11-23 11:59:59 UTC));
        assert_eq!(v.first_certificate, None);
        assert_eq!(
            validity(json!({"validity_years": 1})).unwrap().term,
            OrderTerm::Years(1)
        );
        // The current form wins over the older one.
        assert_eq!(
            validity(json!({"validity_years": 1, "order_validity": {"days": 30}}))
                .unwrap()
                .term,
            OrderTerm::Days(30)
        );
        assert_eq!(
            validity(json!({"order_validity": {"custom_expiration_date": "21 DEC 2027"}}))
                .unwrap()
                .term,
            OrderTerm::Date(date!(2027 - 12 - 21))
        );
        // Errors name the field as the client spelled it.
        let e = validity(json!({"order_validity": {"years": 3}})).unwrap_err();
        assert_eq!(e.code, "invalid_validity");
        assert!(
            e.message.contains("'order_validity.years'"),
            "{}",
            e.message
        );
        let e = validity(json!({"validity_days": 0})).unwrap_err();
        assert!(e.message.contains("'validity_days'"), "{}", e.message);
        let e = validity(json!({"order_validity": {}})).unwrap_err();
        assert_eq!(e.code, "missing_required_field");
        assert!(
            e.message.contains("'order_validity.years'"),
            "{}",
            e.message
        );
        let e = validity(json!({})).unwrap_err();
        assert_eq!(e.code, "missing_required_field");
        assert!(
            e.message.contains("'order_validity'") && e.message.contains("'validity_years'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cert_validity_shortens_the_first_certificate_only() {
        let v = validity(json!({
            "order_validity": {"years": 2},
            "certificate": {"cert_validity": {"days": 30}}
        }))
        .unwrap();
        assert_eq!(v.term, OrderTerm::Years(2));
        assert_eq!(
            v.first_certificate,
            Some((OrderTerm::Days(30), datetime!(2026-12-23 11:59:59 UTC)))
        );
        // As long as the order, at most.
        assert!(validity(json!({
            "order_validity": {"years": 1},
            "certificate": {"cert_validity": {"years": 1}}
        }))
        .is_ok());
        let e = validity(json!({
            "order_validity": {"days": 30},
            "certificate": {"cert_validity": {"years": 1}}
        }))
        .unwrap_err();
        assert_eq!(e.code, "cert_validity_exceeds_order_validity");
        assert!(e.message.contains("2026-12-23"), "{}", e.message);
        let e = validity(json!({
            "validity_years": 1,
            "certificate": {"cert_validity": {"custom_expiration_date": "someday"}}
        }))
        .unwrap_err();
        assert_eq!(e.code, "invalid_custom_expiration_date");
        assert!(
            e.message
                .contains("'certificate.cert_validity.custom_expiration_date'"),
            "{}",
            e.message
        );
    }

    const TODAY: Date = date!(2026 - 11 - 23);

    #[test]
    fn override_order() {
        let y = [1, 2];
        assert_eq!(
            resolve_tls_term(Some(2), None, None, &y, TODAY).unwrap(),
            OrderTerm::Years(2)
        );
        assert_eq!(
            resolve_tls_term(Some(2), Some(30), None, &y, TODAY).unwrap(),
            OrderTerm::Days(30)
        );
        assert_eq!(
            resolve_tls_term(Some(2), Some(30), Some("2027-01-01"), &y, TODAY).unwrap(),
            OrderTerm::Date(date!(2027 - 01 - 01))
        );
        assert_eq!(
            resolve_tls_term(None, Some(10), None, &y, TODAY).unwrap(),
            OrderTerm::Days(10)
        );
    }

    #[test]
    fn rejects() {
        let y = [1, 2];
        assert_eq!(
            resolve_tls_term(None, None, None, &y, TODAY)
                .unwrap_err()
                .code,
            "missing_required_field"
        );
        assert_eq!(
            resolve_tls_term(Some(3), None, None, &y, TODAY)
                .unwrap_err()
                .code,
            "invalid_validity"
        );
        assert_eq!(
            resolve_tls_term(Some(0), None, None, &y, TODAY)
                .unwrap_err()
                .code,
            "invalid_validity"
        );
        assert_eq!(
            resolve_tls_term(Some(1), Some(0), None, &y, TODAY)
                .unwrap_err()
                .code,
            "invalid_validity"
        );
        assert_eq!(
            resolve_tls_term(Some(1), Some(826), None, &y, TODAY)
                .unwrap_err()
                .code,
            "invalid_validity"
        );
        for bad in [
            "2027/01/01",
            "01-01-2027",
            "2026-11-23",
            "2020-01-01",
            "2029-03-01",
        ] {
            assert_eq!(
                resolve_tls_term(Some(1), None, Some(bad), &y, TODAY)
                    .unwrap_err()
                    .code,
                "invalid_custom_expiration_date",
                "{bad}"
            );
        }
        // 824 days ahead is fine, 825 is not
        let ok = format_ymd(TODAY + Duration::days(824));
        assert!(resolve_tls_term(None, None, Some(&ok), &y, TODAY).is_ok());
        let no = format_ymd(TODAY + Duration::days(825));
        assert!(resolve_tls_term(None, None, Some(&no), &y, TODAY).is_err());
    }

    #[test]
    fn br_schedule() {
        assert_eq!(tls_br_max_days(datetime!(2026-03-14 12:00 UTC)), 397);
        assert_eq!(tls_br_max_days(datetime!(2026-11-23 12:00 UTC)), 199);
        assert_eq!(tls_br_max_days(datetime!(2027-03-15 0:00 UTC)), 99);
        assert_eq!(tls_br_max_days(datetime!(2029-03-15 0:00 UTC)), 46);
    }

    #[test]
    fn windows_are_capped() {
        let now = datetime!(2026-11-23 10:00:00.5 UTC);
        let end = term_end(&OrderTerm::Years(2), now);
        assert_eq!(end, datetime!(2028-11-23 09:59:59.5 UTC));
        let (nb, na) = certificate_window(end, now, 199);
        assert_eq!(nb, datetime!(2026-11-23 10:00:00 UTC));
        assert_eq!(na - nb, Duration::days(199) - Duration::seconds(1));
        let short = term_end(&OrderTerm::Days(10), now);
        let (_, na) = certificate_window(short, now, 199);
        assert_eq!(na, datetime!(2026-12-03 09:59:59 UTC));
        let dated = term_end(&OrderTerm::Date(date!(2026 - 12 - 01)), now);
        assert_eq!(dated, datetime!(2026-12-01 23:59:59 UTC));
    }
}

/// Parses one end of a `filters[status_last_updated]` range: `yyyy-M-d H:m:s`
/// (the `+` of the query string already decoded to a space), `yyyy-MM-dd`,
/// or RFC 3339 (UTC unless an offset is given).
pub fn parse_range_time(s: &str, end_of_day: bool) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let (date, time_part) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-').map(|x| x.parse::<u32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() {
        return None;
    }
    let (hh, mm, ss) = match time_part {
        Some(t) => {
            let mut p = t.split(':').map(|x| x.parse::<u32>().ok());
            (
                p.next()??,
                p.next().flatten().unwrap_or(0),
                p.next().flatten().unwrap_or(0),
            )
        }
        None if end_of_day => (23, 59, 59),
        None => (0, 0, 0),
    };
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(hh).ok()?,
        u8::try_from(mm).ok()?,
        u8::try_from(ss).ok()?,
    )
    .ok()?;
    Some(date.with_time(t).assume_utc())
}

#[cfg(test)]
mod range_tests {
    use super::parse_range_time;
    use time::macros::datetime;

    #[test]
    fn range_times() {
        assert_eq!(
            parse_range_time("2024-1-5 10:0:0", false).unwrap(),
            datetime!(2024-01-05 10:00:00 UTC)
        );
        assert_eq!(
            parse_range_time("2024-12-31", true).unwrap(),
            datetime!(2024-12-31 23:59:59 UTC)
        );
        assert_eq!(
            parse_range_time("2024-12-31", false).unwrap(),
            datetime!(2024-12-31 00:00:00 UTC)
        );
        // the same instant as 08:00 UTC
        assert_eq!(
            parse_range_time("2024-01-05T10:00:00+02:00", false).unwrap(),
            datetime!(2024-01-05 08:00:00 UTC)
        );
        for bad in [
            "",
            "2024-13-01",
            "2024-1-5 25:0:0",
            "yesterday",
            "2024-1-5-6",
            "99999999999-1-1",
        ] {
            assert!(parse_range_time(bad, false).is_none(), "{bad}");
        }
    }
}
