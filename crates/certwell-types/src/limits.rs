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

/// SBR §6.3.2: no S/MIME subscriber certificate is valid longer.
pub const SMIME_MAX_DAYS: i64 = 825;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_steps_at_midnight_utc() {
        assert_eq!(tls_br_max_days(datetime!(2026-03-14 23:59:59 UTC)), 398);
        assert_eq!(tls_br_max_days(datetime!(2026-03-15 00:00 UTC)), 200);
        assert_eq!(tls_br_max_days(datetime!(2027-03-15 00:00 UTC)), 100);
        assert_eq!(tls_br_max_days(datetime!(2029-03-15 00:00 UTC)), 47);
    }
}
