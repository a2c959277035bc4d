//! Domain control validation and CAA rules (api-surface.md §8,
//! pki-profiles.md §2.1 "Process"): which records and files prove control,
//! which addresses may receive validation email, and whether a CAA record
//! set lets this CA issue. Pure functions; the server does the lookups.

/// The file an `http-token` check fetches, relative to the name.
pub const HTTP_TOKEN_PATH: &str = "/.well-known/pki-validation/fileauth.txt";
/// The label under which `dns-cname-token` (and, as resellers report, TXT
/// tokens) are published.
pub const DNSAUTH_LABEL: &str = "_dnsauth";
/// Where a domain may publish extra DCV addresses (TXT, one address each).
pub const CONTACT_EMAIL_LABEL: &str = "_validation-contactemail";
/// The local parts the Baseline Requirements allow for constructed
/// addresses (BR 3.2.2.4.4).
pub const CONSTRUCTED_LOCAL_PARTS: &[&str] = &[
    "admin",
    "administrator",
    "webmaster",
    "hostmaster",
    "postmaster",
];
/// Largest `fileauth.txt` certwell reads.
pub const MAX_HTTP_TOKEN_BYTES: usize = 8 * 1024;

pub use certwell_types::DcvMethod;

/// The one parser of a `dcv_method` a client sends (orders, `POST
/// /domain`, `PUT /domain/{id}/dcv/method`): any letter case, surrounding
/// spaces ignored.
pub fn parse_dcv_method(raw: &str, field: &str) -> crate::error::Result<DcvMethod> {
    DcvMethod::parse(raw).ok_or_else(|| {
        crate::PolicyError::new(
            certwell_api::error::codes::INVALID_DCV_METHOD,
            format!(
                "The field '{field}' must be one of {:?}; got '{raw}'.",
                DcvMethod::names()
            ),
        )
    })
}

/// Whether a (stored) DCV method proves control with a random value.
pub fn is_token_method(method: &str) -> bool {
    DcvMethod::parse(method).is_some_and(DcvMethod::is_token)
}

/// `http-token` proves control of one exact name: it cannot validate the
/// wildcard names among `uncovered` (names no domain covers yet).
pub fn check_method_for_names<'a>(
    method: DcvMethod,
    uncovered: impl IntoIterator<Item = &'a String>,
) -> crate::error::Result<()> {
    if !method.exact_name_only() {
        return Ok(());
    }
    match uncovered.into_iter().find(|n| n.starts_with("*.")) {
        None => Ok(()),
        Some(w) => Err(crate::PolicyError::new(
            certwell_api::error::codes::INVALID_DCV_METHOD,
            format!("The DCV method 'http-token' cannot validate the wildcard name '{w}' (an HTTP file proves one name only); use dns-txt-token, dns-cname-token or email."),
        )),
    }
}

/// The names a TXT token may be published at for domain `domain`: the
/// domain itself and `_dnsauth.<domain>`.
pub fn txt_names(domain: &str) -> [String; 2] {
    [domain.to_string(), format!("{DNSAUTH_LABEL}.{domain}")]
}

/// Whether one of the TXT strings (each record's strings joined) carries
/// `token`; surrounding white space is ignored, case is not.
pub fn txt_matches<'a>(records: impl IntoIterator<Item = &'a str>, tokens: &[&str]) -> bool {
    records.into_iter().any(|r| {
        let r = r.trim();
        tokens.iter().any(|t| !t.is_empty() && r == *t)
    })
}

/// The CNAME name for `domain` and the target a token asks for.
pub fn cname_name(domain: &str) -> String {
    format!("{DNSAUTH_LABEL}.{domain}")
}

/// Whether `target` (a CNAME's target) is `<token>.<verification_domain>`
/// for one of `tokens` (trailing dot and case ignored).
pub fn cname_matches(target: &str, tokens: &[&str], verification_domain: &str) -> bool {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    let v = verification_domain
        .trim_end_matches('.')
        .to_ascii_lowercase();
    tokens
        .iter()
        .any(|tok| !tok.is_empty() && t == format!("{}.{v}", tok.to_ascii_lowercase()))
}

/// Whether the body of `fileauth.txt` holds one of the tokens: any line,
/// trimmed, equal to it (the vendor's file holds the value alone).
pub fn http_body_matches(body: &[u8], tokens: &[&str]) -> bool {
    if body.len() > MAX_HTTP_TOKEN_BYTES {
        return false;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.lines()
        .map(str::trim)
        .any(|l| tokens.iter().any(|t| !t.is_empty() && l == *t))
}

/// The constructed addresses for `domain` (BR 3.2.2.4.4).
pub fn constructed_emails(domain: &str) -> Vec<String> {
    CONSTRUCTED_LOCAL_PARTS
        .iter()
        .map(|l| format!("{l}@{domain}"))
        .collect()
}

/// Addresses from `_validation-contactemail` TXT records that may receive
/// DCV email (BR 3.2.2.4.14): syntactically valid addresses only, lower
/// case, without duplicates.
pub fn contact_emails<'a>(records: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        let r = r.trim().to_ascii_lowercase();
        if crate::error::is_valid_email(&r) && !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// What a certificate asks CAA for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaaUse {
    /// A TLS name; `wildcard` for `*.` names (issuewild applies).
    Tls { wildcard: bool },
    /// An S/MIME address's domain (`issuemail`, RFC 9495).
    Email,
}

/// One CAA record as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    pub critical: bool,
    /// Lower-cased property tag.
    pub tag: String,
    pub value: String,
}

/// The names whose CAA record sets are consulted for `fqdn`, nearest
/// first (RFC 8659 §3: climb toward the root, stopping before it). A
/// leading `*.` is dropped.
pub fn caa_search_names(fqdn: &str) -> Vec<String> {
    let name = fqdn
        .trim_start_matches("*.")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    (0..labels.len()).map(|i| labels[i..].join(".")).collect()
}

/// The issuer domain of an issue/issuewild/issuemail value: the part
/// before any `;` parameters, trimmed and lower-cased ("" = nobody).
pub fn caa_issuer(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// RFC 8659 §4 (and RFC 9495 for `issuemail`): whether the relevant
/// record set `records` (the first non-empty one found by
/// [`caa_search_names`]; empty = no CAA) lets a CA known by `identities`
/// issue for `usage`.
pub fn caa_permits(records: &[CaaRecord], usage: CaaUse, identities: &[String]) -> bool {
    // An unknown property marked critical forbids issuance.
    const KNOWN: &[&str] = &[
        "issue",
        "issuewild",
        "issuemail",
        "iodef",
        "contactemail",
        "contactphone",
    ];
    if records
        .iter()
        .any(|r| r.critical && !KNOWN.contains(&r.tag.as_str()))
    {
        return false;
    }
    let of = |tag: &str| -> Vec<&CaaRecord> { records.iter().filter(|r| r.tag == tag).collect() };
    let relevant = match usage {
        CaaUse::Tls { wildcard: true } => {
            let w = of("issuewild");
            if w.is_empty() {
                of("issue")
            } else {
                w
            }
        }
        CaaUse::Tls { wildcard: false } => of("issue"),
        CaaUse::Email => of("issuemail"),
    };
    if relevant.is_empty() {
        return true;
    }
    relevant.iter().any(|r| {
        let issuer = caa_issuer(&r.value);
        !issuer.is_empty() && identities.iter().any(|i| i.eq_ignore_ascii_case(&issuer))
    })
}

/// The next check of a pending domain after `attempts` failed checks:
/// `base` seconds doubled per attempt, at most `max`.
pub fn backoff_seconds(attempts: u32, base: u64, max: u64) -> u64 {
    let base = base.max(1);
    base.saturating_mul(1u64 << attempts.min(20))
        .min(max.max(base))
}

/// Whether an `http-token` fetch must not go to `ip` (unless configured
/// otherwise): loopback, private (RFC 1918), link-local (with the cloud
/// metadata address 169.254.169.254), shared/CGNAT (100.64/10), "this
/// network", benchmarking, reserved, broadcast and multicast IPv4; and
/// loopback, unspecified, unique-local (fc00::/7, with the fd00:ec2::254
/// metadata address), link- and site-local and multicast IPv6, IPv6 forms
/// of such IPv4 addresses (mapped, NAT64) included.
pub fn is_internal_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_address(IpAddr::V4(v4));
            }
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its low bits.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [_, _, _, _, _, _, hi, lo] = seg;
                let v4 =
                    std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
                return is_internal_address(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal_address(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "203.0.113.7",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!is_internal_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn dcv_method_has_one_parser() {
        for (raw, want) in [
            ("email", DcvMethod::Email),
            ("DNS-TXT-TOKEN", DcvMethod::DnsTxtToken),
            (" dns-cname-token ", DcvMethod::DnsCnameToken),
            ("Http-Token", DcvMethod::HttpToken),
        ] {
            assert_eq!(parse_dcv_method(raw, "dcv_method").unwrap(), want, "{raw}");
        }
        let e = parse_dcv_method("carrier-pigeon", "dcv_method").unwrap_err();
        assert_eq!(e.code, "invalid_dcv_method");
        assert!(is_token_method("dns-txt-token") && !is_token_method("email"));
    }

    use super::*;

    fn rec(tag: &str, value: &str) -> CaaRecord {
        CaaRecord {
            critical: false,
            tag: tag.into(),
            value: value.into(),
        }
    }

    #[test]
    fn token_records_and_files() {
        assert!(txt_matches(["other", " abc123 "], &["abc123"]));
        assert!(!txt_matches(["abc1234"], &["abc123"]));
        assert!(!txt_matches(["ABC123"], &["abc123"]), "exact value");
        assert!(!txt_matches([""], &[""]), "an empty token never matches");
        assert_eq!(
            txt_names("shop.example.com")[1],
            "_dnsauth.shop.example.com"
        );
        assert!(cname_matches(
            "ABC.dcv.certwell.example.",
            &["abc"],
            "dcv.certwell.example"
        ));
        assert!(!cname_matches(
            "abc.evil.example",
            &["abc"],
            "dcv.certwell.example"
        ));
        assert!(http_body_matches(b"abc\r\n", &["abc"]));
        assert!(http_body_matches(b"x\nabc\n", &["abc"]));
        assert!(!http_body_matches(b"abcd", &["abc"]));
        assert!(!http_body_matches(&[0xff, 0xfe], &["abc"]));
        let big = vec![b'a'; MAX_HTTP_TOKEN_BYTES + 1];
        assert!(!http_body_matches(&big, &["a"]));
    }

    #[test]
    fn http_token_refuses_wildcards() {
        let names = ["a.example.com".to_string(), "*.example.com".to_string()];
        assert!(check_method_for_names(DcvMethod::DnsTxtToken, &names).is_ok());
        assert!(check_method_for_names(DcvMethod::HttpToken, &names[..1]).is_ok());
        let e = check_method_for_names(DcvMethod::HttpToken, &names).unwrap_err();
        assert_eq!(e.code, "invalid_dcv_method");
        assert!(e.message.contains("*.example.com"));
    }

    #[test]
    fn email_addresses() {
        assert_eq!(
            constructed_emails("example.com"),
            vec![
                "admin@example.com",
                "administrator@example.com",
                "webmaster@example.com",
                "hostmaster@example.com",
                "postmaster@example.com"
            ]
        );
        assert_eq!(
            contact_emails(["PKI@Example.com", "not an email", "pki@example.com"]),
            vec!["pki@example.com"]
        );
    }

    #[test]
    fn caa_names_climb_to_the_tld() {
        assert_eq!(
            caa_search_names("*.a.b.example.com."),
            vec!["a.b.example.com", "b.example.com", "example.com", "com"]
        );
    }

    #[test]
    fn caa_rules() {
        let me = vec!["certwell.example".to_string()];
        let tls = CaaUse::Tls { wildcard: false };
        let wild = CaaUse::Tls { wildcard: true };
        assert!(caa_permits(&[], tls, &me), "no CAA: anyone may issue");
        assert!(caa_permits(&[rec("issue", "certwell.example")], tls, &me));
        assert!(caa_permits(
            &[rec("issue", " Certwell.Example ; account=1")],
            tls,
            &me
        ));
        assert!(!caa_permits(&[rec("issue", "other-ca.example")], tls, &me));
        assert!(!caa_permits(&[rec("issue", ";")], tls, &me), "nobody");
        // issuewild governs wildcards when present; issue otherwise
        let set = [
            rec("issue", "certwell.example"),
            rec("issuewild", "other-ca.example"),
        ];
        assert!(caa_permits(&set, tls, &me));
        assert!(!caa_permits(&set, wild, &me));
        assert!(!caa_permits(&[rec("issue", "other-ca.example")], wild, &me));
        assert!(caa_permits(
            &[rec("issuewild", "certwell.example")],
            wild,
            &me
        ));
        // only issuemail restricts S/MIME; issue restricts only TLS
        assert!(caa_permits(
            &[rec("issue", "other-ca.example")],
            CaaUse::Email,
            &me
        ));
        assert!(!caa_permits(
            &[rec("issuemail", "other-ca.example")],
            CaaUse::Email,
            &me
        ));
        assert!(caa_permits(
            &[rec("issuemail", "other-ca.example")],
            tls,
            &me
        ));
        assert!(caa_permits(
            &[rec("issuemail", "certwell.example")],
            CaaUse::Email,
            &me
        ));
        // unknown critical property: nobody may issue
        let crit = CaaRecord {
            critical: true,
            tag: "tbs".into(),
            value: "x".into(),
        };
        assert!(!caa_permits(std::slice::from_ref(&crit), tls, &me));
        let known_crit = CaaRecord {
            tag: "iodef".into(),
            ..crit
        };
        assert!(caa_permits(&[known_crit], tls, &me));
    }

    #[test]
    fn backoff() {
        assert_eq!(backoff_seconds(0, 60, 3600), 60);
        assert_eq!(backoff_seconds(3, 60, 3600), 480);
        assert_eq!(backoff_seconds(30, 60, 3600), 3600);
        assert_eq!(backoff_seconds(0, 0, 0), 1);
    }
}
