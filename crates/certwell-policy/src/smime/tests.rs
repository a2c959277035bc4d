use super::*;
use crate::catalog::find_product;
use crate::organization::validate_new_organization;
use crate::testutil::with;
use serde_json::{json, Value};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn check(product: &str, body: Value) -> Result<SmimeOrderPlan> {
    check_default(product, body, Generation::Strict)
}

fn check_default(product: &str, body: Value, default: Generation) -> Result<SmimeOrderPlan> {
    let req: OrderRequest = serde_json::from_value(body).unwrap();
    validate_smime_order(find_product(product).unwrap(), &req, NOW, default)
}

fn code(product: &str, body: Value) -> &'static str {
    check(product, body).unwrap_err().code
}

// ---- the seed's example bodies --------------------------------------------

fn seed_mailbox() -> Value {
    json!({
        "certificate": {
            "profile_type": "multipurpose",
            "emails": ["john.doe@example.com"],
            "csr": "<csr>",
            "common_name_indicator": "email_address",
            "usage_designation": {"primary_usage": "dual_use", "additional_usages": ["non_repudiation"]}
        },
        "skip_approval": true,
        "order_validity": {"years": 1},
        "payment_method": "balance"
    })
}

fn seed_organization() -> Value {
    json!({
        "certificate": {
            "profile_type": "multipurpose",
            "individual": {"first_name": "John", "last_name": "Doe"},
            "emails": ["john.doe@example.com"],
            "csr": "<csr>",
            "common_name_indicator": "organization_name",
            "usage_designation": {"primary_usage": "dual_use", "additional_usages": ["non_repudiation"]}
        },
        "skip_approval": true,
        "organization": {"id": 11},
        "order_validity": {"years": 1},
        "subject": {"include_email": true},
        "payment_method": "balance"
    })
}

fn seed_sponsor() -> Value {
    json!({
        "certificate": {
            "profile_type": "multipurpose",
            "individual": {"first_name": "John", "last_name": "Doe"},
            "emails": ["john.doe@example.com"],
            "csr": "<csr>",
            "signature_hash": "sha256",
            "common_name_indicator": "given_name_surname",
            "usage_designation": {"primary_usage": "dual_use", "additional_usages": ["non_repudiation"]}
        },
        "skip_approval": true,
        "organization": {"id": "2030405"},
        "order_validity": {"years": 1},
        "subject": {"include_given_name_surname": true, "include_email": true, "include_pseudonym": false},
        "payment_method": "balance"
    })
}

fn seed_client() -> Value {
    json!({
        "certificate": {
            "common_name": "john.doe@example.com",
            "emails": ["john.doe@example.com"],
            "signature_hash": "sha256",
            "csr": "<csr>"
        },
        "skip_approval": true,
        "organization": {"id": 112233},
        "order_validity": {"years": 1},
        "payment_method": "balance"
    })
}

/// The truncated client example of the notice, completed with the
/// required fields.
fn seed_client_premium() -> Value {
    json!({
        "certificate": {
            "emails": ["alice@example.com"],
            "common_name": "Alice Example",
            "common_name_indicator": "given_name_surname",
            "individual": {"first_name": "Alice", "last_name": "Example"},
            "signature_hash": "sha256",
            "csr": "<csr>"
        },
        "organization": {"id": 7},
        "order_validity": {"years": 1}
    })
}

#[test]
fn seed_examples_are_valid() {
    let p = check("secure_email_mailbox", seed_mailbox()).unwrap();
    assert_eq!(p.generation, Some(Generation::Multipurpose));
    assert_eq!(p.subject.common_name, "john.doe@example.com");
    assert_eq!(p.usage.primary, PrimaryUsage::DualUse);
    assert_eq!(p.usage.additional, vec![AdditionalUsage::NonRepudiation]);
    assert!(p.organization.is_none());
    assert_eq!(p.signature_hash, "sha256");
    assert!(p.common.skip_approval);

    let p = check("secure_email_organization", seed_organization()).unwrap();
    assert_eq!(p.cn_source, CnSource::OrganizationName);
    assert_eq!(p.subject.email.as_deref(), Some("john.doe@example.com"));
    assert_eq!(p.organization, Some(OrgChoice::Existing(11)));
    // The individual object is only used by the sponsor product.
    assert_eq!(p.subject.given_name, None);

    let p = check("secure_email_sponsor", seed_sponsor()).unwrap();
    assert_eq!(p.organization, Some(OrgChoice::Existing(2030405)));
    assert_eq!(p.subject.common_name, "John Doe");
    assert_eq!(p.subject.given_name.as_deref(), Some("John"));
    assert_eq!(p.subject.surname.as_deref(), Some("Doe"));
    assert_eq!(p.subject.pseudonym, None);

    let p = check("client_authentication_plus", seed_client()).unwrap();
    assert_eq!(p.smime_type, None);
    assert_eq!(p.generation, None);
    assert_eq!(p.subject.common_name, "john.doe@example.com");
    assert!(!p.usage.email_protection);
    assert_eq!(extended_key_usages(&p.usage), vec![OID_CLIENT_AUTH]);

    let p = check("client_premium", seed_client_premium()).unwrap();
    assert_eq!(p.generation, Some(Generation::Multipurpose));
    assert_eq!(p.subject.common_name, "Alice Example");
    assert_eq!(p.smime_type, Some(SmimeType::Sponsor));
}

#[test]
fn truncated_notice_examples_with_required_fields() {
    let mut body = json!({"certificate": {"emails": ["alice@example.com"]}});
    body = with(
        body,
        "certificate.usage_designation.primary_usage",
        json!("signing"),
    );
    body = with(body, "order_validity.years", json!(1));
    // profile_type omitted: the product setting decides (default strict).
    let p = check("secure_email_mailbox", body.clone()).unwrap();
    assert_eq!(p.generation, Some(Generation::Strict));
    let p = check_default("secure_email_mailbox", body, Generation::Multipurpose).unwrap();
    assert_eq!(p.generation, Some(Generation::Multipurpose));

    let body = json!({
        "certificate": {
            "emails": ["alice@example.com"], "profile_type": "strict",
            "common_name_indicator": "email_address",
            "individual": {"first_name": "Alice", "last_name": "Example"},
            "usage_designation": {"primary_usage": "signing"}
        },
        "organization": {"id": 3}, "order_validity": {"years": 1}
    });
    let p = check("secure_email_sponsor", body).unwrap();
    assert_eq!(p.subject.common_name, "alice@example.com");
    // SBR: the sponsor subject carries the name even with an email CN.
    assert_eq!(p.subject.given_name.as_deref(), Some("Alice"));
    assert_eq!(p.declared_key, Some(DeclaredKey::Rsa(2048)));
    assert_eq!(p.csr, None);
}

// ---- profile type ---------------------------------------------------------

#[test]
fn profile_types() {
    let b = |v: &str| with(seed_mailbox(), "certificate.profile_type", json!(v));
    assert_eq!(
        check("secure_email_mailbox", b("STRICT"))
            .unwrap()
            .generation,
        Some(Generation::Strict)
    );
    let e = check("secure_email_mailbox", b("legacy")).unwrap_err();
    assert_eq!(e.code, "invalid_profile_type");
    assert!(e.message.contains("2025"), "{}", e.message);
    assert_eq!(
        code("secure_email_mailbox", b("custom")),
        "invalid_profile_type"
    );
    // The client endpoint always issues Multipurpose.
    let p = check(
        "client_premium",
        with(
            seed_client_premium(),
            "certificate.profile_type",
            json!("strict"),
        ),
    )
    .unwrap();
    assert_eq!(p.generation, Some(Generation::Multipurpose));
}

// ---- usage designation ----------------------------------------------------

/// The seed's two tables, written out independently of the code:
/// (usage, key, primaries, generations).
fn seed_table_allows(u: AdditionalUsage, p: PrimaryUsage, g: Generation, k: KeyKind) -> bool {
    use AdditionalUsage as A;
    use PrimaryUsage as P;
    let primaries: &[P] = match u {
        A::NonRepudiation => &[P::Signing, P::DualUse],
        A::DataEncipherment | A::EncipherOnly | A::DecipherOnly => &[P::KeyManagement, P::DualUse],
        A::ClientAuth => &[P::Signing, P::KeyManagement, P::DualUse],
    };
    let generations: &[Generation] = match u {
        A::DataEncipherment | A::ClientAuth => &[Generation::Multipurpose],
        _ => &[Generation::Multipurpose, Generation::Strict],
    };
    let keys: &[KeyKind] = match u {
        A::DataEncipherment => &[KeyKind::Rsa],
        A::EncipherOnly | A::DecipherOnly => &[KeyKind::Ecc],
        _ => &[KeyKind::Rsa, KeyKind::Ecc],
    };
    primaries.contains(&p) && generations.contains(&g) && keys.contains(&k)
}

fn usage_body(p: PrimaryUsage, g: Generation, extra: &[AdditionalUsage]) -> Value {
    let extra: Vec<&str> = extra.iter().map(|u| u.as_str()).collect();
    with(
        with(
            seed_mailbox(),
            "certificate.usage_designation",
            json!({"primary_usage": p.as_str(), "additional_usages": extra}),
        ),
        "certificate.profile_type",
        json!(g.as_str()),
    )
}

#[test]
fn every_single_additional_usage_follows_the_seed_tables() {
    for g in [Generation::Strict, Generation::Multipurpose] {
        for p in PrimaryUsage::ALL {
            for u in AdditionalUsage::ALL {
                for k in [KeyKind::Rsa, KeyKind::Ecc] {
                    let plan = check("secure_email_mailbox", usage_body(p, g, &[u]));
                    let ok = plan.and_then(|plan| check_usage_for_key(&plan.usage, k).map(|_| ()));
                    assert_eq!(
                        ok.is_ok(),
                        seed_table_allows(u, p, g, k),
                        "{} + {} / {} / {:?}: {ok:?}",
                        p.as_str(),
                        u.as_str(),
                        g.as_str(),
                        k
                    );
                    if let Err(e) = ok {
                        assert_eq!(e.code, "invalid_additional_usage");
                    }
                }
            }
        }
    }
}

#[test]
fn usage_errors() {
    use AdditionalUsage as A;
    let e = check(
        "secure_email_mailbox",
        usage_body(
            PrimaryUsage::DualUse,
            Generation::Strict,
            &[A::EncipherOnly, A::DecipherOnly],
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "invalid_additional_usage");
    assert!(e.message.contains("not both"));
    assert_eq!(
        code(
            "secure_email_mailbox",
            with(
                seed_mailbox(),
                "certificate.usage_designation.primary_usage",
                json!("both")
            )
        ),
        "invalid_primary_usage"
    );
    let e = check(
        "secure_email_mailbox",
        with(seed_mailbox(), "certificate.usage_designation", Value::Null),
    )
    .unwrap_err();
    assert_eq!(e.code, "missing_required_field");
    assert!(e.message.contains("certificate.usage_designation"));
    let e = check(
        "secure_email_mailbox",
        with(
            seed_mailbox(),
            "certificate.usage_designation.additional_usages",
            json!(["non_repudiation", "time_stamping"]),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "invalid_additional_usage");
    assert!(e.message.contains("additional_usages[1]"), "{}", e.message);
    // A declared ECC key is checked at order time.
    let b = with(
        with(
            usage_body(
                PrimaryUsage::DualUse,
                Generation::Multipurpose,
                &[A::DataEncipherment],
            ),
            "certificate.csr",
            Value::Null,
        ),
        "certificate.csr_key_type",
        json!("ecc"),
    );
    assert_eq!(code("secure_email_mailbox", b), "invalid_additional_usage");
}

#[test]
fn key_usage_follows_the_sbr_table() {
    use AdditionalUsage as A;
    let u = |p, a: &[A]| Usage {
        primary: p,
        additional: a.to_vec(),
        email_protection: true,
        document_signing: false,
    };
    let ku = key_usage(
        &u(PrimaryUsage::Signing, &[A::NonRepudiation]),
        KeyKind::Rsa,
    );
    assert_eq!(
        ku,
        KeyUsage {
            digital_signature: true,
            non_repudiation: true,
            ..KeyUsage::default()
        }
    );
    let ku = key_usage(
        &u(PrimaryUsage::KeyManagement, &[A::DataEncipherment]),
        KeyKind::Rsa,
    );
    assert_eq!(
        ku,
        KeyUsage {
            key_encipherment: true,
            data_encipherment: true,
            ..KeyUsage::default()
        }
    );
    let ku = key_usage(&u(PrimaryUsage::DualUse, &[A::DecipherOnly]), KeyKind::Ecc);
    assert_eq!(
        ku,
        KeyUsage {
            digital_signature: true,
            key_agreement: true,
            decipher_only: true,
            ..KeyUsage::default()
        }
    );
    let ku = key_usage(
        &u(PrimaryUsage::KeyManagement, &[A::EncipherOnly]),
        KeyKind::Ecc,
    );
    assert_eq!(
        ku,
        KeyUsage {
            key_agreement: true,
            encipher_only: true,
            ..KeyUsage::default()
        }
    );
    assert_eq!(
        extended_key_usages(&u(PrimaryUsage::Signing, &[A::ClientAuth])),
        vec![OID_EMAIL_PROTECTION, OID_CLIENT_AUTH]
    );
    assert_eq!(
        extended_key_usages(&u(PrimaryUsage::Signing, &[])),
        vec![OID_EMAIL_PROTECTION]
    );
}

#[test]
fn policy_oids() {
    assert_eq!(
        smime_policy_oid(SmimeType::Mailbox, Generation::Strict),
        "2.23.140.1.5.1.3"
    );
    assert_eq!(
        smime_policy_oid(SmimeType::Organization, Generation::Multipurpose),
        "2.23.140.1.5.2.2"
    );
    assert_eq!(
        smime_policy_oid(SmimeType::Sponsor, Generation::Strict),
        "2.23.140.1.5.3.3"
    );
}

// ---- names ----------------------------------------------------------------

#[test]
fn common_name_indicators_per_product() {
    let org = |ind: &str| {
        with(
            seed_organization(),
            "certificate.common_name_indicator",
            json!(ind),
        )
    };
    let p = check("secure_email_organization", org("email_address")).unwrap();
    assert_eq!(p.subject.common_name, "john.doe@example.com");
    for bad in ["given_name_surname", "pseudonym", "nickname"] {
        assert_eq!(
            code("secure_email_organization", org(bad)),
            "invalid_common_name_indicator",
            "{bad}"
        );
    }
    assert_eq!(
        code(
            "secure_email_organization",
            with(
                seed_organization(),
                "certificate.common_name_indicator",
                Value::Null
            )
        ),
        "missing_required_field"
    );
    let sp = |ind: &str| {
        with(
            seed_sponsor(),
            "certificate.common_name_indicator",
            json!(ind),
        )
    };
    assert_eq!(
        code("secure_email_sponsor", sp("organization_name")),
        "invalid_common_name_indicator"
    );
    // Ignored on the mailbox product.
    let p = check(
        "secure_email_mailbox",
        with(
            seed_mailbox(),
            "certificate.common_name_indicator",
            json!("pseudonym"),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.common_name, "john.doe@example.com");
}

#[test]
fn sponsor_names_and_pseudonyms() {
    // given_name_surname needs the names and include_given_name_surname.
    let e = check(
        "secure_email_sponsor",
        with(
            seed_sponsor(),
            "certificate.individual.last_name",
            Value::Null,
        ),
    )
    .unwrap_err();
    assert!(e.message.contains("certificate.individual.last_name"));
    let e = check(
        "secure_email_sponsor",
        with(
            seed_sponsor(),
            "subject.include_given_name_surname",
            json!(false),
        ),
    )
    .unwrap_err();
    assert!(e.message.contains("subject.include_given_name_surname"));
    // The individual is always required on the sponsor product.
    let e = check(
        "secure_email_sponsor",
        with(seed_sponsor(), "certificate.individual", Value::Null),
    )
    .unwrap_err();
    assert!(e.message.contains("certificate.individual"));

    // pseudonym CN: pseudonym attribute, no given name / surname.
    let b = with(
        with(
            with(
                seed_sponsor(),
                "certificate.common_name_indicator",
                json!("pseudonym"),
            ),
            "certificate.individual",
            json!({"pseudonym": "Agent 7"}),
        ),
        "subject",
        json!({"include_email": true}),
    );
    let p = check("secure_email_sponsor", b.clone()).unwrap();
    assert_eq!(p.subject.common_name, "Agent 7");
    assert_eq!(p.subject.pseudonym.as_deref(), Some("Agent 7"));
    assert_eq!(p.subject.given_name, None);
    let e = check(
        "secure_email_sponsor",
        with(b.clone(), "subject.include_given_name_surname", json!(true)),
    )
    .unwrap_err();
    assert_eq!(e.code, "invalid_value");
    assert_eq!(
        code(
            "secure_email_sponsor",
            with(b, "certificate.individual.pseudonym", Value::Null)
        ),
        "missing_required_field"
    );

    // email_address CN: a name or a pseudonym is still required.
    let b = with(
        with(
            seed_sponsor(),
            "certificate.common_name_indicator",
            json!("email_address"),
        ),
        "subject",
        json!({}),
    );
    assert!(check("secure_email_sponsor", b.clone()).is_ok());
    let e = check(
        "secure_email_sponsor",
        with(
            b.clone(),
            "certificate.individual",
            json!({"first_name": "John"}),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "missing_required_field");
    let p = check(
        "secure_email_sponsor",
        with(
            b.clone(),
            "certificate.individual",
            json!({"pseudonym": "JD"}),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.pseudonym.as_deref(), Some("JD"));
    // subject.pseudonym and include_pseudonym.
    let p = check(
        "secure_email_sponsor",
        with(
            with(b.clone(), "subject.pseudonym", json!("The Doe")),
            "certificate.individual",
            json!({"pseudonym": "JD"}),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.pseudonym.as_deref(), Some("The Doe"));
    let e = check(
        "secure_email_sponsor",
        with(b, "subject.include_pseudonym", json!(true)),
    )
    .unwrap_err();
    assert!(e.message.contains("certificate.individual.pseudonym"));
}

#[test]
fn subject_fields_only_where_the_seed_allows_them() {
    for (field, v) in [
        ("subject.job_title", json!("SRE")),
        ("subject.serial_number", json!("ABC-123")),
        ("subject.pseudonym", json!("JD")),
        ("subject.include_pseudonym", json!(true)),
        ("subject.include_given_name_surname", json!(true)),
    ] {
        for product in ["secure_email_mailbox", "secure_email_organization"] {
            let base = if product == "secure_email_mailbox" {
                seed_mailbox()
            } else {
                seed_organization()
            };
            let e = check(product, with(base, field, v.clone())).unwrap_err();
            assert_eq!(e.code, "field_not_allowed", "{product} {field}");
            assert!(e.message.contains(field));
        }
    }
    let p = check(
        "secure_email_sponsor",
        with(
            with(seed_sponsor(), "subject.job_title", json!("SRE")),
            "subject.serial_number",
            json!("ABC-123"),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.title.as_deref(), Some("SRE"));
    assert_eq!(p.subject.serial_number.as_deref(), Some("ABC-123"));
    assert_eq!(
        code(
            "secure_email_sponsor",
            with(seed_sponsor(), "subject.job_title", json!("x".repeat(65)))
        ),
        "field_too_long"
    );
    // The deprecated certificate.include_email_in_subject.
    let p = check(
        "secure_email_mailbox",
        with(
            seed_mailbox(),
            "certificate.include_email_in_subject",
            json!(true),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.email.as_deref(), Some("john.doe@example.com"));
    let p = check("secure_email_mailbox", seed_mailbox()).unwrap();
    assert_eq!(p.subject.email, None);
}

#[test]
fn user_principal_name() {
    let b = |v: Value| with(seed_sponsor(), "certificate.user_principle_name", v);
    let p = check("secure_email_sponsor", b(json!(["jdoe@corp.example.com"]))).unwrap();
    assert_eq!(p.upn.as_deref(), Some("jdoe@corp.example.com"));
    assert_eq!(
        code(
            "secure_email_sponsor",
            b(json!(["a@example.com", "b@example.com"]))
        ),
        "invalid_user_principle_name"
    );
    assert_eq!(
        code("secure_email_sponsor", b(json!(["x".repeat(256)]))),
        "field_too_long"
    );
    assert_eq!(
        code("secure_email_sponsor", b(json!(["example"]))),
        "invalid_user_principle_name"
    );
    let e = check(
        "secure_email_sponsor",
        with(
            b(json!(["a@corp.example.com"])),
            "certificate.profile_type",
            json!("strict"),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "field_not_allowed");
    assert!(e.message.contains("strict"));
    assert_eq!(
        code(
            "secure_email_mailbox",
            with(
                seed_mailbox(),
                "certificate.user_principle_name",
                json!(["a@corp.example.com"])
            )
        ),
        "field_not_allowed"
    );
}

#[test]
fn emails_are_required_and_valid() {
    let b = |v: Value| with(seed_mailbox(), "certificate.emails", v);
    assert_eq!(
        code("secure_email_mailbox", b(Value::Null)),
        "missing_required_field"
    );
    assert_eq!(
        code("secure_email_mailbox", b(json!([]))),
        "missing_required_field"
    );
    let e = check("secure_email_mailbox", b(json!(["a@example.com", "nope"]))).unwrap_err();
    assert_eq!(e.code, "invalid_email");
    assert!(e.message.contains("certificate.emails[1]"));
    assert_eq!(
        code("secure_email_mailbox", b(json!(["a@intranet.local"]))),
        "invalid_email"
    );
    assert_eq!(
        code("secure_email_mailbox", b(json!(["jürgen@example.com"]))),
        "invalid_email"
    );
    let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
    assert_eq!(
        code("secure_email_mailbox", b(json!(many))),
        "too_many_emails"
    );
    let p = check(
        "secure_email_mailbox",
        b(json!([
            "Alice@Example.COM",
            "alice@example.com",
            "bob@example.com"
        ])),
    )
    .unwrap();
    assert_eq!(p.emails, vec!["Alice@example.com", "bob@example.com"]);
}

#[test]
fn organization_rules() {
    let e = check(
        "secure_email_sponsor",
        with(seed_sponsor(), "organization", Value::Null),
    )
    .unwrap_err();
    assert!(e.message.contains("'organization'"));
    assert_eq!(
        code(
            "client_authentication_plus",
            with(seed_client(), "organization", Value::Null)
        ),
        "missing_required_field"
    );
    // Not used on the mailbox products.
    let p = check(
        "secure_email_mailbox",
        with(seed_mailbox(), "organization", json!({"id": 5})),
    )
    .unwrap();
    assert!(p.organization.is_none());
    // Required on every other organization-bound product.
    let e = check(
        "secure_email_organization",
        with(seed_organization(), "organization", Value::Null),
    )
    .unwrap_err();
    assert_eq!(e.code, "missing_required_field");
    assert!(e.message.contains("'organization'"), "{}", e.message);
    for product in [
        "client_premium",
        "client_digital_signature_plus",
        "client_email_security_plus",
    ] {
        let e = check(
            product,
            with(seed_client_premium(), "organization", Value::Null),
        )
        .unwrap_err();
        assert_eq!(e.code, "missing_required_field", "{product}");
        assert!(
            e.message.contains("'organization'"),
            "{product}: {}",
            e.message
        );
    }
}

/// Rules the other tests leave out: each violation is its own code and
/// names the field.
#[test]
fn more_rule_violations_name_their_field() {
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "secure_email_sponsor",
            with(
                with(seed_sponsor(), "subject.pseudonym", json!("p".repeat(129))),
                "subject.include_pseudonym",
                json!(true),
            ),
            "field_too_long",
            "subject.pseudonym",
        ),
        (
            "secure_email_sponsor",
            with(
                seed_sponsor(),
                "subject.serial_number",
                json!("s".repeat(65)),
            ),
            "field_too_long",
            "subject.serial_number",
        ),
        (
            "secure_email_sponsor",
            with(seed_sponsor(), "subject.serial_number", json!("ABC_123*")),
            "invalid_value",
            "subject.serial_number",
        ),
        (
            "secure_email_mailbox",
            with(
                seed_mailbox(),
                "certificate.usage_designation.primary_usage",
                Value::Null,
            ),
            "missing_required_field",
            "certificate.usage_designation.primary_usage",
        ),
        (
            "secure_email_mailbox",
            with(seed_mailbox(), "certificate.usage_designation", Value::Null),
            "missing_required_field",
            "certificate.usage_designation",
        ),
        (
            "secure_email_mailbox",
            with(seed_mailbox(), "renewal_of_order_id", json!(-4)),
            "invalid_renewal_of_order_id",
            "renewal_of_order_id",
        ),
        (
            "secure_email_mailbox",
            with(
                seed_mailbox(),
                "additional_emails",
                json!(["not-an-address"]),
            ),
            "invalid_email",
            "additional_emails",
        ),
        (
            "client_email_security_plus",
            with(seed_client_premium(), "additional_emails", json!(["x@"])),
            "invalid_email",
            "additional_emails",
        ),
    ];
    for (product, body, want, field) in cases {
        let e = check(product, body).unwrap_err();
        assert_eq!(e.code, want, "{product} {field}: {}", e.message);
        assert!(e.message.contains(field), "{field}: {}", e.message);
    }
}

// ---- keys, hashes ---------------------------------------------------------

#[test]
fn declared_keys_and_hashes() {
    let no_csr = with(seed_mailbox(), "certificate.csr", Value::Null);
    let k = |t: Value, s: Value| {
        check(
            "secure_email_mailbox",
            with(
                with(no_csr.clone(), "certificate.csr_key_type", t),
                "certificate.key_size",
                s,
            ),
        )
        .map(|p| p.declared_key)
    };
    assert_eq!(
        k(Value::Null, Value::Null).unwrap(),
        Some(DeclaredKey::Rsa(2048))
    );
    assert_eq!(
        k(json!("rsa"), json!(4096)).unwrap(),
        Some(DeclaredKey::Rsa(4096))
    );
    assert_eq!(
        k(json!("ecc"), Value::Null).unwrap(),
        Some(DeclaredKey::P256)
    );
    assert_eq!(
        k(json!("ecc"), json!("p-384")).unwrap(),
        Some(DeclaredKey::P384)
    );
    assert_eq!(
        k(json!("ecc"), json!("p-354")).unwrap(),
        Some(DeclaredKey::P384)
    );
    assert_eq!(
        k(json!("rsa"), json!(1024)).unwrap_err().code,
        "invalid_key_size"
    );
    assert_eq!(
        k(json!("ecc"), json!(2048)).unwrap_err().code,
        "invalid_key_size"
    );
    assert_eq!(
        k(json!("dsa"), Value::Null).unwrap_err().code,
        "invalid_csr_key_type"
    );
    // With a CSR the key comes from the CSR.
    assert_eq!(
        check("secure_email_mailbox", seed_mailbox())
            .unwrap()
            .declared_key,
        None
    );

    for h in ["sha256", "sha384", "sha512"] {
        let p = check(
            "secure_email_mailbox",
            with(seed_mailbox(), "certificate.signature_hash", json!(h)),
        )
        .unwrap();
        assert_eq!(p.signature_hash, h);
    }
    assert_eq!(
        code(
            "secure_email_mailbox",
            with(seed_mailbox(), "certificate.signature_hash", json!("sha1"))
        ),
        "invalid_signature_hash"
    );
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.signature_hash",
                json!("sha384")
            )
        ),
        "invalid_signature_hash"
    );
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.signature_hash",
                Value::Null
            )
        ),
        "missing_required_field"
    );
}

// ---- validity -------------------------------------------------------------

#[test]
fn order_validity() {
    let b = |v: Value| with(seed_mailbox(), "order_validity", v);
    let term = |v: Value| check("secure_email_mailbox", b(v)).map(|p| p.term);
    assert_eq!(term(json!({"years": 2})).unwrap().years, Some(2));
    assert_eq!(
        term(json!({"years": 3})).unwrap_err().code,
        "invalid_validity"
    );
    assert_eq!(
        term(json!({"years": 1, "days": 825})).unwrap().days,
        Some(825)
    );
    assert_eq!(
        term(json!({"days": 826})).unwrap_err().code,
        "invalid_validity"
    );
    assert_eq!(
        term(json!({"days": 0})).unwrap_err().code,
        "invalid_validity"
    );
    let t = term(json!({"years": 1, "days": 30, "custom_expiration_date": "09 jun 2027"})).unwrap();
    assert_eq!(t.custom_expiration_date.as_deref(), Some("2027-06-09"));
    assert_eq!(
        term(json!({"custom_expiration_date": "2027-06-09"}))
            .unwrap_err()
            .code,
        "invalid_custom_expiration_date"
    );
    assert_eq!(
        term(json!({"custom_expiration_date": "09 JUN 2025"}))
            .unwrap_err()
            .code,
        "invalid_custom_expiration_date"
    );
    assert_eq!(
        term(json!({"custom_expiration_date": "09 JUN 2029"}))
            .unwrap_err()
            .code,
        "invalid_custom_expiration_date"
    );
    let e = check("secure_email_mailbox", b(Value::Null)).unwrap_err();
    assert!(e.message.contains("order_validity"));
    // The order term runs from now.
    let p = check("secure_email_mailbox", b(json!({"days": 10}))).unwrap();
    assert!(p.term_end.starts_with("2026-12-03"), "{}", p.term_end);
}

#[test]
fn client_validity_and_deprecated_fields() {
    let base = with(seed_client(), "order_validity", Value::Null);
    let term = |p: &str, b: Value| check(p, b).map(|p| p.term);
    assert_eq!(
        term(
            "client_authentication_plus",
            with(base.clone(), "validity_years", json!(3))
        )
        .unwrap()
        .years,
        Some(3)
    );
    assert_eq!(
        term(
            "client_authentication_plus",
            with(base.clone(), "custom_expiration_date", json!("2027-03-01"))
        )
        .unwrap()
        .custom_expiration_date
        .as_deref(),
        Some("2027-03-01")
    );
    assert_eq!(
        term(
            "client_authentication_plus",
            with(base.clone(), "custom_expiration_date", json!("01 MAR 2027"))
        )
        .unwrap_err()
        .code,
        "invalid_custom_expiration_date"
    );
    // S/MIME-capable client products are Multipurpose: 825 days at most.
    let premium = with(seed_client_premium(), "order_validity", Value::Null);
    assert_eq!(
        term("client_premium", with(premium, "validity_years", json!(3)))
            .unwrap_err()
            .code,
        "invalid_validity"
    );
    // The deprecated date overrides the deprecated years…
    let p = check(
        "client_authentication_plus",
        with(
            with(base.clone(), "validity_years", json!(1)),
            "custom_expiration_date",
            json!("2027-03-01"),
        ),
    )
    .unwrap();
    assert!(p.term_end.starts_with("2027-03-01"), "{}", p.term_end);
    // …and order_validity wins over both deprecated fields.
    let p = check(
        "client_authentication_plus",
        with(
            with(
                with(base.clone(), "validity_years", json!(1)),
                "custom_expiration_date",
                json!("2027-03-01"),
            ),
            "order_validity",
            json!({"years": 2}),
        ),
    )
    .unwrap();
    assert_eq!(p.term.years, Some(2));
    assert!(p.term_end.starts_with("2028-11-2"), "{}", p.term_end);
    assert_eq!(
        code("client_authentication_plus", base),
        "missing_required_field"
    );
}

#[test]
fn client_common_names() {
    // class1_smime: no common_name; CN is the first address.
    let class1 = with(
        with(seed_client(), "certificate.common_name", Value::Null),
        "organization",
        Value::Null,
    );
    let p = check("class1_smime", class1.clone()).unwrap();
    assert_eq!(p.subject.common_name, "john.doe@example.com");
    assert_eq!(p.smime_type, Some(SmimeType::Mailbox));
    assert_eq!(
        code(
            "class1_smime",
            with(class1, "certificate.common_name", json!("John"))
        ),
        "field_not_allowed"
    );
    // Premium: common_name and indicator required; the CN must be the name
    // or an address.
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.common_name",
                Value::Null
            )
        ),
        "missing_required_field"
    );
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.common_name_indicator",
                Value::Null
            )
        ),
        "missing_required_field"
    );
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.common_name_indicator",
                json!("email_address")
            )
        ),
        "invalid_common_name_indicator"
    );
    assert_eq!(
        code(
            "client_premium",
            with(
                seed_client_premium(),
                "certificate.common_name",
                json!("Bob")
            )
        ),
        "invalid_common_name"
    );
    let p = check(
        "client_email_security_plus",
        with(
            seed_client_premium(),
            "certificate.common_name",
            json!("ALICE@example.com"),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.common_name, "alice@example.com");
    assert_eq!(p.subject.given_name.as_deref(), Some("Alice"));
    let p = check(
        "client_digital_signature_plus",
        with(
            with(
                with(
                    seed_client_premium(),
                    "certificate.common_name_indicator",
                    json!("pseudonym"),
                ),
                "certificate.individual",
                json!({"pseudonym": "A.E."}),
            ),
            "certificate.common_name",
            json!("A.E."),
        ),
    )
    .unwrap();
    assert_eq!(p.subject.pseudonym.as_deref(), Some("A.E."));
    assert_eq!(
        p.usage.additional,
        vec![AdditionalUsage::NonRepudiation, AdditionalUsage::ClientAuth]
    );
}

// ---- subject attributes ---------------------------------------------------

fn org() -> NewOrganization {
    let o = certwell_api::organization::OrganizationInput {
        name: Some("Example Inc.".into()),
        country: Some("us".into()),
        address: Some("1 Main St".into()),
        city: Some("Lindon".into()),
        state: Some("Utah".into()),
        zip: Some("84042".into()),
        telephone: Some("1".into()),
        registration_number: Some("1234567".into()),
        organization_contact: Some(certwell_api::organization::ContactInput {
            first_name: Some("A".into()),
            last_name: Some("B".into()),
            email: Some("a@example.com".into()),
            job_title: Some("CTO".into()),
            telephone: Some("1".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    validate_new_organization(&o, "").unwrap()
}

#[test]
fn subject_attributes_per_type() {
    use SubjectAttribute as A;
    let p = check("secure_email_organization", seed_organization()).unwrap();
    assert_eq!(
        subject_attributes(&p, Some(&org())).unwrap(),
        vec![
            A::Country("US".into()),
            A::State("Utah".into()),
            A::Locality("Lindon".into()),
            A::Organization("Example Inc.".into()),
            A::OrganizationIdentifier("NTRUS-1234567".into()),
            A::CommonName("Example Inc.".into()),
            A::EmailAddress("john.doe@example.com".into()),
        ]
    );
    let p = check("secure_email_mailbox", seed_mailbox()).unwrap();
    assert_eq!(
        subject_attributes(&p, None).unwrap(),
        vec![A::CommonName("john.doe@example.com".into())]
    );
    let p = check(
        "secure_email_sponsor",
        with(seed_sponsor(), "subject.job_title", json!("SRE")),
    )
    .unwrap();
    let attrs = subject_attributes(&p, Some(&org())).unwrap();
    assert_eq!(
        attrs[5..].to_vec(),
        vec![
            A::GivenName("John".into()),
            A::Surname("Doe".into()),
            A::Title("SRE".into()),
            A::CommonName("John Doe".into()),
            A::EmailAddress("john.doe@example.com".into()),
        ]
    );
    // No registration number: no organizationIdentifier, so no S/MIME OV/SV.
    let mut o = org();
    o.ev.registration_number = None;
    assert_eq!(
        subject_attributes(&p, Some(&o)).unwrap_err().code,
        "invalid_organization"
    );
    // Client authentication: no organizationIdentifier needed.
    let p = check("client_authentication_plus", seed_client()).unwrap();
    let attrs = subject_attributes(&p, Some(&o)).unwrap();
    assert_eq!(
        attrs.last(),
        Some(&A::CommonName("john.doe@example.com".into()))
    );
}

#[test]
fn public_email_domains() {
    assert!(is_public_email_domain("gmail.com"));
    assert!(!is_public_email_domain("example.com"));
    assert_eq!(email_domain("a@b.example.com"), "b.example.com");
}

/// `auto_renew` is a number of renewals on the S/MIME and client endpoints
/// (both seeds: "Number of times the certificate should renew").
#[test]
fn auto_renew_is_a_count() {
    let p = check(
        "secure_email_mailbox",
        with(seed_mailbox(), "auto_renew", json!(3)),
    )
    .unwrap();
    assert_eq!(p.common.auto_renew, 3);
    let p = check(
        "client_premium",
        with(seed_client_premium(), "auto_renew", json!(2)),
    )
    .unwrap();
    assert_eq!(p.common.auto_renew, 2);
    assert_eq!(
        check("secure_email_mailbox", seed_mailbox())
            .unwrap()
            .common
            .auto_renew,
        0
    );
    for bad in [json!(-1), json!(100)] {
        let e = check(
            "secure_email_mailbox",
            with(seed_mailbox(), "auto_renew", bad),
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_auto_renew");
        assert!(e.message.contains("auto_renew"));
    }
    // Plans stored before it was a count held a boolean.
    let mut stored = serde_json::to_value(&p.common).unwrap();
    stored["auto_renew"] = json!(true);
    let back: crate::common::OrderCommon = serde_json::from_value(stored).unwrap();
    assert_eq!(back.auto_renew, 1);
}

/// The client seed's full example fits `client_authentication_plus` only;
/// the notice's rules refuse it elsewhere (docs/compatibility.md).
#[test]
fn the_client_seed_example_on_the_other_client_products() {
    assert!(check("client_authentication_plus", seed_client()).is_ok());
    for product in [
        "client_premium",
        "client_digital_signature_plus",
        "client_email_security_plus",
    ] {
        let e = check(product, seed_client()).unwrap_err();
        assert_eq!(e.code, "missing_required_field", "{product}");
        assert!(
            e.message.contains("certificate.common_name_indicator"),
            "{}",
            e.message
        );
    }
    let e = check("class1_smime", seed_client()).unwrap_err();
    assert_eq!(e.code, "field_not_allowed");
    assert!(
        e.message.contains("certificate.common_name"),
        "{}",
        e.message
    );
}

/// The seed's subject-DN example (order-secure-email.txt 333-353), completed
/// with the fields every sponsor order needs: `common_name_indicator` and
/// `individual` at the root as the example writes them, with the
/// given_name/surname spellings.
#[test]
fn the_seed_subject_dn_example() {
    let body = json!({
        "certificate": {
            "emails": ["example@example.com"],
            "csr": "<csr>",
            "usage_designation": {"primary_usage": "signing"}
        },
        "common_name_indicator": "given_name_surname",
        "individual": {"given_name": "John", "surname": "Doe"},
        "subject": {
            "include_given_name_surname": true,
            "include_email": true,
            "include_pseudonym": false,
            "serial_number": "ABC-123",
            "job_title": "SRE"
        },
        "organization": {"id": 3},
        "order_validity": {"years": 1}
    });
    let p = check("secure_email_sponsor", body.clone()).unwrap();
    assert_eq!(p.subject.email.as_deref(), Some("example@example.com"));
    assert_eq!(p.subject.title.as_deref(), Some("SRE"));
    assert_eq!(p.subject.serial_number.as_deref(), Some("ABC-123"));
    assert_eq!(p.subject.given_name.as_deref(), Some("John"));
    assert_eq!(p.subject.surname.as_deref(), Some("Doe"));
    assert_eq!(p.subject.common_name, "John Doe");
    // Inside `certificate` (the table's place) it is the same order.
    let mut inside = body;
    let ind = inside
        .as_object_mut()
        .unwrap()
        .remove("individual")
        .unwrap();
    let cni = inside
        .as_object_mut()
        .unwrap()
        .remove("common_name_indicator")
        .unwrap();
    inside["certificate"]["individual"] = ind;
    inside["certificate"]["common_name_indicator"] = cni;
    assert_eq!(
        check("secure_email_sponsor", inside).unwrap().subject,
        p.subject
    );
}
