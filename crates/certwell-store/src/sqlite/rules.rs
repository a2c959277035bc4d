//! The business rules a write is checked against inside its own write
//! transaction, before it writes anything. The writer is serialized (one
//! `BEGIN IMMEDIATE` transaction at a time), so checking and then writing in
//! the same transaction is race-free.
//!
//! The checks of one write form a single SQL `CASE` expression whose value
//! names the first rule broken (0: none). A transaction evaluates it with
//! [`Verdict::check`]. A group-commit job (one round trip, no chance to look
//! at the result before the next statement) guards its first statement with
//! the verdict ([`Verdict::passed`]) and every later one with
//! [`PREVIOUS_WROTE`]: each statement of such a job writes at least one row
//! when the checks passed, so a refused job writes nothing at all. Its
//! reply row names the verdict with [`Verdict::outcome`], evaluated after
//! the job's statements: a refused job wrote nothing, so the rules see what
//! its first statement saw.

use sqlx::{Row, SqliteConnection};

use crate::batch::{bind_all, Bind};
use crate::{Conflict, Result, StoreError};

/// SQL condition for every statement of a group-commit job after its
/// first: the statement before it wrote (`changes()` counts the rows the
/// last completed INSERT, UPDATE or DELETE wrote itself, not its triggers).
pub(super) const PREVIOUS_WROTE: &str = "changes() > 0";

const BLOCKED_KEY: i64 = 1;
const DUPLICATE_ALTERNATIVE_ORDER_ID: i64 = 2;
const INSUFFICIENT_FUNDS: i64 = 3;
const SERIAL_IN_USE: i64 = 4;
const SERIAL_NOT_RESERVED: i64 = 5;

/// The checks of one write, in the order they are reported.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    cases: Vec<String>,
    binds: Vec<Bind>,
}

impl Verdict {
    fn rule(&mut self, condition: &str, code: i64, binds: impl IntoIterator<Item = Bind>) {
        self.cases.push(format!("WHEN {condition} THEN {code}"));
        self.binds.extend(binds);
    }

    /// Another order of the account has this unique alternative order id.
    pub(super) fn duplicate_alternative_order_id(&mut self, account_id: i64, alt_id: &str) {
        self.rule(
            "EXISTS (SELECT 1 FROM orders WHERE account_id = ? AND alt_id_unique = ?)",
            DUPLICATE_ALTERNATIVE_ORDER_ID,
            [Bind::I64(account_id), Bind::Text(alt_id.to_string())],
        );
    }

    /// Debiting `amount_cents` would take the balance below the account's
    /// negative-balance limit (a credit, `amount_cents <= 0`, never does).
    pub(super) fn debit(&mut self, account_id: i64, amount_cents: i64) {
        self.rule(
            "? > 0 AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = ? AND a.unlimited_negative = 0 \
             AND a.balance_cents - ? < -a.negative_limit_cents)",
            INSUFFICIENT_FUNDS,
            [
                Bind::I64(amount_cents),
                Bind::I64(account_id),
                Bind::I64(amount_cents),
            ],
        );
    }

    /// The key was revoked for key compromise.
    pub(super) fn blocked_key(&mut self, spki_sha256: &str) {
        self.rule(
            "EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = ?)",
            BLOCKED_KEY,
            [Bind::Text(spki_sha256.to_string())],
        );
    }

    /// The CA used the serial before.
    pub(super) fn serial_in_use(&mut self, ca_id: &str, serial_hex: &str) {
        self.rule(
            "EXISTS (SELECT 1 FROM serials WHERE ca_id = ? AND serial = ?)",
            SERIAL_IN_USE,
            [
                Bind::Text(ca_id.to_string()),
                Bind::Text(serial_hex.to_string()),
            ],
        );
    }

    /// The serial was not recorded before signing, or is another
    /// certificate's already.
    pub(super) fn serial_not_reserved(&mut self, ca_id: &str, serial_hex: &str) {
        self.rule(
            "NOT EXISTS (SELECT 1 FROM serials WHERE ca_id = ? AND serial = ? \
             AND certificate_id IS NULL)",
            SERIAL_NOT_RESERVED,
            [
                Bind::Text(ca_id.to_string()),
                Bind::Text(serial_hex.to_string()),
            ],
        );
    }

    /// The SQL expression (its binds: `self.binds`).
    fn expr(&self) -> String {
        if self.cases.is_empty() {
            "0".into()
        } else {
            format!("CASE {} ELSE 0 END", self.cases.join(" "))
        }
    }

    /// SQL condition guarding a group-commit job's first statement, and its
    /// binds: the checks passed.
    pub(super) fn passed(&self) -> (String, Vec<Bind>) {
        (format!("{} = 0", self.expr()), self.binds.clone())
    }

    /// SQL for the reply row of a group-commit job whose last statement is
    /// guarded by [`PREVIOUS_WROTE`], and its binds: 0 if the job wrote,
    /// else the rule that refused it (read with [`refused`]).
    pub(super) fn outcome(self) -> (String, Vec<Bind>) {
        (
            format!("CASE WHEN {PREVIOUS_WROTE} THEN 0 ELSE {} END", self.expr()),
            self.binds,
        )
    }

    /// Evaluates the checks in the caller's transaction: the first rule
    /// broken, as its error.
    pub(super) async fn check(self, conn: &mut SqliteConnection) -> Result<()> {
        if self.cases.is_empty() {
            return Ok(());
        }
        let sql = format!("SELECT {}", self.expr());
        let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &self.binds)
            .fetch_one(&mut *conn)
            .await?;
        refused(Some(row.try_get::<i64, _>(0)?))
    }
}

/// The error for a verdict code (`Some(0)`: the checks passed).
pub(super) fn refused(code: Option<i64>) -> Result<()> {
    match code {
        Some(0) => Ok(()),
        Some(BLOCKED_KEY) => Err(StoreError::BlockedKey),
        Some(DUPLICATE_ALTERNATIVE_ORDER_ID) => Err(StoreError::DuplicateAlternativeOrderId),
        Some(INSUFFICIENT_FUNDS) => Err(StoreError::InsufficientFunds),
        Some(SERIAL_IN_USE) => Err(Conflict::SerialInUse.into()),
        Some(SERIAL_NOT_RESERVED) => Err(StoreError::Corrupt(
            "a certificate was signed with a serial that was not reserved".into(),
        )),
        other => Err(StoreError::Corrupt(format!(
            "a write's checks gave no known verdict ({other:?})"
        ))),
    }
}
