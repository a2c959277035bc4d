//! Revocation reasons (api-surface.md §10.4) and their RFC 5280 codes.

use certwell_api::error::codes;

use crate::error::{PolicyError, Result};

/// Reason names the API accepts, with their CRLReason codes.
pub const REASONS: &[(&str, u8)] = &[
    ("unspecified", 0),
    ("keyCompromise", 1),
    ("affiliationChanged", 3),
    ("superseded", 4),
    ("cessationOfOperation", 5),
    ("privilegeWithdrawn", 9),
];

/// The CRLReason code of a reason name.
pub fn reason_code(name: &str) -> Option<u8> {
    REASONS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Normalizes a requested reason (any case; absent or blank = unspecified).
pub fn parse_reason(raw: Option<&str>) -> Result<&'static str> {
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok("unspecified");
    }
    REASONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(raw))
        .map(|(n, _)| *n)
        .ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_VALUE,
                format!(
                    "The field 'revocation_reason' must be one of {:?}; got '{raw}'.",
                    REASONS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(parse_reason(None).unwrap(), "unspecified");
        assert_eq!(parse_reason(Some(" ")).unwrap(), "unspecified");
        assert_eq!(
            parse_reason(Some("KEYCOMPROMISE")).unwrap(),
            "keyCompromise"
        );
        assert_eq!(
            parse_reason(Some("certificateHold")).unwrap_err().code,
            "invalid_value"
        );
        assert_eq!(reason_code("keyCompromise"), Some(1));
        assert_eq!(reason_code("privilegeWithdrawn"), Some(9));
        assert_eq!(reason_code("nope"), None);
    }
}
