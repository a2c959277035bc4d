//! certwell-ca: the X.509 engine of certwell.
//!
//! * [`Signer`] / [`SoftwareSigner`] / [`Pkcs11Signer`]: CA signing keys
//!   (aws-lc-rs in memory, or held in a PKCS#11 token).
//! * [`build_ca_certificate`]: root and TLS issuing-CA certificates (BR §7.1.2.1 / §7.1.2.6),
//!   S/MIME ([`CaProfile::SmimeIssuing`]) and client-auth issuing CAs.
//! * [`parse_and_verify_csr`]: PKCS#10 intake with proof-of-possession and key-quality checks.
//! * [`build_tls_leaf`]: OV/EV TLS subscriber certificates (BR §7.1.2.7).
//! * [`build_subscriber_leaf`]: S/MIME (SBR §7.1.2.3), client-auth and
//!   document-signing subscriber certificates, signed with any
//!   [`SignatureScheme`] the issuing key supports (incl. RSASSA-PSS).
//! * [`build_crl`]: BR CRLs (AKI = issuer SKI; built by hand, see pki-profiles.md §4).
//! * OCSP (RFC 6960): [`parse_ocsp_request`], [`build_ocsp_response`],
//!   [`ocsp_error_response`], [`issuer_hashes`]; delegated responder
//!   certificates via [`CaProfile::OcspResponder`].
//! * [`RecordedSerial`] / [`SerialLedger`]: a serial reaches a builder only
//!   after a ledger (the store) recorded it; [`check_tbs`] / [`CheckedTbs`]:
//!   every to-be-signed certificate is re-parsed and checked against its
//!   [`CertProfile`] before the real signature.
//! * [`encrypt_pkcs8`] / [`decrypt_pkcs8`]: passphrase-protected PKCS#8 keys
//!   (RFC 5958 EncryptedPrivateKeyInfo, PBES2: PBKDF2-HMAC + AES-CBC).
//! * helpers: PEM, thumbprints, PKCS#7 certs-only bundles.
//!
//! All DER is produced by a small in-crate writer so that every byte
//! (AlgorithmIdentifiers, string types, issuer DN) is exactly as profiled.

#![forbid(unsafe_code)]

mod cert;
mod crl;
mod csr;
mod derw;
mod ocsp;
mod pkcs11;
mod pkcs8enc;
mod profile;
mod serial;
mod signer;
mod subscriber;
pub mod testing;
mod util;

pub use cert::{
    build_ca_certificate, build_ca_csr, build_tls_leaf, ca_certificate_info, key_algorithm_of_spki,
    verify_issued_by, CaCertInfo, CaCertRequest, CaProfile, CaSubject, TlsLeafRequest, TlsSubject,
    CERTWELL_OID_ARC, OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS, OID_EKU_CLIENT_AUTH,
    OID_EKU_DOCUMENT_SIGNING_MS, OID_EKU_EMAIL_PROTECTION, OID_EKU_OCSP_SIGNING,
    POLICY_CERTWELL_CLIENT_AUTH, POLICY_CERTWELL_DOCUMENT_SIGNING, POLICY_TLS_EV, POLICY_TLS_OV,
    SMIME_ISSUING_CA_POLICIES,
};
pub use crl::{build_crl, CrlEntry};
pub use csr::{parse_and_verify_csr, spki_sha256_hex, CsrError, CsrKeyType, VerifiedCsr};
pub use ocsp::{
    build_ocsp_request, build_ocsp_response, issuer_hashes, ocsp_error_response,
    parse_ocsp_request, OcspCertId, OcspCertStatus, OcspError, OcspHash, OcspRequest, OcspSingle,
    OCSP_MAX_CERT_IDS, OCSP_MAX_NONCE_LEN, OCSP_MAX_REQUEST_LEN, OCSP_MAX_VALIDITY_SECS,
    OCSP_MIN_VALIDITY_SECS, OCSP_STATUS_INTERNAL_ERROR, OCSP_STATUS_MALFORMED_REQUEST,
    OCSP_STATUS_SIG_REQUIRED, OCSP_STATUS_TRY_LATER, OCSP_STATUS_UNAUTHORIZED,
};
pub use pkcs11::{Pkcs11Signer, Pkcs11Token, TokenSelector};
pub use pkcs8enc::{decrypt_pkcs8, encrypt_pkcs8, PBKDF2_ITERATIONS};
pub use profile::{
    check_tbs, tls_br_max_days, CertProfile, CheckedTbs, SubscriberProfile, SMIME_MAX_DAYS,
};
pub use serial::{RecordedSerial, SerialLedger};
pub use signer::{KeyAlgorithm, SignatureScheme, Signer, SoftwareSigner};
pub use subscriber::{build_subscriber_leaf, KeyUsageBits, SubjectAttr, SubscriberLeafRequest};
pub use util::{
    certificate_common_name, certificate_summary, crl_next_update, der_to_pem,
    pkcs7_certs_only_der, sha1_thumbprint_hex_upper, CertSummary,
};

/// Errors from certificate / CRL construction and signing.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A request field is invalid (bad name, empty SAN list, bad validity, ...).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// A DER input (issuer certificate, SPKI, key) could not be parsed.
    #[error("parse error: {0}")]
    Parse(String),
    /// Key generation or key loading failed.
    #[error("key error: {0}")]
    Key(String),
    /// The signing operation failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The key's device (a PKCS#11 token) is unreachable now; the same
    /// request may succeed later.
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
    /// The to-be-signed certificate does not meet its profile; nothing was
    /// signed.
    #[error("the certificate would violate its profile: {0}")]
    Profile(String),
}
