//! certwell's persistence: a [`Store`] trait and its implementations:
//! SQLite (WAL, the embedded default) and PostgreSQL (shared by several
//! instances). All writes that belong together happen in one
//! transaction; an order acknowledged to a client is committed first.

#[macro_use]
mod delegate;

mod batch;
mod cached;
mod changes;
mod columns;
mod config;
mod copy;
mod error;
mod org_cache;
mod postgres;
mod records;
pub(crate) mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use cached::CachedStore;
pub use changes::{Aggregate, ChangeFeed};
pub use config::{open_store, Durability, StoreConfig, StoreLocation};
pub use copy::{copy_sqlite_to_postgres, CopiedTable};
pub use error::{Conflict, StoreError};
pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything certwell persists. Methods taking an `account_id` never
/// return another account's rows.
///
/// Timestamps are [`OffsetDateTime`]s in and out. The store keeps them in
/// whole seconds: a timestamp read back is the one written, in UTC and
/// truncated to the second (so values compare equal however they were
/// made, once truncated the same way).
#[async_trait]
pub trait Store: Send + Sync {
    /// This store's change feed: per-aggregate epochs that move when a
    /// change made through it (or, where the backend is told of them, by
    /// others) may have become visible, and again once it is committed.
    /// Caches over the store ([`CachedStore`]) follow it.
    fn changes(&self) -> &ChangeFeed;

    // Accounts, containers, users, keys
    async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)>;
    async fn get_account(&self, id: i64) -> Result<Option<Account>>;
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    async fn update_account_settings(&self, id: i64, settings: &AccountSettings) -> Result<()>;
    async fn get_container(&self, account_id: i64, id: i64) -> Result<Option<Container>>;
    /// Every container of the account, by id.
    async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>>;
    /// A child of container `parent_id` (NotFound: no such parent here).
    async fn create_container(
        &self,
        account_id: i64,
        parent_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64>;
    /// The account's custom order fields (deleted ones left out).
    async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>>;
    async fn create_metadata(&self, account_id: i64, f: &NewMetadataField) -> Result<i64>;
    /// NotFound: no such field of this account.
    async fn update_metadata(&self, account_id: i64, id: i64, f: &NewMetadataField) -> Result<()>;
    async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()>;
    async fn create_user(&self, account_id: i64, user: &NewUser) -> Result<User>;
    async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>>;
    async fn list_users(&self, account_id: i64) -> Result<Vec<User>>;
    /// Replaces the contact details given (`None` keeps the stored value).
    async fn update_user_contact(
        &self,
        account_id: i64,
        id: i64,
        contact: &UserContactUpdate,
    ) -> Result<()>;
    async fn first_admin(&self, account_id: i64) -> Result<Option<User>>;
    async fn create_api_key(&self, key: &NewApiKey) -> Result<i64>;
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    /// Marks the key revoked (again, if it was). NotFound: no such key.
    async fn revoke_api_key(&self, id: i64) -> Result<()>;
    /// Every API key of the account, oldest first, with its last use.
    async fn list_api_keys(&self, account_id: i64) -> Result<Vec<ApiKey>>;
    /// Records when keys were last used (later times only).
    async fn record_key_use(&self, uses: &[(i64, OffsetDateTime)]) -> Result<()>;
    /// Sets a user's role, and its keys' (NotFound: no such user).
    async fn set_user_role(&self, account_id: i64, id: i64, role: &str) -> Result<()>;
    /// Sets a user's status; deleting one also revokes its keys, in the
    /// same transaction (NotFound: no such user, or a deleted one).
    async fn set_user_status(&self, account_id: i64, id: i64, status: UserStatus) -> Result<()>;

    /// One trivial round trip to the database (readiness).
    async fn ping(&self) -> Result<()>;

    // CA hierarchy
    async fn insert_ca(&self, ca: &CaRecord) -> Result<()>;
    async fn list_cas(&self) -> Result<Vec<CaRecord>>;
    async fn next_crl_number(&self, ca_id: &str) -> Result<i64>;
    /// Moves every CA's CRL number `jump` ahead (CAs without one yet start
    /// there), so that a restored store never repeats a number issued
    /// after its snapshot, and forgets the stored CRLs of the CAs in
    /// `drop_crls` (those that can sign a new one), in one transaction;
    /// each CA's new last number.
    async fn fence_crl_numbers(
        &self,
        jump: i64,
        drop_crls: &[String],
    ) -> Result<Vec<(String, i64)>>;
    /// A consistent copy of the whole database in the file `dest`, taken
    /// while the store is in use (SQLite: `VACUUM INTO`). A backend whose
    /// database is backed up by its own tools (PostgreSQL: `pg_dump`)
    /// answers [`StoreError::Unsupported`].
    async fn snapshot_to(&self, dest: &std::path::Path) -> Result<()>;
    /// Records `value` under `key` unless a value is already recorded;
    /// the recorded value (the first one ever written wins).
    async fn meta_once(&self, key: &str, value: &str) -> Result<String>;
    /// The CA's revocations counted so far (every revocation counts in its
    /// own transaction) and what the newest stored CRL covers.
    async fn crl_state(&self, ca_id: &str) -> Result<CrlState>;
    /// The newest stored CRL of the CA (DER).
    async fn stored_crl(&self, ca_id: &str) -> Result<Option<(CrlMeta, Vec<u8>)>>;
    /// Stores a CRL if its number is above the stored one's; false when a
    /// newer one is stored already.
    async fn save_crl(&self, ca_id: &str, meta: &CrlMeta, der: &[u8]) -> Result<bool>;

    // The outbox of validation email
    /// Records emails to send (due at once).
    async fn enqueue_mail(&self, mails: &[NewMail]) -> Result<()>;
    /// Due emails (at most `limit`, oldest first), each held from the
    /// mailers of other instances until `hold_until`.
    async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<OutboxMail>>;
    /// The email went out at `at`: never sent again.
    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()>;
    /// An attempt failed with `error`: tried again at `retry_at`, or never
    /// (`None`: given up).
    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<()>;

    // Leases on background work shared between instances
    /// Takes (or renews) the lease `name` for `holder` for `ttl`: true when
    /// it is free, expired or already `holder`'s. Expiry is by the store's
    /// clock (the database server's for a shared one).
    async fn try_lease(&self, name: &str, holder: &str, ttl: time::Duration) -> Result<bool>;
    /// Gives the lease back (nothing if `holder` no longer holds it).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
    /// Drops every lease: at the start of the one process of an embedded
    /// database, whatever leases are found were left by a process that died.
    async fn release_all_leases(&self) -> Result<()>;

    // Organizations
    async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization>;
    async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>>;
    async fn get_organization(&self, account_id: i64, id: i64) -> Result<Option<Organization>>;
    async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>>;
    /// A page of the account's organizations matching `filter`, and how
    /// many match in all.
    async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)>;
    /// Organization validations waiting for the desk, oldest first.
    async fn pending_org_validations(&self, limit: i64) -> Result<Vec<PendingOrgValidation>>;
    /// An operator's decision and its audit entry, in one transaction.
    /// NotFound: no such organization, or nothing to reject.
    async fn decide_org_validation(&self, decision: &OrgDecision) -> Result<()>;
    /// The desk's audit trail, newest first.
    async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>>;
    /// A validation asked for by the customer, with its verified users.
    async fn submit_org_validation(
        &self,
        organization_id: i64,
        kind: ValidationType,
        status: ValidationStatus,
        validated_until: Option<OffsetDateTime>,
        verified_users: &Value,
    ) -> Result<()>;
    /// NotFound: no such organization in the account.
    async fn set_organization_active(&self, account_id: i64, id: i64, active: bool) -> Result<()>;

    // Domains
    async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain>;
    async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>>;
    async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>>;
    async fn list_domains(
        &self,
        account_id: i64,
        organization_id: Option<i64>,
        // Only domains in these containers (`None`: all).
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Domain>, i64)>;
    /// An organization with its validations and its domains, in one query.
    async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>>;
    async fn domains_of_organization(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<Domain>>;
    async fn set_domain_validated(
        &self,
        id: i64,
        validated_at: OffsetDateTime,
        validated_until: OffsetDateTime,
    ) -> Result<()>;
    /// Active token-method domains not (or no longer) validated whose token
    /// is unexpired and whose next check is due.
    /// Such domains (at most `limit`, oldest first), each held from other
    /// pollers until `hold_until` (its next check is moved there): every
    /// due domain goes to one poller of one instance, and to another once
    /// the hold has passed if its poller never recorded a result.
    async fn claim_domains_due_for_dcv(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<Domain>>;
    /// One failed check of `token`: counts it and schedules the next
    /// (nothing when the token was replaced meanwhile).
    async fn record_dcv_attempt(
        &self,
        id: i64,
        token: Option<&str>,
        next_check: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<()>;
    /// New DCV method and token (token, expiry); restarts the poller's schedule.
    async fn set_domain_dcv(
        &self,
        account_id: i64,
        id: i64,
        method: DcvMethod,
        token: Option<(&str, OffsetDateTime)>,
    ) -> Result<()>;
    async fn set_domain_active(&self, account_id: i64, id: i64, active: bool) -> Result<()>;
    async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()>;
    async fn create_validation_link(&self, link: &NewValidationLink) -> Result<i64>;
    async fn find_validation_link(&self, token_hash: &str) -> Result<Option<ValidationLink>>;
    /// Marks an unexpired, unused link used; false if it was not.
    async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool>;

    // Orders and requests
    async fn create_order(&self, order: &NewOrder) -> Result<CreatedOrder>;
    /// Records serials of `ca_id` as used before anything is signed with
    /// them (they belong to no certificate yet); Conflict on a collision.
    async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()>;
    async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>>;
    /// The newest order renewing `order_id` that is not canceled or rejected.
    async fn renewal_order_of(&self, account_id: i64, order_id: i64) -> Result<Option<i64>>;
    /// Adds a reissue or duplicate certificate (and its request) to an
    /// issued order; a reissue moves the order to `reissue_pending`.
    /// Conflict: the order is not `issued`.
    async fn create_extra_certificate(
        &self,
        x: &NewExtraCertificate,
    ) -> Result<CreatedExtraCertificate>;
    /// Approved reissues/duplicates waiting for issuance:
    /// (account, order, certificate), by certificate id after `after_id`.
    async fn certificates_awaiting_issuance(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>>;
    /// Cancels a pending reissue: the order returns to `issued` and the
    /// reissue request is rejected with `note`. False: no reissue pending.
    async fn cancel_reissue(
        &self,
        account_id: i64,
        order_id: i64,
        note: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// notAfter of the current certificate of every issued order in
    /// `container_id` or below it whose certificate is valid at `from` and
    /// ends before `until`.
    async fn expiring_certificates(
        &self,
        account_id: i64,
        container_id: i64,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>>;
    /// The certificate `ca_id` issued with `serial_hex` (upper-case hex),
    /// in any account: what the OCSP responder answers from.
    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
    ) -> Result<Option<Certificate>>;
    /// The addresses of a mailbox-validated order, in order.
    async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>>;
    /// Records when an address's validation email was sent.
    async fn mark_order_email_sent(
        &self,
        order_id: i64,
        email: &str,
        at: OffsetDateTime,
    ) -> Result<()>;
    /// Marks one address of an order validated (NotFound: no such address).
    async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: OffsetDateTime,
    ) -> Result<()>;
    /// Gives an order waiting for its CSR the CSR, and moves the order to
    /// `order_status` (Conflict: the order already has one).
    async fn attach_csr(&self, a: &CsrAttachment) -> Result<()>;
    async fn find_order_by_certificate(
        &self,
        account_id: i64,
        serial_or_thumbprint: &str,
    ) -> Result<Option<Order>>;
    async fn list_orders(&self, account_id: i64, q: &OrderQuery) -> Result<(Vec<Order>, i64)>;
    /// (order id, certificate id, status) of orders whose status changed in [from, to].
    async fn order_status_changes(
        &self,
        account_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(i64, Option<i64>, String)>>;
    async fn set_order_status(
        &self,
        account_id: i64,
        order_id: i64,
        from: &[OrderStatus],
        to: OrderStatus,
    ) -> Result<bool>;
    async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>>;
    async fn list_requests(
        &self,
        account_id: i64,
        status: Option<RequestStatus>,
        // Only requests of orders in these containers (`None`: all).
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Request>, i64)>;
    async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>>;
    /// Moves a request from `from` to `to`; when `order_status` is given the
    /// order moves too, in the same transaction. False if the request was
    /// no longer in `from`.
    async fn process_request(&self, p: &ProcessRequest) -> Result<bool>;

    // Certificates and issuance
    async fn get_certificate(&self, account_id: i64, id: i64) -> Result<Option<Certificate>>;
    async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>>;
    /// Claims a pending certificate for issuance and records its serial for
    /// the CA, durably, in one transaction. Conflict if the certificate is
    /// not pending (someone else is issuing it) or the serial was ever used.
    async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()>;
    /// Gives a claimed certificate back (signing failed). The serial stays
    /// recorded and is never reused.
    async fn release_claim(&self, certificate_id: i64) -> Result<()>;
    /// Claims made before `claimed_before` (left by a crash, or by an
    /// instance that died) go back to pending; a later claim gets a new
    /// serial.
    async fn reset_stale_claims(&self, claimed_before: OffsetDateTime) -> Result<u64>;
    /// Records a claimed certificate as issued, with the claim's own serial
    /// only (Conflict `CertificateNotIssuing` otherwise: the claim was reset
    /// and maybe taken over; the signature must be thrown away).
    async fn record_issued(&self, issued: &IssuedCertificate) -> Result<()>;
    /// Orders that are approved and waiting for validation/issuance, last
    /// changed before `updated_before` (so the request that created an order
    /// gets the first chance to issue it).
    async fn orders_awaiting_issuance(
        &self,
        updated_before: OffsetDateTime,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>>;
    // Revocation
    /// A certificate by id, or by serial number (hex, any case).
    async fn find_certificate(
        &self,
        account_id: i64,
        id_or_serial: &str,
    ) -> Result<Option<Certificate>>;
    #[allow(clippy::too_many_arguments)]
    async fn create_request(
        &self,
        account_id: i64,
        order_id: i64,
        kind: RequestKind,
        status: RequestStatus,
        requester_id: i64,
        comments: Option<&str>,
        data: &serde_json::Value,
    ) -> Result<Request>;
    /// Returns the certificates this call revoked (already revoked ones are skipped).
    async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>>;
    /// Certificates revoked at or after `since` (by any instance), oldest
    /// first, at most `limit`.
    async fn revoked_since(&self, since: OffsetDateTime, limit: i64) -> Result<Vec<Certificate>>;
    /// (serial hex, revoked_at, reason) of every revoked certificate of a
    /// CA that is still valid at `valid_at` (a CRL leaves out certificates
    /// long expired).
    async fn revoked_entries(
        &self,
        ca_id: &str,
        valid_at: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime, Option<RevocationReason>)>>;
    async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool>;
    /// The account's funds (NotFound: no such account).
    async fn balance(&self, account_id: i64) -> Result<Balance>;
    /// Adds `amount_cents` (negative: takes away) to the balance, recorded
    /// in the ledger with `note`; returns the new balance.
    async fn deposit(&self, account_id: i64, amount_cents: i64, note: &str) -> Result<i64>;
    /// Sets how far the balance may go below zero.
    async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()>;
    async fn close(&self);
}
