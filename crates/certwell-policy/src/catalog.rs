//! The product catalog: every product certwell sells, with the rules that
//! differ between products.

use certwell_types::ValidationType;

/// Most email addresses on one certificate.
pub const MAX_EMAILS: usize = 50;

/// The organization validation a product needs before issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationLevel {
    Ov,
    Ev,
    /// S/MIME organization validation (organization and sponsor types).
    Smime,
    /// No organization: every mailbox is validated on its own.
    Mailbox,
    /// Document-signing organization validation.
    Ds,
}

impl ValidationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationLevel::Ov => "ov",
            ValidationLevel::Ev => "ev",
            ValidationLevel::Smime => "smime",
            ValidationLevel::Mailbox => "mailbox",
            ValidationLevel::Ds => "ds",
        }
    }
    pub fn display_name(self) -> &'static str {
        match self {
            ValidationLevel::Ov => "OV",
            ValidationLevel::Ev => "EV",
            ValidationLevel::Smime => "SMIME",
            ValidationLevel::Mailbox => "MAILBOX",
            ValidationLevel::Ds => "DS",
        }
    }
    pub fn description(self) -> &'static str {
        match self {
            ValidationLevel::Ov => "Normal Organization Validation",
            ValidationLevel::Ev => "Extended Organization Validation (EV)",
            ValidationLevel::Smime => "SMIME Organization Validation",
            ValidationLevel::Mailbox => "Mailbox Validation",
            ValidationLevel::Ds => "Document Signing Organization Validation",
        }
    }
    /// The organization validation this level asks for (none for
    /// mailbox-validated products); also the type a domain added for such
    /// an order is validated for.
    pub fn validation_type(self) -> Option<ValidationType> {
        match self {
            ValidationLevel::Ov => Some(ValidationType::Ov),
            ValidationLevel::Ev => Some(ValidationType::Ev),
            ValidationLevel::Smime => Some(ValidationType::Smime),
            ValidationLevel::Mailbox => None,
            ValidationLevel::Ds => Some(ValidationType::Ds),
        }
    }
    /// Does an organization validation of type `have` satisfy this level?
    /// EV covers OV; mailbox products need no organization validation.
    pub fn satisfied_by(self, have: ValidationType) -> bool {
        match self {
            ValidationLevel::Ov => matches!(have, ValidationType::Ov | ValidationType::Ev),
            ValidationLevel::Ev => have == ValidationType::Ev,
            ValidationLevel::Smime => have == ValidationType::Smime,
            ValidationLevel::Mailbox => true,
            ValidationLevel::Ds => have == ValidationType::Ds,
        }
    }
}

/// How a product treats wildcard names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WildcardRule {
    /// No `*.` anywhere (single-name OV products and all EV products).
    Forbidden,
    /// Wildcards allowed in additional names, not in the common name.
    AllowedInSans,
    /// The common name must be a wildcard; additional names may be either.
    RequiredInCommonName,
    /// Any name may be a wildcard, the common name too (the vendor's
    /// "Flex" products: single or multi-domain, exact or wildcard names).
    Anywhere,
}

/// Which kind of issuing CA a product's certificates come from. The CA
/// hierarchy tags every issuing CA with one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaPurpose {
    TlsOv,
    TlsEv,
    /// S/MIME subscriber certificates (every SBR type and generation).
    Smime,
    /// Client-authentication-only certificates (no emailProtection).
    ClientAuth,
    /// Document-signing certificates.
    DocumentSigning,
}

impl CaPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CaPurpose::TlsOv => "tls_ov",
            CaPurpose::TlsEv => "tls_ev",
            CaPurpose::Smime => "smime",
            CaPurpose::ClientAuth => "client_auth",
            CaPurpose::DocumentSigning => "document_signing",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tls_ov" => Some(CaPurpose::TlsOv),
            "tls_ev" => Some(CaPurpose::TlsEv),
            "smime" => Some(CaPurpose::Smime),
            "client_auth" => Some(CaPurpose::ClientAuth),
            "document_signing" => Some(CaPurpose::DocumentSigning),
            _ => None,
        }
    }
}

/// Which order endpoint rules a product follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// seeds order-ssl-ov-ev.txt and order-ssl-securesite.txt
    Tls,
    /// seed order-secure-email.txt
    SecureEmail,
    /// seed order-client-certificate.txt
    Client,
    /// seed order-document-signing.txt
    DocumentSigning,
}

/// The S/MIME BR certificate type (SBR §7.1.6.1) a product issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmimeType {
    Mailbox,
    Organization,
    Sponsor,
}

/// The fixed usage of a client-endpoint product (that endpoint has no
/// `usage_designation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientUsage {
    pub signing: bool,
    pub key_management: bool,
    pub non_repudiation: bool,
    pub email_protection: bool,
    pub client_auth: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub name_id: &'static str,
    pub name: &'static str,
    pub group_name: &'static str,
    pub product_type: &'static str,
    pub validation: ValidationLevel,
    pub wildcard: WildcardRule,
    /// Maximum number of names on the certificate, common name included.
    pub max_names: usize,
    pub allowed_validity_years: &'static [i64],
    pub signature_hashes: &'static [&'static str],
    pub ca_purpose: CaPurpose,
    pub csr_required: bool,
    pub family: Family,
    /// S/MIME products: the SBR certificate type. None for TLS and for
    /// client-authentication-only products.
    pub smime: Option<SmimeType>,
    /// Client-endpoint products: the usage their certificates carry.
    pub client_usage: Option<ClientUsage>,
    /// Document-signing products: signatures a year the plan allows
    /// (shown in the product list; certwell does not meter signing).
    pub signature_allowance: Option<u32>,
    /// Which names a duplicate certificate may carry.
    pub duplicates: DuplicateRule,
}

/// The names of a duplicate TLS certificate, as the vendor documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateRule {
    /// All of the order's names (any of them as the common name); a
    /// wildcard order may add names its wildcards cover ("Duplicate
    /// certificate": every field as the original but CSR, validity,
    /// server platform and signature hash).
    SameNames,
    /// Flex and Secure Site Pro products: any non-empty subset of the
    /// order's names, rearranged at will; names are added by a reissue,
    /// not a duplicate ("Flex certificates: Duplicate an SSL/TLS
    /// certificate").
    Subset,
}

const TLS_HASHES: &[&str] = &["sha256"];
const YEARS_1_2: &[i64] = &[1, 2];
/// Every TLS product accepts additional names (the seeds: they may add cost).
const MAX_TLS_NAMES: usize = 250;

macro_rules! tls {
    ($id:literal, $name:literal, $group:literal, $val:ident, $wild:ident) => {
        tls!($id, $name, $group, $val, $wild, SameNames)
    };
    ($id:literal, $name:literal, $group:literal, $val:ident, $wild:ident, $dup:ident) => {
        Product {
            name_id: $id,
            name: $name,
            group_name: $group,
            product_type: "ssl_certificate",
            validation: ValidationLevel::$val,
            wildcard: WildcardRule::$wild,
            max_names: MAX_TLS_NAMES,
            allowed_validity_years: YEARS_1_2,
            signature_hashes: TLS_HASHES,
            ca_purpose: match ValidationLevel::$val {
                ValidationLevel::Ev => CaPurpose::TlsEv,
                _ => CaPurpose::TlsOv,
            },
            csr_required: true,
            family: Family::Tls,
            smime: None,
            client_usage: None,
            signature_allowance: None,
            duplicates: DuplicateRule::$dup,
        }
    };
}

const SMIME_HASHES: &[&str] = &["sha256", "sha384", "sha512"];
const CLIENT_HASHES: &[&str] = &["sha256"];
const YEARS_1_3: &[i64] = &[1, 2, 3];

const fn secure_email(
    name_id: &'static str,
    name: &'static str,
    kind: SmimeType,
    validation: ValidationLevel,
) -> Product {
    Product {
        name_id,
        name,
        group_name: "secure_email_certificate",
        product_type: name_id,
        validation,
        wildcard: WildcardRule::Forbidden,
        max_names: MAX_EMAILS,
        allowed_validity_years: YEARS_1_2,
        signature_hashes: SMIME_HASHES,
        ca_purpose: CaPurpose::Smime,
        csr_required: false,
        family: Family::SecureEmail,
        smime: Some(kind),
        client_usage: None,
        signature_allowance: None,
        duplicates: DuplicateRule::SameNames,
    }
}

const fn client(
    name_id: &'static str,
    name: &'static str,
    smime: Option<SmimeType>,
    validation: ValidationLevel,
    usage: ClientUsage,
) -> Product {
    Product {
        name_id,
        name,
        group_name: "client_certificate",
        product_type: "client_certificate",
        validation,
        wildcard: WildcardRule::Forbidden,
        max_names: MAX_EMAILS,
        // S/MIME-capable products are issued Multipurpose (825 days at most).
        allowed_validity_years: if smime.is_some() {
            YEARS_1_2
        } else {
            YEARS_1_3
        },
        signature_hashes: CLIENT_HASHES,
        ca_purpose: if usage.email_protection {
            CaPurpose::Smime
        } else {
            CaPurpose::ClientAuth
        },
        csr_required: false,
        family: Family::Client,
        smime,
        client_usage: Some(usage),
        signature_allowance: None,
        duplicates: DuplicateRule::SameNames,
    }
}

const fn document_signing(name_id: &'static str, name: &'static str, signatures: u32) -> Product {
    Product {
        name_id,
        name,
        group_name: "document_signing",
        product_type: "document_signing_certificate",
        validation: ValidationLevel::Ds,
        wildcard: WildcardRule::Forbidden,
        max_names: 1,
        allowed_validity_years: YEARS_1_3,
        signature_hashes: CLIENT_HASHES,
        ca_purpose: CaPurpose::DocumentSigning,
        csr_required: false,
        family: Family::DocumentSigning,
        smime: None,
        client_usage: None,
        signature_allowance: Some(signatures),
        duplicates: DuplicateRule::SameNames,
    }
}

const fn usage(
    signing: bool,
    key_management: bool,
    non_repudiation: bool,
    email_protection: bool,
    client_auth: bool,
) -> ClientUsage {
    ClientUsage {
        signing,
        key_management,
        non_repudiation,
        email_protection,
        client_auth,
    }
}

/// Every product, in the order `GET /product` lists them.
pub static PRODUCTS: &[Product] = &[
    tls!("ssl_plus", "Standard SSL", "ssl_certificate", Ov, Forbidden),
    tls!(
        "ssl_multi_domain",
        "Multi-Domain SSL",
        "ssl_certificate",
        Ov,
        AllowedInSans
    ),
    tls!(
        "ssl_wildcard",
        "WildCard Plus",
        "ssl_certificate",
        Ov,
        RequiredInCommonName
    ),
    tls!(
        "ssl_ev_plus",
        "EV SSL Plus",
        "ssl_certificate",
        Ev,
        Forbidden
    ),
    tls!(
        "ssl_ev_multi_domain",
        "EV Multi-Domain",
        "ssl_certificate",
        Ev,
        Forbidden
    ),
    tls!(
        "ssl_cloud_wildcard",
        "Cloud",
        "ssl_certificate",
        Ov,
        RequiredInCommonName
    ),
    tls!(
        "ssl_securesite",
        "Secure Site SSL",
        "securesite_ssl_certificate",
        Ov,
        Forbidden
    ),
    tls!(
        "ssl_securesite_multi_domain",
        "Secure Site Multi-Domain SSL",
        "securesite_ssl_certificate",
        Ov,
        AllowedInSans
    ),
    tls!(
        "ssl_securesite_wildcard",
        "Secure Site Wildcard SSL",
        "securesite_ssl_certificate",
        Ov,
        RequiredInCommonName
    ),
    tls!(
        "ssl_ev_securesite",
        "Secure Site EV SSL",
        "securesite_ssl_certificate",
        Ev,
        Forbidden
    ),
    tls!(
        "ssl_ev_securesite_multi_domain",
        "Secure Site EV Multi-Domain SSL",
        "securesite_ssl_certificate",
        Ev,
        Forbidden
    ),
    // The vendor's current TLS products (beyond the seeds), each on the
    // OV or EV profile like the seed products; docs/compatibility.md lists
    // them.
    tls!(
        "ssl_basic",
        "Basic OV",
        "ssl_certificate",
        Ov,
        Anywhere,
        Subset
    ),
    tls!(
        "ssl_ev_basic",
        "Basic EV",
        "ssl_certificate",
        Ev,
        Forbidden,
        Subset
    ),
    tls!(
        "ssl_securesite_pro",
        "Secure Site Pro SSL",
        "securesite_ssl_certificate",
        Ov,
        Anywhere,
        Subset
    ),
    tls!(
        "ssl_ev_securesite_pro",
        "Secure Site Pro EV SSL",
        "securesite_ssl_certificate",
        Ev,
        Forbidden,
        Subset
    ),
    tls!(
        "ssl_securesite_flex",
        "Secure Site OV",
        "securesite_ssl_certificate",
        Ov,
        Anywhere,
        Subset
    ),
    tls!(
        "ssl_ev_securesite_flex",
        "Secure Site EV",
        "securesite_ssl_certificate",
        Ev,
        Forbidden,
        Subset
    ),
    tls!(
        "ssl_geotrust_truebizid",
        "GeoTrust TrueBusiness ID OV",
        "ssl_certificate",
        Ov,
        Anywhere,
        Subset
    ),
    tls!(
        "private_ssl_flex",
        "Private SSL OV",
        "private_ssl_certificate",
        Ov,
        Anywhere,
        Subset
    ),
    tls!(
        "private_ssl_plus",
        "Private SSL Plus",
        "private_ssl_certificate",
        Ov,
        Forbidden
    ),
    tls!(
        "private_ssl_wildcard",
        "Private SSL Wildcard",
        "private_ssl_certificate",
        Ov,
        RequiredInCommonName
    ),
    tls!(
        "private_ssl_multi_domain",
        "Private SSL Multi-Domain",
        "private_ssl_certificate",
        Ov,
        AllowedInSans
    ),
    secure_email(
        "secure_email_mailbox",
        "Secure Email for Individual Mailbox",
        SmimeType::Mailbox,
        ValidationLevel::Mailbox,
    ),
    secure_email(
        "secure_email_sponsor",
        "Secure Email for Employee",
        SmimeType::Sponsor,
        ValidationLevel::Smime,
    ),
    secure_email(
        "secure_email_organization",
        "Secure Email for Organization",
        SmimeType::Organization,
        ValidationLevel::Smime,
    ),
    // Client endpoint: (signing, key management, non-repudiation,
    // emailProtection, clientAuth).
    client(
        "client_premium",
        "Premium",
        Some(SmimeType::Sponsor),
        ValidationLevel::Smime,
        usage(true, true, false, true, true),
    ),
    client(
        "client_digital_signature_plus",
        "Digital Signature Plus",
        Some(SmimeType::Sponsor),
        ValidationLevel::Smime,
        usage(true, false, true, true, true),
    ),
    client(
        "client_email_security_plus",
        "Email Security Plus",
        Some(SmimeType::Sponsor),
        ValidationLevel::Smime,
        usage(true, true, false, true, false),
    ),
    client(
        "class1_smime",
        "Class 1 S/MIME",
        Some(SmimeType::Mailbox),
        ValidationLevel::Mailbox,
        usage(true, true, false, true, false),
    ),
    client(
        "client_authentication_plus",
        "Authentication Plus",
        None,
        ValidationLevel::Ov,
        usage(true, false, false, false, true),
    ),
    document_signing(
        "document_signing_org_1",
        "Document Signing - Organization (2000)",
        2000,
    ),
    document_signing(
        "document_signing_org_2",
        "Document Signing - Organization (5000)",
        5000,
    ),
];

/// Older identifiers of the same products (api-surface.md §6.4).
const ALIASES: &[(&str, &str)] = &[
    ("client_premium_sha2", "client_premium"),
    (
        "client_digital_signature_plus_sha2",
        "client_digital_signature_plus",
    ),
];

impl Product {
    /// The status an approved order without its CSR waits in: document
    /// signing calls it `waiting_pickup` (the token or client app has not
    /// picked the certificate up yet), the other products `needs_csr`.
    pub fn awaiting_csr_status(&self) -> certwell_types::OrderStatus {
        match self.family {
            Family::DocumentSigning => certwell_types::OrderStatus::WaitingPickup,
            _ => certwell_types::OrderStatus::NeedsCsr,
        }
    }
}

pub fn find_product(name_id: &str) -> Option<&'static Product> {
    let name_id = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name_id)
        .map_or(name_id, |(_, id)| *id);
    PRODUCTS.iter().find(|p| p.name_id == name_id)
}

/// Display name of a signature hash id.
pub fn hash_display_name(id: &str) -> &'static str {
    match id {
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        _ => "unknown",
    }
}

/// Server platforms (api-surface.md §10.6; the vendor's full table was not available).
pub static SERVER_PLATFORMS: &[(i64, &str)] = &[
    (-1, "OTHER"),
    (2, "Apache"),
    (14, "Microsoft IIS 5 or 6"),
    (21, "Adobe Acrobat"),
    (31, "nginx (legacy id)"),
    (40, "Microsoft IIS 7"),
    (45, "nginx"),
    (52, "Java (code signing)"),
    (57, "Other"),
    (67, "Microsoft IIS 8"),
    (68, "Microsoft Exchange Server 2013"),
];

pub fn server_platform_name(id: i64) -> Option<&'static str> {
    SERVER_PLATFORMS
        .iter()
        .find(|(pid, _)| *pid == id)
        .map(|(_, n)| *n)
}

/// The download format the vendor serves for a server platform
/// (`GET /certificate/{id}/download/platform/{platform_id}`): Apache a ZIP
/// of leaf and intermediate; nginx (45, and 31 in older clients) and 29,
/// which clients sync as a single PEM, `pem_all`; IIS and Exchange a
/// PKCS#7 bundle; every other platform the `default` ZIP. The vendor's
/// glossary table was not reachable; docs/compatibility.md gives the
/// evidence for each row.
pub static PLATFORM_DOWNLOAD_FORMATS: &[(i64, &str)] = &[
    (2, "apache"),
    (14, "p7b"),
    (29, "pem_all"),
    (31, "pem_all"),
    (40, "p7b"),
    (45, "pem_all"),
    (67, "p7b"),
    (68, "p7b"),
];

pub fn platform_download_format(id: i64) -> &'static str {
    PLATFORM_DOWNLOAD_FORMATS
        .iter()
        .find(|(pid, _)| *pid == id)
        .map_or("default", |(_, f)| *f)
}

pub const PLATFORM_INSTALL_URL: &str = "http://www.digicert.com/SSL-certificate-installation.htm";
pub const PLATFORM_CSR_URL: &str = "http://www.digicert.com/csr-creation.htm";

/// DCV methods (api-surface.md §8.4).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_product_is_in_the_catalog() {
        for id in [
            "ssl_plus",
            "ssl_multi_domain",
            "ssl_wildcard",
            "ssl_ev_plus",
            "ssl_ev_multi_domain",
            "ssl_cloud_wildcard",
            "ssl_securesite",
            "ssl_securesite_multi_domain",
            "ssl_securesite_wildcard",
            "ssl_ev_securesite",
            "ssl_ev_securesite_multi_domain",
        ] {
            let p = find_product(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(p.signature_hashes, &["sha256"]);
            assert_eq!(p.allowed_validity_years, &[1, 2]);
        }
        assert!(find_product("nope").is_none());
    }

    #[test]
    fn current_vendor_tls_products() {
        for (id, validation, wildcard) in [
            ("ssl_basic", ValidationLevel::Ov, WildcardRule::Anywhere),
            ("ssl_ev_basic", ValidationLevel::Ev, WildcardRule::Forbidden),
            (
                "ssl_securesite_pro",
                ValidationLevel::Ov,
                WildcardRule::Anywhere,
            ),
            (
                "ssl_ev_securesite_pro",
                ValidationLevel::Ev,
                WildcardRule::Forbidden,
            ),
            (
                "ssl_securesite_flex",
                ValidationLevel::Ov,
                WildcardRule::Anywhere,
            ),
            (
                "ssl_ev_securesite_flex",
                ValidationLevel::Ev,
                WildcardRule::Forbidden,
            ),
            (
                "ssl_geotrust_truebizid",
                ValidationLevel::Ov,
                WildcardRule::Anywhere,
            ),
            (
                "private_ssl_flex",
                ValidationLevel::Ov,
                WildcardRule::Anywhere,
            ),
            (
                "private_ssl_plus",
                ValidationLevel::Ov,
                WildcardRule::Forbidden,
            ),
            (
                "private_ssl_wildcard",
                ValidationLevel::Ov,
                WildcardRule::RequiredInCommonName,
            ),
            (
                "private_ssl_multi_domain",
                ValidationLevel::Ov,
                WildcardRule::AllowedInSans,
            ),
        ] {
            let p = find_product(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!((p.validation, p.wildcard), (validation, wildcard), "{id}");
            assert_eq!(p.family, Family::Tls, "{id}");
        }
    }

    #[test]
    fn ev_products_forbid_wildcards_and_use_the_ev_ca() {
        for p in PRODUCTS
            .iter()
            .filter(|p| p.validation == ValidationLevel::Ev)
        {
            assert_eq!(p.wildcard, WildcardRule::Forbidden, "{}", p.name_id);
            assert_eq!(p.ca_purpose, CaPurpose::TlsEv);
        }
    }

    #[test]
    fn smime_products() {
        for (id, ty, purpose) in [
            (
                "secure_email_mailbox",
                Some(SmimeType::Mailbox),
                CaPurpose::Smime,
            ),
            (
                "secure_email_sponsor",
                Some(SmimeType::Sponsor),
                CaPurpose::Smime,
            ),
            (
                "secure_email_organization",
                Some(SmimeType::Organization),
                CaPurpose::Smime,
            ),
            ("client_premium", Some(SmimeType::Sponsor), CaPurpose::Smime),
            ("class1_smime", Some(SmimeType::Mailbox), CaPurpose::Smime),
            ("client_authentication_plus", None, CaPurpose::ClientAuth),
        ] {
            let p = find_product(id).unwrap();
            assert_eq!(p.smime, ty, "{id}");
            assert_eq!(p.ca_purpose, purpose, "{id}");
        }
        assert_eq!(
            find_product("client_premium_sha2").unwrap().name_id,
            "client_premium"
        );
        assert_eq!(
            find_product("client_authentication_plus")
                .unwrap()
                .allowed_validity_years,
            &[1, 2, 3]
        );
        assert_eq!(
            find_product("client_premium").unwrap().signature_hashes,
            &["sha256"]
        );
    }

    #[test]
    fn ev_covers_ov() {
        assert!(ValidationLevel::Ov.satisfied_by(ValidationType::Ev));
        assert!(!ValidationLevel::Ev.satisfied_by(ValidationType::Ov));
    }
}
