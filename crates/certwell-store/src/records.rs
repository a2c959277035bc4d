//! Row types. Free-form parts of a record (an order's full request, an
//! organization's address and contacts) are JSON documents in `data`.
//! Timestamps are `OffsetDateTime`s; read back from the store they are in
//! UTC and whole seconds.

pub use certwell_types::{
    CertificateKind, CertificateStatus, DcvMethod, MailboxStatus, OrderStatus, RequestKind,
    RequestStatus, RevocationReason, SerialNumber, UserStatus, ValidationStatus, ValidationType,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Account-wide settings; missing fields take their defaults, so settings
/// written by an older version still load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AccountSettings {
    /// one_step | two_step | auto_approve
    pub approval_workflow: String,
    /// The product setting "default S/MIME profile": product name id →
    /// `strict` | `multipurpose`. Products not listed default to strict.
    pub smime_default_profiles: std::collections::BTreeMap<String, String>,
    /// The vendor's "Require unique alternative order IDs".
    pub require_unique_alternative_order_id: bool,
    /// Orders may set `enable_guest_access`.
    pub allow_guest_access: bool,
    /// The account's default credit card (payment_method `profile`): only
    /// its last four digits are known.
    pub default_card_last_four: Option<String>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            approval_workflow: "one_step".into(),
            smime_default_profiles: Default::default(),
            require_unique_alternative_order_id: false,
            allow_guest_access: true,
            default_card_last_four: None,
        }
    }
}

/// An account's funds (`GET /finance/balance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub balance_cents: i64,
    pub negative_limit_cents: i64,
    /// The balance may go negative without limit.
    pub unlimited_negative: bool,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub root_container_id: i64,
    pub settings: AccountSettings,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Container {
    pub id: i64,
    pub account_id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub description: String,
}

/// `GET /organization` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgFilter {
    /// Only active (true) or only deactivated (false) organizations.
    pub active: Option<bool>,
    pub container_id: Option<i64>,
    /// Only organizations in these containers (`None`: all).
    pub container_ids: Option<Vec<i64>>,
}

/// A custom order field of an account (`/account/metadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataField {
    pub id: i64,
    pub label: String,
    pub is_required: bool,
    pub is_active: bool,
    /// text | int | email_address | email_list | "" (anything)
    pub data_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMetadataField {
    pub label: String,
    pub is_required: bool,
    pub is_active: bool,
    pub data_type: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub container_id: Option<i64>,
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub job_title: String,
    pub telephone: String,
    /// A service user: API keys only, no sign-in.
    pub is_api_only: bool,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub container_id: i64,
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub job_title: String,
    pub telephone: String,
    pub created_at: OffsetDateTime,
    pub status: UserStatus,
    pub is_api_only: bool,
}

/// Contact details of a user named on an order (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserContactUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key_hash: String,
    pub account_id: Option<i64>,
    pub user_id: Option<i64>,
    pub role: String,
    pub name: String,
    /// The vendor's API key role (`restricted_to_role_id`): 0 none, 100
    /// orders, 101 orders, domains and organizations, 102 view only, 103
    /// user management.
    pub restricted_role: i64,
    /// Refused from then on.
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub account_id: Option<i64>,
    pub user_id: Option<i64>,
    pub role: String,
    pub revoked: bool,
    pub name: String,
    pub restricted_role: i64,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// When the key was last used, as far as recorded (a minute's grain).
    pub last_used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct CaRecord {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub purpose: Option<String>,
    pub key_algorithm: String,
    pub key_file: String,
    pub cert_der: Vec<u8>,
    pub is_default: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewOrganizationRow {
    pub container_id: i64,
    pub name: String,
    pub assumed_name: Option<String>,
    pub data: Value,
    /// (type, status, validated_until)
    pub validations: Vec<(ValidationType, ValidationStatus, Option<OffsetDateTime>)>,
}

/// The fields an inline organization is matched on by the duplicate check.
#[derive(Debug, Clone)]
pub struct OrgDuplicateKey {
    pub name: String,
    pub assumed_name: Option<String>,
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
}

#[derive(Debug, Clone)]
pub struct OrgValidation {
    pub kind: ValidationType,
    pub status: ValidationStatus,
    pub date_created: OffsetDateTime,
    pub validated_until: Option<OffsetDateTime>,
    /// JSON array, when the validation was submitted with verified users.
    pub verified_users: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: i64,
    pub account_id: i64,
    pub container_id: i64,
    pub name: String,
    pub assumed_name: Option<String>,
    pub is_active: bool,
    pub data: Value,
    pub validations: Vec<OrgValidation>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewDomainRow {
    pub container_id: i64,
    pub organization_id: i64,
    pub name: String,
    pub dcv_method: DcvMethod,
    pub dcv_token: Option<String>,
    pub dcv_token_expires: Option<OffsetDateTime>,
    pub validation_types: Vec<ValidationType>,
    pub validated_at: Option<OffsetDateTime>,
    pub validated_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub id: i64,
    pub account_id: i64,
    pub container_id: i64,
    pub organization_id: i64,
    pub name: String,
    pub is_active: bool,
    pub dcv_method: DcvMethod,
    pub dcv_token: Option<String>,
    pub dcv_token_expires: Option<OffsetDateTime>,
    pub validation_types: Vec<ValidationType>,
    pub validated_at: Option<OffsetDateTime>,
    pub validated_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Failed automatic checks since the token was issued.
    pub dcv_attempts: i64,
    pub dcv_next_check: Option<OffsetDateTime>,
    pub dcv_last_error: Option<String>,
}

/// An organization validation waiting for the desk.
#[derive(Debug, Clone)]
pub struct PendingOrgValidation {
    pub account_id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub kind: ValidationType,
    pub date_created: OffsetDateTime,
    pub verified_users: Option<Value>,
}

/// An operator's decision on an organization validation.
#[derive(Debug, Clone)]
pub struct OrgDecision {
    pub operator_key_id: Option<i64>,
    pub organization_id: i64,
    pub kind: ValidationType,
    pub approve: bool,
    pub validated_until: Option<OffsetDateTime>,
    pub note: String,
    /// JSON array of the contacts the operator verified (EV, code signing).
    pub verified_contacts: Option<Value>,
    /// Recorded on the organization with an approval, as its data's
    /// `ev.registration_number`.
    pub registration_number: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    pub operator_key_id: Option<i64>,
    pub account_id: i64,
    pub organization_id: i64,
    pub kind: ValidationType,
    pub decision: String,
    pub note: String,
    pub verified_contacts: Option<Value>,
}

/// A one-time validation link sent by email.
#[derive(Debug, Clone)]
pub struct NewValidationLink {
    pub account_id: i64,
    /// "domain" or "mailbox".
    pub target: LinkTarget,
    pub email: String,
    pub token_hash: String,
    pub expires_at: OffsetDateTime,
    pub sent_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct ValidationLink {
    pub id: i64,
    pub account_id: i64,
    pub target: LinkTarget,
    pub email: String,
    pub expires_at: OffsetDateTime,
    pub sent_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// An organization to use for a new order.
#[derive(Debug, Clone)]
pub enum OrgForOrder {
    Existing(i64),
    New(NewOrganizationRow),
    /// Mailbox-validated S/MIME orders have no organization.
    None,
}

/// One address of a mailbox-validated order and its validation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEmail {
    pub email: String,
    /// `unvalidated` or `validated`.
    pub status: MailboxStatus,
    pub date_emailed: Option<OffsetDateTime>,
    pub validated_at: Option<OffsetDateTime>,
}

/// A CSR supplied after the order was created
/// (`POST /order/certificate/{id}/csr`).
#[derive(Debug, Clone)]
pub struct CsrAttachment {
    pub order_id: i64,
    pub certificate_id: i64,
    pub csr: String,
    pub spki_sha256: String,
    pub key_size: i64,
    /// The order's status once it has its CSR.
    pub order_status: OrderStatus,
    pub updated_at: OffsetDateTime,
}

/// How an order is paid and identified by the client.
#[derive(Debug, Clone, Default)]
pub struct OrderPayment {
    /// The client's `alternative_order_id`.
    pub alternative_order_id: Option<String>,
    /// The account requires unique alternative order ids: a second order
    /// with the same one fails with
    /// [`StoreError::DuplicateAlternativeOrderId`](crate::StoreError)
    /// naming `alternative_order_id`, whatever the concurrency.
    pub unique: bool,
    /// The order's price.
    pub price_cents: i64,
    /// Debit the account balance by this much (payment method `balance`);
    /// refused with [`StoreError::InsufficientFunds`](crate::StoreError) in
    /// the order's own transaction when the funds do not cover it.
    pub debit_cents: Option<i64>,
}

impl OrderPayment {
    pub fn unique_alternative_order_id(&self) -> Option<String> {
        self.alternative_order_id.clone().filter(|_| self.unique)
    }
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub payment: OrderPayment,
    pub account_id: i64,
    pub container_id: i64,
    pub user_id: i64,
    pub product_name_id: String,
    pub status: OrderStatus,
    pub organization: OrgForOrder,
    pub common_name: String,
    pub names: Vec<String>,
    pub data: Value,
    /// Domains to add for names no existing domain covers (organization id
    /// is filled in inside the transaction when the organization is new).
    pub new_domains: Vec<NewDomainRow>,
    /// (status, comments) of the new_request, if the order has one.
    pub request: Option<(RequestStatus, Option<String>)>,
    pub certificate: NewCertificateRow,
    /// The order is issuable now: claim its certificate and record this
    /// serial in the same transaction.
    pub reserve_serial: Option<SerialReservation>,
    /// Mailbox-validated orders: every address with its initial state.
    pub emails: Vec<OrderEmail>,
    /// The order this one renews (an order of the same account).
    pub renewal_of_order_id: Option<i64>,
    /// Signed before the order was stored, with a serial recorded earlier
    /// by `reserve_serials`: the order is stored issued, with its
    /// certificate, in one transaction (existing organization, no new
    /// domains, no mailboxes only).
    pub issued: Option<PreIssued>,
    pub created_at: OffsetDateTime,
}

/// A certificate signed with a pre-reserved serial.
#[derive(Debug, Clone)]
pub struct PreIssued {
    pub ca_id: String,
    pub serial_hex: String,
    pub der: Vec<u8>,
    pub thumbprint: String,
    pub valid_from: OffsetDateTime,
    pub valid_till: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewCertificateRow {
    pub csr: String,
    pub spki_sha256: String,
    pub key_size: i64,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub signature_hash: String,
}

#[derive(Debug, Clone)]
pub struct CreatedOrder {
    pub order_id: i64,
    pub organization_id: i64,
    pub organization_created: bool,
    pub request_id: Option<i64>,
    pub certificate_id: i64,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: i64,
    pub account_id: i64,
    pub container_id: i64,
    pub user_id: i64,
    pub product_name_id: String,
    pub status: OrderStatus,
    /// 0: the order has no organization (mailbox-validated S/MIME).
    pub organization_id: i64,
    pub common_name: String,
    pub certificate_id: Option<i64>,
    pub renewal_of_order_id: Option<i64>,
    pub data: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A column orders can be listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderSortKey {
    Id,
    DateCreated,
    CommonName,
    Status,
    ProductName,
    /// The current certificate's notAfter.
    ValidTill,
}

impl OrderSortKey {
    /// The key as the API names it (`sort=`): `order_id` or `id`,
    /// `date_created`, `common_name`, `status`, `product_name` or
    /// `product_name_id`, `valid_till`.
    pub fn parse(key: &str) -> Option<OrderSortKey> {
        Some(match key {
            "order_id" | "id" => OrderSortKey::Id,
            "date_created" => OrderSortKey::DateCreated,
            "common_name" => OrderSortKey::CommonName,
            "status" => OrderSortKey::Status,
            "product_name" | "product_name_id" => OrderSortKey::ProductName,
            "valid_till" => OrderSortKey::ValidTill,
            _ => return None,
        })
    }
}

/// One sort key of an order list and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSort {
    pub key: OrderSortKey,
    pub descending: bool,
}

#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub id: Option<i64>,
    pub status: Option<String>,
    pub organization_id: Option<i64>,
    pub product_name_id: Vec<String>,
    pub user_id: Option<i64>,
    pub common_name: Option<String>,
    pub domain_name: Option<String>,
    /// An address on the order (S/MIME and client certificates).
    pub email: Option<String>,
    pub container_id: Option<i64>,
    /// Only orders in these containers (the caller's visible subtree);
    /// `None`: every container of the account.
    pub container_ids: Option<Vec<i64>>,
    /// Orders that have (or have not) a live renewal order.
    pub is_renewed: Option<bool>,
    pub certificate_id: Option<i64>,
    /// Upper-case hex as stored ([`SerialNumber`]'s spelling).
    pub serial_number: Option<String>,
    /// (value, contains?)
    pub search: Option<(String, bool)>,
    /// Sort keys, most significant first (then by id).
    pub sort: Vec<OrderSort>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub account_id: i64,
    pub order_id: i64,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requester_id: i64,
    pub comments: Option<String>,
    pub processor_id: Option<i64>,
    pub processor_comment: Option<String>,
    pub date: OffsetDateTime,
    pub date_processed: Option<OffsetDateTime>,
    /// Type-specific payload (revoke: certificate ids and reason).
    pub data: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct ProcessRequest {
    pub account_id: i64,
    pub request_id: i64,
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub processor_id: i64,
    pub processor_comment: Option<String>,
    pub date_processed: OffsetDateTime,
    /// New order status, if the order moves with the request.
    pub order_status: Option<OrderStatus>,
    /// What an approved order without its CSR waits in: `needs_csr`
    /// (S/MIME, client) or `waiting_pickup` (document signing).
    pub awaiting_csr_status: OrderStatus,
}

#[derive(Debug, Clone)]
pub struct Certificate {
    pub id: i64,
    pub account_id: i64,
    pub order_id: i64,
    pub ca_id: Option<String>,
    pub serial: Option<String>,
    pub status: CertificateStatus,
    pub thumbprint: Option<String>,
    pub der: Option<Vec<u8>>,
    pub csr: String,
    pub spki_sha256: Option<String>,
    pub key_size: Option<i64>,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub signature_hash: String,
    pub valid_from: Option<OffsetDateTime>,
    pub valid_till: Option<OffsetDateTime>,
    pub date_issued: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    /// `primary`, `reissue` or `duplicate`.
    pub kind: CertificateKind,
    /// The reissue/duplicate request that asked for it.
    pub request_id: Option<i64>,
    pub user_id: Option<i64>,
    /// What a reissue/duplicate asked for (names, platform, CA).
    pub data: Option<Value>,
}

/// A reissue or duplicate of an order's certificate.
#[derive(Debug, Clone)]
pub struct NewExtraCertificate {
    pub account_id: i64,
    pub order_id: i64,
    /// `reissue` or `duplicate`.
    pub kind: CertificateKind,
    pub user_id: i64,
    pub certificate: NewCertificateRow,
    pub data: Value,
    /// (status, comments) of the reissue/duplicate request, if any.
    pub request: Option<(RequestStatus, Option<String>)>,
    /// True when the request is approved (or skipped): the certificate
    /// waits only for validation.
    pub approved: bool,
    /// Issuable now: claim and record this serial in the same transaction.
    pub reserve_serial: Option<SerialReservation>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct CreatedExtraCertificate {
    pub certificate_id: i64,
    pub request_id: Option<i64>,
}

/// What a validation email is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTarget {
    /// The DCV email of a domain, to each of its DCV addresses.
    DomainDcv { domain_id: i64 },
    /// The validation email of one mailbox of an S/MIME order.
    Mailbox { order_id: i64, email: String },
}

impl MailTarget {
    /// The outbox columns (domain_id, order_id, email) of the target.
    pub fn columns(&self) -> (Option<i64>, Option<i64>, Option<&str>) {
        match self {
            MailTarget::DomainDcv { domain_id } => (Some(*domain_id), None, None),
            MailTarget::Mailbox { order_id, email } => (None, Some(*order_id), Some(email)),
        }
    }

    /// The target the outbox columns of row `id` name.
    pub fn from_columns(
        id: i64,
        domain_id: Option<i64>,
        order_id: Option<i64>,
        email: Option<String>,
    ) -> crate::Result<MailTarget> {
        match (domain_id, order_id, email) {
            (Some(domain_id), None, None) => Ok(MailTarget::DomainDcv { domain_id }),
            (None, Some(order_id), Some(email)) => Ok(MailTarget::Mailbox { order_id, email }),
            _ => Err(crate::StoreError::Corrupt(format!(
                "outbox {id}: no target"
            ))),
        }
    }
}

/// A validation email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub account_id: i64,
    pub target: MailTarget,
}

/// A validation email of the outbox, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: i64,
    pub account_id: i64,
    pub target: MailTarget,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// What a stored CRL covers: its number, when it was made, and how many
/// revocations of its CA had been counted when its entries were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlMeta {
    pub number: i64,
    pub this_update: OffsetDateTime,
    pub revocations: i64,
}

/// A CA's revocations counted so far and the newest stored CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlState {
    pub revocations: i64,
    pub latest: Option<CrlMeta>,
}

impl CrlState {
    /// The newest stored CRL, if it lists every revocation counted and was
    /// made at or after `made_since`.
    pub fn current(&self, made_since: OffsetDateTime) -> Option<CrlMeta> {
        self.latest
            .filter(|c| c.revocations >= self.revocations && c.this_update >= made_since)
    }
}

/// Revokes issued certificates (and, when given, approves the revoke
/// request) in one transaction.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub account_id: i64,
    pub certificate_ids: Vec<i64>,
    pub reason: RevocationReason,
    pub revoked_at: OffsetDateTime,
    /// Add the certificates' keys to the cross-account blocklist.
    pub block_keys: bool,
    /// The revoke request this revocation approves, if any.
    pub approve_request: Option<RequestApproval>,
}

#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub certificate_id: i64,
    pub order_id: i64,
    pub ca_id: String,
    pub serial_hex: String,
    pub der: Vec<u8>,
    pub thumbprint: String,
    pub valid_from: OffsetDateTime,
    pub valid_till: OffsetDateTime,
    pub date_issued: OffsetDateTime,
}

/// A serial to record for a certificate claimed for signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialReservation {
    pub ca_id: String,
    pub serial_hex: String,
}

/// Approval of a request by one of the account's users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestApproval {
    pub request_id: i64,
    /// The approving user.
    pub processor_id: i64,
    pub processor_comment: Option<String>,
}

/// What a validation link confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTarget {
    /// Control of a domain (email DCV).
    Domain { domain_id: i64 },
    /// An address of a mailbox-validated order.
    Mailbox { order_id: i64 },
}
