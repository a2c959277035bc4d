//! Organizations, their validations (the validation desk) and the
//! organization-with-domains read of order creation (cached by
//! [`CachedStore`](crate::CachedStore), not here).

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::domains::ts_col;
use super::{name_col, whole_seconds, PgStore};
use crate::changes::Aggregate;
use crate::records::*;
use crate::{Result, StoreError};

/// Inserts an organization (active) and its initial validations in the
/// caller's transaction; its id. The caller commits and then calls
/// `self.changed(Aggregate::Organizations)`.
pub(super) async fn insert_org_tx(
    conn: &mut sqlx::PgConnection,
    account_id: i64,
    org: &NewOrganizationRow,
    now: OffsetDateTime,
) -> Result<i64> {
    let now = whole_seconds(now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (account_id, container_id, name, assumed_name, is_active, data, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5, $6) RETURNING id",
    )
    .bind(account_id)
    .bind(org.container_id)
    .bind(&org.name)
    .bind(&org.assumed_name)
    .bind(Json(&org.data))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (kind, status, until) in &org.validations {
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(now)
        .bind(until.map(whole_seconds))
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// SQL: a timestamp column as whole Unix seconds (NULL stays NULL), for
/// the JSON documents below (independent of the session's time zone).
macro_rules! epoch {
    ($col:literal) => {
        concat!("floor(extract(epoch FROM ", $col, "))::bigint")
    };
}

/// SQL column `validations_json`: the validations of organization `o`, as
/// a JSON array by type (byte order, as SQLite sorts).
const VALIDATIONS_JSON: &str = concat!(
    "(SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', v.type, 'status', v.status, ",
    "'date_created', ",
    epoch!("v.date_created"),
    ", 'validated_until', ",
    epoch!("v.validated_until"),
    ", 'verified_users', v.verified_users) ORDER BY v.type COLLATE \"C\"), '[]'::jsonb) ",
    "FROM org_validations v WHERE v.organization_id = o.id) AS validations_json"
);

/// SQL column `domains_json`: the domains of organization `o` (in its
/// account), as a JSON array by id.
const DOMAINS_JSON: &str = concat!(
    "(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', d.id, 'account_id', d.account_id, ",
    "'container_id', d.container_id, 'organization_id', d.organization_id, 'name', d.name, ",
    "'is_active', d.is_active, 'dcv_method', d.dcv_method, 'dcv_token', d.dcv_token, ",
    "'dcv_token_expires', ",
    epoch!("d.dcv_token_expires"),
    ", 'validation_types', d.validation_types, 'validated_at', ",
    epoch!("d.validated_at"),
    ", 'validated_until', ",
    epoch!("d.validated_until"),
    ", 'created_at', ",
    epoch!("d.created_at"),
    ", 'dcv_attempts', d.dcv_attempts, 'dcv_next_check', ",
    epoch!("d.dcv_next_check"),
    ", 'dcv_last_error', d.dcv_last_error) ORDER BY d.id), '[]'::jsonb) ",
    "FROM domains d WHERE d.account_id = o.account_id AND d.organization_id = o.id) AS domains_json"
);

/// An organization row (`o.*`) with its `validations_json`.
fn org_row(r: &PgRow) -> Result<Organization> {
    let Json(data) = r.try_get::<Json<Value>, _>("data")?;
    let Json(validations) = r.try_get::<Json<Value>, _>("validations_json")?;
    Ok(Organization {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        name: r.try_get("name")?,
        assumed_name: r.try_get("assumed_name")?,
        is_active: r.try_get("is_active")?,
        data,
        validations: validations_from_json(&validations)?,
        created_at: ts_col(r, "created_at")?,
    })
}

/// A timestamp of a JSON document: whole Unix seconds, or null.
fn json_ts(v: &Value, key: &str) -> Result<Option<OffsetDateTime>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            let secs = n
                .as_i64()
                .ok_or_else(|| StoreError::Corrupt(format!("{key}: not a timestamp: {n}")))?;
            OffsetDateTime::from_unix_timestamp(secs)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
        }
    }
}

fn json_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn validations_from_json(list: &Value) -> Result<Vec<OrgValidation>> {
    let list = list
        .as_array()
        .ok_or_else(|| StoreError::Corrupt("organization validations: not a list".into()))?;
    list.iter()
        .map(|x| {
            Ok(OrgValidation {
                kind: json_str(x, "kind")
                    .as_deref()
                    .and_then(ValidationType::from_name)
                    .ok_or_else(|| {
                        StoreError::Corrupt("an organization validation without a type".into())
                    })?,
                status: json_str(x, "status")
                    .as_deref()
                    .and_then(ValidationStatus::from_name)
                    .ok_or_else(|| {
                        StoreError::Corrupt("an organization validation without a status".into())
                    })?,
                date_created: json_ts(x, "date_created")?.ok_or_else(|| {
                    StoreError::Corrupt("an organization validation without a date".into())
                })?,
                validated_until: json_ts(x, "validated_until")?,
                verified_users: x.get("verified_users").filter(|u| !u.is_null()).cloned(),
            })
        })
        .collect()
}

fn domains_from_json(list: &Value) -> Result<Vec<Domain>> {
    let list = list
        .as_array()
        .ok_or_else(|| StoreError::Corrupt("an organization's domains: not a list".into()))?;
    list.iter()
        .map(|d| {
            let int = |k: &str| {
                d.get(k)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| StoreError::Corrupt(format!("a domain without {k}")))
            };
            Ok(Domain {
                id: int("id")?,
                account_id: int("account_id")?,
                container_id: int("container_id")?,
                organization_id: int("organization_id")?,
                name: json_str(d, "name")
                    .ok_or_else(|| StoreError::Corrupt("a domain without a name".into()))?,
                is_active: d
                    .get("is_active")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| StoreError::Corrupt("a domain without is_active".into()))?,
                dcv_method: json_str(d, "dcv_method")
                    .as_deref()
                    .and_then(DcvMethod::from_name)
                    .ok_or_else(|| StoreError::Corrupt("domain without a DCV method".into()))?,
                dcv_token: json_str(d, "dcv_token"),
                dcv_token_expires: json_ts(d, "dcv_token_expires")?,
                validation_types: serde_json::from_value(
                    d.get("validation_types").cloned().unwrap_or(Value::Null),
                )?,
                validated_at: json_ts(d, "validated_at")?,
                validated_until: json_ts(d, "validated_until")?,
                created_at: json_ts(d, "created_at")?.ok_or_else(|| {
                    StoreError::Corrupt("a domain without a creation date".into())
                })?,
                dcv_attempts: int("dcv_attempts")?,
                dcv_next_check: json_ts(d, "dcv_next_check")?,
                dcv_last_error: json_str(d, "dcv_last_error"),
            })
        })
        .collect()
}

/// The `WHERE` of an organization list (`o`): the account's (`$1`),
/// active or not (`$2`, NULL: both), in container `$3` (NULL: any) and in
/// the containers `$4` (NULL: all).
const LIST_WHERE: &str = "o.account_id = $1 AND ($2::boolean IS NULL OR o.is_active = $2) \
     AND ($3::bigint IS NULL OR o.container_id = $3) \
     AND ($4::bigint[] IS NULL OR o.container_id = ANY($4))";

impl PgStore {
    pub(crate) async fn create_organization(
        &self,
        account_id: i64,
        org: &NewOrganizationRow,
    ) -> Result<Organization> {
        let mut tx = self.pool.begin().await?;
        let id = insert_org_tx(&mut tx, account_id, org, super::now()).await?;
        tx.commit().await?;
        self.changed(Aggregate::Organizations);
        self.get_organization(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub(crate) async fn find_duplicate_organization(
        &self,
        account_id: i64,
        key: &OrgDuplicateKey,
    ) -> Result<Option<i64>> {
        // SQLite's lower() folds ASCII letters only; PostgreSQL's depends
        // on the database's locale: fold ASCII letters explicitly.
        let rows = sqlx::query(
            "SELECT id, assumed_name, data FROM organizations WHERE account_id = $1 AND is_active \
             AND translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') \
               = translate($2, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') \
             ORDER BY created_at, id",
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
            let Json(data) = r.try_get::<Json<Value>, _>("data")?;
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
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.*, {VALIDATIONS_JSON} FROM organizations o WHERE o.id = $1 AND o.account_id = $2"
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(org_row).transpose()
    }

    pub(crate) async fn get_organization_any(&self, id: i64) -> Result<Option<Organization>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.*, {VALIDATIONS_JSON} FROM organizations o WHERE o.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(org_row).transpose()
    }

    pub(crate) async fn list_organizations(
        &self,
        account_id: i64,
        filter: OrgFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Organization>, i64)> {
        let scope = filter.container_ids.as_deref();
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM organizations o WHERE {LIST_WHERE}"
        )))
        .bind(account_id)
        .bind(filter.active)
        .bind(filter.container_id)
        .bind(scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.*, {VALIDATIONS_JSON} FROM organizations o WHERE {LIST_WHERE} \
             ORDER BY o.id LIMIT $5 OFFSET $6"
        )))
        .bind(account_id)
        .bind(filter.active)
        .bind(filter.container_id)
        .bind(scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(org_row).collect::<Result<_>>()?, total))
    }

    pub(crate) async fn pending_org_validations(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingOrgValidation>> {
        let rows = sqlx::query(
            "SELECT o.account_id, o.id AS organization_id, o.name, v.type, v.date_created, v.verified_users \
             FROM org_validations v JOIN organizations o ON o.id = v.organization_id \
             WHERE v.status = 'pending' ORDER BY v.date_created, o.id, v.type COLLATE \"C\" LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let users: Option<Json<Value>> = r.try_get("verified_users")?;
                Ok(PendingOrgValidation {
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    organization_name: r.try_get("name")?,
                    kind: name_col(r, "type", ValidationType::from_name)?,
                    date_created: ts_col(r, "date_created")?,
                    verified_users: users.map(|Json(u)| u),
                })
            })
            .collect()
    }

    pub(crate) async fn decide_org_validation(&self, d: &OrgDecision) -> Result<()> {
        let at = whole_seconds(d.at);
        let mut tx = self.pool.begin().await?;
        let account_id: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM organizations WHERE id = $1")
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
            .map(Json);
        if d.approve {
            sqlx::query(
                "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organization_id, type) DO UPDATE SET \
                 status = excluded.status, validated_until = excluded.validated_until, \
                 verified_users = COALESCE(excluded.verified_users, org_validations.verified_users)",
            )
            .bind(d.organization_id)
            .bind(d.kind.as_str())
            .bind(status)
            .bind(at)
            .bind(d.validated_until.map(whole_seconds))
            .bind(contacts)
            .execute(&mut *tx)
            .await?;
            if let Some(r) = &d.registration_number {
                sqlx::query(
                    "UPDATE organizations SET data = jsonb_set(data, '{ev}', CASE WHEN jsonb_typeof(data->'ev') = 'object' \
                     THEN data->'ev' ELSE '{}'::jsonb END || jsonb_build_object('registration_number', $1::text)) WHERE id = $2",
                )
                .bind(r)
                .bind(d.organization_id)
                .execute(&mut *tx)
                .await?;
            }
        } else {
            let n = sqlx::query(
                "UPDATE org_validations SET status = 'rejected', validated_until = NULL \
                 WHERE organization_id = $1 AND type = $2",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(at)
        .bind(d.operator_key_id)
        .bind(account_id)
        .bind(d.organization_id)
        .bind(d.kind.as_str())
        .bind(if d.approve { "approved" } else { "rejected" })
        .bind(&d.note)
        .bind(contacts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(Aggregate::Organizations);
        Ok(())
    }

    pub(crate) async fn validation_audit(
        &self,
        organization_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM validation_audit WHERE ($1::bigint IS NULL OR organization_id = $1) \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(organization_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let c: Option<Json<Value>> = r.try_get("verified_contacts")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: ts_col(r, "at")?,
                    operator_key_id: r.try_get("operator_key_id")?,
                    account_id: r.try_get("account_id")?,
                    organization_id: r.try_get("organization_id")?,
                    kind: name_col(r, "type", ValidationType::from_name)?,
                    decision: r.try_get("decision")?,
                    note: r.try_get("note")?,
                    verified_contacts: c.map(|Json(c)| c),
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
            Value::Array(a) if !a.is_empty() => Some(Json(verified_users)),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO org_validations (organization_id, type, status, date_created, validated_until, verified_users) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organization_id, type) DO UPDATE SET status = excluded.status, \
             validated_until = excluded.validated_until, verified_users = excluded.verified_users, \
             date_created = excluded.date_created",
        )
        .bind(organization_id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(super::now())
        .bind(validated_until.map(whole_seconds))
        .bind(users)
        .execute(&self.pool)
        .await?;
        self.changed(Aggregate::Organizations);
        Ok(())
    }

    pub(crate) async fn set_organization_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE organizations SET is_active = $1 WHERE id = $2 AND account_id = $3",
        )
        .bind(active)
        .bind(id)
        .bind(account_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.changed(Aggregate::Organizations);
        Ok(())
    }

    /// One organization with its validations and domains, in one query
    /// (one snapshot).
    pub(crate) async fn organization_with_domains(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<(Organization, Vec<Domain>)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.*, {VALIDATIONS_JSON}, {DOMAINS_JSON} FROM organizations o \
             WHERE o.id = $1 AND o.account_id = $2"
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let org = org_row(&row)?;
        let Json(domains) = row.try_get::<Json<Value>, _>("domains_json")?;
        Ok(Some((org, domains_from_json(&domains)?)))
    }
}
