//! The agent's side of a session store: the few read-modify-writes a conversation needs, each
//! a pure mutator, so every store (and every retry under contention) gives the same answer.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::error::AgentError;
use super::runner::{lock, Data};
use crate::error::GenkitError;
use crate::session::{
    format_timestamp, SessionStore, SessionStoreError, SnapshotFilter, StoreScope,
};
use crate::wire::{
    AgentFinishReason, GenerationUsage, RuntimeError, SessionSnapshot, SnapshotStatus,
};

/// The turn bookkeeping of one invocation.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub turn_index: u32,
    /// The last snapshot written as a completed turn (the next turn's parent).
    pub last_committed: Option<String>,
    /// That snapshot as the store saved it (when a store saved it in this invocation).
    pub last_saved: Option<Box<SessionSnapshot>>,
    /// The snapshot id of the turn running now.
    pub in_flight: Option<String>,
    /// An id reserved (by a detach) for the next turn.
    pub next_id: Option<String>,
    /// The state at the last turn seam.
    pub last_good: Data,
    pub last_finish: Option<AgentFinishReason>,
    pub last_error: Option<RuntimeError>,
    /// The failed snapshot of the turn that failed.
    pub failed_snapshot: Option<String>,
    pub last_usage: Option<GenerationUsage>,
    /// The snapshot a detach answered with.
    pub detached: Option<String>,
}

/// A store and the scope this agent uses in it.
#[derive(Clone)]
pub(crate) struct StoreHandle {
    pub store: Arc<dyn SessionStore>,
    pub scope: StoreScope,
}

impl StoreHandle {
    pub(crate) async fn get(&self, id: &str) -> Result<Option<SessionSnapshot>, GenkitError> {
        Ok(self.store.get_snapshot(&self.scope, id).await?)
    }

    pub(crate) async fn latest(
        &self,
        session_id: &str,
        filter: &SnapshotFilter,
    ) -> Result<Option<SessionSnapshot>, GenkitError> {
        Ok(self
            .store
            .get_latest_snapshot(&self.scope, session_id, filter)
            .await?)
    }

    /// Writes `snapshot` under `id` unless the stored one was aborted (a late completion never
    /// overwrites an abort). False when it was.
    pub(crate) async fn save_unless_aborted(
        &self,
        id: &str,
        snapshot: SessionSnapshot,
    ) -> Result<bool, SessionStoreError> {
        let again = snapshot.clone();
        Ok(self
            .save_unless_aborted_saved(id, snapshot, &move || again.clone())
            .await?
            .is_some())
    }

    /// [`save_unless_aborted`](Self::save_unless_aborted), answering what was saved. The
    /// store's first run of the mutator takes `snapshot` as it is (no copy of the history);
    /// a store that runs it again (a retried transaction) gets a fresh one from `rebuild`.
    pub(crate) async fn save_unless_aborted_saved(
        &self,
        id: &str,
        snapshot: SessionSnapshot,
        rebuild: &(dyn Fn() -> SessionSnapshot + Send + Sync),
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        let first = Mutex::new(Some(snapshot));
        let mutator = move |current: Option<&SessionSnapshot>| {
            if current.is_some_and(|c| c.status() == SnapshotStatus::Aborted) {
                return Ok(None);
            }
            let taken = lock(&first).take();
            let mut next = taken.unwrap_or_else(rebuild);
            if let Some(c) = current {
                // a detached turn's pending record keeps its creation time
                next.created_at = c.created_at.clone();
            }
            Ok(Some(next))
        };
        self.store
            .save_snapshot(&self.scope, Some(id), &mutator)
            .await
    }

    /// Writes a finished turn's snapshot under its fresh id: one
    /// [`create_snapshot`](SessionStore::create_snapshot), or, when a detached run's pending
    /// record holds the id, [`save_unless_aborted_saved`](Self::save_unless_aborted_saved)
    /// over it. `None` when that record was aborted.
    pub(crate) async fn save_turn(
        &self,
        id: &str,
        snapshot: SessionSnapshot,
        rebuild: &(dyn Fn() -> SessionSnapshot + Send + Sync),
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        debug_assert_eq!(snapshot.snapshot_id, id);
        if let Some(saved) = self.store.create_snapshot(&self.scope, snapshot).await? {
            return Ok(Some(saved));
        }
        self.save_unless_aborted_saved(id, rebuild(), rebuild).await
    }

    /// Writes a detached turn's pending record, only where nothing is stored yet (a turn that
    /// already finished keeps its outcome).
    pub(crate) async fn save_pending(
        &self,
        id: &str,
        snapshot: SessionSnapshot,
    ) -> Result<bool, SessionStoreError> {
        let mutator = move |current: Option<&SessionSnapshot>| {
            Ok(match current {
                Some(_) => None,
                None => Some(snapshot.clone()),
            })
        };
        Ok(self
            .store
            .save_snapshot(&self.scope, Some(id), &mutator)
            .await?
            .is_some())
    }

    /// Refreshes a pending snapshot's heartbeat (nothing once it is final).
    pub(crate) async fn heartbeat(&self, id: &str) -> Result<(), SessionStoreError> {
        let now = format_timestamp(SystemTime::now());
        let mutator = move |current: Option<&SessionSnapshot>| {
            Ok(current
                .filter(|c| c.status() == SnapshotStatus::Pending)
                .map(|c| SessionSnapshot {
                    heartbeat_at: Some(now.clone()),
                    ..c.clone()
                }))
        };
        self.store
            .save_snapshot(&self.scope, Some(id), &mutator)
            .await
            .map(|_| ())
    }

    /// Aborts `id` if it is pending; answers the status it had (`None`: no such snapshot).
    pub(crate) async fn abort(
        &self,
        id: &str,
    ) -> Result<Option<SnapshotStatus>, SessionStoreError> {
        // what the last run of the mutator saw; a rerun overwrites it, so it stays pure in effect
        let seen: Arc<Mutex<Option<SnapshotStatus>>> = Arc::default();
        let at = SystemTime::now();
        let now = format_timestamp(at);
        let cell = Arc::clone(&seen);
        let mutator = move |current: Option<&SessionSnapshot>| {
            let status = current.map(|c| c.effective_status(at));
            *lock(&cell) = status.clone();
            Ok(match (current, status) {
                (Some(c), Some(SnapshotStatus::Pending)) => Some(SessionSnapshot {
                    status: Some(SnapshotStatus::Aborted),
                    finish_reason: Some(AgentFinishReason::Aborted),
                    updated_at: Some(now.clone()),
                    ..c.clone()
                }),
                _ => None,
            })
        };
        self.store
            .save_snapshot(&self.scope, Some(id), &mutator)
            .await?;
        let status = lock(&seen).clone();
        Ok(status)
    }

    /// Records that `child` consumes the answers of interrupted snapshot `parent`; refused
    /// when another snapshot already did.
    pub(crate) async fn claim_resume(&self, parent: &str, child: &str) -> Result<(), GenkitError> {
        match self.store.claim_resume(&self.scope, parent, child).await? {
            Some(consumed_by) => Err(AgentError::AlreadyResumed {
                snapshot_id: parent.to_owned(),
                consumed_by,
            }
            .into()),
            None => Ok(()),
        }
    }
}
