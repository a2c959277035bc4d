//! CRL construction (RFC 5280 §5, BR §7.2).
//!
//! The `TbsCertList` is built by hand: x509-cert 0.3.0's `CrlBuilder` copies the
//! issuer certificate's own AKI into the CRL instead of the issuer's SKI.

use time::OffsetDateTime;

use crate::cert::{encode_serial, encode_time, sign_raw_and_assemble, ParsedCert, OID_EXT_AKI};
use crate::derw;
use crate::signer::Signer;
use crate::CaError;

const OID_EXT_CRL_NUMBER: &str = "2.5.29.20";
const OID_EXT_REASON_CODE: &str = "2.5.29.21";

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// Big-endian positive serial bytes.
    pub serial: Vec<u8>,
    pub revocation_date: OffsetDateTime,
    /// RFC 5280 CRLReason code; `None` (or `Some(0)`, unspecified) omits the
    /// reasonCode extension as the BR requires.
    pub reason: Option<u8>,
}

fn extension(oid: &str, value: &[u8]) -> Vec<u8> {
    derw::seq(&[&derw::oid(oid), &derw::octet_string(value)])
}

/// Build and sign a v2 CRL for `issuer_cert_der`, whose key is `signer`.
/// AKI = the issuer's SKI; CRLNumber = `crl_number`; entries are emitted in the
/// given order and the revokedCertificates field is omitted when empty.
pub fn build_crl(
    issuer_cert_der: &[u8],
    signer: &dyn Signer,
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    entries: &[CrlEntry],
) -> Result<Vec<u8>, CaError> {
    let issuer = ParsedCert::parse(issuer_cert_der)?;
    if !issuer.is_ca() {
        return Err(CaError::InvalidInput(
            "CRL issuer certificate is not a CA certificate".into(),
        ));
    }
    let signer_spki = signer.spki_der();
    if issuer.spki_raw != signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "signer key does not match the CRL issuer certificate".into(),
        ));
    }
    let alg = signer.signature_algorithm_der();
    if alg != signer.key_algorithm().signature_algorithm_der() {
        return Err(CaError::Signing(
            "signer algorithm identifier does not match its key algorithm".into(),
        ));
    }
    if next_update.unix_timestamp() <= this_update.unix_timestamp() {
        return Err(CaError::InvalidInput(
            "nextUpdate must be later than thisUpdate".into(),
        ));
    }
    let ski = issuer.subject_key_id()?;

    let mut revoked: Vec<Vec<u8>> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let serial = encode_serial(&e.serial)?;
        if entries[..i]
            .iter()
            .any(|o| derw::uint_content(&o.serial) == derw::uint_content(&e.serial))
        {
            return Err(CaError::InvalidInput(format!(
                "duplicate CRL entry for serial {}",
                hex::encode(&e.serial)
            )));
        }
        let date = encode_time(e.revocation_date)?;
        let entry = match e.reason {
            None | Some(0) => derw::seq(&[&serial, &date]),
            Some(code @ (1..=6 | 9 | 10)) => {
                let reason = extension(
                    OID_EXT_REASON_CODE,
                    &derw::tlv(derw::TAG_ENUMERATED, &[code]),
                );
                derw::seq(&[&serial, &date, &derw::seq(&[&reason])])
            }
            Some(other) => {
                return Err(CaError::InvalidInput(format!(
                    "invalid CRL reason code {other}"
                )))
            }
        };
        revoked.push(entry);
    }

    let aki = extension(
        OID_EXT_AKI,
        &derw::seq(&[&derw::tlv(derw::ctx_prim(0), &ski)]),
    );
    let number = extension(OID_EXT_CRL_NUMBER, &derw::uint_u64(crl_number));
    let crl_exts = derw::cons(derw::ctx_cons(0), &[&derw::seq(&[&aki, &number])]);

    let mut parts: Vec<Vec<u8>> = vec![
        derw::uint_u64(1),
        alg.clone(),
        issuer.subject_raw.to_vec(),
        encode_time(this_update)?,
        encode_time(next_update)?,
    ];
    if !revoked.is_empty() {
        let refs: Vec<&[u8]> = revoked.iter().map(Vec::as_slice).collect();
        parts.push(derw::seq(&refs));
    }
    parts.push(crl_exts);
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let tbs = derw::seq(&refs);
    sign_raw_and_assemble(&tbs, &alg, signer, &signer_spki)
}
