//! `PUT /order/certificate/{id}/status`: the statuses a client may set.

use certwell_api::error::codes;

use crate::error::{PolicyError, Result};

/// What a client asks an order's status to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Cancel the order (or, while a reissue is pending, the reissue).
    Canceled,
}

/// Parses the `status` field (any letter case). `renewed` and
/// `not_renewed` exist on the vendor's API for migrated orders only, which
/// certwell does not have.
pub fn parse_status_change(raw: Option<&str>) -> Result<StatusChange> {
    let status = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PolicyError::missing("status"))?
        .to_ascii_lowercase();
    match status.as_str() {
        "canceled" => Ok(StatusChange::Canceled),
        "renewed" | "not_renewed" => Err(PolicyError::new(
            codes::INVALID_STATUS_TRANSITION,
            format!("The status '{status}' can only be set on migrated orders."),
        )),
        other => Err(PolicyError::new(
            codes::INVALID_STATUS,
            format!(
                "The field 'status' must be one of canceled, renewed, not_renewed; got '{other}'."
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            parse_status_change(Some(" Canceled ")).unwrap(),
            StatusChange::Canceled
        );
        assert_eq!(
            parse_status_change(None).unwrap_err().code,
            codes::MISSING_REQUIRED_FIELD
        );
        assert_eq!(
            parse_status_change(Some("renewed")).unwrap_err().code,
            codes::INVALID_STATUS_TRANSITION
        );
        assert_eq!(
            parse_status_change(Some("issued")).unwrap_err().code,
            codes::INVALID_STATUS
        );
    }
}
