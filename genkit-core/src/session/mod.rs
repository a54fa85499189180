//! Session stores: where an agent's conversations live between turns, as [`SessionSnapshot`]s.
//!
//! Every turn of a server-managed agent is saved as a snapshot: the conversation state at that
//! point, its parent (the snapshot it continued), and a lifecycle [`SnapshotStatus`]. Snapshots
//! form parent chains; two snapshots with one parent are a branch. A detached turn is `pending`
//! while it runs and refreshes `heartbeatAt` every [`HEARTBEAT_INTERVAL`]; a reader reports a
//! pending snapshot whose heartbeat is older than [`HEARTBEAT_TIMEOUT`] as `expired` (computed,
//! never written). Only a resumable snapshot ([`is_resumable`]: completed or failed) can be
//! continued.
//!
//! A [`SessionStore`] gets snapshots by id or the latest of a session, saves them with an atomic
//! read-modify-write, and may offer a status subscription (what aborting a detached run needs)
//! and a listing (what a reviewer console needs). Stores here:
//! - [`InMemorySessionStore`]: one process, nothing persisted;
//! - `FileSessionStore` (feature `file-store`): the embedded default, one JSON file per
//!   snapshot in the layout of Genkit JS's and Go's file stores, safe for several processes on
//!   one directory.
//!
//! Any store proves itself with the conformance suite in
//! [`testing::session_store`](crate::testing::session_store).
//!
//! ```
//! use genkit_core::session::{InMemorySessionStore, SessionStore, StoreScope, SnapshotFilter};
//! use genkit_core::{Message, SessionSnapshot, SessionState, SnapshotStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), genkit_core::session::SessionStoreError> {
//! let store = InMemorySessionStore::new();
//! let scope = StoreScope::global();
//! let first = SessionSnapshot::new_turn("chat-1", None, SessionState {
//!     messages: Some(vec![Message::user("hi"), Message::model("hello")].into()),
//!     ..Default::default()
//! });
//! // The mutator gets the current value (none: a new snapshot) and returns what to store.
//! let saved = store.save_snapshot(&scope, None, &|_current| Ok(Some(first.clone()))).await?;
//! let saved = saved.expect("the mutator wrote");
//! let latest = store.get_latest_snapshot(&scope, "chat-1", &SnapshotFilter::any()).await?;
//! assert_eq!(latest.map(|s| s.snapshot_id), Some(saved.snapshot_id));
//! assert_eq!(saved.status, Some(SnapshotStatus::Completed));
//! # Ok(()) }
//! ```

mod error;
#[cfg(feature = "file-store")]
mod file;
mod heartbeat;
mod memory;
pub(crate) mod snapshot;
mod time;

use std::fmt;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use self::time::{format_timestamp, parse_timestamp, Clock, ManualClock, SystemClock};
pub use error::SessionStoreError;
#[cfg(feature = "file-store")]
pub use file::{FileSessionStore, FileSessionStoreBuilder};
pub use heartbeat::{heartbeat_window, set_heartbeat_window, HeartbeatWindow};
pub use memory::InMemorySessionStore;
pub use snapshot::{is_resumable, new_snapshot_id};

use crate::wire::{AgentFinishReason, SessionSnapshot, SnapshotStatus};

/// How often a detached turn refreshes its pending snapshot's `heartbeatAt` (Genkit's default;
/// a process may set another [`HeartbeatWindow`]).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// How old a pending snapshot's heartbeat may get before it reads as
/// [`SnapshotStatus::Expired`]: two missed beats (Genkit's default; a process may set another
/// [`HeartbeatWindow`]).
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where [`SessionStore::claim_resume`]'s default records a claim: metadata of the interrupted
/// snapshot's last (model) message.
pub(crate) const CONSUMED_BY: &str = "agentResumedBy";

/// The future every [`SessionStore`] method returns.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, SessionStoreError>>;

/// A stream of a snapshot's status: its status when subscribed, then each change.
///
/// Level-triggered: a slow reader may skip intermediate values but always sees the latest.
/// Dropping it unsubscribes.
pub type StatusStream = BoxStream<'static, SnapshotStatus>;

/// The read-modify-write step of [`SessionStore::save_snapshot`].
///
/// It receives the stored snapshot (`None` when there is none yet) and returns the snapshot to
/// store, `Ok(None)` to leave things as they are, or an error to refuse (which the save returns).
///
/// **It must be pure**: a store that retries under contention (optimistic concurrency, a
/// database transaction retried after a serialization failure) calls it again with the newer
/// value, so it must not send, log, count or do I/O, only compute. That is also why it is a
/// `Fn`, not a `FnMut`.
pub type SnapshotMutator<'a> = dyn Fn(Option<&SessionSnapshot>) -> Result<Option<SessionSnapshot>, SessionStoreError>
    + Send
    + Sync
    + 'a;

/// The tenant a store call runs for: snapshots of one scope are invisible to another.
///
/// Genkit's file stores call it the path prefix (`global` by default); a database store puts it
/// in a key column. It is chosen per call (an agent derives it from the action context), so one
/// store serves many tenants.
///
/// ```
/// use genkit_core::session::StoreScope;
/// assert_eq!(StoreScope::global().as_str(), "global");
/// assert!(StoreScope::new("acme/user-42").is_ok());
/// assert!(StoreScope::new("../etc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreScope(String);

impl StoreScope {
    /// The default scope, `global` (the directory Genkit's file stores use without a prefix).
    pub fn global() -> Self {
        StoreScope("global".to_owned())
    }

    /// A scope of one or more `/`-separated segments, each a safe file name (not empty, no
    /// `\`, no `..`, no leading `.`, no control characters).
    pub fn new(prefix: impl Into<String>) -> Result<Self, SessionStoreError> {
        let prefix = prefix.into();
        let segments: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() {
            return Err(SessionStoreError::InvalidId {
                what: "scope",
                value: prefix,
                reason: "empty",
            });
        }
        for segment in &segments {
            if let Err(reason) = check_segment(segment) {
                return Err(SessionStoreError::InvalidId {
                    what: "scope",
                    value: prefix.clone(),
                    reason,
                });
            }
        }
        Ok(StoreScope(segments.join("/")))
    }

    /// The scope, segments joined by `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for StoreScope {
    fn default() -> Self {
        Self::global()
    }
}

impl fmt::Display for StoreScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `s` cannot be one path segment (Genkit's file stores' rule, applied by every store so
/// ids work the same everywhere).
fn check_segment(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > 255 {
        return Err("longer than 255 bytes");
    }
    // one pass over the bytes (every store call checks its ids); only a non-ASCII id needs
    // its characters decoded, for the control characters beyond ASCII
    let (mut separator, mut control, mut ascii, mut previous) = (false, false, true, 0u8);
    for &b in s.as_bytes() {
        separator |= b == b'/' || b == b'\\' || (b == b'.' && previous == b'.');
        control |= b.is_ascii_control();
        ascii &= b.is_ascii();
        previous = b;
    }
    if separator {
        return Err("contains a path separator or '..'");
    }
    if s.starts_with('.') {
        return Err("starts with '.'");
    }
    if control || (!ascii && s.chars().any(char::is_control)) {
        return Err("contains control characters");
    }
    Ok(())
}

/// Checks a snapshot or session id: non-empty, at most 255 bytes, a plain file name.
pub fn validate_id(what: &'static str, id: &str) -> Result<(), SessionStoreError> {
    check_segment(id).map_err(|reason| SessionStoreError::InvalidId {
        what,
        value: id.to_owned(),
        reason,
    })
}

/// Which snapshots a lookup or listing wants, judged by their *effective* status (a pending
/// snapshot with a stale heartbeat is expired at `at`).
///
/// ```
/// use std::time::SystemTime;
/// use genkit_core::session::SnapshotFilter;
/// use genkit_core::SnapshotStatus;
/// let resumable = SnapshotFilter::resumable(SystemTime::now());
/// assert_eq!(
///     resumable.statuses.as_deref(),
///     Some(&[SnapshotStatus::Completed, SnapshotStatus::Failed][..])
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotFilter {
    /// Effective statuses to keep; `None` keeps all.
    pub statuses: Option<Vec<SnapshotStatus>>,
    /// Keep only snapshots that ended for this reason (`interrupted`: waiting for answers).
    pub finish_reason: Option<AgentFinishReason>,
    /// The time expiry is judged at.
    pub at: SystemTime,
}

impl SnapshotFilter {
    /// Every snapshot.
    pub fn any() -> Self {
        Self {
            statuses: None,
            finish_reason: None,
            at: SystemTime::now(),
        }
    }

    /// Snapshots a conversation can continue from (see [`is_resumable`]), judged at `at`.
    pub fn resumable(at: SystemTime) -> Self {
        Self::statuses(snapshot::RESUMABLE, at)
    }

    /// Snapshots whose effective status at `at` is one of `statuses`.
    pub fn statuses(statuses: impl IntoIterator<Item = SnapshotStatus>, at: SystemTime) -> Self {
        Self {
            statuses: Some(statuses.into_iter().collect()),
            finish_reason: None,
            at,
        }
    }

    /// Completed snapshots waiting for answers (finish reason `interrupted`), judged at `at`.
    pub fn awaiting_answers(at: SystemTime) -> Self {
        Self {
            finish_reason: Some(AgentFinishReason::Interrupted),
            ..Self::statuses([SnapshotStatus::Completed], at)
        }
    }

    /// Whether `snapshot` passes.
    pub fn matches(&self, snapshot: &SessionSnapshot) -> bool {
        if let Some(reason) = &self.finish_reason {
            if snapshot.finish_reason.as_ref() != Some(reason) {
                return false;
            }
        }
        match &self.statuses {
            None => true,
            Some(wanted) => wanted.contains(&snapshot.effective_status(self.at)),
        }
    }

    /// True when it keeps everything (stores take a fast path for it).
    pub fn is_any(&self) -> bool {
        self.statuses.is_none() && self.finish_reason.is_none()
    }
}

/// A listing request for [`SessionStore::list_snapshots`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Only this session's snapshots; `None` lists the whole scope.
    pub session_id: Option<String>,
    /// Which snapshots.
    pub filter: SnapshotFilter,
    /// Only leaves: snapshots no other snapshot continues (a session's open ends). With
    /// [`SnapshotFilter::awaiting_answers`] this is "every pending interrupt".
    pub leaves_only: bool,
    /// At most this many (stores may cap it).
    pub limit: usize,
    /// Continue after this cursor (from [`SnapshotPage::next_cursor`]).
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Everything `filter` keeps in the scope, up to 100 per page.
    pub fn new(filter: SnapshotFilter) -> Self {
        Self {
            session_id: None,
            filter,
            leaves_only: false,
            limit: 100,
            cursor: None,
        }
    }

    /// Every interrupted leaf snapshot of the scope: the conversations waiting for a reviewer.
    pub fn pending_interrupts(at: SystemTime) -> Self {
        Self {
            leaves_only: true,
            ..Self::new(SnapshotFilter::awaiting_answers(at))
        }
    }
}

/// One page of [`SessionStore::list_snapshots`], newest first (by `createdAt`, then id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotPage {
    /// The snapshots.
    pub snapshots: Vec<SessionSnapshot>,
    /// Pass it as [`ListQuery::cursor`] for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// Storage of session snapshots. Object safe: agents hold an `Arc<dyn SessionStore>`.
///
/// Contract (the conformance suite in [`testing::session_store`](crate::testing::session_store)
/// checks it):
/// - Getters answer `Ok(None)` for a snapshot or session that does not exist, a typed error for
///   stored data that does not parse (naming where it is), and never mix scopes.
/// - [`save_snapshot`](Self::save_snapshot) is an atomic read-modify-write: no save of the same
///   snapshot id interleaves with it, in this process or another one sharing the backing data.
///   The store owns identity only: the snapshot id (the one asked for, or a fresh UUID), the
///   session id and `createdAt` (kept from the stored snapshot once set: a snapshot never changes
///   session or age, so "latest" only changes when a snapshot is created). A snapshot without a
///   status is stored as `completed`. The caller owns the other timestamps (RFC 3339,
///   validated) so a heartbeat refresh moves `heartbeatAt` and not `updatedAt`.
/// - "Latest" is the greatest `createdAt`, ties broken by the greater snapshot id, whatever
///   the parent links say (when history branches, the newest branch wins).
pub trait SessionStore: Send + Sync {
    /// The snapshot `snapshot_id` as stored (its raw status: see
    /// [`SessionSnapshot::effective_status`] for expiry), or `None`.
    fn get_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<SessionSnapshot>>;

    /// The latest snapshot of `session_id` among those `filter` keeps, or `None`.
    ///
    /// With [`SnapshotFilter::any`] this is the session's tip whatever its status (a failed or
    /// pending tip included: the caller decides); with [`SnapshotFilter::resumable`] it is the
    /// newest snapshot a conversation can continue from.
    fn get_latest_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        session_id: &'a str,
        filter: &'a SnapshotFilter,
    ) -> StoreFuture<'a, Option<SessionSnapshot>>;

    /// Atomically reads snapshot `snapshot_id` (none when `None`: a fresh id is made), applies
    /// `mutator`, and stores its result. Answers the snapshot as stored, or `None` when the
    /// mutator declined. See [`SnapshotMutator`]: it may run more than once, so it must be pure.
    fn save_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: Option<&'a str>,
        mutator: &'a SnapshotMutator<'a>,
    ) -> StoreFuture<'a, Option<SessionSnapshot>>;

    /// Writes `snapshot` under its own id, only if no snapshot of `scope` has that id: answers
    /// it as stored, or `None` when one exists (nothing is written then).
    ///
    /// An agent's turn makes a fresh snapshot id, so when it ends nothing can be stored under
    /// the id unless the turn detached and wrote its pending record: the turn writes its
    /// snapshot with this, and only when it answers `None` with a
    /// [`save_snapshot`](Self::save_snapshot) that reads the record first. The default is such
    /// a save, whose mutator writes only where it finds nothing; a database store can make it
    /// one insert, without a transaction or a lock.
    ///
    /// ```
    /// use genkit_core::session::{InMemorySessionStore, SessionStore, StoreScope};
    /// use genkit_core::{SessionSnapshot, SessionState};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), genkit_core::session::SessionStoreError> {
    /// let store = InMemorySessionStore::new();
    /// let scope = StoreScope::global();
    /// let mut turn = SessionSnapshot::new_turn("chat-1", None, SessionState::default());
    /// turn.snapshot_id = "turn-1".into();
    /// let created = store.create_snapshot(&scope, turn.clone()).await?;
    /// assert_eq!(created.map(|s| s.snapshot_id), Some(turn.snapshot_id.clone()));
    /// assert_eq!(store.create_snapshot(&scope, turn).await?, None, "the id is taken");
    /// # Ok(()) }
    /// ```
    fn create_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot: SessionSnapshot,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            let id = snapshot.snapshot_id.clone();
            let mutator =
                |current: Option<&SessionSnapshot>| Ok(current.is_none().then(|| snapshot.clone()));
            self.save_snapshot(scope, Some(&id), &mutator).await
        })
    }

    /// Records that snapshot `child` consumes the answers of the interrupted snapshot `parent`
    /// (an answer is a side effect: an approval must not be replayed). The first claim holds
    /// for good. Answers the snapshot that consumed `parent` before, when it is not `child`;
    /// `None` when this claim holds (made now or by an earlier call for `child`) or when
    /// `parent` does not exist or has no message to claim.
    ///
    /// The default writes the claim into `parent`'s last message's metadata
    /// (`agentResumedBy`) with a [`save_snapshot`](Self::save_snapshot), so it costs a save of
    /// the snapshot; a database store can keep claims in a table of their own and make a claim
    /// one insert.
    ///
    /// ```
    /// use genkit_core::session::{InMemorySessionStore, SessionStore, StoreScope};
    /// use genkit_core::{Message, SessionSnapshot, SessionState};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), genkit_core::session::SessionStoreError> {
    /// let store = InMemorySessionStore::new();
    /// let scope = StoreScope::global();
    /// let state = SessionState { messages: Some(vec![Message::model("asking")].into()), ..Default::default() };
    /// let turn = SessionSnapshot::new_turn("chat-1", None, state);
    /// let asked = store.save_snapshot(&scope, None, &|_| Ok(Some(turn.clone()))).await?;
    /// let asked = asked.expect("the mutator wrote").snapshot_id;
    /// assert_eq!(store.claim_resume(&scope, &asked, "answer-1").await?, None);
    /// assert_eq!(store.claim_resume(&scope, &asked, "answer-1").await?, None);
    /// let second = store.claim_resume(&scope, &asked, "answer-2").await?;
    /// assert_eq!(second.as_deref(), Some("answer-1"));
    /// # Ok(()) }
    /// ```
    fn claim_resume<'a>(
        &'a self,
        scope: &'a StoreScope,
        parent: &'a str,
        child: &'a str,
    ) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            // what the last run of the mutator saw; a rerun overwrites it, so it stays pure in effect
            let taken: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
            let seen = |by: Option<String>| {
                *taken
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = by;
            };
            let mutator = |current: Option<&SessionSnapshot>| {
                seen(None);
                let Some(current) = current else {
                    return Ok(None);
                };
                let mut next = current.clone();
                let Some(last) = next
                    .state
                    .as_mut()
                    .and_then(|s| s.messages.as_mut())
                    .and_then(|m| m.last_mut())
                else {
                    return Ok(None);
                };
                let meta = last.metadata.get_or_insert_with(Default::default);
                match meta.get(CONSUMED_BY).and_then(serde_json::Value::as_str) {
                    Some(by) if by != child => {
                        seen(Some(by.to_owned()));
                        Ok(None)
                    }
                    Some(_) => Ok(None),
                    None => {
                        meta.insert(CONSUMED_BY.to_owned(), serde_json::Value::from(child));
                        Ok(Some(next))
                    }
                }
            };
            self.save_snapshot(scope, Some(parent), &mutator).await?;
            let by = taken
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            Ok(by)
        })
    }

    /// Whether [`watch_status`](Self::watch_status) works (an agent can abort detached runs
    /// only then).
    fn supports_status_watch(&self) -> bool {
        false
    }

    /// Subscribes to the status of snapshot `snapshot_id`: its status now, then each change,
    /// including changes written by other processes. `None` when the snapshot does not exist.
    fn watch_status<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<StatusStream>> {
        let _ = (scope, snapshot_id);
        Box::pin(async { Err(SessionStoreError::Unsupported("status subscriptions")) })
    }

    /// Lists snapshots, newest first (optional: a reviewer console's "everything waiting for
    /// an answer" is [`ListQuery::pending_interrupts`]).
    fn list_snapshots<'a>(
        &'a self,
        scope: &'a StoreScope,
        query: &'a ListQuery,
    ) -> StoreFuture<'a, SnapshotPage> {
        let _ = (scope, query);
        Box::pin(async { Err(SessionStoreError::Unsupported("listing snapshots")) })
    }
}

/// The part of a snapshot ordering and filtering need; stores that scan parse only this.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SnapshotHeader {
    pub(crate) snapshot_id: String,
    #[serde(default)]
    pub(crate) session_id: Option<String>,
    #[serde(default)]
    pub(crate) parent_id: Option<String>,
    pub(crate) created_at: String,
    #[serde(default)]
    pub(crate) heartbeat_at: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<SnapshotStatus>,
    #[serde(default)]
    pub(crate) finish_reason: Option<AgentFinishReason>,
}

impl SnapshotHeader {
    pub(crate) fn of(s: &SessionSnapshot) -> Self {
        Self {
            snapshot_id: s.snapshot_id.clone(),
            session_id: s.session_id.clone(),
            parent_id: s.parent_id.clone(),
            created_at: s.created_at.clone(),
            heartbeat_at: s.heartbeat_at.clone(),
            status: s.status.clone(),
            finish_reason: s.finish_reason.clone(),
        }
    }

    /// A snapshot carrying only the header's fields, for [`SnapshotFilter::matches`].
    pub(crate) fn as_snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            snapshot_id: self.snapshot_id.clone(),
            session_id: self.session_id.clone(),
            parent_id: self.parent_id.clone(),
            created_at: self.created_at.clone(),
            heartbeat_at: self.heartbeat_at.clone(),
            status: self.status.clone(),
            finish_reason: self.finish_reason.clone(),
            ..Default::default()
        }
    }

    /// The sort key of "latest": creation time (unparseable sorts oldest), then id.
    pub(crate) fn order_key(&self) -> (Option<SystemTime>, &str) {
        order_key(&self.created_at, &self.snapshot_id)
    }
}

pub(crate) fn order_key<'s>(
    created_at: &str,
    snapshot_id: &'s str,
) -> (Option<SystemTime>, &'s str) {
    (parse_timestamp(created_at), snapshot_id)
}

/// Applies the store's identity rules of [`SessionStore`] to what a mutator returned: the
/// snapshot id, the session and `createdAt` kept from `existing`, the default status, validated
/// ids and timestamps. Every store here calls it, and a store in another crate (a database)
/// should too, so all of them behave alike.
///
/// ```
/// use genkit_core::session::finalize_snapshot;
/// use genkit_core::{SessionSnapshot, SessionState, SnapshotStatus};
/// let mut next = SessionSnapshot::new_turn("chat-1", None, SessionState::default());
/// next.status = None;
/// let stored = finalize_snapshot("snap-1", None, next).unwrap();
/// assert_eq!((stored.snapshot_id.as_str(), stored.status), ("snap-1", Some(SnapshotStatus::Completed)));
/// ```
pub fn finalize_snapshot(
    id: &str,
    existing: Option<&SessionSnapshot>,
    next: SessionSnapshot,
) -> Result<SessionSnapshot, SessionStoreError> {
    finalize(id, existing, next)
}

/// See [`finalize_snapshot`].
pub(crate) fn finalize(
    id: &str,
    existing: Option<&SessionSnapshot>,
    mut next: SessionSnapshot,
) -> Result<SessionSnapshot, SessionStoreError> {
    next.snapshot_id = id.to_owned();
    if let Some(existing) = existing {
        next.created_at = existing.created_at.clone();
        if let Some(session) = &existing.session_id {
            next.session_id = Some(session.clone());
        }
    }
    let Some(session) = next.session_id.as_deref() else {
        return Err(SessionStoreError::InvalidSnapshot {
            snapshot_id: id.to_owned(),
            reason: "it has no session id; every stored snapshot belongs to a session".into(),
        });
    };
    validate_id("session id", session)?;
    for (field, value) in [
        ("createdAt", Some(&next.created_at)),
        ("updatedAt", next.updated_at.as_ref()),
        ("heartbeatAt", next.heartbeat_at.as_ref()),
    ] {
        if let Some(v) = value {
            if parse_timestamp(v).is_none() {
                return Err(SessionStoreError::InvalidSnapshot {
                    snapshot_id: id.to_owned(),
                    reason: format!("{field} {v:?} is not an RFC 3339 timestamp"),
                });
            }
        }
    }
    if let Some(parent) = next.parent_id.as_deref() {
        validate_id("parent snapshot id", parent)?;
    }
    if next.status.is_none() {
        next.status = Some(SnapshotStatus::Completed);
    }
    Ok(next)
}

/// The leaves among `headers`: snapshots no other one names as parent.
pub(crate) fn leaf_ids<'h>(
    headers: impl IntoIterator<Item = &'h SnapshotHeader> + Clone,
) -> std::collections::HashSet<&'h str> {
    let parents: std::collections::HashSet<&str> = headers
        .clone()
        .into_iter()
        .filter_map(|h| h.parent_id.as_deref())
        .collect();
    headers
        .into_iter()
        .map(|h| h.snapshot_id.as_str())
        .filter(|id| !parents.contains(id))
        .collect()
}

/// Sorts newest first and cuts one page, shared by the stores' listings. The cursor is the
/// last snapshot id of the previous page.
pub(crate) fn page_of(
    mut headers: Vec<SnapshotHeader>,
    query: &ListQuery,
) -> (Vec<SnapshotHeader>, Option<String>) {
    headers.sort_by(|a, b| b.order_key().cmp(&a.order_key()));
    let start = match &query.cursor {
        Some(c) => headers
            .iter()
            .position(|h| &h.snapshot_id == c)
            .map(|i| i + 1)
            .unwrap_or(headers.len()),
        None => 0,
    };
    let limit = query.limit.max(1);
    let rest: Vec<SnapshotHeader> = headers.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    let page: Vec<SnapshotHeader> = rest.into_iter().take(limit).collect();
    let next = if more {
        page.last().map(|h| h.snapshot_id.clone())
    } else {
        None
    };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::check_segment;

    /// The rule as first written, four passes over the id: the one-pass check must agree.
    fn reference(s: &str) -> Result<(), &'static str> {
        if s.is_empty() {
            return Err("empty");
        }
        if s.len() > 255 {
            return Err("longer than 255 bytes");
        }
        if s.contains(['/', '\\']) || s.contains("..") {
            return Err("contains a path separator or '..'");
        }
        if s.starts_with('.') {
            return Err("starts with '.'");
        }
        if s.chars().any(|c| c.is_control()) {
            return Err("contains control characters");
        }
        Ok(())
    }

    #[test]
    fn the_one_pass_id_check_agrees_with_the_rule() {
        let pieces = [
            "", "a", ".", "..", "/", "\\", "\n", "\u{7f}", "\u{85}", "\u{9f}", "é", "€", "-", "x.y",
        ];
        let mut cases = vec!["x".repeat(255), "x".repeat(256), "é".repeat(128)];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    cases.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in &cases {
            assert_eq!(check_segment(s), reference(s), "{s:?}");
        }
    }
}
