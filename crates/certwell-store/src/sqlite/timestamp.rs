//! How the SQLite store keeps timestamps: UTC text
//! `YYYY-MM-DDTHH:MM:SS+00:00`, whole seconds. Text of this one form
//! orders as the instants do, so SQL compares and sorts these columns as
//! text. Records and the [`Store`](crate::Store) trait carry
//! `OffsetDateTime`s; only this module knows the text.
//!
//! sqlx's `time` feature is on (the PostgreSQL backend binds
//! `timestamptz` natively), so an `OffsetDateTime` bound directly in SQLite
//! code would compile and store sqlx's own text form, which does not sort
//! like this one: SQLite code binds timestamps only through [`format_ts`].

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::{OffsetDateTime, UtcOffset};

use crate::{Result, StoreError};

/// The stored text of `t`: in UTC, truncated to whole seconds.
pub(super) fn format_ts(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// [`format_ts`] of an optional timestamp (`None` binds NULL).
pub(super) fn format_opt_ts(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(format_ts)
}

/// Now, as stored.
pub(super) fn now_ts() -> String {
    format_ts(OffsetDateTime::now_utc())
}

/// A stored timestamp of column `col` read back: in UTC, whole seconds
/// (so it equals the value that was written, truncated). Text that is not
/// a timestamp is a corrupt record.
pub(crate) fn parse_ts(col: &str, text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(UtcOffset::UTC).replace_nanosecond(0).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{col}: not a timestamp: {text:?}")))
}

/// A NOT NULL timestamp column.
pub(super) fn ts_col(r: &SqliteRow, col: &str) -> Result<OffsetDateTime> {
    let text: String = r.try_get(col)?;
    parse_ts(col, &text)
}

/// A nullable timestamp column.
pub(super) fn opt_ts_col(r: &SqliteRow, col: &str) -> Result<Option<OffsetDateTime>> {
    let text: Option<String> = r.try_get(col)?;
    text.map(|t| parse_ts(col, &t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_text_is_utc_whole_seconds() {
        assert_eq!(
            format_ts(datetime!(2026-11-23 12:00:00.999 UTC)),
            "2026-11-23T12:00:00+00:00"
        );
        assert_eq!(
            format_ts(datetime!(2026-11-23 14:05:09 +02:00)),
            "2026-11-23T12:05:09+00:00"
        );
        assert_eq!(
            format_ts(datetime!(0999-01-02 03:04:05 UTC)),
            "0999-01-02T03:04:05+00:00"
        );
        assert_eq!(format_opt_ts(None), None);
    }

    #[test]
    fn read_back_equals_what_was_written_truncated() {
        let t = datetime!(2026-11-23 12:00:00.5 +01:00);
        let back = parse_ts("at", &format_ts(t)).unwrap();
        assert_eq!(back, datetime!(2026-11-23 11:00:00 UTC));
        assert_eq!(back.offset(), UtcOffset::UTC);
        assert_eq!(format_ts(back), format_ts(t), "the same text again");
    }

    #[test]
    fn text_that_is_no_timestamp_is_a_corrupt_record() {
        for bad in [
            "",
            "t",
            "garbage",
            "2026-11-23",
            "2026-13-01T00:00:00+00:00",
        ] {
            assert!(
                matches!(parse_ts("created_at", bad), Err(StoreError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_order_is_time_order() {
        let a = datetime!(2026-11-23 09:59:59 UTC);
        let b = datetime!(2026-11-23 10:00:00 UTC);
        let c = datetime!(2027-01-01 00:00:00 UTC);
        assert!(format_ts(a) < format_ts(b) && format_ts(b) < format_ts(c));
    }
}
