//! JSON shapes of stored records, as the vendor's API returns them.

use certwell_policy::catalog::{
    find_product, server_platform_name, PLATFORM_CSR_URL, PLATFORM_INSTALL_URL,
};
use certwell_policy::organization::{display_name, NewOrganization};
use certwell_policy::validity::PlanTerm;
use certwell_store::{Certificate, Domain, Order, Organization, Request, User};
use certwell_store::{CertificateStatus, OrderStatus};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::service::order_data::{OrderData, OrderPlan};

pub fn user_summary(u: &User) -> Value {
    json!({"id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email})
}

/// A timestamp as the API writes it: `YYYY-MM-DDTHH:MM:SS+00:00`, in UTC
/// and whole seconds. Every date-time of a response is written here.
pub fn datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:{:02}+00:00",
        date(t),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `yyyy-MM-dd` of a timestamp, in UTC.
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
}

/// `yyyy-MM-dd` of RFC 3339 text (an order plan's term end, kept as text
/// in the order's document).
pub fn ymd(ts: &str) -> String {
    ts.chars().take(10).collect()
}

/// Whole days (rounded up) from now until `valid_till`; 0 once past.
pub fn days_remaining(valid_till: OffsetDateTime) -> i64 {
    let secs = (valid_till - OffsetDateTime::now_utc()).whole_seconds();
    if secs <= 0 {
        0
    } else {
        (secs + 86_399) / 86_400
    }
}

pub fn org_data(o: &Organization) -> Option<NewOrganization> {
    serde_json::from_value(o.data.clone()).ok()
}

pub fn org_validations(o: &Organization) -> Value {
    Value::Array(
        o.validations
            .iter()
            .map(|v| {
                let mut m = json!({"type": v.kind, "name": v.kind.display_name(),
                    "description": v.kind.description(),
                    "date_created": datetime(v.date_created), "status": v.status});
                if let Some(u) = v.validated_until {
                    m["validated_until"] = json!(datetime(u));
                }
                if let Some(users) = &v.verified_users {
                    m["verified_users"] = users.clone();
                }
                m
            })
            .collect(),
    )
}

pub fn contact_json(c: &certwell_api::organization::Contact) -> Value {
    let mut v = json!({"first_name": c.first_name, "last_name": c.last_name, "email": c.email,
        "job_title": c.job_title, "telephone": c.telephone});
    if !c.telephone_extension.is_empty() {
        v["telephone_extension"] = json!(c.telephone_extension);
    }
    v
}

/// `GET /organization/{id}` and list items.
pub fn organization_json(o: &Organization, container_name: &str) -> Value {
    let d = org_data(o);
    let mut v = json!({
        "id": o.id,
        "status": if o.is_active { "active" } else { "inactive" },
        "name": o.name,
        "display_name": display_name(&o.name, o.assumed_name.as_deref()),
        "is_active": o.is_active,
        "container": {"id": o.container_id, "name": container_name, "is_active": true},
        "validations": org_validations(o),
    });
    if let Some(a) = &o.assumed_name {
        v["assumed_name"] = json!(a);
    }
    if let Some(d) = d {
        v["address"] = json!(d.address);
        if let Some(a2) = &d.address2 {
            v["address2"] = json!(a2);
        }
        v["zip"] = json!(d.zip);
        v["city"] = json!(d.city);
        v["state"] = json!(d.state);
        v["country"] = json!(d.country);
        v["telephone"] = json!(d.telephone);
        v["organization_contact"] = contact_json(&d.organization_contact);
        let ev = &d.ev;
        for (k, val) in [
            ("business_category", &ev.business_category),
            ("jurisdiction_country", &ev.jurisdiction_country),
            ("jurisdiction_state", &ev.jurisdiction_state),
            ("jurisdiction_locality", &ev.jurisdiction_locality),
            ("registration_number", &ev.registration_number),
        ] {
            if let Some(x) = val {
                v[k] = json!(x);
            }
        }
    }
    v
}

/// The organization summary embedded in domains (`is_active` is the string "1"/"0").
pub fn org_summary_php(o: &Organization) -> Value {
    let mut v = json!({
        "id": o.id,
        "status": if o.is_active { "active" } else { "inactive" },
        "name": o.name,
        "display_name": display_name(&o.name, o.assumed_name.as_deref()),
        "is_active": if o.is_active { "1" } else { "0" },
    });
    if let Some(a) = &o.assumed_name {
        v["assumed_name"] = json!(a);
    }
    v
}

pub fn domain_json(d: &Domain, org: Option<&Organization>, container_name: &str) -> Value {
    let validated = crate::service::validation::domain_validated(d);
    let mut v = json!({
        "id": d.id,
        "is_active": d.is_active,
        "status": if d.is_active { "active" } else { "inactive" },
        "is_pending_validation": !validated,
        "name": d.name,
        "date_created": datetime(d.created_at),
        "dcv_method": d.dcv_method,
        "container": {"id": d.container_id, "name": container_name},
    });
    if let Some(o) = org {
        v["organization"] = org_summary_php(o);
    }
    let mut exp = Map::new();
    let validations: Vec<Value> = d
        .validation_types
        .iter()
        .map(|t| {
            let mut m = json!({"type": t, "name": t.display_name(), "description": t.description(),
                "status": if validated { "active" } else { "pending" },
                "dcv_status": if validated { "complete" } else { "pending" }});
            if let Some(u) = d.validated_until {
                m["validated_until"] = json!(datetime(u));
                exp.insert(t.as_str().to_string(), json!(date(u)));
            }
            m
        })
        .collect();
    v["validations"] = Value::Array(validations);
    if !exp.is_empty() {
        v["dcv_expiration"] = Value::Object(exp);
    }
    if let Some(a) = d.validated_at {
        v["dcv_approval_datetime"] = json!(datetime(a));
    }
    if let Some(u) = d.validated_until {
        v["dcv_expiration_datetime"] = json!(datetime(u));
    }
    if let Some(t) = &d.dcv_token {
        let mut tok = json!({"token": t, "status": if validated { "active" } else { "pending" }});
        if let Some(e) = d.dcv_token_expires {
            tok["expiration_date"] = json!(datetime(e));
        }
        v["dcv_token"] = tok;
    }
    v
}

pub fn product_summary(name_id: &str, full: bool) -> Value {
    match find_product(name_id) {
        Some(p) => {
            let mut v = json!({"name_id": p.name_id, "name": p.name, "type": p.product_type});
            if full {
                v["validation_type"] = json!(p.validation.as_str());
                v["validation_name"] = json!(p.validation.display_name());
                v["validation_description"] = json!(p.validation.description());
            }
            v
        }
        None => json!({"name_id": name_id}),
    }
}

pub fn server_platform_json(id: i64) -> Value {
    json!({"id": id, "name": server_platform_name(id).unwrap_or("OTHER"),
        "install_url": PLATFORM_INSTALL_URL, "csr_url": PLATFORM_CSR_URL})
}

pub fn request_brief(r: &Request) -> Value {
    let mut v = json!({"id": r.id, "date": datetime(r.date), "type": r.kind, "status": r.status});
    if let Some(c) = &r.comments {
        v["comments"] = json!(c);
    }
    v
}

/// Certificate fields shared by order info and lists.
pub fn certificate_fields(c: &Certificate, v: &mut Value) {
    if c.status == CertificateStatus::Revoked {
        v["status"] = json!("revoked");
        if let Some(t) = c.revoked_at {
            v["date_revoked"] = json!(datetime(t));
        }
        if let Some(r) = &c.revocation_reason {
            v["revocation_reason"] = json!(r);
        }
    }
    if c.der.is_some() {
        if let Some(t) = &c.thumbprint {
            v["thumbprint"] = json!(t);
        }
        if let Some(s) = &c.serial {
            v["serial_number"] = json!(s);
        }
        if let Some(d) = c.date_issued {
            v["date_issued"] = json!(datetime(d));
        }
        if let Some(f) = c.valid_from {
            v["valid_from"] = json!(date(f));
        }
        if let Some(t) = c.valid_till {
            v["valid_till"] = json!(date(t));
            v["days_remaining"] = json!(days_remaining(t));
        }
    }
}

/// `GET /certificate/{id}`: a certificate with its order's references and,
/// once issued, its dates, serial, thumbprint and PEM.
pub fn certificate_info_json(c: &Certificate, order: &Order) -> Value {
    let mut v = json!({
        "id": c.id,
        "order": {"id": order.id},
        "order_id": order.id,
        "type": c.kind.as_str(),
        "status": c.status.as_str(),
        "common_name": c.common_name,
        "dns_names": c.dns_names,
        "date_created": datetime(c.created_at),
        "signature_hash": c.signature_hash,
        "product": {"name_id": order.product_name_id},
        "csr": c.csr,
    });
    if order.organization_id != 0 {
        v["organization"] = json!({"id": order.organization_id});
    }
    if let Some(k) = c.key_size {
        v["key_size"] = json!(k);
    }
    certificate_fields(c, &mut v);
    if c.status == CertificateStatus::Issued
        && c.valid_till.is_some_and(|t| t <= crate::clock::now())
    {
        v["status"] = json!("expired");
    }
    if let Some(der) = &c.der {
        v["pem"] = json!(crate::pem::cert_pem(der));
        v["ca_cert"] = json!({"id": c.ca_id});
    }
    v
}

/// The order status clients see: an issued order whose certificate has
/// passed notAfter is `expired`.
pub fn effective_status(order: &Order, cert: Option<&Certificate>) -> String {
    if order.status == OrderStatus::Issued {
        let now = crate::clock::now();
        if cert.and_then(|c| c.valid_till).is_some_and(|t| t < now) {
            return "expired".into();
        }
    }
    order.status.as_str().to_string()
}

pub struct OrderContext<'a> {
    pub order: &'a Order,
    pub data: &'a OrderData,
    pub org: Option<&'a Organization>,
    pub cert: Option<&'a Certificate>,
    pub container_name: &'a str,
    pub requests: &'a [Request],
    pub user: Option<&'a User>,
    pub ca_name: Option<&'a str>,
    /// Resolved contacts: (organization_contact, technical_contact).
    pub contacts: (Option<Value>, Option<Value>),
    /// The live order renewing this one, if any.
    pub renewed_by: Option<i64>,
    /// Why a waiting order is not issued yet: (code, message).
    pub pending_reasons: Vec<(&'static str, String)>,
}

/// The `certificate` object of order info: the plan's own fields.
fn plan_certificate_json(c: &OrderContext, full: bool) -> Value {
    match &c.data.plan {
        OrderPlan::Tls(plan) => {
            let mut cert = json!({
                "common_name": plan.common_name,
                "dns_names": plan.sans,
                "signature_hash": plan.signature_hash,
            });
            if full {
                cert["date_created"] = json!(datetime(c.order.created_at));
                cert["csr"] = json!(plan.csr);
                cert["organization"] = json!({"id": c.order.organization_id});
                cert["organization_units"] = json!(plan.organization_units);
                cert["server_platform"] = server_platform_json(plan.server_platform_id);
                cert["cert_validity"] = json!(plan.cert_validity());
                if let Some(p) = &plan.profile_option {
                    cert["profile_option"] = json!(p);
                }
            }
            cert
        }
        OrderPlan::Smime(plan) => {
            let mut cert = json!({
                "common_name": c.order.common_name,
                "emails": plan.emails,
                "signature_hash": plan.signature_hash,
            });
            if !full {
                return cert;
            }
            cert["date_created"] = json!(datetime(c.order.created_at));
            if let Some(csr) = &plan.csr {
                cert["csr"] = json!(csr);
            } else if let Some(ce) = c.cert.filter(|ce| !ce.csr.is_empty()) {
                cert["csr"] = json!(ce.csr);
            }
            if c.order.organization_id != 0 {
                cert["organization"] = json!({"id": c.order.organization_id});
            }
            cert["cert_validity"] = json!(plan.cert_validity());
            if let Some(ds) = &plan.doc_signing {
                cert["server_platform"] = server_platform_json(ds.server_platform_id);
                cert["cs_provisioning_method"] = json!(ds.cs_provisioning_method);
                cert["use_org_as_common_name"] = json!(ds.use_org_as_common_name);
                cert["subject"] = json!(ds.subject);
                if let Some(s) = &ds.ship_info {
                    cert["ship_info"] = json!(s);
                }
                return cert;
            }
            if let Some(g) = plan.generation {
                cert["profile_type"] = json!(g.as_str());
            }
            cert["usage_designation"] = json!({
                "primary_usage": plan.usage.primary.as_str(),
                "additional_usages": plan.usage.additional.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            });
            cert["is_rsassa_pss"] = json!(plan.is_rsassa_pss);
            if let Some(u) = &plan.upn {
                cert["user_principle_name"] = json!([u]);
            }
            if let Some(k) = plan.declared_key {
                cert["csr_key_type"] = json!(k.kind().as_str());
            }
            cert
        }
    }
}

/// `GET /order/certificate/{id}`
pub fn order_info_json(c: &OrderContext) -> Value {
    let plan = &c.data.plan;
    let mut cert = plan_certificate_json(c, true);
    cert["key_size"] = json!(c.data.key_size);
    cert["ca_cert"] = json!({"id": c.data.ca_cert_id, "name": c.ca_name.unwrap_or("")});
    if let Some(id) = c.order.certificate_id {
        cert["id"] = json!(id);
    }
    if let Some(ce) = c.cert {
        certificate_fields(ce, &mut cert);
    }
    let mut v = json!({
        "id": c.order.id,
        "certificate": cert,
        "status": effective_status(c.order, c.cert),
        "is_renewal": c.order.renewal_of_order_id.is_some(),
        "is_renewed": c.renewed_by.is_some(),
        // On a renewal: the order it renews (0 otherwise).
        "renewed_order_id": c.order.renewal_of_order_id.unwrap_or(0),
        "date_created": datetime(c.order.created_at),
        "order_valid_from": date(c.order.created_at),
        "order_valid_till": ymd(plan.term().term_end()),
        "disable_renewal_notifications": plan.disable_renewal_notifications(),
        "container": {"id": c.order.container_id, "name": c.container_name},
        "product": product_summary(&c.order.product_name_id, true),
        "payment_method": plan.payment_method(),
        "product_name_id": c.order.product_name_id,
        "auto_renew": plan.auto_renew(),
        "order_validity": plan.term().term(),
    });
    // A plan longer than a year (several certificates, each a reissue).
    if crate::service::order_data::parse_term_end(plan.term().term_end())
        .is_some_and(|end| certwell_policy::validity::is_multi_year(c.order.created_at, end))
    {
        v["is_multi_year_plan"] = json!("1");
    }
    if let Some(p) = &c.data.payment {
        v["payment_method"] = json!(p.method);
        v["price"] = json!(c.data.price_cents as f64 / 100.0);
        v["currency"] = json!("USD");
        if let Some(a) = &p.alternative_order_id {
            v["alternative_order_id"] = json!(a);
        }
        if let Some(vat) = &p.vat_number {
            v["vat_number"] = json!(vat);
        }
        if let Some(card) = &p.card {
            v["credit_card"] = json!({"last_four_digits": card.last_four,
                "expiration_month": card.expiration_month, "expiration_year": card.expiration_year});
        }
        if let Some(g) = p.enable_guest_access {
            v["enable_guest_access"] = json!(u8::from(g));
        }
    }
    // certwell's own: why a pending order waits (omitted when empty)
    if !c.pending_reasons.is_empty() {
        v["pending_reasons"] = json!(c
            .pending_reasons
            .iter()
            .map(|(code, message)| json!({"code": code, "message": message}))
            .collect::<Vec<_>>());
    }
    // empty lists are omitted, as the vendor does
    if !c.requests.is_empty() {
        v["requests"] = json!(c.requests.iter().map(request_brief).collect::<Vec<_>>());
    }
    if !plan.custom_fields().is_empty() {
        v["custom_fields"] = json!(plan
            .custom_fields()
            .iter()
            .map(|f| json!({"metadata_id": f.metadata_id, "value": f.value}))
            .collect::<Vec<_>>());
    }
    if let Some(y) = plan.validity_years() {
        v["validity_years"] = json!(y);
    }
    if let Some(o) = c.org {
        let mut org = json!({"id": o.id, "name": o.name,
            "display_name": display_name(&o.name, o.assumed_name.as_deref()), "is_active": o.is_active});
        if let Some(a) = &o.assumed_name {
            org["assumed_name"] = json!(a);
        }
        if let Some(d) = org_data(o) {
            org["city"] = json!(d.city);
            org["state"] = json!(d.state);
            org["country"] = json!(d.country);
        }
        v["organization"] = org;
    }
    if let Some(oc) = &c.contacts.0 {
        v["organization_contact"] = oc.clone();
    }
    if let Some(tc) = &c.contacts.1 {
        v["technical_contact"] = tc.clone();
    }
    // Order-level contacts replace the organization's on this order only.
    let level = &c.data.order_level;
    if let Some(oc) = &level.organization_contact {
        v["organization_contact"] = contact_json(oc);
    }
    if let Some(tc) = &level.technical_contact {
        v["technical_contact"] = contact_json(tc);
    }
    if !level.user_id_assignments.is_empty() {
        v["user_assignments"] = json!(level
            .user_id_assignments
            .iter()
            .map(|id| json!({"id": id}))
            .collect::<Vec<_>>());
    }
    if let Some(u) = c.user {
        v["user"] = user_summary(u);
    }
    if let Some(x) = plan.comments() {
        v["comments"] = json!(x);
    }
    if let OrderPlan::Tls(p) = plan {
        v["disable_ct"] = json!(p.disable_ct);
        if let Some(m) = p.dcv_method {
            v["dcv_method"] = json!(m);
        }
        for (k, val) in [
            ("custom_renewal_message", &p.custom_renewal_message),
            ("locale", &p.locale),
            ("renewed_thumbprint", &p.renewed_thumbprint),
        ] {
            if let Some(x) = val {
                v[k] = json!(x);
            }
        }
    }
    if let Some(r) = plan.renewal_of_order_id() {
        v["renewal_of_order_id"] = json!(r);
    }
    if !plan.additional_emails().is_empty() {
        v["additional_emails"] = json!(plan.additional_emails());
    }
    v
}

/// An item of `GET /order/certificate`.
pub fn order_list_item(c: &OrderContext) -> Value {
    let plan = &c.data.plan;
    let mut cert = plan_certificate_json(c, false);
    if let Some(id) = c.order.certificate_id {
        cert["id"] = json!(id);
    }
    if let Some(ce) = c.cert {
        certificate_fields(ce, &mut cert);
    }
    let mut v = json!({
        "id": c.order.id,
        "certificate": cert,
        "status": effective_status(c.order, c.cert),
        "is_renewed": c.renewed_by.is_some(),
        "date_created": datetime(c.order.created_at),
        "disable_renewal_notifications": plan.disable_renewal_notifications(),
        "container": {"id": c.order.container_id, "name": c.container_name},
        "product": product_summary(&c.order.product_name_id, false),
        "has_duplicates": false,
        "product_name_id": c.order.product_name_id,
    });
    if let Some(y) = plan.validity_years() {
        v["validity_years"] = json!(y);
    }
    if let Some(o) = c.org {
        v["organization"] = json!({"id": o.id, "name": o.name});
    }
    if !plan.custom_fields().is_empty() {
        v["custom_fields"] = json!(plan
            .custom_fields()
            .iter()
            .map(|f| json!({"metadata_id": f.metadata_id, "value": f.value}))
            .collect::<Vec<_>>());
    }
    v
}

/// An API key as `GET /key` lists it (the vendor's "List keys" fields; the
/// key itself is never shown again).
pub fn api_key_json(k: &certwell_store::ApiKey, user: Option<&certwell_store::User>) -> Value {
    let mut v = json!({
        "id": k.id,
        "status": if k.revoked { "revoked" } else { "active" },
        "create_date": datetime(k.created_at),
        "name": k.name,
        "is_legacy": false,
        "restricted_to_role_id": k.restricted_role,
    });
    if let Some(u) = user {
        v["user"] = json!({"id": u.id, "first_name": u.first_name, "last_name": u.last_name});
    }
    if let Some(t) = k.last_used_at {
        v["last_used_date"] = json!(datetime(t));
    }
    if let Some(t) = k.expires_at {
        v["expiration_date"] = json!(datetime(t));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn order(status: OrderStatus) -> Order {
        Order {
            id: 1,
            account_id: 1,
            container_id: 1,
            user_id: 1,
            product_name_id: "ssl_plus".into(),
            status,
            organization_id: 1,
            common_name: "example.com".into(),
            certificate_id: Some(1),
            renewal_of_order_id: None,
            data: Value::Null,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn cert(valid_till: OffsetDateTime) -> Certificate {
        Certificate {
            id: 1,
            account_id: 1,
            order_id: 1,
            ca_id: None,
            serial: None,
            status: CertificateStatus::Issued,
            thumbprint: None,
            der: None,
            csr: String::new(),
            spki_sha256: None,
            key_size: None,
            common_name: String::new(),
            dns_names: vec![],
            signature_hash: String::new(),
            valid_from: None,
            valid_till: Some(valid_till),
            date_issued: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            revoked_at: None,
            revocation_reason: None,
            kind: certwell_store::CertificateKind::Primary,
            request_id: None,
            user_id: None,
            data: None,
        }
    }

    #[test]
    fn expired_orders() {
        let past = cert(datetime!(2020-01-01 0:00 UTC));
        let future = cert(datetime!(2099-01-01 0:00 UTC));
        assert_eq!(
            effective_status(&order(OrderStatus::Issued), Some(&past)),
            "expired"
        );
        assert_eq!(
            effective_status(&order(OrderStatus::Issued), Some(&future)),
            "issued"
        );
        assert_eq!(
            effective_status(&order(OrderStatus::Revoked), Some(&past)),
            "revoked"
        );
        assert_eq!(
            effective_status(&order(OrderStatus::Pending), None),
            "pending"
        );
    }

    #[test]
    fn days_remaining_rounds_up_and_floors_at_zero() {
        assert_eq!(days_remaining(datetime!(2020-01-01 0:00 UTC)), 0);
        let in_36h = crate::clock::now() + time::Duration::hours(36);
        assert_eq!(days_remaining(in_36h), 2);
    }

    #[test]
    fn date_times_as_the_api_writes_them() {
        assert_eq!(
            datetime(datetime!(2026-11-23 12:00:00.75 UTC)),
            "2026-11-23T12:00:00+00:00"
        );
        assert_eq!(
            datetime(datetime!(2026-11-24 01:02:03 +02:00)),
            "2026-11-23T23:02:03+00:00"
        );
        assert_eq!(date(datetime!(2026-11-24 01:02:03 +02:00)), "2026-11-23");
        assert_eq!(date(datetime!(0999-01-02 0:00 UTC)), "0999-01-02");
        assert_eq!(ymd("2027-11-23T11:59:59.5Z"), "2027-11-23");
    }
}
