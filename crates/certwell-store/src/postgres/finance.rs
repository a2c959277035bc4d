//! Account balances and the balance ledger.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn balance(&self, account_id: i64) -> Result<Balance> {
        todo!("postgres: balance")
    }

    pub(crate) async fn deposit(
        &self,
        account_id: i64,
        amount_cents: i64,
        note: &str,
    ) -> Result<i64> {
        todo!("postgres: deposit")
    }

    pub(crate) async fn set_negative_limit(
        &self,
        account_id: i64,
        limit_cents: i64,
        unlimited: bool,
    ) -> Result<()> {
        todo!("postgres: set_negative_limit")
    }
}
