//! Requests (approvals) attached to orders.

use crate::sqlite::name_col;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use super::timestamp::{format_ts, now_ts, opt_ts_col, ts_col};
use super::{scope_json, SqliteStore};
use crate::records::*;
use crate::{Result, StoreError};

pub(super) fn request_row(r: &SqliteRow) -> Result<Request> {
    Ok(Request {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        order_id: r.try_get("order_id")?,
        kind: name_col(r, "type", RequestKind::from_name)?,
        status: name_col(r, "status", RequestStatus::from_name)?,
        requester_id: r.try_get("requester_id")?,
        comments: r.try_get("comments")?,
        processor_id: r.try_get("processor_id")?,
        processor_comment: r.try_get("processor_comment")?,
        date: ts_col(r, "date")?,
        date_processed: opt_ts_col(r, "date_processed")?,
        data: match r.try_get::<Option<String>, _>("data")? {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        },
    })
}

impl SqliteStore {
    pub(crate) async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
        let row = sqlx::query("SELECT * FROM requests WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(request_row).transpose()
    }

    pub(crate) async fn list_requests(
        &self,
        account_id: i64,
        status: Option<RequestStatus>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Request>, i64)> {
        const WHERE: &str =
            "account_id = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR EXISTS \
             (SELECT 1 FROM orders o WHERE o.id = requests.order_id \
              AND o.container_id IN (SELECT value FROM json_each(?))))";
        let scope = container_ids.map(scope_json);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM requests WHERE {WHERE}"
        )))
        .bind(account_id)
        .bind(status.map(RequestStatus::as_str))
        .bind(status.map(RequestStatus::as_str))
        .bind(&scope)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT * FROM requests WHERE {WHERE} ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(account_id)
        .bind(status.map(RequestStatus::as_str))
        .bind(status.map(RequestStatus::as_str))
        .bind(&scope)
        .bind(&scope)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(request_row).collect::<Result<_>>()?, total))
    }

    pub(crate) async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
        let rows = sqlx::query("SELECT * FROM requests WHERE order_id = ? ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_row).collect()
    }

    pub(crate) async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
        let date_processed = format_ts(p.date_processed);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let order_id: Option<i64> = sqlx::query_scalar(
            "UPDATE requests SET status = ?, processor_id = ?, processor_comment = ?, date_processed = ? \
             WHERE id = ? AND account_id = ? AND status = ? RETURNING order_id",
        )
        .bind(p.to.as_str())
        .bind(p.processor_id)
        .bind(&p.processor_comment)
        .bind(&date_processed)
        .bind(p.request_id)
        .bind(p.account_id)
        .bind(p.from.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(order_id) = order_id else {
            return Ok(false);
        };
        // A reissue/duplicate request unlocks (or drops) its certificate; a
        // rejected reissue returns the order to issued.
        sqlx::query(
            "UPDATE certificates SET status = CASE ? WHEN 'approved' THEN 'pending' ELSE 'rejected' END \
             WHERE request_id = ? AND status = 'needs_approval' AND ? IN ('approved', 'rejected')",
        )
        .bind(p.to.as_str())
        .bind(p.request_id)
        .bind(p.to.as_str())
        .execute(&mut *tx)
        .await?;
        if p.to == RequestStatus::Rejected {
            sqlx::query(
                "UPDATE orders SET status = 'issued', updated_at = ? WHERE id = ? AND status = 'reissue_pending' \
                 AND EXISTS (SELECT 1 FROM certificates c WHERE c.request_id = ? AND c.kind = 'reissue')",
            )
            .bind(&date_processed)
            .bind(order_id)
            .bind(p.request_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(status) = &p.order_status {
            // An approved order still waiting for its CSR waits in needs_csr
            // or waiting_pickup (decided here, in the same transaction as a
            // CSR upload would be).
            sqlx::query(
                "UPDATE orders SET status = CASE WHEN ? = 'pending' AND \
                 (SELECT csr FROM certificates c WHERE c.id = orders.certificate_id) = '' \
                 THEN ? ELSE ? END, updated_at = ? WHERE id = ?",
            )
            .bind(status.as_str())
            .bind(p.awaiting_csr_status.as_str())
            .bind(status.as_str())
            .bind(&date_processed)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_request(
        &self,
        account_id: i64,
        order_id: i64,
        kind: RequestKind,
        status: RequestStatus,
        requester_id: i64,
        comments: Option<&str>,
        data: &Value,
    ) -> Result<Request> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(order_id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(requester_id)
        .bind(comments)
        .bind(now_ts())
        .bind(data.to_string())
        .fetch_one(&self.writer)
        .await?;
        self.get_request(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }
}
