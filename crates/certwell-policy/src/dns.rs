//! DNS name rules for publicly-trusted-style TLS names (BR §3.2.2.6, §7.1.2.7).

use crate::error::{PolicyError, Result};
use certwell_api::error::codes;

/// A syntactically valid name, normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsName {
    pub name: String,
    pub wildcard: bool,
}

impl DnsName {
    /// The name without a leading `*.`.
    pub fn base(&self) -> &str {
        self.name.strip_prefix("*.").unwrap_or(&self.name)
    }
}

fn bad(field: &str, value: &str, why: &str) -> PolicyError {
    PolicyError::new(
        codes::INVALID_DNS_NAME,
        format!("The field '{field}' contains an invalid DNS name '{value}': {why}."),
    )
}

/// Validates one name as a public DNS name: LDH labels, a known public
/// suffix, no IP address, no trailing dot, wildcards only as the whole
/// leftmost label and never directly over a public suffix.
pub fn parse_dns_name(raw: &str, field: &str) -> Result<DnsName> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(bad(field, raw, "it is empty"));
    }
    if !value.is_ascii() {
        return Err(bad(
            field,
            value,
            "internationalized names must be sent in their ASCII (xn--) form",
        ));
    }
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Err(bad(field, value, "IP addresses are not allowed"));
    }
    if value.ends_with('.') {
        return Err(bad(field, value, "a trailing dot is not allowed"));
    }
    let name = value.to_ascii_lowercase();
    if name.len() > 253 {
        return Err(bad(field, value, "it is longer than 253 characters"));
    }
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name.as_str()),
    };
    if rest.contains('*') {
        return Err(bad(
            field,
            value,
            "a wildcard is allowed only as the whole leftmost label",
        ));
    }
    let labels: Vec<&str> = rest.split('.').collect();
    if labels.len() < 2 {
        return Err(bad(field, value, "it is not a fully qualified domain name"));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(bad(field, value, "every label must be 1 to 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(
                field,
                value,
                "a label may not start or end with a hyphen",
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad(
                field,
                value,
                "only letters, digits and hyphens are allowed in a label",
            ));
        }
        if !is_valid_a_label(label) {
            return Err(bad(
                field,
                value,
                &format!("the label '{label}' is not a valid internationalized (xn--) label"),
            ));
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(field, value, "IP addresses are not allowed"));
    }
    if rest.ends_with(".in-addr.arpa") || rest.ends_with(".ip6.arpa") || rest == "in-addr.arpa" {
        return Err(bad(field, value, "reverse-zone names are not allowed"));
    }
    match psl::suffix(rest.as_bytes()) {
        Some(s) if s.is_known() => {}
        _ => {
            return Err(bad(
                field,
                value,
                "it does not end in a public suffix (internal names are not allowed)",
            ))
        }
    }
    if psl::domain(rest.as_bytes()).is_none() {
        let why = if wildcard {
            "a wildcard directly under a public suffix is not allowed"
        } else {
            "it is a public suffix, not a registrable domain"
        };
        return Err(bad(field, value, why));
    }
    Ok(DnsName { name, wildcard })
}

/// A label starting `xn--` must be an A-label: Punycode that decodes to
/// a Unicode label IDNA accepts, and encodes back to itself. Other labels
/// pass (they are plain LDH labels).
fn is_valid_a_label(label: &str) -> bool {
    if !label.starts_with("xn--") {
        return true;
    }
    let (unicode, decoded) = idna::domain_to_unicode(label);
    decoded.is_ok()
        && unicode != label
        && idna::domain_to_ascii_strict(&unicode).is_ok_and(|back| back == label)
}

/// The registrable domain (eTLD+1) of a valid name.
pub fn registrable_domain(name: &str) -> Option<String> {
    let base = name.strip_prefix("*.").unwrap_or(name);
    psl::domain_str(base).map(str::to_string)
}

/// Does a validated domain cover this certificate name? A domain covers
/// itself, its subdomains and wildcards under either.
pub fn domain_covers(domain: &str, name: &str) -> bool {
    let base = name.strip_prefix("*.").unwrap_or(name);
    base == domain || base.ends_with(&format!(".{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> DnsName {
        parse_dns_name(s, "f").unwrap_or_else(|e| panic!("{s}: {e}"))
    }
    fn err(s: &str) {
        let e = parse_dns_name(s, "certificate.dns_names").unwrap_err();
        assert_eq!(e.code, "invalid_dns_name", "{s}");
        assert!(e.message.contains("certificate.dns_names"));
    }

    #[test]
    fn accepts_public_names() {
        assert_eq!(ok("Example.COM").name, "example.com");
        assert!(ok("*.example.com").wildcard);
        ok("a-b.sub.example.co.uk");
        ok("xn--bcher-kva.de");
        ok("*.example.co.uk");
    }

    #[test]
    fn a_labels_must_be_valid_idna() {
        ok("xn--mnchen-3ya.de");
        ok("www.xn--bcher-kva.example.com");
        for bad in [
            "xn--zz.example.com",
            "xn--.example.com",
            "xn--a.example.com",
            "www.xn--ls8h-.example.com",
        ] {
            err(bad);
        }
    }

    #[test]
    fn refuses_bad_names() {
        for s in [
            "",
            "localhost",
            "host.local",
            "server.internal",
            "192.168.1.1",
            "::1",
            "1.2.3.4.in-addr.arpa",
            "example.com.",
            "*.com",
            "*.co.uk",
            "co.uk",
            "com",
            "a.*.example.com",
            "*example.com",
            "-a.example.com",
            "a_b.example.com",
            "bücher.example",
            "a..example.com",
        ] {
            err(s);
        }
        let long = format!("{}.example.com", "a".repeat(64));
        err(&long);
    }

    #[test]
    fn coverage() {
        assert!(domain_covers("example.com", "example.com"));
        assert!(domain_covers("example.com", "*.example.com"));
        assert!(domain_covers("example.com", "a.b.example.com"));
        assert!(!domain_covers("example.com", "badexample.com"));
        assert!(!domain_covers("sub.example.com", "example.com"));
        assert_eq!(
            registrable_domain("*.a.example.co.uk").unwrap(),
            "example.co.uk"
        );
    }
}
