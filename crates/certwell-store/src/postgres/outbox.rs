//! The outbox of validation email (see the `outbox` table).

use sqlx::postgres::PgRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::{now, whole_seconds, PgStore};
use crate::records::*;
use crate::Result;

fn mail_row(r: &PgRow) -> Result<OutboxMail> {
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

impl PgStore {
    pub(crate) async fn enqueue_mail(&self, mails: &[NewMail]) -> Result<()> {
        let now = now();
        let mut tx = self.pool.begin().await?;
        for m in mails {
            let (domain_id, order_id, email) = m.target.columns();
            sqlx::query(
                "INSERT INTO outbox (account_id, domain_id, order_id, email, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(m.account_id)
            .bind(domain_id)
            .bind(order_id)
            .bind(email)
            .bind(now)
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
        // Rows another mailer is claiming are skipped, not waited for.
        let mut due = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $3 WHERE id IN (SELECT id FROM outbox \
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2 \
             FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .bind(whole_seconds(now))
        .bind(limit)
        .bind(whole_seconds(hold_until))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(mail_row)
        .collect::<Result<Vec<_>>>()?;
        due.sort_by_key(|m| m.id);
        Ok(due)
    }

    pub(crate) async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET sent_at = $1, next_attempt_at = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(whole_seconds(at))
        .bind(id)
        .execute(&self.pool)
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
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3 AND sent_at IS NULL",
        )
        .bind(error)
        .bind(retry_at.map(whole_seconds))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
