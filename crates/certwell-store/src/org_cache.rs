//! Organizations with their domains, as order creation reads them on every
//! order, kept in memory for as long as nothing they are built from has
//! changed (see [`CachedStore`](crate::CachedStore)).
//!
//! Changes are seen through the backend's change feed
//! ([`Aggregate::Organizations`]): its epoch moves once when a change may
//! become visible and once more after its commit. A reader keeps what it
//! read only if the epoch did not move while it read, under the epoch it
//! saw first, so an entry read before a commit became visible is dropped by
//! the second move. Writes the backend is not told about (another process
//! on the same SQLite file, such as the `certwell` CLI) are seen once
//! entries expire, after [`TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::changes::{Aggregate, ChangeFeed};
use crate::records::{Domain, Organization};

/// How long an entry may be served without a change seen by the feed.
pub const TTL: Duration = Duration::from_secs(1);

/// More entries than this and the cache starts over.
pub const MAX_ENTRIES: usize = 10_000;

type Entry = (u64, Instant, Arc<(Organization, Vec<Domain>)>);

#[derive(Debug)]
pub struct OrgCache {
    feed: ChangeFeed,
    entries: Mutex<HashMap<(i64, i64), Entry>>,
}

/// What a reader holds between looking up and storing.
pub struct Ticket {
    key: (i64, i64),
    epoch: u64,
}

impl OrgCache {
    pub fn new(feed: ChangeFeed) -> OrgCache {
        OrgCache {
            feed,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn epoch(&self) -> u64 {
        self.feed.epoch(Aggregate::Organizations)
    }

    /// The cached value of (account, organization), or a ticket to store
    /// what the caller reads now.
    pub fn get(&self, account_id: i64, id: i64) -> Result<(Organization, Vec<Domain>), Ticket> {
        let key = (account_id, id);
        let epoch = self.epoch();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&key) {
            Some((e, at, v)) if *e == epoch && at.elapsed() < TTL => Ok((v.0.clone(), v.1.clone())),
            _ => Err(Ticket { key, epoch }),
        }
    }

    /// Keeps `value`, read after `ticket` was taken, unless what it is
    /// built from changed meanwhile.
    pub fn put(&self, ticket: Ticket, value: &(Organization, Vec<Domain>)) {
        if self.epoch() != ticket.epoch {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str) -> (Organization, Vec<Domain>) {
        let org = Organization {
            id: 2,
            account_id: 1,
            container_id: 1,
            name: name.into(),
            assumed_name: None,
            is_active: true,
            data: serde_json::json!({}),
            validations: Vec::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        (org, Vec::new())
    }

    fn cached(cache: &OrgCache) -> Option<String> {
        cache.get(1, 2).ok().map(|v| v.0.name)
    }

    /// A reader keeps what it read only if the epoch did not move while it
    /// read; a kept entry is dropped by the next move.
    #[test]
    fn a_read_overtaken_by_a_change_is_not_kept() {
        let feed = ChangeFeed::new();
        let cache = OrgCache::new(feed.clone());

        let ticket = cache.get(1, 2).unwrap_err();
        cache.put(ticket, &value("read"));
        assert_eq!(cached(&cache).as_deref(), Some("read"));
        feed.changing(Aggregate::Organizations);
        assert_eq!(cached(&cache), None, "dropped by a change");

        // A change starts while a reader reads the old value.
        let ticket = cache.get(1, 2).unwrap_err();
        feed.changing(Aggregate::Organizations);
        cache.put(ticket, &value("old"));
        assert_eq!(cached(&cache), None, "overtaken: not kept");

        // A reader starts after the change showed, before its commit: what
        // it keeps is dropped when the commit settles.
        let ticket = cache.get(1, 2).unwrap_err();
        cache.put(ticket, &value("before commit"));
        assert_eq!(cached(&cache).as_deref(), Some("before commit"));
        feed.settle();
        assert_eq!(cached(&cache), None, "dropped after the commit");

        // Other aggregates do not touch it.
        let ticket = cache.get(1, 2).unwrap_err();
        cache.put(ticket, &value("new"));
        feed.changing(Aggregate::Keys);
        feed.settle();
        assert_eq!(cached(&cache).as_deref(), Some("new"));
    }
}
