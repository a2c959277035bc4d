//! Order term and certificate validity.
//!
//! The order keeps the term the client asked for (`validity_years`,
//! `validity_days` or `custom_expiration_date`, in that override order); the
//! certificate's own lifetime is capped at the CA/B Forum maximum in force.

use time::{macros::format_description, Date, Duration, OffsetDateTime};

use crate::error::{PolicyError, Result};
use certwell_api::error::codes;
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

pub fn parse_ymd(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

pub fn format_ymd(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Resolves the three validity fields of a TLS order.
pub fn resolve_tls_term(
    validity_years: Option<i64>,
    validity_days: Option<i64>,
    custom_expiration_date: Option<&str>,
    allowed_years: &[i64],
    today: Date,
) -> Result<OrderTerm> {
    if let Some(y) = validity_years {
        if !allowed_years.contains(&y) {
            return Err(PolicyError::new(
                codes::INVALID_VALIDITY,
                format!("The field 'validity_years' must be one of {allowed_years:?}; got {y}."),
            ));
        }
    }
    if let Some(d) = validity_days {
        if !(1..=MAX_TERM_DAYS).contains(&d) {
            return Err(PolicyError::new(
                codes::INVALID_VALIDITY,
                format!(
                    "The field 'validity_days' must be between 1 and {MAX_TERM_DAYS}; got {d}."
                ),
            ));
        }
    }
    if let Some(s) = custom_expiration_date {
        let date = parse_ymd(s).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                format!("The field 'custom_expiration_date' must be a date in the format yyyy-MM-dd; got '{s}'."),
            )
        })?;
        if date <= today {
            return Err(PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                "The field 'custom_expiration_date' must be in the future.",
            ));
        }
        if date >= today + Duration::days(MAX_TERM_DAYS) {
            return Err(PolicyError::new(
                codes::INVALID_CUSTOM_EXPIRATION_DATE,
                format!("The field 'custom_expiration_date' must be less than {MAX_TERM_DAYS} days in the future."),
            ));
        }
        return Ok(OrderTerm::Date(date));
    }
    if let Some(d) = validity_days {
        return Ok(OrderTerm::Days(d));
    }
    match validity_years {
        Some(y) => Ok(OrderTerm::Years(y)),
        None => Err(PolicyError::missing("validity_years")),
    }
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
    use time::macros::{date, datetime};

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
