//! CA and TLS subscriber certificate builders.

use time::{OffsetDateTime, UtcOffset};

use crate::derw::{self, Tlv};
use crate::profile::{check_tbs, CertProfile, CheckedTbs};
use crate::serial::RecordedSerial;
use crate::signer::{KeyAlgorithm, SignatureScheme, Signer};
use crate::CaError;

// ---- OIDs -------------------------------------------------------------------

pub(crate) const OID_CN: &str = "2.5.4.3";
pub(crate) const OID_SERIAL_NUMBER: &str = "2.5.4.5";
pub(crate) const OID_C: &str = "2.5.4.6";
pub(crate) const OID_L: &str = "2.5.4.7";
pub(crate) const OID_ST: &str = "2.5.4.8";
pub(crate) const OID_STREET: &str = "2.5.4.9";
pub(crate) const OID_O: &str = "2.5.4.10";
const OID_BUSINESS_CATEGORY: &str = "2.5.4.15";
pub(crate) const OID_POSTAL_CODE: &str = "2.5.4.17";
const OID_JUR_L: &str = "1.3.6.1.4.1.311.60.2.1.1";
const OID_JUR_ST: &str = "1.3.6.1.4.1.311.60.2.1.2";
const OID_JUR_C: &str = "1.3.6.1.4.1.311.60.2.1.3";

pub(crate) const OID_EXT_SKI: &str = "2.5.29.14";
pub(crate) const OID_EXT_KU: &str = "2.5.29.15";
pub(crate) const OID_EXT_SAN: &str = "2.5.29.17";
pub(crate) const OID_EXT_BC: &str = "2.5.29.19";
pub(crate) const OID_EXT_CRLDP: &str = "2.5.29.31";
pub(crate) const OID_EXT_CP: &str = "2.5.29.32";
pub(crate) const OID_EXT_AKI: &str = "2.5.29.35";
pub(crate) const OID_EXT_EKU: &str = "2.5.29.37";
pub(crate) const OID_EXT_AIA: &str = "1.3.6.1.5.5.7.1.1";

pub(crate) const OID_KP_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// EKU id-kp-emailProtection.
pub const OID_EKU_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
/// EKU id-kp-clientAuth.
pub const OID_EKU_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// EKU Microsoft Document Signing (szOID_KP_DOCUMENT_SIGNING).
pub const OID_EKU_DOCUMENT_SIGNING_MS: &str = "1.3.6.1.4.1.311.10.3.12";
/// EKU Adobe Authentic Documents Trust.
pub const OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS: &str = "1.2.840.113583.1.1.5";
/// EKU id-kp-OCSPSigning (RFC 5280 §4.2.1.12).
pub const OID_EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1), extnValue NULL.
pub(crate) const OID_EXT_OCSP_NOCHECK: &str = "1.3.6.1.5.5.7.48.1.5";
pub(crate) const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
pub(crate) const OID_AD_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

/// CA/B Forum reserved policy OIDs.
pub const POLICY_TLS_OV: &str = "2.23.140.1.2.2";
pub const POLICY_TLS_EV: &str = "2.23.140.1.1";

/// The S/MIME BR reserved policy OIDs an S/MIME issuing CA asserts
/// (SBR §7.1.6.1): mailbox, organization and sponsor validated, each in the
/// Multipurpose and Strict generations. Legacy (2.23.140.1.5.x.1) is no
/// longer issued and Individual-validated (2.23.140.1.5.4.x) is not offered.
pub const SMIME_ISSUING_CA_POLICIES: [&str; 6] = [
    "2.23.140.1.5.1.2",
    "2.23.140.1.5.1.3",
    "2.23.140.1.5.2.2",
    "2.23.140.1.5.2.3",
    "2.23.140.1.5.3.2",
    "2.23.140.1.5.3.3",
];

/// certwell's private OID arc. PLACEHOLDER: this is IANA Private Enterprise
/// Number 32473, reserved for documentation and examples (RFC 5612). A
/// deployment must replace it with its own PEN before its CP is published.
pub const CERTWELL_OID_ARC: &str = "1.3.6.1.4.1.32473";

/// certwell CP policy for client-authentication-only (non-S/MIME)
/// certificates: `CERTWELL_OID_ARC`.1 (certificate policies) .3 (client auth).
pub const POLICY_CERTWELL_CLIENT_AUTH: &str = "1.3.6.1.4.1.32473.1.3";

/// certwell CP policy for document-signing certificates:
/// `CERTWELL_OID_ARC`.1 (certificate policies) .4 (document signing).
pub const POLICY_CERTWELL_DOCUMENT_SIGNING: &str = "1.3.6.1.4.1.32473.1.4";

// keyUsage bit numbers
const KU_DIGITAL_SIGNATURE: u8 = 0;
const KU_KEY_CERT_SIGN: u8 = 5;
const KU_CRL_SIGN: u8 = 6;

// ---- public request types ------------------------------------------------------

/// Subject for CA certificates: C, O, CN (BR requires these; encoded in order C, O, CN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSubject {
    pub country: String,
    pub organization: String,
    pub common_name: String,
}

/// Which CA certificate profile to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaProfile {
    /// Self-signed root (BR §7.1.2.1).
    Root,
    /// TLS issuing CA: exactly one reserved policy OID (2.23.140.1.2.2 for OV,
    /// 2.23.140.1.1 for EV), EKU serverAuth only, pathLen 0.
    TlsIssuing { ev: bool },
    /// S/MIME issuing CA (SBR §7.1.2.2): the six reserved policy OIDs in
    /// [`SMIME_ISSUING_CA_POLICIES`], EKU emailProtection + clientAuth (the
    /// only EKUs SMC018 allows), pathLen 0.
    SmimeIssuing,
    /// Issuing CA for client-authentication-only (non-S/MIME) certificates:
    /// policy [`POLICY_CERTWELL_CLIENT_AUTH`], EKU clientAuth only, pathLen 0.
    ClientAuthIssuing,
    /// Issuing CA for document-signing certificates: policy
    /// [`POLICY_CERTWELL_DOCUMENT_SIGNING`], EKU Microsoft Document Signing
    /// + Adobe Authentic Documents, pathLen 0.
    DocumentSigningIssuing,
    /// Delegated OCSP responder certificate (BR §7.1.2.8, RFC 6960
    /// §4.2.2.2), issued by a CA for the key that signs OCSP responses about
    /// that CA's certificates: no basicConstraints (end entity), keyUsage
    /// critical digitalSignature only, EKU id-kp-OCSPSigning only,
    /// id-pkix-ocsp-nocheck, AKI = issuer SKI, SKI; no certificatePolicies,
    /// CRLDP or AIA (`issuer_crl_url` / `issuer_cert_url` are ignored).
    /// Because nocheck makes it unrevocable in practice, keep the validity
    /// short (e.g. 90 days) and distinct from the issuer's key.
    OcspResponder,
}

impl CaProfile {
    /// certificatePolicies and EKU OIDs of an issuing-CA profile (`None` for Root).
    fn issuing_policies_and_ekus(
        &self,
    ) -> Option<(&'static [&'static str], &'static [&'static str])> {
        match self {
            CaProfile::Root | CaProfile::OcspResponder => None,
            CaProfile::TlsIssuing { ev: false } => Some((&[POLICY_TLS_OV], &[OID_KP_SERVER_AUTH])),
            CaProfile::TlsIssuing { ev: true } => Some((&[POLICY_TLS_EV], &[OID_KP_SERVER_AUTH])),
            CaProfile::SmimeIssuing => Some((
                &SMIME_ISSUING_CA_POLICIES,
                &[OID_EKU_EMAIL_PROTECTION, OID_EKU_CLIENT_AUTH],
            )),
            CaProfile::ClientAuthIssuing => {
                Some((&[POLICY_CERTWELL_CLIENT_AUTH], &[OID_EKU_CLIENT_AUTH]))
            }
            CaProfile::DocumentSigningIssuing => Some((
                &[POLICY_CERTWELL_DOCUMENT_SIGNING],
                &[
                    OID_EKU_DOCUMENT_SIGNING_MS,
                    OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS,
                ],
            )),
        }
    }
}

/// Input for [`build_ca_certificate`].
#[derive(Debug)]
pub struct CaCertRequest<'a> {
    pub profile: CaProfile,
    pub subject: &'a CaSubject,
    pub subject_spki_der: &'a [u8],
    /// The serial, recorded before signing (consumed by the build).
    pub serial: RecordedSerial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// For ICAs: URL of the ISSUER's (root's) CRL. Ignored for Root.
    pub issuer_crl_url: Option<&'a str>,
    /// For ICAs: URL of the ISSUER's certificate (AIA caIssuers); required for
    /// SmimeIssuing and ClientAuthIssuing, optional for TlsIssuing. Ignored for Root.
    pub issuer_cert_url: Option<&'a str>,
}

/// Subject of a TLS subscriber certificate (BR §7.1.4.2, EVG §7.1.4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSubject {
    /// ISO 3166-1 alpha-2, PrintableString.
    pub country: String,
    pub state: Option<String>,
    pub locality: Option<String>,
    /// Only emitted if Some (NOT RECOMMENDED by the BR; callers normally pass None).
    pub postal_code: Option<String>,
    pub street: Option<String>,
    pub organization: String,
    /// When Some it MUST equal one of the SAN dNSNames.
    pub common_name: Option<String>,
    /// EV only: "Private Organization", "Government Entity", "Business Entity", "Non-Commercial Entity".
    pub business_category: Option<String>,
    /// EV only: PrintableString, OID 1.3.6.1.4.1.311.60.2.1.3.
    pub jurisdiction_country: Option<String>,
    /// EV only: OID 1.3.6.1.4.1.311.60.2.1.2.
    pub jurisdiction_state: Option<String>,
    /// EV only: OID 1.3.6.1.4.1.311.60.2.1.1.
    pub jurisdiction_locality: Option<String>,
    /// EV only: registration number, PrintableString (2.5.4.5).
    pub serial_number: Option<String>,
}

/// Input for [`build_tls_leaf`].
#[derive(Debug)]
pub struct TlsLeafRequest<'a> {
    pub ev: bool,
    pub subject: &'a TlsSubject,
    /// SAN dNSNames in order; wildcards like `*.example.com` allowed for OV.
    pub dns_names: &'a [String],
    pub subject_spki_der: &'a [u8],
    /// The serial, recorded before signing (consumed by the build).
    pub serial: RecordedSerial,
    pub not_before: OffsetDateTime,
    /// Encoded as given (UTCTime before 2050, else GeneralizedTime).
    pub not_after: OffsetDateTime,
    /// The validity cap in force: the pre-sign profile check refuses a
    /// certificate longer than this or than the BR §6.3.2 maximum for its
    /// `not_before` ([`crate::tls_br_max_days`]: 398, 200, 100 or 47 days),
    /// whichever is lower.
    pub max_validity_days: i64,
    /// CRLDP of the issuing CA (http).
    pub crl_url: &'a str,
    /// AIA caIssuers (http).
    pub ca_issuers_url: &'a str,
    /// AIA ocsp (http), optional.
    pub ocsp_url: Option<&'a str>,
}

// ---- serials and times ---------------------------------------------------------

/// 16 bytes from the OS CSPRNG, top bit cleared, first byte non-zero
/// (so ≥ 64 bits of entropy, positive, minimal DER).
pub(crate) fn random_serial() -> Vec<u8> {
    use rand::TryRngCore;
    let mut buf = [0u8; 16];
    if rand::rngs::OsRng.try_fill_bytes(&mut buf).is_err() {
        // Fall back to aws-lc's OS-seeded DRBG.
        if aws_lc_rs::rand::fill(&mut buf).is_err() {
            // Both entropy sources failing is unrecoverable; never emit a weak serial.
            panic!("no CSPRNG available for serial number generation");
        }
    }
    buf[0] &= 0x7f;
    if buf[0] == 0 {
        buf[0] = 0x01 | (buf[1] & 0x7e);
    }
    buf.to_vec()
}

/// Validate a serial (positive, non-zero, ≤ 20 content octets) and encode it as INTEGER.
pub(crate) fn encode_serial(serial: &[u8]) -> Result<Vec<u8>, CaError> {
    let content = derw::uint_content(serial);
    if content.iter().all(|b| *b == 0) {
        return Err(CaError::InvalidInput(
            "serial number must be non-zero".into(),
        ));
    }
    if content.len() > 20 {
        return Err(CaError::InvalidInput(
            "serial number exceeds 20 octets".into(),
        ));
    }
    Ok(derw::tlv(derw::TAG_INTEGER, &content))
}

/// RFC 5280 time: whole seconds, Zulu, UTCTime for 1950..=2049, GeneralizedTime otherwise.
pub(crate) fn encode_time(t: OffsetDateTime) -> Result<Vec<u8>, CaError> {
    let t = t
        .checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| CaError::InvalidInput("time out of range".into()))?;
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return Err(CaError::InvalidInput(format!("year {year} out of range")));
    }
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if (1950..2050).contains(&year) {
        let s = format!("{:02}{rest}", year % 100);
        Ok(derw::tlv(derw::TAG_UTC_TIME, s.as_bytes()))
    } else {
        let s = format!("{year:04}{rest}");
        Ok(derw::tlv(derw::TAG_GENERALIZED_TIME, s.as_bytes()))
    }
}

pub(crate) fn encode_validity(nb: OffsetDateTime, na: OffsetDateTime) -> Result<Vec<u8>, CaError> {
    if na.unix_timestamp() <= nb.unix_timestamp() {
        return Err(CaError::InvalidInput(
            "notAfter must be later than notBefore".into(),
        ));
    }
    Ok(derw::seq(&[&encode_time(nb)?, &encode_time(na)?]))
}

// ---- parsing helpers ---------------------------------------------------------------

/// The parts of a certificate the builders need.
pub(crate) struct ParsedCert<'a> {
    pub tbs_raw: &'a [u8],
    pub subject_raw: &'a [u8],
    pub issuer_raw: &'a [u8],
    pub spki_raw: &'a [u8],
    pub signature_alg_raw: &'a [u8],
    pub signature: &'a [u8],
    /// (oid, critical, extnValue content)
    pub extensions: Vec<(String, bool, &'a [u8])>,
}

impl<'a> ParsedCert<'a> {
    pub fn parse(der: &'a [u8]) -> Result<ParsedCert<'a>, CaError> {
        let ctx = |e: derw::DerError| CaError::Parse(format!("certificate: {e}"));
        let cert = Tlv::parse_single(der)
            .and_then(|t| t.expect(derw::TAG_SEQUENCE))
            .map_err(ctx)?;
        let mut r = cert.reader();
        let tbs = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        let sig_alg = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        let sig = r.read_tag(derw::TAG_BIT_STRING).map_err(ctx)?;
        r.finish().map_err(ctx)?;
        if sig.value.first() != Some(&0) {
            return Err(CaError::Parse(
                "certificate: bad signature BIT STRING".into(),
            ));
        }

        let mut t = tbs.reader();
        t.read_optional(derw::ctx_cons(0)).map_err(ctx)?;
        t.read_tag(derw::TAG_INTEGER).map_err(ctx)?;
        let inner_alg = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        if inner_alg.raw != sig_alg.raw {
            return Err(CaError::Parse(
                "certificate: tbs signature algorithm differs from outer".into(),
            ));
        }
        let issuer = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?; // validity
        let subject = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        let spki = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
        t.read_optional(derw::ctx_prim(1)).map_err(ctx)?;
        t.read_optional(derw::ctx_prim(2)).map_err(ctx)?;
        let mut extensions = Vec::new();
        if let Some(exts) = t.read_optional(derw::ctx_cons(3)).map_err(ctx)? {
            let list = Tlv::parse_single(exts.value)
                .and_then(|l| l.expect(derw::TAG_SEQUENCE))
                .map_err(ctx)?;
            let mut lr = list.reader();
            while !lr.is_empty() {
                let e = lr.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
                let mut er = e.reader();
                let o = er.read_tag(derw::TAG_OID).map_err(ctx)?;
                let crit = match er.read_optional(derw::TAG_BOOLEAN).map_err(ctx)? {
                    Some(b) => b.value == [0xff],
                    None => false,
                };
                let v = er.read_tag(derw::TAG_OCTET_STRING).map_err(ctx)?;
                er.finish().map_err(ctx)?;
                extensions.push((derw::oid_to_string(o.value).map_err(ctx)?, crit, v.value));
            }
        }
        t.finish().map_err(ctx)?;
        Ok(ParsedCert {
            tbs_raw: tbs.raw,
            subject_raw: subject.raw,
            issuer_raw: issuer.raw,
            spki_raw: spki.raw,
            signature_alg_raw: sig_alg.raw,
            signature: &sig.value[1..],
            extensions,
        })
    }

    pub fn extension(&self, oid: &str) -> Option<&'a [u8]> {
        self.extensions
            .iter()
            .find(|(o, _, _)| o == oid)
            .map(|(_, _, v)| *v)
    }

    /// keyIdentifier from the SubjectKeyIdentifier extension.
    pub fn subject_key_id(&self) -> Result<Vec<u8>, CaError> {
        let v = self.extension(OID_EXT_SKI).ok_or_else(|| {
            CaError::InvalidInput("issuer certificate has no subjectKeyIdentifier extension".into())
        })?;
        let t = Tlv::parse_single(v)
            .and_then(|t| t.expect(derw::TAG_OCTET_STRING))
            .map_err(|e| CaError::Parse(format!("issuer SKI: {e}")))?;
        if t.value.is_empty() {
            return Err(CaError::Parse("issuer SKI is empty".into()));
        }
        Ok(t.value.to_vec())
    }

    /// Is this a CA certificate (basicConstraints cA=TRUE)?
    pub fn is_ca(&self) -> bool {
        let Some(v) = self.extension(OID_EXT_BC) else {
            return false;
        };
        let Ok(bc) = Tlv::parse_single(v) else {
            return false;
        };
        let mut r = bc.reader();
        matches!(r.read_optional(derw::TAG_BOOLEAN), Ok(Some(b)) if b.value == [0xff])
    }
}

/// Method-1 key identifier: SHA-1 of the subjectPublicKey BIT STRING value.
pub(crate) fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, CaError> {
    let (_, _, key_bits) = split_spki(spki_der)?;
    Ok(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key_bits)
            .as_ref()
            .to_vec(),
    )
}

/// Split an SPKI into (algorithm OID, parameters TLV, subjectPublicKey bytes).
pub(crate) fn split_spki(spki_der: &[u8]) -> Result<(String, Option<Tlv<'_>>, &[u8]), CaError> {
    let ctx = |e: derw::DerError| CaError::Parse(format!("SubjectPublicKeyInfo: {e}"));
    let spki = Tlv::parse_single(spki_der)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(ctx)?;
    let mut r = spki.reader();
    let alg = r.read().map_err(ctx)?;
    let (oid, params) = derw::parse_algorithm_identifier(alg).map_err(ctx)?;
    let bits = r.read_tag(derw::TAG_BIT_STRING).map_err(ctx)?;
    r.finish().map_err(ctx)?;
    match bits.value.split_first() {
        Some((0, key)) if !key.is_empty() => Ok((oid, params, key)),
        _ => Err(CaError::Parse(
            "SubjectPublicKeyInfo: bad subjectPublicKey BIT STRING".into(),
        )),
    }
}

/// Which kind of key an SPKI holds (for keyUsage selection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpkiKind {
    Rsa,
    Ec,
}

pub(crate) fn spki_kind(spki_der: &[u8]) -> Result<SpkiKind, CaError> {
    let (oid, _, _) = split_spki(spki_der)?;
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => Ok(SpkiKind::Rsa),
        "1.2.840.10045.2.1" => Ok(SpkiKind::Ec),
        other => Err(CaError::InvalidInput(format!(
            "unsupported subject public key algorithm {other}"
        ))),
    }
}

/// The key algorithm of an SPKI: the curve of an EC key, the modulus size
/// of an RSA key (2048, 3072 or 4096 bits exactly).
pub fn key_algorithm_of_spki(spki_der: &[u8]) -> Result<KeyAlgorithm, CaError> {
    let (oid, params, key) = split_spki(spki_der)?;
    match oid.as_str() {
        "1.2.840.10045.2.1" => {
            let curve = params
                .filter(|p| p.tag == derw::TAG_OID)
                .map(|p| derw::oid_to_string(p.value))
                .transpose()
                .map_err(|e| CaError::Parse(format!("EC parameters: {e}")))?;
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok(KeyAlgorithm::EcdsaP256),
                Some("1.3.132.0.34") => Ok(KeyAlgorithm::EcdsaP384),
                other => Err(CaError::InvalidInput(format!(
                    "unsupported EC curve {}",
                    other.unwrap_or("(none)")
                ))),
            }
        }
        "1.2.840.113549.1.1.1" => {
            let ctx = |e: derw::DerError| CaError::Parse(format!("RSA public key: {e}"));
            let rsa = Tlv::parse_single(key)
                .and_then(|t| t.expect(derw::TAG_SEQUENCE))
                .map_err(ctx)?;
            let mut r = rsa.reader();
            let n = r.read_tag(derw::TAG_INTEGER).map_err(ctx)?;
            let magnitude = n.value.iter().skip_while(|b| **b == 0).count();
            match magnitude * 8 {
                2048 => Ok(KeyAlgorithm::Rsa2048),
                3072 => Ok(KeyAlgorithm::Rsa3072),
                4096 => Ok(KeyAlgorithm::Rsa4096),
                bits => Err(CaError::InvalidInput(format!(
                    "unsupported RSA key size {bits} (2048, 3072 or 4096)"
                ))),
            }
        }
        other => Err(CaError::InvalidInput(format!(
            "unsupported public key algorithm {other}"
        ))),
    }
}

/// What a CA certificate brought in from outside says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertInfo {
    pub spki_der: Vec<u8>,
    pub key_algorithm: KeyAlgorithm,
    /// basicConstraints cA=TRUE.
    pub is_ca: bool,
    /// Subject and issuer names are equal (a root, or a self-issued CA).
    pub self_issued: bool,
    pub subject_common_name: Option<String>,
    pub not_after: OffsetDateTime,
}

/// Reads a CA certificate (an imported root or intermediate).
pub fn ca_certificate_info(cert_der: &[u8]) -> Result<CaCertInfo, CaError> {
    let c = ParsedCert::parse(cert_der)?;
    let summary = crate::util::certificate_summary(cert_der)?;
    Ok(CaCertInfo {
        spki_der: c.spki_raw.to_vec(),
        key_algorithm: key_algorithm_of_spki(c.spki_raw)?,
        is_ca: c.is_ca(),
        self_issued: c.subject_raw == c.issuer_raw,
        subject_common_name: summary.subject_common_name,
        not_after: summary.not_after,
    })
}

/// A PKCS#10 request for a CA key, subject C/O/CN, no attributes, signed
/// by `signer` (for an intermediate an external root is to sign).
pub fn build_ca_csr(subject: &CaSubject, signer: &dyn Signer) -> Result<Vec<u8>, CaError> {
    let info = derw::seq(&[
        &derw::uint_u64(0),
        &ca_subject_der(subject)?,
        &signer.spki_der(),
        &derw::tlv(derw::ctx_cons(0), &[]),
    ]);
    let alg = check_signer_alg(signer)?;
    let sig = signer.sign(&info)?;
    Ok(derw::seq(&[&info, &alg, &derw::bit_string(&sig)]))
}

// ---- signature verification (post-issuance self check) -------------------------------

/// Verify `sig` over `msg` with the key in `spki_der`, using the signature
/// algorithm `alg_der` (one of the [`SignatureScheme`] encodings).
pub(crate) fn verify_signature(
    spki_der: &[u8],
    alg_der: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CaError> {
    let scheme = SignatureScheme::from_algorithm_der(alg_der).ok_or_else(|| {
        CaError::Signing(format!(
            "unsupported signature algorithm {}",
            hex::encode(alg_der)
        ))
    })?;
    let valg = verification_algorithm(spki_der, scheme)?;
    aws_lc_rs::signature::UnparsedPublicKey::new(valg, spki_der)
        .verify(msg, sig)
        .map_err(|_| CaError::Signing("signature does not verify with the issuer key".into()))
}

/// The aws-lc-rs verifier for `scheme`; ECDSA also accepts the other
/// curve/hash pairings (a P-384 key signing with SHA-256 and vice versa).
fn verification_algorithm(
    spki_der: &[u8],
    scheme: SignatureScheme,
) -> Result<&'static dyn aws_lc_rs::signature::VerificationAlgorithm, CaError> {
    use aws_lc_rs::signature as s;
    let sha384 = match scheme {
        SignatureScheme::EcdsaP256Sha256 => false,
        SignatureScheme::EcdsaP384Sha384 => true,
        _ => return Ok(scheme.verification_algorithm()),
    };
    let (_, params, _) = split_spki(spki_der)?;
    let curve = params
        .filter(|p| p.tag == derw::TAG_OID)
        .and_then(|p| derw::oid_to_string(p.value).ok());
    Ok(match (curve.as_deref(), sha384) {
        (Some("1.2.840.10045.3.1.7"), false) => &s::ECDSA_P256_SHA256_ASN1,
        (Some("1.2.840.10045.3.1.7"), true) => &s::ECDSA_P256_SHA384_ASN1,
        (Some("1.3.132.0.34"), false) => &s::ECDSA_P384_SHA256_ASN1,
        (Some("1.3.132.0.34"), true) => &s::ECDSA_P384_SHA384_ASN1,
        _ => return Err(CaError::Signing("unsupported EC curve".into())),
    })
}

/// Sign a TBS structure with the signer's default scheme and assemble
/// `SEQUENCE { tbs, alg, BIT STRING sig }`, verifying the result with
/// `verify_spki` (the issuer public key).
pub(crate) fn sign_and_assemble(
    tbs: CheckedTbs,
    alg_der: &[u8],
    signer: &dyn Signer,
    verify_spki: &[u8],
) -> Result<Vec<u8>, CaError> {
    sign_raw_and_assemble(tbs.der(), alg_der, signer, verify_spki)
}

/// [`sign_and_assemble`] for signed objects other than certificates (CRLs).
pub(crate) fn sign_raw_and_assemble(
    tbs: &[u8],
    alg_der: &[u8],
    signer: &dyn Signer,
    verify_spki: &[u8],
) -> Result<Vec<u8>, CaError> {
    let sig = signer.sign(tbs)?;
    assemble_verified(tbs, alg_der, &sig, verify_spki)
}

/// Like [`sign_and_assemble`] with an explicit scheme (`signer.sign_with`);
/// the AlgorithmIdentifier is `scheme.algorithm_der()`, which must be the one
/// already placed in `tbs`.
pub(crate) fn sign_with_and_assemble(
    tbs: CheckedTbs,
    scheme: SignatureScheme,
    signer: &dyn Signer,
    verify_spki: &[u8],
) -> Result<Vec<u8>, CaError> {
    let sig = signer.sign_with(scheme, tbs.der())?;
    assemble_verified(tbs.der(), &scheme.algorithm_der(), &sig, verify_spki)
}

fn assemble_verified(
    tbs: &[u8],
    alg_der: &[u8],
    sig: &[u8],
    verify_spki: &[u8],
) -> Result<Vec<u8>, CaError> {
    verify_signature(verify_spki, alg_der, tbs, sig)?;
    Ok(derw::seq(&[tbs, alg_der, &derw::bit_string(sig)]))
}

pub(crate) fn check_signer_alg(signer: &dyn Signer) -> Result<Vec<u8>, CaError> {
    let alg = signer.signature_algorithm_der();
    let expected = signer.key_algorithm().signature_algorithm_der();
    if alg != expected {
        return Err(CaError::Signing(format!(
            "signer algorithm identifier {} does not match the BR encoding {} for {}",
            hex::encode(&alg),
            hex::encode(&expected),
            signer.key_algorithm()
        )));
    }
    Ok(alg)
}

// ---- names -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub(crate) enum StrType {
    Utf8,
    Printable,
    /// IA5String (ASCII), e.g. PKCS#9 emailAddress.
    Ia5,
}

pub(crate) fn is_printable(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

/// Validate an attribute value and encode one single-valued RDN.
pub(crate) fn rdn(
    oid: &str,
    name: &str,
    value: &str,
    ty: StrType,
    max_len: usize,
) -> Result<Vec<u8>, CaError> {
    if value.trim().is_empty() {
        return Err(CaError::InvalidInput(format!("{name} must not be empty")));
    }
    if value.trim() != value {
        return Err(CaError::InvalidInput(format!(
            "{name} must not have leading or trailing whitespace"
        )));
    }
    if value.chars().all(|c| ".-_ ".contains(c)) {
        return Err(CaError::InvalidInput(format!(
            "{name} must not consist only of metadata characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(CaError::InvalidInput(format!(
            "{name} must not contain control characters"
        )));
    }
    if value.chars().count() > max_len {
        return Err(CaError::InvalidInput(format!(
            "{name} exceeds {max_len} characters"
        )));
    }
    let tag = match ty {
        StrType::Utf8 => derw::TAG_UTF8_STRING,
        StrType::Printable => {
            if !is_printable(value) {
                return Err(CaError::InvalidInput(format!(
                    "{name} contains characters not allowed in a PrintableString"
                )));
            }
            derw::TAG_PRINTABLE_STRING
        }
        StrType::Ia5 => {
            if !value.is_ascii() {
                return Err(CaError::InvalidInput(format!(
                    "{name} must be ASCII (IA5String)"
                )));
            }
            derw::TAG_IA5_STRING
        }
    };
    let atv = derw::seq(&[&derw::oid(oid), &derw::tlv(tag, value.as_bytes())]);
    Ok(derw::set(&[&atv]))
}

pub(crate) fn country_rdn(oid: &str, name: &str, value: &str) -> Result<Vec<u8>, CaError> {
    if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CaError::InvalidInput(format!(
            "{name} must be a two-letter upper-case ISO 3166-1 code, got {value:?}"
        )));
    }
    rdn(oid, name, value, StrType::Printable, 2)
}

fn ca_subject_der(s: &CaSubject) -> Result<Vec<u8>, CaError> {
    let c = country_rdn(OID_C, "country", &s.country)?;
    let o = rdn(OID_O, "organization", &s.organization, StrType::Utf8, 64)?;
    let cn = rdn(OID_CN, "common_name", &s.common_name, StrType::Utf8, 64)?;
    Ok(derw::seq(&[&c, &o, &cn]))
}

fn tls_subject_der(s: &TlsSubject, ev: bool) -> Result<Vec<u8>, CaError> {
    let mut rdns: Vec<Vec<u8>> = Vec::new();
    rdns.push(country_rdn(OID_C, "country", &s.country)?);
    if s.state.is_none() && s.locality.is_none() {
        return Err(CaError::InvalidInput(
            "subject requires stateOrProvinceName or localityName".into(),
        ));
    }
    if let Some(v) = &s.state {
        rdns.push(rdn(OID_ST, "state", v, StrType::Utf8, 128)?);
    }
    if let Some(v) = &s.locality {
        rdns.push(rdn(OID_L, "locality", v, StrType::Utf8, 128)?);
    }
    if let Some(v) = &s.postal_code {
        rdns.push(rdn(OID_POSTAL_CODE, "postal_code", v, StrType::Utf8, 40)?);
    }
    if let Some(v) = &s.street {
        rdns.push(rdn(OID_STREET, "street", v, StrType::Utf8, 128)?);
    }
    let ev_fields = [
        &s.business_category,
        &s.jurisdiction_country,
        &s.jurisdiction_state,
        &s.jurisdiction_locality,
        &s.serial_number,
    ];
    if ev {
        // EVG §7.1.4.2 attributes. They are not in the BR's enforced order
        // list, so they are placed between the address and O.
        let jc = s.jurisdiction_country.as_deref().ok_or_else(|| {
            CaError::InvalidInput("EV subject requires jurisdiction_country".into())
        })?;
        rdns.push(country_rdn(OID_JUR_C, "jurisdiction_country", jc)?);
        if let Some(v) = &s.jurisdiction_state {
            rdns.push(rdn(
                OID_JUR_ST,
                "jurisdiction_state",
                v,
                StrType::Utf8,
                128,
            )?);
        }
        if let Some(v) = &s.jurisdiction_locality {
            rdns.push(rdn(
                OID_JUR_L,
                "jurisdiction_locality",
                v,
                StrType::Utf8,
                128,
            )?);
        }
        let bc = s
            .business_category
            .as_deref()
            .ok_or_else(|| CaError::InvalidInput("EV subject requires business_category".into()))?;
        const CATEGORIES: [&str; 4] = [
            "Private Organization",
            "Government Entity",
            "Business Entity",
            "Non-Commercial Entity",
        ];
        if !CATEGORIES.contains(&bc) {
            return Err(CaError::InvalidInput(format!(
                "business_category must be one of {CATEGORIES:?}"
            )));
        }
        rdns.push(rdn(
            OID_BUSINESS_CATEGORY,
            "business_category",
            bc,
            StrType::Utf8,
            128,
        )?);
        let sn = s
            .serial_number
            .as_deref()
            .ok_or_else(|| CaError::InvalidInput("EV subject requires serial_number".into()))?;
        rdns.push(rdn(
            OID_SERIAL_NUMBER,
            "serial_number",
            sn,
            StrType::Printable,
            64,
        )?);
    } else if ev_fields.iter().any(|f| f.is_some()) {
        return Err(CaError::InvalidInput(
            "business_category, jurisdiction_* and serial_number are only allowed in EV certificates"
                .into(),
        ));
    }
    rdns.push(rdn(
        OID_O,
        "organization",
        &s.organization,
        StrType::Utf8,
        64,
    )?);
    if let Some(cn) = &s.common_name {
        rdns.push(rdn(OID_CN, "common_name", cn, StrType::Utf8, 64)?);
    }
    let refs: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
    Ok(derw::seq(&refs))
}

// ---- extensions ------------------------------------------------------------------------------

pub(crate) fn extension(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let o = derw::oid(oid);
    let v = derw::octet_string(value);
    if critical {
        derw::seq(&[&o, &derw::boolean_true(), &v])
    } else {
        derw::seq(&[&o, &v])
    }
}

pub(crate) fn ext_aki(key_id: &[u8]) -> Vec<u8> {
    extension(
        OID_EXT_AKI,
        false,
        &derw::seq(&[&derw::tlv(derw::ctx_prim(0), key_id)]),
    )
}

pub(crate) fn ext_ski(key_id: &[u8]) -> Vec<u8> {
    extension(OID_EXT_SKI, false, &derw::octet_string(key_id))
}

pub(crate) fn ext_ku(bits: &[u8]) -> Vec<u8> {
    extension(OID_EXT_KU, true, &derw::named_bits(bits))
}

fn ext_eku_server_auth() -> Vec<u8> {
    ext_eku(&[OID_KP_SERVER_AUTH])
}

/// extKeyUsage (non-critical) with the given purposes, in order.
pub(crate) fn ext_eku(oids: &[&str]) -> Vec<u8> {
    let purposes: Vec<Vec<u8>> = oids.iter().map(|o| derw::oid(o)).collect();
    let refs: Vec<&[u8]> = purposes.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_EKU, false, &derw::seq(&refs))
}

fn ext_policies(policy_oid: &str) -> Vec<u8> {
    ext_policy_list(&[policy_oid])
}

/// certificatePolicies (non-critical): one PolicyInformation without
/// qualifiers per OID, in order.
pub(crate) fn ext_policy_list(policy_oids: &[&str]) -> Vec<u8> {
    let infos: Vec<Vec<u8>> = policy_oids
        .iter()
        .map(|o| derw::seq(&[&derw::oid(o)]))
        .collect();
    let refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_CP, false, &derw::seq(&refs))
}

pub(crate) fn check_http_url(name: &str, url: &str) -> Result<(), CaError> {
    let ok = url.starts_with("http://")
        && url.len() > "http://".len()
        && url.is_ascii()
        && !url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(CaError::InvalidInput(format!(
            "{name} must be an http:// URL, got {url:?}"
        )))
    }
}

pub(crate) fn ext_crldp(url: &str) -> Vec<u8> {
    let uri = derw::tlv(derw::ctx_prim(6), url.as_bytes());
    let full_name = derw::cons(derw::ctx_cons(0), &[&uri]);
    let dp_name = derw::cons(derw::ctx_cons(0), &[&full_name]);
    let dp = derw::seq(&[&dp_name]);
    extension(OID_EXT_CRLDP, false, &derw::seq(&[&dp]))
}

pub(crate) fn ext_aia(ca_issuers: Option<&str>, ocsp: Option<&str>) -> Vec<u8> {
    let mut ads: Vec<Vec<u8>> = Vec::new();
    if let Some(u) = ocsp {
        ads.push(derw::seq(&[
            &derw::oid(OID_AD_OCSP),
            &derw::tlv(derw::ctx_prim(6), u.as_bytes()),
        ]));
    }
    if let Some(u) = ca_issuers {
        ads.push(derw::seq(&[
            &derw::oid(OID_AD_CA_ISSUERS),
            &derw::tlv(derw::ctx_prim(6), u.as_bytes()),
        ]));
    }
    let refs: Vec<&[u8]> = ads.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_AIA, false, &derw::seq(&refs))
}

/// Light syntactic check of a SAN dNSName (the policy layer does the real
/// validation: PSL, CAA, internal names).
fn check_dns_name(name: &str, ev: bool) -> Result<(), CaError> {
    let bad = |why: &str| CaError::InvalidInput(format!("invalid dNSName {name:?}: {why}"));
    if name.is_empty() || name.len() > 253 {
        return Err(bad("length must be 1..=253"));
    }
    if name.ends_with('.') {
        return Err(bad("trailing dot"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("must be a fully-qualified domain name"));
    }
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            if i != 0 {
                return Err(bad("wildcard only allowed as the leftmost label"));
            }
            if ev {
                return Err(bad("wildcards are not allowed in EV certificates"));
            }
            if labels.len() < 3 {
                return Err(bad("wildcard must be followed by at least two labels"));
            }
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return Err(bad("label length must be 1..=63"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad("labels must be lower-case LDH (use A-labels for IDNs)"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("labels must not start or end with a hyphen"));
        }
    }
    Ok(())
}

fn ext_san_dns(names: &[String]) -> Vec<u8> {
    let gns: Vec<Vec<u8>> = names
        .iter()
        .map(|n| derw::tlv(derw::ctx_prim(2), n.as_bytes()))
        .collect();
    let refs: Vec<&[u8]> = gns.iter().map(Vec::as_slice).collect();
    extension(OID_EXT_SAN, false, &derw::seq(&refs))
}

pub(crate) fn tbs_certificate(
    serial: &RecordedSerial,
    alg_der: &[u8],
    issuer: &[u8],
    validity: &[u8],
    subject: &[u8],
    spki: &[u8],
    extensions: &[Vec<u8>],
) -> Result<Vec<u8>, CaError> {
    let version = derw::cons(derw::ctx_cons(0), &[&derw::uint_u64(2)]);
    let serial = encode_serial(serial.as_bytes())?;
    let ext_refs: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let exts = derw::cons(derw::ctx_cons(3), &[&derw::seq(&ext_refs)]);
    Ok(derw::seq(&[
        &version, &serial, alg_der, issuer, validity, subject, spki, &exts,
    ]))
}

pub(crate) fn validate_subject_spki(spki: &[u8]) -> Result<SpkiKind, CaError> {
    let kind = spki_kind(spki)?;
    Ok(kind)
}

/// Check that `cert_der` (a certificate or CRL) was signed by the key of
/// `issuer_cert_der` and names it as issuer. Supports every
/// [`SignatureScheme`] encoding (PKCS#1 v1.5 and RSASSA-PSS with
/// SHA-256/384/512, ecdsa-with-SHA256/384).
pub fn verify_issued_by(cert_der: &[u8], issuer_cert_der: &[u8]) -> Result<(), CaError> {
    let issuer = ParsedCert::parse(issuer_cert_der)?;
    let (tbs, alg, sig, issuer_name) = match ParsedCert::parse(cert_der) {
        Ok(c) => (c.tbs_raw, c.signature_alg_raw, c.signature, c.issuer_raw),
        Err(_) => parse_crl_parts(cert_der)?,
    };
    if issuer_name != issuer.subject_raw {
        return Err(CaError::InvalidInput(
            "issuer name does not match the issuer certificate's subject".into(),
        ));
    }
    verify_signature(issuer.spki_raw, alg, tbs, sig)
}

/// (tbs, signature alg, signature, issuer name) of a signed object.
type SignedParts<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// [`SignedParts`] of a CRL.
fn parse_crl_parts(der: &[u8]) -> Result<SignedParts<'_>, CaError> {
    let ctx = |e: derw::DerError| CaError::Parse(format!("CRL: {e}"));
    let crl = Tlv::parse_single(der)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(ctx)?;
    let mut r = crl.reader();
    let tbs = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let alg = r.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let sig = r.read_tag(derw::TAG_BIT_STRING).map_err(ctx)?;
    r.finish().map_err(ctx)?;
    let mut t = tbs.reader();
    t.read_optional(derw::TAG_INTEGER).map_err(ctx)?;
    let inner_alg = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    let issuer = t.read_tag(derw::TAG_SEQUENCE).map_err(ctx)?;
    if inner_alg.raw != alg.raw {
        return Err(CaError::Parse(
            "CRL: inner and outer algorithms differ".into(),
        ));
    }
    match sig.value.split_first() {
        Some((0, s)) => Ok((tbs.raw, alg.raw, s, issuer.raw)),
        _ => Err(CaError::Parse("CRL: bad signature BIT STRING".into())),
    }
}

// ---- builders --------------------------------------------------------------------------------

/// Build a root (self-signed, `issuer_cert_der = None`), an issuing CA
/// certificate (TLS, S/MIME or client-auth) or a delegated OCSP responder
/// certificate; see [`CaProfile`].
pub fn build_ca_certificate(
    req: CaCertRequest,
    issuer_cert_der: Option<&[u8]>,
    signer: &dyn Signer,
) -> Result<Vec<u8>, CaError> {
    let alg = check_signer_alg(signer)?;
    validate_subject_spki(req.subject_spki_der)?;
    let subject = ca_subject_der(req.subject)?;
    let validity = encode_validity(req.not_before, req.not_after)?;
    let ski = key_identifier(req.subject_spki_der)?;
    let signer_spki = signer.spki_der();

    match (req.profile, issuer_cert_der) {
        (CaProfile::Root, None) => {
            if signer_spki != req.subject_spki_der {
                return Err(CaError::InvalidInput(
                    "self-signed root: signer key differs from the subject key".into(),
                ));
            }
            let exts = vec![
                extension(OID_EXT_BC, true, &derw::seq(&[&derw::boolean_true()])),
                ext_ku(&[KU_KEY_CERT_SIGN, KU_CRL_SIGN]),
                ext_ski(&ski),
                ext_aki(&ski),
            ];
            let tbs = tbs_certificate(
                &req.serial,
                &alg,
                &subject,
                &validity,
                &subject,
                req.subject_spki_der,
                &exts,
            )?;
            let tbs = check_tbs(tbs, CertProfile::Ca(req.profile), &req.serial, &alg)?;
            sign_and_assemble(tbs, &alg, signer, &signer_spki)
        }
        (CaProfile::Root, Some(_)) => Err(CaError::InvalidInput(
            "a Root profile certificate is self-signed; pass issuer_cert_der = None".into(),
        )),
        (_, None) => Err(CaError::InvalidInput(
            "an issuing CA or OCSP responder certificate needs the issuer certificate".into(),
        )),
        (CaProfile::OcspResponder, Some(issuer_der)) => {
            let issuer = parse_ca_issuer(issuer_der, &signer_spki)?;
            if req.subject_spki_der == signer_spki.as_slice() {
                return Err(CaError::InvalidInput(
                    "an OCSP responder certificate needs its own key, not the issuer's".into(),
                ));
            }
            let exts = ocsp_responder_extensions(&ski, &issuer.subject_key_id()?);
            let tbs = tbs_certificate(
                &req.serial,
                &alg,
                issuer.subject_raw,
                &validity,
                &subject,
                req.subject_spki_der,
                &exts,
            )?;
            let tbs = check_tbs(tbs, CertProfile::Ca(req.profile), &req.serial, &alg)?;
            sign_and_assemble(tbs, &alg, signer, &signer_spki)
        }
        (profile, Some(issuer_der)) => {
            let (policies, ekus) = profile
                .issuing_policies_and_ekus()
                .ok_or_else(|| CaError::InvalidInput("not an issuing-CA profile".into()))?;
            let issuer = parse_ca_issuer(issuer_der, &signer_spki)?;
            let crl_url = req.issuer_crl_url.ok_or_else(|| {
                CaError::InvalidInput("issuing CA requires issuer_crl_url (CRLDP)".into())
            })?;
            check_http_url("issuer_crl_url", crl_url)?;
            if let Some(u) = req.issuer_cert_url {
                check_http_url("issuer_cert_url", u)?;
            } else if !matches!(profile, CaProfile::TlsIssuing { .. }) {
                return Err(CaError::InvalidInput(
                    "S/MIME, client-auth and document-signing issuing CAs require issuer_cert_url (AIA caIssuers)"
                        .into(),
                ));
            }
            let issuer_ski = issuer.subject_key_id()?;
            let mut exts = vec![
                extension(
                    OID_EXT_BC,
                    true,
                    &derw::seq(&[&derw::boolean_true(), &derw::uint_u64(0)]),
                ),
                ext_ku(&[KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_CRL_SIGN]),
                ext_ski(&ski),
                ext_aki(&issuer_ski),
                ext_policy_list(policies),
                ext_eku(ekus),
                ext_crldp(crl_url),
            ];
            if req.issuer_cert_url.is_some() {
                exts.push(ext_aia(req.issuer_cert_url, None));
            }
            let tbs = tbs_certificate(
                &req.serial,
                &alg,
                issuer.subject_raw,
                &validity,
                &subject,
                req.subject_spki_der,
                &exts,
            )?;
            let tbs = check_tbs(tbs, CertProfile::Ca(req.profile), &req.serial, &alg)?;
            sign_and_assemble(tbs, &alg, signer, &signer_spki)
        }
    }
}

/// Parse the issuer of a non-root certificate: it must be a CA certificate
/// whose key is `signer_spki`.
fn parse_ca_issuer<'a>(
    issuer_der: &'a [u8],
    signer_spki: &[u8],
) -> Result<ParsedCert<'a>, CaError> {
    let issuer = ParsedCert::parse(issuer_der)?;
    if !issuer.is_ca() {
        return Err(CaError::InvalidInput(
            "issuer certificate is not a CA certificate".into(),
        ));
    }
    if issuer.spki_raw != signer_spki {
        return Err(CaError::InvalidInput(
            "signer key does not match the issuer certificate".into(),
        ));
    }
    Ok(issuer)
}

/// BR §7.1.2.8 extensions of a delegated OCSP responder certificate
/// (basicConstraints omitted: pkilint's OCSP-RESPONDER profile allows it
/// absent or cA=FALSE).
fn ocsp_responder_extensions(ski: &[u8], issuer_ski: &[u8]) -> Vec<Vec<u8>> {
    vec![
        ext_ku(&[KU_DIGITAL_SIGNATURE]),
        ext_eku(&[OID_EKU_OCSP_SIGNING]),
        extension(OID_EXT_OCSP_NOCHECK, false, &[derw::TAG_NULL, 0]),
        ext_ski(ski),
        ext_aki(issuer_ski),
    ]
}

/// Build an OV or EV TLS subscriber certificate (BR §7.1.2.7).
pub fn build_tls_leaf(
    req: TlsLeafRequest,
    issuer_cert_der: &[u8],
    signer: &dyn Signer,
) -> Result<Vec<u8>, CaError> {
    let alg = check_signer_alg(signer)?;
    let issuer = ParsedCert::parse(issuer_cert_der)?;
    if !issuer.is_ca() {
        return Err(CaError::InvalidInput(
            "issuer certificate is not a CA certificate".into(),
        ));
    }
    let signer_spki = signer.spki_der();
    if issuer.spki_raw != signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "signer key does not match the issuer certificate".into(),
        ));
    }
    if req.subject_spki_der == signer_spki.as_slice() {
        return Err(CaError::InvalidInput(
            "subscriber key must not be the CA key".into(),
        ));
    }
    let kind = validate_subject_spki(req.subject_spki_der)?;

    if req.dns_names.is_empty() {
        return Err(CaError::InvalidInput(
            "at least one dNSName is required".into(),
        ));
    }
    for (i, n) in req.dns_names.iter().enumerate() {
        check_dns_name(n, req.ev)?;
        if req.dns_names[..i].contains(n) {
            return Err(CaError::InvalidInput(format!("duplicate dNSName {n:?}")));
        }
    }
    if let Some(cn) = &req.subject.common_name {
        if !req.dns_names.iter().any(|n| n == cn) {
            return Err(CaError::InvalidInput(format!(
                "common_name {cn:?} must equal one of the SAN dNSNames"
            )));
        }
    }
    check_http_url("crl_url", req.crl_url)?;
    check_http_url("ca_issuers_url", req.ca_issuers_url)?;
    if let Some(u) = req.ocsp_url {
        check_http_url("ocsp_url", u)?;
    }

    let subject = tls_subject_der(req.subject, req.ev)?;
    let validity = encode_validity(req.not_before, req.not_after)?;
    let issuer_ski = issuer.subject_key_id()?;
    // BR §7.1.2.7.11: digitalSignature for both key types. keyEncipherment is
    // only MAY for RSA and pkilint 0.13.3 warns when RSA leaves carry DS+KE
    // (`subscriber_rsa_digitalsignature_and_keyencipherment_present`), so the
    // default is DS only (TLS 1.3 / ECDHE never use RSA key transport).
    let ku: &[u8] = match kind {
        SpkiKind::Rsa | SpkiKind::Ec => &[KU_DIGITAL_SIGNATURE],
    };
    let policy = if req.ev { POLICY_TLS_EV } else { POLICY_TLS_OV };
    let exts = vec![
        ext_aki(&issuer_ski),
        ext_san_dns(req.dns_names),
        ext_policies(policy),
        ext_eku_server_auth(),
        ext_ku(ku),
        ext_crldp(req.crl_url),
        ext_aia(Some(req.ca_issuers_url), req.ocsp_url),
    ];
    let tbs = tbs_certificate(
        &req.serial,
        &alg,
        issuer.subject_raw,
        &validity,
        &subject,
        req.subject_spki_der,
        &exts,
    )?;
    let profile = CertProfile::TlsServer {
        ev: req.ev,
        max_validity_days: req.max_validity_days,
    };
    let tbs = check_tbs(tbs, profile, &req.serial, &alg)?;
    sign_and_assemble(tbs, &alg, signer, &signer_spki)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_encoding() {
        assert_eq!(
            encode_time(datetime!(2049-12-31 23:59:59.9 UTC)).unwrap(),
            derw::tlv(derw::TAG_UTC_TIME, b"491231235959Z")
        );
        assert_eq!(
            encode_time(datetime!(2050-01-01 00:00:00 UTC)).unwrap(),
            derw::tlv(derw::TAG_GENERALIZED_TIME, b"20500101000000Z")
        );
        assert_eq!(
            encode_time(datetime!(2026-01-01 01:00:00 +01:00)).unwrap(),
            derw::tlv(derw::TAG_UTC_TIME, b"260101000000Z")
        );
    }

    #[test]
    fn serials() {
        for _ in 0..200 {
            let s = random_serial();
            assert_eq!(s.len(), 16);
            assert!(s[0] != 0 && s[0] & 0x80 == 0);
            let enc = encode_serial(&s).unwrap();
            assert_eq!(enc.len(), 18);
        }
        assert!(encode_serial(&[0]).is_err());
        assert!(encode_serial(&[]).is_err());
        assert!(encode_serial(&[1; 21]).is_err());
    }

    #[test]
    fn dns_names() {
        assert!(check_dns_name("www.example.com", false).is_ok());
        assert!(check_dns_name("*.example.com", false).is_ok());
        assert!(check_dns_name("*.example.com", true).is_err());
        assert!(check_dns_name("*.com", false).is_err());
        assert!(check_dns_name("a.*.example.com", false).is_err());
        assert!(check_dns_name("example.com.", false).is_err());
        assert!(check_dns_name("Example.com", false).is_err());
        assert!(check_dns_name("localhost", false).is_err());
    }
}

#[cfg(test)]
mod ceremony_tests {
    use super::*;
    use crate::SoftwareSigner;

    #[test]
    fn key_algorithm_of_every_generated_key_and_a_ca_csr_that_verifies() {
        for alg in KeyAlgorithm::ALL {
            let (signer, _) = SoftwareSigner::generate(alg).unwrap();
            assert_eq!(key_algorithm_of_spki(&signer.spki_der()).unwrap(), alg);
            let subject = CaSubject {
                country: "DE".into(),
                organization: "Example Corp".into(),
                common_name: format!("Example {alg} CA"),
            };
            let csr = build_ca_csr(&subject, &signer).unwrap();
            let pem = crate::der_to_pem("CERTIFICATE REQUEST", &csr);
            let v = crate::parse_and_verify_csr(&pem).unwrap();
            assert_eq!(v.spki_der, signer.spki_der());
            assert_eq!(v.key_algorithm, alg);
            assert_eq!(
                v.subject_common_name.as_deref(),
                Some(subject.common_name.as_str())
            );
        }
        assert!(key_algorithm_of_spki(b"\x30\x00").is_err());
    }
}
