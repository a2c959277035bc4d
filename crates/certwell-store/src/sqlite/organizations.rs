//! Organizations, their validations (the validation desk) and the
//! organization-with-domains read of order creation (cached by
//! [`CachedStore`](crate::CachedStore), not here).

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::timestamp::{format_opt_ts, format_ts, now_ts, opt_ts_col, parse_ts, ts_col};
use super::{json_col, name_col, scope_json, SqliteStore, SCOPE_SQL};
use crate::records::*;
use crate::{Result, StoreError};

pub(super) fn org_row(r: &SqliteRow) -> Result<Organization> {
    Ok(Organization {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        name: r.try_get("name")?,
        assumed_name: r.try_get("assumed_name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        data: json_col(r, "data")?,
        validations: Vec::new(),
        created_at: ts_col(r, "created_at")?,
    })
}

pub(super) fn validations_from_json(text: Option<String>) -> Result<Vec<OrgValidation>> {
    let mut out = Vec::new();
    if let Some(v) = text {
        let list: Vec<Value> = serde_json::from_str(&v)?;
        for x in list {
            let get = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
            let ts = |k: &str| get(k).map(|t| parse_ts(k, &t)).transpose();
            out.push(OrgValidation {
                kind: get("kind")
                    .as_deref()
                    .and_then(ValidationType::from_name)
                    .ok_or_else(|| {
                        StoreError::Corrupt("an organization validation without a type".into())
                    })?,
                status: get("status")
                    .as_deref()
                    .and_then(ValidationStatus::from_name)
                    .ok_or_else(|| {
                        StoreError::Corrupt("an organization validation without a status".into())
                    })?,
                date_created: ts("date_created")?.ok_or_else(|| {
                    StoreError::Corrupt("an organization validation without a date".into())
                })?,
                validated_until: ts("validated_until")?,
                verified_users: get("verified_users").and_then(|t| serde_json::from_str(&t).ok()),
            });
        }
    }
    Ok(out)
}

pub(super) async fn insert_org_tx(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    org: &NewOrganizationRow,
    now: &str,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (account_id, container_id, name, assumed_name, is_active, data, created_at) \
         VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(org.container_id)
    .bind(&org.name)
    .bind(&org.assumed_name)
    .bind(org.data.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (kind, status, until) in &org.validations {
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(now)
        .bind(format_opt_ts(*until))
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

impl SqliteStore {
    async fn org_validations(&self, org_id: i64) -> Result<Vec<OrgValidation>> {
        let rows = sqlx::query(
            "SELECT type, status, date_created, validated_until, verified_users FROM org_validations WHERE organization_id = ? ORDER BY type",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgValidation {
                    kind: name_col(r, "type", ValidationType::from_name)?,
                    status: name_col(r, "status", ValidationStatus::from_name)?,
                    date_created: ts_col(r, "date_created")?,
                    validated_until: opt_ts_col(r, "validated_until")?,
                    verified_users: r
                        .try_get::<Option<String>, _>("verified_users")?
                        .and_then(|t| serde_json::from_str(&t).ok()),
                })
            })
            .collect()
    }

    async fn with_validations(&self, org: Option<Organization>) -> Result<Option<Organization>> {
        match org {
            Some(mut o) => {
                o.validations = self.org_validations(o.id).await?;
                Ok(Some(o))
            }
            None => Ok(None),
        }
    }

    /// One organization with its validations and domains, from the database.
    async fn read_organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        let row = sqlx::query(
            "SELECT o.*, (SELECT json_group_array(json_object('kind', v.type, 'status', v.status, \
             'date_created', v.date_created, 'validated_until', v.validated_until, 'verified_users', v.verified_users)) \
             FROM (SELECT * FROM org_validations WHERE organization_id = o.id ORDER BY type) v) AS validations_json, \
             (SELECT json_group_array(json_object('id', d.id, 'account_id', d.account_id, 'container_id', d.container_id, \
             'organization_id', d.organization_id, 'name', d.name, 'is_active', d.is_active, 'dcv_method', d.dcv_method, \
             'dcv_token', d.dcv_token, 'dcv_token_expires', d.dcv_token_expires, 'validation_types', d.validation_types, \
             'validated_at', d.validated_at, 'validated_until', d.validated_until, 'created_at', d.created_at, \
             'dcv_attempts', d.dcv_attempts, 'dcv_next_check', d.dcv_next_check, 'dcv_last_error', d.dcv_last_error)) \
             FROM (SELECT * FROM domains WHERE account_id = o.account_id AND organization_id = o.id ORDER BY id) d) AS domains_json \
             FROM organizations o WHERE o.id = ? AND o.account_id = ?",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut org = org_row(&row)?;
        org.validations = validations_from_json(row.try_get("validations_json")?)?;
        let mut domains = Vec::new();
        if let Some(text) = row.try_get::<Option<String>, _>("domains_json")? {
            let list: Vec<Value> = serde_json::from_str(&text)?;
            for d in list {
                let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
                let i = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or(0);
                let ts = |k: &str| s(k).map(|t| parse_ts(k, &t)).transpose();
                let types: Vec<ValidationType> =
                    serde_json::from_str(&s("validation_types").unwrap_or_else(|| "[]".into()))?;
                domains.push(Domain {
                    id: i("id"),
                    account_id: i("account_id"),
                    container_id: i("container_id"),
                    organization_id: i("organization_id"),
                    name: s("name").unwrap_or_default(),
                    is_active: i("is_active") != 0,
                    dcv_method: s("dcv_method")
                        .as_deref()
                        .and_then(DcvMethod::from_name)
                        .ok_or_else(|| StoreError::Corrupt("domain without a DCV method".into()))?,
                    dcv_token: s("dcv_token"),
                    dcv_token_expires: ts("dcv_token_expires")?,
                    validation_types: types,
                    validated_at: ts("validated_at")?,
                    validated_until: ts("validated_until")?,
                    created_at: ts("created_at")?.ok_or_else(|| {
                        StoreError::Corrupt("a domain without a creation date".into())
                    })?,
                    dcv_attempts: i("dcv_attempts"),
                    dcv_next_check: ts("dcv_next_check")?,
                    dcv_last_error: s("dcv_last_error"),
                });
            }
        }
        Ok(Some((org, domains)))
    }

    pub(crate) async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_org_tx(&mut tx, account_id, org, &now).await?;
        tx.commit().await?;
        self.get_organization(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub(crate) async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>> {
        let rows = sqlx::query(
            "SELECT id, assumed_name, data FROM organizations WHERE account_id = ? AND is_active = 1 \
             AND lower(name) = lower(?) ORDER BY created_at, id",
        )
        .bind(account_id)
        .bind(&key.name)
        .fetch_all(&self.pool)
        .await?;
        let eq = |v: &Value, k: &str, want: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|s| s.trim().eq_ignore_ascii_case(want.trim()))
                .unwrap_or(false)
        };
        for r in rows {
            let assumed: Option<String> = r.try_get("assumed_name")?;
            if assumed.as_deref().map(str::to_lowercase)
                != key.assumed_name.as_deref().map(str::to_lowercase)
            {
                continue;
            }
            let data = json_col(&r, "data")?;
            if eq(&data, "address", &key.address)
                && eq(&data, "city", &key.city)
                && eq(&data, "state", &key.state)
                && eq(&data, "zip", &key.zip)
                && eq(&data, "country", &key.country)
            {
                return Ok(Some(r.try_get("id")?));
            }
        }
        Ok(None)
    }

    pub(crate) async fn get_organization(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Organization>> {
        let row = sqlx::query(
            "SELECT o.*, (SELECT json_group_array(json_object('kind', v.type, 'status', v.status, \
             'date_created', v.date_created, 'validated_until', v.validated_until, 'verified_users', v.verified_users)) \
             FROM (SELECT * FROM org_validations WHERE organization_id = o.id ORDER BY type) v) AS validations_json \
             FROM organizations o WHERE o.id = ? AND o.account_id = ?",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut org = org_row(&row)?;
        org.validations = validations_from_json(row.try_get("validations_json")?)?;
        Ok(Some(org))
    }

    pub(crate) async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
        let row = sqlx::query("SELECT * FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let org = row.as_ref().map(org_row).transpose()?;
        self.with_validations(org).await
    }

    pub(crate) async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)> {
        // NULL filter values match everything.
        let where_sql = format!(
            "account_id = ? AND (? IS NULL OR is_active = ?) AND (? IS NULL OR container_id = ?) \
             AND {SCOPE_SQL}"
        );
        let active = filter.active.map(i64::from);
        let scope = filter.container_ids.as_deref().map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM organizations WHERE {where_sql}"
        )))
        .bind(account_id)
        .bind(active)
        .bind(active)
        .bind(filter.container_id)
        .bind(filter.container_id)
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM organizations WHERE {where_sql} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(active)
        .bind(active)
        .bind(filter.container_id)
        .bind(filter.container_id)
        .bind(&scope)
        .bind(&scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let mut o = org_row(r)?;
            o.validations = self.org_validations(o.id).await?;
            out.push(o);
        }
        Ok((out, total))
    }

    pub(crate) async fn pending_org_validations(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingOrgValidation>> {
        let rows = sqlx::query(
            "SELECT o.account_id, o.id AS organization_id, o.name, v.type, v.date_created, v.verified_users \
             FROM org_validations v JOIN organizations o ON o.id = v.organization_id \
             WHERE v.status = 'pending' ORDER BY v.date_created, o.id, v.type LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let users: Option<String> = r.try_get("verified_users")?;
                Ok(PendingOrgValidation {
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    organization_name: r.try_get("name")?,
                    kind: name_col(r, "type", ValidationType::from_name)?,
                    date_created: ts_col(r, "date_created")?,
                    verified_users: users.map(|u| serde_json::from_str(&u)).transpose()?,
                })
            })
            .collect()
    }

    pub(crate) async fn decide_org_validation(&self, d: &OrgDecision) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let account_id: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM organizations WHERE id = ?")
                .bind(d.organization_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(account_id) = account_id else {
            return Err(StoreError::NotFound);
        };
        let status = if d.approve { "active" } else { "rejected" };
        let contacts = d
            .verified_contacts
            .as_ref()
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
            .map(Value::to_string);
        if d.approve {
            sqlx::query(
                "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, type) DO UPDATE SET \
                 status = excluded.status, validated_until = excluded.validated_until, \
                 verified_users = COALESCE(excluded.verified_users, org_validations.verified_users)",
            )
            .bind(d.organization_id)
            .bind(d.kind.as_str())
            .bind(status)
            .bind(format_ts(d.at))
            .bind(format_opt_ts(d.validated_until))
            .bind(&contacts)
            .execute(&mut *tx)
            .await?;
            if let Some(r) = &d.registration_number {
                sqlx::query(
                    "UPDATE organizations SET data = json_set(data, '$.ev', json_set(json(CASE WHEN json_type(data, '$.ev') = 'object' \
                     THEN json_extract(data, '$.ev') ELSE '{}' END), '$.registration_number', ?)) WHERE id = ?",
                )
                .bind(r)
                .bind(d.organization_id)
                .execute(&mut *tx)
                .await?;
            }
        } else {
            let n = sqlx::query(
                "UPDATE org_validations SET status = 'rejected', validated_until = NULL \
                 WHERE organization_id = ? AND type = ?",
            )
            .bind(d.organization_id)
            .bind(d.kind.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "INSERT INTO validation_audit (at, operator_key_id, account_id, organization_id, type, decision, note, verified_contacts) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(format_ts(d.at))
        .bind(d.operator_key_id)
        .bind(account_id)
        .bind(d.organization_id)
        .bind(d.kind.as_str())
        .bind(if d.approve { "approved" } else { "rejected" })
        .bind(&d.note)
        .bind(&contacts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM validation_audit WHERE (? IS NULL OR organization_id = ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(organization_id)
        .bind(organization_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let c: Option<String> = r.try_get("verified_contacts")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: ts_col(r, "at")?,
                    operator_key_id: r.try_get("operator_key_id")?,
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    kind: name_col(r, "type", ValidationType::from_name)?,
                    decision: r.try_get("decision")?,
                    note: r.try_get("note")?,
                    verified_contacts: c.map(|c| serde_json::from_str(&c)).transpose()?,
                })
            })
            .collect()
    }

    pub(crate) async fn submit_org_validation(
        &self,
        organization_id: i64,
        kind: ValidationType,
        status: ValidationStatus,
        validated_until: Option<OffsetDateTime>,
        verified_users: &Value,
    ) -> Result<()> {
        let users = match verified_users {
            Value::Array(a) if !a.is_empty() => Some(verified_users.to_string()),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, type) DO UPDATE SET status = excluded.status, \
             validated_until = excluded.validated_until, verified_users = excluded.verified_users, \
             date_created = excluded.date_created",
        )
        .bind(organization_id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(now_ts())
        .bind(format_opt_ts(validated_until))
        .bind(users)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_organization_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        let n =
            sqlx::query("UPDATE organizations SET is_active = ? WHERE id = ? AND account_id = ?")
                .bind(i64::from(active))
                .bind(id)
                .bind(account_id)
                .execute(&self.writer)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        self.read_organization_with_domains(account_id, id).await
    }
}
