//! Certificates: issuance claims and their results, lookups for OCSP and
//! CRLs, revocation and blocked keys.

use crate::sqlite::name_col;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use super::rules::Verdict;
use super::timestamp::{format_ts, now_ts, opt_ts_col, parse_ts, ts_col};
use super::{opt_name_col, SqliteStore};
use crate::batch::Bind;
use crate::records::*;
use crate::{Conflict, Result};

pub(super) fn cert_row(r: &SqliteRow) -> Result<Certificate> {
    let names: String = r.try_get("dns_names")?;
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
        dns_names: serde_json::from_str(&names)?,
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
            .try_get::<Option<String>, _>("data")?
            .map(|s| serde_json::from_str(&s))
            .transpose()?,
    })
}

/// SQL condition: the order of `certificates` row is in the status in
/// which that kind of certificate may be issued.
pub(super) const ISSUABLE_ORDER: &str =
    "EXISTS (SELECT 1 FROM orders o WHERE o.id = certificates.order_id AND \
     ((certificates.kind = 'primary' AND o.status = 'pending') \
      OR (certificates.kind = 'reissue' AND o.status = 'reissue_pending') \
      OR (certificates.kind = 'duplicate' AND o.status = 'issued')))";

impl SqliteStore {
    pub(crate) async fn get_certificate(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Certificate>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cert_row).transpose()
    }

    pub(crate) async fn certificates_for_order(&self, order_id: i64) -> Result<Vec<Certificate>> {
        let rows = sqlx::query("SELECT * FROM certificates WHERE order_id = ? ORDER BY id")
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
             AND kind IN ('reissue', 'duplicate') AND id > ? ORDER BY id LIMIT ?",
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
            "SELECT account_id, id FROM orders WHERE status = 'pending' AND updated_at < ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(format_ts(updated_before))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    pub(crate) async fn claim_and_reserve_serial(
        &self,
        ca_id: &str,
        serial_hex: &str,
        certificate_id: i64,
    ) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(AssertSqlSafe(format!(
            "UPDATE certificates SET status = 'issuing' WHERE id = ? AND status = 'pending' AND {ISSUABLE_ORDER}"
        )))
            .bind(certificate_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(Conflict::CertificateNotPending { certificate_id }.into());
        }
        let mut verdict = Verdict::default();
        verdict.serial_in_use(ca_id, serial_hex);
        verdict.check(&mut tx).await?;
        sqlx::query(
            "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(ca_id)
        .bind(serial_hex)
        .bind(certificate_id)
        .bind(now_ts())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn release_claim(&self, certificate_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE certificates SET status = 'pending' WHERE id = ? AND status = 'issuing'",
        )
        .bind(certificate_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn reset_stale_claims(&self, claimed_before: OffsetDateTime) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE certificates SET status = 'pending' WHERE status = 'issuing' \
             AND (claimed_at IS NULL OR claimed_at < ?)",
        )
        .bind(format_ts(claimed_before))
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    pub(crate) async fn record_issued(&self, c: &IssuedCertificate) -> Result<()> {
        let sql = "UPDATE certificates SET ca_id = ?, serial = ?, status = 'issued', thumbprint = ?, der = ?, \
            valid_from = ?, valid_till = ?, date_issued = ? WHERE id = ? AND status = 'issuing' \
            AND claim_serial = ?;
            SELECT changes();
            UPDATE orders SET status = 'issued', updated_at = ?, certificate_id = ? WHERE id = ?
                AND EXISTS (SELECT 1 FROM certificates WHERE id = ? AND status = 'issued' AND der IS NOT NULL
                    AND kind IN ('primary', 'reissue'));"
            .to_string();
        let binds = vec![
            Bind::Text(c.ca_id.clone()),
            Bind::Text(c.serial_hex.clone()),
            Bind::Text(c.thumbprint.clone()),
            Bind::Blob(c.der.clone()),
            Bind::Text(format_ts(c.valid_from)),
            Bind::Text(format_ts(c.valid_till)),
            Bind::Text(format_ts(c.date_issued)),
            Bind::I64(c.certificate_id),
            Bind::Text(c.serial_hex.clone()),
            Bind::Text(format_ts(c.date_issued)),
            Bind::I64(c.certificate_id),
            Bind::I64(c.order_id),
            Bind::I64(c.certificate_id),
        ];
        let row = self.submit(sql, binds).await?;
        if row.first().copied().flatten() == Some(1) {
            Ok(())
        } else {
            Err(Conflict::CertificateNotIssuing {
                certificate_id: c.certificate_id,
            }
            .into())
        }
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
        let row =
            sqlx::query("SELECT * FROM certificates WHERE account_id = ? AND serial = ? LIMIT 1")
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
        let row = sqlx::query("SELECT * FROM certificates WHERE ca_id = ? AND serial = ?")
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
        let ends: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS ( \
                 SELECT id FROM containers WHERE id = ? AND account_id = ? \
                 UNION SELECT c.id FROM containers c JOIN sub ON c.parent_id = sub.id) \
             SELECT c.valid_till FROM orders o JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.account_id = ? AND o.container_id IN (SELECT id FROM sub) AND o.status = 'issued' \
               AND c.status = 'issued' AND c.valid_till >= ? AND c.valid_till < ?",
        )
        .bind(container_id)
        .bind(account_id)
        .bind(account_id)
        .bind(format_ts(from))
        .bind(format_ts(until))
        .fetch_all(&self.pool)
        .await?;
        ends.iter().map(|t| parse_ts("valid_till", t)).collect()
    }

    pub(crate) async fn revoke_certificates(&self, r: &Revocation) -> Result<Vec<Certificate>> {
        let revoked_at = format_ts(r.revoked_at);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(RequestApproval {
            request_id: req_id,
            processor_id: processor,
            processor_comment: comment,
        }) = &r.approve_request
        {
            let n = sqlx::query(
                "UPDATE requests SET status = 'approved', processor_id = ?, processor_comment = ?, date_processed = ? \
                 WHERE id = ? AND account_id = ? AND status IN ('pending', 'submitted')",
            )
            .bind(processor)
            .bind(comment)
            .bind(&revoked_at)
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
                "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? \
                 WHERE id = ? AND account_id = ? AND status = 'issued' RETURNING *",
            )
            .bind(&revoked_at)
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
                        "INSERT INTO blocked_keys (spki_sha256, reason, created_at) VALUES (?, ?, ?) \
                         ON CONFLICT (spki_sha256) DO NOTHING",
                    )
                    .bind(h)
                    .bind(r.reason.as_str())
                    .bind(&revoked_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            // The order is revoked once none of its certificates is valid.
            sqlx::query(
                "UPDATE orders SET status = 'revoked', updated_at = ? WHERE id = ? \
                 AND NOT EXISTS (SELECT 1 FROM certificates WHERE order_id = ? AND status IN ('issued', 'issuing'))",
            )
            .bind(&revoked_at)
            .bind(c.order_id)
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
            "SELECT * FROM certificates WHERE status = 'revoked' AND revoked_at >= ? \
             ORDER BY revoked_at, id LIMIT ?",
        )
        .bind(format_ts(since))
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
             WHERE ca_id = ? AND status = 'revoked' AND (valid_till IS NULL OR valid_till >= ?) \
             ORDER BY revoked_at, id",
        )
        .bind(ca_id)
        .bind(format_ts(valid_at))
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocked_keys WHERE spki_sha256 = ?")
            .bind(spki_sha256)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }
}
