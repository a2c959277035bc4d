//! The store as certwell-ca's [`SerialLedger`]: the only ledgers a running
//! certwell records serials in. Each returns only after the store has
//! committed (and synced) the serials, so a [`certwell_ca::RecordedSerial`]
//! in hand means the serial is on disk.

use certwell_ca::SerialLedger;
use certwell_store::{CreatedOrder, NewOrder, SerialReservation, Store, StoreError};

/// Records serials on their own (a block for the pool, or a CA
/// certificate's serial before the CA is stored).
pub struct Serials<'a>(pub &'a dyn Store);

impl SerialLedger for Serials<'_> {
    type Receipt = ();
    type Error = StoreError;
    async fn record(self, issuer_id: &str, serials_hex: Vec<String>) -> Result<(), StoreError> {
        self.0.reserve_serials(issuer_id, &serials_hex).await
    }
}

/// Records one serial and claims certificate row `.1` (pending → issuing)
/// in one transaction; `Conflict` when someone else claimed it first.
pub struct ClaimingCertificate<'a>(pub &'a dyn Store, pub i64);

impl SerialLedger for ClaimingCertificate<'_> {
    type Receipt = ();
    type Error = StoreError;
    async fn record(self, issuer_id: &str, serials_hex: Vec<String>) -> Result<(), StoreError> {
        let [serial] = serials_hex.as_slice() else {
            return Err(StoreError::Database("one serial per claim".into()));
        };
        self.0
            .claim_and_reserve_serial(issuer_id, serial, self.1)
            .await
    }
}

/// Records one serial with a new order whose certificate it will sign, in
/// the order's own transaction; the receipt is the created order.
pub struct WithOrder<'a>(pub &'a dyn Store, pub NewOrder);

impl SerialLedger for WithOrder<'_> {
    type Receipt = CreatedOrder;
    type Error = StoreError;
    async fn record(
        self,
        issuer_id: &str,
        serials_hex: Vec<String>,
    ) -> Result<CreatedOrder, StoreError> {
        let [serial] = serials_hex.as_slice() else {
            return Err(StoreError::Database("one serial per order".into()));
        };
        let mut order = self.1;
        order.reserve_serial = Some(SerialReservation {
            ca_id: issuer_id.to_string(),
            serial_hex: serial.clone(),
        });
        self.0.create_order(&order).await
    }
}
