//! The server's clock. The store keeps timestamps in whole seconds, so
//! "now" that is compared with stored timestamps (or stored and compared
//! again) is taken in whole seconds too: two instants then compare as
//! their stored text did.

use time::OffsetDateTime;

/// Now, in UTC and whole seconds (also what certificates, CRLs and OCSP
/// responses carry).
pub fn now() -> OffsetDateTime {
    whole_seconds(OffsetDateTime::now_utc())
}

/// `t` truncated to the second, as the store keeps it.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn whole_seconds() {
        assert_eq!(
            super::whole_seconds(datetime!(2026-11-23 12:00:00.999 UTC)),
            datetime!(2026-11-23 12:00 UTC)
        );
        assert_eq!(super::now().nanosecond(), 0);
    }
}
