//! Test and benchmark helpers (public so other crates' tests can use them).

use crate::derw;
use crate::signer::{KeyAlgorithm, Signer, SoftwareSigner};
use crate::util::der_to_pem;

/// Build a PKCS#10 request (DER) for `signer` with subject `CN=cn` (omitted
/// when `cn` is empty) and no attributes.
pub fn csr_der_for_signer(signer: &dyn Signer, cn: &str) -> Vec<u8> {
    let subject = if cn.is_empty() {
        derw::seq(&[])
    } else {
        let atv = derw::seq(&[
            &derw::oid(crate::cert::OID_CN),
            &derw::tlv(derw::TAG_UTF8_STRING, cn.as_bytes()),
        ]);
        derw::seq(&[&derw::set(&[&atv])])
    };
    let info = derw::seq(&[
        &derw::uint_u64(0),
        &subject,
        &signer.spki_der(),
        &derw::tlv(derw::ctx_cons(0), &[]),
    ]);
    let alg = signer.signature_algorithm_der();
    let sig = signer
        .sign(&info)
        .expect("signing a test CSR with a software key cannot fail");
    derw::seq(&[&info, &alg, &derw::bit_string(&sig)])
}

/// Generate a fresh key of `alg` and a CSR with subject CN=`cn`, signed by that
/// key. Returns (CSR PEM, PKCS#8 DER of the key).
///
/// Panics only if the crypto library cannot generate a key.
pub fn make_csr(alg: KeyAlgorithm, cn: &str) -> (String, Vec<u8>) {
    let (signer, pkcs8) = SoftwareSigner::generate(alg).expect("software key generation failed");
    let der = csr_der_for_signer(&signer, cn);
    (der_to_pem("CERTIFICATE REQUEST", &der), pkcs8)
}
