//! A [`Store`] with caches in front of another: every method is the
//! wrapped store's, except the reads a cache serves. The caches follow the
//! wrapped store's change feed ([`Store::changes`]), so they work over any
//! backend that feeds it; each also expires its entries for writes the
//! backend is not told about (another process on the same database).
//!
//! Cached today: [`Store::organization_with_domains`] (read on every order
//! creation; see org_cache.rs).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::changes::ChangeFeed;
use crate::org_cache::OrgCache;
use crate::records::*;
use crate::{Result, Store};

/// Caches over the store `S` (any backend, or `dyn Store`).
pub struct CachedStore<S: Store + ?Sized = dyn Store> {
    inner: Arc<S>,
    orgs: OrgCache,
}

impl<S: Store + ?Sized> CachedStore<S> {
    pub fn new(inner: Arc<S>) -> CachedStore<S> {
        let orgs = OrgCache::new(inner.changes().clone());
        CachedStore { inner, orgs }
    }

    /// The store the caches are in front of.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for CachedStore<S> {
    fn changes(&self) -> &ChangeFeed {
        self.inner.changes()
    }

    async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)> {
        self.inner.create_account(name, settings, admin).await
    }

    async fn get_account(&self, id: i64) -> Result<Option<Account>> {
        self.inner.get_account(id).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.inner.list_accounts().await
    }

    async fn update_account_settings(&self, id: i64, settings: &AccountSettings) -> Result<()> {
        self.inner.update_account_settings(id, settings).await
    }

    async fn get_container(&self, account_id: i64, id: i64) -> Result<Option<Container>> {
        self.inner.get_container(account_id, id).await
    }

    async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
        self.inner.list_containers(account_id).await
    }

    async fn create_container(
        &self,
        account_id: i64,
        parent_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        self.inner
            .create_container(account_id, parent_id, name, description)
            .await
    }

    async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
        self.inner.list_metadata(account_id).await
    }

    async fn create_metadata(&self, account_id: i64, f: &NewMetadataField) -> Result<i64> {
        self.inner.create_metadata(account_id, f).await
    }

    async fn update_metadata(&self, account_id: i64, id: i64, f: &NewMetadataField) -> Result<()> {
        self.inner.update_metadata(account_id, id, f).await
    }

    async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
        self.inner.delete_metadata(account_id, id).await
    }

    async fn create_user(&self, account_id: i64, user: &NewUser) -> Result<User> {
        self.inner.create_user(account_id, user).await
    }

    async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
        self.inner.get_user(account_id, id).await
    }

    async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
        self.inner.list_users(account_id).await
    }

    async fn update_user_contact(
        &self,
        account_id: i64,
        id: i64,
        contact: &UserContactUpdate,
    ) -> Result<()> {
        self.inner
            .update_user_contact(account_id, id, contact)
            .await
    }

    async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
        self.inner.first_admin(account_id).await
    }

    async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
        self.inner.create_api_key(key).await
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        self.inner.find_api_key(key_hash).await
    }

    async fn revoke_api_key(&self, id: i64) -> Result<()> {
        self.inner.revoke_api_key(id).await
    }

    async fn list_api_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
        self.inner.list_api_keys(account_id).await
    }

    async fn record_key_use(&self, uses: &[(i64, OffsetDateTime)]) -> Result<()> {
        self.inner.record_key_use(uses).await
    }

    async fn set_user_role(&self, account_id: i64, id: i64, role: &str) -> Result<()> {
        self.inner.set_user_role(account_id, id, role).await
    }

    async fn set_user_status(&self, account_id: i64, id: i64, status: UserStatus) -> Result<()> {
        self.inner.set_user_status(account_id, id, status).await
    }

    async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
        self.inner.insert_ca(ca).await
    }

    async fn list_cas(&self) -> Result<Vec<CaRecord>> {
        self.inner.list_cas().await
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
        self.inner.next_crl_number(ca_id).await
    }

    async fn fence_crl_numbers(
        &self,
        jump: i64,
        drop_crls: &[String],
    ) -> Result<Vec<(String, i64)>> {
        self.inner.fence_crl_numbers(jump, drop_crls).await
    }

    async fn snapshot_to(&self, dest: &std::path::Path) -> Result<()> {
        self.inner.snapshot_to(dest).await
    }

    async fn meta_once(&self, key: &str, value: &str) -> Result<String> {
        self.inner.meta_once(key, value).await
    }

    async fn crl_state(&self, ca_id: &str) -> Result<CrlState> {
        self.inner.crl_state(ca_id).await
    }

    async fn stored_crl(&self, ca_id: &str) -> Result<Option<(CrlMeta, Vec<u8>)>> {
        self.inner.stored_crl(ca_id).await
    }

    async fn save_crl(&self, ca_id: &str, meta: &CrlMeta, der: &[u8]) -> Result<bool> {
        self.inner.save_crl(ca_id, meta, der).await
    }

    async fn enqueue_mail(&self, mails: &[NewMail]) -> Result<()> {
        self.inner.enqueue_mail(mails).await
    }

    async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<OutboxMail>> {
        self.inner.claim_due_mail(now, limit, hold_until).await
    }

    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        self.inner.mail_sent(id, at).await
    }

    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<()> {
        self.inner.mail_failed(id, error, retry_at).await
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: time::Duration) -> Result<bool> {
        self.inner.try_lease(name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.inner.release_lease(name, holder).await
    }
    async fn release_all_leases(&self) -> Result<()> {
        self.inner.release_all_leases().await
    }

    async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization> {
        self.inner.create_organization(account_id, org).await
    }

    async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>> {
        self.inner
            .find_duplicate_organization(account_id, key)
            .await
    }

    async fn get_organization(&self, account_id: i64, id: i64) -> Result<Option<Organization>> {
        self.inner.get_organization(account_id, id).await
    }

    async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
        self.inner.get_organization_any(id).await
    }

    async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)> {
        self.inner
            .list_organizations(account_id, filter, limit, offset)
            .await
    }

    async fn pending_org_validations(&self, limit: i64) -> Result<Vec<PendingOrgValidation>> {
        self.inner.pending_org_validations(limit).await
    }

    async fn decide_org_validation(&self, decision: &OrgDecision) -> Result<()> {
        self.inner.decide_org_validation(decision).await
    }

    async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        self.inner.validation_audit(organization_id, limit).await
    }

    async fn submit_org_validation(
        &self,
        organization_id: i64,
        kind: ValidationType,
        status: ValidationStatus,
        validated_until: Option<OffsetDateTime>,
        verified_users: &Value,
    ) -> Result<()> {
        self.inner
            .submit_org_validation(
                organization_id,
                kind,
                status,
                validated_until,
                verified_users,
            )
            .await
    }

    async fn set_organization_active(&self, account_id: i64, id: i64, active: bool) -> Result<()> {
        self.inner
            .set_organization_active(account_id, id, active)
            .await
    }

    async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
        self.inner.create_domain(account_id, d).await
    }

    async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
        self.inner.get_domain(account_id, id).await
    }

    async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
        self.inner.get_domain_any(id).await
    }

    async fn list_domains(
        &self,
        account_id: i64,
        organization_id: Option<i64>,

        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Domain>, i64)> {
        self.inner
            .list_domains(account_id, organization_id, container_ids, limit, offset)
            .await
    }

    async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        let ticket = match self.orgs.get(account_id, id) {
            Ok(hit) => return Ok(Some(hit)),
            Err(ticket) => ticket,
        };
        let found = self.inner.organization_with_domains(account_id, id).await?;
        if let Some(v) = &found {
            self.orgs.put(ticket, v);
        }
        Ok(found)
    }

    async fn domains_of_organization(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<Domain>> {
        self.inner
            .domains_of_organization(account_id, organization_id)
            .await
    }

    async fn set_domain_validated(
        &self,
        id: i64,
        validated_at: OffsetDateTime,
        validated_until: OffsetDateTime,
    ) -> Result<()> {
        self.inner
            .set_domain_validated(id, validated_at, validated_until)
            .await
    }

    async fn claim_domains_due_for_dcv(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<Domain>> {
        self.inner
            .claim_domains_due_for_dcv(now, limit, hold_until)
            .await
    }

    async fn record_dcv_attempt(
        &self,
        id: i64,
        token: Option<&str>,
        next_check: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<()> {
        self.inner
            .record_dcv_attempt(id, token, next_check, error)
            .await
    }

    async fn set_domain_dcv(
        &self,
        account_id: i64,
        id: i64,
        method: DcvMethod,
        token: Option<(&str, OffsetDateTime)>,
    ) -> Result<()> {
        self.inner
            .set_domain_dcv(account_id, id, method, token)
            .await
    }

    async fn set_domain_active(&self, account_id: i64, id: i64, active: bool) -> Result<()> {
        self.inner.set_domain_active(account_id, id, active).await
    }

    async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
        self.inner.delete_domain(account_id, id).await
    }

    async fn create_validation_link(&self, link: &NewValidationLink) -> Result<i64> {
        self.inner.create_validation_link(link).await
    }

    async fn find_validation_link(&self, token_hash: &str) -> Result<Option<ValidationLink>> {
        self.inner.find_validation_link(token_hash).await
    }

    async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
        self.inner.use_validation_link(id, now).await
    }

    async fn create_order(&self, order: &NewOrder) -> Result<CreatedOrder> {
        self.inner.create_order(order).await
    }

    async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
        self.inner.reserve_serials(ca_id, serials_hex).await
    }

    async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
        self.inner.get_order(account_id, id).await
    }

    async fn renewal_order_of(&self, account_id: i64, order_id: i64) -> Result<Option<i64>> {
        self.inner.renewal_order_of(account_id, order_id).await
    }

    async fn create_extra_certificate(
        &self,
        x: &NewExtraCertificate,
    ) -> Result<CreatedExtraCertificate> {
        self.inner.create_extra_certificate(x).await
    }

    async fn certificates_awaiting_issuance(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        self.inner
            .certificates_awaiting_issuance(after_id, limit)
            .await
    }

    async fn cancel_reissue(
        &self,
        account_id: i64,
        order_id: i64,
        note: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        self.inner
            .cancel_reissue(account_id, order_id, note, at)
            .await
    }

    async fn expiring_certificates(
        &self,
        account_id: i64,
        container_id: i64,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>> {
        self.inner
            .expiring_certificates(account_id, container_id, from, until)
            .await
    }

    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
    ) -> Result<Option<Certificate>> {
        self.inner.certificate_by_serial(ca_id, serial_hex).await
    }

    async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
        self.inner.order_emails(order_id).await
    }

    async fn mark_order_email_sent(
        &self,
        order_id: i64,
        email: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        self.inner.mark_order_email_sent(order_id, email, at).await
    }

    async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: OffsetDateTime,
    ) -> Result<()> {
        self.inner
            .set_order_email_validated(order_id, email, validated_at)
            .await
    }

    async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
        self.inner.attach_csr(a).await
    }

    async fn find_order_by_certificate(
        &self,
        account_id: i64,
        serial_or_thumbprint: &str,
    ) -> Result<Option<Order>> {
        self.inner
            .find_order_by_certificate(account_id, serial_or_thumbprint)
            .await
    }

    async fn list_orders(&self, account_id: i64, q: &OrderQuery) -> Result<(Vec<Order>, i64)> {
        self.inner.list_orders(account_id, q).await
    }

    async fn order_status_changes(
        &self,
        account_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(i64, Option<i64>, String)>> {
        self.inner.order_status_changes(account_id, from, to).await
    }

    async fn set_order_status(
        &self,
        account_id: i64,
        order_id: i64,
        from: &[OrderStatus],
        to: OrderStatus,
    ) -> Result<bool> {
        self.inner
            .set_order_status(account_id, order_id, from, to)
            .await
    }

    async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
        self.inner.get_request(account_id, id).await
    }

    async fn list_requests(
        &self,
        account_id: i64,
        status: Option<RequestStatus>,

        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Request>, i64)> {
        self.inner
            .list_requests(account_id, status, container_ids, limit, offset)
            .await
    }

    async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
        self.inner.requests_for_order(order_id).await
    }

    async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
        self.inner.process_request(p).await
    }

    async fn get_certificate(&self, account_id: i64, id: i64) -> Result<Option<Certificate>> {
        self.inner.get_certificate(account_id, id).await
    }

    async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
        self.inner.certificates_for_order(order_id).await
    }

    async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()> {
        self.inner
            .claim_and_reserve_serial(ca_id, serial_hex, certificate_id)
            .await
    }

    async fn release_claim(&self, certificate_id: i64) -> Result<()> {
        self.inner.release_claim(certificate_id).await
    }

    async fn reset_stale_claims(&self, claimed_before: OffsetDateTime) -> Result<u64> {
        self.inner.reset_stale_claims(claimed_before).await
    }

    async fn record_issued(&self, issued: &IssuedCertificate) -> Result<()> {
        self.inner.record_issued(issued).await
    }

    async fn orders_awaiting_issuance(
        &self,
        updated_before: OffsetDateTime,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>> {
        self.inner
            .orders_awaiting_issuance(updated_before, after_id, limit)
            .await
    }

    async fn find_certificate(
        &self,
        account_id: i64,
        id_or_serial: &str,
    ) -> Result<Option<Certificate>> {
        self.inner.find_certificate(account_id, id_or_serial).await
    }

    async fn create_request(
        &self,
        account_id: i64,
        order_id: i64,
        kind: RequestKind,
        status: RequestStatus,
        requester_id: i64,
        comments: Option<&str>,
        data: &serde_json::Value,
    ) -> Result<Request> {
        self.inner
            .create_request(
                account_id,
                order_id,
                kind,
                status,
                requester_id,
                comments,
                data,
            )
            .await
    }

    async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>> {
        self.inner.revoke_certificates(r).await
    }

    async fn revoked_since(&self, since: OffsetDateTime, limit: i64) -> Result<Vec<Certificate>> {
        self.inner.revoked_since(since, limit).await
    }

    async fn revoked_entries(
        &self,
        ca_id: &str,
        valid_at: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime, Option<RevocationReason>)>> {
        self.inner.revoked_entries(ca_id, valid_at).await
    }

    async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool> {
        self.inner.is_key_blocked(spki_sha256).await
    }

    async fn balance(&self, account_id: i64) -> Result<Balance> {
        self.inner.balance(account_id).await
    }

    async fn deposit(&self, account_id: i64, amount_cents: i64, note: &str) -> Result<i64> {
        self.inner.deposit(account_id, amount_cents, note).await
    }

    async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()> {
        self.inner
            .set_negative_limit(account_id, limit_cents, unlimited)
            .await
    }

    async fn close(&self) {
        self.inner.close().await
    }
}
