//! Orders: creation (with organization, domains, request, certificate and serial in one transaction), reissues and duplicates, mailbox addresses, lists.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn create_order(&self, o: &NewOrder) -> Result<CreatedOrder> {
        todo!("postgres: create_order")
    }

    pub(crate) async fn get_order(&self, account_id: i64, id: i64) -> Result<Option<Order>> {
        todo!("postgres: get_order")
    }

    pub(crate) async fn renewal_order_of(
        &self,
        account_id: i64,
        order_id: i64,
    ) -> Result<Option<i64>> {
        todo!("postgres: renewal_order_of")
    }

    pub(crate) async fn create_extra_certificate(
        &self,
        x: &NewExtraCertificate,
    ) -> Result<CreatedExtraCertificate> {
        todo!("postgres: create_extra_certificate")
    }

    pub(crate) async fn cancel_reissue(
        &self,
        account_id: i64,
        order_id: i64,
        note: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        todo!("postgres: cancel_reissue")
    }

    pub(crate) async fn order_emails(&self, order_id: i64) -> Result<Vec<OrderEmail>> {
        todo!("postgres: order_emails")
    }

    pub(crate) async fn mark_order_email_sent(
        &self,
        order_id: i64,
        email: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        todo!("postgres: mark_order_email_sent")
    }

    pub(crate) async fn set_order_email_validated(
        &self,
        order_id: i64,
        email: &str,
        validated_at: OffsetDateTime,
    ) -> Result<()> {
        todo!("postgres: set_order_email_validated")
    }

    pub(crate) async fn attach_csr(&self, a: &CsrAttachment) -> Result<()> {
        todo!("postgres: attach_csr")
    }

    pub(crate) async fn find_order_by_certificate(
        &self,
        account_id: i64,
        key: &str,
    ) -> Result<Option<Order>> {
        todo!("postgres: find_order_by_certificate")
    }

    pub(crate) async fn list_orders(
        &self,
        account_id: i64,
        q: &OrderQuery,
    ) -> Result<(Vec<Order>, i64)> {
        todo!("postgres: list_orders")
    }

    pub(crate) async fn order_status_changes(
        &self,
        account_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(i64, Option<i64>, String)>> {
        todo!("postgres: order_status_changes")
    }

    pub(crate) async fn set_order_status(
        &self,
        account_id: i64,
        order_id: i64,
        from: &[OrderStatus],
        to: OrderStatus,
    ) -> Result<bool> {
        todo!("postgres: set_order_status")
    }
}
