//! Revocation reasons (api-surface.md §10.4) and their RFC 5280 codes.

use certwell_api::error::codes;

use crate::error::{PolicyError, Result};

pub use certwell_types::RevocationReason;

/// Normalizes a requested reason (any case; absent or blank = unspecified).
pub fn parse_reason(raw: Option<&str>) -> Result<RevocationReason> {
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(RevocationReason::Unspecified);
    }
    RevocationReason::parse(raw).ok_or_else(|| {
        PolicyError::new(
            codes::INVALID_VALUE,
            format!(
                "The field 'revocation_reason' must be one of {:?}; got '{raw}'.",
                RevocationReason::names()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(parse_reason(None).unwrap(), RevocationReason::Unspecified);
        assert_eq!(
            parse_reason(Some(" ")).unwrap(),
            RevocationReason::Unspecified
        );
        assert_eq!(
            parse_reason(Some("KEYCOMPROMISE")).unwrap(),
            RevocationReason::KeyCompromise
        );
        assert_eq!(
            parse_reason(Some("certificateHold")).unwrap_err().code,
            "invalid_value"
        );
        assert_eq!(RevocationReason::KeyCompromise.crl_code(), 1);
        assert_eq!(RevocationReason::PrivilegeWithdrawn.crl_code(), 9);
        assert_eq!(RevocationReason::from_name("nope"), None);
    }
}
