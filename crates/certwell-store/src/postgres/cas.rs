//! CAs, CRL numbers and the serial ledger.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
        todo!("postgres: insert_ca")
    }

    pub(crate) async fn list_cas(&self) -> Result<Vec<CaRecord>> {
        todo!("postgres: list_cas")
    }

    pub(crate) async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
        todo!("postgres: next_crl_number")
    }

    pub(crate) async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
        todo!("postgres: reserve_serials")
    }
}
