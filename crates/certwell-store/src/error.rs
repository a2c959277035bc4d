//! What the store reports when it refuses or fails a call.
//!
//! Business rules (a blocked key, insufficient funds, a duplicate
//! alternative order id, a state conflict) are found by explicit checks in
//! the write's own transaction and reported as their own variants; nothing
//! is recognised by the text of a database message. The schema keeps
//! triggers and unique indexes as backstops: one that fires anyway is a
//! plain [`StoreError::Database`] (or, for a unique index,
//! [`Conflict::Duplicate`]).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be reached or cannot take the write now (down,
    /// restarting, out of connections or disk): the same call may succeed
    /// later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The key was revoked for key compromise and may not be certified.
    #[error("the key is blocked (revoked for key compromise)")]
    BlockedKey,
    /// A balance debit the account's funds and negative-balance limit do
    /// not cover.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// Another order of the account has this alternative_order_id.
    #[error("duplicate alternative_order_id")]
    DuplicateAlternativeOrderId,
    /// The backend does not do this; the message says what to use instead.
    #[error("{0}")]
    Unsupported(String),
}

/// A write the current state of the data does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// An order with a pre-signed certificate must use an existing
    /// organization and add no domains.
    PreSignedNeedsExistingOrganization,
    /// An order adds domains but has no organization to hold them.
    DomainWithoutOrganization,
    /// Only an issued order can be reissued or duplicated; this one is in
    /// `status`.
    OrderNotIssued { status: String },
    /// The order's certificate already has a CSR (or no longer waits for
    /// one).
    CsrAlreadyAttached,
    /// The certificate is not pending (someone else is issuing it, or its
    /// order is not in a state to issue it).
    CertificateNotPending { certificate_id: i64 },
    /// The certificate is not being issued, so no result can be recorded.
    CertificateNotIssuing { certificate_id: i64 },
    /// The request to approve is no longer open.
    RequestNotOpen { request_id: i64 },
    /// The organization already has a domain of this name.
    DomainExists { name: String },
    /// The serial number was used before by this CA.
    SerialInUse,
    /// A row with the same unique key already exists.
    Duplicate,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::PreSignedNeedsExistingOrganization => f.write_str(
                "a pre-signed certificate needs an existing organization and no new domains",
            ),
            Conflict::DomainWithoutOrganization => {
                f.write_str("a domain needs the order's organization")
            }
            Conflict::OrderNotIssued { status } => write!(
                f,
                "the order is {status}; only an issued order can be reissued or duplicated"
            ),
            Conflict::CsrAlreadyAttached => f.write_str("the order already has a CSR"),
            Conflict::CertificateNotPending { certificate_id } => {
                write!(f, "certificate {certificate_id} is not pending")
            }
            Conflict::CertificateNotIssuing { certificate_id } => {
                write!(f, "certificate {certificate_id} is not being issued")
            }
            Conflict::RequestNotOpen { request_id } => {
                write!(f, "request {request_id} is not open")
            }
            Conflict::DomainExists { name } => write!(f, "domain {name} already exists"),
            Conflict::SerialInUse => f.write_str("the serial number was already used"),
            Conflict::Duplicate => f.write_str("the object already exists"),
        }
    }
}

impl From<Conflict> for StoreError {
    fn from(c: Conflict) -> Self {
        StoreError::Conflict(c)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(Conflict::Duplicate)
            }
            _ if unavailable(&e) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// A failure of the database's reachability or resources rather than of
/// the statement: no connection (I/O, TLS, pool timed out or closed),
/// PostgreSQL's connection exceptions (08), shutdown in progress (57P)
/// and insufficient resources (53: disk full, out of memory, too many
/// connections), SQLite's busy, locked, I/O, full and cannot-open.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let code = pg.code();
                ["08", "57P", "53"].iter().any(|c| code.starts_with(c))
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Primary result codes: BUSY 5, LOCKED 6, IOERR 10, FULL 13, CANTOPEN 14.
                db.code()
                    .and_then(|c| c.parse::<u32>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14))
            } else {
                false
            }
        }
        _ => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
