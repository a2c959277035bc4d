//! Approval requests.

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use time::OffsetDateTime;

use super::{name_col, now, whole_seconds, PgStore};
use crate::records::*;
use crate::Result;

fn request_row(r: &PgRow) -> Result<Request> {
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
        date: whole_seconds(r.try_get::<OffsetDateTime, _>("date")?),
        date_processed: r
            .try_get::<Option<OffsetDateTime>, _>("date_processed")?
            .map(whole_seconds),
        data: r.try_get::<Option<Json<Value>>, _>("data")?.map(|j| j.0),
    })
}

impl PgStore {
    pub(crate) async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
        let row = sqlx::query("SELECT * FROM requests WHERE id = $1 AND account_id = $2")
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
        const WHERE: &str = "account_id = $1 AND ($2::text IS NULL OR status = $2) \
             AND ($3::bigint[] IS NULL OR EXISTS (SELECT 1 FROM orders o \
             WHERE o.id = requests.order_id AND o.container_id = ANY($3)))";
        let status = status.map(RequestStatus::as_str);
        let scope: Option<Vec<i64>> = container_ids.map(<[i64]>::to_vec);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM requests WHERE {WHERE}"
        )))
        .bind(account_id)
        .bind(status)
        .bind(&scope)
        .fetch_one(&self.pool)
        .await?;
        // As SQLite: a negative limit is no limit, a negative offset none.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM requests WHERE {WHERE} ORDER BY id LIMIT $4 OFFSET $5"
        )))
        .bind(account_id)
        .bind(status)
        .bind(&scope)
        .bind((limit >= 0).then_some(limit))
        .bind(offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(request_row).collect::<Result<_>>()?, total))
    }

    pub(crate) async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
        let rows = sqlx::query("SELECT * FROM requests WHERE order_id = $1 ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_row).collect()
    }

    pub(crate) async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
        let date_processed = whole_seconds(p.date_processed);
        let mut tx = self.pool.begin().await?;
        // The order row is locked first, as every write of an order and its
        // requests does: concurrent writes of the order (a CSR upload, a
        // cancelled reissue, a status change) from any instance are
        // serialized with this one, and the CSR read below is current.
        let order_id: Option<i64> = sqlx::query_scalar(
            "SELECT o.id FROM orders o JOIN requests r ON r.order_id = o.id \
             WHERE r.id = $1 AND r.account_id = $2 FOR UPDATE OF o",
        )
        .bind(p.request_id)
        .bind(p.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        if order_id.is_none() {
            return Ok(false);
        }
        // Only from `from`: a request processed meanwhile is left alone.
        let order_id: Option<i64> = sqlx::query_scalar(
            "UPDATE requests SET status = $1, processor_id = $2, processor_comment = $3, date_processed = $4 \
             WHERE id = $5 AND account_id = $6 AND status = $7 RETURNING order_id",
        )
        .bind(p.to.as_str())
        .bind(p.processor_id)
        .bind(&p.processor_comment)
        .bind(date_processed)
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
            "UPDATE certificates SET status = CASE $1::text WHEN 'approved' THEN 'pending' ELSE 'rejected' END \
             WHERE request_id = $2 AND status = 'needs_approval' AND $1::text IN ('approved', 'rejected')",
        )
        .bind(p.to.as_str())
        .bind(p.request_id)
        .execute(&mut *tx)
        .await?;
        if p.to == RequestStatus::Rejected {
            sqlx::query(
                "UPDATE orders SET status = 'issued', updated_at = $1 WHERE id = $2 AND status = 'reissue_pending' \
                 AND EXISTS (SELECT 1 FROM certificates c WHERE c.request_id = $3 AND c.kind = 'reissue')",
            )
            .bind(date_processed)
            .bind(order_id)
            .bind(p.request_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(status) = &p.order_status {
            // An approved order still waiting for its CSR waits in needs_csr
            // or waiting_pickup (decided here, under the order's lock, as a
            // CSR upload would be).
            sqlx::query(
                "UPDATE orders SET status = CASE WHEN $1::text = 'pending' AND \
                 (SELECT csr FROM certificates c WHERE c.id = orders.certificate_id) = '' \
                 THEN $2 ELSE $1::text END, updated_at = $3 WHERE id = $4",
            )
            .bind(status.as_str())
            .bind(p.awaiting_csr_status.as_str())
            .bind(date_processed)
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
        let row = sqlx::query(
            "INSERT INTO requests (account_id, order_id, type, status, requester_id, comments, date, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(account_id)
        .bind(order_id)
        .bind(kind.as_str())
        .bind(status.as_str())
        .bind(requester_id)
        .bind(comments)
        .bind(now())
        .bind(Json(data))
        .fetch_one(&self.pool)
        .await?;
        request_row(&row)
    }
}
