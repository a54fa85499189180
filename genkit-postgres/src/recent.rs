//! [`RecentVersions`]: the state versions this process last read or wrote, by snapshot, so a
//! save that continues a parent's chain does not read the parent back from the database.
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
    /// Insertion order, for eviction; may name keys already removed.
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

    /// Records `version` for `snapshot`; `replaces` (its parent) is dropped, since a session
    /// continues from its newest turn.
    pub fn put(&self, scope: &str, snapshot: &str, version: Arc<Version>, replaces: Option<&str>) {
        if self.capacity == 0 {
            return;
        }
        let mut e = self.entries();
        if let Some(parent) = replaces {
            e.by_snapshot.remove(&(scope.to_owned(), parent.to_owned()));
        }
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
    fn the_oldest_goes_first_and_a_child_replaces_its_parent() {
        let r = RecentVersions::new(2);
        r.put("s", "a", v(1), None);
        r.put("s", "b", v(2), Some("a"));
        assert!(r.get("s", "a").is_none(), "the parent was replaced");
        assert_eq!(r.get("s", "b").map(|v| v.id), Some(2));
        r.put("s", "c", v(3), None);
        r.put("s", "d", v(4), None);
        assert!(r.get("s", "b").is_none(), "evicted, oldest first");
        assert_eq!(r.get("s", "c").map(|v| v.id), Some(3));
        assert_eq!(r.get("s", "d").map(|v| v.id), Some(4));
        assert!(
            r.get("other scope", "d").is_none(),
            "scopes never share entries"
        );
    }

    #[test]
    fn the_order_queue_stays_bounded_when_entries_are_replaced() {
        let r = RecentVersions::new(4);
        let mut parent: Option<String> = None;
        for i in 0..10_000 {
            let id = format!("snap-{i}");
            r.put("s", &id, v(i), parent.as_deref());
            parent = Some(id);
        }
        let e = r.entries();
        assert_eq!(e.by_snapshot.len(), 1);
        assert!(e.order.len() <= 8, "{}", e.order.len());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let r = RecentVersions::new(0);
        r.put("s", "a", v(1), None);
        assert!(r.get("s", "a").is_none());
    }
}
