//! Rules of the TLS order endpoints (seeds order-ssl-ov-ev.txt and
//! order-ssl-securesite.txt).

pub use crate::organization::OrgChoice;
pub use crate::validity::{FirstCertificate, StoredTerm};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use certwell_api::error::codes;
use certwell_api::order::OrderRequest;

use crate::catalog::{Product, WildcardRule};
use crate::common;
use crate::dns::parse_dns_name;
use crate::error::{check_len, check_printable, optional_str, required_str, PolicyError, Result};
use crate::organization::{validate_order_contacts, ContactType, OrderContact};
use crate::validity::resolve_tls_validity;
use crate::ValidationLevel;

/// Everything a valid TLS order request says, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsOrderPlan {
    pub common_name: String,
    /// All names for the SAN, common name first, lower case, de-duplicated.
    pub sans: Vec<String>,
    /// `dns_names` as the client sent them (normalised), for order info.
    pub dns_names: Vec<String>,
    pub csr: String,
    pub signature_hash: String,
    pub organization_units: Vec<String>,
    pub server_platform_id: i64,
    pub profile_option: Option<String>,
    pub ca_cert_id: Option<String>,
    pub term: StoredTerm,
    /// RFC 3339 end of the order term.
    pub term_end: String,
    /// Set when `certificate.cert_validity` ends the first certificate
    /// before the order (absent from orders stored before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_certificate: Option<FirstCertificate>,
    pub organization: OrgChoice,
    pub contacts: Vec<OrderContact>,
    pub container_id: Option<i64>,
    pub custom_fields: Vec<CustomFieldValue>,
    pub comments: Option<String>,
    pub auto_renew: bool,
    pub custom_renewal_message: Option<String>,
    pub disable_renewal_notifications: bool,
    pub additional_emails: Vec<String>,
    pub renewal_of_order_id: Option<i64>,
    pub renewed_thumbprint: Option<String>,
    pub payment_method: crate::common::PaymentMethod,
    pub dcv_method: Option<crate::dcv::DcvMethod>,
    pub skip_approval: bool,
    pub disable_ct: bool,
    pub locale: Option<String>,
    pub validity_years: Option<i64>,
}

pub use crate::common::CustomFieldValue;

/// Locale codes: `en`, `fr`, `zh_CN`, `pt_BR`… (the vendor's table was not available).
pub fn is_locale(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        2 => b.iter().all(u8::is_ascii_lowercase),
        5 => {
            b[..2].iter().all(u8::is_ascii_lowercase)
                && (b[2] == b'_' || b[2] == b'-')
                && b[3..].iter().all(u8::is_ascii_uppercase)
        }
        _ => false,
    }
}

/// The names of a TLS certificate request, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub common_name: String,
    /// Every name for the SAN, common name first, de-duplicated.
    pub sans: Vec<String>,
    /// `dns_names` as sent (normalised, de-duplicated).
    pub dns_names: Vec<String>,
}

/// `certificate.common_name` and `certificate.dns_names` under the
/// product's wildcard and size rules.
pub fn validate_names(
    product: &Product,
    cert: &certwell_api::order::CertificateInput,
) -> Result<Names> {
    let cn_raw = required_str(&cert.common_name, "certificate.common_name")?;
    let cn = parse_dns_name(cn_raw, "certificate.common_name")?;
    if cert
        .dns_names
        .as_ref()
        .is_some_and(|d| d.len() > product.max_names)
    {
        return Err(PolicyError::new(
            codes::TOO_MANY_DNS_NAMES,
            format!(
                "The field 'certificate.dns_names' has too many names: product {} allows at most {} names.",
                product.name_id, product.max_names
            ),
        ));
    }
    let mut extra = Vec::new();
    for (i, n) in cert.dns_names.iter().flatten().enumerate() {
        // Some clients send the legacy blank entry; skip blanks.
        if n.trim().is_empty() {
            continue;
        }
        extra.push(parse_dns_name(n, &format!("certificate.dns_names[{i}]"))?);
    }
    match product.wildcard {
        WildcardRule::RequiredInCommonName if !cn.wildcard => {
            return Err(PolicyError::new(
                codes::WILDCARD_REQUIRED,
                format!(
                    "The field 'certificate.common_name' must be a wildcard name (*.example.com) for product {}.",
                    product.name_id
                ),
            ))
        }
        WildcardRule::AllowedInSans if cn.wildcard => {
            return Err(PolicyError::new(
                codes::WILDCARD_NOT_ALLOWED,
                format!(
                    "The field 'certificate.common_name' may not be a wildcard name for product {}.",
                    product.name_id
                ),
            ))
        }
        WildcardRule::Forbidden => {
            let what = if product.validation == ValidationLevel::Ev { "EV products" } else { "this product" };
            if cn.wildcard {
                return Err(PolicyError::new(
                    codes::WILDCARD_NOT_ALLOWED,
                    format!("The field 'certificate.common_name' may not be a wildcard name: {what} do not allow wildcards ({}).", product.name_id),
                ));
            }
            if let Some((i, _)) = extra.iter().enumerate().find(|(_, n)| n.wildcard) {
                return Err(PolicyError::new(
                    codes::WILDCARD_NOT_ALLOWED,
                    format!("The field 'certificate.dns_names[{i}]' may not be a wildcard name: {what} do not allow wildcards ({}).", product.name_id),
                ));
            }
        }
        _ => {}
    }
    let mut sans = vec![cn.name.clone()];
    let mut dns_names = Vec::new();
    let mut seen_sans = std::collections::HashSet::from([cn.name.clone()]);
    let mut seen_dns = std::collections::HashSet::new();
    for n in &extra {
        if seen_dns.insert(n.name.clone()) {
            dns_names.push(n.name.clone());
        }
        if seen_sans.insert(n.name.clone()) {
            sans.push(n.name.clone());
        }
    }
    if sans.len() > product.max_names {
        return Err(PolicyError::new(
            codes::TOO_MANY_DNS_NAMES,
            format!(
                "The field 'certificate.dns_names' has too many names: product {} allows at most {} names.",
                product.name_id, product.max_names
            ),
        ));
    }
    if cn.name.len() > 64 {
        return Err(PolicyError::new(
            codes::FIELD_TOO_LONG,
            "The field 'certificate.common_name' must be at most 64 characters (X.520 ub-common-name).",
        ));
    }

    Ok(Names {
        common_name: cn.name,
        sans,
        dns_names,
    })
}

/// Validates a TLS order for `product`. `now` fixes "today" for the
/// validity rules.
pub fn validate_tls_order(
    product: &Product,
    req: &OrderRequest,
    now: OffsetDateTime,
) -> Result<TlsOrderPlan> {
    let cert = req
        .certificate
        .as_ref()
        .ok_or_else(|| PolicyError::missing("certificate"))?;

    let Names {
        common_name: cn_name,
        sans,
        dns_names,
    } = validate_names(product, cert)?;

    // CSR presence (parsing and proof of possession happen in certwell-ca).
    let csr = required_str(&cert.csr, "certificate.csr")?.to_string();
    if csr.len() > 64 * 1024 {
        return Err(PolicyError::new(
            codes::CSR_INVALID_CANNOT_PARSE,
            "The field 'certificate.csr' is too large.",
        ));
    }

    let signature_hash =
        required_str(&cert.signature_hash, "certificate.signature_hash")?.to_ascii_lowercase();
    if !product.signature_hashes.contains(&signature_hash.as_str()) {
        return Err(PolicyError::new(
            codes::INVALID_SIGNATURE_HASH,
            format!(
                "The field 'certificate.signature_hash' must be one of {:?} for product {}; got '{}'.",
                product.signature_hashes, product.name_id, signature_hash
            ),
        ));
    }

    let mut organization_units = Vec::new();
    for (i, ou) in cert.organization_units.iter().flatten().enumerate() {
        let f = format!("certificate.organization_units[{i}]");
        let ou = ou.trim();
        if ou.is_empty() {
            continue;
        }
        check_len(ou, &f, 64)?;
        check_printable(ou, &f)?;
        organization_units.push(ou.to_string());
    }

    let server_platform_id = crate::common::server_platform_id(cert)?;

    let profile_option = optional_str(&cert.profile_option).map(str::to_string);
    if let Some(p) = &profile_option {
        return Err(PolicyError::new(
            codes::INVALID_PROFILE_OPTION,
            format!("The field 'certificate.profile_option' names an unknown certificate profile '{p}'; this account has no custom profiles."),
        ));
    }
    let ca_cert_id = optional_str(&cert.ca_cert_id).map(str::to_string);

    // Validity.
    let (term, term_end, first_certificate) =
        resolve_tls_validity(req, product.allowed_validity_years, now)?.stored();

    // Organization.
    let organization = common::organization_choice(req)?;
    let org_in = req
        .organization
        .as_ref()
        .ok_or_else(|| PolicyError::missing("organization"))?;
    let contacts = validate_order_contacts(
        org_in.contacts.as_deref().unwrap_or(&[]),
        "organization.contacts",
    )?;
    if product.validation == ValidationLevel::Ev
        && !contacts
            .iter()
            .any(|c| c.contact_type == ContactType::EvApprover)
    {
        return Err(PolicyError::new(
            codes::EV_APPROVER_REQUIRED,
            format!(
                "The field 'organization.contacts' must include an ev_approver contact for EV product {}.",
                product.name_id
            ),
        ));
    }

    let container_id = common::container_id(req)?;
    let custom_fields = common::custom_fields(req)?;
    let comments = common::comments(req)?;
    let auto_renew = common::auto_renew(req)?;
    let custom_renewal_message = optional_str(&req.custom_renewal_message).map(str::to_string);
    if let Some(m) = &custom_renewal_message {
        check_len(m, "custom_renewal_message", 4096)?;
    }
    let additional_emails = common::additional_emails(req)?;
    common::renewal_of_order_id(req)?;
    let renewed_thumbprint = optional_str(&req.renewed_thumbprint).map(str::to_ascii_uppercase);
    if let Some(t) = &renewed_thumbprint {
        if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PolicyError::new(
                codes::INVALID_THUMBPRINT,
                "The field 'renewed_thumbprint' must be a SHA-1 thumbprint (40 hexadecimal characters).",
            ));
        }
    }
    let payment_method = common::payment_method(req)?;
    let dcv_method = optional_str(&req.dcv_method)
        .map(|m| crate::dcv::parse_dcv_method(m, "dcv_method"))
        .transpose()?;
    let locale = optional_str(&req.locale).map(str::to_string);
    if let Some(l) = &locale {
        if !is_locale(l) {
            return Err(PolicyError::new(
                codes::INVALID_LOCALE,
                format!("The field 'locale' is not a locale code (like 'en' or 'zh_CN'): '{l}'."),
            ));
        }
    }

    Ok(TlsOrderPlan {
        common_name: cn_name,
        sans,
        dns_names,
        csr,
        signature_hash,
        organization_units,
        server_platform_id,
        profile_option,
        ca_cert_id,
        term,
        term_end,
        first_certificate,
        organization,
        contacts,
        container_id,
        custom_fields,
        comments,
        auto_renew,
        custom_renewal_message,
        disable_renewal_notifications: req.disable_renewal_notifications.unwrap_or(false),
        additional_emails,
        renewal_of_order_id: req.renewal_of_order_id,
        renewed_thumbprint,
        payment_method,
        dcv_method,
        skip_approval: req.skip_approval.unwrap_or(false),
        disable_ct: req.disable_ct.unwrap_or(false),
        locale,
        validity_years: req.validity_years,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find_product;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn seed_body() -> serde_json::Value {
        serde_json::json!({
            "certificate": {
                "common_name": "example.com",
                "dns_names": ["sub.example.com", "app.example.com"],
                "csr": "<csr>",
                "server_platform": {"id": 45},
                "signature_hash": "sha256",
                "organization_units": ["Accounting department"]
            },
            "validity_years": 2,
            "comments": "Message for the approver",
            "disable_renewal_notifications": true,
            "locale": "en",
            "payment_method": "balance",
            "skip_approval": true,
            "organization": {"id": 123456},
            "custom_fields": [{"metadata_id": 11, "value": "Invoice #00001"}]
        })
    }

    fn check(product: &str, body: serde_json::Value) -> Result<TlsOrderPlan> {
        let req: OrderRequest = serde_json::from_value(body).unwrap();
        validate_tls_order(find_product(product).unwrap(), &req, NOW)
    }

    fn code(product: &str, body: serde_json::Value) -> &'static str {
        check(product, body).unwrap_err().code
    }

    fn with(mut body: serde_json::Value, path: &[&str], v: serde_json::Value) -> serde_json::Value {
        let mut cur = &mut body;
        for p in &path[..path.len() - 1] {
            cur = &mut cur[*p];
        }
        if v.is_null() {
            cur.as_object_mut().unwrap().remove(path[path.len() - 1]);
        } else {
            cur[path[path.len() - 1]] = v;
        }
        body
    }

    #[test]
    fn seed_example_is_valid() {
        let p = check("ssl_plus", seed_body()).unwrap();
        assert_eq!(
            p.sans,
            vec!["example.com", "sub.example.com", "app.example.com"]
        );
        assert_eq!(
            p.term,
            StoredTerm {
                years: Some(2),
                days: None,
                custom_expiration_date: None
            }
        );
        assert_eq!(p.organization, OrgChoice::Existing(123456));
        assert_eq!(p.custom_fields[0].value, "Invoice #00001");
        assert!(p.skip_approval);
        assert_eq!(p.server_platform_id, 45);
        assert!(p.term_end.starts_with("2028-11-23"));
    }

    #[test]
    fn required_fields() {
        use serde_json::Value::Null;
        for (path, field) in [
            (&["certificate"][..], "certificate"),
            (
                &["certificate", "common_name"][..],
                "certificate.common_name",
            ),
            (&["certificate", "csr"][..], "certificate.csr"),
            (
                &["certificate", "signature_hash"][..],
                "certificate.signature_hash",
            ),
            (&["validity_years"][..], "validity_years"),
            (&["organization"][..], "organization"),
        ] {
            let e = check("ssl_plus", with(seed_body(), path, Null)).unwrap_err();
            assert_eq!(e.code, "missing_required_field", "{field}");
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    #[test]
    fn signature_hash_is_sha256_only() {
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["certificate", "signature_hash"],
                    "sha384".into()
                )
            ),
            "invalid_signature_hash"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["certificate", "signature_hash"],
                    "sha1".into()
                )
            ),
            "invalid_signature_hash"
        );
    }

    #[test]
    fn wildcard_rules() {
        let wc = with(
            seed_body(),
            &["certificate", "common_name"],
            "*.example.com".into(),
        );
        assert!(check("ssl_wildcard", wc.clone()).is_ok());
        assert!(check("ssl_cloud_wildcard", wc.clone()).is_ok());
        assert!(check("ssl_securesite_wildcard", wc.clone()).is_ok());
        assert_eq!(code("ssl_plus", wc.clone()), "wildcard_not_allowed");
        assert_eq!(code("ssl_multi_domain", wc.clone()), "wildcard_not_allowed");
        assert_eq!(code("ssl_ev_plus", wc.clone()), "wildcard_not_allowed");
        assert_eq!(code("ssl_wildcard", seed_body()), "wildcard_required");
        let wc_san = with(
            seed_body(),
            &["certificate", "dns_names"],
            serde_json::json!(["*.example.com"]),
        );
        assert!(check("ssl_multi_domain", wc_san.clone()).is_ok());
        assert_eq!(code("ssl_plus", wc_san.clone()), "wildcard_not_allowed");
        let e = check(
            "ssl_ev_multi_domain",
            with(
                wc_san,
                &["organization", "contacts"],
                serde_json::json!([{"contact_type":"ev_approver","user_id":1}]),
            ),
        )
        .unwrap_err();
        assert_eq!(e.code, "wildcard_not_allowed");
        assert!(e.message.contains("certificate.dns_names[0]"));
    }

    #[test]
    fn names_are_validated() {
        for bad in [
            "10.0.0.1",
            "intranet.local",
            "example.com.",
            "*.co.uk",
            "server",
        ] {
            assert_eq!(
                code(
                    "ssl_plus",
                    with(seed_body(), &["certificate", "common_name"], bad.into())
                ),
                "invalid_dns_name",
                "{bad}"
            );
        }
        let e = check(
            "ssl_plus",
            with(
                seed_body(),
                &["certificate", "dns_names"],
                serde_json::json!(["ok.example.com", "bad_name.example.com"]),
            ),
        )
        .unwrap_err();
        assert!(e.message.contains("certificate.dns_names[1]"));
        let many: Vec<String> = (0..250).map(|i| format!("h{i}.example.com")).collect();
        assert_eq!(
            code(
                "ssl_multi_domain",
                with(
                    seed_body(),
                    &["certificate", "dns_names"],
                    serde_json::json!(many)
                )
            ),
            "too_many_dns_names"
        );
    }

    #[test]
    fn duplicate_names_are_merged() {
        let b = with(
            seed_body(),
            &["certificate", "dns_names"],
            serde_json::json!(["EXAMPLE.com", "a.example.com", "a.example.com"]),
        );
        let p = check("ssl_plus", b).unwrap();
        assert_eq!(p.sans, vec!["example.com", "a.example.com"]);
    }

    #[test]
    fn ev_requires_approver() {
        assert_eq!(code("ssl_ev_plus", seed_body()), "ev_approver_required");
        let b = with(
            seed_body(),
            &["organization", "contacts"],
            serde_json::json!([{"contact_type":"ev_approver","user_id":7}]),
        );
        assert!(check("ssl_ev_plus", b).is_ok());
    }

    #[test]
    fn enumerations() {
        assert_eq!(
            code(
                "ssl_plus",
                with(seed_body(), &["payment_method"], "bitcoin".into())
            ),
            "invalid_payment_method"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(seed_body(), &["dcv_method"], "carrier-pigeon".into())
            ),
            "invalid_dcv_method"
        );
        assert_eq!(
            code("ssl_plus", with(seed_body(), &["auto_renew"], 2.into())),
            "invalid_auto_renew"
        );
        assert_eq!(
            code("ssl_plus", with(seed_body(), &["locale"], "english".into())),
            "invalid_locale"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["certificate", "server_platform", "id"],
                    9999.into()
                )
            ),
            "invalid_server_platform"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["certificate", "profile_option"],
                    "custom".into()
                )
            ),
            "invalid_profile_option"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["additional_emails"],
                    serde_json::json!(["nope"])
                )
            ),
            "invalid_email"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(seed_body(), &["renewed_thumbprint"], "abc".into())
            ),
            "invalid_renewed_thumbprint"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(seed_body(), &["renewal_of_order_id"], 0.into())
            ),
            "invalid_renewal_of_order_id"
        );
        assert_eq!(
            code(
                "ssl_plus",
                with(
                    seed_body(),
                    &["custom_fields"],
                    serde_json::json!([{"metadata_id": 1}])
                )
            ),
            "missing_required_field"
        );
        for m in ["balance", "card", "profile"] {
            assert!(check("ssl_plus", with(seed_body(), &["payment_method"], m.into())).is_ok());
        }
        for m in ["email", "dns-txt-token", "dns-cname-token", "http-token"] {
            assert!(check("ssl_plus", with(seed_body(), &["dcv_method"], m.into())).is_ok());
        }
    }

    #[test]
    fn default_platform_and_payment() {
        let b = with(
            with(
                seed_body(),
                &["certificate", "server_platform"],
                serde_json::Value::Null,
            ),
            &["payment_method"],
            serde_json::Value::Null,
        );
        let p = check("ssl_plus", b).unwrap();
        assert_eq!(p.server_platform_id, -1);
        assert_eq!(p.payment_method, crate::common::PaymentMethod::Balance);
    }

    #[test]
    fn inline_organization() {
        let org = serde_json::json!({
            "name": "Example Inc.", "country": "us", "address": "1 Main St", "city": "Lindon",
            "state": "Utah", "zip": "84042", "telephone": "801-555-0453",
            "organization_contact": {"first_name":"A","last_name":"B","email":"a@example.com","job_title":"CTO","telephone":"1"}
        });
        let p = check(
            "ssl_plus",
            with(seed_body(), &["organization"], org.clone()),
        )
        .unwrap();
        assert!(matches!(p.organization, OrgChoice::New(_)));
        let mut bad = org;
        bad.as_object_mut().unwrap().remove("city");
        let e = check("ssl_plus", with(seed_body(), &["organization"], bad)).unwrap_err();
        assert!(e.message.contains("organization.city"));
        assert_eq!(
            code(
                "ssl_plus",
                with(seed_body(), &["organization"], serde_json::json!({}))
            ),
            "missing_required_field"
        );
    }

    #[test]
    fn locales() {
        assert!(is_locale("en"));
        assert!(is_locale("zh_CN"));
        assert!(!is_locale("EN"));
        assert!(!is_locale("english"));
    }
}

#[cfg(test)]
mod limits {
    use super::*;
    use crate::catalog::find_product;

    #[test]
    fn huge_name_lists_are_refused_before_parsing() {
        let names: Vec<String> = (0..100_000).map(|i| format!("h{i}.example.com")).collect();
        let req: OrderRequest = serde_json::from_value(serde_json::json!({
            "certificate": {"common_name": "example.com", "dns_names": names, "csr": "x", "signature_hash": "sha256"},
            "validity_years": 1, "organization": {"id": 1}
        }))
        .unwrap();
        let t = std::time::Instant::now();
        let e = validate_tls_order(
            find_product("ssl_multi_domain").unwrap(),
            &req,
            OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert_eq!(e.code, "too_many_dns_names");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn metadata_only_values_are_refused() {
        let o = certwell_api::organization::OrganizationInput {
            name: Some("Example".into()),
            country: Some("de".into()),
            address: Some("Hauptstr. 1".into()),
            city: Some("Berlin".into()),
            state: Some("-".into()),
            zip: Some("10115".into()),
            telephone: Some("1".into()),
            organization_contact: Some(certwell_api::organization::ContactInput {
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                email: Some("a@example.de".into()),
                job_title: Some("CEO".into()),
                telephone: Some("1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = crate::organization::validate_new_organization(&o, "").unwrap_err();
        assert!(e.message.contains("'state'"), "{}", e.message);
    }
}
