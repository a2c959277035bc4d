//! Encrypted PKCS#8 private keys: RFC 5958 `EncryptedPrivateKeyInfo` with
//! PBES2 (RFC 8018).
//!
//! [`encrypt_pkcs8`] writes exactly what
//! `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256` writes:
//!
//! ```text
//! EncryptedPrivateKeyInfo ::= SEQUENCE {
//!   encryptionAlgorithm SEQUENCE {
//!     pbes2 (1.2.840.113549.1.5.13),
//!     PBES2-params SEQUENCE {
//!       keyDerivationFunc SEQUENCE {
//!         pbkdf2 (1.2.840.113549.1.5.12),
//!         PBKDF2-params SEQUENCE {
//!           salt OCTET STRING (16 random bytes),
//!           iterationCount INTEGER,
//!           -- keyLength omitted, as OpenSSL does for AES
//!           prf SEQUENCE { hmacWithSHA256 (1.2.840.113549.2.9), NULL } } },
//!       encryptionScheme SEQUENCE {
//!         aes256-CBC (2.16.840.1.101.3.4.1.42),
//!         iv OCTET STRING (16 random bytes) } } },
//!   encryptedData OCTET STRING (AES-256-CBC, PKCS#7 padding) }
//! ```
//!
//! [`decrypt_pkcs8`] accepts PBES2 with PBKDF2 (prf hmacWithSHA1 when absent,
//! hmacWithSHA256/384/512) and AES-128/192/256-CBC. scrypt, PBES1, PKCS#12
//! PBE schemes and non-AES ciphers are refused with an error naming the
//! scheme (aws-lc-rs offers no scrypt). Errors never contain the passphrase.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    Algorithm, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::pbkdf2;

use crate::derw::{self, Reader, Tlv, TAG_INTEGER, TAG_NULL, TAG_OCTET_STRING, TAG_SEQUENCE};
use crate::CaError;

/// PBKDF2-HMAC-SHA256 iteration count used by [`encrypt_pkcs8`]
/// (the OWASP 2023 recommendation for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Largest iteration count [`decrypt_pkcs8`] will run (anything above is
/// treated as a denial-of-service attempt or a corrupt file).
const MAX_ITERATIONS: u64 = 10_000_000;

/// Salt length used when encrypting.
const SALT_LEN: usize = 16;

/// Largest salt accepted when decrypting.
const MAX_SALT_LEN: usize = 1024;

/// AES block size and CBC IV length.
const AES_BLOCK_LEN: usize = 16;

const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";
const OID_HMAC_SHA1: &str = "1.2.840.113549.2.7";
const OID_HMAC_SHA224: &str = "1.2.840.113549.2.8";
const OID_HMAC_SHA256: &str = "1.2.840.113549.2.9";
const OID_HMAC_SHA384: &str = "1.2.840.113549.2.10";
const OID_HMAC_SHA512: &str = "1.2.840.113549.2.11";
const OID_AES128_CBC: &str = "2.16.840.1.101.3.4.1.2";
const OID_AES192_CBC: &str = "2.16.840.1.101.3.4.1.22";
const OID_AES256_CBC: &str = "2.16.840.1.101.3.4.1.42";
/// PKCS#5 v1.5 PBES1 schemes: 1.2.840.113549.1.5.{1,3,4,6,10,11}.
const PBES1_ARC: &str = "1.2.840.113549.1.5.";
/// PKCS#12 password-based encryption: 1.2.840.113549.1.12.1.*.
const PKCS12_PBE_ARC: &str = "1.2.840.113549.1.12.1.";

/// The one message for every failure that can be caused by a wrong
/// passphrase (bad padding, decrypted bytes that are not a PKCS#8 key).
const WRONG_PASSPHRASE: &str = "wrong passphrase or corrupt key";

fn parse_err(msg: impl std::fmt::Display) -> CaError {
    CaError::Parse(format!("encrypted PKCS#8: {msg}"))
}

fn unsupported(msg: impl std::fmt::Display) -> CaError {
    CaError::Key(format!(
        "encrypted PKCS#8: {msg}; re-encrypt the key with \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`"
    ))
}

/// Encrypt a PKCS#8 `PrivateKeyInfo` (DER) under `passphrase`, producing a
/// DER `EncryptedPrivateKeyInfo`: PBES2 with PBKDF2-HMAC-SHA256
/// ([`PBKDF2_ITERATIONS`] iterations, 16-byte random salt) and AES-256-CBC
/// (16-byte random IV, PKCS#7 padding).
///
/// The passphrase is used as given (no normalisation); it must not be empty.
pub fn encrypt_pkcs8(pkcs8_der: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, CaError> {
    encrypt_pkcs8_with_iterations(pkcs8_der, passphrase, PBKDF2_ITERATIONS)
}

/// [`encrypt_pkcs8`] with a chosen iteration count (tests use small counts).
pub(crate) fn encrypt_pkcs8_with_iterations(
    pkcs8_der: &[u8],
    passphrase: &[u8],
    iterations: u32,
) -> Result<Vec<u8>, CaError> {
    let mut salt = [0u8; SALT_LEN];
    let mut iv = [0u8; AES_BLOCK_LEN];
    aws_lc_rs::rand::fill(&mut salt)
        .and_then(|()| aws_lc_rs::rand::fill(&mut iv))
        .map_err(|_| CaError::Key("random generation failed".into()))?;
    encrypt_with(pkcs8_der, passphrase, iterations, &salt, &iv)
}

/// Deterministic core of the encryption (salt and IV supplied).
fn encrypt_with(
    pkcs8_der: &[u8],
    passphrase: &[u8],
    iterations: u32,
    salt: &[u8],
    iv: &[u8; AES_BLOCK_LEN],
) -> Result<Vec<u8>, CaError> {
    if passphrase.is_empty() {
        return Err(CaError::InvalidInput(
            "the passphrase for an encrypted PKCS#8 key must not be empty".into(),
        ));
    }
    if u64::from(iterations) > MAX_ITERATIONS {
        return Err(CaError::InvalidInput(format!(
            "PBKDF2 iteration count {iterations} exceeds {MAX_ITERATIONS}"
        )));
    }
    let iters = NonZeroU32::new(iterations)
        .ok_or_else(|| CaError::InvalidInput("PBKDF2 iteration count must be positive".into()))?;
    check_private_key_info(pkcs8_der)
        .map_err(|e| CaError::InvalidInput(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;

    let cipher = AesCbc::Aes256;
    let mut key = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iters,
        salt,
        passphrase,
        &mut key,
    );
    let unbound = UnboundCipherKey::new(cipher.algorithm(), &key);
    wipe(&mut key);
    let enc_key = unbound
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| CaError::Key("AES key setup failed".into()))?;
    let mut data = pkcs8_der.to_vec();
    enc_key
        .less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| CaError::Key("AES-CBC encryption failed".into()))?;

    let prf = derw::seq(&[&derw::oid(OID_HMAC_SHA256), &[TAG_NULL, 0x00]]);
    let pbkdf2_params = derw::seq(&[
        &derw::octet_string(salt),
        &derw::uint_u64(u64::from(iterations)),
        &prf,
    ]);
    let kdf = derw::seq(&[&derw::oid(OID_PBKDF2), &pbkdf2_params]);
    let scheme = derw::seq(&[&derw::oid(cipher.oid()), &derw::octet_string(iv)]);
    let pbes2 = derw::seq(&[&derw::oid(OID_PBES2), &derw::seq(&[&kdf, &scheme])]);
    Ok(derw::seq(&[&pbes2, &derw::octet_string(&data)]))
}

/// Decrypt a DER `EncryptedPrivateKeyInfo` and return the PKCS#8
/// `PrivateKeyInfo` DER inside.
///
/// Supported: PBES2 with PBKDF2 (prf hmacWithSHA1 — the default when the prf
/// is absent — or hmacWithSHA256/384/512, at most 10 000 000 iterations) and
/// AES-128/192/256-CBC. A wrong passphrase gives
/// `CaError::Key("wrong passphrase or corrupt key")`; malformed DER gives
/// `CaError::Parse`; unsupported schemes (scrypt, PBES1, PKCS#12 PBE, DES,
/// RC2, ...) give `CaError::Key` naming the scheme.
pub fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, CaError> {
    let params = parse_encrypted_private_key_info(der)?;
    let mut key = [0u8; 32];
    let key = &mut key[..params.cipher.key_len()];
    pbkdf2::derive(
        params.prf.algorithm(),
        params.iterations,
        params.salt,
        passphrase,
        key,
    );
    let unbound = UnboundCipherKey::new(params.cipher.algorithm(), key);
    wipe(key);
    let dec_key = unbound
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| CaError::Key("AES key setup failed".into()))?;
    let mut data = params.encrypted.to_vec();
    let plain_len = match dec_key.decrypt(
        &mut data,
        DecryptionContext::Iv128(FixedLength::from(params.iv)),
    ) {
        Ok(plain) => plain.len(),
        Err(_) => {
            wipe(&mut data);
            return Err(CaError::Key(WRONG_PASSPHRASE.into()));
        }
    };
    data.truncate(plain_len);
    // Correct PKCS#7 padding happens by chance for about 1 wrong passphrase
    // in 256; a wrong key never yields a well-formed PrivateKeyInfo.
    if check_private_key_info(&data).is_err() {
        wipe(&mut data);
        return Err(CaError::Key(WRONG_PASSPHRASE.into()));
    }
    Ok(data)
}

/// Best-effort wipe of secret bytes.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(&buf);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prf {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Prf {
    fn algorithm(self) -> pbkdf2::Algorithm {
        match self {
            Prf::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Prf::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Prf::Sha384 => pbkdf2::PBKDF2_HMAC_SHA384,
            Prf::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn from_oid(oid: &str) -> Result<Prf, CaError> {
        match oid {
            OID_HMAC_SHA1 => Ok(Prf::Sha1),
            OID_HMAC_SHA256 => Ok(Prf::Sha256),
            OID_HMAC_SHA384 => Ok(Prf::Sha384),
            OID_HMAC_SHA512 => Ok(Prf::Sha512),
            OID_HMAC_SHA224 => Err(unsupported("PBKDF2 prf hmacWithSHA224 is not supported")),
            other => Err(unsupported(format!(
                "PBKDF2 prf {other} is not supported (hmacWithSHA1/256/384/512 are)"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AesCbc {
    Aes128,
    Aes192,
    Aes256,
}

impl AesCbc {
    fn algorithm(self) -> &'static Algorithm {
        match self {
            AesCbc::Aes128 => &AES_128,
            AesCbc::Aes192 => &AES_192,
            AesCbc::Aes256 => &AES_256,
        }
    }

    fn key_len(self) -> usize {
        match self {
            AesCbc::Aes128 => 16,
            AesCbc::Aes192 => 24,
            AesCbc::Aes256 => 32,
        }
    }

    fn oid(self) -> &'static str {
        match self {
            AesCbc::Aes128 => OID_AES128_CBC,
            AesCbc::Aes192 => OID_AES192_CBC,
            AesCbc::Aes256 => OID_AES256_CBC,
        }
    }

    fn from_oid(oid: &str) -> Result<AesCbc, CaError> {
        match oid {
            OID_AES128_CBC => Ok(AesCbc::Aes128),
            OID_AES192_CBC => Ok(AesCbc::Aes192),
            OID_AES256_CBC => Ok(AesCbc::Aes256),
            "1.2.840.113549.3.7" => Err(unsupported("cipher des-ede3-cbc is not supported")),
            "1.3.14.3.2.7" => Err(unsupported("cipher des-cbc is not supported")),
            "1.2.840.113549.3.2" => Err(unsupported("cipher rc2-cbc is not supported")),
            other => Err(unsupported(format!(
                "cipher {other} is not supported (AES-128/192/256-CBC are)"
            ))),
        }
    }
}

/// Everything needed to decrypt, borrowed from the input DER.
#[derive(Debug)]
struct Pbes2Params<'a> {
    salt: &'a [u8],
    iterations: NonZeroU32,
    prf: Prf,
    cipher: AesCbc,
    iv: &'a [u8; AES_BLOCK_LEN],
    encrypted: &'a [u8],
}

fn parse_encrypted_private_key_info(der: &[u8]) -> Result<Pbes2Params<'_>, CaError> {
    // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData }
    let outer = Tlv::parse_single(der)
        .and_then(|t| t.expect(TAG_SEQUENCE))
        .map_err(parse_err)?;
    let mut r = outer.reader();
    if r.peek_tag() == Some(TAG_INTEGER) {
        return Err(parse_err(
            "the input is an unencrypted PKCS#8 PrivateKeyInfo, not an EncryptedPrivateKeyInfo",
        ));
    }
    let alg = r.read().map_err(parse_err)?;
    let encrypted = r.read_tag(TAG_OCTET_STRING).map_err(parse_err)?.value;
    r.finish().map_err(parse_err)?;

    let (alg_oid, params) = derw::parse_algorithm_identifier(alg).map_err(parse_err)?;
    if alg_oid != OID_PBES2 {
        return Err(if alg_oid.starts_with(PBES1_ARC) {
            unsupported(format!("legacy PBES1 scheme {alg_oid} is not supported"))
        } else if alg_oid.starts_with(PKCS12_PBE_ARC) {
            unsupported(format!("PKCS#12 PBE scheme {alg_oid} is not supported"))
        } else {
            unsupported(format!(
                "encryption algorithm {alg_oid} is not supported (PBES2 is)"
            ))
        });
    }

    // PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
    let params = params
        .ok_or_else(|| parse_err("PBES2 parameters missing"))?
        .expect(TAG_SEQUENCE)
        .map_err(parse_err)?;
    let mut r = params.reader();
    let kdf = r.read().map_err(parse_err)?;
    let scheme = r.read().map_err(parse_err)?;
    r.finish().map_err(parse_err)?;

    let (kdf_oid, kdf_params) = derw::parse_algorithm_identifier(kdf).map_err(parse_err)?;
    match kdf_oid.as_str() {
        OID_PBKDF2 => {}
        OID_SCRYPT => {
            return Err(unsupported(
                "scrypt key derivation is not supported (aws-lc-rs offers no scrypt)",
            ))
        }
        other => {
            return Err(unsupported(format!(
                "key derivation function {other} is not supported (PBKDF2 is)"
            )))
        }
    }

    // PBKDF2-params ::= SEQUENCE {
    //   salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
    //   iterationCount INTEGER (1..MAX), keyLength INTEGER (1..MAX) OPTIONAL,
    //   prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
    let kdf_params = kdf_params
        .ok_or_else(|| parse_err("PBKDF2 parameters missing"))?
        .expect(TAG_SEQUENCE)
        .map_err(parse_err)?;
    let mut r = kdf_params.reader();
    let salt = r.read().map_err(parse_err)?;
    if salt.tag == TAG_SEQUENCE {
        return Err(unsupported("PBKDF2 salt from otherSource is not supported"));
    }
    let salt = salt.expect(TAG_OCTET_STRING).map_err(parse_err)?.value;
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(parse_err(format!(
            "PBKDF2 salt length {} is outside 1..={MAX_SALT_LEN}",
            salt.len()
        )));
    }
    let iterations = parse_uint(r.read().map_err(parse_err)?, "PBKDF2 iteration count")?;
    let iterations = match iterations {
        Some(n) if n <= MAX_ITERATIONS => u32::try_from(n).ok().and_then(NonZeroU32::new),
        _ => None,
    }
    .ok_or_else(|| {
        parse_err(format!(
            "PBKDF2 iteration count must be between 1 and {MAX_ITERATIONS}"
        ))
    })?;
    let key_length = match r.read_optional(TAG_INTEGER).map_err(parse_err)? {
        Some(t) => Some(
            parse_uint(t, "PBKDF2 key length")?
                .ok_or_else(|| parse_err("PBKDF2 key length too large"))?,
        ),
        None => None,
    };
    let prf = match r.read_optional(TAG_SEQUENCE).map_err(parse_err)? {
        Some(t) => {
            let (prf_oid, prf_params) = derw::parse_algorithm_identifier(t).map_err(parse_err)?;
            if let Some(p) = prf_params {
                if p.tag != TAG_NULL || !p.value.is_empty() {
                    return Err(parse_err("PBKDF2 prf parameters must be NULL or absent"));
                }
            }
            Prf::from_oid(&prf_oid)?
        }
        None => Prf::Sha1,
    };
    r.finish().map_err(parse_err)?;

    let (enc_oid, enc_params) = derw::parse_algorithm_identifier(scheme).map_err(parse_err)?;
    let cipher = AesCbc::from_oid(&enc_oid)?;
    let iv = enc_params
        .ok_or_else(|| parse_err("AES-CBC IV missing"))?
        .expect(TAG_OCTET_STRING)
        .map_err(parse_err)?
        .value;
    let iv: &[u8; AES_BLOCK_LEN] = iv
        .try_into()
        .map_err(|_| parse_err(format!("AES-CBC IV has {} bytes, not 16", iv.len())))?;
    if let Some(len) = key_length {
        if len != cipher.key_len() as u64 {
            return Err(parse_err(format!(
                "PBKDF2 key length {len} does not match the {}-byte AES key",
                cipher.key_len()
            )));
        }
    }
    if encrypted.is_empty() || encrypted.len() % AES_BLOCK_LEN != 0 {
        return Err(parse_err(format!(
            "encrypted data length {} is not a positive multiple of 16",
            encrypted.len()
        )));
    }
    Ok(Pbes2Params {
        salt,
        iterations,
        prf,
        cipher,
        iv,
        encrypted,
    })
}

/// Non-negative DER INTEGER; `Ok(None)` if it does not fit in a u64.
fn parse_uint(t: Tlv<'_>, what: &str) -> Result<Option<u64>, CaError> {
    let t = t.expect(TAG_INTEGER).map_err(parse_err)?;
    let v = t.value;
    match v {
        [] => return Err(parse_err(format!("{what}: empty INTEGER"))),
        [first, ..] if first & 0x80 != 0 => return Err(parse_err(format!("{what} is negative"))),
        [0, second, ..] if second & 0x80 == 0 => {
            return Err(parse_err(format!("{what}: non-minimal INTEGER")))
        }
        _ => {}
    }
    let magnitude = if v[0] == 0 { &v[1..] } else { v };
    if magnitude.len() > 8 {
        return Ok(None);
    }
    Ok(Some(
        magnitude
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    ))
}

/// Shape check of a PKCS#8 `PrivateKeyInfo` / RFC 5958 `OneAsymmetricKey`:
/// `SEQUENCE { version INTEGER (0|1), privateKeyAlgorithm AlgorithmIdentifier,
/// privateKey OCTET STRING, attributes [0] OPTIONAL, publicKey [1] OPTIONAL }`.
fn check_private_key_info(der: &[u8]) -> Result<(), derw::DerError> {
    let bad = |m: &str| derw::DerError(m.to_string());
    let t = Tlv::parse_single(der)?.expect(TAG_SEQUENCE)?;
    let mut r: Reader<'_> = t.reader();
    let version = r.read_tag(TAG_INTEGER)?;
    if version.value != [0] && version.value != [1] {
        return Err(bad("unsupported PrivateKeyInfo version"));
    }
    derw::parse_algorithm_identifier(r.read()?)?;
    r.read_tag(TAG_OCTET_STRING)?;
    r.read_optional(derw::ctx_cons(0))?;
    if r.read_optional(derw::ctx_prim(1))?.is_none() {
        r.read_optional(derw::ctx_cons(1))?;
    }
    r.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyAlgorithm, Signer, SoftwareSigner};
    use std::path::Path;
    use std::process::Command;

    const PASS: &str = "correct horse battery staple";
    const FAST: u32 = 2048;

    fn openssl(args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn p(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    /// `openssl pkey -outform DER` of an unencrypted PKCS#8 DER file.
    fn openssl_normalised(path: &Path) -> Vec<u8> {
        openssl(&["pkey", "-inform", "DER", "-in", p(path), "-outform", "DER"])
    }

    #[test]
    fn pkcs8enc_round_trip_ec_and_rsa() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let (signer, pkcs8) = SoftwareSigner::generate(alg).unwrap();
            let enc = encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), FAST).unwrap();
            assert!(!enc.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()));
            let dec = decrypt_pkcs8(&enc, PASS.as_bytes()).unwrap();
            assert_eq!(dec, pkcs8, "{alg}");
            let loaded = SoftwareSigner::from_pkcs8(alg, &dec).unwrap();
            assert_eq!(loaded.spki_der(), signer.spki_der());
            // Fresh salt and IV every time.
            let enc2 = encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), FAST).unwrap();
            assert_ne!(enc, enc2);
        }
    }

    #[test]
    fn pkcs8enc_default_iterations_and_layout() {
        let (_, pkcs8) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let enc = encrypt_pkcs8(&pkcs8, PASS.as_bytes()).unwrap();
        let params = parse_encrypted_private_key_info(&enc).unwrap();
        assert_eq!(params.iterations.get(), PBKDF2_ITERATIONS);
        assert_eq!(params.salt.len(), 16);
        assert_eq!(params.prf, Prf::Sha256);
        assert_eq!(params.cipher, AesCbc::Aes256);
        assert_eq!(decrypt_pkcs8(&enc, PASS.as_bytes()).unwrap(), pkcs8);

        // Exact bytes of the AlgorithmIdentifier, salt 00..0f, IV 10..1f.
        let salt: Vec<u8> = (0u8..16).collect();
        let iv: [u8; 16] = core::array::from_fn(|i| 0x10 + i as u8);
        let enc = encrypt_with(&pkcs8, PASS.as_bytes(), 600_000, &salt, &iv).unwrap();
        let alg_id = Tlv::parse_single(&enc)
            .unwrap()
            .reader()
            .read()
            .unwrap()
            .raw;
        assert_eq!(
            hex::encode(alg_id),
            concat!(
                "3060",
                "06092a864886f70d01050d", // pbes2
                "3053",
                "303206092a864886f70d01050c", // pbkdf2
                "3025",
                "0410000102030405060708090a0b0c0d0e0f", // salt
                "02030927c0",                           // 600000
                "300c06082a864886f70d02090500",         // hmacWithSHA256, NULL
                "301d060960864801650304012a",           // aes256-CBC
                "0410101112131415161718191a1b1c1d1e1f"  // IV
            )
        );
    }

    #[test]
    fn pkcs8enc_wrong_passphrase_fails_cleanly() {
        let (_, pkcs8) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let enc = encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), 1000).unwrap();
        // Many wrong passphrases, so that the ~1/256 "valid padding by
        // chance" case is exercised too.
        for i in 0..300 {
            let wrong = format!("wrong passphrase number {i}");
            let err = decrypt_pkcs8(&enc, wrong.as_bytes()).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, CaError::Key(m) if m == WRONG_PASSPHRASE),
                "{msg}"
            );
            assert!(!msg.contains(&wrong));
        }
        assert!(decrypt_pkcs8(&enc, b"").is_err());
        assert!(matches!(
            encrypt_pkcs8_with_iterations(&pkcs8, b"", FAST),
            Err(CaError::InvalidInput(_))
        ));
    }

    #[test]
    fn pkcs8enc_truncated_and_garbage_input_fail() {
        let (_, pkcs8) = SoftwareSigner::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let enc = encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), 1000).unwrap();
        for n in 0..enc.len() {
            let err = decrypt_pkcs8(&enc[..n], PASS.as_bytes()).unwrap_err();
            assert!(!err.to_string().contains(PASS));
        }
        // A flipped byte anywhere before the IV (structure, OIDs, salt,
        // iteration count) is refused; flips in the IV or ciphertext may go
        // unnoticed (CBC has no MAC) but never panic.
        let iv = *parse_encrypted_private_key_info(&enc).unwrap().iv;
        let iv_pos = enc.windows(16).position(|w| w == iv).unwrap();
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 0x41;
            let res = decrypt_pkcs8(&bad, PASS.as_bytes());
            assert!(i >= iv_pos || res.is_err(), "flip at {i} accepted");
        }
        let mut with_trailer = enc.clone();
        with_trailer.push(0);
        assert!(matches!(
            decrypt_pkcs8(&with_trailer, PASS.as_bytes()),
            Err(CaError::Parse(_))
        ));
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x00",
            b"\x30\x80\x00\x00",
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----",
            &[0xff; 64],
        ] {
            assert!(decrypt_pkcs8(garbage, PASS.as_bytes()).is_err());
        }
        let m = decrypt_pkcs8(&pkcs8, PASS.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(m.contains("unencrypted"), "{m}");
        assert!(encrypt_pkcs8_with_iterations(b"\x30\x00", PASS.as_bytes(), FAST).is_err());
        assert!(encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), 0).is_err());
    }

    /// Re-encode an EncryptedPrivateKeyInfo with a modified PBKDF2-params.
    fn with_pbkdf2_params(salt: &[u8], tail: &[&[u8]], scheme: &[u8], ct: &[u8]) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = Vec::new();
        let salt = derw::octet_string(salt);
        parts.push(&salt);
        parts.extend_from_slice(tail);
        let kdf = derw::seq(&[&derw::oid(OID_PBKDF2), &derw::seq(&parts)]);
        let pbes2 = derw::seq(&[&derw::oid(OID_PBES2), &derw::seq(&[&kdf, scheme])]);
        derw::seq(&[&pbes2, &derw::octet_string(ct)])
    }

    #[test]
    fn pkcs8enc_rejects_absurd_and_unsupported_parameters() {
        let aes256 = derw::seq(&[&derw::oid(OID_AES256_CBC), &derw::octet_string(&[0; 16])]);
        let sha256 = derw::seq(&[&derw::oid(OID_HMAC_SHA256), &[TAG_NULL, 0]]);
        let ct = [0u8; 32];
        let msg = |der: &[u8]| decrypt_pkcs8(der, PASS.as_bytes()).unwrap_err().to_string();

        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(10_000_001), &sha256],
            &aes256,
            &ct,
        ));
        assert!(m.contains("iteration count"), "{m}");
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint(&[0xff; 20]), &sha256],
            &aes256,
            &ct,
        ));
        assert!(m.contains("iteration count"), "{m}");
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(0), &sha256],
            &aes256,
            &ct,
        ));
        assert!(m.contains("iteration count"), "{m}");
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&[TAG_INTEGER, 1, 0xff], &sha256],
            &aes256,
            &ct,
        ));
        assert!(m.contains("negative"), "{m}");
        // keyLength that does not match AES-256.
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(2048), &derw::uint_u64(16), &sha256],
            &aes256,
            &ct,
        ));
        assert!(m.contains("key length"), "{m}");
        // Unsupported prf, cipher, IV length, ciphertext length.
        let sha224 = derw::seq(&[&derw::oid(OID_HMAC_SHA224), &[TAG_NULL, 0]]);
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(2048), &sha224],
            &aes256,
            &ct,
        ));
        assert!(m.contains("hmacWithSHA224"), "{m}");
        let des3 = derw::seq(&[
            &derw::oid("1.2.840.113549.3.7"),
            &derw::octet_string(&[0; 8]),
        ]);
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(2048)],
            &des3,
            &ct,
        ));
        assert!(m.contains("des-ede3-cbc"), "{m}");
        let short_iv = derw::seq(&[&derw::oid(OID_AES256_CBC), &derw::octet_string(&[0; 8])]);
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(2048)],
            &short_iv,
            &ct,
        ));
        assert!(m.contains("IV"), "{m}");
        let m = msg(&with_pbkdf2_params(
            &[1; 16],
            &[&derw::uint_u64(2048)],
            &aes256,
            &[0; 17],
        ));
        assert!(m.contains("multiple of 16"), "{m}");

        // scrypt KDF.
        let scrypt_params = derw::seq(&[
            &derw::octet_string(&[1; 16]),
            &derw::uint_u64(16384),
            &derw::uint_u64(8),
            &derw::uint_u64(1),
        ]);
        let kdf = derw::seq(&[&derw::oid(OID_SCRYPT), &scrypt_params]);
        let pbes2 = derw::seq(&[&derw::oid(OID_PBES2), &derw::seq(&[&kdf, &aes256])]);
        let m = msg(&derw::seq(&[&pbes2, &derw::octet_string(&ct)]));
        assert!(m.contains("scrypt"), "{m}");

        // PBES1 (pbeWithSHA1AndDES-CBC).
        let pbes1 = derw::seq(&[
            &derw::oid("1.2.840.113549.1.5.10"),
            &derw::seq(&[&derw::octet_string(&[1; 8]), &derw::uint_u64(2048)]),
        ]);
        let m = msg(&derw::seq(&[&pbes1, &derw::octet_string(&ct)]));
        assert!(m.contains("PBES1"), "{m}");
    }

    #[test]
    fn pkcs8enc_openssl_decrypts_ours() {
        let dir = tempfile::tempdir().unwrap();
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let (_, pkcs8) = SoftwareSigner::generate(alg).unwrap();
            let enc = encrypt_pkcs8_with_iterations(&pkcs8, PASS.as_bytes(), FAST).unwrap();
            let enc_path = dir.path().join("enc.der");
            let plain_path = dir.path().join("plain.der");
            std::fs::write(&enc_path, &enc).unwrap();
            std::fs::write(&plain_path, &pkcs8).unwrap();
            let pass_arg = format!("pass:{PASS}");
            let want = openssl_normalised(&plain_path);
            // `openssl pkcs8` (without -topk8) decrypts and writes the
            // traditional form (SEC1 / PKCS#1); normalise it with pkey.
            let trad = openssl(&[
                "pkcs8",
                "-inform",
                "DER",
                "-in",
                p(&enc_path),
                "-passin",
                &pass_arg,
                "-outform",
                "DER",
            ]);
            let trad_path = dir.path().join("trad.der");
            std::fs::write(&trad_path, &trad).unwrap();
            assert_eq!(openssl_normalised(&trad_path), want, "{alg} via pkcs8");
            // `openssl pkey` decrypts straight to PKCS#8.
            let dec = openssl(&[
                "pkey",
                "-inform",
                "DER",
                "-in",
                p(&enc_path),
                "-passin",
                &pass_arg,
                "-outform",
                "DER",
            ]);
            assert_eq!(dec, want, "{alg} via pkey");
            // openssl refuses a wrong passphrase too.
            let out = Command::new("openssl")
                .args(["pkcs8", "-inform", "DER", "-in", p(&enc_path)])
                .args(["-passin", "pass:not it", "-outform", "DER"])
                .output()
                .unwrap();
            assert!(!out.status.success());
        }
    }

    #[test]
    fn pkcs8enc_we_decrypt_openssls() {
        let dir = tempfile::tempdir().unwrap();
        let pass_arg = format!("pass:{PASS}");
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let (signer, pkcs8) = SoftwareSigner::generate(alg).unwrap();
            let plain_path = dir.path().join("plain.der");
            std::fs::write(&plain_path, &pkcs8).unwrap();
            let variants: [(&[&str], Prf, AesCbc); 4] = [
                (
                    &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"],
                    Prf::Sha256,
                    AesCbc::Aes256,
                ),
                // OpenSSL 3's default prf (hmacWithSHA256; SHA1 before 1.1).
                (&["-v2", "aes-128-cbc"], Prf::Sha256, AesCbc::Aes128),
                // hmacWithSHA1 is written by omitting the prf (the DEFAULT).
                (
                    &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
                    Prf::Sha1,
                    AesCbc::Aes128,
                ),
                (
                    &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"],
                    Prf::Sha512,
                    AesCbc::Aes192,
                ),
            ];
            for (args, prf, cipher) in variants {
                let mut cmd = vec![
                    "pkcs8",
                    "-topk8",
                    "-inform",
                    "DER",
                    "-in",
                    p(&plain_path),
                    "-outform",
                    "DER",
                    "-passout",
                    &pass_arg,
                    "-iter",
                    "2048",
                ];
                cmd.extend_from_slice(args);
                let enc = openssl(&cmd);
                let params = parse_encrypted_private_key_info(&enc).unwrap();
                assert_eq!((params.prf, params.cipher), (prf, cipher), "{args:?}");
                assert_eq!(params.iterations.get(), 2048);
                let dec = decrypt_pkcs8(&enc, PASS.as_bytes()).unwrap();
                let loaded = SoftwareSigner::from_pkcs8(alg, &dec).unwrap();
                assert_eq!(loaded.spki_der(), signer.spki_der(), "{alg} {args:?}");
                let dec_path = dir.path().join("dec.der");
                std::fs::write(&dec_path, &dec).unwrap();
                assert_eq!(
                    openssl_normalised(&dec_path),
                    openssl_normalised(&plain_path)
                );
                assert!(matches!(
                    decrypt_pkcs8(&enc, b"not it"),
                    Err(CaError::Key(m)) if m == WRONG_PASSPHRASE
                ));

                // Same salt, IV, count and passphrase: our encoder must
                // reproduce openssl's aes-256-cbc/hmacWithSHA256 file byte
                // for byte.
                if (prf, cipher) == (Prf::Sha256, AesCbc::Aes256) {
                    let ours =
                        encrypt_with(&dec, PASS.as_bytes(), 2048, params.salt, params.iv).unwrap();
                    assert_eq!(hex::encode(ours), hex::encode(&enc));
                }
            }
        }
    }
}
