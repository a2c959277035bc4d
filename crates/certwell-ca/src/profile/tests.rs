//! Every refusal test starts from a TBS that passes (a fixture built with
//! the same helpers, in the same order, as the real builder — the
//! `*_fixture_is_what_the_builder_signs` tests pin that byte for byte),
//! changes one thing, and asserts the message of the one check it
//! targets, so removing that check makes the test fail.

use super::*;
use crate::cert::OID_CN;
use crate::cert::{
    build_ca_certificate, build_tls_leaf, country_rdn, encode_validity, ext_aia, ext_aki,
    ext_crldp, ext_eku, ext_ku, ext_policy_list, ext_ski, extension, key_identifier, random_serial,
    rdn, tbs_certificate, CaCertRequest, CaSubject, ParsedCert, StrType, TlsLeafRequest,
    TlsSubject, OID_C, OID_L, OID_O, OID_ST,
};
use crate::derw::Tlv;
use crate::serial::tests::unrecorded;
use crate::signer::{KeyAlgorithm, SignatureScheme, Signer, SoftwareSigner};
use crate::subscriber::{build_subscriber_leaf, KeyUsageBits, SubjectAttr, SubscriberLeafRequest};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NB: OffsetDateTime = datetime!(2026-11-02 00:00 UTC);
const CRL: &str = "http://crl.example.com/ica.crl";
const CA_ISSUERS: &str = "http://certs.example.com/ica.crt";
const OCSP: &str = "http://ocsp.example.com";
const ROOT_CRL: &str = "http://crl.example.com/root.crl";
const ROOT_CERT: &str = "http://certs.example.com/root.crt";
const MBX_MP: &str = "2.23.140.1.5.1.2";
const MBX_STRICT: &str = "2.23.140.1.5.1.3";
const SPONSOR_STRICT: &str = "2.23.140.1.5.3.3";
const OID_ON_UPN: &str = "1.3.6.1.4.1.311.20.2.3";
// keyUsage bit numbers (RFC 5280 §4.2.1.3)
const DS: u8 = 0;
const CERT_SIGN: u8 = 5;
const CRL_SIGN: u8 = 6;

const OV: CertProfile = CertProfile::TlsServer {
    ev: false,
    max_validity_days: 398,
};
const EV: CertProfile = CertProfile::TlsServer {
    ev: true,
    max_validity_days: 398,
};
const SMIME: CertProfile = CertProfile::Subscriber {
    kind: SubscriberProfile::Smime,
    max_validity_days: 825,
};
const CLIENT: CertProfile = CertProfile::Subscriber {
    kind: SubscriberProfile::ClientAuth,
    max_validity_days: 1095,
};
const DOCSIGN: CertProfile = CertProfile::Subscriber {
    kind: SubscriberProfile::DocumentSigning,
    max_validity_days: 1095,
};
const RESPONDER: CertProfile = CertProfile::Ca(CaProfile::OcspResponder);

/// A self-signed P-256 CA that the fixtures name as issuer and the real
/// builders sign with.
struct Issuer {
    signer: SoftwareSigner,
    cert: Vec<u8>,
    subject: Vec<u8>,
    ski: Vec<u8>,
}

fn ca_subject(cn: &str) -> CaSubject {
    CaSubject {
        country: "US".into(),
        organization: "Certwell Unit".into(),
        common_name: cn.into(),
    }
}

/// `cert::ca_subject_der`: C, O, CN.
fn ca_subject_der(cn: &str) -> Vec<u8> {
    derw::seq(&[
        &country_rdn(OID_C, "country", "US").unwrap(),
        &rdn(OID_O, "organization", "Certwell Unit", StrType::Utf8, 64).unwrap(),
        &rdn(OID_CN, "common_name", cn, StrType::Utf8, 64).unwrap(),
    ])
}

fn issuer() -> Issuer {
    let (signer, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let spki = signer.spki_der();
    let cert = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &ca_subject("Unit Root"),
            subject_spki_der: &spki,
            serial: unrecorded(&random_serial()),
            not_before: NB - Duration::days(1),
            not_after: NB + Duration::days(3650),
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &signer,
    )
    .unwrap();
    let parsed = ParsedCert::parse(&cert).unwrap();
    let (subject, ski) = (
        parsed.subject_raw.to_vec(),
        parsed.subject_key_id().unwrap(),
    );
    Issuer {
        signer,
        cert,
        subject,
        ski,
    }
}

fn fresh_spki() -> Vec<u8> {
    SoftwareSigner::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .0
        .spki_der()
}

fn tbs_of(cert: &[u8]) -> Vec<u8> {
    ParsedCert::parse(cert).unwrap().tbs_raw.to_vec()
}

fn ext_oid(ext: &[u8]) -> String {
    let e = Tlv::parse_single(ext).unwrap();
    derw::oid_to_string(e.reader().read_tag(derw::TAG_OID).unwrap().value).unwrap()
}

/// The fields of a TBS certificate; `der` assembles them with
/// `cert::tbs_certificate`, as every builder does.
struct Parts {
    serial: Vec<u8>,
    alg: Vec<u8>,
    issuer: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    subject: Vec<u8>,
    spki: Vec<u8>,
    exts: Vec<Vec<u8>>,
}

impl Parts {
    fn new(i: &Issuer, subject: Vec<u8>, spki: Vec<u8>, exts: Vec<Vec<u8>>) -> Parts {
        Parts {
            serial: random_serial(),
            alg: i.signer.signature_algorithm_der(),
            issuer: i.subject.clone(),
            not_before: NB,
            not_after: NB + Duration::days(90),
            subject,
            spki,
            exts,
        }
    }

    fn der(&self) -> Vec<u8> {
        let validity = encode_validity(self.not_before, self.not_after).unwrap();
        tbs_certificate(
            &unrecorded(&self.serial),
            &self.alg,
            &self.issuer,
            &validity,
            &self.subject,
            &self.spki,
            &self.exts,
        )
        .unwrap()
    }

    /// `check_tbs` with the serial and algorithm the TBS carries.
    fn check(&self, profile: CertProfile) -> Result<CheckedTbs, CaError> {
        check_tbs(self.der(), profile, &unrecorded(&self.serial), &self.alg)
    }

    /// Replaces the extension with `ext`'s OID in place.
    fn set(mut self, ext: Vec<u8>) -> Parts {
        let oid = ext_oid(&ext);
        let slot = self
            .exts
            .iter_mut()
            .find(|e| ext_oid(e) == oid)
            .unwrap_or_else(|| panic!("no {oid} extension to replace"));
        *slot = ext;
        self
    }

    fn with(mut self, ext: Vec<u8>) -> Parts {
        self.exts.push(ext);
        self
    }

    fn without(mut self, oid: &str) -> Parts {
        let before = self.exts.len();
        self.exts.retain(|e| ext_oid(e) != oid);
        assert_eq!(self.exts.len(), before - 1, "no {oid} extension to remove");
        self
    }

    fn valid_for(mut self, secs: i64) -> Parts {
        self.not_after = self.not_before + Duration::seconds(secs);
        self
    }

    /// Moves notBefore to `nb`, keeping the validity period.
    fn starting(mut self, nb: OffsetDateTime) -> Parts {
        self.not_after = nb + (self.not_after - self.not_before);
        self.not_before = nb;
        self
    }
}

#[track_caller]
fn refused(r: Result<CheckedTbs, CaError>, needle: &str) {
    match r {
        Err(CaError::Profile(m)) => assert!(m.contains(needle), "expected {needle:?} in {m:?}"),
        other => panic!("expected a profile violation {needle:?}, got {other:?}"),
    }
}

fn bc_ca() -> Vec<u8> {
    extension(OID_EXT_BC, true, &derw::seq(&[&derw::boolean_true()]))
}

/// basicConstraints with cA absent (FALSE).
fn bc_not_ca() -> Vec<u8> {
    extension(OID_EXT_BC, true, &derw::seq(&[]))
}

fn san(names: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_SAN, false, &derw::seq(&refs))
}

fn dns(name: &str) -> Vec<u8> {
    derw::tlv(derw::ctx_prim(2), name.as_bytes())
}

fn email(addr: &str) -> Vec<u8> {
    derw::tlv(derw::ctx_prim(1), addr.as_bytes())
}

fn upn(u: &str) -> Vec<u8> {
    let value = derw::cons(
        derw::ctx_cons(0),
        &[&derw::tlv(derw::TAG_UTF8_STRING, u.as_bytes())],
    );
    derw::cons(derw::ctx_cons(0), &[&derw::oid(OID_ON_UPN), &value])
}

// ---- fixtures ------------------------------------------------------------------------

/// `build_tls_leaf`'s TBS: OV/EV subject C, ST, L, O[, CN], then AKI, SAN,
/// policy, EKU serverAuth, KU digitalSignature, CRLDP, AIA.
fn tls_leaf(i: &Issuer, ev: bool, names: &[&str], cn: Option<&str>) -> Parts {
    let mut rdns = vec![
        country_rdn(OID_C, "country", "US").unwrap(),
        rdn(OID_ST, "state", "Utah", StrType::Utf8, 128).unwrap(),
        rdn(OID_L, "locality", "Lehi", StrType::Utf8, 128).unwrap(),
        rdn(OID_O, "organization", "Example Corp", StrType::Utf8, 64).unwrap(),
    ];
    if let Some(cn) = cn {
        rdns.push(rdn(OID_CN, "common_name", cn, StrType::Utf8, 64).unwrap());
    }
    let refs: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
    let names: Vec<Vec<u8>> = names.iter().map(|n| dns(n)).collect();
    let policy = if ev { POLICY_TLS_EV } else { POLICY_TLS_OV };
    let exts = vec![
        ext_aki(&i.ski),
        san(&names),
        ext_policy_list(&[policy]),
        ext_eku(&[OID_KP_SERVER_AUTH]),
        ext_ku(&[DS]),
        ext_crldp(CRL),
        ext_aia(Some(CA_ISSUERS), Some(OCSP)),
    ];
    Parts::new(i, derw::seq(&refs), fresh_spki(), exts)
}

/// `build_subscriber_leaf`'s TBS: subject CN=alice@example.com, then
/// AKI, SKI, KU, EKU, policies, CRLDP, AIA, SAN.
fn subscriber_leaf(i: &Issuer, ekus: &[&str], policies: &[&str], san_ext: Vec<u8>) -> Parts {
    let spki = fresh_spki();
    let subject = derw::seq(&[&rdn(
        OID_CN,
        "common_name",
        "alice@example.com",
        StrType::Utf8,
        64,
    )
    .unwrap()]);
    let exts = vec![
        ext_aki(&i.ski),
        ext_ski(&key_identifier(&spki).unwrap()),
        ext_ku(&[DS]),
        ext_eku(ekus),
        ext_policy_list(policies),
        ext_crldp(CRL),
        ext_aia(Some(CA_ISSUERS), Some(OCSP)),
        san_ext,
    ];
    Parts::new(i, subject, spki, exts)
}

fn smime_strict(i: &Issuer) -> Parts {
    subscriber_leaf(
        i,
        &[OID_EKU_EMAIL_PROTECTION],
        &[MBX_STRICT],
        san(&[email("alice@example.com")]),
    )
}

/// `build_ca_certificate`'s OCSP responder TBS.
fn ocsp_responder(i: &Issuer) -> Parts {
    let spki = fresh_spki();
    let exts = vec![
        ext_ku(&[DS]),
        ext_eku(&[OID_EKU_OCSP_SIGNING]),
        extension(OID_EXT_OCSP_NOCHECK, false, &[derw::TAG_NULL, 0]),
        ext_ski(&key_identifier(&spki).unwrap()),
        ext_aki(&i.ski),
    ];
    Parts::new(i, ca_subject_der("Unit Responder"), spki, exts)
}

/// `build_ca_certificate`'s OV TLS issuing-CA TBS.
fn tls_issuing_ca(i: &Issuer) -> Parts {
    let spki = fresh_spki();
    let exts = vec![
        extension(
            OID_EXT_BC,
            true,
            &derw::seq(&[&derw::boolean_true(), &derw::uint_u64(0)]),
        ),
        ext_ku(&[DS, CERT_SIGN, CRL_SIGN]),
        ext_ski(&key_identifier(&spki).unwrap()),
        ext_aki(&i.ski),
        ext_policy_list(&[POLICY_TLS_OV]),
        ext_eku(&[OID_KP_SERVER_AUTH]),
        ext_crldp(ROOT_CRL),
        ext_aia(Some(ROOT_CERT), None),
    ];
    let mut p = Parts::new(i, ca_subject_der("Unit ICA"), spki, exts);
    p.not_after = NB + Duration::days(1825);
    p
}

/// `build_ca_certificate`'s root TBS, for the key of `i`.
fn root(i: &Issuer) -> Parts {
    let spki = i.signer.spki_der();
    let ski = key_identifier(&spki).unwrap();
    let exts = vec![
        bc_ca(),
        ext_ku(&[CERT_SIGN, CRL_SIGN]),
        ext_ski(&ski),
        ext_aki(&ski),
    ];
    let subject = ca_subject_der("Unit Root 2");
    let mut p = Parts::new(i, subject.clone(), spki, exts);
    p.issuer = subject;
    p.not_after = NB + Duration::days(3650);
    p
}

// ---- the fixtures are what the builders sign, and that passes -------------------------

#[test]
fn tls_leaf_fixture_is_what_the_builder_signs_and_passes() {
    let i = issuer();
    let p = tls_leaf(
        &i,
        false,
        &["www.example.com", "example.com"],
        Some("www.example.com"),
    );
    let subject = TlsSubject {
        country: "US".into(),
        state: Some("Utah".into()),
        locality: Some("Lehi".into()),
        organization: "Example Corp".into(),
        common_name: Some("www.example.com".into()),
        ..Default::default()
    };
    let names = ["www.example.com".to_string(), "example.com".to_string()];
    let cert = build_tls_leaf(
        TlsLeafRequest {
            ev: false,
            subject: &subject,
            dns_names: &names,
            subject_spki_der: &p.spki,
            serial: unrecorded(&p.serial),
            not_before: p.not_before,
            not_after: p.not_after,
            max_validity_days: 398,
            crl_url: CRL,
            ca_issuers_url: CA_ISSUERS,
            ocsp_url: Some(OCSP),
        },
        &i.cert,
        &i.signer,
    )
    .unwrap();
    let tbs = tbs_of(&cert);
    assert_eq!(tbs, p.der());
    let checked = check_tbs(tbs.clone(), OV, &unrecorded(&p.serial), &p.alg).unwrap();
    assert_eq!(checked.der(), tbs.as_slice());
    // The EV fixture (no wildcard) passes its profile too.
    tls_leaf(&i, true, &["ev.example.com"], None)
        .check(EV)
        .unwrap();
}

#[test]
fn smime_leaf_fixture_is_what_the_builder_signs_and_passes() {
    let i = issuer();
    let p = smime_strict(&i);
    let cert = build_subscriber_leaf(
        SubscriberLeafRequest {
            subject: &[SubjectAttr::CommonName("alice@example.com".into())],
            emails: &["alice@example.com".to_string()],
            upn: None,
            key_usage: KeyUsageBits {
                digital_signature: true,
                ..Default::default()
            },
            ext_key_usages: &[OID_EKU_EMAIL_PROTECTION],
            policy_oids: &[MBX_STRICT],
            subject_spki_der: &p.spki,
            serial: unrecorded(&p.serial),
            not_before: p.not_before,
            not_after: p.not_after,
            profile: SubscriberProfile::Smime,
            max_validity_days: 825,
            crl_url: CRL,
            ca_issuers_url: CA_ISSUERS,
            ocsp_url: Some(OCSP),
            signature: SignatureScheme::EcdsaP256Sha256,
        },
        &i.cert,
        &i.signer,
    )
    .unwrap();
    assert_eq!(tbs_of(&cert), p.der());
    p.check(SMIME).unwrap();
}

#[test]
fn client_auth_and_document_signing_fixtures_pass() {
    let i = issuer();
    let client = || {
        subscriber_leaf(
            &i,
            &[OID_EKU_CLIENT_AUTH],
            &[POLICY_CERTWELL_CLIENT_AUTH],
            san(&[upn("svc@corp.example.com")]),
        )
    };
    client().check(CLIENT).unwrap();
    let docsign = || {
        subscriber_leaf(
            &i,
            &[
                OID_EKU_DOCUMENT_SIGNING_MS,
                OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS,
            ],
            &[POLICY_CERTWELL_DOCUMENT_SIGNING],
            san(&[email("alice@example.com")]),
        )
    };
    docsign().check(DOCSIGN).unwrap();
    // Each needs its own policy and EKU, and neither may be a TLS certificate.
    refused(
        client()
            .set(ext_eku(&[OID_EKU_EMAIL_PROTECTION]))
            .check(CLIENT),
        "needs clientAuth",
    );
    refused(
        client()
            .set(ext_policy_list(&[POLICY_CERTWELL_DOCUMENT_SIGNING]))
            .check(CLIENT),
        "client-authentication policy",
    );
    refused(
        client()
            .set(ext_eku(&[OID_EKU_CLIENT_AUTH, OID_KP_SERVER_AUTH]))
            .check(CLIENT),
        "only TLS certificates may have serverAuth",
    );
    refused(
        docsign()
            .set(ext_eku(&[OID_EKU_CLIENT_AUTH]))
            .check(DOCSIGN),
        "document-signing extKeyUsage",
    );
    refused(
        docsign()
            .set(ext_policy_list(&[POLICY_CERTWELL_CLIENT_AUTH]))
            .check(DOCSIGN),
        "document-signing policy",
    );
}

#[test]
fn ocsp_responder_fixture_is_what_the_builder_signs_and_passes() {
    let i = issuer();
    let p = ocsp_responder(&i);
    let cert = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::OcspResponder,
            subject: &ca_subject("Unit Responder"),
            subject_spki_der: &p.spki,
            serial: unrecorded(&p.serial),
            not_before: p.not_before,
            not_after: p.not_after,
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        Some(&i.cert),
        &i.signer,
    )
    .unwrap();
    assert_eq!(tbs_of(&cert), p.der());
    p.check(RESPONDER).unwrap();
}

#[test]
fn ca_fixtures_are_what_the_builder_signs_and_pass() {
    let i = issuer();
    let p = tls_issuing_ca(&i);
    let cert = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::TlsIssuing { ev: false },
            subject: &ca_subject("Unit ICA"),
            subject_spki_der: &p.spki,
            serial: unrecorded(&p.serial),
            not_before: p.not_before,
            not_after: p.not_after,
            issuer_crl_url: Some(ROOT_CRL),
            issuer_cert_url: Some(ROOT_CERT),
        },
        Some(&i.cert),
        &i.signer,
    )
    .unwrap();
    assert_eq!(tbs_of(&cert), p.der());
    p.check(CertProfile::Ca(CaProfile::TlsIssuing { ev: false }))
        .unwrap();

    let r = root(&i);
    let cert = build_ca_certificate(
        CaCertRequest {
            profile: CaProfile::Root,
            subject: &ca_subject("Unit Root 2"),
            subject_spki_der: &r.spki,
            serial: unrecorded(&r.serial),
            not_before: r.not_before,
            not_after: r.not_after,
            issuer_crl_url: None,
            issuer_cert_url: None,
        },
        None,
        &i.signer,
    )
    .unwrap();
    assert_eq!(tbs_of(&cert), r.der());
    r.check(CertProfile::Ca(CaProfile::Root)).unwrap();
}

// ---- serial and signature algorithm -------------------------------------------------

#[test]
fn refuses_a_serial_other_than_the_recorded_one() {
    let i = issuer();
    let p = tls_leaf(&i, false, &["www.example.com"], None);
    let other = random_serial();
    assert_ne!(other, p.serial);
    refused(
        check_tbs(p.der(), OV, &unrecorded(&other), &p.alg),
        "not the recorded one",
    );
    // Same value, but as a different INTEGER encoding of the recorded one.
    let mut longer = vec![0x01];
    longer.extend_from_slice(&p.serial);
    refused(
        check_tbs(p.der(), OV, &unrecorded(&longer), &p.alg),
        "not the recorded one",
    );
}

/// The TBS `der` with its serialNumber TLV replaced by `serial_tlv`
/// (`tbs_certificate` itself refuses to encode a bad serial).
fn with_serial_tlv(der: &[u8], serial_tlv: &[u8]) -> Vec<u8> {
    let tbs = Tlv::parse_single(der).unwrap();
    let mut r = tbs.reader();
    let mut fields: Vec<&[u8]> = Vec::new();
    while !r.is_empty() {
        fields.push(r.read().unwrap().raw);
    }
    fields[1] = serial_tlv;
    derw::seq(&fields)
}

/// The malformed serials the builder tests used to pass by hand (zero,
/// 21 octets) can no longer reach a builder; the pre-sign check refuses
/// them even when they are "recorded".
#[test]
fn refuses_invalid_serials() {
    let i = issuer();
    let p = tls_leaf(&i, false, &["www.example.com"], None);
    let check = |bytes: &[u8], content: &[u8]| {
        let der = with_serial_tlv(&p.der(), &derw::tlv(derw::TAG_INTEGER, content));
        check_tbs(der, OV, &unrecorded(bytes), &p.alg)
    };
    // The splice itself is faithful: the fixture's own serial passes.
    check(&p.serial, &derw::uint_content(&p.serial)).unwrap();
    // 20 octets is the maximum…
    check(&[0x7f; 20], &[0x7f; 20]).unwrap();
    // …21 octets and zero are refused by the serial rule itself.
    refused(check(&[0x7f; 21], &[0x7f; 21]), "at most 20 octets");
    refused(check(&[0], &[0]), "non-zero");
    refused(check(&[0, 0], &[0]), "non-zero");
    // Negative and empty INTEGERs are never the encoding of a recorded
    // (positive) serial.
    refused(check(&[0x80, 0x01], &[0x80, 0x01]), "not the recorded one");
    refused(check(&[], &[]), "not the recorded one");
}

#[test]
fn refuses_a_signature_algorithm_other_than_the_signers() {
    let i = issuer();
    let p = tls_leaf(&i, false, &["www.example.com"], None);
    let p384 = KeyAlgorithm::EcdsaP384.signature_algorithm_der();
    assert_ne!(p384, p.alg);
    refused(
        check_tbs(p.der(), OV, &unrecorded(&p.serial), &p384),
        "signature algorithm differs",
    );
    // And the other way round: a TBS naming P-384 checked for a P-256 signer.
    let alg = p.alg.clone();
    let q = Parts { alg: p384, ..p };
    refused(
        check_tbs(q.der(), OV, &unrecorded(&q.serial), &alg),
        "signature algorithm differs",
    );
}

#[test]
fn refuses_a_duplicated_extension() {
    let i = issuer();
    refused(
        tls_leaf(&i, false, &["www.example.com"], None)
            .with(ext_crldp("http://crl.example.com/other.crl"))
            .check(OV),
        &format!("extension {OID_EXT_CRLDP} appears twice"),
    );
    // Byte-identical duplicates too, for every profile family.
    refused(
        smime_strict(&i).with(ext_aki(&i.ski)).check(SMIME),
        "appears twice",
    );
    refused(
        ocsp_responder(&i)
            .with(ext_eku(&[OID_EKU_OCSP_SIGNING]))
            .check(RESPONDER),
        "appears twice",
    );
}

// ---- TLS leaves ------------------------------------------------------------------------

#[test]
fn tls_br_max_days_follows_the_sc081_schedule() {
    for (nb, days) in [
        (datetime!(2020-09-01 00:00 UTC), 398),
        (datetime!(2026-03-14 23:59:59 UTC), 398),
        (datetime!(2026-03-15 00:00 UTC), 200),
        (datetime!(2027-03-14 23:59:59 UTC), 200),
        (datetime!(2027-03-15 00:00 UTC), 100),
        (datetime!(2029-03-14 23:59:59 UTC), 100),
        (datetime!(2029-03-15 00:00 UTC), 47),
        (datetime!(2049-12-31 23:59:59 UTC), 47),
        // The boundary is midnight UTC, whatever the offset it is given in.
        (datetime!(2026-03-15 00:30 +01:00), 398),
        (datetime!(2027-03-14 23:30 -01:00), 100),
    ] {
        assert_eq!(tls_br_max_days(nb), days, "notBefore {nb}");
    }
}

#[test]
fn tls_validity_cap() {
    let i = issuer();
    // Before 2026-03-15 the BR maximum is 398 days; the later steps of
    // the schedule are `tls_validity_cap_follows_the_br_schedule`.
    let leaf = || {
        tls_leaf(&i, false, &["www.example.com"], None).starting(datetime!(2026-01-15 00:00 UTC))
    };
    let tls = |max| CertProfile::TlsServer {
        ev: false,
        max_validity_days: max,
    };
    let day = 86_400;
    // The period is notAfter − notBefore + 1 s: 398 days − 1 s is exactly the cap.
    leaf().valid_for(398 * day - 1).check(tls(398)).unwrap();
    refused(
        leaf().valid_for(398 * day).check(tls(398)),
        "exceeds the profile's maximum of 398 days",
    );
    // A lower cap in force is applied as given…
    leaf().valid_for(199 * day - 1).check(tls(199)).unwrap();
    refused(
        leaf().valid_for(199 * day).check(tls(199)),
        "maximum of 199 days",
    );
    // …a higher one is clamped to the BR's 398 days.
    leaf().valid_for(398 * day - 1).check(tls(500)).unwrap();
    refused(
        leaf().valid_for(398 * day).check(tls(500)),
        "maximum of 398 days",
    );
    // No cap (0) admits nothing.
    refused(leaf().valid_for(day).check(tls(0)), "maximum of 0 days");
}

/// BR §6.3.2 (SC-081): the hard cap steps down by notBefore, and the
/// caller's cap applies when it is lower.
#[test]
fn tls_validity_cap_follows_the_br_schedule() {
    let i = issuer();
    let leaf = |nb| tls_leaf(&i, false, &["www.example.com"], None).starting(nb);
    let tls = |max| CertProfile::TlsServer {
        ev: false,
        max_validity_days: max,
    };
    let day = 86_400;
    let second = Duration::seconds(1);
    for (boundary, before, from) in [
        (datetime!(2026-03-15 00:00 UTC), 398, 200),
        (datetime!(2027-03-15 00:00 UTC), 200, 100),
        (datetime!(2029-03-15 00:00 UTC), 100, 47),
    ] {
        // The last second before the boundary: the earlier maximum.
        let last = boundary - second;
        leaf(last)
            .valid_for(before * day - 1)
            .check(tls(500))
            .unwrap();
        refused(
            leaf(last).valid_for(before * day).check(tls(500)),
            &format!("maximum of {before} days"),
        );
        // From the boundary on: the lower one, even if the caller allows more…
        leaf(boundary)
            .valid_for(from * day - 1)
            .check(tls(500))
            .unwrap();
        for caller in [500, before] {
            refused(
                leaf(boundary).valid_for(from * day).check(tls(caller)),
                &format!("maximum of {from} days"),
            );
        }
        refused(
            leaf(boundary)
                .valid_for(before * day - 1)
                .check(tls(before)),
            &format!("maximum of {from} days"),
        );
        // …and a lower cap of the caller's still wins.
        refused(
            leaf(boundary).valid_for(30 * day).check(tls(30)),
            "maximum of 30 days",
        );
        leaf(boundary)
            .valid_for(30 * day - 1)
            .check(tls(30))
            .unwrap();
    }
    // The fixtures' notBefore (2026-11-02) is in the 200-day step.
    assert_eq!(tls_br_max_days(NB), 200);
    refused(
        tls_leaf(&i, false, &["www.example.com"], None)
            .valid_for(200 * day)
            .check(OV),
        "maximum of 200 days",
    );
}

#[test]
fn tls_refuses_internal_names_and_ip_addresses() {
    let i = issuer();
    let with_names =
        |names: Vec<Vec<u8>>| tls_leaf(&i, false, &["www.example.com"], None).set(san(&names));
    with_names(vec![dns("www.example.com"), dns("*.example.com")])
        .check(OV)
        .unwrap();
    for (name, why) in [
        ("host.internal", "an internal name"),
        ("localhost.localdomain", "an internal name"),
        ("intranet.corp", "an internal name"),
        ("co.uk", "a public suffix itself"),
        ("*.co.uk", "a public suffix itself"),
        ("192.168.1.10", "an IP address"),
        ("*.10.0.0.1", "an IP address"),
        ("WWW.example.com", "not a lower-case LDH name"),
    ] {
        refused(
            with_names(vec![dns("www.example.com"), dns(name)]).check(OV),
            &format!("dNSName {name:?}: {why}"),
        );
    }
    // An iPAddress GeneralName (192.0.2.1) is no dNSName.
    refused(
        with_names(vec![
            dns("www.example.com"),
            derw::tlv(derw::ctx_prim(7), &[192, 0, 2, 1]),
        ])
        .check(OV),
        "holds dNSNames only",
    );
}

#[test]
fn tls_common_name_must_be_a_dns_name() {
    let i = issuer();
    let names = ["a.example.com", "b.example.com"];
    tls_leaf(&i, false, &names, Some("b.example.com"))
        .check(OV)
        .unwrap();
    refused(
        tls_leaf(&i, false, &names, Some("other.example.com")).check(OV),
        "commonName \"other.example.com\" is not one of the dNSNames",
    );
}

#[test]
fn ev_refuses_wildcards() {
    let i = issuer();
    let names = ["*.example.com", "example.com"];
    // Fine in OV…
    tls_leaf(&i, false, &names, None).check(OV).unwrap();
    // …not in EV.
    refused(
        tls_leaf(&i, true, &names, None).check(EV),
        "dNSName \"*.example.com\": EV certificates carry no wildcards",
    );
}

#[test]
fn tls_needs_server_auth_and_its_policy() {
    let i = issuer();
    let leaf = || tls_leaf(&i, false, &["www.example.com"], None);
    leaf()
        .set(ext_eku(&[OID_KP_SERVER_AUTH, OID_EKU_CLIENT_AUTH]))
        .check(OV)
        .unwrap();
    for ekus in [
        &[OID_EKU_CLIENT_AUTH][..],
        &[OID_KP_SERVER_AUTH, OID_EKU_EMAIL_PROTECTION],
    ] {
        refused(
            leaf().set(ext_eku(ekus)).check(OV),
            "extKeyUsage is serverAuth (and at most clientAuth)",
        );
    }
    refused(
        leaf().without(OID_EXT_EKU).check(OV),
        "extKeyUsage is serverAuth (and at most clientAuth)",
    );
    // OV needs the OV policy, EV the EV policy.
    refused(
        leaf().set(ext_policy_list(&[POLICY_TLS_EV])).check(OV),
        "needs the policy 2.23.140.1.2.2",
    );
    refused(leaf().check(EV), "needs the policy 2.23.140.1.1");
}

#[test]
fn extension_structure_and_forbidden_leaf_ekus() {
    let i = issuer();
    let leaf = || tls_leaf(&i, false, &["www.example.com"], None);
    refused(
        leaf().without(OID_EXT_AKI).check(OV),
        "the authorityKeyIdentifier extension is missing",
    );
    refused(
        leaf()
            .set(extension(OID_EXT_KU, false, &derw::named_bits(&[DS])))
            .check(OV),
        "the keyUsage extension must be critical",
    );
    // DER: a FALSE critical flag is never encoded.
    let explicit_false = derw::seq(&[
        &derw::oid(OID_EXT_SAN),
        &derw::tlv(derw::TAG_BOOLEAN, &[0]),
        &derw::octet_string(&derw::seq(&[&dns("www.example.com")])),
    ]);
    refused(
        leaf().set(explicit_false).check(OV),
        "critical must be TRUE or absent",
    );
    for bad in [
        OID_ANY_EKU,
        OID_EKU_OCSP_SIGNING,
        OID_EKU_CODE_SIGNING,
        OID_EKU_TIME_STAMPING,
    ] {
        refused(
            leaf().set(ext_eku(&[OID_KP_SERVER_AUTH, bad])).check(OV),
            &format!("extKeyUsage {bad} is not allowed here"),
        );
    }
}

// ---- every subscriber certificate ------------------------------------------------------

/// A leaf fixture and the profile it passes.
type LeafFixture = (fn(&Issuer) -> Parts, CertProfile);

fn leaf_fixtures() -> [LeafFixture; 2] {
    [
        (|i| tls_leaf(i, false, &["www.example.com"], None), OV),
        (smime_strict, SMIME),
    ]
}

#[test]
fn leaves_refuse_ca_flag_and_ca_key_usages() {
    let i = issuer();
    for (leaf, profile) in leaf_fixtures() {
        // basicConstraints with cA=FALSE is allowed, cA=TRUE is not.
        leaf(&i).with(bc_not_ca()).check(profile).unwrap();
        refused(leaf(&i).with(bc_ca()).check(profile), "must not be a CA");
        refused(
            leaf(&i).set(ext_ku(&[DS, CERT_SIGN])).check(profile),
            "must not have keyCertSign or cRLSign",
        );
        refused(
            leaf(&i).set(ext_ku(&[DS, CRL_SIGN])).check(profile),
            "must not have keyCertSign or cRLSign",
        );
    }
}

#[test]
fn leaves_need_crldp_and_aia() {
    let i = issuer();
    for (leaf, profile) in leaf_fixtures() {
        refused(
            leaf(&i).without(OID_EXT_CRLDP).check(profile),
            "the cRLDistributionPoints extension is missing",
        );
        refused(
            leaf(&i).without(OID_EXT_AIA).check(profile),
            "the authorityInformationAccess extension is missing",
        );
        refused(
            leaf(&i).set(ext_aia(None, None)).check(profile),
            "names no caIssuers or OCSP URL",
        );
        // One of the two access methods is enough.
        leaf(&i)
            .set(ext_aia(Some(CA_ISSUERS), None))
            .check(profile)
            .unwrap();
        leaf(&i)
            .set(ext_aia(None, Some(OCSP)))
            .check(profile)
            .unwrap();
    }
}

// ---- S/MIME --------------------------------------------------------------------------------

#[test]
fn smime_needs_an_rfc822_name() {
    let i = issuer();
    let with_san = |s| smime_strict(&i).set(s);
    // An rfc822Name among other names is enough.
    with_san(san(&[
        upn("alice@corp.example.com"),
        email("alice@example.com"),
    ]))
    .check(SMIME)
    .unwrap();
    refused(
        with_san(san(&[upn("alice@corp.example.com")])).check(SMIME),
        "needs an rfc822Name",
    );
    refused(
        with_san(san(&[dns("example.com")])).check(SMIME),
        "needs an rfc822Name",
    );
    refused(
        smime_strict(&i).without(OID_EXT_SAN).check(SMIME),
        "the subjectAltName extension is missing",
    );
}

#[test]
fn smime_needs_email_protection() {
    let i = issuer();
    for ekus in [&[OID_EKU_CLIENT_AUTH][..], &[OID_EKU_DOCUMENT_SIGNING_MS]] {
        refused(
            smime_strict(&i).set(ext_eku(ekus)).check(SMIME),
            "needs emailProtection",
        );
    }
    refused(
        smime_strict(&i).without(OID_EXT_EKU).check(SMIME),
        "needs emailProtection",
    );
}

#[test]
fn smime_strict_allows_email_protection_only() {
    let i = issuer();
    let two = ext_eku(&[OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH]);
    // Multipurpose (.2) may add clientAuth…
    smime_strict(&i)
        .set(ext_policy_list(&[MBX_MP]))
        .set(two.clone())
        .check(SMIME)
        .unwrap();
    // …strict (.3) may not, in any validation type.
    for strict in [MBX_STRICT, SPONSOR_STRICT] {
        refused(
            smime_strict(&i)
                .set(ext_policy_list(&[strict]))
                .set(two.clone())
                .check(SMIME),
            "a strict S/MIME certificate has emailProtection only",
        );
    }
}

#[test]
fn smime_needs_exactly_one_reserved_policy_and_825_days_at_most() {
    let i = issuer();
    refused(
        smime_strict(&i)
            .set(ext_policy_list(&[MBX_STRICT, SPONSOR_STRICT]))
            .check(SMIME),
        "exactly one reserved S/MIME policy",
    );
    refused(
        smime_strict(&i)
            .set(ext_policy_list(&[POLICY_CERTWELL_CLIENT_AUTH]))
            .check(SMIME),
        "exactly one reserved S/MIME policy",
    );
    // SBR §6.3.2: 825 days even if the product allowed more.
    let smime = |max| CertProfile::Subscriber {
        kind: SubscriberProfile::Smime,
        max_validity_days: max,
    };
    let day = 86_400;
    smime_strict(&i)
        .valid_for(825 * day - 1)
        .check(smime(1000))
        .unwrap();
    refused(
        smime_strict(&i).valid_for(825 * day).check(smime(1000)),
        "maximum of 825 days",
    );
    refused(
        smime_strict(&i).valid_for(365 * day).check(smime(365)),
        "maximum of 365 days",
    );
}

/// The subscriber profile is the caller's choice, but the policies the
/// TBS asserts decide which rules apply: a certificate carrying an
/// S/MIME BR reserved policy and emailProtection, checked as
/// `ClientAuth`, must not escape the S/MIME rules (825-day cap, strict
/// EKUs, rfc822Name).
#[test]
fn a_reserved_smime_policy_is_held_to_the_smime_rules_whatever_the_profile() {
    let i = issuer();
    let p = subscriber_leaf(
        &i,
        &[OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
        &[POLICY_CERTWELL_CLIENT_AUTH, MBX_STRICT],
        san(&[upn("alice@corp.example.com")]),
    )
    .valid_for(1000 * 86_400);
    assert!(p.check(SMIME).is_err());
    assert!(
        p.check(CLIENT).is_err(),
        "an S/MIME certificate passed as ClientAuth"
    );
    refused(
        p.check(CLIENT),
        "a client-authentication certificate must not carry the reserved S/MIME \
         policy 2.23.140.1.5.1.3",
    );
    // Held to the S/MIME rules, it fails each of them in turn.
    refused(p.check(SMIME), "maximum of 825 days");
    let p = p.valid_for(825 * 86_400 - 1);
    refused(
        p.check(SMIME),
        "a strict S/MIME certificate has emailProtection only",
    );
    let p = p.set(ext_eku(&[OID_EKU_EMAIL_PROTECTION]));
    refused(p.check(SMIME), "needs an rfc822Name");

    // A certificate that meets every S/MIME rule passes only as S/MIME:
    // not as client authentication or document signing (whatever else it
    // carries), nor as TLS.
    smime_strict(&i).check(SMIME).unwrap();
    let with_client_parts = || {
        subscriber_leaf(
            &i,
            &[OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
            &[POLICY_CERTWELL_CLIENT_AUTH, MBX_MP],
            san(&[email("alice@example.com")]),
        )
    };
    with_client_parts().check(SMIME).unwrap();
    refused(
        with_client_parts().check(CLIENT),
        "must not carry the reserved S/MIME policy 2.23.140.1.5.1.2",
    );
    let with_docsign_parts = subscriber_leaf(
        &i,
        &[OID_EKU_EMAIL_PROTECTION, OID_EKU_DOCUMENT_SIGNING_MS],
        &[POLICY_CERTWELL_DOCUMENT_SIGNING, SPONSOR_STRICT],
        san(&[email("alice@example.com")]),
    );
    refused(
        with_docsign_parts.check(DOCSIGN),
        "a document-signing certificate must not carry the reserved S/MIME \
         policy 2.23.140.1.5.3.3",
    );
    refused(
        tls_leaf(&i, false, &["www.example.com"], None)
            .set(ext_policy_list(&[POLICY_TLS_OV, MBX_MP]))
            .check(OV),
        "a TLS certificate must not carry the reserved S/MIME policy 2.23.140.1.5.1.2",
    );
}

/// Likewise a TLS BR policy (EV, OV, and DV/IV) makes no subscriber
/// certificate, in any subscriber profile.
#[test]
fn a_tls_policy_passes_as_no_subscriber_profile() {
    let i = issuer();
    const DV: &str = "2.23.140.1.2.1";
    const IV: &str = "2.23.140.1.2.3";
    for tls_policy in [POLICY_TLS_OV, POLICY_TLS_EV, DV, IV] {
        let client = subscriber_leaf(
            &i,
            &[OID_EKU_CLIENT_AUTH],
            &[POLICY_CERTWELL_CLIENT_AUTH, tls_policy],
            san(&[upn("svc@corp.example.com")]),
        );
        refused(
            client.check(CLIENT),
            &format!(
                "a client-authentication certificate must not carry the TLS policy {tls_policy}"
            ),
        );
        let docsign = subscriber_leaf(
            &i,
            &[OID_EKU_DOCUMENT_SIGNING_MS],
            &[tls_policy, POLICY_CERTWELL_DOCUMENT_SIGNING],
            san(&[email("alice@example.com")]),
        );
        refused(
            docsign.check(DOCSIGN),
            &format!("a document-signing certificate must not carry the TLS policy {tls_policy}"),
        );
        let smime = smime_strict(&i).set(ext_policy_list(&[MBX_STRICT, tls_policy]));
        refused(
            smime.check(SMIME),
            &format!("an S/MIME certificate must not carry the TLS policy {tls_policy}"),
        );
    }
}

// ---- OCSP responders and CAs -------------------------------------------------------

#[test]
fn ocsp_responder_is_no_ca_and_needs_nocheck() {
    let i = issuer();
    // basicConstraints absent (the builder's choice) or cA=FALSE: fine.
    ocsp_responder(&i)
        .with(bc_not_ca())
        .check(RESPONDER)
        .unwrap();
    refused(
        ocsp_responder(&i).with(bc_ca()).check(RESPONDER),
        "an OCSP responder certificate is not a CA",
    );
    refused(
        ocsp_responder(&i)
            .without(OID_EXT_OCSP_NOCHECK)
            .check(RESPONDER),
        "the id-pkix-ocsp-nocheck extension is missing",
    );
}

#[test]
fn ca_and_responder_key_usages_and_ekus() {
    let i = issuer();
    let ica = CertProfile::Ca(CaProfile::TlsIssuing { ev: false });
    refused(
        tls_issuing_ca(&i).set(ext_ku(&[DS, CRL_SIGN])).check(ica),
        "needs keyCertSign and cRLSign",
    );
    refused(
        tls_issuing_ca(&i).set(ext_eku(&[OID_ANY_EKU])).check(ica),
        "needs specific extKeyUsages",
    );
    refused(
        tls_issuing_ca(&i).without(OID_EXT_EKU).check(ica),
        "needs specific extKeyUsages",
    );
    refused(
        tls_issuing_ca(&i).without(OID_EXT_SKI).check(ica),
        "the subjectKeyIdentifier extension is missing",
    );
    refused(
        root(&i)
            .with(ext_eku(&[OID_KP_SERVER_AUTH]))
            .check(CertProfile::Ca(CaProfile::Root)),
        "a root certificate carries no extKeyUsage",
    );
    refused(
        ocsp_responder(&i).set(ext_ku(&[DS, 1])).check(RESPONDER),
        "keyUsage is digitalSignature only",
    );
    refused(
        ocsp_responder(&i)
            .set(ext_eku(&[OID_EKU_OCSP_SIGNING, OID_EKU_CLIENT_AUTH]))
            .check(RESPONDER),
        "extKeyUsage is id-kp-OCSPSigning only",
    );
}

#[test]
fn ca_profiles_need_ca_true() {
    let i = issuer();
    let ica = CertProfile::Ca(CaProfile::TlsIssuing { ev: false });
    let root_profile = CertProfile::Ca(CaProfile::Root);
    refused(
        tls_issuing_ca(&i)
            .set(extension(
                OID_EXT_BC,
                true,
                &derw::seq(&[&derw::uint_u64(0)]),
            ))
            .check(ica),
        "a CA certificate needs basicConstraints cA=TRUE",
    );
    refused(
        root(&i).set(bc_not_ca()).check(root_profile),
        "a CA certificate needs basicConstraints cA=TRUE",
    );
    refused(
        root(&i).without(OID_EXT_BC).check(root_profile),
        "the basicConstraints extension is missing",
    );
    // A leaf TBS is no CA certificate either.
    refused(
        tls_leaf(&i, false, &["www.example.com"], None).check(ica),
        "the basicConstraints extension is missing",
    );
}
