//! Account balances and the balance ledger.

use sqlx::Row;

use super::{now, PgStore};
use crate::changes::Aggregate;
use crate::records::*;
use crate::{Result, StoreError};

impl PgStore {
    pub(crate) async fn balance(&self, account_id: i64) -> Result<Balance> {
        let row = sqlx::query(
            "SELECT balance_cents, negative_limit_cents, unlimited_negative FROM accounts WHERE id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Balance {
            balance_cents: row.try_get(0)?,
            negative_limit_cents: row.try_get(1)?,
            unlimited_negative: row.try_get(2)?,
        })
    }

    pub(crate) async fn deposit(
        &self,
        account_id: i64,
        amount_cents: i64,
        note: &str,
    ) -> Result<i64> {
        // The ledger's amount (a debit is positive).
        let entry = amount_cents
            .checked_neg()
            .ok_or_else(|| StoreError::Database(format!("amount out of range: {amount_cents}")))?;
        let mut tx = self.pool.begin().await?;
        // The account row stays locked until the commit: concurrent debits
        // and deposits of the account (from any instance) queue here, so
        // the check below still holds when the ledger row is written.
        let row = sqlx::query(
            "SELECT balance_cents, negative_limit_cents, unlimited_negative \
             FROM accounts WHERE id = $1 FOR UPDATE",
        )
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let balance: i64 = row.try_get(0)?;
        let limit: i64 = row.try_get(1)?;
        let unlimited: bool = row.try_get(2)?;
        // A deposit is a negative debit; taking money away may not
        // overdraw the account either.
        if entry > 0 && !unlimited && i128::from(balance) - i128::from(entry) < -i128::from(limit) {
            return Err(StoreError::InsufficientFunds);
        }
        // The ledger's trigger applies the amount to the account.
        sqlx::query(
            "INSERT INTO balance_ledger (account_id, order_id, amount_cents, note, created_at) \
             VALUES ($1, NULL, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(entry)
        .bind(note)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let balance: i64 = sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed(Aggregate::Accounts);
        Ok(balance)
    }

    pub(crate) async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE accounts SET negative_limit_cents = $1, unlimited_negative = $2 WHERE id = $3",
        )
        .bind(limit_cents)
        .bind(unlimited)
        .bind(account_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.changed(Aggregate::Accounts);
        Ok(())
    }
}
