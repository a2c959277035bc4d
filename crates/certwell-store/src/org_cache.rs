//! Organizations with their domains, as order creation reads them on every
//! order, kept in memory for as long as nothing they are built from has
//! changed.
//!
//! Changes are seen through SQLite's update hook on the write connection:
//! any row change in `organizations`, `org_validations` or `domains` moves
//! the epoch once when it happens (before its commit) and once more after
//! the commit (when the writer finishes a batch or the pool takes the
//! connection back). A reader keeps what it read only if the epoch did not
//! move while it read, under the epoch it saw first, so an entry read
//! before a commit became visible is dropped by the second move. Writes by
//! another process on the same file (the `certwell` CLI) are not seen by
//! the hook; entries expire after [`TTL`] for them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::records::{Domain, Organization};

/// How long an entry may be served without a change seen by the hook.
pub const TTL: Duration = Duration::from_secs(1);

const MAX_ENTRIES: usize = 10_000;

/// The tables an entry is built from.
const WATCHED: &[&str] = &["organizations", "org_validations", "domains"];

/// Change tracking shared with the write connection's hooks.
#[derive(Debug, Default)]
pub struct ChangeWatch {
    epoch: AtomicU64,
    touched: AtomicBool,
}

impl ChangeWatch {
    /// The update hook: a row of `table` is changing.
    pub fn row_changed(&self, table: &str) {
        if WATCHED.contains(&table) {
            self.touched.store(true, Ordering::SeqCst);
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// After a commit (or rollback): moves the epoch again if watched rows
    /// changed since the last call.
    pub fn settle(&self) {
        if self.touched.swap(false, Ordering::SeqCst) {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}

type Entry = (u64, Instant, Arc<(Organization, Vec<Domain>)>);

#[derive(Debug, Default)]
pub struct OrgCache {
    pub watch: Arc<ChangeWatch>,
    entries: Mutex<HashMap<(i64, i64), Entry>>,
}

/// What a reader holds between looking up and storing.
pub struct Ticket {
    key: (i64, i64),
    epoch: u64,
}

impl OrgCache {
    /// The cached value of (account, organization), or a ticket to store
    /// what the caller reads now.
    pub fn get(&self, account_id: i64, id: i64) -> Result<(Organization, Vec<Domain>), Ticket> {
        let key = (account_id, id);
        let epoch = self.watch.epoch();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&key) {
            Some((e, at, v)) if *e == epoch && at.elapsed() < TTL => Ok((v.0.clone(), v.1.clone())),
            _ => Err(Ticket { key, epoch }),
        }
    }

    /// Keeps `value`, read after `ticket` was taken, unless watched rows
    /// changed meanwhile.
    pub fn put(&self, ticket: Ticket, value: &(Organization, Vec<Domain>)) {
        if self.watch.epoch() != ticket.epoch {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            ticket.key,
            (ticket.epoch, Instant::now(), Arc::new(value.clone())),
        );
    }
}
