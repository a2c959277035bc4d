//! Serial numbers that may reach a signature.
//!
//! A CA must never sign with a serial it has not durably recorded (so a
//! serial is never used twice, and every signature the CA ever made can be
//! accounted for). Here that is a type: every certificate builder takes a
//! [`RecordedSerial`] by value, and the only way to make one is
//! [`RecordedSerial::reserve`], which draws fresh random serials, hands them
//! to a [`SerialLedger`] and returns them only once the ledger has answered
//! that they are recorded. The ledger of a running certwell is its store
//! (`certwell-server`'s `issuance::ledger` module); the crate's own tests use
//! [`crate::testing::MemoryLedger`].

use std::future::Future;

/// Where serials are recorded before use. `record` must return `Ok` only
/// once the serials are durably stored (committed and synced); it may
/// record other things in the same transaction (an order, a claim on a
/// certificate row) and return them as its receipt.
pub trait SerialLedger {
    /// What recording returns besides the serials (e.g. the order created
    /// in the same transaction).
    type Receipt;
    type Error;
    /// Records `serials_hex` (upper-case hex, as certwell stores serials)
    /// as used by the CA `issuer_id`.
    fn record(
        self,
        issuer_id: &str,
        serials_hex: Vec<String>,
    ) -> impl Future<Output = Result<Self::Receipt, Self::Error>> + Send;
}

/// A certificate serial number that a [`SerialLedger`] has recorded as
/// used by one CA. Not `Clone`: a builder consumes it, so one recorded
/// serial signs at most one certificate.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordedSerial {
    issuer_id: String,
    bytes: Vec<u8>,
}

impl RecordedSerial {
    /// Draws `count` random serials for CA `issuer_id`, records them in
    /// `ledger`, and returns them only if that succeeded.
    pub async fn reserve<L: SerialLedger>(
        ledger: L,
        issuer_id: &str,
        count: usize,
    ) -> Result<(Vec<RecordedSerial>, L::Receipt), L::Error> {
        let drawn: Vec<Vec<u8>> = (0..count).map(|_| crate::cert::random_serial()).collect();
        let receipt = ledger
            .record(issuer_id, drawn.iter().map(hex::encode_upper).collect())
            .await?;
        let serials = drawn
            .into_iter()
            .map(|bytes| RecordedSerial {
                issuer_id: issuer_id.to_string(),
                bytes,
            })
            .collect();
        Ok((serials, receipt))
    }

    /// [`reserve`](Self::reserve) for a single serial.
    pub async fn reserve_one<L: SerialLedger>(
        ledger: L,
        issuer_id: &str,
    ) -> Result<(RecordedSerial, L::Receipt), L::Error> {
        let bytes = crate::cert::random_serial();
        let receipt = ledger
            .record(issuer_id, vec![hex::encode_upper(&bytes)])
            .await?;
        Ok((
            RecordedSerial {
                issuer_id: issuer_id.to_string(),
                bytes,
            },
            receipt,
        ))
    }

    /// The CA the serial was recorded for.
    pub fn issuer_id(&self) -> &str {
        &self.issuer_id
    }

    /// `Ok` only if this serial was recorded for the CA `issuer_id`: a
    /// serial recorded for one CA must never be signed under another (it
    /// would be unrecorded there, and might collide with one of that CA's
    /// own serials).
    ///
    /// The certificate builders cannot check this themselves: they know the
    /// issuing CA by its certificate and key, not by the id its ledger
    /// records serials under. So whoever hands a serial to a builder must
    /// call this first, with the id of the CA whose certificate and signer
    /// it passes:
    ///
    /// ```
    /// # fn sign(serial: certwell_ca::RecordedSerial) -> Result<(), certwell_ca::CaError> {
    /// # let ca_id = serial.issuer_id().to_string();
    /// serial.for_issuer(&ca_id)?;
    /// // … then build with the certificate and signer of `ca_id`.
    /// # Ok(()) }
    /// ```
    pub fn for_issuer(&self, issuer_id: &str) -> Result<(), crate::CaError> {
        if self.issuer_id == issuer_id {
            Ok(())
        } else {
            Err(crate::CaError::InvalidInput(format!(
                "serial {} recorded for CA {} used with CA {}",
                self.hex(),
                self.issuer_id,
                issuer_id
            )))
        }
    }

    /// Big-endian serial bytes (positive, minimal).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Upper-case hex, as stored.
    pub fn hex(&self) -> String {
        hex::encode_upper(&self.bytes)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::RecordedSerial;
    use crate::CaError;

    /// A `RecordedSerial` holding `bytes` without any ledger, for unit tests
    /// only: it lets the pre-sign check (`profile.rs`) be fed serials that
    /// `random_serial` never draws, or a twin of a serial a builder consumed.
    pub(crate) fn unrecorded(bytes: &[u8]) -> RecordedSerial {
        RecordedSerial {
            issuer_id: "unit-test".into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn for_issuer_accepts_only_the_ca_the_serial_was_recorded_for() {
        let serial = unrecorded(&[0x12, 0x34]);
        serial.for_issuer("unit-test").unwrap();
        for other in ["other-ca", "unit-test2", "Unit-Test", ""] {
            match serial.for_issuer(other) {
                Err(CaError::InvalidInput(m)) => assert_eq!(
                    m,
                    format!("serial 1234 recorded for CA unit-test used with CA {other}")
                ),
                res => panic!("{other:?}: expected InvalidInput, got {res:?}"),
            }
        }
    }
}
