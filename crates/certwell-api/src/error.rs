//! The DigiCert error envelope: `{"errors":[{"code","message"}]}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

impl ErrorBody {
    pub fn single(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            errors: vec![ErrorItem {
                code: code.into(),
                message: message.into(),
            }],
        }
    }
}

/// Error codes certwell returns. Codes documented by the vendor are marked
/// (vendor); the others are certwell's choice and listed in
/// docs/compatibility.md.
pub mod codes {
    // Transport / generic (vendor)
    pub const BAD_REQUEST_FORMAT: &str = "bad_request_format";
    pub const ACCESS_DENIED_INVALID_KEY: &str = "access_denied|access_denied_invalid_key";
    pub const MISSING_PERMISSION: &str = "access_denied|missing_permission";
    pub const INVALID_APPROVER: &str = "access_denied|invalid_approver";
    pub const NOT_FOUND: &str = "not_found";
    pub const NOT_FOUND_ROUTE: &str = "not_found|route";
    pub const NOT_FOUND_ORDER: &str = "not_found|order";
    pub const NOT_FOUND_PRODUCT: &str = "not_found|product";
    pub const NOT_FOUND_REQUEST: &str = "not_found|request";
    pub const NOT_FOUND_CERTIFICATE: &str = "not_found|certificate";
    pub const NOT_FOUND_ORGANIZATION: &str = "not_found|organization";
    pub const NOT_FOUND_DOMAIN: &str = "not_found|domain";
    pub const NOT_FOUND_ACCOUNT: &str = "not_found|account";
    pub const REQUEST_LIMIT_EXCEEDED: &str = "request_limit_exceeded";
    pub const CSR_INVALID_CANNOT_PARSE: &str = "csr_invalid_cannot_parse";
    pub const INVALID_DCV_METHOD: &str = "invalid_dcv_method";
    // Domain control validation and CAA.
    pub const INVALID_DNS_TXT: &str = "invalid_dns_txt";
    pub const FILE_RANDOM_VALUE_NOT_FOUND: &str = "file_random_value_not_found";
    /// Sent as `caa_check_failed|<domain>`.
    pub const CAA_CHECK_FAILED: &str = "caa_check_failed";
    pub const DCV_EMAIL_NOT_SENT: &str = "dcv_email_not_sent";
    pub const VALIDATION_LINK_INVALID: &str = "invalid_validation_link";
    pub const CERT_VALIDITY_EXCEEDS_ORDER_VALIDITY: &str = "cert_validity_exceeds_order_validity";
    /// The certificate failed certwell's pre-sign profile check (certwell).
    pub const CERTIFICATE_PROFILE_VIOLATION: &str = "certificate_profile_violation";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The database (or another dependency) is not available now; 503
    /// (certwell).
    pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
    /// A request not answered within the server's request timeout (503).
    pub const REQUEST_TIMEOUT: &str = "request_timeout";

    // Field-level validation (certwell)
    pub const MISSING_REQUIRED_FIELD: &str = "missing_required_field";
    pub const INVALID_FIELD_TYPE: &str = "invalid_field_type";
    pub const INVALID_VALUE: &str = "invalid_value";
    pub const FIELD_TOO_LONG: &str = "field_too_long";
    pub const INVALID_DNS_NAME: &str = "invalid_dns_name";
    pub const DUPLICATE_DNS_NAME: &str = "duplicate_dns_name";
    pub const TOO_MANY_DNS_NAMES: &str = "too_many_dns_names";
    pub const WILDCARD_REQUIRED: &str = "wildcard_required";
    pub const WILDCARD_NOT_ALLOWED: &str = "wildcard_not_allowed";
    pub const INVALID_SIGNATURE_HASH: &str = "invalid_signature_hash";
    pub const INVALID_VALIDITY: &str = "invalid_validity";
    pub const INVALID_CUSTOM_EXPIRATION_DATE: &str = "invalid_custom_expiration_date";
    pub const INVALID_SERVER_PLATFORM: &str = "invalid_server_platform";
    pub const INVALID_PROFILE_OPTION: &str = "invalid_profile_option";
    pub const INVALID_PAYMENT_METHOD: &str = "invalid_payment_method";
    pub const INVALID_AUTO_RENEW: &str = "invalid_auto_renew";
    pub const INVALID_EMAIL: &str = "invalid_email";
    pub const INVALID_LOCALE: &str = "invalid_locale";
    pub const INVALID_CA_CERT_ID: &str = "invalid_ca_cert_id";
    /// The product exists, but this server has no issuing CA for it (a
    /// hierarchy built by ceremonies without such a CA).
    pub const PRODUCT_NOT_AVAILABLE: &str = "product_not_available";
    pub const INVALID_ORGANIZATION: &str = "invalid_organization";
    pub const INVALID_CONTAINER: &str = "invalid_container";
    pub const INVALID_CONTACT: &str = "invalid_contact";
    pub const EV_APPROVER_REQUIRED: &str = "ev_approver_required";
    pub const INVALID_RENEWAL_OF_ORDER_ID: &str = "invalid_renewal_of_order_id";
    pub const INVALID_THUMBPRINT: &str = "invalid_renewed_thumbprint";
    pub const INVALID_CUSTOM_FIELD: &str = "invalid_custom_field";
    pub const CSR_INVALID_SIGNATURE: &str = "csr_invalid_signature";
    pub const CSR_KEY_NOT_ALLOWED: &str = "csr_key_not_allowed";
    pub const CSR_WEAK_KEY: &str = "csr_weak_key";
    pub const INVALID_STATUS: &str = "invalid_status";
    pub const INVALID_STATUS_TRANSITION: &str = "invalid_status_transition";
    pub const INVALID_FORMAT_TYPE: &str = "invalid_format_type";
    pub const CERTIFICATE_NOT_ISSUED: &str = "certificate_not_issued";
    pub const CERTIFICATE_ALREADY_REVOKED: &str = "certificate_already_revoked";
    pub const INVALID_FILTER: &str = "invalid_filter";
    pub const DUPLICATE_ORGANIZATION: &str = "duplicate_organization";
    pub const DUPLICATE_DOMAIN: &str = "duplicate_domain";
    pub const INVALID_VALIDATION_TYPE: &str = "invalid_validation_type";
    // S/MIME and client certificates.
    pub const INVALID_PROFILE_TYPE: &str = "invalid_profile_type";
    pub const INVALID_PRIMARY_USAGE: &str = "invalid_primary_usage";
    pub const INVALID_ADDITIONAL_USAGE: &str = "invalid_additional_usage";
    pub const INVALID_COMMON_NAME_INDICATOR: &str = "invalid_common_name_indicator";
    pub const INVALID_COMMON_NAME: &str = "invalid_common_name";
    pub const FIELD_NOT_ALLOWED: &str = "field_not_allowed";
    pub const INVALID_KEY_SIZE: &str = "invalid_key_size";
    pub const INVALID_CSR_KEY_TYPE: &str = "invalid_csr_key_type";
    pub const CSR_KEY_MISMATCH: &str = "csr_key_mismatch";
    pub const TOO_MANY_EMAILS: &str = "too_many_emails";
    pub const INVALID_USER_PRINCIPLE_NAME: &str = "invalid_user_principle_name";
    pub const PUBLIC_EMAIL_DOMAIN: &str = "public_email_domain_not_validated";
    pub const ORDER_FAILED_TO_IMMEDIATELY_ISSUE: &str = "order_failed_to_immediately_issue";
    pub const ORDER_NOT_AWAITING_CSR: &str = "order_not_awaiting_csr";
    // Payment and the account model.
    pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
    pub const DUPLICATE_ALTERNATIVE_ORDER_ID: &str = "duplicate_alternative_order_id";
    pub const INVALID_ALTERNATIVE_ORDER_ID: &str = "invalid_alternative_order_id";
    pub const INVALID_CREDIT_CARD: &str = "invalid_credit_card";
    pub const INVALID_BILLING_ADDRESS: &str = "invalid_billing_address";
    pub const NO_DEFAULT_CREDIT_CARD: &str = "no_default_credit_card";
    pub const CUSTOM_FIELD_REQUIRED: &str = "custom_field_required";
    // Document signing.
    pub const INVALID_PROVISIONING_METHOD: &str = "invalid_cs_provisioning_method";
    pub const INVALID_SHIP_INFO: &str = "invalid_ship_info";
    pub const INVALID_USER_ID_ASSIGNMENT: &str = "invalid_user_id_assignment";
    // Users.
    pub const INVALID_ACCESS_ROLE: &str = "invalid_access_role";
    // Reissue and duplicate.
    pub const DUPLICATE_NAMES_MISMATCH: &str = "duplicate_names_mismatch";
    pub const REISSUE_PENDING: &str = "reissue_pending";
}
