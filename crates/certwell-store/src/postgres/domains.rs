//! Domains, their DCV state and the one-time validation links.

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use time::OffsetDateTime;

use super::{name_col, whole_seconds, PgStore};
use crate::changes::Aggregate;
use crate::records::*;
use crate::{Conflict, Result, StoreError};

/// A timestamp column, in UTC whole seconds.
pub(super) fn ts_col(r: &PgRow, col: &str) -> Result<OffsetDateTime> {
    Ok(whole_seconds(r.try_get::<OffsetDateTime, _>(col)?))
}

/// An optional timestamp column, in UTC whole seconds.
pub(super) fn opt_ts_col(r: &PgRow, col: &str) -> Result<Option<OffsetDateTime>> {
    Ok(r.try_get::<Option<OffsetDateTime>, _>(col)?
        .map(whole_seconds))
}

pub(super) fn domain_row(r: &PgRow) -> Result<Domain> {
    let Json(validation_types) = r.try_get::<Json<Vec<ValidationType>>, _>("validation_types")?;
    Ok(Domain {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        organization_id: r.try_get("organization_id")?,
        name: r.try_get("name")?,
        is_active: r.try_get("is_active")?,
        dcv_method: name_col(r, "dcv_method", DcvMethod::from_name)?,
        dcv_token: r.try_get("dcv_token")?,
        dcv_token_expires: opt_ts_col(r, "dcv_token_expires")?,
        validation_types,
        validated_at: opt_ts_col(r, "validated_at")?,
        validated_until: opt_ts_col(r, "validated_until")?,
        created_at: ts_col(r, "created_at")?,
        dcv_attempts: r.try_get("dcv_attempts")?,
        dcv_next_check: opt_ts_col(r, "dcv_next_check")?,
        dcv_last_error: r.try_get("dcv_last_error")?,
    })
}

/// The `kind` column names what a link confirms: `domain` (its
/// `domain_id`) or `mailbox` (an address of its `order_id`).
fn link_target(r: &PgRow) -> Result<LinkTarget> {
    let kind: String = r.try_get("kind")?;
    let (domain_id, order_id): (Option<i64>, Option<i64>) =
        (r.try_get("domain_id")?, r.try_get("order_id")?);
    match (kind.as_str(), domain_id, order_id) {
        ("domain", Some(domain_id), _) => Ok(LinkTarget::Domain { domain_id }),
        ("mailbox", _, Some(order_id)) => Ok(LinkTarget::Mailbox { order_id }),
        _ => Err(StoreError::Corrupt(format!(
            "validation link of kind {kind:?} without its target"
        ))),
    }
}

fn link_columns(t: LinkTarget) -> (&'static str, Option<i64>, Option<i64>) {
    match t {
        LinkTarget::Domain { domain_id } => ("domain", Some(domain_id), None),
        LinkTarget::Mailbox { order_id } => ("mailbox", None, Some(order_id)),
    }
}

fn link_row(r: &PgRow) -> Result<ValidationLink> {
    Ok(ValidationLink {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        target: link_target(r)?,
        email: r.try_get("email")?,
        expires_at: ts_col(r, "expires_at")?,
        sent_at: ts_col(r, "sent_at")?,
        used_at: opt_ts_col(r, "used_at")?,
    })
}

/// Inserts a domain (active) in the caller's transaction unless the
/// organization already has one of that name: the id of the new domain,
/// or `None` when it existed (nothing written).
async fn try_insert_domain_tx(
    conn: &mut sqlx::PgConnection,
    account_id: i64,
    d: &NewDomainRow,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO domains (account_id, container_id, organization_id, name, is_active, dcv_method, dcv_token, \
         dcv_token_expires, validation_types, validated_at, validated_until, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (account_id, organization_id, name) DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(d.container_id)
    .bind(d.organization_id)
    .bind(&d.name)
    .bind(d.dcv_method.as_str())
    .bind(&d.dcv_token)
    .bind(d.dcv_token_expires.map(whole_seconds))
    .bind(Json(&d.validation_types))
    .bind(d.validated_at.map(whole_seconds))
    .bind(d.validated_until.map(whole_seconds))
    .bind(whole_seconds(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id)
}

/// Inserts a domain (active) in the caller's transaction, as order
/// creation does: a domain the organization already has (same account,
/// organization and name) is left as it is, like SQLite's `ON CONFLICT DO
/// NOTHING`, and its id is returned. The caller commits and then calls
/// `self.changed(Aggregate::Organizations)`.
pub(super) async fn insert_domain_tx(
    conn: &mut sqlx::PgConnection,
    account_id: i64,
    d: &NewDomainRow,
    now: OffsetDateTime,
) -> Result<i64> {
    if let Some(id) = try_insert_domain_tx(&mut *conn, account_id, d, now).await? {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM domains WHERE account_id = $1 AND organization_id = $2 AND name = $3",
    )
    .bind(account_id)
    .bind(d.organization_id)
    .bind(&d.name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// The `WHERE` of a domain list: the account's domains, of one
/// organization (`$2`, NULL: any) and in the containers `$3` (NULL: all).
const LIST_WHERE: &str = "account_id = $1 AND ($2::bigint IS NULL OR organization_id = $2) \
     AND ($3::bigint[] IS NULL OR container_id = ANY($3))";

impl PgStore {
    pub(crate) async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
        let mut conn = self.pool.acquire().await?;
        let id = try_insert_domain_tx(&mut conn, account_id, d, super::now())
            .await?
            .ok_or_else(|| Conflict::DomainExists {
                name: d.name.clone(),
            })?;
        drop(conn);
        self.changed(Aggregate::Organizations);
        self.get_domain(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub(crate) async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_row).transpose()
    }

    pub(crate) async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_row).transpose()
    }

    pub(crate) async fn list_domains(
        &self,
        account_id: i64,
        organization_id: Option<i64>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Domain>, i64)> {
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM domains WHERE {LIST_WHERE}"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(container_ids)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM domains WHERE {LIST_WHERE} ORDER BY id LIMIT $4 OFFSET $5"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(container_ids)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(domain_row).collect::<Result<_>>()?, total))
    }

    pub(crate) async fn domains_of_organization(
        &self,
        account_id: i64,
        organization_id: i64,
    ) -> Result<Vec<Domain>> {
        let rows = sqlx::query(
            "SELECT * FROM domains WHERE account_id = $1 AND organization_id = $2 ORDER BY id",
        )
        .bind(account_id)
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(domain_row).collect()
    }

    pub(crate) async fn set_domain_validated(
        &self,
        id: i64,
        validated_at: OffsetDateTime,
        validated_until: OffsetDateTime,
    ) -> Result<()> {
        let n =
            sqlx::query("UPDATE domains SET validated_at = $1, validated_until = $2 WHERE id = $3")
                .bind(whole_seconds(validated_at))
                .bind(whole_seconds(validated_until))
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.changed(Aggregate::Organizations);
        Ok(())
    }

    pub(crate) async fn claim_domains_due_for_dcv(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<Domain>> {
        // Rows another poller is claiming are skipped, not waited for.
        let mut due = sqlx::query(
            "UPDATE domains SET dcv_next_check = $3 WHERE id IN (SELECT id FROM domains \
             WHERE (validated_until IS NULL OR validated_until <= $1) AND is_active \
             AND dcv_method IN ('dns-txt-token', 'dns-cname-token', 'http-token') \
             AND dcv_token IS NOT NULL AND dcv_token_expires > $1 \
             AND (dcv_next_check IS NULL OR dcv_next_check <= $1) ORDER BY id LIMIT $2 \
             FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .bind(whole_seconds(now))
        .bind(limit)
        .bind(whole_seconds(hold_until))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(domain_row)
        .collect::<Result<Vec<_>>>()?;
        if !due.is_empty() {
            self.changed(Aggregate::Organizations);
        }
        due.sort_by_key(|d| d.id);
        Ok(due)
    }

    pub(crate) async fn record_dcv_attempt(
        &self,
        id: i64,
        token: Option<&str>,
        next_check: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE domains SET dcv_attempts = dcv_attempts + 1, dcv_next_check = $1, dcv_last_error = $2 \
             WHERE id = $3 AND dcv_token IS NOT DISTINCT FROM $4",
        )
        .bind(whole_seconds(next_check))
        .bind(error)
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n > 0 {
            self.changed(Aggregate::Organizations);
        }
        Ok(())
    }

    pub(crate) async fn set_domain_dcv(
        &self,
        account_id: i64,
        id: i64,
        method: DcvMethod,
        token: Option<(&str, OffsetDateTime)>,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE domains SET dcv_method = $1, dcv_token = $2, dcv_token_expires = $3, \
             dcv_attempts = 0, dcv_next_check = NULL, dcv_last_error = NULL \
             WHERE id = $4 AND account_id = $5",
        )
        .bind(method.as_str())
        .bind(token.map(|t| t.0))
        .bind(token.map(|t| whole_seconds(t.1)))
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

    pub(crate) async fn set_domain_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        let n = sqlx::query("UPDATE domains SET is_active = $1 WHERE id = $2 AND account_id = $3")
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

    pub(crate) async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM validation_links WHERE domain_id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM domains WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.changed(Aggregate::Organizations);
        Ok(())
    }

    pub(crate) async fn create_validation_link(&self, l: &NewValidationLink) -> Result<i64> {
        let (kind, domain_id, order_id) = link_columns(l.target);
        Ok(sqlx::query_scalar(
            "INSERT INTO validation_links (account_id, kind, domain_id, order_id, email, token_hash, \
             expires_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(l.account_id)
        .bind(kind)
        .bind(domain_id)
        .bind(order_id)
        .bind(&l.email)
        .bind(&l.token_hash)
        .bind(whole_seconds(l.expires_at))
        .bind(whole_seconds(l.sent_at))
        .fetch_one(&self.pool)
        .await?)
    }

    pub(crate) async fn find_validation_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<ValidationLink>> {
        let row = sqlx::query("SELECT * FROM validation_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    pub(crate) async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE validation_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(whole_seconds(now))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }
}
