//! PKCS#10 CSR intake: decoding, proof-of-possession and key-quality checks.

use aws_lc_rs::digest;
use aws_lc_rs::signature as sig;
use base64::Engine;
use num_bigint::BigUint;

use crate::derw::{self, DerError, Tlv};
use crate::signer::KeyAlgorithm;

/// Why a CSR was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CsrError {
    /// Not a decodable PKCS#10 request.
    #[error("CSR could not be parsed: {0}")]
    Parse(String),
    /// The self-signature (proof of possession) is invalid or uses a refused algorithm.
    #[error("CSR signature is invalid: {0}")]
    Signature(String),
    /// The public key is of a supported type but fails the key-quality rules.
    #[error("CSR public key is weak: {0}")]
    WeakKey(String),
    /// The public key type / curve / size is not accepted.
    #[error("CSR public key is not supported: {0}")]
    UnsupportedKey(String),
}

impl From<DerError> for CsrError {
    fn from(e: DerError) -> Self {
        CsrError::Parse(e.0)
    }
}

/// The exact key type found in a CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CsrKeyType {
    Rsa { bits: u32 },
    EcP256,
    EcP384,
}

/// A CSR whose signature and key have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCsr {
    /// The CSR DER.
    pub der: Vec<u8>,
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// Closest [`KeyAlgorithm`]: exact for P-256/P-384 and RSA 2048/3072/4096;
    /// for other RSA sizes (multiples of 8 within 2048..=4096) the largest
    /// variant not above the real size (e.g. 2560 → Rsa2048). Use
    /// [`VerifiedCsr::key_type`] for the exact size.
    pub key_algorithm: KeyAlgorithm,
    pub key_type: CsrKeyType,
    /// The first commonName of the CSR subject, if any.
    pub subject_common_name: Option<String>,
    /// Lower-case hex SHA-256 of the SPKI DER (for key blocklists).
    pub spki_sha256_hex: String,
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const OID_SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ECDSA_SHA1: &str = "1.2.840.10045.4.1";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// Decode the textual CSR forms we accept into DER.
fn decode_input(input: &str) -> Result<Vec<u8>, CsrError> {
    // JSON clients sometimes double-escape line breaks: turn literal "\r\n",
    // "\n", "\r" sequences into real line breaks first.
    let text = input
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\r", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(CsrError::Parse("empty input".into()));
    }
    let body: &str = if let Some(begin) = text.find("-----BEGIN ") {
        let after = &text[begin + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| CsrError::Parse("unterminated PEM header".into()))?;
        let label = &after[..label_end];
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(CsrError::Parse(format!(
                "unexpected PEM label {label:?}, expected CERTIFICATE REQUEST"
            )));
        }
        let rest = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = rest
            .find(&end_marker)
            .ok_or_else(|| CsrError::Parse(format!("missing {end_marker:?}")))?;
        &rest[..end]
    } else {
        text
    };
    // Drop RFC 1421 style headers (lines with ':'), then all whitespace.
    let mut b64 = String::with_capacity(body.len());
    for line in body.lines() {
        if line.contains(':') {
            continue;
        }
        b64.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    if b64.is_empty() {
        return Err(CsrError::Parse("no base64 content".into()));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(b64.as_bytes())
        .map_err(|e| CsrError::Parse(format!("invalid base64: {e}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &str) -> Option<Hash> {
        match oid {
            OID_SHA256 => Some(Hash::Sha256),
            OID_SHA384 => Some(Hash::Sha384),
            OID_SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }
    fn alg(self) -> &'static digest::Algorithm {
        match self {
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha384 => &digest::SHA384,
            Hash::Sha512 => &digest::SHA512,
        }
    }
    fn len(self) -> usize {
        self.alg().output_len()
    }
}

enum SigAlg {
    RsaPkcs1(Hash),
    RsaPss { hash: Hash, salt_len: usize },
    Ecdsa(Hash),
}

fn is_null_or_absent(p: &Option<Tlv<'_>>) -> bool {
    match p {
        None => true,
        Some(t) => t.tag == derw::TAG_NULL && t.value.is_empty(),
    }
}

/// Parse a hash AlgorithmIdentifier (params absent or NULL).
fn parse_hash_alg(t: Tlv<'_>) -> Result<Hash, CsrError> {
    let (oid, params) = derw::parse_algorithm_identifier(t)?;
    if !is_null_or_absent(&params) {
        return Err(CsrError::Signature("unexpected hash parameters".into()));
    }
    if oid == OID_SHA1 {
        return Err(CsrError::Signature("SHA-1 is not accepted".into()));
    }
    Hash::from_oid(&oid)
        .ok_or_else(|| CsrError::Signature(format!("unsupported hash algorithm {oid}")))
}

fn parse_pss_params(params: Option<Tlv<'_>>) -> Result<SigAlg, CsrError> {
    let params = params
        .ok_or_else(|| CsrError::Signature("RSASSA-PSS without parameters".into()))?
        .expect(derw::TAG_SEQUENCE)?;
    let mut r = params.reader();
    // All defaults are SHA-1 based, which we refuse, so [0] and [1] are required.
    let hash_t = r
        .read_optional(derw::ctx_cons(0))?
        .ok_or_else(|| CsrError::Signature("RSASSA-PSS with default (SHA-1) hash".into()))?;
    let hash = parse_hash_alg(Tlv::parse_single(hash_t.value)?)?;
    let mgf_t = r
        .read_optional(derw::ctx_cons(1))?
        .ok_or_else(|| CsrError::Signature("RSASSA-PSS with default (SHA-1) MGF".into()))?;
    let (mgf_oid, mgf_params) = derw::parse_algorithm_identifier(Tlv::parse_single(mgf_t.value)?)?;
    if mgf_oid != OID_MGF1 {
        return Err(CsrError::Signature(format!(
            "unsupported mask generation function {mgf_oid}"
        )));
    }
    let mgf_hash =
        parse_hash_alg(mgf_params.ok_or_else(|| CsrError::Signature("MGF1 without hash".into()))?)?;
    if mgf_hash != hash {
        return Err(CsrError::Signature(
            "RSASSA-PSS MGF1 hash differs from the message hash".into(),
        ));
    }
    let salt_len = match r.read_optional(derw::ctx_cons(2))? {
        None => 20,
        Some(t) => {
            let i = Tlv::parse_single(t.value)?.expect(derw::TAG_INTEGER)?;
            parse_small_uint(i.value)
                .ok_or_else(|| CsrError::Signature("invalid RSASSA-PSS saltLength".into()))?
        }
    };
    if let Some(t) = r.read_optional(derw::ctx_cons(3))? {
        let i = Tlv::parse_single(t.value)?.expect(derw::TAG_INTEGER)?;
        if parse_small_uint(i.value) != Some(1) {
            return Err(CsrError::Signature(
                "RSASSA-PSS trailerField must be 1".into(),
            ));
        }
    }
    r.finish()?;
    Ok(SigAlg::RsaPss { hash, salt_len })
}

fn parse_small_uint(content: &[u8]) -> Option<usize> {
    if content.is_empty() || content.len() > 4 || content[0] & 0x80 != 0 {
        return None;
    }
    if content.len() > 1 && content[0] == 0 && content[1] & 0x80 == 0 {
        return None;
    }
    Some(content.iter().fold(0usize, |a, b| (a << 8) | *b as usize))
}

fn parse_sig_alg(t: Tlv<'_>) -> Result<SigAlg, CsrError> {
    let (oid, params) = derw::parse_algorithm_identifier(t)?;
    let need_null = |h: Hash| {
        if is_null_or_absent(&params) {
            Ok(h)
        } else {
            Err(CsrError::Signature(
                "unexpected signature algorithm parameters".into(),
            ))
        }
    };
    match oid.as_str() {
        OID_SHA256_RSA => Ok(SigAlg::RsaPkcs1(need_null(Hash::Sha256)?)),
        OID_SHA384_RSA => Ok(SigAlg::RsaPkcs1(need_null(Hash::Sha384)?)),
        OID_SHA512_RSA => Ok(SigAlg::RsaPkcs1(need_null(Hash::Sha512)?)),
        OID_ECDSA_SHA256 => Ok(SigAlg::Ecdsa(need_null(Hash::Sha256)?)),
        OID_ECDSA_SHA384 => Ok(SigAlg::Ecdsa(need_null(Hash::Sha384)?)),
        OID_ECDSA_SHA512 => Ok(SigAlg::Ecdsa(need_null(Hash::Sha512)?)),
        OID_RSA_PSS => parse_pss_params(params),
        OID_SHA1_RSA | OID_ECDSA_SHA1 => Err(CsrError::Signature(
            "SHA-1 signatures are not accepted".into(),
        )),
        other => Err(CsrError::Signature(format!(
            "unsupported signature algorithm {other}"
        ))),
    }
}

/// Parsed subject public key.
enum PublicKey<'a> {
    Rsa { n: &'a [u8], bits: u32 },
    Ec { p384: bool },
}

/// Primes below 752 (Boulder goodkey / BR §6.1.6 practice).
fn small_primes() -> Vec<u32> {
    let limit = 752usize;
    let mut sieve = vec![true; limit];
    sieve[0] = false;
    sieve[1] = false;
    let mut i = 2;
    while i * i < limit {
        if sieve[i] {
            let mut j = i * i;
            while j < limit {
                sieve[j] = false;
                j += i;
            }
        }
        i += 1;
    }
    (0..limit as u32).filter(|p| sieve[*p as usize]).collect()
}

/// Primes of the ROCA fingerprint test (the published detector's list).
const ROCA_PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// ROCA (CVE-2017-15361): moduli made by Infineon's RSALib have, modulo
/// every small prime p of the list, a residue in the subgroup generated by
/// 65537. A random modulus passes all 38 tests with negligible probability.
fn roca_fingerprint(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let r = mod_small(n, p);
        // the subgroup generated by 65537 mod p
        let g = 65537 % p;
        let mut x = 1u32;
        loop {
            if x == r {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                return false;
            }
        }
    })
}

fn mod_small(n: &[u8], p: u32) -> u32 {
    let p = p as u64;
    n.iter().fold(0u64, |r, b| (r * 256 + *b as u64) % p) as u32
}

/// Cheap necessary condition for `v` being a perfect square (quadratic
/// residues modulo 64, 63, 65 and 11), so the exact `sqrt` runs rarely.
fn maybe_square(v: &BigUint) -> bool {
    let low = v.iter_u32_digits().next().unwrap_or(0);
    if (0x0202_0212_0203_0213u64 >> (low & 63)) & 1 == 0 {
        return false;
    }
    let r = (v % 45045u32).iter_u32_digits().next().unwrap_or(0); // 63 * 65 * 11
    let is_qr = |m: u32| (0..m).any(|x| (x * x) % m == r % m);
    is_qr(63) && is_qr(65) && is_qr(11)
}

/// Fermat factorisation with `rounds` iterations: returns true if the modulus
/// is a product of two primes close enough to be found (or a perfect square).
fn fermat_factorable(n: &BigUint, rounds: u32) -> bool {
    let mut a = n.sqrt();
    if &a * &a == *n {
        return true;
    }
    a += 1u32;
    // b2 = a^2 - n, updated incrementally: (a+1)^2 - n = b2 + 2a + 1.
    let mut b2 = &a * &a - n;
    for _ in 0..rounds {
        if maybe_square(&b2) {
            let b = b2.sqrt();
            if &b * &b == b2 {
                return true;
            }
        }
        b2 += &a << 1u32;
        b2 += 1u32;
        a += 1u32;
    }
    false
}

fn check_rsa_key<'a>(
    params: &Option<Tlv<'a>>,
    key_bits: &'a [u8],
) -> Result<PublicKey<'a>, CsrError> {
    if !matches!(params, Some(t) if t.tag == derw::TAG_NULL && t.value.is_empty()) {
        return Err(CsrError::UnsupportedKey(
            "rsaEncryption key must have NULL parameters".into(),
        ));
    }
    let pk = Tlv::parse_single(key_bits)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(|e| CsrError::Parse(format!("RSAPublicKey: {e}")))?;
    let mut r = pk.reader();
    let n = r.read_tag(derw::TAG_INTEGER)?;
    let e = r.read_tag(derw::TAG_INTEGER)?;
    r.finish()?;
    let positive_minimal = |v: &[u8]| {
        !v.is_empty() && v[0] & 0x80 == 0 && !(v.len() > 1 && v[0] == 0 && v[1] & 0x80 == 0)
    };
    if !positive_minimal(n.value) || !positive_minimal(e.value) {
        return Err(CsrError::Parse(
            "RSAPublicKey integers must be positive minimal DER".into(),
        ));
    }
    let n_mag: &[u8] = if n.value[0] == 0 {
        &n.value[1..]
    } else {
        n.value
    };
    if n_mag.is_empty() {
        return Err(CsrError::WeakKey("RSA modulus is zero".into()));
    }
    let bits = (n_mag.len() as u32) * 8 - n_mag[0].leading_zeros();
    if bits < 2048 {
        return Err(CsrError::WeakKey(format!(
            "RSA modulus is {bits} bits; at least 2048 is required"
        )));
    }
    if bits > 4096 {
        return Err(CsrError::UnsupportedKey(format!(
            "RSA modulus is {bits} bits; at most 4096 is accepted"
        )));
    }
    if bits & 7 != 0 {
        return Err(CsrError::WeakKey(format!(
            "RSA modulus size {bits} is not a multiple of 8"
        )));
    }
    if e.value != [0x01, 0x00, 0x01] {
        return Err(CsrError::WeakKey(format!(
            "RSA public exponent must be 65537, got 0x{}",
            hex::encode(e.value)
        )));
    }
    for p in small_primes() {
        if mod_small(n_mag, p) == 0 {
            return Err(CsrError::WeakKey(format!(
                "RSA modulus is divisible by the small prime {p}"
            )));
        }
    }
    if roca_fingerprint(n_mag) {
        return Err(CsrError::WeakKey(
            "RSA key has the ROCA fingerprint (CVE-2017-15361, Infineon RSALib)".into(),
        ));
    }
    if fermat_factorable(&BigUint::from_bytes_be(n_mag), 100) {
        return Err(CsrError::WeakKey(
            "RSA modulus factors with Fermat's method (primes too close)".into(),
        ));
    }
    Ok(PublicKey::Rsa { n: n_mag, bits })
}

fn check_ec_key<'a>(
    spki_der: &[u8],
    params: &Option<Tlv<'a>>,
    point: &[u8],
) -> Result<PublicKey<'a>, CsrError> {
    let curve = match params {
        Some(t) if t.tag == derw::TAG_OID => derw::oid_to_string(t.value)?,
        _ => {
            return Err(CsrError::UnsupportedKey(
                "EC keys must use a named curve".into(),
            ))
        }
    };
    let (p384, coord) = match curve.as_str() {
        OID_P256 => (false, 32),
        OID_P384 => (true, 48),
        OID_P521 => {
            return Err(CsrError::UnsupportedKey(
                "P-521 keys are not accepted (P-256 or P-384 only)".into(),
            ))
        }
        other => {
            return Err(CsrError::UnsupportedKey(format!(
                "EC curve {other} is not accepted (P-256 or P-384 only)"
            )))
        }
    };
    if point.len() != 1 + 2 * coord || point[0] != 0x04 {
        return Err(CsrError::UnsupportedKey(
            "EC public key must be an uncompressed point".into(),
        ));
    }
    // aws-lc-rs performs full public-key validation (on curve, not infinity, in range).
    let valg: &'static dyn sig::VerificationAlgorithm = if p384 {
        &sig::ECDSA_P384_SHA384_ASN1
    } else {
        &sig::ECDSA_P256_SHA256_ASN1
    };
    sig::ParsedPublicKey::new(valg, spki_der)
        .map_err(|e| CsrError::WeakKey(format!("invalid EC public key: {e}")))?;
    Ok(PublicKey::Ec { p384 })
}

fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.len());
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut ctx = digest::Context::new(hash.alg());
        ctx.update(seed);
        ctx.update(&counter.to_be_bytes());
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// RSASSA-PSS verification for arbitrary salt lengths (RFC 8017 §8.1.2 / §9.1.2),
/// public-key operations only. Used when aws-lc-rs cannot (salt ≠ hash length).
fn verify_pss_any_salt(
    n: &[u8],
    mod_bits: u32,
    hash: Hash,
    salt_len: usize,
    msg: &[u8],
    signature: &[u8],
) -> bool {
    let k = n.len();
    if signature.len() != k {
        return false;
    }
    let n_big = BigUint::from_bytes_be(n);
    let s = BigUint::from_bytes_be(signature);
    if s >= n_big {
        return false;
    }
    let m = s.modpow(&BigUint::from(65537u32), &n_big);
    let em_bits = mod_bits as usize - 1;
    let em_len = em_bits.div_ceil(8);
    let m_bytes = m.to_bytes_be();
    if m_bytes.len() > em_len {
        return false;
    }
    let mut em = vec![0u8; em_len - m_bytes.len()];
    em.extend_from_slice(&m_bytes);

    let h_len = hash.len();
    if em_len < h_len + salt_len + 2 || em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = &rest[..h_len];
    let top_bits = 8 * em_len - em_bits;
    let top_mask: u8 = if top_bits == 0 {
        0xff
    } else {
        0xff >> top_bits
    };
    if masked_db[0] & !top_mask != 0 {
        return false;
    }
    let mask = mgf1(hash, h, db_len);
    let mut db: Vec<u8> = masked_db.iter().zip(mask).map(|(a, b)| a ^ b).collect();
    db[0] &= top_mask;
    let ps_len = db_len - salt_len - 1;
    if db[..ps_len].iter().any(|b| *b != 0) || db[ps_len] != 0x01 {
        return false;
    }
    let salt = &db[ps_len + 1..];
    let m_hash = digest::digest(hash.alg(), msg);
    let mut ctx = digest::Context::new(hash.alg());
    ctx.update(&[0u8; 8]);
    ctx.update(m_hash.as_ref());
    ctx.update(salt);
    ctx.finish().as_ref() == h
}

fn verify_csr_signature(
    alg: &SigAlg,
    key: &PublicKey<'_>,
    spki_der: &[u8],
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), CsrError> {
    let bad = || CsrError::Signature("signature does not verify (no proof of possession)".into());
    let valg: &'static dyn sig::VerificationAlgorithm = match (alg, key) {
        (SigAlg::RsaPkcs1(h), PublicKey::Rsa { .. }) => match h {
            Hash::Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Hash::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Hash::Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        },
        (SigAlg::RsaPss { hash, salt_len }, PublicKey::Rsa { n, bits }) => {
            if *salt_len != hash.len() {
                return if verify_pss_any_salt(n, *bits, *hash, *salt_len, tbs, signature) {
                    Ok(())
                } else {
                    Err(bad())
                };
            }
            match hash {
                Hash::Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
                Hash::Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
                Hash::Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
            }
        }
        (SigAlg::Ecdsa(h), PublicKey::Ec { p384 }) => match (p384, h) {
            (false, Hash::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
            (false, Hash::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
            (false, Hash::Sha512) => &sig::ECDSA_P256_SHA512_ASN1,
            (true, Hash::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
            (true, Hash::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
            (true, Hash::Sha512) => &sig::ECDSA_P384_SHA512_ASN1,
        },
        _ => {
            return Err(CsrError::Signature(
                "signature algorithm does not match the key type".into(),
            ))
        }
    };
    sig::UnparsedPublicKey::new(valg, spki_der)
        .verify(tbs, signature)
        .map_err(|_| bad())
}

pub(crate) fn first_common_name(name: Tlv<'_>) -> Result<Option<String>, CsrError> {
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.read_tag(derw::TAG_SET)?;
        let mut atvs = rdn.reader();
        while !atvs.is_empty() {
            let atv = atvs.read_tag(derw::TAG_SEQUENCE)?;
            let mut r = atv.reader();
            let oid = r.read_tag(derw::TAG_OID)?;
            let value = r.read()?;
            if derw::oid_to_string(oid.value)? == crate::cert::OID_CN {
                return derw::decode_string(&value)
                    .map(Some)
                    .ok_or_else(|| CsrError::Parse("undecodable commonName".into()));
            }
        }
    }
    Ok(None)
}

/// Decode a CSR (PEM with or without line breaks, literal `\n` sequences, or
/// bare base64 DER), verify its self-signature and apply the key rules of
/// pki-profiles.md §5.
pub fn parse_and_verify_csr(input: &str) -> Result<VerifiedCsr, CsrError> {
    let der = decode_input(input)?;
    let csr = Tlv::parse_single(&der)
        .and_then(|t| t.expect(derw::TAG_SEQUENCE))
        .map_err(|e| CsrError::Parse(format!("not a DER CertificationRequest: {e}")))?;
    let mut r = csr.reader();
    let info = r.read_tag(derw::TAG_SEQUENCE)?;
    let sig_alg_t = r.read_tag(derw::TAG_SEQUENCE)?;
    let sig_t = r.read_tag(derw::TAG_BIT_STRING)?;
    r.finish()?;
    let signature = match sig_t.value.split_first() {
        Some((0, s)) if !s.is_empty() => s,
        _ => return Err(CsrError::Parse("bad signature BIT STRING".into())),
    };

    let mut ir = info.reader();
    let version = ir.read_tag(derw::TAG_INTEGER)?;
    if version.value != [0] {
        return Err(CsrError::Parse("unsupported CSR version".into()));
    }
    let subject = ir.read_tag(derw::TAG_SEQUENCE)?;
    let spki_t = ir.read_tag(derw::TAG_SEQUENCE)?;
    // attributes [0] (ignored: we never copy requested extensions)
    ir.read_optional(derw::ctx_cons(0))?;
    ir.finish()?;

    let subject_common_name = first_common_name(subject)?;

    let spki_der = spki_t.raw;
    let mut sr = spki_t.reader();
    let (key_oid, key_params) = derw::parse_algorithm_identifier(sr.read()?)?;
    let key_bits_t = sr.read_tag(derw::TAG_BIT_STRING)?;
    sr.finish()?;
    let key_bits = match key_bits_t.value.split_first() {
        Some((0, k)) if !k.is_empty() => k,
        _ => return Err(CsrError::Parse("bad subjectPublicKey BIT STRING".into())),
    };

    let key = match key_oid.as_str() {
        OID_RSA => check_rsa_key(&key_params, key_bits)?,
        OID_EC_PUBLIC_KEY => check_ec_key(spki_der, &key_params, key_bits)?,
        OID_RSA_PSS => {
            return Err(CsrError::UnsupportedKey(
                "id-RSASSA-PSS public keys are not accepted; use rsaEncryption".into(),
            ))
        }
        "1.3.101.112" => {
            return Err(CsrError::UnsupportedKey(
                "Ed25519 keys are not accepted".into(),
            ))
        }
        "1.3.101.113" => {
            return Err(CsrError::UnsupportedKey(
                "Ed448 keys are not accepted".into(),
            ))
        }
        "1.2.840.10040.4.1" => {
            return Err(CsrError::UnsupportedKey("DSA keys are not accepted".into()))
        }
        other => {
            return Err(CsrError::UnsupportedKey(format!(
                "public key algorithm {other} is not accepted"
            )))
        }
    };

    let alg = parse_sig_alg(sig_alg_t)?;
    verify_csr_signature(&alg, &key, spki_der, info.raw, signature)?;

    let (key_type, key_algorithm) = match key {
        PublicKey::Rsa { bits, .. } => (
            CsrKeyType::Rsa { bits },
            match bits {
                4096.. => KeyAlgorithm::Rsa4096,
                3072.. => KeyAlgorithm::Rsa3072,
                _ => KeyAlgorithm::Rsa2048,
            },
        ),
        PublicKey::Ec { p384: true } => (CsrKeyType::EcP384, KeyAlgorithm::EcdsaP384),
        PublicKey::Ec { p384: false } => (CsrKeyType::EcP256, KeyAlgorithm::EcdsaP256),
    };
    Ok(VerifiedCsr {
        spki_der: spki_der.to_vec(),
        key_algorithm,
        key_type,
        subject_common_name,
        spki_sha256_hex: spki_sha256_hex(spki_der),
        der,
    })
}

/// The key's fingerprint as the blocklist of compromised keys keeps it:
/// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
pub fn spki_sha256_hex(spki_der: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, spki_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes() {
        let p = small_primes();
        assert_eq!(p[0], 2);
        assert_eq!(*p.last().unwrap(), 751);
        assert_eq!(p.len(), 133); // 2..=751
        assert_eq!(mod_small(&[0x01, 0x00], 3), 256 % 3);
    }

    #[test]
    fn square_filter_is_sound() {
        for v in 0u64..5000 {
            let sq = BigUint::from(v * v);
            assert!(maybe_square(&sq), "{v}");
        }
        let non: usize = (0u32..10_000)
            .filter(|v| maybe_square(&BigUint::from(*v)))
            .count();
        assert!(non < 500, "filter too weak: {non}");
    }

    #[test]
    fn roca_fingerprint_is_detected() {
        // N ≡ 65537^k (mod M) for the primorial M of the ROCA primes: the
        // shape of every RSALib modulus modulo the small primes.
        let m: BigUint = ROCA_PRIMES.iter().map(|&p| BigUint::from(p)).product();
        let g = BigUint::from(65537u32);
        let n =
            g.modpow(&BigUint::from(1_234_567u32), &m) + &m * BigUint::from(0x1234_5678_9abc_u64);
        assert!(roca_fingerprint(&n.to_bytes_be()));
        // ordinary moduli are not flagged
        let ordinary = BigUint::from(3u32).pow(1300) + BigUint::from(12_345u32);
        assert!(!roca_fingerprint(&ordinary.to_bytes_be()));
        let mut flagged = 0;
        for k in 0..2000u32 {
            let v =
                BigUint::from(0xfeed_beef_u64) * BigUint::from(k + 1).pow(40) + BigUint::from(k);
            if roca_fingerprint(&v.to_bytes_be()) {
                flagged += 1;
            }
        }
        assert_eq!(flagged, 0, "no false positives on arbitrary numbers");
    }

    #[test]
    fn fermat_detects_close_primes() {
        // 1000003 * 1000033 (close primes) and a perfect square.
        let n = BigUint::from(1_000_003u64 * 1_000_033u64);
        assert!(fermat_factorable(&n, 100));
        assert!(fermat_factorable(
            &BigUint::from(1_000_003u64 * 1_000_003u64),
            100
        ));
        // 1000003 * 2000029: far apart.
        assert!(!fermat_factorable(
            &BigUint::from(1_000_003u64 * 2_000_029u64),
            100
        ));
    }

    /// A syntactically valid CSR around `spki` with a junk signature.
    fn fake_csr(spki: &[u8], sig_alg: &[u8]) -> String {
        let info = derw::seq(&[
            &derw::uint_u64(0),
            &derw::seq(&[]),
            spki,
            &derw::tlv(derw::ctx_cons(0), &[]),
        ]);
        let der = derw::seq(&[&info, sig_alg, &derw::bit_string(&[1u8; 256])]);
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    fn rsa_spki(n: &BigUint, e: u32) -> Vec<u8> {
        let pk = derw::seq(&[&derw::uint(&n.to_bytes_be()), &derw::uint(&e.to_be_bytes())]);
        let alg = derw::seq(&[&derw::oid(OID_RSA), &[derw::TAG_NULL, 0]]);
        derw::seq(&[&alg, &derw::bit_string(&pk)])
    }

    fn has_small_factor(n: &BigUint) -> bool {
        let b = n.to_bytes_be();
        small_primes().into_iter().any(|p| mod_small(&b, p) == 0)
    }

    #[test]
    fn crafted_weak_rsa_keys() {
        let sig_alg = crate::signer::SIG_RSA_SHA256.to_vec();
        // Close "primes": n = (a-1)(a+1) with a ≈ 2^1023.5 (so n has 2048 bits)
        // is found by Fermat at once.
        let mut a = (BigUint::from(1u32) << 2047u32).sqrt() + BigUint::from(1_001u32);
        let n2048 = loop {
            let n = (&a - 1u32) * (&a + 1u32);
            assert_eq!(n.bits(), 2048);
            if !has_small_factor(&n) {
                break n;
            }
            a += 1u32;
        };
        let r = parse_and_verify_csr(&fake_csr(&rsa_spki(&n2048, 65537), &sig_alg));
        assert!(
            matches!(&r, Err(CsrError::WeakKey(m)) if m.contains("Fermat")),
            "{r:?}"
        );

        // Divisible by 751.
        let big = (BigUint::from(1u32) << 2047u32) + BigUint::from(12345u32);
        let n751 = &big - (&big % 751u32);
        assert_eq!(n751.bits(), 2048);
        let r = parse_and_verify_csr(&fake_csr(&rsa_spki(&n751, 65537), &sig_alg));
        assert!(
            matches!(&r, Err(CsrError::WeakKey(m)) if m.contains("751")),
            "{r:?}"
        );

        // Even modulus.
        let even = &big - (&big % 2u32);
        let r = parse_and_verify_csr(&fake_csr(&rsa_spki(&even, 65537), &sig_alg));
        assert!(
            matches!(&r, Err(CsrError::WeakKey(m)) if m.contains("prime 2")),
            "{r:?}"
        );

        // Exponent 3 / 65539.
        for e in [3u32, 65539] {
            let r = parse_and_verify_csr(&fake_csr(&rsa_spki(&n2048, e), &sig_alg));
            assert!(
                matches!(&r, Err(CsrError::WeakKey(m)) if m.contains("exponent")),
                "{r:?}"
            );
        }

        // rsaEncryption without NULL parameters.
        let pk = derw::seq(&[&derw::uint(&n2048.to_bytes_be()), &derw::uint_u64(65537)]);
        let spki = derw::seq(&[&derw::seq(&[&derw::oid(OID_RSA)]), &derw::bit_string(&pk)]);
        let r = parse_and_verify_csr(&fake_csr(&spki, &sig_alg));
        assert!(matches!(r, Err(CsrError::UnsupportedKey(_))), "{r:?}");
    }

    #[test]
    fn crafted_bad_ec_keys() {
        let sig_alg = crate::signer::SIG_ECDSA_SHA256.to_vec();
        let ec_spki = |curve: &str, point: &[u8]| {
            let alg = derw::seq(&[&derw::oid(OID_EC_PUBLIC_KEY), &derw::oid(curve)]);
            derw::seq(&[&alg, &derw::bit_string(point)])
        };
        // (1, 1) is not on P-256.
        let mut point = vec![4u8];
        point.extend_from_slice(&[0u8; 31]);
        point.push(1);
        point.extend_from_slice(&[0u8; 31]);
        point.push(1);
        let r = parse_and_verify_csr(&fake_csr(&ec_spki(OID_P256, &point), &sig_alg));
        assert!(matches!(r, Err(CsrError::WeakKey(_))), "{r:?}");
        // Compressed point.
        let r = parse_and_verify_csr(&fake_csr(&ec_spki(OID_P256, &[2u8; 33]), &sig_alg));
        assert!(matches!(r, Err(CsrError::UnsupportedKey(_))), "{r:?}");
        // Wrong length for the curve.
        let r = parse_and_verify_csr(&fake_csr(&ec_spki(OID_P384, &point), &sig_alg));
        assert!(matches!(r, Err(CsrError::UnsupportedKey(_))), "{r:?}");
    }

    #[test]
    fn pss_any_salt_rejects_tampering() {
        // Sign with aws-lc-rs PSS (salt = hLen) and check our generic verifier
        // accepts it with salt 32 and rejects wrong salt lengths / messages.
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let mut sig = vec![0u8; kp.public_modulus_len()];
        kp.sign(
            &sig::RSA_PSS_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            b"msg",
            &mut sig,
        )
        .unwrap();
        let spki = kp.public_key().as_der().unwrap();
        let (_, _, bits) = crate::cert::split_spki(spki.as_ref()).unwrap();
        let pk = Tlv::parse_single(bits).unwrap();
        let mut r = pk.reader();
        let n = r.read().unwrap().value;
        let n = if n[0] == 0 { &n[1..] } else { n };
        assert!(verify_pss_any_salt(n, 2048, Hash::Sha256, 32, b"msg", &sig));
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha256,
            31,
            b"msg",
            &sig
        ));
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha256,
            32,
            b"msh",
            &sig
        ));
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha384,
            32,
            b"msg",
            &sig
        ));
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha256,
            32,
            b"msg",
            &sig[1..]
        ));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha256,
            32,
            b"msg",
            &bad
        ));
        // Absurd salt lengths must not panic.
        assert!(!verify_pss_any_salt(
            n,
            2048,
            Hash::Sha256,
            100_000,
            b"msg",
            &sig
        ));
    }

    #[test]
    fn input_forms() {
        assert!(matches!(decode_input(""), Err(CsrError::Parse(_))));
        assert!(matches!(decode_input("!!!"), Err(CsrError::Parse(_))));
        assert_eq!(decode_input("AAEC").unwrap(), vec![0, 1, 2]);
        assert_eq!(
            decode_input(
                "-----BEGIN CERTIFICATE REQUEST-----\\nAAEC\\n-----END CERTIFICATE REQUEST-----"
            )
            .unwrap(),
            vec![0, 1, 2]
        );
        assert!(
            decode_input("-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----").is_err()
        );
    }
}
