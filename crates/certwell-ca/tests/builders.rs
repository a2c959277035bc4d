//! Input validation of the certificate / CRL builders (errors, never panics).

use certwell_ca::*;
use time::{macros::datetime, Duration};

struct Ctx {
    root_der: Vec<u8>,
    root_signer: SoftwareSigner,
    ica_der: Vec<u8>,
    ica_signer: SoftwareSigner,
    leaf_spki: Vec<u8>,
}

fn setup() -> Ctx {
    let nb = datetime!(2026-11-01 00:00:00 UTC);
    let (root_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let subject = CaSubject {
        country: "DE".into(),
        organization: "Certwell Builder Test".into(),
        common_name: "Builder Root".into(),
    };
    let spki = root_signer.spki_der();
    let root_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &subject,
            subject_spki_der: &spki,
            serial: testing::recorded_serial(),
            not_before: nb,
            // GeneralizedTime from 2050 on
            not_after: datetime!(2055-01-01 00:00:00 UTC),
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &root_signer,
    )
    .unwrap();
    let (ica_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let ica_spki = ica_signer.spki_der();
    let ica_subject = CaSubject {
        common_name: "Builder ICA".into(),
        ..subject
    };
    let ica_der = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::TlsIssuing { ev: false },
            subject: &ica_subject,
            subject_spki_der: &ica_spki,
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::days(1000),
            issuer_crl_url: Some("http://crl.example.com/root.crl"),
            issuer_cert_url: None,
        },
        Some(&root_der),
        &root_signer,
    )
    .unwrap();
    let (leaf_signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    Ctx {
        root_der,
        root_signer,
        ica_der,
        ica_signer,
        leaf_spki: leaf_signer.spki_der(),
    }
}

fn ov() -> TlsSubject {
    TlsSubject {
        country: "DE".into(),
        locality: Some("Berlin".into()),
        organization: "Example GmbH".into(),
        ..Default::default()
    }
}

fn leaf(c: &Ctx, ev: bool, subject: &TlsSubject, dns: &[&str]) -> Result<Vec<u8>, CaError> {
    let dns: Vec<String> = dns.iter().map(|s| s.to_string()).collect();
    let nb = datetime!(2026-11-02 00:00:00 UTC);
    build_tls_leaf(
        TlsLeafRequest {
            ev,
            subject,
            dns_names: &dns,
            subject_spki_der: &c.leaf_spki,
            serial: testing::recorded_serial(),
            not_before: nb,
            not_after: nb + Duration::seconds(199 * 86400 - 1),
            max_validity_days: 398,
            crl_url: "http://crl.example.com/ica.crl",
            ca_issuers_url: "http://certs.example.com/ica.crt",
            ocsp_url: None,
        },
        &c.ica_der,
        &c.ica_signer,
    )
}

#[test]
fn generalized_time_and_basic_leaf() {
    let c = setup();
    // 2055 notAfter is GeneralizedTime: 18 0f "20550101000000Z"
    let needle = [&[0x18u8, 0x0f][..], b"20550101000000Z"].concat();
    assert!(c
        .root_der
        .windows(needle.len())
        .any(|w| w == needle.as_slice()));
    let utc = [&[0x17u8, 0x0d][..], b"261101000000Z"].concat();
    assert!(c.root_der.windows(utc.len()).any(|w| w == utc.as_slice()));
    let der = leaf(&c, false, &ov(), &["a.example.com"]).unwrap();
    verify_issued_by(&der, &c.ica_der).unwrap();
    verify_issued_by(&c.ica_der, &c.root_der).unwrap();
}

#[test]
fn leaf_input_errors() {
    let c = setup();
    let err = |r: Result<Vec<u8>, CaError>| match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    };
    // CN must be one of the SANs.
    let mut s = ov();
    s.common_name = Some("other.example.com".into());
    assert!(err(leaf(&c, false, &s, &["a.example.com"])).contains("common_name"));
    // No SANs.
    assert!(err(leaf(&c, false, &ov(), &[])).contains("dNSName"));
    // Wildcard in EV, malformed names.
    let ev = TlsSubject {
        business_category: Some("Private Organization".into()),
        jurisdiction_country: Some("DE".into()),
        serial_number: Some("HRB 12345".into()),
        ..ov()
    };
    assert!(leaf(&c, true, &ev, &["ev.example.com"]).is_ok());
    assert!(err(leaf(&c, true, &ev, &["*.example.com"])).contains("wildcard"));
    for bad in [
        "",
        "a..example.com",
        "host",
        "-a.example.com",
        "a_b.example.com",
        "ex ample.com",
        "*.*.example.com",
    ] {
        assert!(leaf(&c, false, &ov(), &[bad]).is_err(), "{bad:?}");
    }
    assert!(err(leaf(&c, false, &ov(), &["a.example.com", "a.example.com"])).contains("duplicate"));
    // EV requirements.
    for f in [
        |s: &mut TlsSubject| s.business_category = None,
        |s: &mut TlsSubject| s.jurisdiction_country = None,
        |s: &mut TlsSubject| s.serial_number = None,
        |s: &mut TlsSubject| s.business_category = Some("Startup".into()),
        |s: &mut TlsSubject| s.serial_number = Some("a@b".into()),
    ] {
        let mut s = ev.clone();
        f(&mut s);
        assert!(leaf(&c, true, &s, &["ev.example.com"]).is_err());
    }
    // EV attributes in an OV certificate.
    assert!(err(leaf(&c, false, &ev, &["a.example.com"])).contains("EV"));
    // Subject rules.
    for f in [
        |s: &mut TlsSubject| s.country = "usa".into(),
        |s: &mut TlsSubject| s.country = "us".into(),
        |s: &mut TlsSubject| s.locality = None,
        |s: &mut TlsSubject| s.organization = " ".into(),
        |s: &mut TlsSubject| s.organization = "-".into(),
        |s: &mut TlsSubject| s.organization = "x".repeat(65),
        |s: &mut TlsSubject| s.organization = "Tab\tCorp".into(),
    ] {
        let mut s = ov();
        f(&mut s);
        assert!(leaf(&c, false, &s, &["a.example.com"]).is_err());
    }
    // Wrong signer for the issuer; CA key as subscriber key; bad validity; bad URLs.
    // (Malformed serials — zero, over 20 octets — can no longer reach a
    // builder: a RecordedSerial only comes from a ledger. encode_serial's
    // refusal is unit-tested in src/cert.rs `serials`, check_tbs's in
    // src/profile.rs `refuses_invalid_serials`.)
    let dns = vec!["a.example.com".to_string()];
    let subject = ov();
    let base = || base_request(&c, &subject, &dns);
    assert!(build_tls_leaf(base(), &c.ica_der, &c.ica_signer).is_ok());
    assert!(build_tls_leaf(base(), &c.ica_der, &c.root_signer).is_err());
    let ica_spki = c.ica_signer.spki_der();
    assert!(build_tls_leaf(
        TlsLeafRequest {
            subject_spki_der: &ica_spki,
            ..base()
        },
        &c.ica_der,
        &c.ica_signer
    )
    .is_err());
    assert!(build_tls_leaf(
        TlsLeafRequest {
            subject_spki_der: b"junk",
            ..base()
        },
        &c.ica_der,
        &c.ica_signer
    )
    .is_err());
    let nb = base().not_before;
    assert!(build_tls_leaf(
        TlsLeafRequest {
            not_after: nb,
            ..base()
        },
        &c.ica_der,
        &c.ica_signer
    )
    .is_err());
    assert!(build_tls_leaf(
        TlsLeafRequest {
            crl_url: "ldap://x",
            ..base()
        },
        &c.ica_der,
        &c.ica_signer
    )
    .is_err());
    assert!(build_tls_leaf(
        TlsLeafRequest {
            ocsp_url: Some("https://o.example.com"),
            ..base()
        },
        &c.ica_der,
        &c.ica_signer
    )
    .is_err());
    // Issuer must be a CA certificate and parseable.
    let leaf_der = build_tls_leaf(base(), &c.ica_der, &c.ica_signer).unwrap();
    assert!(build_tls_leaf(base(), &leaf_der, &c.ica_signer).is_err());
    assert!(build_tls_leaf(base(), b"not a cert", &c.ica_signer).is_err());
    assert!(build_tls_leaf(base(), &[], &c.ica_signer).is_err());
}

/// BR §6.3.2 (SC-081): the builder's pre-sign check caps a TLS leaf at the
/// BR maximum for its notBefore even when the caller's cap is higher.
#[test]
fn tls_leaf_validity_follows_the_br_schedule() {
    let c = setup();
    let dns = vec!["a.example.com".to_string()];
    let subject = ov();
    let build = |not_before: time::OffsetDateTime, days: i64| {
        build_tls_leaf(
            TlsLeafRequest {
                not_before,
                not_after: not_before + Duration::seconds(days * 86400 - 1),
                max_validity_days: 398,
                ..base_request(&c, &subject, &dns)
            },
            &c.ica_der,
            &c.ica_signer,
        )
    };
    for (boundary, before, from) in [
        (datetime!(2026-03-15 00:00:00 UTC), 398, 200),
        (datetime!(2027-03-15 00:00:00 UTC), 200, 100),
        (datetime!(2029-03-15 00:00:00 UTC), 100, 47),
    ] {
        let last = boundary - Duration::seconds(1);
        assert_eq!(tls_br_max_days(last), before);
        assert_eq!(tls_br_max_days(boundary), from);
        let der = build(last, before).unwrap();
        verify_issued_by(&der, &c.ica_der).unwrap();
        build(boundary, from).unwrap();
        match build(boundary, from + 1) {
            Err(CaError::Profile(m)) => {
                assert!(m.contains(&format!("maximum of {from} days")), "{m}")
            }
            other => panic!("expected a profile violation, got {other:?}"),
        }
    }
}

/// A valid OV request under `c`'s ICA with a fresh recorded serial (tests
/// vary one field with `..base_request(..)`).
fn base_request<'a>(c: &'a Ctx, subject: &'a TlsSubject, dns: &'a [String]) -> TlsLeafRequest<'a> {
    TlsLeafRequest {
        ev: false,
        subject,
        dns_names: dns,
        subject_spki_der: &c.leaf_spki,
        serial: testing::recorded_serial(),
        not_before: datetime!(2026-11-02 00:00:00 UTC),
        not_after: datetime!(2027-01-01 00:00:00 UTC),
        max_validity_days: 398,
        crl_url: "http://crl.example.com/ica.crl",
        ca_issuers_url: "http://certs.example.com/ica.crt",
        ocsp_url: None,
    }
}

#[test]
fn ca_and_crl_input_errors() {
    let c = setup();
    let subject = CaSubject {
        country: "DE".into(),
        organization: "O".into(),
        common_name: "CN".into(),
    };
    let spki = c.root_signer.spki_der();
    let nb = datetime!(2026-11-01 00:00:00 UTC);
    let req = || CaCertRequest {
        profile: CaProfile::Root,
        subject: &subject,
        subject_spki_der: &spki,
        serial: testing::recorded_serial(),
        not_before: nb,
        not_after: nb + Duration::days(3000),
        issuer_crl_url: None,
        issuer_cert_url: None,
    };
    assert!(build_ca_certificate(req(), None, &c.root_signer).is_ok());
    // Root with issuer / with foreign signer.
    assert!(build_ca_certificate(req(), Some(&c.root_der), &c.root_signer).is_err());
    assert!(build_ca_certificate(req(), None, &c.ica_signer).is_err());
    // ICA without issuer / without CRL URL / with https CRL URL.
    let ica = |issuer_crl_url| CaCertRequest {
        profile: CaProfile::TlsIssuing { ev: true },
        issuer_crl_url,
        ..req()
    };
    assert!(build_ca_certificate(ica(None), None, &c.root_signer).is_err());
    assert!(build_ca_certificate(ica(None), Some(&c.root_der), &c.root_signer).is_err());
    let https = Some("https://crl.example.com/r.crl");
    assert!(build_ca_certificate(ica(https), Some(&c.root_der), &c.root_signer).is_err());
    let http = Some("http://crl.example.com/r.crl");
    assert!(build_ca_certificate(ica(http), Some(&c.root_der), &c.root_signer).is_ok());
    assert!(build_ca_certificate(ica(http), Some(&c.root_der), &c.ica_signer).is_err());

    // CRL errors.
    let nb = datetime!(2026-11-05 00:00:00 UTC);
    let e = |serial: Vec<u8>, reason| CrlEntry {
        serial,
        revocation_date: nb,
        reason,
    };
    assert!(build_crl(
        &c.ica_der,
        &c.ica_signer,
        1,
        nb,
        nb + Duration::days(7),
        &[]
    )
    .is_ok());
    assert!(build_crl(
        &c.ica_der,
        &c.root_signer,
        1,
        nb,
        nb + Duration::days(7),
        &[]
    )
    .is_err());
    assert!(build_crl(&c.ica_der, &c.ica_signer, 1, nb, nb, &[]).is_err());
    // The nextUpdate of a CRL reads back.
    let next = nb + Duration::days(365);
    let crl = build_crl(&c.root_der, &c.root_signer, 1, nb, next, &[]).unwrap();
    assert_eq!(certwell_ca::crl_next_update(&crl), Some(next));
    assert_eq!(certwell_ca::crl_next_update(b"\x30\x00"), None);
    assert!(build_crl(b"junk", &c.ica_signer, 1, nb, nb + Duration::days(7), &[]).is_err());
    assert!(build_crl(
        &c.ica_der,
        &c.ica_signer,
        1,
        nb,
        nb + Duration::days(7),
        &[e(vec![1], Some(7))]
    )
    .is_err());
    assert!(build_crl(
        &c.ica_der,
        &c.ica_signer,
        1,
        nb,
        nb + Duration::days(7),
        &[e(vec![0], None)]
    )
    .is_err());
    assert!(build_crl(
        &c.ica_der,
        &c.ica_signer,
        1,
        nb,
        nb + Duration::days(7),
        &[e(vec![5], None), e(vec![0, 5], Some(1))]
    )
    .is_err());
    let crl = build_crl(
        &c.ica_der,
        &c.ica_signer,
        u64::MAX,
        nb,
        nb + Duration::days(7),
        &[e(vec![5], Some(0)), e(vec![6], Some(4))],
    )
    .unwrap();
    verify_issued_by(&crl, &c.ica_der).unwrap();
    assert!(verify_issued_by(&crl, &c.root_der).is_err());
}
