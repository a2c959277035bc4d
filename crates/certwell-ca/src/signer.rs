//! CA signing keys.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaEncoding, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512,
    RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512,
};

use crate::derw;
use crate::CaError;

/// Supported key algorithms for CA and subscriber keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyAlgorithm {
    /// All variants, for iteration in tests and configuration listings.
    pub const ALL: [KeyAlgorithm; 5] = [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
        }
    }

    /// Parse the names produced by [`KeyAlgorithm::as_str`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        KeyAlgorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn is_rsa(&self) -> bool {
        matches!(
            self,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
        )
    }

    /// The signature AlgorithmIdentifier DER used when a key of this type signs:
    /// sha256WithRSAEncryption (NULL params) for RSA, ecdsa-with-SHA256 for P-256,
    /// ecdsa-with-SHA384 for P-384.
    pub fn signature_algorithm_der(&self) -> Vec<u8> {
        SignatureScheme::default_for(*self).algorithm_der()
    }
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) const SIG_RSA_SHA256: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
pub(crate) const SIG_ECDSA_SHA256: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
pub(crate) const SIG_ECDSA_SHA384: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];

const OID_RSA_PKCS1_SHA384: &str = "1.2.840.113549.1.1.12";
const OID_RSA_PKCS1_SHA512: &str = "1.2.840.113549.1.1.13";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// A signature algorithm a CA key can sign certificates with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
}

/// Digest of a [`SignatureScheme`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SchemeHash {
    Sha256,
    Sha384,
    Sha512,
}

impl SchemeHash {
    fn parse(name: &str) -> Option<SchemeHash> {
        match name.to_ascii_lowercase().as_str() {
            "sha256" => Some(SchemeHash::Sha256),
            "sha384" => Some(SchemeHash::Sha384),
            "sha512" => Some(SchemeHash::Sha512),
            _ => None,
        }
    }

    fn oid(self) -> &'static str {
        match self {
            SchemeHash::Sha256 => OID_SHA256,
            SchemeHash::Sha384 => OID_SHA384,
            SchemeHash::Sha512 => OID_SHA512,
        }
    }

    fn len(self) -> u64 {
        match self {
            SchemeHash::Sha256 => 32,
            SchemeHash::Sha384 => 48,
            SchemeHash::Sha512 => 64,
        }
    }

    /// `SEQUENCE { hash OID, NULL }` (RFC 4055 §2.1, NULL parameters present).
    fn algorithm_identifier(self) -> Vec<u8> {
        derw::seq(&[&derw::oid(self.oid()), &[derw::TAG_NULL, 0]])
    }
}

impl SignatureScheme {
    /// Every scheme, for iteration in tests.
    pub const ALL: [SignatureScheme; 8] = [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPkcs1Sha512,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::EcdsaP256Sha256,
        SignatureScheme::EcdsaP384Sha384,
    ];

    /// The scheme [`Signer::sign`] uses for a key: sha256WithRSAEncryption for
    /// RSA, ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384.
    pub fn default_for(alg: KeyAlgorithm) -> SignatureScheme {
        match alg {
            KeyAlgorithm::EcdsaP256 => SignatureScheme::EcdsaP256Sha256,
            KeyAlgorithm::EcdsaP384 => SignatureScheme::EcdsaP384Sha384,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                SignatureScheme::RsaPkcs1Sha256
            }
        }
    }

    /// Choose the scheme an issuing key uses: RSA keys get PKCS#1 v1.5 or PSS
    /// with `hash` ("sha256" | "sha384" | "sha512", ASCII case-insensitive);
    /// EC keys always get their curve's hash (P-256 → SHA-256, P-384 → SHA-384)
    /// whatever `hash` and `pss` say. An unknown hash name is rejected for
    /// every key type.
    pub fn for_key(alg: KeyAlgorithm, hash: &str, pss: bool) -> Result<SignatureScheme, CaError> {
        let hash = SchemeHash::parse(hash).ok_or_else(|| {
            CaError::InvalidInput(format!(
                "unknown signature hash {hash:?} (expected sha256, sha384 or sha512)"
            ))
        })?;
        if !alg.is_rsa() {
            return Ok(SignatureScheme::default_for(alg));
        }
        Ok(match (hash, pss) {
            (SchemeHash::Sha256, false) => SignatureScheme::RsaPkcs1Sha256,
            (SchemeHash::Sha384, false) => SignatureScheme::RsaPkcs1Sha384,
            (SchemeHash::Sha512, false) => SignatureScheme::RsaPkcs1Sha512,
            (SchemeHash::Sha256, true) => SignatureScheme::RsaPssSha256,
            (SchemeHash::Sha384, true) => SignatureScheme::RsaPssSha384,
            (SchemeHash::Sha512, true) => SignatureScheme::RsaPssSha512,
        })
    }

    /// Can a key of type `alg` produce this scheme?
    pub fn is_valid_for(&self, alg: KeyAlgorithm) -> bool {
        match self {
            SignatureScheme::EcdsaP256Sha256 => alg == KeyAlgorithm::EcdsaP256,
            SignatureScheme::EcdsaP384Sha384 => alg == KeyAlgorithm::EcdsaP384,
            _ => alg.is_rsa(),
        }
    }

    fn hash(&self) -> SchemeHash {
        match self {
            SignatureScheme::RsaPkcs1Sha256
            | SignatureScheme::RsaPssSha256
            | SignatureScheme::EcdsaP256Sha256 => SchemeHash::Sha256,
            SignatureScheme::RsaPkcs1Sha384
            | SignatureScheme::RsaPssSha384
            | SignatureScheme::EcdsaP384Sha384 => SchemeHash::Sha384,
            SignatureScheme::RsaPkcs1Sha512 | SignatureScheme::RsaPssSha512 => SchemeHash::Sha512,
        }
    }

    /// The exact signature AlgorithmIdentifier DER (pki-profiles.md §1.6):
    /// PKCS#1 v1.5 with NULL parameters; ECDSA without parameters; PSS with
    /// hashAlgorithm, maskGenAlgorithm MGF1 with the same hash (both with NULL
    /// parameters), saltLength = hash length and trailerField omitted.
    pub fn algorithm_der(&self) -> Vec<u8> {
        match self {
            SignatureScheme::RsaPkcs1Sha256 => SIG_RSA_SHA256.to_vec(),
            SignatureScheme::RsaPkcs1Sha384 => rsa_pkcs1_alg(OID_RSA_PKCS1_SHA384),
            SignatureScheme::RsaPkcs1Sha512 => rsa_pkcs1_alg(OID_RSA_PKCS1_SHA512),
            SignatureScheme::EcdsaP256Sha256 => SIG_ECDSA_SHA256.to_vec(),
            SignatureScheme::EcdsaP384Sha384 => SIG_ECDSA_SHA384.to_vec(),
            SignatureScheme::RsaPssSha256
            | SignatureScheme::RsaPssSha384
            | SignatureScheme::RsaPssSha512 => rsa_pss_alg(self.hash()),
        }
    }

    /// The scheme whose [`algorithm_der`](Self::algorithm_der) is exactly `der`.
    pub fn from_algorithm_der(der: &[u8]) -> Option<SignatureScheme> {
        SignatureScheme::ALL
            .into_iter()
            .find(|s| s.algorithm_der() == der)
    }

    /// aws-lc-rs verification algorithm for certificates signed with this scheme
    /// (ECDSA: for a key on the scheme's own curve).
    pub(crate) fn verification_algorithm(
        &self,
    ) -> &'static dyn aws_lc_rs::signature::VerificationAlgorithm {
        use aws_lc_rs::signature as s;
        match self {
            SignatureScheme::RsaPkcs1Sha256 => &s::RSA_PKCS1_2048_8192_SHA256,
            SignatureScheme::RsaPkcs1Sha384 => &s::RSA_PKCS1_2048_8192_SHA384,
            SignatureScheme::RsaPkcs1Sha512 => &s::RSA_PKCS1_2048_8192_SHA512,
            SignatureScheme::RsaPssSha256 => &s::RSA_PSS_2048_8192_SHA256,
            SignatureScheme::RsaPssSha384 => &s::RSA_PSS_2048_8192_SHA384,
            SignatureScheme::RsaPssSha512 => &s::RSA_PSS_2048_8192_SHA512,
            SignatureScheme::EcdsaP256Sha256 => &s::ECDSA_P256_SHA256_ASN1,
            SignatureScheme::EcdsaP384Sha384 => &s::ECDSA_P384_SHA384_ASN1,
        }
    }

    /// aws-lc-rs RSA padding for an RSA scheme (`None` for ECDSA).
    fn rsa_encoding(&self) -> Option<&'static dyn RsaEncoding> {
        match self {
            SignatureScheme::RsaPkcs1Sha256 => Some(&RSA_PKCS1_SHA256),
            SignatureScheme::RsaPkcs1Sha384 => Some(&RSA_PKCS1_SHA384),
            SignatureScheme::RsaPkcs1Sha512 => Some(&RSA_PKCS1_SHA512),
            SignatureScheme::RsaPssSha256 => Some(&RSA_PSS_SHA256),
            SignatureScheme::RsaPssSha384 => Some(&RSA_PSS_SHA384),
            SignatureScheme::RsaPssSha512 => Some(&RSA_PSS_SHA512),
            SignatureScheme::EcdsaP256Sha256 | SignatureScheme::EcdsaP384Sha384 => None,
        }
    }
}

impl std::fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureScheme::RsaPkcs1Sha256 => "sha256WithRSAEncryption",
            SignatureScheme::RsaPkcs1Sha384 => "sha384WithRSAEncryption",
            SignatureScheme::RsaPkcs1Sha512 => "sha512WithRSAEncryption",
            SignatureScheme::RsaPssSha256 => "RSASSA-PSS-SHA256",
            SignatureScheme::RsaPssSha384 => "RSASSA-PSS-SHA384",
            SignatureScheme::RsaPssSha512 => "RSASSA-PSS-SHA512",
            SignatureScheme::EcdsaP256Sha256 => "ecdsa-with-SHA256",
            SignatureScheme::EcdsaP384Sha384 => "ecdsa-with-SHA384",
        })
    }
}

fn rsa_pkcs1_alg(oid: &str) -> Vec<u8> {
    derw::seq(&[&derw::oid(oid), &[derw::TAG_NULL, 0]])
}

/// RSASSA-PSS-params (RFC 4055 §3.1) with every field but trailerField explicit.
fn rsa_pss_alg(hash: SchemeHash) -> Vec<u8> {
    let hash_alg = hash.algorithm_identifier();
    let mgf = derw::seq(&[&derw::oid(OID_MGF1), &hash_alg]);
    let params = derw::seq(&[
        &derw::cons(derw::ctx_cons(0), &[&hash_alg]),
        &derw::cons(derw::ctx_cons(1), &[&mgf]),
        &derw::cons(derw::ctx_cons(2), &[&derw::uint_u64(hash.len())]),
    ]);
    derw::seq(&[&derw::oid(OID_RSASSA_PSS), &params])
}

/// A CA signing key: [`SoftwareSigner`] (aws-lc-rs, in memory) or
/// [`crate::Pkcs11Signer`] (a key in a PKCS#11 token).
pub trait Signer: Send + Sync {
    fn key_algorithm(&self) -> KeyAlgorithm;
    /// SubjectPublicKeyInfo DER of this key.
    fn spki_der(&self) -> Vec<u8>;
    /// The exact signature AlgorithmIdentifier DER this signer emits
    /// (sha256WithRSAEncryption for RSA, ecdsa-with-SHA256 for P-256,
    /// ecdsa-with-SHA384 for P-384).
    fn signature_algorithm_der(&self) -> Vec<u8>;
    /// Sign `message`; returns the signature value bytes (ECDSA: DER Ecdsa-Sig-Value).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError>;
    /// Sign `message` with an explicit scheme. A scheme the key cannot
    /// produce is a [`CaError::Signing`]. The default implementation only
    /// supports the scheme [`Signer::sign`] uses.
    fn sign_with(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, CaError> {
        if scheme.algorithm_der() == self.signature_algorithm_der() {
            self.sign(message)
        } else {
            Err(CaError::Signing(format!(
                "this {} signer only supports its default signature scheme, not {scheme}",
                self.key_algorithm()
            )))
        }
    }
    /// Does signing block the calling thread long enough to belong on a
    /// blocking pool? RSA in software (a millisecond or more) and every
    /// token call do; ECDSA in software (tens of microseconds) does not.
    fn may_block(&self) -> bool {
        self.key_algorithm().is_rsa()
    }
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// An in-memory aws-lc-rs key.
pub struct SoftwareSigner {
    alg: KeyAlgorithm,
    inner: Inner,
    spki: Vec<u8>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("alg", &self.alg)
            .field("spki", &hex::encode(&self.spki))
            .finish()
    }
}

fn key_err<E: std::fmt::Debug>(ctx: &str) -> impl FnOnce(E) -> CaError + '_ {
    move |e| CaError::Key(format!("{ctx}: {e:?}"))
}

impl SoftwareSigner {
    /// Generate a fresh key. Returns the signer and its PKCS#8 (v1) DER.
    pub fn generate(alg: KeyAlgorithm) -> Result<(SoftwareSigner, Vec<u8>), CaError> {
        let pkcs8 = match alg {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let doc = EcdsaKeyPair::generate_pkcs8(ecdsa_alg(alg), &SystemRandom::new())
                    .map_err(key_err("EC key generation failed"))?;
                doc.as_ref().to_vec()
            }
            _ => {
                let size = match alg {
                    KeyAlgorithm::Rsa2048 => KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let kp =
                    RsaKeyPair::generate(size).map_err(key_err("RSA key generation failed"))?;
                let der = kp.as_der().map_err(key_err("RSA PKCS#8 encoding failed"))?;
                der.as_ref().to_vec()
            }
        };
        let signer = Self::from_pkcs8(alg, &pkcs8)?;
        Ok((signer, pkcs8))
    }

    /// Load a PKCS#8 private key; the key must match `alg` (curve / modulus size).
    pub fn from_pkcs8(alg: KeyAlgorithm, pkcs8_der: &[u8]) -> Result<SoftwareSigner, CaError> {
        match alg {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let kp = EcdsaKeyPair::from_pkcs8(ecdsa_alg(alg), pkcs8_der)
                    .map_err(key_err("invalid EC PKCS#8 key for the requested curve"))?;
                let spki: PublicKeyX509Der = kp
                    .public_key()
                    .as_der()
                    .map_err(key_err("EC public key encoding failed"))?;
                let spki = spki.as_ref().to_vec();
                Ok(SoftwareSigner {
                    alg,
                    inner: Inner::Ecdsa(kp),
                    spki,
                })
            }
            _ => {
                let kp =
                    RsaKeyPair::from_pkcs8(pkcs8_der).map_err(key_err("invalid RSA PKCS#8 key"))?;
                let want_bits = match alg {
                    KeyAlgorithm::Rsa2048 => 2048,
                    KeyAlgorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                let bits = kp.public_modulus_len() * 8;
                if bits != want_bits {
                    return Err(CaError::Key(format!(
                        "RSA key has {bits} bits but {} was requested",
                        alg.as_str()
                    )));
                }
                let spki: PublicKeyX509Der = kp
                    .public_key()
                    .as_der()
                    .map_err(key_err("RSA public key encoding failed"))?;
                let spki = spki.as_ref().to_vec();
                Ok(SoftwareSigner {
                    alg,
                    inner: Inner::Rsa(kp),
                    spki,
                })
            }
        }
    }
}

fn ecdsa_alg(alg: KeyAlgorithm) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
    if alg == KeyAlgorithm::EcdsaP384 {
        &ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &ECDSA_P256_SHA256_ASN1_SIGNING
    }
}

impl Signer for SoftwareSigner {
    fn key_algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn signature_algorithm_der(&self) -> Vec<u8> {
        self.alg.signature_algorithm_der()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError> {
        self.sign_with(SignatureScheme::default_for(self.alg), message)
    }

    fn sign_with(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, CaError> {
        if !scheme.is_valid_for(self.alg) {
            return Err(CaError::Signing(format!(
                "a {} key cannot sign with {scheme}",
                self.alg
            )));
        }
        let rng = SystemRandom::new();
        match &self.inner {
            // is_valid_for pinned the scheme to this key's curve and hash.
            Inner::Ecdsa(kp) => kp
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| CaError::Signing(format!("ECDSA signing failed: {e}"))),
            Inner::Rsa(kp) => {
                let encoding = scheme.rsa_encoding().ok_or_else(|| {
                    CaError::Signing(format!("{scheme} is not an RSA signature scheme"))
                })?;
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(encoding, &rng, message, &mut sig)
                    .map_err(|e| CaError::Signing(format!("RSA signing failed: {e}")))?;
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1,
        RSA_PKCS1_2048_8192_SHA256,
    };

    #[test]
    fn sign_verify_roundtrip_all_algorithms() {
        for alg in KeyAlgorithm::ALL {
            let (signer, pkcs8) = SoftwareSigner::generate(alg).unwrap();
            let msg = b"certwell roundtrip";
            let sig = signer.sign(msg).unwrap();
            let valg: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match alg {
                KeyAlgorithm::EcdsaP256 => &ECDSA_P256_SHA256_ASN1,
                KeyAlgorithm::EcdsaP384 => &ECDSA_P384_SHA384_ASN1,
                _ => &RSA_PKCS1_2048_8192_SHA256,
            };
            let pk = UnparsedPublicKey::new(valg, signer.spki_der());
            pk.verify(msg, &sig).unwrap();
            assert!(pk.verify(b"other", &sig).is_err());
            // Reload from PKCS#8 and check the SPKI is identical.
            let again = SoftwareSigner::from_pkcs8(alg, &pkcs8).unwrap();
            assert_eq!(again.spki_der(), signer.spki_der());
            assert_eq!(signer.key_algorithm(), alg);
            assert_eq!(KeyAlgorithm::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(
            hex::encode(KeyAlgorithm::Rsa2048.signature_algorithm_der()),
            "300d06092a864886f70d01010b0500"
        );
        assert_eq!(KeyAlgorithm::parse("dsa"), None);
    }

    /// pki-profiles.md §1.6: the only encodings the S/MIME BR allows.
    #[test]
    fn algorithm_identifier_bytes() {
        let pss = |h: &str, salt: &str| {
            format!(
                "304106092a864886f70d01010a3034a00f300d060960864801650304020{h}0500\
                 a11c301a06092a864886f70d010108300d060960864801650304020{h}0500a2030201{salt}"
            )
        };
        let expected = [
            (
                SignatureScheme::RsaPkcs1Sha256,
                "300d06092a864886f70d01010b0500".to_string(),
            ),
            (
                SignatureScheme::RsaPkcs1Sha384,
                "300d06092a864886f70d01010c0500".to_string(),
            ),
            (
                SignatureScheme::RsaPkcs1Sha512,
                "300d06092a864886f70d01010d0500".to_string(),
            ),
            (SignatureScheme::RsaPssSha256, pss("1", "20")),
            (SignatureScheme::RsaPssSha384, pss("2", "30")),
            (SignatureScheme::RsaPssSha512, pss("3", "40")),
            (
                SignatureScheme::EcdsaP256Sha256,
                "300a06082a8648ce3d040302".to_string(),
            ),
            (
                SignatureScheme::EcdsaP384Sha384,
                "300a06082a8648ce3d040303".to_string(),
            ),
        ];
        assert_eq!(
            hex::encode(SignatureScheme::RsaPssSha256.algorithm_der()),
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120"
        );
        for (scheme, hex_der) in expected {
            let der = scheme.algorithm_der();
            assert_eq!(hex::encode(&der), hex_der, "{scheme}");
            assert_eq!(SignatureScheme::from_algorithm_der(&der), Some(scheme));
        }
        assert_eq!(SignatureScheme::from_algorithm_der(b"\x30\x00"), None);
    }

    #[test]
    fn scheme_for_key() {
        use SignatureScheme as S;
        let rsa = KeyAlgorithm::Rsa3072;
        assert_eq!(S::for_key(rsa, "sha256", false).unwrap(), S::RsaPkcs1Sha256);
        assert_eq!(S::for_key(rsa, "sha384", false).unwrap(), S::RsaPkcs1Sha384);
        assert_eq!(S::for_key(rsa, "sha512", false).unwrap(), S::RsaPkcs1Sha512);
        assert_eq!(S::for_key(rsa, "sha256", true).unwrap(), S::RsaPssSha256);
        assert_eq!(S::for_key(rsa, "SHA384", true).unwrap(), S::RsaPssSha384);
        assert_eq!(S::for_key(rsa, "sha512", true).unwrap(), S::RsaPssSha512);
        for (hash, pss) in [("sha256", false), ("sha512", true)] {
            assert_eq!(
                S::for_key(KeyAlgorithm::EcdsaP256, hash, pss).unwrap(),
                S::EcdsaP256Sha256
            );
            assert_eq!(
                S::for_key(KeyAlgorithm::EcdsaP384, hash, pss).unwrap(),
                S::EcdsaP384Sha384
            );
        }
        for bad in ["sha1", "md5", "", "sha-256"] {
            assert!(matches!(
                S::for_key(rsa, bad, false),
                Err(CaError::InvalidInput(_))
            ));
            assert!(matches!(
                S::for_key(KeyAlgorithm::EcdsaP256, bad, false),
                Err(CaError::InvalidInput(_))
            ));
        }
        for alg in KeyAlgorithm::ALL {
            assert!(S::default_for(alg).is_valid_for(alg));
            assert_eq!(
                alg.signature_algorithm_der(),
                S::default_for(alg).algorithm_der()
            );
        }
    }

    #[test]
    fn sign_with_every_valid_scheme() {
        let keys: Vec<SoftwareSigner> = [
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
        ]
        .into_iter()
        .map(|a| SoftwareSigner::generate(a).unwrap().0)
        .collect();
        let msg = b"certwell scheme roundtrip";
        for signer in &keys {
            for scheme in SignatureScheme::ALL {
                let res = signer.sign_with(scheme, msg);
                if !scheme.is_valid_for(signer.key_algorithm()) {
                    assert!(
                        matches!(res, Err(CaError::Signing(_))),
                        "{scheme} with {}",
                        signer.key_algorithm()
                    );
                    continue;
                }
                let sig = res.unwrap();
                let pk = aws_lc_rs::signature::UnparsedPublicKey::new(
                    scheme.verification_algorithm(),
                    signer.spki_der(),
                );
                pk.verify(msg, &sig).unwrap();
                assert!(pk.verify(b"tampered", &sig).is_err());
            }
        }
    }

    /// A signer that only implements the required methods (e.g. a future
    /// PKCS#11 key) gets `sign_with` for its default scheme only.
    struct DefaultOnly(SoftwareSigner);

    impl Signer for DefaultOnly {
        fn key_algorithm(&self) -> KeyAlgorithm {
            self.0.key_algorithm()
        }
        fn spki_der(&self) -> Vec<u8> {
            self.0.spki_der()
        }
        fn signature_algorithm_der(&self) -> Vec<u8> {
            self.0.signature_algorithm_der()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError> {
            self.0.sign(message)
        }
    }

    #[test]
    fn default_sign_with_supports_only_the_default_scheme() {
        let s = DefaultOnly(SoftwareSigner::generate(KeyAlgorithm::Rsa2048).unwrap().0);
        assert!(s.sign_with(SignatureScheme::RsaPkcs1Sha256, b"m").is_ok());
        assert!(matches!(
            s.sign_with(SignatureScheme::RsaPssSha256, b"m"),
            Err(CaError::Signing(_))
        ));
    }

    #[test]
    fn from_pkcs8_rejects_mismatch() {
        let (_, p256) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::EcdsaP384, &p256).is_err());
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::Rsa2048, &p256).is_err());
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::Rsa2048, b"garbage").is_err());
    }
}
