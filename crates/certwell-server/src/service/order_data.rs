//! The document stored with every order (`orders.data`): the plan the
//! family's rules made, and what intake decided (issuing CA, key facts,
//! payment, order-level contacts). Read back by issuance, views and the
//! lifecycle operations.

use crate::error::{Error, Result};
use certwell_policy::smime::SmimeOrderPlan;
use certwell_policy::tls::TlsOrderPlan;
use certwell_policy::validity::PlanTerm;
use certwell_store::Order;
use time::OffsetDateTime;

/// The end of an order term as a plan keeps it (RFC 3339 text in the
/// order's document); `None` when it cannot be read.
pub fn parse_term_end(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// What an order asked for, per product family. Stored untagged, so
/// orders written before S/MIME existed still read as TLS plans.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum OrderPlan {
    Tls(Box<TlsOrderPlan>),
    Smime(Box<SmimeOrderPlan>),
}

impl OrderPlan {
    pub fn signature_hash(&self) -> &str {
        match self {
            OrderPlan::Tls(p) => &p.signature_hash,
            OrderPlan::Smime(p) => &p.signature_hash,
        }
    }
    /// The order's term (the end as RFC 3339 text, see
    /// [`parse_term_end`]).
    pub fn term(&self) -> &dyn PlanTerm {
        match self {
            OrderPlan::Tls(p) => p.as_ref(),
            OrderPlan::Smime(p) => p.as_ref(),
        }
    }
    pub fn csr(&self) -> Option<&str> {
        match self {
            OrderPlan::Tls(p) => Some(&p.csr),
            OrderPlan::Smime(p) => p.csr.as_deref(),
        }
    }
    pub fn custom_fields(&self) -> &[certwell_policy::common::CustomFieldValue] {
        match self {
            OrderPlan::Tls(p) => &p.custom_fields,
            OrderPlan::Smime(p) => &p.common.custom_fields,
        }
    }
    pub fn renewal_of_order_id(&self) -> Option<i64> {
        match self {
            OrderPlan::Tls(p) => p.renewal_of_order_id,
            OrderPlan::Smime(p) => p.common.renewal_of_order_id,
        }
    }
    /// Automatic renewals asked for (TLS: 0 or 1).
    pub fn auto_renew(&self) -> u32 {
        match self {
            OrderPlan::Tls(p) => u32::from(p.auto_renew),
            OrderPlan::Smime(p) => p.common.auto_renew,
        }
    }
    pub fn payment_method(&self) -> certwell_policy::common::PaymentMethod {
        match self {
            OrderPlan::Tls(p) => p.payment_method,
            OrderPlan::Smime(p) => p.common.payment_method,
        }
    }
    pub fn comments(&self) -> Option<&String> {
        match self {
            OrderPlan::Tls(p) => p.comments.as_ref(),
            OrderPlan::Smime(p) => p.common.comments.as_ref(),
        }
    }
    pub fn additional_emails(&self) -> &[String] {
        match self {
            OrderPlan::Tls(p) => &p.additional_emails,
            OrderPlan::Smime(p) => &p.common.additional_emails,
        }
    }
    pub fn contacts(&self) -> &[certwell_policy::organization::OrderContact] {
        match self {
            OrderPlan::Tls(p) => &p.contacts,
            OrderPlan::Smime(p) => &p.contacts,
        }
    }
    /// `validity_years` as order info shows it.
    pub fn validity_years(&self) -> Option<i64> {
        match self {
            OrderPlan::Tls(p) => p.validity_years.or(p.term.years),
            OrderPlan::Smime(p) => p.term.years,
        }
    }
    pub fn disable_renewal_notifications(&self) -> bool {
        match self {
            OrderPlan::Tls(p) => p.disable_renewal_notifications,
            OrderPlan::Smime(_) => false,
        }
    }
}

/// The JSON document stored in `orders.data`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderData {
    pub plan: OrderPlan,
    pub ca_cert_id: String,
    pub key_type: String,
    pub key_size: i64,
    #[serde(default)]
    pub organization_created: bool,
    /// How the order was paid, its alternative id (orders before the
    /// account model have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<certwell_policy::payment::PaymentPlan>,
    #[serde(default)]
    pub price_cents: i64,
    /// Order-level contacts and user assignments.
    #[serde(default)]
    pub order_level: certwell_policy::common::OrderLevel,
}

impl OrderData {
    pub fn tls(&self) -> Option<&TlsOrderPlan> {
        match &self.plan {
            OrderPlan::Tls(p) => Some(p),
            OrderPlan::Smime(_) => None,
        }
    }

    pub fn smime(&self) -> Option<&SmimeOrderPlan> {
        match &self.plan {
            OrderPlan::Smime(p) => Some(p),
            OrderPlan::Tls(_) => None,
        }
    }

    pub fn from_order(order: &Order) -> Result<OrderData> {
        serde_json::from_value(order.data.clone()).map_err(|e| {
            tracing::error!(order = order.id, error = %e, "corrupt order record");
            Error::internal("The order record could not be read.")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_term_end;
    use time::macros::datetime;

    #[test]
    fn term_ends() {
        assert_eq!(
            parse_term_end("2028-12-01T11:59:59Z"),
            Some(datetime!(2028-12-01 11:59:59 UTC))
        );
        assert_eq!(
            parse_term_end("2027-11-23T11:59:59.5Z"),
            Some(datetime!(2027-11-23 11:59:59.5 UTC))
        );
        assert_eq!(parse_term_end("garbage"), None);
    }
}
