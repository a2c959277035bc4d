use super::*;
use crate::catalog::find_product;
use serde_json::json;
use time::macros::{date, datetime};

const TODAY: Date = date!(2026 - 11 - 23);

fn check(body: Value) -> Result<PaymentPlan> {
    let req: OrderRequest = serde_json::from_value(body).unwrap();
    validate_payment(&req, TODAY)
}

fn card_body() -> Value {
    json!({
        "payment_method": "card",
        "credit_card": {"number": "4111 1111 1111 1111", "expiration_month": 1, "expiration_year": 2027,
            "cvv": 333, "cardholder_name": "Jane Doe"},
        "billing_address": {"address": "1 Main St", "city": "Lindon", "state": "Utah", "zip": "84042", "country": "US"},
        "vat_number": "EU123"
    })
}

fn with(mut v: Value, path: &[&str], x: Value) -> Value {
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    if x.is_null() {
        cur.as_object_mut().unwrap().remove(path[path.len() - 1]);
    } else {
        cur[path[path.len() - 1]] = x;
    }
    v
}

#[test]
fn luhn() {
    assert!(luhn_ok("4111111111111111"));
    assert!(luhn_ok("5555555555554444"));
    assert!(luhn_ok("378282246310005"));
    assert!(!luhn_ok("4111111111111112"));
}

#[test]
fn card_keeps_only_the_last_four_digits() {
    let p = check(card_body()).unwrap();
    assert_eq!(p.method, crate::common::PaymentMethod::Card);
    let c = p.card.unwrap();
    assert_eq!(c.last_four, "1111");
    assert_eq!((c.expiration_month, c.expiration_year), (1, 2027));
    let stored = serde_json::to_string(&c).unwrap();
    assert!(
        !stored.contains("4111111111111111") && !stored.contains("333"),
        "{stored}"
    );
    assert_eq!(p.vat_number.as_deref(), Some("EU123"));
    assert_eq!(p.billing_address.unwrap().country, "us");
    // Debug output of the request never shows the number or the CVV.
    let req: OrderRequest = serde_json::from_value(card_body()).unwrap();
    let dbg = format!("{req:?}");
    assert!(!dbg.contains("4111") && !dbg.contains("333"), "{dbg}");
    // Strings for month, year and CVV; the current month is still valid.
    let p = check(with(
        with(
            with(
                card_body(),
                &["credit_card", "expiration_month"],
                json!("11"),
            ),
            &["credit_card", "expiration_year"],
            json!("2026"),
        ),
        &["credit_card", "cvv"],
        json!("0123"),
    ))
    .unwrap();
    assert_eq!(p.card.unwrap().expiration_month, 11);
}

#[test]
fn card_rules() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(card_body(), &["credit_card"], Value::Null),
            "missing_required_field",
            "credit_card",
        ),
        (
            with(card_body(), &["billing_address"], Value::Null),
            "missing_required_field",
            "billing_address",
        ),
        (
            with(
                card_body(),
                &["credit_card", "number"],
                json!("4111111111111112"),
            ),
            "invalid_credit_card",
            "Luhn",
        ),
        (
            with(card_body(), &["credit_card", "number"], json!("41x1")),
            "invalid_credit_card",
            "credit_card.number",
        ),
        (
            with(card_body(), &["credit_card", "expiration_month"], json!(13)),
            "invalid_credit_card",
            "credit_card.expiration_month",
        ),
        (
            with(card_body(), &["credit_card", "expiration_month"], json!(0)),
            "invalid_credit_card",
            "credit_card.expiration_month",
        ),
        (
            with(card_body(), &["credit_card", "expiration_year"], json!(27)),
            "invalid_credit_card",
            "four-digit",
        ),
        (
            with(
                card_body(),
                &["credit_card", "expiration_year"],
                json!(2025),
            ),
            "invalid_credit_card",
            "expired",
        ),
        (
            with(
                with(
                    card_body(),
                    &["credit_card", "expiration_year"],
                    json!(2026),
                ),
                &["credit_card", "expiration_month"],
                json!(10),
            ),
            "invalid_credit_card",
            "expired",
        ),
        (
            with(card_body(), &["credit_card", "cvv"], json!(12)),
            "invalid_credit_card",
            "credit_card.cvv",
        ),
        (
            with(card_body(), &["credit_card", "cvv"], json!("12345")),
            "invalid_credit_card",
            "credit_card.cvv",
        ),
        (
            with(card_body(), &["credit_card", "cvv"], Value::Null),
            "missing_required_field",
            "credit_card.cvv",
        ),
        (
            with(
                card_body(),
                &["credit_card", "cardholder_name"],
                Value::Null,
            ),
            "missing_required_field",
            "credit_card.cardholder_name",
        ),
        (
            with(card_body(), &["billing_address", "city"], Value::Null),
            "missing_required_field",
            "billing_address.city",
        ),
        (
            with(card_body(), &["billing_address", "address"], Value::Null),
            "missing_required_field",
            "billing_address.address",
        ),
        (
            with(card_body(), &["billing_address", "country"], json!("XX")),
            "invalid_billing_address",
            "billing_address.country",
        ),
        (
            with(card_body(), &["billing_address", "zip"], Value::Null),
            "missing_required_field",
            "billing_address.zip",
        ),
        (
            with(card_body(), &["payment_method"], json!("bitcoin")),
            "invalid_payment_method",
            "payment_method",
        ),
        (
            with(
                card_body(),
                &["alternative_order_id"],
                json!("a".repeat(65)),
            ),
            "invalid_alternative_order_id",
            "alternative_order_id",
        ),
        (
            with(card_body(), &["alternative_order_id"], json!("has space")),
            "invalid_alternative_order_id",
            "alternative_order_id",
        ),
        (
            with(card_body(), &["enable_guest_access"], json!(2)),
            "invalid_value",
            "enable_guest_access",
        ),
    ];
    for (body, code, needle) in cases {
        let e = check(body).unwrap_err();
        assert_eq!(e.code, code, "{needle}: {}", e.message);
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
    }
    // State and zip are optional outside the US, Canada and Australia.
    let de = with(
        with(
            with(card_body(), &["billing_address", "country"], json!("de")),
            &["billing_address", "state"],
            Value::Null,
        ),
        &["billing_address", "zip"],
        Value::Null,
    );
    assert!(check(de).is_ok());
}

#[test]
fn balance_and_profile() {
    let p = check(json!({})).unwrap();
    assert_eq!(p.method, crate::common::PaymentMethod::Balance);
    assert!(p.card.is_none() && p.vat_number.is_none());
    // vat_number is kept only for card and profile payments; card data
    // sent with another method is not looked at.
    let p = check(
        json!({"payment_method": "balance", "vat_number": "X1", "credit_card": {"number": "1"}}),
    )
    .unwrap();
    assert_eq!(p.vat_number, None);
    assert!(p.card.is_none());
    let p = check(json!({"payment_method": "Profile", "vat_number": "X1"})).unwrap();
    assert_eq!(
        (p.method.as_str(), p.vat_number.as_deref()),
        ("profile", Some("X1"))
    );
    let p = check(json!({"alternative_order_id": "ORDER-2026.11_a1", "enable_guest_access": 1}))
        .unwrap();
    assert_eq!(p.alternative_order_id.as_deref(), Some("ORDER-2026.11_a1"));
    assert_eq!(p.enable_guest_access, Some(true));
}

#[test]
fn prices_and_money() {
    let ov = find_product("ssl_plus").unwrap();
    let ev = find_product("ssl_ev_plus").unwrap();
    let wc = find_product("ssl_wildcard").unwrap();
    let md = find_product("ssl_multi_domain").unwrap();
    assert!(default_yearly_price_cents(ev) > default_yearly_price_cents(ov));
    assert!(default_yearly_price_cents(wc) > default_yearly_price_cents(ov));
    assert!(default_yearly_price_cents(md) > default_yearly_price_cents(ov));
    assert_eq!(order_price_cents(20_000, 365), 20_000);
    assert_eq!(order_price_cents(20_000, 366), 20_000, "a leap year");
    assert_eq!(order_price_cents(20_000, 367), 40_000);
    assert_eq!(order_price_cents(20_000, 30), 20_000);
    assert_eq!(order_price_cents(20_000, 0), 20_000);
    assert_eq!(
        order_price_cents(20_000, 731),
        40_000,
        "two years with a leap day"
    );
    assert_eq!(order_price_cents(20_000, 3 * 365 + 1), 60_000);
    let now = datetime!(2026-12-01 12:00 UTC);
    assert_eq!(
        term_price_cents(20_000, Some(datetime!(2028-12-01 11:59:59 UTC)), now),
        40_000,
        "two years over a leap day"
    );
    assert_eq!(
        term_price_cents(20_000, Some(datetime!(2027-12-01 11:59:59 UTC)), now),
        20_000
    );
    assert_eq!(term_price_cents(20_000, None, now), 20_000);
    assert_eq!(format_money(45_400), "454.00");
    assert_eq!(format_money(-100_070), "-1000.70");
    assert_eq!(format_money(5), "0.05");
    assert_eq!(parse_money("454"), Some(45_400));
    assert_eq!(parse_money("454.5"), Some(45_450));
    assert_eq!(parse_money("-1000.70"), Some(-100_070));
    for bad in ["", "1.234", "abc", "1e3", "-", "."] {
        assert_eq!(parse_money(bad), None, "{bad}");
    }
}
