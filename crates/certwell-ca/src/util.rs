//! Encoding helpers: PEM, thumbprints, names, PKCS#7 bundles.

use base64::Engine;

use crate::cert::ParsedCert;
use crate::derw::{self, Tlv};
use crate::CaError;

/// PEM-encode `der` with the given label: 64-column base64, `\n` line ends,
/// trailing newline.
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The (first) commonName of a certificate's subject, if present and decodable.
pub fn certificate_common_name(cert_der: &[u8]) -> Option<String> {
    let cert = ParsedCert::parse(cert_der).ok()?;
    let name = Tlv::parse_single(cert.subject_raw).ok()?;
    crate::csr::first_common_name(name).ok().flatten()
}

/// What a certificate list shows of a certificate (`GET /certificate/intermediates`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Upper-case hex of the serial's INTEGER content, leading zero octets dropped.
    pub serial_hex: String,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
    pub subject_common_name: Option<String>,
    pub subject_organization: Option<String>,
    pub issuer_common_name: Option<String>,
    /// The signature's hash, DigiCert style: "SHA256", "SHA384", "SHA512" (or the OID).
    pub signature_hash: String,
}

fn first_attr(name: Tlv<'_>, want: &str) -> Option<String> {
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.read_tag(derw::TAG_SET).ok()?;
        let mut atvs = rdn.reader();
        while !atvs.is_empty() {
            let atv = atvs.read_tag(derw::TAG_SEQUENCE).ok()?;
            let mut r = atv.reader();
            let oid = r.read_tag(derw::TAG_OID).ok()?;
            let value = r.read().ok()?;
            if derw::oid_to_string(oid.value).ok()? == want {
                return derw::decode_string(&value);
            }
        }
    }
    None
}

fn parse_time(t: Tlv<'_>) -> Result<time::OffsetDateTime, CaError> {
    let bad = || CaError::Parse("certificate: bad validity time".into());
    let text = std::str::from_utf8(t.value).map_err(|_| bad())?;
    let digits = text.strip_suffix('Z').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let full = match (t.tag, digits.len()) {
        (derw::TAG_UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().map_err(|_| bad())?;
            format!(
                "{}{}",
                if yy < 50 { 2000 + yy } else { 1900 + yy },
                &digits[2..]
            )
        }
        (derw::TAG_GENERALIZED_TIME, 14) => digits.to_string(),
        _ => return Err(bad()),
    };
    let n = |a: usize, b: usize| full[a..b].parse::<u32>().map_err(|_| bad());
    let date = time::Date::from_calendar_date(
        n(0, 4)? as i32,
        time::Month::try_from(n(4, 6)? as u8).map_err(|_| bad())?,
        n(6, 8)? as u8,
    )
    .map_err(|_| bad())?;
    let tod = time::Time::from_hms(n(8, 10)? as u8, n(10, 12)? as u8, n(12, 14)? as u8)
        .map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(date, tod).assume_utc())
}

/// Serial, validity, names and signature hash of a certificate.
pub fn certificate_summary(cert_der: &[u8]) -> Result<CertSummary, CaError> {
    let cert = ParsedCert::parse(cert_der)?;
    let ctx = |e: derw::DerError| CaError::Parse(format!("certificate: {e}"));
    let mut t = Tlv::parse_single(cert.tbs_raw).map_err(ctx)?.reader();
    t.read_optional(derw::ctx_cons(0)).map_err(ctx)?;
    let serial = t.read_tag(derw::TAG_INTEGER).map_err(ctx)?;
    t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let issuer = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let mut validity = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?.reader();
    let not_before = parse_time(validity.read().map_err(ctx)?)?;
    let not_after = parse_time(validity.read().map_err(ctx)?)?;
    let subject = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let skip = serial.value.iter().take_while(|b| **b == 0).count();
    let mut alg = Tlv::parse_single(cert.signature_alg_raw)
        .map_err(ctx)?
        .reader();
    let oid = derw::oid_to_string(alg.read_tag(derw::TAG_OID).map_err(ctx)?.value).map_err(ctx)?;
    let signature_hash = match oid.as_str() {
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => "SHA256".to_string(),
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => "SHA384".to_string(),
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => "SHA512".to_string(),
        // RSASSA-PSS: the hash is in the parameters; certwell's CAs never use it.
        other => other.to_string(),
    };
    Ok(CertSummary {
        serial_hex: hex::encode_upper(&serial.value[skip..]),
        not_before,
        not_after,
        subject_common_name: first_attr(subject, crate::cert::OID_CN),
        subject_organization: first_attr(subject, "2.5.4.10"),
        issuer_common_name: first_attr(issuer, crate::cert::OID_CN),
        signature_hash,
    })
}

/// The nextUpdate of a CRL (None when it has none or cannot be read).
pub fn crl_next_update(crl_der: &[u8]) -> Option<time::OffsetDateTime> {
    let crl = Tlv::parse_single(crl_der).ok()?;
    let mut r = crl.reader();
    let mut t = r.read_tag(derw::TAG_SEQUENCE).ok()?.reader();
    t.read_optional(derw::TAG_INTEGER).ok()?;
    t.read_tag(derw::TAG_SEQUENCE).ok()?;
    t.read_tag(derw::TAG_SEQUENCE).ok()?;
    t.read().ok()?;
    let next = t.read().ok()?;
    parse_time(next).ok()
}

/// SHA-1 of the certificate DER, upper-case hex (DigiCert "thumbprint").
pub fn sha1_thumbprint_hex_upper(cert_der: &[u8]) -> String {
    hex::encode_upper(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        cert_der,
    ))
}

/// A degenerate PKCS#7 / CMS SignedData (certs-only bundle, RFC 2315 / RFC 5652
/// §5, no signers), DER. Certificates are kept in the given order (chain
/// order), as `openssl crl2pkcs7` does.
pub fn pkcs7_certs_only_der(certs_der: &[Vec<u8>]) -> Result<Vec<u8>, CaError> {
    if certs_der.is_empty() {
        return Err(CaError::InvalidInput(
            "a PKCS#7 bundle needs at least one certificate".into(),
        ));
    }
    for (i, c) in certs_der.iter().enumerate() {
        ParsedCert::parse(c)
            .map_err(|e| CaError::InvalidInput(format!("certificate #{i} in bundle: {e}")))?;
    }
    let certs: Vec<&[u8]> = certs_der.iter().map(Vec::as_slice).collect();
    let signed_data = derw::seq(&[
        &derw::uint_u64(1),
        &derw::set(&[]),
        &derw::seq(&[&derw::oid("1.2.840.113549.1.7.1")]),
        &derw::cons(derw::ctx_cons(0), &certs),
        &derw::set(&[]),
    ]);
    Ok(derw::seq(&[
        &derw::oid("1.2.840.113549.1.7.2"),
        &derw::cons(derw::ctx_cons(0), &[&signed_data]),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_generalized_times() {
        let t = |tag, v: &'static [u8]| {
            parse_time(Tlv {
                tag,
                value: v,
                raw: v,
            })
        };
        assert_eq!(
            t(derw::TAG_UTC_TIME, b"491231235959Z").unwrap(),
            time::macros::datetime!(2049-12-31 23:59:59 UTC)
        );
        assert_eq!(
            t(derw::TAG_UTC_TIME, b"500101000000Z").unwrap(),
            time::macros::datetime!(1950-01-01 00:00:00 UTC)
        );
        assert_eq!(
            t(derw::TAG_GENERALIZED_TIME, b"20510301120000Z").unwrap(),
            time::macros::datetime!(2051-03-01 12:00:00 UTC)
        );
        for bad in [
            &b"4912312359Z"[..],
            b"491231235959",
            b"49123123595aZ",
            b"491331235959Z",
        ] {
            assert!(t(derw::TAG_UTC_TIME, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pem_layout() {
        let der = vec![0xabu8; 100];
        let pem = der_to_pem("CERTIFICATE", &der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
        assert!(pem.ends_with("-----\n"));
        assert!(!pem.contains('\r'));
    }

    #[test]
    fn bad_inputs_do_not_panic() {
        assert_eq!(certificate_common_name(b"junk"), None);
        assert_eq!(
            sha1_thumbprint_hex_upper(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert!(pkcs7_certs_only_der(&[]).is_err());
        assert!(pkcs7_certs_only_der(&[b"junk".to_vec()]).is_err());
    }
}
