//! Limits set by the CA/Browser Forum that both the ordering rules
//! (`certwell-policy`) and the pre-signature profile check (`certwell-ca`)
//! apply: one schedule, two users.

use time::macros::datetime;
use time::OffsetDateTime;

/// BR §6.3.2 (as amended by ballot SC-081): the longest validity period,
/// in days, of a TLS subscriber certificate whose notBefore is
/// `not_before`. The schedule, by notBefore (UTC):
///
/// | notBefore                 | maximum  |
/// |---------------------------|----------|
/// | before 2026-03-15         | 398 days |
/// | 2026-03-15 to 2027-03-14  | 200 days |
/// | 2027-03-15 to 2029-03-14  | 100 days |
/// | from 2029-03-15           | 47 days  |
///
/// This is the BR maximum itself, the hard cap the profile check enforces;
/// certwell's issuance policy stays a day below it.
pub fn tls_br_max_days(not_before: OffsetDateTime) -> i64 {
    if not_before < datetime!(2026-03-15 00:00 UTC) {
        398
    } else if not_before < datetime!(2027-03-15 00:00 UTC) {
        200
    } else if not_before < datetime!(2029-03-15 00:00 UTC) {
        100
    } else {
        47
    }
}

/// A reuse schedule: (first day, days) phases in time order; the first
/// phase starts at the beginning of time.
type Schedule = [(Option<OffsetDateTime>, i64)];

/// BR §4.2.1 (as amended by SC-081): how old domain validation data may
/// be when a certificate is issued — 398 days until 2026-03-15, then 200,
/// 100 from 2027-03-15 and 10 from 2029-03-15.
pub static DCV_REUSE: &Schedule = &[
    (None, 398),
    (Some(datetime!(2026-03-15 00:00 UTC)), 200),
    (Some(datetime!(2027-03-15 00:00 UTC)), 100),
    (Some(datetime!(2029-03-15 00:00 UTC)), 10),
];

/// BR §4.2.1 (SC-081): how old Subject Identity Information (the
/// organization's validation) may be — 825 days until 2026-03-15, then
/// 398.
pub static IDENTITY_REUSE: &Schedule = &[(None, 825), (Some(datetime!(2026-03-15 00:00 UTC)), 398)];

/// Until when data validated at `validated_at` may be reused under
/// `schedule`, staying a day below each phase's limit: data is usable at
/// `t` while `t - validated_at` is under the limit in force at `t`, so a
/// shorter phase can end a validation early.
pub fn reuse_until(validated_at: OffsetDateTime, schedule: &Schedule) -> OffsetDateTime {
    for (i, (start, days)) in schedule.iter().enumerate() {
        let end = schedule.get(i + 1).and_then(|(s, _)| *s);
        if end.is_some_and(|e| e <= validated_at) {
            continue;
        }
        let until = validated_at + time::Duration::days(days - 1);
        if let Some(s) = start.filter(|s| until < *s) {
            return s.max(validated_at);
        }
        if end.is_none_or(|e| until < e) {
            return until;
        }
    }
    validated_at
}

/// SBR §6.3.2: no S/MIME subscriber certificate is valid longer.
pub const SMIME_MAX_DAYS: i64 = 825;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_follows_the_phase_in_force_at_issuance() {
        // Inside one phase: a day below its limit.
        let v = datetime!(2025-01-01 00:00 UTC);
        assert_eq!(reuse_until(v, DCV_REUSE), v + time::Duration::days(397));
        assert_eq!(
            reuse_until(datetime!(2026-06-01 00:00 UTC), DCV_REUSE),
            datetime!(2026-06-01 00:00 UTC) + time::Duration::days(199)
        );
        // Validated late in the 398-day phase: the 200-day phase ends it
        // when it starts, when the data is already older than 199 days.
        assert_eq!(
            reuse_until(datetime!(2025-08-01 00:00 UTC), DCV_REUSE),
            datetime!(2026-03-15 00:00 UTC)
        );
        // Younger than 199 days then: it runs on to 199 days.
        assert_eq!(
            reuse_until(datetime!(2026-01-01 00:00 UTC), DCV_REUSE),
            datetime!(2026-01-01 00:00 UTC) + time::Duration::days(199)
        );
        // Crossing into the 100-day phase with 60 days of age: 99 days.
        let v = datetime!(2027-01-14 00:00 UTC);
        assert_eq!(reuse_until(v, DCV_REUSE), v + time::Duration::days(99));
        let v = datetime!(2029-06-01 00:00 UTC);
        assert_eq!(reuse_until(v, DCV_REUSE), v + time::Duration::days(9));
        let v = datetime!(2026-12-04 00:00 UTC);
        assert_eq!(
            reuse_until(v, IDENTITY_REUSE),
            v + time::Duration::days(397)
        );
    }

    #[test]
    fn schedule_steps_at_midnight_utc() {
        assert_eq!(tls_br_max_days(datetime!(2026-03-14 23:59:59 UTC)), 398);
        assert_eq!(tls_br_max_days(datetime!(2026-03-15 00:00 UTC)), 200);
        assert_eq!(tls_br_max_days(datetime!(2027-03-15 00:00 UTC)), 100);
        assert_eq!(tls_br_max_days(datetime!(2029-03-15 00:00 UTC)), 47);
    }
}
