//! Domains, their domain-control validation state and validation links.

use crate::sqlite::name_col;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::timestamp::{format_opt_ts, format_ts, now_ts, opt_ts_col, ts_col};
use super::{scope_json, SqliteStore, SCOPE_SQL};
use crate::records::*;
use crate::{Conflict, Result, StoreError};

pub(super) fn domain_row(r: &SqliteRow) -> Result<Domain> {
    let types: String = r.try_get("validation_types")?;
    Ok(Domain {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        organization_id: r.try_get("organization_id")?,
        name: r.try_get("name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        dcv_method: name_col(r, "dcv_method", DcvMethod::from_name)?,
        dcv_token: r.try_get("dcv_token")?,
        dcv_token_expires: opt_ts_col(r, "dcv_token_expires")?,
        validation_types: serde_json::from_str(&types)?,
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
fn link_target(r: &SqliteRow) -> Result<LinkTarget> {
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

pub(super) fn link_row(r: &SqliteRow) -> Result<ValidationLink> {
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

pub(super) async fn insert_domain_tx(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    d: &NewDomainRow,
    now: &str,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO domains (account_id, container_id, organization_id, name, is_active, dcv_method, dcv_token, \
         dcv_token_expires, validation_types, validated_at, validated_until, created_at) \
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (account_id, organization_id, name) DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(d.container_id)
    .bind(d.organization_id)
    .bind(&d.name)
    .bind(d.dcv_method.as_str())
    .bind(&d.dcv_token)
    .bind(format_opt_ts(d.dcv_token_expires))
    .bind(serde_json::to_string(&d.validation_types)?)
    .bind(format_opt_ts(d.validated_at))
    .bind(format_opt_ts(d.validated_until))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id)
}

impl SqliteStore {
    pub(crate) async fn create_domain(&self, account_id: i64, d: &NewDomainRow) -> Result<Domain> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_domain_tx(&mut tx, account_id, d, &now)
            .await?
            .ok_or_else(|| Conflict::DomainExists {
                name: d.name.clone(),
            })?;
        tx.commit().await?;
        self.get_domain(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub(crate) async fn get_domain(&self, account_id: i64, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_row).transpose()
    }

    pub(crate) async fn get_domain_any(&self, id: i64) -> Result<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ?")
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
        let where_sql =
            format!("account_id = ? AND (? IS NULL OR organization_id = ?) AND {SCOPE_SQL}");
        let scope = container_ids.map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM domains WHERE {where_sql}"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(organization_id)
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM domains WHERE {where_sql} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(organization_id)
        .bind(organization_id)
        .bind(&scope)
        .bind(&scope)
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
            "SELECT * FROM domains WHERE account_id = ? AND organization_id = ? ORDER BY id",
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
            sqlx::query("UPDATE domains SET validated_at = ?, validated_until = ? WHERE id = ?")
                .bind(format_ts(validated_at))
                .bind(format_ts(validated_until))
                .bind(id)
                .execute(&self.writer)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn claim_domains_due_for_dcv(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<Domain>> {
        let now = format_ts(now);
        let mut due = sqlx::query(
            "UPDATE domains SET dcv_next_check = ? WHERE id IN (SELECT id FROM domains \
             WHERE (validated_until IS NULL OR validated_until <= ?) AND is_active = 1 \
             AND dcv_method IN ('dns-txt-token', 'dns-cname-token', 'http-token') \
             AND dcv_token IS NOT NULL AND dcv_token_expires > ? \
             AND (dcv_next_check IS NULL OR dcv_next_check <= ?) ORDER BY id LIMIT ?) RETURNING *",
        )
        .bind(format_ts(hold_until))
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(domain_row)
        .collect::<Result<Vec<_>>>()?;
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
        sqlx::query(
            "UPDATE domains SET dcv_attempts = dcv_attempts + 1, dcv_next_check = ?, dcv_last_error = ? \
             WHERE id = ? AND dcv_token IS ?",
        )
        .bind(format_ts(next_check))
        .bind(error)
        .bind(id)
        .bind(token)
        .execute(&self.writer)
        .await?;
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
            "UPDATE domains SET dcv_method = ?, dcv_token = ?, dcv_token_expires = ?, \
             dcv_attempts = 0, dcv_next_check = NULL, dcv_last_error = NULL \
             WHERE id = ? AND account_id = ?",
        )
        .bind(method.as_str())
        .bind(token.map(|t| t.0))
        .bind(token.map(|t| format_ts(t.1)))
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

    pub(crate) async fn set_domain_active(
        &self,
        account_id: i64,
        id: i64,
        active: bool,
    ) -> Result<()> {
        let n = sqlx::query("UPDATE domains SET is_active = ? WHERE id = ? AND account_id = ?")
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

    pub(crate) async fn delete_domain(&self, account_id: i64, id: i64) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM validation_links WHERE domain_id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM domains WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn create_validation_link(&self, l: &NewValidationLink) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO validation_links (account_id, kind, domain_id, order_id, email, token_hash, \
             expires_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(l.account_id)
        .bind(link_columns(l.target).0)
        .bind(link_columns(l.target).1)
        .bind(link_columns(l.target).2)
        .bind(&l.email)
        .bind(&l.token_hash)
        .bind(format_ts(l.expires_at))
        .bind(format_ts(l.sent_at))
        .fetch_one(&self.writer)
        .await?)
    }

    pub(crate) async fn find_validation_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<ValidationLink>> {
        let row = sqlx::query("SELECT * FROM validation_links WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    pub(crate) async fn use_validation_link(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
        let now = format_ts(now);
        Ok(sqlx::query(
            "UPDATE validation_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(&now)
        .bind(id)
        .bind(&now)
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }
}
