//! OCSP (RFC 6960): request parsing, response building and CertID helpers.
//!
//! * [`parse_ocsp_request`] reads an unsigned (or signed, signature ignored)
//!   `OCSPRequest` from the network. It never panics and bounds its work:
//!   at most [`OCSP_MAX_REQUEST_LEN`] bytes, [`OCSP_MAX_CERT_IDS`] CertIDs and
//!   16 extensions per list; the structure is read at a fixed depth.
//! * [`build_ocsp_response`] signs a `BasicOCSPResponse` (responderID byKey,
//!   GeneralizedTime, nextUpdate always present, the responder certificate in
//!   `certs`), hand-built with the DER writer like the CRL (one signature).
//! * [`ocsp_error_response`] is the unsigned error form (no responseBytes).
//! * [`issuer_hashes`] / [`OcspCertId::new`] give the CertID of an issuer and
//!   serial, for indexing and pre-signing responses.
//!
//! Delegated responder certificates are built by
//! [`build_ca_certificate`](crate::build_ca_certificate) with
//! [`CaProfile::OcspResponder`](crate::CaProfile::OcspResponder).
//!
//! The caller (the server) decides the status: a serial that was never issued
//! must not be answered "good" (BR §4.9.10, SBR §4.9.10).

use time::{OffsetDateTime, UtcOffset};

use crate::cert::{
    check_signer_alg, encode_serial, key_identifier, split_spki, verify_signature, ParsedCert,
    OID_EKU_OCSP_SIGNING, OID_EXT_EKU, OID_EXT_KU,
};
use crate::derw::{self, DerError, Tlv};
use crate::signer::Signer;
use crate::CaError;

const OID_OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const OID_OCSP_NONCE: &str = "1.3.6.1.5.5.7.48.1.2";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// OCSPResponseStatus malformedRequest.
pub const OCSP_STATUS_MALFORMED_REQUEST: u8 = 1;
/// OCSPResponseStatus internalError.
pub const OCSP_STATUS_INTERNAL_ERROR: u8 = 2;
/// OCSPResponseStatus tryLater.
pub const OCSP_STATUS_TRY_LATER: u8 = 3;
/// OCSPResponseStatus sigRequired.
pub const OCSP_STATUS_SIG_REQUIRED: u8 = 5;
/// OCSPResponseStatus unauthorized (e.g. a CertID for an issuer we do not serve).
pub const OCSP_STATUS_UNAUTHORIZED: u8 = 6;
const OCSP_STATUS_SUCCESSFUL: u8 = 0;

/// Largest request [`parse_ocsp_request`] accepts (bytes).
pub const OCSP_MAX_REQUEST_LEN: usize = 64 * 1024;
/// Most CertIDs [`parse_ocsp_request`] accepts in one request.
pub const OCSP_MAX_CERT_IDS: usize = 16;
/// Longest nonce (extnValue content, RFC 8954 allows 1..=32 octets inside
/// an OCTET STRING) accepted in a request or echoed in a response.
pub const OCSP_MAX_NONCE_LEN: usize = 128;
/// Shortest validity interval (nextUpdate − thisUpdate + 1 s) a response
/// may have: 8 hours (BR §4.9.10, SBR §4.9.10).
pub const OCSP_MIN_VALIDITY_SECS: i64 = 8 * 3600;
/// Longest validity interval (nextUpdate − thisUpdate + 1 s) a response may
/// have: 10 days (BR §4.9.10 for subscriber certificates, SBR §4.9.10).
pub const OCSP_MAX_VALIDITY_SECS: i64 = 10 * 86400;

const MAX_EXTENSIONS: usize = 16;
/// INTEGER content octets of a CertID serial (RFC 5280 allows 20; lenient).
const MAX_SERIAL_CONTENT_LEN: usize = 32;

// ---- errors ------------------------------------------------------------------------------

/// Why an OCSP request was rejected. Every variant is answered with
/// [`ocsp_error_response`]`(`[`OcspError::response_status`]`())`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    /// Not a DER `OCSPRequest` (bad structure, lengths, version, serial,
    /// hash length, duplicate extension, empty request list, ...).
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
    /// The request is larger than [`OCSP_MAX_REQUEST_LEN`].
    #[error("OCSP request of {0} bytes exceeds the {limit}-byte limit", limit = OCSP_MAX_REQUEST_LEN)]
    TooLarge(usize),
    /// More than [`OCSP_MAX_CERT_IDS`] CertIDs.
    #[error("OCSP request lists more than {limit} certificates", limit = OCSP_MAX_CERT_IDS)]
    TooManyCertIds,
    /// A CertID hash algorithm other than SHA-1/256/384/512 (dotted OID).
    #[error("unsupported OCSP CertID hash algorithm {0}")]
    UnsupportedHashAlgorithm(String),
}

impl OcspError {
    /// The OCSPResponseStatus to answer with: malformedRequest (1).
    pub fn response_status(&self) -> u8 {
        OCSP_STATUS_MALFORMED_REQUEST
    }
}

impl From<DerError> for OcspError {
    fn from(e: DerError) -> Self {
        OcspError::Malformed(e.0)
    }
}

fn malformed(msg: &str) -> OcspError {
    OcspError::Malformed(msg.to_owned())
}

// ---- CertID --------------------------------------------------------------------------------

/// Hash algorithm of a CertID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OcspHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl OcspHash {
    pub const ALL: [OcspHash; 4] = [
        OcspHash::Sha1,
        OcspHash::Sha256,
        OcspHash::Sha384,
        OcspHash::Sha512,
    ];

    /// Dotted OID of the hash function.
    pub fn oid(self) -> &'static str {
        match self {
            OcspHash::Sha1 => OID_SHA1,
            OcspHash::Sha256 => OID_SHA256,
            OcspHash::Sha384 => OID_SHA384,
            OcspHash::Sha512 => OID_SHA512,
        }
    }

    fn from_oid(dotted: &str) -> Option<OcspHash> {
        OcspHash::ALL.into_iter().find(|h| h.oid() == dotted)
    }

    fn digest_algorithm(self) -> &'static aws_lc_rs::digest::Algorithm {
        use aws_lc_rs::digest as d;
        match self {
            OcspHash::Sha1 => &d::SHA1_FOR_LEGACY_USE_ONLY,
            OcspHash::Sha256 => &d::SHA256,
            OcspHash::Sha384 => &d::SHA384,
            OcspHash::Sha512 => &d::SHA512,
        }
    }

    /// Digest length in octets.
    pub fn output_len(self) -> usize {
        self.digest_algorithm().output_len()
    }

    /// Hash `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(self.digest_algorithm(), data)
            .as_ref()
            .to_vec()
    }

    /// `AlgorithmIdentifier` with NULL parameters (as OpenSSL encodes it).
    fn algorithm_identifier(self) -> Vec<u8> {
        derw::seq(&[&derw::oid(self.oid()), &[derw::TAG_NULL, 0]])
    }
}

/// One `CertID` of a request (RFC 6960 §4.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OcspCertId {
    pub hash_algorithm: OcspHash,
    /// Hash of the issuer's subject Name DER.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey BIT STRING contents.
    pub issuer_key_hash: Vec<u8>,
    /// Serial number: the minimal big-endian magnitude, i.e. the INTEGER
    /// content without its leading sign octet (same form as
    /// [`random_serial`](crate::random_serial) and [`CrlEntry`](crate::CrlEntry)).
    pub serial: Vec<u8>,
    /// The CertID DER exactly as received; echo it in [`OcspSingle::cert_id_raw`].
    pub raw: Vec<u8>,
}

impl OcspCertId {
    /// The CertID for `serial` (big-endian positive magnitude) issued by
    /// `issuer_cert_der`, e.g. to pre-sign a response before any request. The
    /// hashAlgorithm carries NULL parameters, as OpenSSL sends it; clients
    /// compare CertIDs by value, not by bytes.
    pub fn new(
        issuer_cert_der: &[u8],
        hash_algorithm: OcspHash,
        serial: &[u8],
    ) -> Result<OcspCertId, CaError> {
        let serial_der = encode_serial(serial)?;
        let (name_hash, key_hash) = issuer_hashes(issuer_cert_der, hash_algorithm)?;
        let raw = derw::seq(&[
            &hash_algorithm.algorithm_identifier(),
            &derw::octet_string(&name_hash),
            &derw::octet_string(&key_hash),
            &serial_der,
        ]);
        let skip = serial.iter().take_while(|b| **b == 0).count();
        Ok(OcspCertId {
            hash_algorithm,
            issuer_name_hash: name_hash,
            issuer_key_hash: key_hash,
            serial: serial[skip..].to_vec(),
            raw,
        })
    }

    /// Parse one DER `CertID`.
    pub fn from_der(der: &[u8]) -> Result<OcspCertId, OcspError> {
        parse_cert_id(Tlv::parse_single(der)?)
    }

    /// Do the name and key hashes identify `issuer_cert_der` (hashed with
    /// this CertID's algorithm)? The serial is not looked at.
    pub fn matches_issuer(&self, issuer_cert_der: &[u8]) -> Result<bool, CaError> {
        let (name_hash, key_hash) = issuer_hashes(issuer_cert_der, self.hash_algorithm)?;
        Ok(name_hash == self.issuer_name_hash && key_hash == self.issuer_key_hash)
    }
}

/// (issuerNameHash, issuerKeyHash) of an issuer certificate with `alg`: the
/// hash of its subject Name DER and of its subjectPublicKey BIT STRING
/// contents (without the unused-bits octet).
pub fn issuer_hashes(issuer_cert_der: &[u8], alg: OcspHash) -> Result<(Vec<u8>, Vec<u8>), CaError> {
    let issuer = ParsedCert::parse(issuer_cert_der)?;
    let (_, _, key) = split_spki(issuer.spki_raw)?;
    Ok((alg.digest(issuer.subject_raw), alg.digest(key)))
}

fn parse_cert_id(t: Tlv<'_>) -> Result<OcspCertId, OcspError> {
    let t = t.expect(derw::TAG_SEQUENCE)?;
    let mut r = t.reader();
    let (oid, params) = derw::parse_algorithm_identifier(r.read()?)?;
    let hash_algorithm =
        OcspHash::from_oid(&oid).ok_or(OcspError::UnsupportedHashAlgorithm(oid))?;
    if params.is_some_and(|p| p.tag != derw::TAG_NULL || !p.value.is_empty()) {
        return Err(malformed("CertID hash parameters must be absent or NULL"));
    }
    let name_hash = r.read_tag(derw::TAG_OCTET_STRING)?;
    let key_hash = r.read_tag(derw::TAG_OCTET_STRING)?;
    let serial = r.read_tag(derw::TAG_INTEGER)?;
    r.finish()?;
    let want = hash_algorithm.output_len();
    if name_hash.value.len() != want || key_hash.value.len() != want {
        return Err(malformed("CertID hash length does not match its algorithm"));
    }
    Ok(OcspCertId {
        hash_algorithm,
        issuer_name_hash: name_hash.value.to_vec(),
        issuer_key_hash: key_hash.value.to_vec(),
        serial: serial_magnitude(serial.value)?.to_vec(),
        raw: t.raw.to_vec(),
    })
}

/// Positive, minimally encoded INTEGER content → magnitude without the sign octet.
fn serial_magnitude(content: &[u8]) -> Result<&[u8], OcspError> {
    match content {
        [] => Err(malformed("empty serial number")),
        c if c.len() > MAX_SERIAL_CONTENT_LEN => Err(malformed("serial number too long")),
        [first, ..] if first & 0x80 != 0 => Err(malformed("negative serial number")),
        [0] => Err(malformed("zero serial number")),
        [0, second, ..] if second & 0x80 == 0 => {
            Err(malformed("non-minimal serial number encoding"))
        }
        [0, rest @ ..] => Ok(rest),
        c => Ok(c),
    }
}

// ---- requests ----------------------------------------------------------------------------

/// A parsed `OCSPRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspRequest {
    /// 1..=[`OCSP_MAX_CERT_IDS`] CertIDs, in request order.
    pub cert_ids: Vec<OcspCertId>,
    /// The extnValue content of id-pkix-ocsp-nonce (with RFC 8954 clients an
    /// OCTET STRING TLV); echo it verbatim to [`build_ocsp_response`].
    pub nonce: Option<Vec<u8>>,
}

/// A DER `OCSPRequest` for `cert_ids` (unsigned, no nonce: the form RFC
/// 5019 clients send and certwell's responder caches), for clients and the
/// benchmark.
pub fn build_ocsp_request(cert_ids: &[OcspCertId]) -> Vec<u8> {
    let requests: Vec<Vec<u8>> = cert_ids.iter().map(|c| derw::seq(&[&c.raw])).collect();
    let refs: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
    let request_list = derw::seq(&refs);
    derw::seq(&[&derw::seq(&[&request_list])])
}

/// Parse a DER `OCSPRequest` (RFC 6960 §4.1.1). requestorName,
/// optionalSignature and extensions other than the nonce are checked for
/// shape only and otherwise ignored.
pub fn parse_ocsp_request(der: &[u8]) -> Result<OcspRequest, OcspError> {
    if der.len() > OCSP_MAX_REQUEST_LEN {
        return Err(OcspError::TooLarge(der.len()));
    }
    let req = Tlv::parse_single(der)?.expect(derw::TAG_SEQUENCE)?;
    let mut r = req.reader();
    let tbs = r.read_tag(derw::TAG_SEQUENCE)?;
    r.read_optional(derw::ctx_cons(0))?; // optionalSignature: not verified
    r.finish()?;
    parse_tbs_request(tbs)
}

fn parse_tbs_request(tbs: Tlv<'_>) -> Result<OcspRequest, OcspError> {
    let mut r = tbs.reader();
    if let Some(v) = r.read_optional(derw::ctx_cons(0))? {
        let version = Tlv::parse_single(v.value)?.expect(derw::TAG_INTEGER)?;
        if version.value != [0] {
            return Err(malformed("unsupported request version (only v1)"));
        }
    }
    r.read_optional(derw::ctx_cons(1))?; // requestorName: ignored
    let cert_ids = parse_request_list(r.read_tag(derw::TAG_SEQUENCE)?)?;
    let nonce = match r.read_optional(derw::ctx_cons(2))? {
        Some(exts) => request_nonce(&parse_extensions(exts)?)?,
        None => None,
    };
    r.finish()?;
    Ok(OcspRequest { cert_ids, nonce })
}

fn parse_request_list(list: Tlv<'_>) -> Result<Vec<OcspCertId>, OcspError> {
    let mut r = list.reader();
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() == OCSP_MAX_CERT_IDS {
            return Err(OcspError::TooManyCertIds);
        }
        let request = r.read_tag(derw::TAG_SEQUENCE)?;
        let mut rr = request.reader();
        let cert_id = rr.read()?;
        if let Some(exts) = rr.read_optional(derw::ctx_cons(0))? {
            parse_extensions(exts)?; // singleRequestExtensions: ignored
        }
        rr.finish()?;
        out.push(parse_cert_id(cert_id)?);
    }
    if out.is_empty() {
        return Err(malformed("empty requestList"));
    }
    Ok(out)
}

/// One parsed `Extension`.
struct Extension<'a> {
    /// The extnID OID TLV.
    oid: &'a [u8],
    /// extnValue content.
    value: &'a [u8],
}

/// `[n] EXPLICIT Extensions`: at most [`MAX_EXTENSIONS`], no duplicates.
fn parse_extensions(wrapper: Tlv<'_>) -> Result<Vec<Extension<'_>>, OcspError> {
    let list = Tlv::parse_single(wrapper.value)?.expect(derw::TAG_SEQUENCE)?;
    let mut r = list.reader();
    let mut out: Vec<Extension<'_>> = Vec::new();
    while !r.is_empty() {
        if out.len() == MAX_EXTENSIONS {
            return Err(malformed("too many extensions"));
        }
        let ext = r.read_tag(derw::TAG_SEQUENCE)?;
        let mut er = ext.reader();
        let oid = er.read_tag(derw::TAG_OID)?;
        if let Some(critical) = er.read_optional(derw::TAG_BOOLEAN)? {
            if critical.value != [0xff] && critical.value != [0x00] {
                return Err(malformed("invalid extension critical flag"));
            }
        }
        let value = er.read_tag(derw::TAG_OCTET_STRING)?;
        er.finish()?;
        if out.iter().any(|e| e.oid == oid.raw) {
            return Err(malformed("duplicate extension"));
        }
        out.push(Extension {
            oid: oid.raw,
            value: value.value,
        });
    }
    Ok(out)
}

fn request_nonce(exts: &[Extension<'_>]) -> Result<Option<Vec<u8>>, OcspError> {
    let nonce_oid = derw::oid(OID_OCSP_NONCE);
    let Some(ext) = exts.iter().find(|e| e.oid == nonce_oid.as_slice()) else {
        return Ok(None);
    };
    check_nonce_len(ext.value).map_err(|m| malformed(&m))?;
    Ok(Some(ext.value.to_vec()))
}

fn check_nonce_len(nonce: &[u8]) -> Result<(), String> {
    if nonce.is_empty() || nonce.len() > OCSP_MAX_NONCE_LEN {
        return Err(format!(
            "nonce length {} is outside 1..={OCSP_MAX_NONCE_LEN}",
            nonce.len()
        ));
    }
    Ok(())
}

// ---- responses -----------------------------------------------------------------------------

/// The status of one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcspCertStatus {
    Good,
    /// `reason` is an RFC 5280 CRLReason (1..=6, 9, 10); `None` or
    /// `Some(0)` (unspecified) omits revocationReason.
    Revoked {
        time: OffsetDateTime,
        reason: Option<u8>,
    },
    Unknown,
}

/// One `SingleResponse`.
#[derive(Clone, Copy, Debug)]
pub struct OcspSingle<'a> {
    /// A DER CertID, normally [`OcspCertId::raw`] of the request.
    pub cert_id_raw: &'a [u8],
    pub status: OcspCertStatus,
    /// At or before `produced_at`.
    pub this_update: OffsetDateTime,
    /// Always emitted; nextUpdate − thisUpdate + 1 s must lie within
    /// [`OCSP_MIN_VALIDITY_SECS`]..=[`OCSP_MAX_VALIDITY_SECS`].
    pub next_update: OffsetDateTime,
}

/// Build and sign a successful `OCSPResponse` carrying a `BasicOCSPResponse`
/// (RFC 6960 §4.2.1): version v1 (omitted), responderID byKey (SHA-1 of the
/// responder's subjectPublicKey), producedAt, `responses` in order, the
/// nonce extension when `nonce` is given (the request's extnValue content,
/// echoed verbatim), signatureAlgorithm = the signer's default scheme and
/// `certs` = [the responder certificate].
///
/// `responder_cert_der` is a delegated responder (EKU id-kp-OCSPSigning,
/// see [`CaProfile::OcspResponder`](crate::CaProfile::OcspResponder)) or the
/// issuing CA itself, and `signer` must hold its key. Times are truncated to
/// whole seconds.
pub fn build_ocsp_response(
    responder_cert_der: &[u8],
    signer: &dyn Signer,
    produced_at: OffsetDateTime,
    responses: &[OcspSingle],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, CaError> {
    let responder = ParsedCert::parse(responder_cert_der)?;
    check_responder(&responder)?;
    let signer_spki = signer.spki_der();
    if responder.spki_raw != signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "signer key does not match the OCSP responder certificate".into(),
        ));
    }
    let alg = check_signer_alg(signer)?;
    if responses.is_empty() {
        return Err(CaError::InvalidInput(
            "an OCSP response needs at least one SingleResponse".into(),
        ));
    }
    let singles = responses
        .iter()
        .map(|s| single_response(s, produced_at))
        .collect::<Result<Vec<_>, _>>()?;
    let tbs = response_data(
        &key_identifier(responder.spki_raw)?,
        produced_at,
        &singles,
        nonce,
    )?;
    let sig = signer.sign(&tbs)?;
    verify_signature(&signer_spki, &alg, &tbs, &sig)?;
    let certs = derw::cons(derw::ctx_cons(0), &[&derw::seq(&[responder_cert_der])]);
    let basic = derw::seq(&[&tbs, &alg, &derw::bit_string(&sig), &certs]);
    Ok(successful_response(&basic))
}

/// An unsigned error `OCSPResponse` (no responseBytes), DER. `status` is an
/// OCSPResponseStatus: [`OCSP_STATUS_MALFORMED_REQUEST`] (1),
/// [`OCSP_STATUS_INTERNAL_ERROR`] (2), [`OCSP_STATUS_TRY_LATER`] (3),
/// [`OCSP_STATUS_SIG_REQUIRED`] (5) or [`OCSP_STATUS_UNAUTHORIZED`] (6); any
/// other value (successful 0, the unused 4, or > 6) becomes internalError.
pub fn ocsp_error_response(status: u8) -> Vec<u8> {
    let status = match status {
        1 | 2 | 3 | 5 | 6 => status,
        _ => OCSP_STATUS_INTERNAL_ERROR,
    };
    derw::seq(&[&derw::tlv(derw::TAG_ENUMERATED, &[status])])
}

fn successful_response(basic: &[u8]) -> Vec<u8> {
    let bytes = derw::seq(&[&derw::oid(OID_OCSP_BASIC), &derw::octet_string(basic)]);
    derw::seq(&[
        &derw::tlv(derw::TAG_ENUMERATED, &[OCSP_STATUS_SUCCESSFUL]),
        &derw::cons(derw::ctx_cons(0), &[&bytes]),
    ])
}

/// A responder must be a CA (signing for itself) or carry id-kp-OCSPSigning,
/// and its keyUsage, if present, must allow digitalSignature.
fn check_responder(cert: &ParsedCert<'_>) -> Result<(), CaError> {
    if !cert.is_ca() && !has_eku(cert, OID_EKU_OCSP_SIGNING) {
        return Err(CaError::InvalidInput(
            "responder certificate is neither a CA nor an id-kp-OCSPSigning responder".into(),
        ));
    }
    if !key_usage_allows_digital_signature(cert) {
        return Err(CaError::InvalidInput(
            "responder certificate keyUsage lacks digitalSignature".into(),
        ));
    }
    Ok(())
}

fn has_eku(cert: &ParsedCert<'_>, oid: &str) -> bool {
    let Some(value) = cert.extension(OID_EXT_EKU) else {
        return false;
    };
    let Ok(list) = Tlv::parse_single(value) else {
        return false;
    };
    let want = derw::oid(oid);
    let mut r = list.reader();
    while let Ok(purpose) = r.read() {
        if purpose.raw == want.as_slice() {
            return true;
        }
    }
    false
}

fn key_usage_allows_digital_signature(cert: &ParsedCert<'_>) -> bool {
    let Some(value) = cert.extension(OID_EXT_KU) else {
        return true;
    };
    match Tlv::parse_single(value) {
        Ok(bits) if bits.tag == derw::TAG_BIT_STRING => {
            bits.value.get(1).is_some_and(|first| first & 0x80 != 0)
        }
        _ => false,
    }
}

fn response_data(
    responder_key_hash: &[u8],
    produced_at: OffsetDateTime,
    singles: &[Vec<u8>],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, CaError> {
    let responder_id = derw::cons(
        derw::ctx_cons(2),
        &[&derw::octet_string(responder_key_hash)],
    );
    let refs: Vec<&[u8]> = singles.iter().map(Vec::as_slice).collect();
    let mut parts = vec![
        responder_id,
        generalized_time(produced_at)?,
        derw::seq(&refs),
    ];
    if let Some(n) = nonce {
        check_nonce_len(n).map_err(CaError::InvalidInput)?;
        let ext = derw::seq(&[&derw::oid(OID_OCSP_NONCE), &derw::octet_string(n)]);
        parts.push(derw::cons(derw::ctx_cons(1), &[&derw::seq(&[&ext])]));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(derw::seq(&refs))
}

fn single_response(s: &OcspSingle, produced_at: OffsetDateTime) -> Result<Vec<u8>, CaError> {
    OcspCertId::from_der(s.cert_id_raw)
        .map_err(|e| CaError::InvalidInput(format!("cert_id_raw is not a valid CertID: {e}")))?;
    check_validity(s.this_update, s.next_update, produced_at)?;
    let status = cert_status(&s.status, s.this_update)?;
    let next_update = derw::cons(derw::ctx_cons(0), &[&generalized_time(s.next_update)?]);
    Ok(derw::seq(&[
        s.cert_id_raw,
        &status,
        &generalized_time(s.this_update)?,
        &next_update,
    ]))
}

/// thisUpdate ≤ producedAt < nextUpdate, and the BR validity interval.
fn check_validity(
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    produced_at: OffsetDateTime,
) -> Result<(), CaError> {
    let (this, next) = (this_update.unix_timestamp(), next_update.unix_timestamp());
    if this > produced_at.unix_timestamp() {
        return Err(CaError::InvalidInput(
            "OCSP thisUpdate must not be after producedAt".into(),
        ));
    }
    if next <= produced_at.unix_timestamp() {
        return Err(CaError::InvalidInput(
            "OCSP nextUpdate must be after producedAt".into(),
        ));
    }
    let interval = next.saturating_sub(this).saturating_add(1);
    if !(OCSP_MIN_VALIDITY_SECS..=OCSP_MAX_VALIDITY_SECS).contains(&interval) {
        return Err(CaError::InvalidInput(format!(
            "OCSP validity interval of {interval} s is outside 8 hours..=10 days"
        )));
    }
    Ok(())
}

/// `CertStatus` (implicitly tagged CHOICE).
fn cert_status(status: &OcspCertStatus, this_update: OffsetDateTime) -> Result<Vec<u8>, CaError> {
    match status {
        OcspCertStatus::Good => Ok(vec![derw::ctx_prim(0), 0]),
        OcspCertStatus::Unknown => Ok(vec![derw::ctx_prim(2), 0]),
        OcspCertStatus::Revoked { time, reason } => {
            if time.unix_timestamp() > this_update.unix_timestamp() {
                return Err(CaError::InvalidInput(
                    "revocation time must not be after thisUpdate".into(),
                ));
            }
            let reason = match reason {
                None | Some(0) => Vec::new(),
                Some(code @ (1..=6 | 9 | 10)) => derw::cons(
                    derw::ctx_cons(0),
                    &[&derw::tlv(derw::TAG_ENUMERATED, &[*code])],
                ),
                Some(other) => {
                    return Err(CaError::InvalidInput(format!(
                        "invalid revocation reason code {other}"
                    )))
                }
            };
            Ok(derw::cons(
                derw::ctx_cons(1),
                &[&generalized_time(*time)?, &reason],
            ))
        }
    }
}

/// `GeneralizedTime` YYYYMMDDHHMMSSZ (whole seconds, RFC 5280 §4.1.2.5.2 form).
fn generalized_time(t: OffsetDateTime) -> Result<Vec<u8>, CaError> {
    let t = t
        .checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| CaError::InvalidInput("time out of range".into()))?;
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return Err(CaError::InvalidInput(format!("year {year} out of range")));
    }
    let s = format!(
        "{year:04}{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Ok(derw::tlv(derw::TAG_GENERALIZED_TIME, s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{build_ca_certificate, CaCertRequest, CaProfile, CaSubject};
    use crate::signer::{KeyAlgorithm, SoftwareSigner};
    use crate::testing::recorded_serial;
    use time::macros::datetime;
    use time::Duration;

    fn sha1_cert_id(serial: &[u8]) -> Vec<u8> {
        derw::seq(&[
            &OcspHash::Sha1.algorithm_identifier(),
            &derw::octet_string(&[0x11; 20]),
            &derw::octet_string(&[0x22; 20]),
            &derw::tlv(derw::TAG_INTEGER, serial),
        ])
    }

    /// (OID, critical BOOLEAN content if encoded, extnValue content).
    type TestExt<'a> = (&'a str, Option<&'a [u8]>, &'a [u8]);

    fn extensions(tag: u8, exts: &[TestExt]) -> Vec<u8> {
        let list: Vec<Vec<u8>> = exts
            .iter()
            .map(|(oid, critical, value)| {
                derw::seq(&[
                    &derw::oid(oid),
                    &critical
                        .map(|c| derw::tlv(derw::TAG_BOOLEAN, c))
                        .unwrap_or_default(),
                    &derw::octet_string(value),
                ])
            })
            .collect();
        let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        derw::cons(tag, &[&derw::seq(&refs)])
    }

    /// OCSPRequest from TBSRequest parts (already encoded, in order).
    fn request(tbs_parts: &[&[u8]], signature: Option<&[u8]>) -> Vec<u8> {
        let tbs = derw::seq(tbs_parts);
        match signature {
            Some(sig) => derw::seq(&[&tbs, sig]),
            None => derw::seq(&[&tbs]),
        }
    }

    fn request_list(cert_ids: &[&[u8]]) -> Vec<u8> {
        let reqs: Vec<Vec<u8>> = cert_ids.iter().map(|c| derw::seq(&[c])).collect();
        let refs: Vec<&[u8]> = reqs.iter().map(Vec::as_slice).collect();
        derw::seq(&refs)
    }

    const NONCE: &[u8] = &[0x04, 0x03, 1, 2, 3];

    #[test]
    fn full_request_shape() {
        let id = sha1_cert_id(&[0x00, 0x80, 0x01]);
        let single_exts = extensions(derw::ctx_cons(0), &[("1.2.3.4", None, b"x")]);
        let req_with_ext = derw::seq(&[&id, &single_exts]);
        let list = derw::seq(&[&req_with_ext, &derw::seq(&[&sha1_cert_id(&[0x05])])]);
        let version = derw::cons(derw::ctx_cons(0), &[&derw::uint_u64(0)]);
        let requestor = derw::cons(
            derw::ctx_cons(1),
            &[&derw::tlv(derw::ctx_prim(2), b"client.example")],
        );
        let exts = extensions(
            derw::ctx_cons(2),
            &[
                ("1.3.6.1.5.5.7.48.1.4", Some(&[0x00]), &derw::seq(&[])),
                (OID_OCSP_NONCE, Some(&[0xff]), NONCE),
            ],
        );
        let signature = derw::cons(derw::ctx_cons(0), &[&derw::seq(&[])]);
        let der = request(&[&version, &requestor, &list, &exts], Some(&signature));
        let parsed = parse_ocsp_request(&der).unwrap();
        assert_eq!(parsed.nonce.as_deref(), Some(NONCE));
        assert_eq!(parsed.cert_ids.len(), 2);
        assert_eq!(parsed.cert_ids[0].serial, vec![0x80, 0x01]);
        assert_eq!(parsed.cert_ids[0].raw, id);
        assert_eq!(parsed.cert_ids[0].hash_algorithm, OcspHash::Sha1);
        assert_eq!(parsed.cert_ids[0].issuer_name_hash, vec![0x11; 20]);
        assert_eq!(parsed.cert_ids[1].serial, vec![0x05]);
        // Hash algorithm without parameters is accepted too.
        let no_params = derw::seq(&[
            &derw::seq(&[&derw::oid(OID_SHA256)]),
            &derw::octet_string(&[0; 32]),
            &derw::octet_string(&[0; 32]),
            &derw::uint_u64(7),
        ]);
        let parsed = parse_ocsp_request(&request(&[&request_list(&[&no_params])], None)).unwrap();
        assert_eq!(parsed.cert_ids[0].hash_algorithm, OcspHash::Sha256);
        assert_eq!(parsed.nonce, None);
    }

    #[test]
    fn request_errors() {
        let id = sha1_cert_id(&[1]);
        let list = request_list(&[&id]);
        let malformed = |der: &[u8], what: &str| {
            assert!(
                matches!(parse_ocsp_request(der), Err(OcspError::Malformed(_))),
                "{what}: {:?}",
                parse_ocsp_request(der)
            );
        };
        let v2 = derw::cons(derw::ctx_cons(0), &[&derw::uint_u64(1)]);
        malformed(&request(&[&v2, &list], None), "version 2");
        for (serial, what) in [
            (&[][..], "empty serial"),
            (&[0x80][..], "negative serial"),
            (&[0x00][..], "zero serial"),
            (&[0x00, 0x01][..], "non-minimal serial"),
            (&[0x01; 33][..], "33-octet serial"),
        ] {
            let der = request(&[&request_list(&[&sha1_cert_id(serial)])], None);
            malformed(&der, what);
        }
        let short_hash = derw::seq(&[
            &OcspHash::Sha256.algorithm_identifier(),
            &derw::octet_string(&[0; 20]),
            &derw::octet_string(&[0; 32]),
            &derw::uint_u64(7),
        ]);
        malformed(
            &request(&[&request_list(&[&short_hash])], None),
            "short hash",
        );
        let bad_params = derw::seq(&[
            &derw::seq(&[&derw::oid(OID_SHA1), &derw::uint_u64(0)]),
            &derw::octet_string(&[0; 20]),
            &derw::octet_string(&[0; 20]),
            &derw::uint_u64(7),
        ]);
        malformed(&request(&[&request_list(&[&bad_params])], None), "params");
        let sha224 = derw::seq(&[
            &derw::seq(&[&derw::oid("2.16.840.1.101.3.4.2.4")]),
            &derw::octet_string(&[0; 28]),
            &derw::octet_string(&[0; 28]),
            &derw::uint_u64(7),
        ]);
        assert_eq!(
            parse_ocsp_request(&request(&[&request_list(&[&sha224])], None)),
            Err(OcspError::UnsupportedHashAlgorithm(
                "2.16.840.1.101.3.4.2.4".into()
            ))
        );
        let ext = |exts: &[TestExt]| request(&[&list, &extensions(derw::ctx_cons(2), exts)], None);
        malformed(
            &ext(&[(OID_OCSP_NONCE, None, NONCE), (OID_OCSP_NONCE, None, NONCE)]),
            "duplicate nonce",
        );
        malformed(&ext(&[(OID_OCSP_NONCE, None, b"")]), "empty nonce");
        malformed(
            &ext(&[(OID_OCSP_NONCE, None, &[0; OCSP_MAX_NONCE_LEN + 1])]),
            "long nonce",
        );
        malformed(
            &ext(&[(OID_OCSP_NONCE, Some(&[0x01]), NONCE)]),
            "non-DER boolean",
        );
        let many: Vec<String> = (0..17).map(|i| format!("1.2.3.{i}")).collect();
        let many: Vec<TestExt> = many.iter().map(|o| (o.as_str(), None, &b""[..])).collect();
        malformed(&ext(&many), "17 extensions");
        assert!(parse_ocsp_request(&ext(&many[..16])).is_ok());
        // Field order / unexpected fields.
        malformed(&request(&[&list, &list], None), "two request lists");
        let trailing = derw::seq(&[&derw::seq(&[&list]), &derw::uint_u64(0)]);
        malformed(&trailing, "unexpected trailing field");
        let id_with_garbage = derw::seq(&[&id, &derw::uint_u64(0)]);
        malformed(
            &request(&[&derw::seq(&[&id_with_garbage])], None),
            "Request with junk",
        );
    }

    #[test]
    fn error_responses() {
        for s in [1u8, 2, 3, 5, 6] {
            assert_eq!(ocsp_error_response(s), vec![0x30, 3, 0x0a, 1, s]);
        }
        for s in [0u8, 4, 7, 255] {
            assert_eq!(ocsp_error_response(s), vec![0x30, 3, 0x0a, 1, 2]);
        }
        assert_eq!(
            OcspError::TooManyCertIds.response_status(),
            OCSP_STATUS_MALFORMED_REQUEST
        );
    }

    #[test]
    fn encodings() {
        let t = datetime!(2026-11-23 10:11:12.999 +02:00);
        assert_eq!(
            generalized_time(t).unwrap(),
            derw::tlv(derw::TAG_GENERALIZED_TIME, b"20261123081112Z")
        );
        assert!(generalized_time(datetime!(-0001-01-01 00:00 UTC)).is_err());
        assert!(generalized_time(datetime!(9999-12-31 23:00 -05:00)).is_err());
        let this = datetime!(2026-11-23 00:00 UTC);
        assert_eq!(cert_status(&OcspCertStatus::Good, this).unwrap(), [0x80, 0]);
        assert_eq!(
            cert_status(&OcspCertStatus::Unknown, this).unwrap(),
            [0x82, 0]
        );
        let revoked = |reason| OcspCertStatus::Revoked {
            time: this - Duration::hours(1),
            reason,
        };
        let time = derw::tlv(derw::TAG_GENERALIZED_TIME, b"20261122230000Z");
        assert_eq!(
            cert_status(&revoked(Some(1)), this).unwrap(),
            [&[0xa1, 0x16][..], &time, &[0xa0, 0x03, 0x0a, 0x01, 0x01]].concat()
        );
        for none in [None, Some(0)] {
            assert_eq!(
                cert_status(&revoked(none), this).unwrap(),
                [&[0xa1, 0x11][..], &time].concat()
            );
        }
        for bad in [7u8, 8, 11] {
            assert!(cert_status(&revoked(Some(bad)), this).is_err());
        }
        for alg in OcspHash::ALL {
            assert_eq!(alg.digest(b"abc").len(), alg.output_len());
            assert_eq!(OcspHash::from_oid(alg.oid()), Some(alg));
        }
    }

    #[test]
    fn validity_window() {
        let produced = datetime!(2026-11-23 12:00 UTC);
        let this = produced - Duration::minutes(5);
        let ok = |secs: i64| check_validity(this, this + Duration::seconds(secs), produced).is_ok();
        assert!(ok(8 * 3600 - 1));
        assert!(!ok(8 * 3600 - 2));
        assert!(ok(10 * 86400 - 1));
        assert!(!ok(10 * 86400));
        assert!(check_validity(
            produced + Duration::seconds(1),
            produced + Duration::days(1),
            produced
        )
        .is_err());
    }

    /// Response layout: no version, responderID byKey, producedAt, one
    /// SingleResponse echoing the CertID, nonce extension, certs [0].
    #[test]
    fn response_layout() {
        let nb = datetime!(2026-11-01 00:00 UTC);
        let (ca, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let subject = CaSubject {
            country: "US".into(),
            organization: "Certwell Unit".into(),
            common_name: "Unit Root".into(),
        };
        let ca_spki = ca.spki_der();
        let root = build_ca_certificate(
            CaCertRequest {
                profile: CaProfile::Root,
                subject: &subject,
                subject_spki_der: &ca_spki,
                serial: recorded_serial(),
                not_before: nb,
                not_after: nb + Duration::days(3000),
                issuer_crl_url: None,
                issuer_cert_url: None,
            },
            None,
            &ca,
        )
        .unwrap();
        let (resp_key, _) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let resp_spki = resp_key.spki_der();
        let responder = build_ca_certificate(
            CaCertRequest {
                profile: CaProfile::OcspResponder,
                subject: &CaSubject {
                    common_name: "Unit Responder".into(),
                    ..subject.clone()
                },
                subject_spki_der: &resp_spki,
                serial: recorded_serial(),
                not_before: nb,
                not_after: nb + Duration::days(90),
                issuer_crl_url: None,
                issuer_cert_url: None,
            },
            Some(&root),
            &ca,
        )
        .unwrap();
        // The root cannot answer for itself: its keyUsage lacks digitalSignature.
        let id = OcspCertId::new(&root, OcspHash::Sha256, &[0x7f, 1]).unwrap();
        assert_eq!(id.serial, vec![0x7f, 1]);
        assert_eq!(OcspCertId::from_der(&id.raw).unwrap(), id);
        let produced = nb + Duration::days(1);
        let singles = [OcspSingle {
            cert_id_raw: &id.raw,
            status: OcspCertStatus::Good,
            this_update: produced,
            next_update: produced + Duration::days(3),
        }];
        assert!(build_ocsp_response(&root, &ca, produced, &singles, None).is_err());
        let der =
            build_ocsp_response(&responder, &resp_key, produced, &singles, Some(NONCE)).unwrap();

        let resp = Tlv::parse_single(&der).unwrap();
        let mut r = resp.reader();
        assert_eq!(r.read().unwrap().raw, [0x0a, 1, 0]);
        let bytes = Tlv::parse_single(r.read_tag(derw::ctx_cons(0)).unwrap().value).unwrap();
        r.finish().unwrap();
        let mut br = bytes.reader();
        assert_eq!(br.read().unwrap().raw, derw::oid(OID_OCSP_BASIC));
        let basic = Tlv::parse_single(br.read_tag(derw::TAG_OCTET_STRING).unwrap().value).unwrap();
        let mut b = basic.reader();
        let tbs = b.read_tag(derw::TAG_SEQUENCE).unwrap();
        let alg = b.read_tag(derw::TAG_SEQUENCE).unwrap();
        let sig = b.read_tag(derw::TAG_BIT_STRING).unwrap();
        let certs = b.read_tag(derw::ctx_cons(0)).unwrap();
        b.finish().unwrap();
        assert_eq!(alg.raw, resp_key.signature_algorithm_der());
        verify_signature(&resp_spki, alg.raw, tbs.raw, &sig.value[1..]).unwrap();
        assert_eq!(certs.value, derw::seq(&[&responder]));

        let mut t = tbs.reader();
        let rid = t.read_tag(derw::ctx_cons(2)).unwrap();
        assert_eq!(
            rid.value,
            derw::octet_string(&key_identifier(&resp_spki).unwrap())
        );
        assert_eq!(
            t.read().unwrap().raw,
            derw::tlv(derw::TAG_GENERALIZED_TIME, b"20261102000000Z")
        );
        let responses = t.read_tag(derw::TAG_SEQUENCE).unwrap();
        let exts = t.read_tag(derw::ctx_cons(1)).unwrap();
        t.finish().unwrap();
        let single = Tlv::parse_single(responses.value).unwrap();
        let mut s = single.reader();
        assert_eq!(s.read().unwrap().raw, id.raw);
        assert_eq!(s.read().unwrap().raw, [0x80, 0]);
        assert_eq!(s.read().unwrap().tag, derw::TAG_GENERALIZED_TIME);
        assert_eq!(
            s.read_tag(derw::ctx_cons(0)).unwrap().value,
            derw::tlv(derw::TAG_GENERALIZED_TIME, b"20261105000000Z")
        );
        s.finish().unwrap();
        let nonce_ext = derw::seq(&[&derw::oid(OID_OCSP_NONCE), &derw::octet_string(NONCE)]);
        assert_eq!(exts.value, derw::seq(&[&nonce_ext]));
    }
}
