//! The PostgreSQL store on a throwaway cluster (initdb into a temporary
//! directory, a loopback port; see `certwell_store::testing`): the
//! backend-neutral conformance suite (tests/conformance), then what only a
//! shared database has (two stores over one database).
//!
//! Needs PostgreSQL's server binaries (Debian: `apt-get install
//! postgresql-15`); without them these tests fail and say so.

#[macro_use]
mod conformance;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certwell_store::testing::TestPostgres;
use certwell_store::*;
use conformance::TestDatabase;

/// A fresh database in the shared test cluster.
struct PgDatabase {
    _cluster: TestPostgres,
    url: String,
}

impl PgDatabase {
    async fn new() -> PgDatabase {
        let cluster = TestPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
        let url = cluster
            .fresh_database()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        PgDatabase {
            _cluster: cluster,
            url,
        }
    }
}

impl TestDatabase for PgDatabase {
    fn open(&self) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + '_>> {
        Box::pin(async move {
            open_store(&StoreConfig::from_url(&self.url, Durability::Full).unwrap())
                .await
                .unwrap()
        })
    }
}

conformance_tests!(PgDatabase::new);
