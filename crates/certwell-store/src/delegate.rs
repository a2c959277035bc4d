//! [`Store`] for a backend: each method is the backend's inherent method of
//! the same name and signature, defined in the file of its aggregate. One
//! list for every backend, so a backend cannot miss a method or differ in
//! one.

/// `delegate_store!(Backend)` implements [`Store`](crate::Store) for
/// `Backend` by calling its inherent methods; the invoking module imports
/// the record types, `Result`, `Store`, `ChangeFeed`, `Value` and
/// `OffsetDateTime`, and `Backend` has a `feed: ChangeFeed` field.
macro_rules! delegate_store {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl Store for $store {
            fn changes(&self) -> &ChangeFeed {
                &self.feed
            }

            async fn create_account(
                &self,
                name: &str,
                settings: &AccountSettings,
                admin: &NewUser,
            ) -> Result<(Account, User)> {
                $store::create_account(self, name, settings, admin).await
            }

            async fn get_account(&self, id: i64) -> Result<Option<Account>> {
                $store::get_account(self, id).await
            }

            async fn list_accounts(&self) -> Result<Vec<Account>> {
                $store::list_accounts(self).await
            }

            async fn update_account_settings(
                &self,
                id: i64,
                settings: &AccountSettings,
            ) -> Result<()> {
                $store::update_account_settings(self, id, settings).await
            }

            async fn get_container(&self, account_id: i64, id: i64) -> Result<Option<Container>> {
                $store::get_container(self, account_id, id).await
            }

            async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
                $store::list_containers(self, account_id).await
            }

            async fn create_container(
                &self,
                account_id: i64,
                parent_id: i64,
                name: &str,
                description: &str,
            ) -> Result<i64> {
                $store::create_container(self, account_id, parent_id, name, description).await
            }

            async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
                $store::list_metadata(self, account_id).await
            }

            async fn create_metadata(&self, account_id: i64, f: &NewMetadataField) -> Result<i64> {
                $store::create_metadata(self, account_id, f).await
            }

            async fn update_metadata(
                &self,
                account_id: i64,
                id: i64,
                f: &NewMetadataField,
            ) -> Result<()> {
                $store::update_metadata(self, account_id, id, f).await
            }

            async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
                $store::delete_metadata(self, account_id, id).await
            }

            async fn create_user(&self, account_id: i64, user: &NewUser) -> Result<User> {
                $store::create_user(self, account_id, user).await
            }

            async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
                $store::get_user(self, account_id, id).await
            }

            async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
                $store::list_users(self, account_id).await
            }

            async fn update_user_contact(
                &self,
                account_id: i64,
                id: i64,
                contact: &UserContactUpdate,
            ) -> Result<()> {
                $store::update_user_contact(self, account_id, id, contact).await
            }

            async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
                $store::first_admin(self, account_id).await
            }

            async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
                $store::create_api_key(self, key).await
            }

            async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
                $store::find_api_key(self, key_hash).await
            }

            async fn revoke_api_key(&self, id: i64) -> Result<()> {
                $store::revoke_api_key(self, id).await
            }

            async fn list_api_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
                $store::list_api_keys(self, account_id).await
            }

            async fn record_key_use(&self, uses: &[(i64, OffsetDateTime)]) -> Result<()> {
                $store::record_key_use(self, uses).await
            }

            async fn set_user_role(&self, account_id: i64, id: i64, role: &str) -> Result<()> {
                $store::set_user_role(self, account_id, id, role).await
            }

            async fn set_user_status(
                &self,
                account_id: i64,
                id: i64,
                status: UserStatus,
            ) -> Result<()> {
                $store::set_user_status(self, account_id, id, status).await
            }

            async fn ping(&self) -> Result<()> {
                $store::ping(self).await
            }

            async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
                $store::insert_ca(self, ca).await
            }

            async fn list_cas(&self) -> Result<Vec<CaRecord>> {
                $store::list_cas(self).await
            }

            async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
                $store::next_crl_number(self, ca_id).await
            }

            async fn fence_crl_numbers(
                &self,
                jump: i64,
                drop_crls: &[String],
            ) -> Result<Vec<(String, i64)>> {
                $store::fence_crl_numbers(self, jump, drop_crls).await
            }

            async fn snapshot_to(&self, dest: &std::path::Path) -> Result<()> {
                $store::snapshot_to(self, dest).await
            }

            async fn meta_once(&self, key: &str, value: &str) -> Result<String> {
                $store::meta_once(self, key, value).await
            }

            async fn crl_state(&self, ca_id: &str) -> Result<CrlState> {
                $store::crl_state(self, ca_id).await
            }

            async fn stored_crl(&self, ca_id: &str) -> Result<Option<(CrlMeta, Vec<u8>)>> {
                $store::stored_crl(self, ca_id).await
            }

            async fn save_crl(&self, ca_id: &str, meta: &CrlMeta, der: &[u8]) -> Result<bool> {
                $store::save_crl(self, ca_id, meta, der).await
            }

            async fn enqueue_mail(&self, mails: &[NewMail]) -> Result<()> {
                $store::enqueue_mail(self, mails).await
            }

            async fn claim_due_mail(
                &self,
                now: OffsetDateTime,
                limit: i64,
                hold_until: OffsetDateTime,
            ) -> Result<Vec<OutboxMail>> {
                $store::claim_due_mail(self, now, limit, hold_until).await
            }

            async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
                $store::mail_sent(self, id, at).await
            }

            async fn mail_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<OffsetDateTime>,
            ) -> Result<()> {
                $store::mail_failed(self, id, error, retry_at).await
            }

            async fn try_lease(
                &self,
                name: &str,
                holder: &str,
                ttl: time::Duration,
            ) -> Result<bool> {
                $store::try_lease(self, name, holder, ttl).await
            }

            async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
                $store::release_lease(self, name, holder).await
            }
            async fn release_all_leases(&self) -> Result<()> {
                $store::release_all_leases(self).await
            }

            async fn create_organization(
                &self,
                account_id: i64,
                org: &NewOrganizationRow,
            ) -> Result<Organization> {
                $store::create_organization(self, account_id, org).await
            }

            async fn find_duplicate_organization(
                &self,
                account_id: i64,
                key: &OrgDuplicateKey,
            ) -> Result<Option<i64>> {
                $store::find_duplicate_organization(self, account_id, key).await
            }

            async fn get_organization(
                &self,
                account_id: i64,
                id: i64,
            ) -> Result<Option<Organization>> {
                $store::get_organization(self, account_id, id).await
            }

            async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
                $store::get_organization_any(self, id).await
            }

            async fn list_organizations(
                &self,
                account_id: i64,
                filter: OrgFilter,
                limit: i64,
                offset: i64,
            ) -> Result<(Vec<Organization>, i64)> {
                $store::list_organizations(self, account_id, filter, limit, offset).await
            }

            async fn pending_org_validations(
                &self,
                limit: i64,
            ) -> Result<Vec<PendingOrgValidation>> {
                $store::pending_org_validations(self, limit).await
            }

            async fn decide_org_validation(&self, decision: &OrgDecision) -> Result<()> {
                $store::decide_org_validation(self, decision).await
            }

            async fn validation_audit(
                &self,
                organization_id: Option<i64>,
                limit: i64,
            ) -> Result<Vec<AuditEntry>> {
                $store::validation_audit(self, organization_id, limit).await
            }

            async fn submit_org_validation(
                &self,
                organization_id: i64,
                kind: ValidationType,
                status: ValidationStatus,
                validated_until: Option<OffsetDateTime>,
                verified_users: &Value,
            ) -> Result<()> {
                $store::submit_org_validation(
                    self,
                    organization_id,
                    kind,
                    status,
                    validated_until,
                    verified_users,
                )
                .await
            }

            async fn set_organization_active(
                &self,
                account_id: i64,
                id: i64,
                active: bool,
            ) -> Result<()> {
                $store::set_organization_active(self, account_id, id, active).await
            }

            async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
                $store::create_domain(self, account_id, d).await
            }

            async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
                $store::get_domain(self, account_id, id).await
            }

            async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
                $store::get_domain_any(self, id).await
            }

            async fn list_domains(
                &self,
                account_id: i64,
                organization_id: Option<i64>,

                container_ids: Option<&[i64]>,
                limit: i64,
                offset: i64,
            ) -> Result<(Vec<Domain>, i64)> {
                $store::list_domains(
                    self,
                    account_id,
                    organization_id,
                    container_ids,
                    limit,
                    offset,
                )
                .await
            }

            async fn organization_with_domains(
                &self,
                account_id: i64,
                id: i64,
            ) -> Result<Option<(Organization, Vec<Domain>)>> {
                $store::organization_with_domains(self, account_id, id).await
            }

            async fn domains_of_organization(
                &self,
                account_id: i64,
                organization_id: i64,
            ) -> Result<Vec<Domain>> {
                $store::domains_of_organization(self, account_id, organization_id).await
            }

            async fn set_domain_validated(
                &self,
                id: i64,
                validated_at: OffsetDateTime,
                validated_until: OffsetDateTime,
            ) -> Result<()> {
                $store::set_domain_validated(self, id, validated_at, validated_until).await
            }

            async fn claim_domains_due_for_dcv(
                &self,
                now: OffsetDateTime,
                limit: i64,
                hold_until: OffsetDateTime,
            ) -> Result<Vec<Domain>> {
                $store::claim_domains_due_for_dcv(self, now, limit, hold_until).await
            }

            async fn record_dcv_attempt(
                &self,
                id: i64,
                token: Option<&str>,
                next_check: OffsetDateTime,
                error: Option<&str>,
            ) -> Result<()> {
                $store::record_dcv_attempt(self, id, token, next_check, error).await
            }

            async fn set_domain_dcv(
                &self,
                account_id: i64,
                id: i64,
                method: DcvMethod,
                token: Option<(&str, OffsetDateTime)>,
            ) -> Result<()> {
                $store::set_domain_dcv(self, account_id, id, method, token).await
            }

            async fn set_domain_active(
                &self,
                account_id: i64,
                id: i64,
                active: bool,
            ) -> Result<()> {
                $store::set_domain_active(self, account_id, id, active).await
            }

            async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
                $store::delete_domain(self, account_id, id).await
            }

            async fn create_validation_link(&self, link: &NewValidationLink) -> Result<i64> {
                $store::create_validation_link(self, link).await
            }

            async fn find_validation_link(
                &self,
                token_hash: &str,
            ) -> Result<Option<ValidationLink>> {
                $store::find_validation_link(self, token_hash).await
            }

            async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
                $store::use_validation_link(self, id, now).await
            }

            async fn create_order(&self, order: &NewOrder) -> Result<CreatedOrder> {
                $store::create_order(self, order).await
            }

            async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
                $store::reserve_serials(self, ca_id, serials_hex).await
            }

            async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
                $store::get_order(self, account_id, id).await
            }

            async fn renewal_order_of(
                &self,
                account_id: i64,
                order_id: i64,
            ) -> Result<Option<i64>> {
                $store::renewal_order_of(self, account_id, order_id).await
            }

            async fn create_extra_certificate(
                &self,
                x: &NewExtraCertificate,
            ) -> Result<CreatedExtraCertificate> {
                $store::create_extra_certificate(self, x).await
            }

            async fn certificates_awaiting_issuance(
                &self,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<(i64, i64, i64)>> {
                $store::certificates_awaiting_issuance(self, after_id, limit).await
            }

            async fn cancel_reissue(
                &self,
                account_id: i64,
                order_id: i64,
                note: Option<&str>,
                at: OffsetDateTime,
            ) -> Result<bool> {
                $store::cancel_reissue(self, account_id, order_id, note, at).await
            }

            async fn expiring_certificates(
                &self,
                account_id: i64,
                container_id: i64,
                from: OffsetDateTime,
                until: OffsetDateTime,
            ) -> Result<Vec<OffsetDateTime>> {
                $store::expiring_certificates(self, account_id, container_id, from, until).await
            }

            async fn certificate_by_serial(
                &self,
                ca_id: &str,
                serial_hex: &str,
            ) -> Result<Option<Certificate>> {
                $store::certificate_by_serial(self, ca_id, serial_hex).await
            }

            async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
                $store::order_emails(self, order_id).await
            }

            async fn mark_order_email_sent(
                &self,
                order_id: i64,
                email: &str,
                at: OffsetDateTime,
            ) -> Result<()> {
                $store::mark_order_email_sent(self, order_id, email, at).await
            }

            async fn set_order_email_validated(
                &self,
                order_id: i64,
                email: &str,
                validated_at: OffsetDateTime,
            ) -> Result<()> {
                $store::set_order_email_validated(self, order_id, email, validated_at).await
            }

            async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
                $store::attach_csr(self, a).await
            }

            async fn find_order_by_certificate(
                &self,
                account_id: i64,
                serial_or_thumbprint: &str,
            ) -> Result<Option<Order>> {
                $store::find_order_by_certificate(self, account_id, serial_or_thumbprint).await
            }

            async fn list_orders(
                &self,
                account_id: i64,
                q: &OrderQuery,
            ) -> Result<(Vec<Order>, i64)> {
                $store::list_orders(self, account_id, q).await
            }

            async fn order_status_changes(
                &self,
                account_id: i64,
                from: OffsetDateTime,
                to: OffsetDateTime,
            ) -> Result<Vec<(i64, Option<i64>, String)>> {
                $store::order_status_changes(self, account_id, from, to).await
            }

            async fn set_order_status(
                &self,
                account_id: i64,
                order_id: i64,
                from: &[OrderStatus],
                to: OrderStatus,
            ) -> Result<bool> {
                $store::set_order_status(self, account_id, order_id, from, to).await
            }

            async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
                $store::get_request(self, account_id, id).await
            }

            async fn list_requests(
                &self,
                account_id: i64,
                status: Option<RequestStatus>,

                container_ids: Option<&[i64]>,
                limit: i64,
                offset: i64,
            ) -> Result<(Vec<Request>, i64)> {
                $store::list_requests(self, account_id, status, container_ids, limit, offset).await
            }

            async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
                $store::requests_for_order(self, order_id).await
            }

            async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
                $store::process_request(self, p).await
            }

            async fn get_certificate(
                &self,
                account_id: i64,
                id: i64,
            ) -> Result<Option<Certificate>> {
                $store::get_certificate(self, account_id, id).await
            }

            async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
                $store::certificates_for_order(self, order_id).await
            }

            async fn claim_and_reserve_serial(
                &self,
                ca_id: &str,
                serial_hex: &str,
                certificate_id: i64,
            ) -> Result<()> {
                $store::claim_and_reserve_serial(self, ca_id, serial_hex, certificate_id).await
            }

            async fn release_claim(&self, certificate_id: i64) -> Result<()> {
                $store::release_claim(self, certificate_id).await
            }

            async fn reset_stale_claims(&self, claimed_before: OffsetDateTime) -> Result<u64> {
                $store::reset_stale_claims(self, claimed_before).await
            }

            async fn record_issued(&self, issued: &IssuedCertificate) -> Result<()> {
                $store::record_issued(self, issued).await
            }

            async fn orders_awaiting_issuance(
                &self,
                updated_before: OffsetDateTime,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<(i64, i64)>> {
                $store::orders_awaiting_issuance(self, updated_before, after_id, limit).await
            }

            async fn find_certificate(
                &self,
                account_id: i64,
                id_or_serial: &str,
            ) -> Result<Option<Certificate>> {
                $store::find_certificate(self, account_id, id_or_serial).await
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
                $store::create_request(
                    self,
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
                $store::revoke_certificates(self, r).await
            }

            async fn revoked_since(
                &self,
                since: OffsetDateTime,
                limit: i64,
            ) -> Result<Vec<Certificate>> {
                $store::revoked_since(self, since, limit).await
            }

            async fn revoked_entries(
                &self,
                ca_id: &str,
                valid_at: OffsetDateTime,
            ) -> Result<Vec<(String, OffsetDateTime, Option<RevocationReason>)>> {
                $store::revoked_entries(self, ca_id, valid_at).await
            }

            async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool> {
                $store::is_key_blocked(self, spki_sha256).await
            }

            async fn balance(&self, account_id: i64) -> Result<Balance> {
                $store::balance(self, account_id).await
            }

            async fn deposit(&self, account_id: i64, amount_cents: i64, note: &str) -> Result<i64> {
                $store::deposit(self, account_id, amount_cents, note).await
            }

            async fn set_negative_limit(
                &self,
                account_id: i64,
                limit_cents: i64,
                unlimited: bool,
            ) -> Result<()> {
                $store::set_negative_limit(self, account_id, limit_cents, unlimited).await
            }

            async fn close(&self) {
                $store::close(self).await
            }
        }
    };
}
