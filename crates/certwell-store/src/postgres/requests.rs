//! Approval requests.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn get_request(&self, account_id: i64, id: i64) -> Result<Option<Request>> {
        todo!("postgres: get_request")
    }

    pub(crate) async fn list_requests(
        &self,
        account_id: i64,
        status: Option<RequestStatus>,
        container_ids: Option<&[i64]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Request>, i64)> {
        todo!("postgres: list_requests")
    }

    pub(crate) async fn requests_for_order(&self, order_id: i64) -> Result<Vec<Request>> {
        todo!("postgres: requests_for_order")
    }

    pub(crate) async fn process_request(&self, p: &ProcessRequest) -> Result<bool> {
        todo!("postgres: process_request")
    }

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
        todo!("postgres: create_request")
    }
}
