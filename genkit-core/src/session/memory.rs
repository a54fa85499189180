//! [`InMemorySessionStore`]: snapshots in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use futures::StreamExt;
use tokio::sync::watch;

use super::{
    finalize, leaf_ids, new_snapshot_id, page_of, validate_id, ListQuery, SessionStore,
    SessionStoreError, SnapshotFilter, SnapshotHeader, SnapshotMutator, SnapshotPage, StatusStream,
    StoreFuture, StoreScope,
};
use crate::wire::{SessionSnapshot, SnapshotStatus};

/// A session store in memory: fast, shared by clones, gone with the process.
///
/// Saves of one store (and its clones) are serialized, so the mutator runs exactly once per
/// save. Status subscriptions are supported.
///
/// ```
/// use genkit_core::session::{InMemorySessionStore, SessionStore};
/// let store = InMemorySessionStore::new();
/// let same_data = store.clone(); // a second handle on the same snapshots
/// assert!(same_data.supports_status_watch());
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemorySessionStore {
    inner: Arc<Mutex<Scopes>>,
}

#[derive(Debug, Default)]
struct Scopes(HashMap<StoreScope, Scope>);

#[derive(Debug, Default)]
struct Scope {
    snapshots: HashMap<String, Entry>,
    sessions: HashMap<String, Session>,
}

/// A session's snapshots, in save order, and the latest of them (kept current on every save,
/// so "latest" does not grow with the session's length).
#[derive(Debug, Default)]
struct Session {
    ids: Vec<String>,
    latest: Option<String>,
}

#[derive(Debug)]
struct Entry {
    snapshot: Arc<SessionSnapshot>,
    /// `createdAt` parsed once.
    created: Option<SystemTime>,
    /// Made on the first subscription, so a save nobody watches allocates no channel.
    status: Option<watch::Sender<SnapshotStatus>>,
    /// The snapshot that consumed this one's answers ([`SessionStore::claim_resume`]).
    resumed_by: Option<String>,
}

impl Entry {
    fn key(&self) -> (Option<SystemTime>, &str) {
        (self.created, &self.snapshot.snapshot_id)
    }
}

impl InMemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Scopes> {
        // A panic while holding the lock cannot leave a half-written entry (every write is one
        // insert), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_now(
        &self,
        scope: &StoreScope,
        id: &str,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        validate_id("snapshot id", id)?;
        let scopes = self.lock();
        Ok(scopes
            .0
            .get(scope)
            .and_then(|s| s.snapshots.get(id))
            .map(|e| SessionSnapshot::clone(&e.snapshot)))
    }

    fn latest_now(
        &self,
        scope: &StoreScope,
        session_id: &str,
        filter: &SnapshotFilter,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        validate_id("session id", session_id)?;
        let scopes = self.lock();
        let Some(scope) = scopes.0.get(scope) else {
            return Ok(None);
        };
        let Some(session) = scope.sessions.get(session_id) else {
            return Ok(None);
        };
        if filter.is_any() {
            return Ok(session
                .latest
                .as_ref()
                .and_then(|id| scope.snapshots.get(id))
                .map(|e| SessionSnapshot::clone(&e.snapshot)));
        }
        let best = session
            .ids
            .iter()
            .filter_map(|id| scope.snapshots.get(id))
            .filter(|e| filter.matches(&e.snapshot))
            .max_by(|a, b| a.key().cmp(&b.key()));
        Ok(best.map(|e| SessionSnapshot::clone(&e.snapshot)))
    }

    fn save_now(
        &self,
        scope: &StoreScope,
        snapshot_id: Option<&str>,
        mutator: &SnapshotMutator<'_>,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        let id = match snapshot_id {
            Some(id) => {
                validate_id("snapshot id", id)?;
                id.to_owned()
            }
            None => new_snapshot_id(),
        };
        let mut scopes = self.lock();
        let entries = scopes.0.entry(scope.clone()).or_default();
        let existing = entries.snapshots.get(&id).map(|e| Arc::clone(&e.snapshot));
        let Some(next) = mutator(existing.as_deref())? else {
            return Ok(None);
        };
        let next = finalize(&id, existing.as_deref(), next)?;
        let status = next.status();
        let created = super::parse_timestamp(&next.created_at);
        let stored = Arc::new(next.clone());
        let session_id = next.session_id.clone().unwrap_or_default();
        let Scope {
            snapshots,
            sessions,
        } = entries;
        let session = sessions.entry(session_id).or_default();
        match snapshots.get_mut(&id) {
            Some(entry) => {
                // createdAt is kept on rewrite (finalize), so the latest does not move.
                entry.snapshot = stored;
                if let Some(watchers) = &entry.status {
                    watchers.send_if_modified(|s| {
                        let changed = *s != status;
                        *s = status;
                        changed
                    });
                }
            }
            None => {
                let entry = Entry {
                    snapshot: stored,
                    created,
                    status: None,
                    resumed_by: None,
                };
                let ahead = match session.latest.as_ref().and_then(|l| snapshots.get(l)) {
                    Some(current) => entry.key() > current.key(),
                    None => true,
                };
                if ahead {
                    session.latest = Some(id.clone());
                }
                session.ids.push(id.clone());
                snapshots.insert(id, entry);
            }
        }
        Ok(Some(next))
    }

    fn claim_now(
        &self,
        scope: &StoreScope,
        parent: &str,
        child: &str,
    ) -> Result<Option<String>, SessionStoreError> {
        validate_id("snapshot id", parent)?;
        let mut scopes = self.lock();
        let Some(entry) = scopes
            .0
            .get_mut(scope)
            .and_then(|s| s.snapshots.get_mut(parent))
        else {
            return Ok(None);
        };
        let has_message = entry
            .snapshot
            .state
            .as_ref()
            .and_then(|s| s.messages.as_ref())
            .is_some_and(|m| !m.is_empty());
        Ok(match &entry.resumed_by {
            _ if !has_message => None,
            Some(by) if by != child => Some(by.clone()),
            Some(_) => None,
            None => {
                entry.resumed_by = Some(child.to_owned());
                None
            }
        })
    }

    fn watch_now(
        &self,
        scope: &StoreScope,
        id: &str,
    ) -> Result<Option<StatusStream>, SessionStoreError> {
        validate_id("snapshot id", id)?;
        let mut scopes = self.lock();
        let Some(entry) = scopes
            .0
            .get_mut(scope)
            .and_then(|s| s.snapshots.get_mut(id))
        else {
            return Ok(None);
        };
        let current = entry.snapshot.status();
        let mut rx = entry
            .status
            .get_or_insert_with(|| watch::Sender::new(current))
            .subscribe();
        let first = rx.borrow_and_update().clone();
        let changes = futures::stream::unfold(rx, |mut rx| async move {
            rx.changed().await.ok()?;
            let status = rx.borrow_and_update().clone();
            Some((status, rx))
        });
        Ok(Some(
            futures::stream::once(async move { first })
                .chain(changes)
                .boxed(),
        ))
    }

    fn list_now(
        &self,
        scope: &StoreScope,
        query: &ListQuery,
    ) -> Result<SnapshotPage, SessionStoreError> {
        if let Some(session) = &query.session_id {
            validate_id("session id", session)?;
        }
        let scopes = self.lock();
        let Some(scope) = scopes.0.get(scope) else {
            return Ok(SnapshotPage::default());
        };
        let headers: Vec<SnapshotHeader> = scope
            .snapshots
            .values()
            .filter(|e| query.session_id.is_none() || e.snapshot.session_id == query.session_id)
            .map(|e| SnapshotHeader::of(&e.snapshot))
            .collect();
        let leaves = leaf_ids(&headers);
        let kept: Vec<SnapshotHeader> = headers
            .iter()
            .filter(|h| !query.leaves_only || leaves.contains(h.snapshot_id.as_str()))
            .filter(|h| query.filter.matches(&h.as_snapshot()))
            .cloned()
            .collect();
        let (page, next_cursor) = page_of(kept, query);
        let snapshots = page
            .iter()
            .filter_map(|h| scope.snapshots.get(&h.snapshot_id))
            .map(|e| SessionSnapshot::clone(&e.snapshot))
            .collect();
        Ok(SnapshotPage {
            snapshots,
            next_cursor,
        })
    }
}

impl SessionStore for InMemorySessionStore {
    fn get_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        let r = self.get_now(scope, snapshot_id);
        Box::pin(async move { r })
    }

    fn get_latest_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        session_id: &'a str,
        filter: &'a SnapshotFilter,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        let r = self.latest_now(scope, session_id, filter);
        Box::pin(async move { r })
    }

    fn save_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: Option<&'a str>,
        mutator: &'a SnapshotMutator<'a>,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        let r = self.save_now(scope, snapshot_id, mutator);
        Box::pin(async move { r })
    }

    /// A save whose mutator writes only where nothing is stored. It runs once, under the
    /// store's lock, so the snapshot moves in (the default would copy it for a rerun).
    fn create_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot: SessionSnapshot,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        let id = snapshot.snapshot_id.clone();
        let slot = std::sync::Mutex::new(Some(snapshot));
        let mutator = |current: Option<&SessionSnapshot>| {
            Ok(match current {
                Some(_) => None,
                None => slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take(),
            })
        };
        let r = self.save_now(scope, Some(&id), &mutator);
        Box::pin(async move { r })
    }

    /// A claim is a field of the snapshot's entry, set under the store's lock: no save of the
    /// snapshot, no copy of its history.
    fn claim_resume<'a>(
        &'a self,
        scope: &'a StoreScope,
        parent: &'a str,
        child: &'a str,
    ) -> StoreFuture<'a, Option<String>> {
        let r = self.claim_now(scope, parent, child);
        Box::pin(async move { r })
    }

    fn supports_status_watch(&self) -> bool {
        true
    }

    fn watch_status<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<StatusStream>> {
        let r = self.watch_now(scope, snapshot_id);
        Box::pin(async move { r })
    }

    fn list_snapshots<'a>(
        &'a self,
        scope: &'a StoreScope,
        query: &'a ListQuery,
    ) -> StoreFuture<'a, SnapshotPage> {
        let r = self.list_now(scope, query);
        Box::pin(async move { r })
    }
}
