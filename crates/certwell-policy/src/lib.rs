//! certwell's ordering rules as pure functions over the wire types.
//!
//! Nothing here touches the network, the database or a key: given a request
//! and the facts the caller looked up, these functions say what is required,
//! allowed and defaulted, and what the resulting certificate must contain.

pub mod account;
pub mod approval;
pub mod catalog;
pub mod common;
pub mod country;
pub mod dcv;
pub mod dns;
pub mod docsign;
pub mod error;
pub mod issuance;
pub mod order_status;
pub mod organization;
pub mod payment;
pub mod reissue;
pub mod revocation;
pub mod smime;
#[cfg(test)]
mod testutil;
pub mod tls;
pub mod validity;

pub use catalog::{CaPurpose, Product, ValidationLevel, WildcardRule};
pub use error::PolicyError;
