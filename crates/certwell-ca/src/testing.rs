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

/// A ledger that keeps serials in memory: for this crate's tests and
/// benchmarks only (behind the `testing` feature), where no durable store
/// exists. It still refuses a serial recorded twice, and records a batch
/// all or nothing (as a store transaction would): a batch holding one
/// serial already recorded, or one serial twice, records none of them.
#[cfg(any(test, feature = "testing"))]
#[derive(Default)]
pub struct MemoryLedger {
    recorded: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

#[cfg(any(test, feature = "testing"))]
impl crate::SerialLedger for &MemoryLedger {
    type Receipt = ();
    type Error = String;
    async fn record(self, issuer_id: &str, serials_hex: Vec<String>) -> Result<(), String> {
        let mut set = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let batch: Vec<(String, String)> = serials_hex
            .into_iter()
            .map(|s| (issuer_id.to_string(), s))
            .collect();
        // Check the whole batch before inserting any of it.
        let mut seen = std::collections::HashSet::with_capacity(batch.len());
        for key in &batch {
            if set.contains(key) || !seen.insert(key) {
                return Err(format!("serial {} recorded twice", key.1));
            }
        }
        set.extend(batch);
        Ok(())
    }
}

/// A fresh serial recorded in a throw-away [`MemoryLedger`] (tests only).
#[cfg(any(test, feature = "testing"))]
pub fn recorded_serial() -> crate::RecordedSerial {
    let ledger = MemoryLedger::default();
    let fut = crate::RecordedSerial::reserve_one(&ledger, "test");
    match poll_ready(fut) {
        Ok((serial, ())) => serial,
        Err(e) => panic!("memory ledger: {e}"),
    }
}

/// Drives a future that never waits (the memory ledger's) to completion.
#[cfg(any(test, feature = "testing"))]
fn poll_ready<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory ledger never waits"),
    }
}

/// The SoftHSM2 token of this test process, made on first use in a
/// token directory of its own, with a random PIN. SoftHSM2 reads its
/// configuration (`SOFTHSM2_CONF`) and its tokens once per process, so
/// the tests of one process share this token and tell their keys apart
/// by id (as CAs sharing one HSM do). `SOFTHSM2_CONF` is set for child
/// processes too: a `certwell` binary started by a test finds the token.
///
/// Panics with the one-line remedy when SoftHSM2 is not installed.
#[derive(Debug, Clone)]
pub struct SoftHsmToken {
    /// The PKCS#11 module (`libsofthsm2.so`).
    pub module: std::path::PathBuf,
    pub label: String,
    pub pin: String,
}

/// The SoftHSM2 module: `CERTWELL_PKCS11_MODULE`, or where Debian installs it.
pub fn softhsm_module() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("CERTWELL_PKCS11_MODULE") {
        return Some(p.into());
    }
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

impl SoftHsmToken {
    pub fn new() -> SoftHsmToken {
        static TOKEN: std::sync::OnceLock<SoftHsmToken> = std::sync::OnceLock::new();
        TOKEN.get_or_init(Self::create).clone()
    }

    fn create() -> SoftHsmToken {
        let module = softhsm_module()
            .expect("SoftHSM2 is needed for the HSM tests: apt-get install softhsm2");
        let dir = std::env::temp_dir().join(format!(
            "certwell-softhsm-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).expect("creating the SoftHSM2 token directory");
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("writing softhsm2.conf");
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let label = "certwell-test".to_string();
        let pin = format!("{:08}", rand::random::<u32>() % 100_000_000);
        let out = std::process::Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", &label])
            .args(["--pin", &pin, "--so-pin", "87654321"])
            .output()
            .expect("SoftHSM2 is needed for the HSM tests: apt-get install softhsm2");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SoftHsmToken { module, label, pin }
    }

    /// Opens the token (logged in).
    pub fn open(&self) -> Result<std::sync::Arc<crate::Pkcs11Token>, crate::CaError> {
        crate::Pkcs11Token::open(
            &self.module,
            &crate::TokenSelector::Label(self.label.clone()),
            &self.pin,
        )
    }
}

impl Default for SoftHsmToken {
    fn default() -> Self {
        Self::new()
    }
}
