//! Organizations, their validations (the validation desk) and the organization-with-domains read of order creation.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization> {
        todo!("postgres: create_organization")
    }

    pub(crate) async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>> {
        todo!("postgres: find_duplicate_organization")
    }

    pub(crate) async fn get_organization(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Organization>> {
        todo!("postgres: get_organization")
    }

    pub(crate) async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
        todo!("postgres: get_organization_any")
    }

    pub(crate) async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)> {
        todo!("postgres: list_organizations")
    }

    pub(crate) async fn pending_org_validations(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingOrgValidation>> {
        todo!("postgres: pending_org_validations")
    }

    pub(crate) async fn decide_org_validation(&self, d: &OrgDecision) -> Result<()> {
        todo!("postgres: decide_org_validation")
    }

    pub(crate) async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        todo!("postgres: validation_audit")
    }

    pub(crate) async fn submit_org_validation(
        &self,
        organization_id: i64,
        kind: ValidationType,
        status: ValidationStatus,
        validated_until: Option<OffsetDateTime>,
        verified_users: &Value,
    ) -> Result<()> {
        todo!("postgres: submit_org_validation")
    }

    pub(crate) async fn set_organization_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        todo!("postgres: set_organization_active")
    }

    pub(crate) async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        todo!("postgres: organization_with_domains")
    }
}
