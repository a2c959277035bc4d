//! The store's contract, as tests any backend must pass. Each test is a
//! `pub async fn` over a [`TestDatabase`]; a backend's test file runs the
//! whole suite with `conformance_tests!(factory)`, where `factory` is an
//! async fn returning a fresh, empty database of that backend (see
//! `tests/sqlite.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certwell_store::*;
use serde_json::json;
use time::macros::datetime;

mod accounts;
mod orders;
mod shared_state;
// (Test files that only borrow the helpers leave these unused.)
#[allow(unused_imports)]
pub use accounts::*;
#[allow(unused_imports)]
pub use orders::*;
#[allow(unused_imports)]
pub use shared_state::*;

/// One empty database of a backend, kept for the length of a test.
pub trait TestDatabase {
    /// Opens the database: a new store each call, over the same data (a
    /// second call after [`Store::close`] sees what the first one wrote).
    fn open(&self) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + '_>>;
}

/// Expands to one `#[tokio::test]` per conformance test, each on a fresh
/// database from `$new_db` (an async fn returning a [`TestDatabase`]).
macro_rules! conformance_tests {
    ($new_db:expr) => {
        conformance_tests!(@test $new_db, #[tokio::test], one_trip_order_returns_the_ids_it_wrote);
        conformance_tests!(@test $new_db, #[tokio::test], claims_serials_and_issuance_records);
        conformance_tests!(@test $new_db, #[tokio::test], accounts_are_isolated_and_data_survives_reopening);
        conformance_tests!(@test $new_db, #[tokio::test], waiting_orders_are_listed_in_pages_after_a_cursor);
        conformance_tests!(@test $new_db, #[tokio::test], expired_filter_matches_issued_orders_past_not_after);
        conformance_tests!(@test $new_db, #[tokio::test], the_database_refuses_certificates_for_compromised_keys);
        conformance_tests!(@test $new_db, #[tokio::test], mailbox_orders_have_no_organization_and_per_address_state);
        conformance_tests!(@test $new_db, #[tokio::test], balance_debits_and_unique_alternative_order_ids);
        conformance_tests!(@test $new_db, #[tokio::test], renewal_links_and_container_scoped_lists);
        conformance_tests!(@test $new_db, #[tokio::test], pre_reserved_serials_store_order_and_certificate_in_one_transaction);
        conformance_tests!(@test $new_db, #[tokio::test], the_change_feed_moves_on_every_write_of_an_aggregate);
        conformance_tests!(@test $new_db, #[tokio::test], timestamps_read_back_in_utc_whole_seconds);
        conformance_tests!(@test $new_db, #[tokio::test], leases_are_held_once_and_taken_over_when_expired);
        conformance_tests!(@test $new_db, #[tokio::test], outbox_mail_is_sent_once_retried_and_given_up);
        conformance_tests!(@test $new_db, #[tokio::test], revocations_are_counted_for_the_stored_crl_and_followed);
        conformance_tests!(@test $new_db, #[tokio::test], users_and_keys_have_a_lifecycle);
        conformance_tests!(
            @test $new_db,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
            concurrent_orders_are_group_committed_and_one_bad_job_fails_alone
        );
    };
    (@test $new_db:expr, #[$attr:meta], $name:ident) => {
        #[$attr]
        async fn $name() {
            let db = $new_db().await;
            conformance::$name(&db).await;
        }
    };
}

pub fn admin() -> NewUser {
    NewUser {
        container_id: None,
        role: "admin".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@example.com".into(),
        job_title: String::new(),
        telephone: String::new(),
        is_api_only: false,
    }
}

pub async fn setup(s: &dyn Store) -> (Account, User, Organization) {
    let (a, u) = s
        .create_account("T", &AccountSettings::default(), &admin())
        .await
        .unwrap();
    s.insert_ca(&CaRecord {
        id: "CA1".into(),
        name: "ca".into(),
        parent_id: None,
        purpose: Some("tls_ov".into()),
        key_algorithm: "ecdsa-p256".into(),
        key_file: "k".into(),
        cert_der: vec![1, 2, 3],
        is_default: true,
        created_at: datetime!(2026-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    let org = s
        .create_organization(
            a.id,
            &NewOrganizationRow {
                container_id: a.root_container_id,
                name: "Org".into(),
                assumed_name: None,
                data: json!({"address": "1 Main", "city": "X", "state": "Y", "zip": "1", "country": "us"}),
                validations: vec![(ValidationType::Ov, ValidationStatus::Active, Some(datetime!(2099-01-01 0:00 UTC)))],
            },
        )
        .await
        .unwrap();
    (a, u, org)
}

pub fn order(
    a: &Account,
    u: &User,
    org: Option<i64>,
    request: Option<&str>,
    serial: Option<&str>,
) -> NewOrder {
    NewOrder {
        payment: OrderPayment::default(),
        account_id: a.id,
        container_id: a.root_container_id,
        user_id: u.id,
        product_name_id: "ssl_plus".into(),
        status: if request.is_some() {
            OrderStatus::NeedsApproval
        } else {
            OrderStatus::Pending
        },
        organization: match org {
            Some(id) => OrgForOrder::Existing(id),
            None => OrgForOrder::New(NewOrganizationRow {
                container_id: a.root_container_id,
                name: "New".into(),
                assumed_name: None,
                data: json!({}),
                validations: vec![],
            }),
        },
        common_name: "example.com".into(),
        names: vec!["example.com".into(), "www.example.com".into()],
        data: json!({"k": 1}),
        new_domains: vec![],
        request: request.map(|s| {
            (
                RequestStatus::from_name(s).expect("a request status"),
                Some("please".into()),
            )
        }),
        certificate: NewCertificateRow {
            csr: "csr".into(),
            spki_sha256: "00".into(),
            key_size: 256,
            common_name: "example.com".into(),
            dns_names: vec!["example.com".into()],
            signature_hash: "sha256".into(),
        },
        reserve_serial: serial.map(|s| SerialReservation {
            ca_id: "CA1".to_string(),
            serial_hex: s.to_string(),
        }),
        emails: vec![],
        renewal_of_order_id: None,
        issued: None,
        created_at: datetime!(2026-11-23 0:00 UTC),
    }
}

/// Polls all futures at once on this task (they share the store's writer).
pub async fn futures_like_join<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

pub fn domain_row(org: &Organization, name: &str) -> NewDomainRow {
    NewDomainRow {
        container_id: org.container_id,
        organization_id: org.id,
        name: name.into(),
        dcv_method: DcvMethod::DnsTxtToken,
        dcv_token: None,
        dcv_token_expires: None,
        validation_types: vec![ValidationType::Ov],
        validated_at: None,
        validated_until: Some(datetime!(2099-01-01 0:00 UTC)),
    }
}
