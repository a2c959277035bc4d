//! Account balance, its ledger and negative-balance limit.

use sqlx::Row;

use super::rules::Verdict;
use super::timestamp::now_ts;
use super::SqliteStore;
use crate::records::*;
use crate::{Result, StoreError};

impl SqliteStore {
    pub(crate) async fn balance(&self, account_id: i64) -> Result<Balance> {
        let row = sqlx::query(
            "SELECT balance_cents, negative_limit_cents, unlimited_negative FROM accounts WHERE id = ?",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Balance {
            balance_cents: row.try_get(0)?,
            negative_limit_cents: row.try_get(1)?,
            unlimited_negative: row.try_get::<i64, _>(2)? != 0,
        })
    }

    pub(crate) async fn deposit(
        &self,
        account_id: i64,
        amount_cents: i64,
        note: &str,
    ) -> Result<i64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        // A deposit is a negative debit; taking money away may not
        // overdraw the account either.
        let mut verdict = Verdict::default();
        verdict.debit(account_id, -amount_cents);
        verdict.check(&mut tx).await?;
        sqlx::query(
            "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) VALUES (?, NULL, ?, ?, ?)",
        )
        .bind(account_id)
        .bind(-amount_cents)
        .bind(note)
        .bind(now_ts())
        .execute(&mut *tx)
        .await?;
        let balance: i64 = sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(balance)
    }

    pub(crate) async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE accounts SET negative_limit_cents = ?, unlimited_negative = ? WHERE id = ?",
        )
        .bind(limit_cents)
        .bind(i64::from(unlimited))
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
