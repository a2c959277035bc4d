//! Revocation reasons (api-surface.md §10.4) and their RFC 5280 codes.

use certwell_api::error::codes;

use crate::error::{PolicyError, Result};

pub use certwell_types::RevocationReason;

/// Normalizes a requested reason: the vendor's camelCase names or the
/// snake_case ones some clients send (`key_compromise`), in any case, and
/// `affiliation_change`; absent or blank = unspecified.
pub fn parse_reason(raw: Option<&str>) -> Result<RevocationReason> {
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(RevocationReason::Unspecified);
    }
    let folded: String = raw.chars().filter(|c| *c != '_').collect();
    let folded = match folded.to_ascii_lowercase().as_str() {
        "affiliationchange" => "affiliationChanged".to_string(),
        _ => folded,
    };
    RevocationReason::parse(&folded).ok_or_else(|| {
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
        for (raw, want) in [
            ("key_compromise", RevocationReason::KeyCompromise),
            ("affiliation_changed", RevocationReason::AffiliationChanged),
            ("affiliation_change", RevocationReason::AffiliationChanged),
            (
                "cessation_of_operation",
                RevocationReason::CessationOfOperation,
            ),
            ("Superseded", RevocationReason::Superseded),
            ("unspecified", RevocationReason::Unspecified),
            ("privilege_withdrawn", RevocationReason::PrivilegeWithdrawn),
            ("privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn),
        ] {
            assert_eq!(parse_reason(Some(raw)).unwrap(), want, "{raw}");
        }
        for bad in ["certificateHold", "certificate_hold", "_"] {
            assert_eq!(
                parse_reason(Some(bad)).unwrap_err().code,
                "invalid_value",
                "{bad}"
            );
        }
        assert_eq!(RevocationReason::KeyCompromise.crl_code(), 1);
        assert_eq!(RevocationReason::PrivilegeWithdrawn.crl_code(), 9);
        assert_eq!(RevocationReason::from_name("nope"), None);
    }
}
