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
