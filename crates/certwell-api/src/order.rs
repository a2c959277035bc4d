//! Order creation requests and responses (`POST /order/certificate/{product}`),
//! order info and order lists.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::organization::{ContactInput, OrganizationInput};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct IdRef {
    pub id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ServerPlatformRef {
    pub id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CertificateInput {
    pub common_name: Option<String>,
    pub dns_names: Option<Vec<String>>,
    pub csr: Option<String>,
    pub signature_hash: Option<String>,
    pub organization_units: Option<Vec<String>>,
    pub server_platform: Option<ServerPlatformRef>,
    pub profile_option: Option<String>,
    pub ca_cert_id: Option<String>,
    // S/MIME and client certificates (seeds order-secure-email.txt,
    // order-client-certificate.txt).
    pub emails: Option<Vec<String>>,
    pub user_principle_name: Option<Vec<String>>,
    pub common_name_indicator: Option<String>,
    pub individual: Option<IndividualInput>,
    pub include_email_in_subject: Option<bool>,
    pub usage_designation: Option<UsageDesignationInput>,
    /// An integer (2048) or a curve name ("p-256").
    pub key_size: Option<Value>,
    pub csr_key_type: Option<String>,
    pub is_rsassa_pss: Option<bool>,
    pub profile_type: Option<String>,
    /// The first certificate's lifetime within the order's term (the
    /// vendor's current form; same fields as `order_validity`).
    pub cert_validity: Option<OrderValidityInput>,
}

/// `certificate.individual` (one seed example writes given_name/surname).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct IndividualInput {
    #[serde(alias = "given_name")]
    pub first_name: Option<String>,
    #[serde(alias = "surname")]
    pub last_name: Option<String>,
    pub pseudonym: Option<String>,
}

/// `certificate.usage_designation`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct UsageDesignationInput {
    pub primary_usage: Option<String>,
    pub additional_usages: Option<Vec<String>>,
}

/// `order_validity` (every order endpoint) and `certificate.cert_validity`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OrderValidityInput {
    pub years: Option<i64>,
    pub days: Option<i64>,
    pub custom_expiration_date: Option<String>,
}

/// The root-level `subject` object of S/MIME orders.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SubjectInput {
    /// Document signing: the subject's full name, phone and email.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub include_email: Option<bool>,
    pub include_given_name_surname: Option<bool>,
    pub include_pseudonym: Option<bool>,
    pub pseudonym: Option<String>,
    pub job_title: Option<String>,
    pub serial_number: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CustomFieldInput {
    pub metadata_id: Option<i64>,
    pub value: Option<Value>,
}

/// Organization on an order: either `{"id": N, "contacts": [...]}` or an
/// inline new organization (the create-organization fields).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OrderOrganizationInput {
    /// A number; one seed example sends it as a string ("2030405").
    #[serde(default, deserialize_with = "crate::lenient::opt_i64")]
    pub id: Option<i64>,
    pub contacts: Option<Vec<ContactInput>>,
    #[serde(flatten)]
    pub new: OrganizationInput,
}

/// Body of `POST /order/certificate/{product_name_id}` for TLS products.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OrderRequest {
    pub certificate: Option<CertificateInput>,
    pub organization: Option<OrderOrganizationInput>,
    pub validity_years: Option<i64>,
    pub validity_days: Option<i64>,
    pub custom_expiration_date: Option<String>,
    pub comments: Option<String>,
    pub auto_renew: Option<i64>,
    pub custom_renewal_message: Option<String>,
    pub disable_renewal_notifications: Option<bool>,
    pub additional_emails: Option<Vec<String>>,
    pub renewal_of_order_id: Option<i64>,
    pub renewed_thumbprint: Option<String>,
    pub payment_method: Option<String>,
    pub dcv_method: Option<String>,
    pub skip_approval: Option<bool>,
    pub disable_ct: Option<bool>,
    pub locale: Option<String>,
    pub container: Option<IdRef>,
    pub custom_fields: Option<Vec<CustomFieldInput>>,
    pub order_validity: Option<OrderValidityInput>,
    pub subject: Option<SubjectInput>,
    pub reject_if_pending: Option<bool>,
    pub disable_generate_in_browser_email: Option<bool>,
    /// One secure-email seed example puts `common_name_indicator` and
    /// `individual` at the root; read as `certificate.*` when that is absent.
    pub common_name_indicator: Option<String>,
    pub individual: Option<IndividualInput>,
    // Document signing (seed order-document-signing.txt).
    pub cs_provisioning_method: Option<String>,
    pub use_org_as_common_name: Option<bool>,
    pub ship_info: Option<ShipInfoInput>,
    pub user_id_assignments: Option<Vec<i64>>,
    pub organization_contact: Option<ContactInput>,
    pub technical_contact: Option<ContactInput>,
    // Payment and the account model (every order endpoint).
    pub credit_card: Option<CreditCardInput>,
    pub billing_address: Option<BillingAddressInput>,
    pub vat_number: Option<String>,
    pub alternative_order_id: Option<String>,
    pub enable_guest_access: Option<i64>,
}

/// `credit_card` (payment_method `card`). Debug never shows the number or
/// the CVV.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct CreditCardInput {
    pub number: Option<String>,
    /// 1–12 (the seed: an integer "01"–"12"; a string is accepted too).
    pub expiration_month: Option<Value>,
    pub expiration_year: Option<Value>,
    pub cvv: Option<Value>,
    pub cardholder_name: Option<String>,
}

impl std::fmt::Debug for CreditCardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreditCardInput")
            .field("number", &self.number.as_ref().map(|_| "<redacted>"))
            .field("expiration_month", &self.expiration_month)
            .field("expiration_year", &self.expiration_year)
            .field("cvv", &self.cvv.as_ref().map(|_| "<redacted>"))
            .field("cardholder_name", &self.cardholder_name)
            .finish()
    }
}

/// `billing_address` (payment_method `card`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BillingAddressInput {
    pub address: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
}

/// `ship_info` of a document-signing order: where the token goes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ShipInfoInput {
    pub name: Option<String>,
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub method: Option<String>,
}

/// `POST /order/certificate/{order_id}/csr`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CsrUpload {
    pub csr: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestRef {
    pub id: i64,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainEntry {
    pub subject_common_name: String,
    pub pem: String,
}

/// The 201 body of order creation (five documented shapes).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct OrderCreated {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<IdOnly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<RequestRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<Vec<ChainEntry>>,
    /// A random value for the order's pending token-DCV domains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcv_random_value: Option<String>,
    /// Domains the order added that wait for token DCV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<DomainDcv>>,
}

/// A domain and its DCV random value (order responses, MYK/KF shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DomainDcv {
    pub id: i64,
    pub name: String,
    pub dcv_token: DcvToken,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DcvToken {
    pub token: String,
    pub status: String,
    pub expiration_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_token_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdOnly {
    pub id: i64,
}

/// `PUT /order/certificate/{id}/status`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OrderStatusUpdate {
    pub status: Option<String>,
    pub note: Option<String>,
    pub send_emails: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Page {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// `GET /certificate/intermediates`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntermediatesResponse {
    pub intermediates: Vec<IntermediateInfo>,
}

/// One issuing CA of `GET /certificate/intermediates` (api-surface.md §5.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IntermediateInfo {
    /// The `ca_cert_id` orders use.
    pub id: String,
    pub subject_common_name: String,
    pub subject_org_name: String,
    pub issuer_common_name: String,
    /// "YYYY-MM-DD HH:MM:SS"
    pub valid_from: String,
    pub valid_to: String,
    pub serial_number: String,
    pub thumbprint: String,
    pub signature_hash: String,
    /// "0" or "1" (a string, as the vendor sends it).
    pub is_private: String,
    /// PEM of the CA certificate.
    pub pem: String,
}

/// `GET /certificate/{id}/chain`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainResponse {
    pub intermediates: Vec<ChainEntry>,
}
