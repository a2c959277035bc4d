//! Wire types of the CertCentral Services API v2 as certwell speaks it.
//!
//! Only serde types live here: no validation, no defaults beyond what the
//! wire format itself implies. Request types use `Option` for every field so
//! that the policy layer, not serde, decides what is required and can name the
//! missing field in its error message.

pub mod account;
pub mod error;
pub mod lenient;
pub mod order;
pub mod organization;
pub mod product;
pub mod request;

pub use error::{ErrorBody, ErrorItem};
