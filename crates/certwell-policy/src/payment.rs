//! How an order is paid, and the client's alternative order id: the
//! parameters every order endpoint shares (`payment_method`,
//! `credit_card`, `billing_address`, `vat_number`, `alternative_order_id`,
//! `enable_guest_access`).
//!
//! A card is checked (Luhn, expiry, CVV shape) and then forgotten: the plan
//! keeps only its last four digits, never the number or the CVV.

use certwell_api::error::codes;
use certwell_api::order::{BillingAddressInput, CreditCardInput, OrderRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use crate::catalog::{Family, Product, ValidationLevel};
use crate::common::{payment_method, PaymentMethod};
use crate::country::is_country_code;
use crate::error::{optional_str, optional_text, required_str, required_text, Result};
use crate::PolicyError;

pub const MAX_ALTERNATIVE_ORDER_ID: usize = 64;

/// What is kept of a card: enough to show it, nothing to charge it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub last_four: String,
    pub expiration_month: u8,
    pub expiration_year: i32,
    pub cardholder_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAddress {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// ISO 3166-1 alpha-2, lower case.
    pub country: String,
}

/// An order's payment, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPlan {
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<BillingAddress>,
    /// Kept for card and profile payments only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_guest_access: Option<bool>,
}

fn card_error(field: &str, why: &str) -> PolicyError {
    PolicyError::new(
        codes::INVALID_CREDIT_CARD,
        format!("The field '{field}' {why}."),
    )
}

/// The Luhn (mod 10) check of a card number's digits.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// An integer given as a JSON number or a string of digits.
fn int_field(v: &Option<Value>, field: &str) -> Result<(i64, usize)> {
    match v {
        None | Some(Value::Null) => Err(PolicyError::missing(field)),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|i| (i, i.to_string().len()))
            .ok_or_else(|| card_error(field, "must be an integer")),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok((
                s.parse()
                    .map_err(|_| card_error(field, "must be an integer"))?,
                s.len(),
            ))
        }
        Some(_) => Err(card_error(field, "must be an integer")),
    }
}

fn card(c: &CreditCardInput, today: Date) -> Result<CardSummary> {
    let raw = required_str(&c.number, "credit_card.number")?;
    let digits: String = raw.chars().filter(|ch| !matches!(ch, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(card_error("credit_card.number", "must be 12 to 19 digits"));
    }
    if !luhn_ok(&digits) {
        return Err(card_error(
            "credit_card.number",
            "is not a valid card number (Luhn check)",
        ));
    }
    let (month, _) = int_field(&c.expiration_month, "credit_card.expiration_month")?;
    if !(1..=12).contains(&month) {
        return Err(card_error(
            "credit_card.expiration_month",
            "must be a month from 01 to 12",
        ));
    }
    let (year, year_len) = int_field(&c.expiration_year, "credit_card.expiration_year")?;
    if year_len != 4 {
        return Err(card_error(
            "credit_card.expiration_year",
            "must be a four-digit year",
        ));
    }
    let (ty, tm) = (i64::from(today.year()), i64::from(u8::from(today.month())));
    if year < ty || (year == ty && month < tm) {
        return Err(card_error(
            "credit_card.expiration_year",
            "is in the past: the card has expired",
        ));
    }
    let cvv_ok = match &c.cvv {
        Some(Value::String(s)) => {
            (3..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        }
        Some(Value::Number(n)) => n.as_u64().is_some_and(|v| (100..=9999).contains(&v)),
        None | Some(Value::Null) => return Err(PolicyError::missing("credit_card.cvv")),
        Some(_) => false,
    };
    if !cvv_ok {
        return Err(card_error(
            "credit_card.cvv",
            "must be a three- or four-digit number",
        ));
    }
    Ok(CardSummary {
        last_four: digits[digits.len() - 4..].to_string(),
        expiration_month: month as u8,
        expiration_year: year as i32,
        cardholder_name: required_text(&c.cardholder_name, "credit_card.cardholder_name", 128)?,
    })
}

/// Countries whose addresses need a state and a postal code.
const STATE_AND_ZIP_REQUIRED: &[&str] = &["us", "ca", "au"];

fn billing_address(b: &BillingAddressInput) -> Result<BillingAddress> {
    let country = required_text(&b.country, "billing_address.country", 2)?.to_ascii_lowercase();
    if !is_country_code(&country) {
        return Err(PolicyError::new(
            codes::INVALID_BILLING_ADDRESS,
            format!("The field 'billing_address.country' must be an ISO 3166-1 alpha-2 country code; got '{country}'."),
        ));
    }
    let state = optional_text(&b.state, "billing_address.state", 64)?;
    let zip = optional_text(&b.zip, "billing_address.zip", 16)?;
    if STATE_AND_ZIP_REQUIRED.contains(&country.as_str()) {
        if state.is_none() {
            return Err(PolicyError::missing("billing_address.state"));
        }
        if zip.is_none() {
            return Err(PolicyError::missing("billing_address.zip"));
        }
    }
    Ok(BillingAddress {
        address: required_text(&b.address, "billing_address.address", 128)?,
        address2: optional_text(&b.address2, "billing_address.address2", 128)?,
        city: required_text(&b.city, "billing_address.city", 64)?,
        state,
        zip,
        country,
    })
}

/// Validates the payment parameters and `alternative_order_id` /
/// `enable_guest_access` of any order. `today` decides card expiry.
pub fn validate_payment(req: &OrderRequest, today: Date) -> Result<PaymentPlan> {
    let method = payment_method(req)?;
    let (card, billing) = if method == PaymentMethod::Card {
        let c = req
            .credit_card
            .as_ref()
            .ok_or_else(|| PolicyError::missing("credit_card"))?;
        let b = req
            .billing_address
            .as_ref()
            .ok_or_else(|| PolicyError::missing("billing_address"))?;
        (Some(card(c, today)?), Some(billing_address(b)?))
    } else {
        (None, None)
    };
    let vat_number = match method {
        PaymentMethod::Card | PaymentMethod::Profile => {
            optional_text(&req.vat_number, "vat_number", 32)?
        }
        PaymentMethod::Balance => None,
    };
    let alternative_order_id = match optional_str(&req.alternative_order_id) {
        None => None,
        Some(a) => {
            if a.len() > MAX_ALTERNATIVE_ORDER_ID
                || !a
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(PolicyError::new(
                    codes::INVALID_ALTERNATIVE_ORDER_ID,
                    format!("The field 'alternative_order_id' must be at most {MAX_ALTERNATIVE_ORDER_ID} letters and digits (and - _ .)."),
                ));
            }
            Some(a.to_string())
        }
    };
    let enable_guest_access = match req.enable_guest_access {
        None => None,
        Some(0) => Some(false),
        Some(1) => Some(true),
        Some(v) => {
            return Err(PolicyError::invalid(
                "enable_guest_access",
                format!("must be 0 or 1; got {v}"),
            ))
        }
    };
    Ok(PaymentPlan {
        method,
        card,
        billing_address: billing,
        vat_number,
        alternative_order_id,
        enable_guest_access,
    })
}

/// certwell's default yearly list price of a product, in cents (the
/// vendor's prices are not public; an operator sets real ones with the
/// `prices` table of the configuration).
pub fn default_yearly_price_cents(p: &Product) -> i64 {
    let base = match (p.family, p.validation) {
        (Family::Tls, ValidationLevel::Ev) => 40_000,
        (Family::Tls, _) => 20_000,
        (Family::DocumentSigning, _) => 40_000,
        _ => 3_000,
    };
    let names = if p.name_id.contains("multi_domain") {
        10_000
    } else {
        0
    };
    let wildcard = if p.wildcard == crate::WildcardRule::RequiredInCommonName {
        40_000
    } else {
        0
    };
    let securesite = if p.group_name.starts_with("securesite") {
        10_000
    } else {
        0
    };
    base + names + wildcard + securesite
}

/// The price of an order: the yearly price times the years the order
/// covers, `term_days` whole days (a year is up to 366 days, so leap years
/// cost nothing extra; a part year counts as a year).
pub fn order_price_cents(yearly_cents: i64, term_days: i64) -> i64 {
    let years = ((term_days.max(1) + 365) / 366).max(1);
    yearly_cents * years
}

/// The price of an order whose term runs from `now` to `term_end` (an
/// unknown end counts as one year).
pub fn term_price_cents(
    yearly_cents: i64,
    term_end: Option<time::OffsetDateTime>,
    now: time::OffsetDateTime,
) -> i64 {
    let days = term_end.map_or(365, |end| (end - now).whole_days());
    order_price_cents(yearly_cents, days)
}

/// Cents as the vendor writes money: "454.00", "-1000.70".
pub fn format_money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// "454", "454.5", "454.00" → cents.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 12
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut cents: i64 = whole.parse::<i64>().ok()? * 100;
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        cents += if frac.len() == 1 { f * 10 } else { f };
    }
    Some(if neg { -cents } else { cents })
}

#[cfg(test)]
mod tests;
