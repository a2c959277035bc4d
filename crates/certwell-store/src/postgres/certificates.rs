//! Certificates: issuance claims and their results, lookups for OCSP and
//! CRLs, revocation and blocked keys.
//!
//! Several instances share the database, so an issuance claim is a
//! conditional `UPDATE … WHERE status = 'pending'`: of two instances
//! claiming one certificate, the second waits for the first's row lock
//! and then finds it no longer pending. Row locks are taken order first,
//! then certificate (claims, issuance records and revocations alike), so
//! that these writes cannot deadlock each other.

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::domains::{opt_ts_col, ts_col};
use super::{name_col, opt_name_col, whole_seconds, PgStore};
use crate::records::*;
use crate::{Conflict, Result};

pub(super) fn cert_row(r: &PgRow) -> Result<Certificate> {
    let Json(dns_names) = r.try_get::<Json<Vec<String>>, _>("dns_names")?;
    Ok(Certificate {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        order_id: r.try_get("order_id")?,
        ca_id: r.try_get("ca_id")?,
        serial: r.try_get("serial")?,
        status: name_col(r, "status", CertificateStatus::from_name)?,
        thumbprint: r.try_get("thumbprint")?,
        der: r.try_get("der")?,
        csr: r.try_get("csr")?,
        spki_sha256: r.try_get("spki_sha256")?,
        key_size: r.try_get("key_size")?,
        common_name: r.try_get("common_name")?,
        dns_names,
        signature_hash: r.try_get("signature_hash")?,
        valid_from: opt_ts_col(r, "valid_from")?,
        valid_till: opt_ts_col(r, "valid_till")?,
        date_issued: opt_ts_col(r, "date_issued")?,
        created_at: ts_col(r, "created_at")?,
        revoked_at: opt_ts_col(r, "revoked_at")?,
        revocation_reason: opt_name_col(r, "revocation_reason", RevocationReason::from_name)?,
        kind: name_col(r, "kind", CertificateKind::from_name)?,
        request_id: r.try_get("request_id")?,
        user_id: r.try_get("user_id")?,
        data: r
            .try_get::<Option<Json<Value>>, _>("data")?
            .map(|Json(v)| v),
    })
}

/// SQL condition: the order of `certificates` row is in the status in
/// which that kind of certificate may be issued.
pub(super) const ISSUABLE_ORDER: &str =
    "EXISTS (SELECT 1 FROM orders o WHERE o.id = certificates.order_id AND \
     ((certificates.kind = 'primary' AND o.status = 'pending') \
      OR (certificates.kind = 'reissue' AND o.status = 'reissue_pending') \
      OR (certificates.kind = 'duplicate' AND o.status = 'issued')))";

impl PgStore {
    pub(crate) async fn get_certificate(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Certificate>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    pub(crate) async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
        let rows = sqlx::query("SELECT * FROM certificates WHERE order_id = $1 ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(cert_row).collect()
    }

    pub(crate) async fn certificates_awaiting_issuance(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT account_id, order_id, id FROM certificates WHERE status = 'pending' \
             AND kind IN ('reissue', 'duplicate') AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    pub(crate) async fn orders_awaiting_issuance(
        &self,
        updated_before: OffsetDateTime,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT account_id, id FROM orders WHERE status = 'pending' AND updated_at < $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(whole_seconds(updated_before))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// One transaction: the claim (`pending` → `issuing`, exactly one
    /// instance succeeds) and the serial's record. The order row is locked
    /// (shared) first, so that a concurrent change of the order's status
    /// (a revocation, a cancelled reissue) is either seen by the claim or
    /// sees it.
    pub(crate) async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "SELECT o.id FROM orders o JOIN certificates c ON c.order_id = o.id \
             WHERE c.id = $1 FOR SHARE OF o",
        )
        .bind(certificate_id)
        .fetch_optional(&mut *tx)
        .await?;
        let claimed: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "UPDATE certificates SET status = 'issuing' \
             WHERE id = $1 AND status = 'pending' AND {ISSUABLE_ORDER} RETURNING id"
        )))
        .bind(certificate_id)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            return Err(Conflict::CertificateNotPending { certificate_id }.into());
        }
        // Waits for a concurrent reservation of the same serial to commit
        // or roll back, then inserts nothing if it committed.
        let recorded: Option<i64> = sqlx::query_scalar(
            "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ca_id, serial) DO NOTHING RETURNING 1::bigint",
        )
        .bind(ca_id)
        .bind(serial_hex)
        .bind(certificate_id)
        .bind(super::now())
        .fetch_optional(&mut *tx)
        .await?;
        if recorded.is_none() {
            return Err(Conflict::SerialInUse.into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn release_claim(&self, certificate_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE certificates SET status = 'pending' WHERE id = $1 AND status = 'issuing'",
        )
        .bind(certificate_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn reset_stale_claims(&self, claimed_before: OffsetDateTime) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE certificates SET status = 'pending' WHERE status = 'issuing' \
             AND (claimed_at IS NULL OR claimed_at < $1)",
        )
        .bind(claimed_before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub(crate) async fn record_issued(&self, c: &IssuedCertificate) -> Result<()> {
        let date_issued = whole_seconds(c.date_issued);
        let mut tx = self.pool.begin().await?;
        // Order before certificate, like every writer of both.
        sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
            .bind(c.order_id)
            .fetch_optional(&mut *tx)
            .await?;
        let recorded: Option<i64> = sqlx::query_scalar(
            "UPDATE certificates SET ca_id = $1, serial = $2, status = 'issued', thumbprint = $3, der = $4, \
             valid_from = $5, valid_till = $6, date_issued = $7 WHERE id = $8 AND status = 'issuing' \
             AND claim_serial = $2 \
             RETURNING id",
        )
        .bind(&c.ca_id)
        .bind(&c.serial_hex)
        .bind(&c.thumbprint)
        .bind(&c.der)
        .bind(whole_seconds(c.valid_from))
        .bind(whole_seconds(c.valid_till))
        .bind(date_issued)
        .bind(c.certificate_id)
        .fetch_optional(&mut *tx)
        .await?;
        if recorded.is_none() {
            return Err(Conflict::CertificateNotIssuing {
                certificate_id: c.certificate_id,
            }
            .into());
        }
        sqlx::query(
            "UPDATE orders SET status = 'issued', updated_at = $1, certificate_id = $2 WHERE id = $3 \
             AND EXISTS (SELECT 1 FROM certificates WHERE id = $2 AND status = 'issued' AND der IS NOT NULL \
                 AND kind IN ('primary', 'reissue'))",
        )
        .bind(date_issued)
        .bind(c.certificate_id)
        .bind(c.order_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn find_certificate(
        &self,
        account_id: i64,
        key: &str,
    ) -> Result<Option<Certificate>> {
        if let Ok(id) = key.parse::<i64>() {
            if let Some(c) = self.get_certificate(account_id, id).await? {
                return Ok(Some(c));
            }
        }
        let row = sqlx::query(
            "SELECT * FROM certificates WHERE account_id = $1 AND serial = $2 ORDER BY id LIMIT 1",
        )
        .bind(account_id)
        .bind(key.to_ascii_uppercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(cert_row).transpose()
    }

    pub(crate) async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
    ) -> Result<Option<Certificate>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE ca_id = $1 AND serial = $2")
            .bind(ca_id)
            .bind(serial_hex)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    pub(crate) async fn expiring_certificates(
        &self,
        account_id: i64,
        container_id: i64,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>> {
        let ends: Vec<OffsetDateTime> = sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS ( \
                 SELECT id FROM containers WHERE id = $1 AND account_id = $2 \
                 UNION SELECT c.id FROM containers c JOIN sub ON c.parent_id = sub.id) \
             SELECT c.valid_till FROM orders o JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.account_id = $2 AND o.container_id IN (SELECT id FROM sub) AND o.status = 'issued' \
               AND c.status = 'issued' AND c.valid_till >= $3 AND c.valid_till < $4 \
             ORDER BY c.valid_till, o.id",
        )
        .bind(container_id)
        .bind(account_id)
        .bind(whole_seconds(from))
        .bind(whole_seconds(until))
        .fetch_all(&self.pool)
        .await?;
        Ok(ends.into_iter().map(whole_seconds).collect())
    }

    pub(crate) async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>> {
        let revoked_at = whole_seconds(r.revoked_at);
        let mut tx = self.pool.begin().await?;
        // The orders first (in id order), then their certificates.
        sqlx::query(
            "SELECT id FROM orders WHERE id IN (SELECT order_id FROM certificates \
             WHERE id = ANY($1) AND account_id = $2) ORDER BY id FOR UPDATE",
        )
        .bind(&r.certificate_ids)
        .bind(r.account_id)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(RequestApproval {
            request_id: req_id,
            processor_id: processor,
            processor_comment: comment,
        }) = &r.approve_request
        {
            let n = sqlx::query(
                "UPDATE requests SET status = 'approved', processor_id = $1, processor_comment = $2, \
                 date_processed = $3 WHERE id = $4 AND account_id = $5 AND status IN ('pending', 'submitted')",
            )
            .bind(processor)
            .bind(comment)
            .bind(revoked_at)
            .bind(req_id)
            .bind(r.account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(Conflict::RequestNotOpen {
                    request_id: *req_id,
                }
                .into());
            }
        }
        let mut revoked = Vec::new();
        for id in &r.certificate_ids {
            let row = sqlx::query(
                "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
                 WHERE id = $3 AND account_id = $4 AND status = 'issued' RETURNING *",
            )
            .bind(revoked_at)
            .bind(r.reason.as_str())
            .bind(id)
            .bind(r.account_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                revoked.push(cert_row(&row)?);
            }
        }
        for c in &revoked {
            if r.block_keys {
                if let Some(h) = &c.spki_sha256 {
                    sqlx::query(
                        "INSERT INTO blocked_keys (spki_sha256, reason, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (spki_sha256) DO NOTHING",
                    )
                    .bind(h)
                    .bind(r.reason.as_str())
                    .bind(revoked_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            // The order is revoked once none of its certificates is valid.
            sqlx::query(
                "UPDATE orders SET status = 'revoked', updated_at = $1 WHERE id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM certificates WHERE order_id = $2 AND status IN ('issued', 'issuing'))",
            )
            .bind(revoked_at)
            .bind(c.order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    pub(crate) async fn revoked_since(
        &self,
        since: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Certificate>> {
        sqlx::query(
            "SELECT * FROM certificates WHERE status = 'revoked' AND revoked_at >= $1 \
             ORDER BY revoked_at, id LIMIT $2",
        )
        .bind(whole_seconds(since))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(cert_row)
        .collect()
    }

    pub(crate) async fn revoked_entries(
        &self,
        ca_id: &str,
        valid_at: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime, Option<RevocationReason>)>> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, revocation_reason FROM certificates \
             WHERE ca_id = $1 AND status = 'revoked' AND (valid_till IS NULL OR valid_till >= $2) \
             ORDER BY revoked_at, id",
        )
        .bind(ca_id)
        .bind(whole_seconds(valid_at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("serial")?,
                    ts_col(r, "revoked_at")?,
                    opt_name_col(r, "revocation_reason", RevocationReason::from_name)?,
                ))
            })
            .collect()
    }

    pub(crate) async fn is_key_blocked(&self, spki_sha256: &str) -> Result<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = $1)")
                .bind(spki_sha256)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
