//! The one error type of the policy layer: a DigiCert-style code and a
//! message that names the offending field.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub code: &'static str,
    pub message: String,
}

impl PolicyError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        PolicyError {
            code,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> Self {
        Self::new(
            certwell_api::error::codes::MISSING_REQUIRED_FIELD,
            format!("The field '{field}' is required."),
        )
    }

    pub fn invalid(field: &str, why: impl fmt::Display) -> Self {
        Self::new(
            certwell_api::error::codes::INVALID_VALUE,
            format!("The field '{field}' is invalid: {why}"),
        )
    }

    pub fn too_long(field: &str, max: usize) -> Self {
        Self::new(
            certwell_api::error::codes::FIELD_TOO_LONG,
            format!("The field '{field}' must be at most {max} characters."),
        )
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PolicyError {}

pub type Result<T> = std::result::Result<T, PolicyError>;

/// Returns the trimmed string, or `missing` when absent or blank.
pub fn required_str<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str> {
    match value.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(PolicyError::missing(field)),
    }
}

/// Returns the trimmed string if present and non-blank.
pub fn optional_str(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A required text field: present, at most `max` characters, printable.
pub fn required_text(value: &Option<String>, field: &str, max: usize) -> Result<String> {
    let v = required_str(value, field)?;
    check_len(v, field, max)?;
    check_printable(v, field)?;
    Ok(v.to_string())
}

/// An optional text field: when present, at most `max` characters, printable.
pub fn optional_text(value: &Option<String>, field: &str, max: usize) -> Result<Option<String>> {
    match optional_str(value) {
        None => Ok(None),
        Some(v) => {
            check_len(v, field, max)?;
            check_printable(v, field)?;
            Ok(Some(v.to_string()))
        }
    }
}

pub fn check_len(value: &str, field: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(PolicyError::too_long(field, max));
    }
    Ok(())
}

/// Rejects control characters, which never belong in a certificate or a record.
pub fn check_printable(value: &str, field: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(PolicyError::invalid(
            field,
            "control characters are not allowed",
        ));
    }
    // BR §7.1.4.3 / SBR: subject values may not consist only of metadata
    // such as '.', '-', '_' or spaces.
    if value.chars().all(|c| matches!(c, '.' | '-' | '_' | ' ')) {
        return Err(PolicyError::invalid(
            field,
            "a value made only of '.', '-', '_' or spaces is not allowed (use the real value)",
        ));
    }
    Ok(())
}

/// A pragmatic RFC 5321 mailbox check: local@domain, ASCII, one '@', a dotted domain.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || s.len() > 254 {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

pub fn check_email(value: &str, field: &str) -> Result<()> {
    if !is_valid_email(value) {
        return Err(PolicyError::new(
            certwell_api::error::codes::INVALID_EMAIL,
            format!("The field '{field}' is not a valid email address: '{value}'."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_valid_email("a.b+c@example.com"));
        assert!(!is_valid_email("no-at.example.com"));
        assert!(!is_valid_email("a@localhost"));
        assert!(!is_valid_email("a..b@example.com"));
        assert!(!is_valid_email("@example.com"));
        assert!(!is_valid_email("a@-x.com"));
    }
}
