//! What a snapshot's status means at read time, and new snapshot ids.

use std::time::SystemTime;

use super::heartbeat::heartbeat_window;
use super::time::{format_timestamp, parse_timestamp};
use crate::wire::{SessionSnapshot, SessionState, SnapshotStatus};

impl SessionSnapshot {
    /// A completed snapshot of a turn of session `session_id`, continuing `parent_id`, created
    /// now. The store fills in the snapshot id.
    pub fn new_turn(
        session_id: impl Into<String>,
        parent_id: Option<String>,
        state: SessionState,
    ) -> Self {
        let now = format_timestamp(SystemTime::now());
        let session_id = session_id.into();
        let mut state = state;
        state.session_id = Some(session_id.clone());
        SessionSnapshot {
            snapshot_id: String::new(),
            session_id: Some(session_id),
            parent_id,
            created_at: now.clone(),
            updated_at: Some(now),
            status: Some(SnapshotStatus::Completed),
            state: Some(state),
            ..Default::default()
        }
    }

    /// The stored status; a snapshot without one is completed.
    pub fn status(&self) -> SnapshotStatus {
        self.status.clone().unwrap_or(SnapshotStatus::Completed)
    }

    /// The status as a reader reports it at `now`: a pending snapshot whose heartbeat is older
    /// than the [`HeartbeatWindow`](super::HeartbeatWindow)'s timeout (60 s unless the process
    /// set another) is [`SnapshotStatus::Expired`] (its worker is presumed dead). A
    /// pending snapshot that has not beaten yet, or whose heartbeat does not parse, stays
    /// pending, as in Genkit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use genkit_core::session::{format_timestamp, Clock, ManualClock};
    /// use genkit_core::{SessionSnapshot, SnapshotStatus};
    /// let clock = ManualClock::at_unix_secs(1_800_000_000);
    /// let snap = SessionSnapshot {
    ///     status: Some(SnapshotStatus::Pending),
    ///     heartbeat_at: Some(format_timestamp(clock.now())),
    ///     ..Default::default()
    /// };
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(snap.effective_status(clock.now()), SnapshotStatus::Pending);
    /// clock.advance(Duration::from_millis(1));
    /// assert_eq!(snap.effective_status(clock.now()), SnapshotStatus::Expired);
    /// ```
    pub fn effective_status(&self, now: SystemTime) -> SnapshotStatus {
        effective_status(self.status.as_ref(), self.heartbeat_at.as_deref(), now)
    }
}

pub(crate) fn effective_status(
    status: Option<&SnapshotStatus>,
    heartbeat_at: Option<&str>,
    now: SystemTime,
) -> SnapshotStatus {
    let status = status.cloned().unwrap_or(SnapshotStatus::Completed);
    if status != SnapshotStatus::Pending {
        return status;
    }
    match heartbeat_at.and_then(parse_timestamp) {
        Some(beat) => match now.duration_since(beat) {
            Ok(age) if age > heartbeat_window().timeout => SnapshotStatus::Expired,
            _ => status,
        },
        None => status,
    }
}

/// Whether a conversation can continue from `snapshot` at `now`: a completed one (an answered
/// or interrupted turn) or a failed one (a turn that failed is stored at its last complete turn
/// seam, so continuing re-runs from there, as Genkit's newest agents do). Pending (still
/// running), expired (its worker died) and aborted snapshots are refused.
///
/// ```
/// use std::time::SystemTime;
/// use genkit_core::session::is_resumable;
/// use genkit_core::{SessionSnapshot, SnapshotStatus};
/// let mut snap = SessionSnapshot::default();
/// assert!(is_resumable(&snap, SystemTime::now())); // no status: completed
/// snap.status = Some(SnapshotStatus::Failed);
/// assert!(is_resumable(&snap, SystemTime::now())); // a failed turn is a resume point
/// snap.status = Some(SnapshotStatus::Aborted);
/// assert!(!is_resumable(&snap, SystemTime::now()));
/// ```
pub fn is_resumable(snapshot: &SessionSnapshot, now: SystemTime) -> bool {
    resumable_status(&snapshot.effective_status(now))
}

/// The effective statuses a conversation continues from: completed and failed.
pub(crate) const RESUMABLE: [SnapshotStatus; 2] =
    [SnapshotStatus::Completed, SnapshotStatus::Failed];

/// Whether an effective status is a resume point (see [`is_resumable`]).
pub(crate) fn resumable_status(status: &SnapshotStatus) -> bool {
    RESUMABLE.contains(status)
}

/// A fresh random (version 4) UUID, the id stores give new snapshots.
///
/// The bytes come from the per-thread generator (ChaCha12, seeded from the OS and reseeded
/// periodically: cryptographically secure, so ids stay unguessable), which costs no system
/// call; asking the OS for every id was three `getrandom` calls per interrupt and resume.
///
/// ```
/// let id = genkit_core::session::new_snapshot_id();
/// assert_eq!(id.len(), 36);
/// assert_eq!(&id[14..15], "4");
/// ```
pub fn new_snapshot_id() -> String {
    use rand::RngExt;
    uuid::Builder::from_random_bytes(rand::rng().random())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_version_4_uuids_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_snapshot_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(50) {
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
    }

    #[test]
    fn a_final_status_never_expires() {
        let long_ago = Some("2000-01-01T00:00:00Z");
        for s in [
            SnapshotStatus::Completed,
            SnapshotStatus::Failed,
            SnapshotStatus::Aborted,
        ] {
            assert_eq!(effective_status(Some(&s), long_ago, SystemTime::now()), s);
        }
        assert_eq!(
            effective_status(Some(&SnapshotStatus::Pending), long_ago, SystemTime::now()),
            SnapshotStatus::Expired
        );
    }
}
