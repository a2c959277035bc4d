//! The last check before a real signature: the to-be-signed certificate is
//! parsed again, independently of the builder that wrote it, and checked
//! against its profile (as Boulder lints a precertificate before signing).
//!
//! [`check_tbs`] is the only way to make a [`CheckedTbs`], and the
//! certificate signing functions take nothing else, so a TBS that fails its
//! profile is never signed.

mod tbs;

use tbs::{
    access_methods, general_names, key_usage, Tbs, KU_CERT_SIGN, KU_CRL_SIGN, KU_DIGITAL_SIGNATURE,
};

use crate::cert::{
    CaProfile, OID_AD_CA_ISSUERS, OID_AD_OCSP, OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS,
    OID_EKU_CLIENT_AUTH, OID_EKU_DOCUMENT_SIGNING_MS, OID_EKU_EMAIL_PROTECTION,
    OID_EKU_OCSP_SIGNING, OID_EXT_AIA, OID_EXT_AKI, OID_EXT_BC, OID_EXT_CP, OID_EXT_CRLDP,
    OID_EXT_EKU, OID_EXT_KU, OID_EXT_OCSP_NOCHECK, OID_EXT_SAN, OID_EXT_SKI, OID_KP_SERVER_AUTH,
    POLICY_CERTWELL_CLIENT_AUTH, POLICY_CERTWELL_DOCUMENT_SIGNING, POLICY_TLS_EV, POLICY_TLS_OV,
};
use crate::derw;
use crate::serial::RecordedSerial;
use crate::CaError;

pub use certwell_types::limits::{tls_br_max_days, SMIME_MAX_DAYS};

const OID_ANY_EKU: &str = "2.5.29.37.0";
const OID_EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
const SMIME_POLICY_PREFIX: &str = "2.23.140.1.5.";
/// CA/B Forum TLS BR reserved policies: EV (2.23.140.1.1, also
/// [`POLICY_TLS_EV`]) and DV/OV/IV under 2.23.140.1.2 ([`POLICY_TLS_OV`] is
/// 2.23.140.1.2.2).
const TLS_POLICY_PREFIX: &str = "2.23.140.1.2.";

/// Whether `oid` is a CA/B Forum TLS BR reserved policy (EV, DV, OV, IV).
fn is_tls_policy(oid: &str) -> bool {
    oid == POLICY_TLS_EV || oid.starts_with(TLS_POLICY_PREFIX)
}

/// Whether `oid` is an S/MIME BR reserved policy (2.23.140.1.5.x.y).
fn is_smime_policy(oid: &str) -> bool {
    oid.starts_with(SMIME_POLICY_PREFIX)
}

/// Which kind of subscriber certificate a non-TLS leaf is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriberProfile {
    /// S/MIME (SBR): a reserved 2.23.140.1.5.x.y policy, emailProtection,
    /// rfc822Name SANs.
    Smime,
    /// Client authentication (certwell's private policy).
    ClientAuth,
    /// Document signing (certwell's private policy).
    DocumentSigning,
}

impl SubscriberProfile {
    /// The kind of certificate, as the refusals name it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            SubscriberProfile::Smime => "an S/MIME certificate",
            SubscriberProfile::ClientAuth => "a client-authentication certificate",
            SubscriberProfile::DocumentSigning => "a document-signing certificate",
        }
    }
}

/// The profile a TBS certificate is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertProfile {
    /// A root, an issuing CA or a delegated OCSP responder.
    Ca(CaProfile),
    /// OV/EV TLS server certificate; `max_validity_days` is the cap in
    /// force, lowered to the BR maximum for the certificate's notBefore
    /// ([`tls_br_max_days`]) if it is higher. A TBS carrying a reserved
    /// S/MIME policy never passes as TLS.
    TlsServer { ev: bool, max_validity_days: i64 },
    /// S/MIME, client-authentication or document-signing certificate.
    ///
    /// The certificate's policies decide which rules apply, not only
    /// `kind`: a TBS carrying a reserved S/MIME policy (2.23.140.1.5.x.y)
    /// is an S/MIME certificate and passes only as [`SubscriberProfile::Smime`]
    /// (so the SBR rules — 825 days, strict EKUs, an rfc822Name — always
    /// apply to it), and a TBS carrying a TLS BR policy (EV, DV, OV, IV)
    /// passes as no subscriber profile.
    Subscriber {
        kind: SubscriberProfile,
        max_validity_days: i64,
    },
}

/// A to-be-signed certificate that passed [`check_tbs`]: the only input
/// the certificate signing functions accept.
#[derive(Debug)]
pub struct CheckedTbs {
    der: Vec<u8>,
}

impl CheckedTbs {
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }
}

/// Parses `tbs_der` again and checks it against `profile`; `serial` must be
/// the serial it carries and `alg_der` its signature algorithm.
pub fn check_tbs(
    tbs_der: Vec<u8>,
    profile: CertProfile,
    serial: &RecordedSerial,
    alg_der: &[u8],
) -> Result<CheckedTbs, CaError> {
    let tbs = Tbs::parse(&tbs_der)?;
    tbs.check(profile, serial, alg_der)?;
    Ok(CheckedTbs { der: tbs_der })
}

fn violation(why: impl Into<String>) -> CaError {
    CaError::Profile(why.into())
}

impl Tbs<'_> {
    fn check(
        &self,
        profile: CertProfile,
        serial: &RecordedSerial,
        alg: &[u8],
    ) -> Result<(), CaError> {
        if self.serial != derw::uint_content(serial.as_bytes()).as_slice() {
            return Err(violation("the serial is not the recorded one"));
        }
        if self.serial.is_empty()
            || self.serial.len() > 20
            || self.serial[0] & 0x80 != 0
            || self.serial.iter().all(|b| *b == 0)
        {
            return Err(violation(
                "the serial must be positive, non-zero and at most 20 octets",
            ));
        }
        if self.alg != alg {
            return Err(violation(
                "the signature algorithm differs from the signer's",
            ));
        }
        if self.not_after <= self.not_before {
            return Err(violation("notAfter is not later than notBefore"));
        }
        self.require(OID_EXT_AKI, "authorityKeyIdentifier", Some(false))?;
        let ku = key_usage(self.require(OID_EXT_KU, "keyUsage", Some(true))?.value)?;
        match profile {
            CertProfile::Ca(CaProfile::OcspResponder) => self.check_ocsp_responder(ku),
            CertProfile::Ca(p) => self.check_ca(p, ku),
            CertProfile::TlsServer {
                ev,
                max_validity_days,
            } => {
                if let Some(p) = self.policies()?.into_iter().find(|p| is_smime_policy(p)) {
                    return Err(violation(format!(
                        "a TLS certificate must not carry the reserved S/MIME policy {p}"
                    )));
                }
                let cap = max_validity_days.min(tls_br_max_days(self.not_before));
                self.check_leaf_common(ku, cap)?;
                self.check_tls(ev)
            }
            CertProfile::Subscriber {
                kind,
                max_validity_days,
            } => {
                self.check_subscriber_policy_family(kind)?;
                let cap = match kind {
                    SubscriberProfile::Smime => max_validity_days.min(SMIME_MAX_DAYS),
                    _ => max_validity_days,
                };
                self.check_leaf_common(ku, cap)?;
                self.check_subscriber(kind)
            }
        }
    }

    fn check_ca(&self, p: CaProfile, ku: u16) -> Result<(), CaError> {
        self.require(OID_EXT_BC, "basicConstraints", Some(true))?;
        if self.basic_constraints_ca()? != Some(true) {
            return Err(violation("a CA certificate needs basicConstraints cA=TRUE"));
        }
        self.require(OID_EXT_SKI, "subjectKeyIdentifier", Some(false))?;
        if ku & KU_CERT_SIGN == 0 || ku & KU_CRL_SIGN == 0 {
            return Err(violation("a CA certificate needs keyCertSign and cRLSign"));
        }
        if p == CaProfile::Root {
            if self.ext(OID_EXT_EKU).is_some() {
                return Err(violation("a root certificate carries no extKeyUsage"));
            }
            return Ok(());
        }
        self.require(OID_EXT_CP, "certificatePolicies", Some(false))?;
        self.require(OID_EXT_CRLDP, "cRLDistributionPoints", Some(false))?;
        let ekus = self.ekus()?;
        if ekus.is_empty() || ekus.iter().any(|e| e == OID_ANY_EKU) {
            return Err(violation("an issuing CA needs specific extKeyUsages"));
        }
        Ok(())
    }

    fn check_ocsp_responder(&self, ku: u16) -> Result<(), CaError> {
        if self.basic_constraints_ca()? == Some(true) {
            return Err(violation("an OCSP responder certificate is not a CA"));
        }
        self.require(OID_EXT_SKI, "subjectKeyIdentifier", Some(false))?;
        if ku != KU_DIGITAL_SIGNATURE {
            return Err(violation(
                "an OCSP responder's keyUsage is digitalSignature only",
            ));
        }
        if self.ekus()? != [OID_EKU_OCSP_SIGNING] {
            return Err(violation(
                "an OCSP responder's extKeyUsage is id-kp-OCSPSigning only",
            ));
        }
        self.require(OID_EXT_OCSP_NOCHECK, "id-pkix-ocsp-nocheck", Some(false))?;
        Ok(())
    }

    /// What every subscriber certificate needs: not a CA, no CA key usages,
    /// revocation pointers, policies, and a validity within `max_days`
    /// (counted as the BRs do: notAfter − notBefore + 1 s).
    fn check_leaf_common(&self, ku: u16, max_days: i64) -> Result<(), CaError> {
        if self.basic_constraints_ca()? == Some(true) {
            return Err(violation("a subscriber certificate must not be a CA"));
        }
        if ku & (KU_CERT_SIGN | KU_CRL_SIGN) != 0 {
            return Err(violation(
                "a subscriber certificate must not have keyCertSign or cRLSign",
            ));
        }
        self.require(OID_EXT_CP, "certificatePolicies", Some(false))?;
        self.require(OID_EXT_CRLDP, "cRLDistributionPoints", Some(false))?;
        let aia = self.require(OID_EXT_AIA, "authorityInformationAccess", Some(false))?;
        if !access_methods(aia.value)?
            .iter()
            .any(|m| m == OID_AD_CA_ISSUERS || m == OID_AD_OCSP)
        {
            return Err(violation(
                "authorityInformationAccess names no caIssuers or OCSP URL",
            ));
        }
        let ekus = self.ekus()?;
        for bad in [
            OID_ANY_EKU,
            OID_EKU_OCSP_SIGNING,
            OID_EKU_CODE_SIGNING,
            OID_EKU_TIME_STAMPING,
        ] {
            if ekus.iter().any(|e| e == bad) {
                return Err(violation(format!("extKeyUsage {bad} is not allowed here")));
            }
        }
        let period = (self.not_after - self.not_before).whole_seconds() + 1;
        if max_days <= 0 || period > max_days * 86_400 {
            return Err(violation(format!(
                "the validity period ({} s) exceeds the profile's maximum of {max_days} days",
                period
            )));
        }
        Ok(())
    }

    fn check_tls(&self, ev: bool) -> Result<(), CaError> {
        let ekus = self.ekus()?;
        if !ekus.iter().any(|e| e == OID_KP_SERVER_AUTH)
            || ekus
                .iter()
                .any(|e| e != OID_KP_SERVER_AUTH && e != OID_EKU_CLIENT_AUTH)
        {
            return Err(violation(
                "a TLS certificate's extKeyUsage is serverAuth (and at most clientAuth)",
            ));
        }
        let policy = if ev { POLICY_TLS_EV } else { POLICY_TLS_OV };
        if !self.policies()?.iter().any(|p| p == policy) {
            return Err(violation(format!(
                "a TLS certificate needs the policy {policy}"
            )));
        }
        let san = self.require(OID_EXT_SAN, "subjectAltName", None)?;
        let names = general_names(san.value)?;
        if names.is_empty() {
            return Err(violation("the subjectAltName is empty"));
        }
        let mut dns = Vec::with_capacity(names.len());
        for (tag, value) in &names {
            if *tag != derw::ctx_prim(2) {
                return Err(violation(
                    "a TLS certificate's subjectAltName holds dNSNames only",
                ));
            }
            let name =
                std::str::from_utf8(value).map_err(|_| violation("a dNSName is not ASCII"))?;
            check_public_dns_name(name, ev)?;
            dns.push(name);
        }
        for cn in self.common_names()? {
            if !dns.contains(&cn.as_str()) {
                return Err(violation(format!(
                    "the subject commonName {cn:?} is not one of the dNSNames"
                )));
            }
        }
        Ok(())
    }

    /// The policies a subscriber TBS asserts decide which profile it is
    /// held to, whatever the caller named: a TLS BR policy is refused in
    /// every subscriber profile, and a reserved S/MIME policy is accepted
    /// only under [`SubscriberProfile::Smime`], whose rules then apply.
    fn check_subscriber_policy_family(&self, kind: SubscriberProfile) -> Result<(), CaError> {
        let policies = self.policies()?;
        if let Some(p) = policies.iter().find(|p| is_tls_policy(p)) {
            return Err(violation(format!(
                "{} must not carry the TLS policy {p}",
                kind.describe()
            )));
        }
        if kind != SubscriberProfile::Smime {
            if let Some(p) = policies.iter().find(|p| is_smime_policy(p)) {
                return Err(violation(format!(
                    "{} must not carry the reserved S/MIME policy {p}: \
                     a certificate with it is an S/MIME certificate and is held to the \
                     S/MIME rules",
                    kind.describe()
                )));
            }
        }
        Ok(())
    }

    fn check_subscriber(&self, kind: SubscriberProfile) -> Result<(), CaError> {
        let ekus = self.ekus()?;
        if ekus.iter().any(|e| e == OID_KP_SERVER_AUTH) {
            return Err(violation("only TLS certificates may have serverAuth"));
        }
        let policies = self.policies()?;
        let has = |oid: &str| ekus.iter().any(|e| e == oid);
        match kind {
            SubscriberProfile::Smime => {
                let reserved: Vec<&String> =
                    policies.iter().filter(|p| is_smime_policy(p)).collect();
                if reserved.len() != 1 {
                    return Err(violation(
                        "an S/MIME certificate needs exactly one reserved S/MIME policy",
                    ));
                }
                if !has(OID_EKU_EMAIL_PROTECTION) {
                    return Err(violation("an S/MIME certificate needs emailProtection"));
                }
                if reserved[0].ends_with(".3") && ekus.len() != 1 {
                    return Err(violation(
                        "a strict S/MIME certificate has emailProtection only",
                    ));
                }
                let san = self.require(OID_EXT_SAN, "subjectAltName", None)?;
                if !general_names(san.value)?
                    .iter()
                    .any(|(t, _)| *t == derw::ctx_prim(1))
                {
                    return Err(violation("an S/MIME certificate needs an rfc822Name"));
                }
            }
            SubscriberProfile::ClientAuth => {
                if !policies.iter().any(|p| p == POLICY_CERTWELL_CLIENT_AUTH) {
                    return Err(violation(
                        "a client certificate needs the client-authentication policy",
                    ));
                }
                if !has(OID_EKU_CLIENT_AUTH) {
                    return Err(violation("a client certificate needs clientAuth"));
                }
            }
            SubscriberProfile::DocumentSigning => {
                if !policies
                    .iter()
                    .any(|p| p == POLICY_CERTWELL_DOCUMENT_SIGNING)
                {
                    return Err(violation(
                        "a document-signing certificate needs the document-signing policy",
                    ));
                }
                if !has(OID_EKU_DOCUMENT_SIGNING_MS) && !has(OID_EKU_ADOBE_AUTHENTIC_DOCUMENTS) {
                    return Err(violation(
                        "a document-signing certificate needs a document-signing extKeyUsage",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A dNSName a publicly-trusted TLS certificate may carry: LDH labels under
/// a known public suffix, not the suffix itself, no internal name, a
/// wildcard only as the whole leftmost label (never in EV).
fn check_public_dns_name(name: &str, ev: bool) -> Result<(), CaError> {
    let bad = |why: &str| violation(format!("dNSName {name:?}: {why}"));
    if name.is_empty() || name.len() > 253 || name.ends_with('.') {
        return Err(bad("not a fully-qualified name"));
    }
    let base = match name.strip_prefix("*.") {
        Some(_) if ev => return Err(bad("EV certificates carry no wildcards")),
        Some(rest) => rest,
        None => name,
    };
    for label in base.split('.') {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty()
            || label.len() > 63
            || !ldh
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad("not a lower-case LDH name"));
        }
    }
    if base.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad("an IP address is not a dNSName"));
    }
    match psl::suffix(base.as_bytes()) {
        Some(s) if s.is_known() => {}
        _ => return Err(bad("an internal name (no public suffix)")),
    }
    if psl::domain(base.as_bytes()).is_none() {
        return Err(bad("a public suffix itself"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
