//! `POST /order/certificate/{product}`: the family's rules make the plan,
//! then [`crate::service::intake::place`] runs the one sequence.

use crate::error::Result;
use crate::extract::Caller;
use crate::service::intake::{place, TlsOrder};
use crate::state::AppState;
use certwell_api::order::{OrderCreated, OrderRequest};
use certwell_policy::catalog::{Family, Product};
use certwell_policy::tls::validate_tls_order;
use std::sync::Arc;
use time::OffsetDateTime;

/// Places an order for `product` (`POST /order/certificate/{product}`):
/// the family's rules make its plan, then every family goes through the
/// one sequence of [`place`].
pub async fn create_order(
    state: &Arc<AppState>,
    caller: &Caller,
    product: &'static Product,
    req: OrderRequest,
) -> Result<OrderCreated> {
    let now = OffsetDateTime::now_utc();
    if product.family == Family::Tls {
        let plan = TlsOrder(validate_tls_order(product, &req, now)?);
        place(state, caller, product, &req, plan, now).await
    } else {
        let plan = crate::service::smime::plan_order(state, caller, product, &req, now).await?;
        place(state, caller, product, &req, plan, now).await
    }
}
