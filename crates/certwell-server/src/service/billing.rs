//! Paying for orders, the account balance (`GET /finance/balance`) and
//! alternative order ids: the policy rules of `certwell_policy::payment`
//! applied with the account's settings.

use certwell_api::error::codes;
use certwell_api::order::OrderRequest;
use certwell_policy::common::PaymentMethod;
use certwell_policy::payment::{format_money, validate_payment, PaymentPlan};
use certwell_policy::Product;
use certwell_store::OrderPayment;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::state::AppState;

/// Validates the payment of an order for `product` whose term ends at
/// `term_end` (RFC 3339), and prices it. The account is read only when a
/// setting matters (a profile card, guest access, an alternative id), so
/// a plain balance order costs no extra query; the balance itself is
/// checked by the store in the order's own transaction.
pub async fn order_payment(
    state: &AppState,
    caller: &Caller,
    product: &Product,
    req: &OrderRequest,
    term_end: &str,
    now: OffsetDateTime,
) -> Result<(PaymentPlan, OrderPayment)> {
    let plan = validate_payment(req, now.date())?;
    let needs_account = plan.method == PaymentMethod::Profile
        || plan.enable_guest_access == Some(true)
        || plan.alternative_order_id.is_some();
    let mut unique = false;
    if needs_account {
        let account = state
            .store
            .get_account(caller.account_id)
            .await?
            .ok_or_else(Error::forbidden_invalid_key)?;
        if plan.method == PaymentMethod::Profile
            && account.settings.default_card_last_four.is_none()
        {
            return Err(Error::bad_request(
                codes::NO_DEFAULT_CREDIT_CARD,
                "The field 'payment_method' is 'profile', but the account has no default credit card; use 'balance' or 'card'.",
            ));
        }
        if plan.enable_guest_access == Some(true) && !account.settings.allow_guest_access {
            return Err(Error::bad_request(
                codes::FIELD_NOT_ALLOWED,
                "The field 'enable_guest_access' is not allowed: guest access is disabled for this account.",
            ));
        }
        unique = account.settings.require_unique_alternative_order_id;
    }
    let price = certwell_policy::payment::term_price_cents(
        state.config.yearly_price_cents(product),
        crate::service::order_data::parse_term_end(term_end),
        now,
    );
    let payment = OrderPayment {
        alternative_order_id: plan.alternative_order_id.clone(),
        unique,
        price_cents: price,
        debit_cents: (plan.method == PaymentMethod::Balance).then_some(price),
    };
    Ok((plan, payment))
}

/// `GET /finance/balance` (api-surface.md §9): money as strings; an
/// account without a limit reports `unlimited_negative_balance`.
pub async fn balance(state: &AppState, caller: &Caller) -> Result<Value> {
    let b = state.store.balance(caller.account_id).await?;
    let mut v = json!({
        "balance": format_money(b.balance_cents),
        "currency": "USD",
        "unpaid_invoice_balance": "0.00",
        "used_credit_from_other_containers": "0.00",
    });
    if b.unlimited_negative {
        v["unlimited_negative_balance"] = json!(true);
    } else {
        v["negative_balance_limit"] = json!(format_money(b.negative_limit_cents));
        v["total_available_funds"] = json!(format_money(b.balance_cents + b.negative_limit_cents));
    }
    Ok(v)
}
