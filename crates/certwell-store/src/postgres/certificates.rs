//! Certificates: issuance claims, issued and revoked certificates, the key blocklist.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn get_certificate(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Certificate>> {
        todo!("postgres: get_certificate")
    }

    pub(crate) async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
        todo!("postgres: certificates_for_order")
    }

    pub(crate) async fn certificates_awaiting_issuance(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        todo!("postgres: certificates_awaiting_issuance")
    }

    pub(crate) async fn orders_awaiting_issuance(
        &self,
        updated_before: OffsetDateTime,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>> {
        todo!("postgres: orders_awaiting_issuance")
    }

    pub(crate) async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()> {
        todo!("postgres: claim_and_reserve_serial")
    }

    pub(crate) async fn release_claim(&self, certificate_id: i64) -> Result<()> {
        todo!("postgres: release_claim")
    }

    pub(crate) async fn reset_stale_claims(&self) -> Result<u64> {
        todo!("postgres: reset_stale_claims")
    }

    pub(crate) async fn record_issued(&self, c: &IssuedCertificate) -> Result<()> {
        todo!("postgres: record_issued")
    }

    pub(crate) async fn find_certificate(
        &self,
        account_id: i64,
        key: &str,
    ) -> Result<Option<Certificate>> {
        todo!("postgres: find_certificate")
    }

    pub(crate) async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
    ) -> Result<Option<Certificate>> {
        todo!("postgres: certificate_by_serial")
    }

    pub(crate) async fn expiring_certificates(
        &self,
        account_id: i64,
        container_id: i64,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>> {
        todo!("postgres: expiring_certificates")
    }

    pub(crate) async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>> {
        todo!("postgres: revoke_certificates")
    }

    pub(crate) async fn revoked_entries(
        &self,
        ca_id: &str,
    ) -> Result<Vec<(String, OffsetDateTime, Option<RevocationReason>)>> {
        todo!("postgres: revoked_entries")
    }

    pub(crate) async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool> {
        todo!("postgres: is_key_blocked")
    }
}
