//! The service layer: what certwell does, apart from how it is asked.
//!
//! The HTTP handlers extract a request, call one function here and turn
//! the result into a response; the CLI calls the same functions. Nothing
//! here depends on the HTTP layer. Background jobs live beside the service
//! they serve: the issuance sweeper in [`issuance`], the DCV poller in
//! [`validation`], the CRL/OCSP publisher in [`status`].

pub mod access;
pub mod billing;
pub mod ceremony;
pub mod dcv;
pub mod desk;
pub mod domains;
pub mod health;
pub mod hierarchy;
pub mod intake;
pub mod issuance;
pub mod ledger;
pub mod lifecycle;
pub mod order_data;
pub mod orders;
pub mod organizations;
pub mod outbox;
pub mod profile;
pub mod reissue;
pub mod requests;
pub mod smime;
pub mod status;
pub mod users;
pub mod validation;
