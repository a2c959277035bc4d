//! The change feed a backend gives its caches: one epoch per aggregate,
//! moved whenever a change to that aggregate may have become visible and
//! moved again once it is committed (or rolled back).
//!
//! A cache reads the epoch of what it keeps before it reads the store, and
//! keeps what it read only if the epoch has not moved meanwhile (under the
//! epoch it saw first); an entry is served only while the epoch is still
//! the one it was stored under. The second move matters: a reader that
//! starts between a change and its commit reads the old value under the
//! first move's epoch, and the move after the commit drops it.
//!
//! Backends feed it from what they see: SQLite from its update hook on the
//! write connection ([`ChangeFeed::changing`] per row) and from the end of
//! each transaction ([`ChangeFeed::settle`]); a backend told of commits by
//! others (PostgreSQL's `LISTEN/NOTIFY`) calls [`ChangeFeed::committed`].
//! Only this process's view: writes the backend is not told about (another
//! process on the same SQLite file) are for the caches' own expiry.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// What a cache may be built from; each has its own epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Organizations, their validations and their domains.
    Organizations,
    /// API keys and the users they belong to.
    Keys,
    /// Accounts (settings, funds) and their containers.
    Accounts,
    /// Accounts' custom order fields.
    Metadata,
    /// Certificates revoked (by any instance). Fed only by backends shared
    /// between processes: within one process the revoking code tells the
    /// responder itself.
    Revocations,
}

impl Aggregate {
    pub const ALL: [Aggregate; 5] = [
        Aggregate::Organizations,
        Aggregate::Keys,
        Aggregate::Accounts,
        Aggregate::Metadata,
        Aggregate::Revocations,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

const N: usize = Aggregate::ALL.len();

#[derive(Debug, Default)]
struct Feed {
    epochs: [AtomicU64; N],
    /// Changed since the last settle.
    touched: [AtomicBool; N],
    /// Woken after every settled or committed change.
    settled: Notify,
}

/// A backend's change feed; clones share it. Epochs only move.
#[derive(Debug, Clone, Default)]
pub struct ChangeFeed(Arc<Feed>);

impl ChangeFeed {
    pub fn new() -> ChangeFeed {
        ChangeFeed::default()
    }

    /// The current epoch of `aggregate`.
    #[inline]
    pub fn epoch(&self, aggregate: Aggregate) -> u64 {
        self.0.epochs[aggregate.index()].load(Ordering::SeqCst)
    }

    /// A change to `aggregate` is being made (it may be visible from now
    /// on): moves its epoch, and once more at the next [`settle`].
    ///
    /// [`settle`]: ChangeFeed::settle
    #[inline]
    pub fn changing(&self, aggregate: Aggregate) {
        let i = aggregate.index();
        self.0.touched[i].store(true, Ordering::SeqCst);
        self.0.epochs[i].fetch_add(1, Ordering::SeqCst);
    }

    /// The changes made since the last call are committed (or rolled
    /// back): moves again the epoch of each aggregate they touched.
    pub fn settle(&self) {
        let mut moved = false;
        for i in 0..N {
            if self.0.touched[i].swap(false, Ordering::SeqCst) {
                self.0.epochs[i].fetch_add(1, Ordering::SeqCst);
                moved = true;
            }
        }
        if moved {
            self.0.settled.notify_waiters();
        }
    }

    /// A change to `aggregate` committed elsewhere became known (a
    /// notification from the database): it is visible already, one move.
    pub fn committed(&self, aggregate: Aggregate) {
        self.0.epochs[aggregate.index()].fetch_add(1, Ordering::SeqCst);
        self.0.settled.notify_waiters();
    }

    /// Waits until the epoch of `aggregate` is past `seen` and a change to
    /// it has settled (returns at once if the epoch already moved).
    pub async fn wait_past(&self, aggregate: Aggregate, seen: u64) -> u64 {
        loop {
            let mut settled = std::pin::pin!(self.0.settled.notified());
            settled.as_mut().enable();
            let now = self.epoch(aggregate);
            if now != seen {
                return now;
            }
            settled.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_move_per_aggregate_and_again_on_settle() {
        let feed = ChangeFeed::new();
        let keys = feed.epoch(Aggregate::Keys);
        let orgs = feed.epoch(Aggregate::Organizations);
        feed.changing(Aggregate::Organizations);
        let during = feed.epoch(Aggregate::Organizations);
        assert_ne!(during, orgs);
        feed.settle();
        assert_ne!(feed.epoch(Aggregate::Organizations), during);
        assert_eq!(feed.epoch(Aggregate::Keys), keys, "untouched");
        let settled = feed.epoch(Aggregate::Organizations);
        feed.settle();
        assert_eq!(feed.epoch(Aggregate::Organizations), settled);
        feed.committed(Aggregate::Keys);
        assert_ne!(feed.epoch(Aggregate::Keys), keys);
    }

    #[tokio::test]
    async fn waiting_ends_after_a_settled_change() {
        let feed = ChangeFeed::new();
        let seen = feed.epoch(Aggregate::Metadata);
        let waiter = tokio::spawn({
            let feed = feed.clone();
            async move { feed.wait_past(Aggregate::Metadata, seen).await }
        });
        tokio::task::yield_now().await;
        feed.changing(Aggregate::Metadata);
        feed.settle();
        assert!(waiter.await.unwrap() > seen);
        assert_eq!(feed.wait_past(Aggregate::Metadata, seen).await, seen + 2);
    }
}
