//! Domains, their DCV state and the one-time validation links.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
        todo!("postgres: create_domain")
    }

    pub(crate) async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
        todo!("postgres: get_domain")
    }

    pub(crate) async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
        todo!("postgres: get_domain_any")
    }

    pub(crate) async fn list_domains(
        &self,
        account_id: i64,
        organization_id: Option<i64>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Domain>, i64)> {
        todo!("postgres: list_domains")
    }

    pub(crate) async fn domains_of_organization(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<Domain>> {
        todo!("postgres: domains_of_organization")
    }

    pub(crate) async fn set_domain_validated(
        &self,
        id: i64,
        validated_at: OffsetDateTime,
        validated_until: OffsetDateTime,
    ) -> Result<()> {
        todo!("postgres: set_domain_validated")
    }

    pub(crate) async fn domains_due_for_dcv(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Domain>> {
        todo!("postgres: domains_due_for_dcv")
    }

    pub(crate) async fn record_dcv_attempt(
        &self,
        id: i64,
        token: Option<&str>,
        next_check: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<()> {
        todo!("postgres: record_dcv_attempt")
    }

    pub(crate) async fn set_domain_dcv(
        &self,
        account_id: i64,
        id: i64,
        method: DcvMethod,
        token: Option<(&str, OffsetDateTime)>,
    ) -> Result<()> {
        todo!("postgres: set_domain_dcv")
    }

    pub(crate) async fn set_domain_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        todo!("postgres: set_domain_active")
    }

    pub(crate) async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
        todo!("postgres: delete_domain")
    }

    pub(crate) async fn create_validation_link(&self, l: &NewValidationLink) -> Result<i64> {
        todo!("postgres: create_validation_link")
    }

    pub(crate) async fn find_validation_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<ValidationLink>> {
        todo!("postgres: find_validation_link")
    }

    pub(crate) async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
        todo!("postgres: use_validation_link")
    }
}
