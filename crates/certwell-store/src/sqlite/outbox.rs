//! The outbox of validation email (see the `outbox` table).

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::timestamp::{format_opt_ts, format_ts, now_ts};
use super::SqliteStore;
use crate::records::*;
use crate::Result;

fn mail_row(r: &SqliteRow) -> Result<OutboxMail> {
    let id: i64 = r.try_get("id")?;
    let target = MailTarget::from_columns(
        id,
        r.try_get("domain_id")?,
        r.try_get("order_id")?,
        r.try_get("email")?,
    )?;
    Ok(OutboxMail {
        id,
        account_id: r.try_get("account_id")?,
        target,
        attempts: r.try_get("attempts")?,
    })
}

impl SqliteStore {
    pub(crate) async fn enqueue_mail(&self, mails: &[NewMail]) -> Result<()> {
        let now = now_ts();
        let mut tx = self.writer.begin().await?;
        for m in mails {
            let (domain_id, order_id, email) = m.target.columns();
            sqlx::query(
                "INSERT INTO outbox (account_id, domain_id, order_id, email, created_at, next_attempt_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(m.account_id)
            .bind(domain_id)
            .bind(order_id)
            .bind(email)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        limit: i64,
        hold_until: OffsetDateTime,
    ) -> Result<Vec<OutboxMail>> {
        let mut due = sqlx::query(
            "UPDATE outbox SET next_attempt_at = ? WHERE id IN (SELECT id FROM outbox \
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?) \
             RETURNING *",
        )
        .bind(format_ts(hold_until))
        .bind(format_ts(now))
        .bind(limit)
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(mail_row)
        .collect::<Result<Vec<_>>>()?;
        due.sort_by_key(|m| m.id);
        Ok(due)
    }

    pub(crate) async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET sent_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ?",
        )
        .bind(format_ts(at))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
             WHERE id = ? AND sent_at IS NULL",
        )
        .bind(error)
        .bind(format_opt_ts(retry_at))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
