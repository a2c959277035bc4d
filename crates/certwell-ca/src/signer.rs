//! CA signing keys.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, RSA_PKCS1_SHA256,
};

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
        match self {
            KeyAlgorithm::EcdsaP256 => SIG_ECDSA_SHA256.to_vec(),
            KeyAlgorithm::EcdsaP384 => SIG_ECDSA_SHA384.to_vec(),
            _ => SIG_RSA_SHA256.to_vec(),
        }
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

/// A CA signing key. Software keys now, PKCS#11 later.
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
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa(kp) => kp
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| CaError::Signing(format!("ECDSA signing failed: {e}"))),
            Inner::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
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

    #[test]
    fn from_pkcs8_rejects_mismatch() {
        let (_, p256) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::EcdsaP384, &p256).is_err());
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::Rsa2048, &p256).is_err());
        assert!(SoftwareSigner::from_pkcs8(KeyAlgorithm::Rsa2048, b"garbage").is_err());
    }
}
