//! [`RecentVersions`]: the state versions this process last read or wrote, by snapshot, so a
//! save that continues a parent's chain does not read the parent back from the database, and
//! a read of one of those snapshots is sent its header without the chain.
//!
//! A state row is never changed once inserted, so a cached version is never wrong, only
//! possibly old: the snapshot may point at a newer row since. A child diffed against an old
//! version is still exact (its row names the base it was diffed against), so a stale entry
//! costs at most a larger diff, never a wrong state.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::state::Version;

/// A bounded map from (scope, snapshot id) to the state version last seen for it; the oldest
/// entry goes first when full.
#[derive(Debug)]
pub(crate) struct RecentVersions {
    inner: Mutex<Entries>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Entries {
    by_snapshot: HashMap<(String, String), Arc<Version>>,
    /// Insertion order, for eviction: each key of `by_snapshot` once.
    order: VecDeque<(String, String)>,
}

impl RecentVersions {
    /// Keeps at most `capacity` versions (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Entries::default()),
            capacity,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // every change is one insert or remove, so a panic elsewhere leaves the map consistent
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The version last seen for `snapshot` in `scope`.
    pub fn get(&self, scope: &str, snapshot: &str) -> Option<Arc<Version>> {
        let key = (scope.to_owned(), snapshot.to_owned());
        self.entries().by_snapshot.get(&key).cloned()
    }

    /// Records `version` for `snapshot`. A parent stays until it is the oldest: branches from
    /// it (several children of one snapshot) read and diff against it too.
    pub fn put(&self, scope: &str, snapshot: &str, version: Arc<Version>) {
        if self.capacity == 0 {
            return;
        }
        let mut e = self.entries();
        let key = (scope.to_owned(), snapshot.to_owned());
        if e.by_snapshot.insert(key.clone(), version).is_none() {
            e.order.push_back(key);
        }
        while e.by_snapshot.len() > self.capacity || e.order.len() > 2 * self.capacity {
            let Some(oldest) = e.order.pop_front() else {
                break;
            };
            e.by_snapshot.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(id: i64) -> Arc<Version> {
        Arc::new(Version::from_value(id, 0, json!({ "n": id }), None))
    }

    #[test]
    fn the_oldest_goes_first_and_a_parent_stays_for_its_branches() {
        let r = RecentVersions::new(3);
        r.put("s", "a", v(1));
        r.put("s", "b", v(2));
        r.put("s", "c", v(3));
        assert_eq!(r.get("s", "a").map(|v| v.id), Some(1), "a parent stays");
        r.put("s", "d", v(4));
        assert!(r.get("s", "a").is_none(), "evicted, oldest first");
        for (id, n) in [("b", 2), ("c", 3), ("d", 4)] {
            assert_eq!(r.get("s", id).map(|v| v.id), Some(n));
        }
        assert!(
            r.get("other scope", "d").is_none(),
            "scopes never share entries"
        );
    }

    #[test]
    fn the_order_queue_stays_bounded_when_entries_are_replaced() {
        let r = RecentVersions::new(4);
        for i in 0..10_000 {
            // a new version of one of a few snapshots, as a save that rewrites them makes
            r.put("s", &format!("snap-{}", i % 3), v(i));
            r.put("s", &format!("turn-{i}"), v(i));
        }
        let e = r.entries();
        assert_eq!(e.by_snapshot.len(), 4);
        assert!(e.order.len() <= 8, "{}", e.order.len());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let r = RecentVersions::new(0);
        r.put("s", "a", v(1));
        assert!(r.get("s", "a").is_none());
    }
}
