//! CA keys held in a PKCS#11 token (an HSM; SoftHSM2 in the tests).
//!
//! A [`Pkcs11Token`] is one logged-in token of one module; a
//! [`Pkcs11Signer`] is a private key on it, found by its `CKA_ID`. Keys
//! are generated inside the token ([`Pkcs11Token::generate`]), marked
//! sensitive and not extractable; certwell never sees them. Each signer
//! checks once, when it is made, that the token's key signs what its
//! public key verifies, so a wrong key or a wrong token is refused at
//! start-up, not at the first order.
//!
//! Signing borrows a session from a small pool (a PKCS#11 session is not
//! shareable between threads); a session the token dropped (device
//! removed, token re-inserted) is discarded and the error is
//! [`CaError::Unavailable`], which the server answers with 503.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::derw;
use crate::signer::{KeyAlgorithm, SignatureScheme, Signer};
use crate::CaError;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Which token of a module: by label (what `softhsm2-util --init-token
/// --label` and HSM consoles set) or by slot number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSelector {
    Label(String),
    Slot(u64),
}

/// One module is loaded and initialised once per process, however many
/// tokens and keys use it (C_Initialize may be called only once).
fn module(path: &Path) -> Result<Pkcs11, CaError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|e| {
        CaError::Key(format!(
            "PKCS#11 module {} could not be loaded: {e}",
            path.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(CaError::Key(format!(
                "PKCS#11 module {} could not be initialised: {e}",
                path.display()
            )))
        }
    }
    modules.insert(path.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// Errors that mean "the token is not reachable now" rather than "this
/// request or key is wrong".
fn is_unavailable(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::DeviceMemory
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::SessionCount
                | RvError::UserNotLoggedIn
                | RvError::FunctionFailed
                | RvError::GeneralError
                | RvError::CryptokiNotInitialized
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid,
            _
        )
    )
}

fn sign_err(e: CkError) -> CaError {
    if is_unavailable(&e) {
        CaError::Unavailable(format!("the PKCS#11 token did not sign: {e}"))
    } else {
        CaError::Signing(format!("the PKCS#11 token refused to sign: {e}"))
    }
}

/// A logged-in token. Cheap to share (`Arc`); its sessions are pooled.
pub struct Pkcs11Token {
    ctx: Pkcs11,
    slot: Slot,
    /// The token's label, for messages.
    label: String,
    pin: AuthPin,
    sessions: Mutex<Vec<Session>>,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.label)
            .field("slot", &self.slot.id())
            .finish()
    }
}

impl Pkcs11Token {
    /// Loads `module`, finds the token and logs in as its user. Every
    /// failure (module missing, no such token, wrong or locked PIN) is
    /// one line naming what is wrong, without the PIN.
    pub fn open(
        module_path: &Path,
        token: &TokenSelector,
        pin: &str,
    ) -> Result<Arc<Pkcs11Token>, CaError> {
        let ctx = module(module_path)?;
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(|e| CaError::Key(format!("PKCS#11: listing the tokens failed: {e}")))?;
        let mut found = None;
        for slot in slots {
            let info = ctx
                .get_token_info(slot)
                .map_err(|e| CaError::Key(format!("PKCS#11: reading a token failed: {e}")))?;
            let hit = match token {
                TokenSelector::Label(l) => info.label().trim_end() == l.as_str(),
                TokenSelector::Slot(id) => slot.id() == *id,
            };
            if hit {
                found = Some((slot, info.label().trim_end().to_string()));
                break;
            }
        }
        let (slot, label) = found.ok_or_else(|| {
            CaError::Key(match token {
                TokenSelector::Label(l) => format!(
                    "PKCS#11: no initialised token labelled {l:?} in {}",
                    module_path.display()
                ),
                TokenSelector::Slot(s) => format!(
                    "PKCS#11: no initialised token in slot {s} of {}",
                    module_path.display()
                ),
            })
        })?;
        let token = Arc::new(Pkcs11Token {
            ctx,
            slot,
            label,
            pin: AuthPin::from(pin.to_string()),
            sessions: Mutex::new(Vec::new()),
        });
        // Log in now, so a wrong or locked PIN stops start-up.
        let session = token.open_session(false)?;
        token.put_back(session);
        Ok(token)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    fn open_session(&self, read_write: bool) -> Result<Session, CaError> {
        let session = if read_write {
            self.ctx.open_rw_session(self.slot)
        } else {
            self.ctx.open_ro_session(self.slot)
        }
        .map_err(|e| {
            let what = format!(
                "PKCS#11 token {:?}: opening a session failed: {e}",
                self.label
            );
            if is_unavailable(&e) {
                CaError::Unavailable(what)
            } else {
                CaError::Key(what)
            }
        })?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Err(CaError::Key(format!(
                "PKCS#11 token {:?}: the PIN is wrong",
                self.label
            ))),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(CaError::Key(format!(
                "PKCS#11 token {:?}: the user PIN is locked",
                self.label
            ))),
            Err(e) if is_unavailable(&e) => Err(CaError::Unavailable(format!(
                "PKCS#11 token {:?}: login failed: {e}",
                self.label
            ))),
            Err(e) => Err(CaError::Key(format!(
                "PKCS#11 token {:?}: login failed: {e}",
                self.label
            ))),
        }
    }

    fn take(&self) -> Result<Session, CaError> {
        let pooled = self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        match pooled {
            Some(s) => Ok(s),
            None => self.open_session(false),
        }
    }

    fn put_back(&self, session: Session) {
        let mut pool = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 32 {
            pool.push(session);
        }
    }

    /// Generates a key pair of `alg` inside the token: the private key is
    /// a token object, private, sensitive, never extractable, usable only
    /// to sign; `label` names it for people, `id` (16 random bytes, the
    /// value certwell stores) finds it.
    pub fn generate(
        self: &Arc<Self>,
        alg: KeyAlgorithm,
        label: &str,
    ) -> Result<Pkcs11Signer, CaError> {
        let mut id = [0u8; 16];
        aws_lc_rs::rand::fill(&mut id)
            .map_err(|_| CaError::Key("no randomness for a key id".into()))?;
        let session = self.open_session(true)?;
        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ]
        };
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([
            Attribute::Sign(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ]);
        let mechanism = match alg {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                public.push(Attribute::EcParams(derw::oid(curve_oid(alg))));
                Mechanism::EccKeyPairGen
            }
            _ => {
                let bits: u64 = match alg {
                    KeyAlgorithm::Rsa2048 => 2048,
                    KeyAlgorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                public.push(Attribute::ModulusBits(bits.into()));
                public.push(Attribute::PublicExponent(vec![1, 0, 1]));
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(|e| {
                CaError::Key(format!(
                    "PKCS#11 token {:?}: generating a {alg} key failed: {e}",
                    self.label
                ))
            })?;
        drop(session);
        self.find(alg, &id)
    }

    /// The private key with `CKA_ID` = `id`, checked to be an `alg` key
    /// whose signatures verify with its public key.
    pub fn find(self: &Arc<Self>, alg: KeyAlgorithm, id: &[u8]) -> Result<Pkcs11Signer, CaError> {
        let session = self.take()?;
        let found = self.find_in(&session, alg, id);
        self.put_back(session);
        let (key, spki) = found?;
        let signer = Pkcs11Signer {
            token: Arc::clone(self),
            key,
            id: id.to_vec(),
            alg,
            spki,
        };
        signer.self_test()?;
        Ok(signer)
    }

    fn find_in(
        &self,
        session: &Session,
        alg: KeyAlgorithm,
        id: &[u8],
    ) -> Result<(ObjectHandle, Vec<u8>), CaError> {
        let what = || format!("PKCS#11 token {:?}, key id {}", self.label, hex::encode(id));
        let one = |class: ObjectClass| -> Result<ObjectHandle, CaError> {
            let handles = session
                .find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
                .map_err(|e| CaError::Key(format!("{}: search failed: {e}", what())))?;
            match handles.as_slice() {
                [h] => Ok(*h),
                [] => Err(CaError::Key(format!("{}: no such {class} object", what()))),
                _ => Err(CaError::Key(format!(
                    "{}: several {class} objects carry this id",
                    what()
                ))),
            }
        };
        let private = one(ObjectClass::PRIVATE_KEY)?;
        let public = one(ObjectClass::PUBLIC_KEY)?;
        let attr = |h: ObjectHandle, types: &[AttributeType]| {
            session.get_attributes(h, types).map_err(|e| {
                CaError::Key(format!("{}: reading its attributes failed: {e}", what()))
            })
        };
        let key_type = attr(private, &[AttributeType::KeyType])?;
        let want = if alg.is_rsa() {
            KeyType::RSA
        } else {
            KeyType::EC
        };
        if !key_type
            .iter()
            .any(|a| matches!(a, Attribute::KeyType(t) if *t == want))
        {
            return Err(CaError::Key(format!(
                "{}: the key is not of type {alg}",
                what()
            )));
        }
        let spki = if alg.is_rsa() {
            let attrs = attr(
                public,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )?;
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            let (n, e) = n.zip(e).ok_or_else(|| {
                CaError::Key(format!("{}: the public key has no modulus", what()))
            })?;
            rsa_spki(&n, &e)
        } else {
            let attrs = attr(public, &[AttributeType::EcParams, AttributeType::EcPoint])?;
            let (mut params, mut point) = (None, None);
            for a in attrs {
                match a {
                    Attribute::EcParams(v) => params = Some(v),
                    Attribute::EcPoint(v) => point = Some(v),
                    _ => {}
                }
            }
            if params.as_deref() != Some(derw::oid(curve_oid(alg)).as_slice()) {
                return Err(CaError::Key(format!(
                    "{}: the key is not on the curve of {alg}",
                    what()
                )));
            }
            let point = point
                .ok_or_else(|| CaError::Key(format!("{}: the public key has no point", what())))?;
            ec_spki(alg, &point)
                .ok_or_else(|| CaError::Key(format!("{}: unreadable EC point", what())))?
        };
        if alg.is_rsa() {
            let bits = attr(public, &[AttributeType::ModulusBits])?;
            let want_bits: u64 = match alg {
                KeyAlgorithm::Rsa2048 => 2048,
                KeyAlgorithm::Rsa3072 => 3072,
                _ => 4096,
            };
            if !bits
                .iter()
                .any(|a| matches!(a, Attribute::ModulusBits(b) if u64::from(*b) == want_bits))
            {
                return Err(CaError::Key(format!(
                    "{}: the key is not {want_bits} bits",
                    what()
                )));
            }
        }
        Ok((private, spki))
    }
}

fn curve_oid(alg: KeyAlgorithm) -> &'static str {
    if alg == KeyAlgorithm::EcdsaP384 {
        OID_P384
    } else {
        OID_P256
    }
}

/// SubjectPublicKeyInfo of an EC key from `CKA_EC_POINT` (a DER OCTET
/// STRING around the uncompressed point per PKCS#11; some tokens give the
/// bare point).
fn ec_spki(alg: KeyAlgorithm, ec_point: &[u8]) -> Option<Vec<u8>> {
    let raw_len = if alg == KeyAlgorithm::EcdsaP384 {
        97
    } else {
        65
    };
    let point = if ec_point.len() == raw_len {
        ec_point
    } else if ec_point.len() == raw_len + 2
        && ec_point[0] == 0x04
        && ec_point[1] as usize == raw_len
    {
        &ec_point[2..]
    } else {
        return None;
    };
    if point[0] != 0x04 {
        return None;
    }
    let alg_id = derw::seq(&[&derw::oid(OID_EC_PUBLIC_KEY), &derw::oid(curve_oid(alg))]);
    Some(derw::seq(&[&alg_id, &derw::bit_string(point)]))
}

fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let alg_id = derw::seq(&[&derw::oid(OID_RSA_ENCRYPTION), &[derw::TAG_NULL, 0]]);
    let key = derw::seq(&[&derw::uint(n), &derw::uint(e)]);
    derw::seq(&[&alg_id, &derw::bit_string(&key)])
}

/// A CA private key in a PKCS#11 token.
pub struct Pkcs11Signer {
    token: Arc<Pkcs11Token>,
    key: ObjectHandle,
    id: Vec<u8>,
    alg: KeyAlgorithm,
    spki: Vec<u8>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token.label)
            .field("id", &hex::encode(&self.id))
            .field("alg", &self.alg)
            .finish()
    }
}

impl Pkcs11Signer {
    /// The key's `CKA_ID`.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Signs a fixed message with every scheme the key would use and
    /// verifies it with the public key read from the token.
    fn self_test(&self) -> Result<(), CaError> {
        let msg = b"certwell PKCS#11 self-test";
        let scheme = SignatureScheme::default_for(self.alg);
        let sig = self.sign_with(scheme, msg)?;
        crate::cert::verify_signature(&self.spki, &scheme.algorithm_der(), msg, &sig).map_err(
            |_| {
                CaError::Key(format!(
                    "PKCS#11 token {:?}, key id {}: its signature does not verify with its public key",
                    self.token.label,
                    hex::encode(&self.id)
                ))
            },
        )
    }

    fn sign_raw(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>, CaError> {
        let session = self.token.take()?;
        match session.sign(mechanism, self.key, data) {
            Ok(sig) => {
                self.token.put_back(session);
                Ok(sig)
            }
            // A failed session is closed, not pooled: the next signature
            // opens (and logs in) a fresh one.
            Err(e) => Err(sign_err(e)),
        }
    }
}

fn pss(hash: MechanismType, mgf: PkcsMgfType, salt: u64) -> PkcsPssParams {
    PkcsPssParams {
        hash_alg: hash,
        mgf,
        s_len: salt.into(),
    }
}

impl Signer for Pkcs11Signer {
    fn key_algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn signature_algorithm_der(&self) -> Vec<u8> {
        SignatureScheme::default_for(self.alg).algorithm_der()
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
        use aws_lc_rs::digest;
        match scheme {
            SignatureScheme::EcdsaP256Sha256 | SignatureScheme::EcdsaP384Sha384 => {
                // CKM_ECDSA signs a digest and returns r || s.
                let d = if scheme == SignatureScheme::EcdsaP256Sha256 {
                    digest::digest(&digest::SHA256, message)
                } else {
                    digest::digest(&digest::SHA384, message)
                };
                let rs = self.sign_raw(&Mechanism::Ecdsa, d.as_ref())?;
                if rs.is_empty() || rs.len() % 2 != 0 {
                    return Err(CaError::Signing(
                        "the PKCS#11 token returned a malformed ECDSA signature".into(),
                    ));
                }
                let (r, s) = rs.split_at(rs.len() / 2);
                Ok(derw::seq(&[&derw::uint(r), &derw::uint(s)]))
            }
            SignatureScheme::RsaPkcs1Sha256 => self.sign_raw(&Mechanism::Sha256RsaPkcs, message),
            SignatureScheme::RsaPkcs1Sha384 => self.sign_raw(&Mechanism::Sha384RsaPkcs, message),
            SignatureScheme::RsaPkcs1Sha512 => self.sign_raw(&Mechanism::Sha512RsaPkcs, message),
            SignatureScheme::RsaPssSha256 => self.sign_raw(
                &Mechanism::Sha256RsaPkcsPss(pss(
                    MechanismType::SHA256,
                    PkcsMgfType::MGF1_SHA256,
                    32,
                )),
                message,
            ),
            SignatureScheme::RsaPssSha384 => self.sign_raw(
                &Mechanism::Sha384RsaPkcsPss(pss(
                    MechanismType::SHA384,
                    PkcsMgfType::MGF1_SHA384,
                    48,
                )),
                message,
            ),
            SignatureScheme::RsaPssSha512 => self.sign_raw(
                &Mechanism::Sha512RsaPkcsPss(pss(
                    MechanismType::SHA512,
                    PkcsMgfType::MGF1_SHA512,
                    64,
                )),
                message,
            ),
        }
    }

    fn may_block(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SoftHsmToken;

    #[test]
    fn keys_generated_in_the_token_sign_every_scheme_their_public_key_verifies() {
        let hsm = SoftHsmToken::new();
        let token = hsm.open().unwrap();
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Rsa2048,
        ] {
            let made = token.generate(alg, &format!("test {alg}")).unwrap();
            // Found again by its id (what certwell stores), on a new token
            // handle, with the same public key.
            let again = hsm.open().unwrap().find(alg, made.id()).unwrap();
            assert_eq!(again.spki_der(), made.spki_der());
            assert_eq!(again.key_algorithm(), alg);
            // The SPKI is one aws-lc-rs and the certificate code accept.
            crate::csr::spki_sha256_hex(&again.spki_der());
            for scheme in SignatureScheme::ALL {
                let msg = format!("message for {scheme}");
                let sig = again.sign_with(scheme, msg.as_bytes());
                if !scheme.is_valid_for(alg) {
                    assert!(matches!(sig, Err(CaError::Signing(_))), "{alg} {scheme}");
                    continue;
                }
                let sig = sig.unwrap();
                crate::cert::verify_signature(
                    &again.spki_der(),
                    &scheme.algorithm_der(),
                    msg.as_bytes(),
                    &sig,
                )
                .unwrap_or_else(|e| panic!("{alg} {scheme}: {e}"));
                // ... and not for another message.
                assert!(crate::cert::verify_signature(
                    &again.spki_der(),
                    &scheme.algorithm_der(),
                    b"another message",
                    &sig,
                )
                .is_err());
            }
        }
    }

    #[test]
    fn the_private_key_never_leaves_the_token() {
        let hsm = SoftHsmToken::new();
        let token = hsm.open().unwrap();
        let signer = token.generate(KeyAlgorithm::EcdsaP256, "ca").unwrap();
        let session = token.take().unwrap();
        let attrs = session
            .get_attributes(
                signer.key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Token,
                ],
            )
            .unwrap();
        assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
        assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
        assert!(attrs.contains(&Attribute::Token(true)), "{attrs:?}");
        // The value itself cannot be read.
        let value = session.get_attributes(signer.key, &[AttributeType::Value]);
        assert!(
            !matches!(&value, Ok(v) if v.iter().any(|a| matches!(a, Attribute::Value(_)))),
            "{value:?}"
        );
    }

    #[test]
    fn a_wrong_token_module_or_key_is_one_clear_error() {
        let hsm = SoftHsmToken::new();
        let token = hsm.open().unwrap();
        let signer = token.generate(KeyAlgorithm::EcdsaP256, "ca").unwrap();

        // (A wrong PIN is refused at log-in; once the process is logged
        // in, PKCS#11 keeps it so: the binary's start-up test covers it.)
        let e = Pkcs11Token::open(
            &hsm.module,
            &TokenSelector::Label("no-such-token".into()),
            &hsm.pin,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no initialised token labelled \"no-such-token\""),
            "{e}"
        );

        let e = Pkcs11Token::open(
            std::path::Path::new("/nonexistent/libpkcs11.so"),
            &TokenSelector::Label(hsm.label.clone()),
            &hsm.pin,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("could not be loaded"), "{e}");

        // The key exists but is not what the CA record says.
        let e = token
            .find(KeyAlgorithm::Rsa2048, signer.id())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not of type rsa-2048"), "{e}");
        let e = token
            .find(KeyAlgorithm::EcdsaP384, signer.id())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not on the curve"), "{e}");
        let e = token
            .find(KeyAlgorithm::EcdsaP256, &[0xAA; 16])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such"), "{e}");
    }
}
