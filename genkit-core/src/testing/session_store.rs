//! The session store conformance suite: the contract of
//! [`SessionStore`], as cases any store runs.
//!
//! Implement [`StoreHarness`] for your store (how to make fresh backing data, how to open a store
//! on it, optionally how to damage it), then generate one `#[tokio::test]` per case with
//! [`session_store_conformance!`](crate::session_store_conformance):
//!
//! ```ignore
//! // tests/my_store.rs (needs tokio with "macros" and "rt-multi-thread" as a dev-dependency)
//! genkit_core::session_store_conformance!(my_store, MyHarness::new());
//! ```
//!
//! or run them all in one test with [`run_all`]. Each case gets its own backing data from
//! [`StoreHarness::setup`], so a store with external setup (a database, a schema per case, a
//! server started once) fits: the harness owns that setup, the cases only see stores.
//!
//! The cases ([`Case::ALL`]): saving and reading back, the store-owned fields, the lifecycle of
//! statuses, chains and "latest", branching, filtered latest, abort racing completion, status
//! subscribers, a second store instance on the same data, 8 concurrent writers x 25 saves,
//! multi-megabyte state, NUL characters, expired heartbeats, not-found answers, corrupted data,
//! a crash between writing and renaming, scope isolation, listing, resume claims, and
//! create-only writes.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::session::{
    format_timestamp, is_resumable, Clock, ListQuery, ManualClock, SessionStore, SessionStoreError,
    SnapshotFilter, StoreScope, HEARTBEAT_TIMEOUT,
};
use crate::wire::{
    AgentFinishReason, Artifact, Message, Part, Role, RuntimeError, SessionSnapshot, SessionState,
    SnapshotStatus, ToolRequest, ToolResponse,
};
use crate::Status;

/// How the suite gets stores of one kind.
///
/// ```
/// use futures::future::BoxFuture;
/// use genkit_core::session::{InMemorySessionStore, SessionStoreError};
/// use genkit_core::testing::session_store::StoreHarness;
///
/// struct Memory;
/// impl StoreHarness for Memory {
///     type Store = InMemorySessionStore;
///     type Backing = InMemorySessionStore; // clones share data
///     fn setup(&self) -> BoxFuture<'_, Result<Self::Backing, SessionStoreError>> {
///         Box::pin(async { Ok(InMemorySessionStore::new()) })
///     }
///     fn open<'a>(&'a self, b: &'a Self::Backing) -> BoxFuture<'a, Result<Self::Store, SessionStoreError>> {
///         Box::pin(async move { Ok(b.clone()) })
///     }
/// }
/// ```
pub trait StoreHarness: Send + Sync {
    /// The store under test.
    type Store: SessionStore + 'static;
    /// One case's backing data (a temporary directory, a database schema); dropped, or given
    /// to [`teardown`](Self::teardown), when the case ends.
    type Backing: Send + Sync;

    /// Fresh, empty backing data for one case.
    fn setup(&self) -> BoxFuture<'_, Result<Self::Backing, SessionStoreError>>;

    /// A store instance on `backing`. Called more than once per case: a second instance must
    /// see everything the first wrote (as a second process on the same directory or database).
    fn open<'a>(
        &'a self,
        backing: &'a Self::Backing,
    ) -> BoxFuture<'a, Result<Self::Store, SessionStoreError>>;

    /// Damages the stored form of one snapshot (truncates its file, garbles its row). `false`
    /// when the store keeps no stored form to damage (the case then checks nothing).
    fn corrupt<'a>(
        &'a self,
        backing: &'a Self::Backing,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, SessionStoreError>> {
        let _ = (backing, scope, snapshot_id);
        Box::pin(async { Ok(false) })
    }

    /// Leaves what a crash between writing a new version of `snapshot_id` and renaming it into
    /// place leaves (a half-written temporary file). `false` when that cannot happen to this
    /// store (a transactional database).
    fn leave_torn_write<'a>(
        &'a self,
        backing: &'a Self::Backing,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, SessionStoreError>> {
        let _ = (backing, scope, snapshot_id);
        Box::pin(async { Ok(false) })
    }

    /// Cleans up after a case.
    fn teardown(&self, backing: Self::Backing) -> BoxFuture<'_, ()> {
        drop(backing);
        Box::pin(async {})
    }

    /// Why the cases cannot run here (an external server that is not configured), or `None`
    /// (the default) to run them. A skipped case prints `SKIPPED <case>: <reason>` to stderr
    /// and passes, so a plain `cargo test` without the server says so instead of failing; a
    /// harness that must not skip (in CI) answers `None` and lets [`setup`](Self::setup) fail.
    fn skip_reason(&self) -> Option<String> {
        None
    }
}

/// A failed expectation of a case.
#[derive(Debug)]
pub struct CaseFailure {
    /// The case.
    pub case: &'static str,
    /// What was expected and what happened.
    pub message: String,
}

impl fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "session store case `{}` failed: {}",
            self.case, self.message
        )
    }
}

impl std::error::Error for CaseFailure {}

/// What a case body fails with before it knows its name.
struct Fail(String);

impl From<SessionStoreError> for Fail {
    fn from(e: SessionStoreError) -> Self {
        Fail(format!(
            "unexpected store error ({}): {e}",
            e.status().name()
        ))
    }
}

type Outcome = Result<(), Fail>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Fail(format!($($msg)+)));
        }
    };
}

macro_rules! cases {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $f:ident; )+) => {
        /// One case of the suite.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Case {
            $( $(#[$doc])* $variant, )+
        }

        impl Case {
            /// Every case, in the order [`run_all`] runs them.
            pub const ALL: &'static [Case] = &[$(Case::$variant),+];

            /// The case's name (the test name the macro gives it).
            pub fn name(self) -> &'static str {
                match self { $(Case::$variant => $name,)+ }
            }
        }

        async fn dispatch<H: StoreHarness>(h: &H, b: &H::Backing, case: Case) -> Outcome {
            match case { $(Case::$variant => $f(h, b).await,)+ }
        }
    };
}

cases! {
    /// A saved snapshot reads back equal, under the id asked for or a fresh UUID.
    SaveAndGet => "save_and_get", save_and_get;
    /// The store owns identity only: the snapshot id, the session and `createdAt` kept on
    /// rewrite, the default status; it refuses a snapshot without session, bad ids and non-RFC 3339 timestamps; a
    /// declining or failing mutator writes nothing.
    StoreOwnedFields => "store_owned_fields", store_owned_fields;
    /// Pending (with heartbeat refreshes that keep `createdAt`/`updatedAt`), then completed,
    /// failed (with its error) or aborted.
    Lifecycle => "lifecycle", lifecycle;
    /// A parent chain reads back link by link; latest is the greatest `createdAt`.
    ChainsAndLatest => "chains_and_latest", chains_and_latest;
    /// Two children of one snapshot both persist; the newer branch is the latest.
    Branching => "branching", branching;
    /// Latest with a status filter: a failed tip is resumable, a pending one is not.
    LatestWithFilter => "latest_with_filter", latest_with_filter;
    /// An abort racing a completion: a late completion never overwrites aborted.
    AbortRace => "abort_race", abort_race;
    /// A status subscriber sees the current status, then changes (from another instance too).
    StatusSubscriber => "status_subscriber", status_subscriber;
    /// A new store instance on the same backing data sees everything, and the first sees its
    /// writes.
    SecondInstanceReopen => "second_instance_reopen", second_instance_reopen;
    /// 8 writers x 25 saves on two instances: every read-modify-write lands, nothing is lost.
    ConcurrentWriters => "concurrent_writers", concurrent_writers;
    /// Megabytes of state round-trip.
    LargeState => "large_state", large_state;
    /// U+0000 in text, tool output and custom state round-trips.
    NulCharacters => "nul_characters", nul_characters;
    /// A pending snapshot whose heartbeat is over 60 s old reads as expired (computed, never
    /// stored) and is not resumable.
    ExpiredHeartbeat => "expired_heartbeat", expired_heartbeat;
    /// Missing snapshots and sessions are `None`, not errors.
    NotFound => "not_found", not_found;
    /// Corrupted stored data is a typed error naming it; other sessions are unaffected.
    CorruptedData => "corrupted_data", corrupted_data;
    /// A crash between writing and renaming never yields half a snapshot.
    TornWrite => "torn_write", torn_write;
    /// Scopes (tenants) never see each other's snapshots.
    ScopesAreIsolated => "scopes_are_isolated", scopes_are_isolated;
    /// Listing: newest first, pages, and every pending interrupt of the scope.
    Listing => "listing", listing;
    /// Resume claims: the first holds for good (again for its own child, refused to others,
    /// from another instance too, exactly one winner among racing claimers), per scope; a
    /// claim on a missing snapshot claims nothing.
    ResumeClaims => "resume_claims", resume_claims;
    /// Create-only writes: a new id is written and reads back; a taken id (a pending record
    /// included, from another instance too) is refused and left as it was; of racing creates of
    /// one id exactly one wins.
    CreateOnly => "create_only", create_only;
}

/// Runs one case on fresh backing data.
pub async fn run_case<H: StoreHarness>(harness: &H, case: Case) -> Result<(), CaseFailure> {
    let fail = |message: String| CaseFailure {
        case: case.name(),
        message,
    };
    if let Some(reason) = harness.skip_reason() {
        eprintln!("SKIPPED {}: {reason}", case.name());
        return Ok(());
    }
    let backing = harness
        .setup()
        .await
        .map_err(|e| fail(format!("setup failed: {e}")))?;
    let outcome = dispatch(harness, &backing, case).await;
    harness.teardown(backing).await;
    outcome.map_err(|Fail(m)| fail(m))
}

/// Runs every case, each on fresh backing data, and answers every failure.
pub async fn run_all<H: StoreHarness>(harness: &H) -> Result<(), Vec<CaseFailure>> {
    let mut failures = Vec::new();
    for case in Case::ALL {
        if let Err(f) = run_case(harness, *case).await {
            failures.push(f);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// Generates a module of `#[tokio::test]`s, one per [`Case`], for a harness expression.
///
/// ```ignore
/// genkit_core::session_store_conformance!(file_store, FileHarness::default());
/// ```
///
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a dependency.
#[macro_export]
macro_rules! session_store_conformance {
    ($module:ident, $harness:expr) => {
        $crate::session_store_conformance!(@cases $module, $harness;
            save_and_get SaveAndGet, store_owned_fields StoreOwnedFields, lifecycle Lifecycle,
            chains_and_latest ChainsAndLatest, branching Branching,
            latest_with_filter LatestWithFilter, abort_race AbortRace,
            status_subscriber StatusSubscriber, second_instance_reopen SecondInstanceReopen,
            concurrent_writers ConcurrentWriters, large_state LargeState,
            nul_characters NulCharacters, expired_heartbeat ExpiredHeartbeat,
            not_found NotFound, corrupted_data CorruptedData, torn_write TornWrite,
            scopes_are_isolated ScopesAreIsolated, listing Listing,
            resume_claims ResumeClaims, create_only CreateOnly);
    };
    (@cases $module:ident, $harness:expr; $($test:ident $variant:ident),+) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let harness = $harness;
                    if let Err(failure) = $crate::testing::session_store::run_case(
                        &harness,
                        $crate::testing::session_store::Case::$variant,
                    )
                    .await
                    {
                        panic!("{failure}");
                    }
                }
            )+
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// 2026-01-01T00:00:00Z plus `secs`: cases date snapshots explicitly so order never depends
/// on how fast the machine is.
fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600 + secs)
}

fn turn(session: &str, parent: Option<&str>, at: SystemTime, text: &str) -> SessionSnapshot {
    let stamp = format_timestamp(at);
    SessionSnapshot {
        snapshot_id: String::new(),
        session_id: Some(session.to_owned()),
        parent_id: parent.map(str::to_owned),
        created_at: stamp.clone(),
        updated_at: Some(stamp),
        status: Some(SnapshotStatus::Completed),
        finish_reason: Some(AgentFinishReason::Stop),
        state: Some(SessionState {
            session_id: Some(session.to_owned()),
            messages: Some(vec![Message::user(text), Message::model(format!("re: {text}"))].into()),
            custom: Some(json!({"turn": text})),
            artifacts: None,
        }),
        ..Default::default()
    }
}

fn pending(session: &str, parent: Option<&str>, at: SystemTime) -> SessionSnapshot {
    let stamp = format_timestamp(at);
    SessionSnapshot {
        snapshot_id: String::new(),
        session_id: Some(session.to_owned()),
        parent_id: parent.map(str::to_owned),
        created_at: stamp.clone(),
        updated_at: Some(stamp.clone()),
        heartbeat_at: Some(stamp),
        status: Some(SnapshotStatus::Pending),
        finish_reason: None,
        state: None,
        ..Default::default()
    }
}

async fn put<S: SessionStore + ?Sized>(
    store: &S,
    scope: &StoreScope,
    snap: &SessionSnapshot,
) -> Result<SessionSnapshot, Fail> {
    let saved = store
        .save_snapshot(scope, None, &|_| Ok(Some(snap.clone())))
        .await?;
    saved.ok_or_else(|| Fail("a save whose mutator wrote answered None".into()))
}

async fn put_as<S: SessionStore + ?Sized>(
    store: &S,
    scope: &StoreScope,
    id: &str,
    snap: &SessionSnapshot,
) -> Result<SessionSnapshot, Fail> {
    let saved = store
        .save_snapshot(scope, Some(id), &|_| Ok(Some(snap.clone())))
        .await?;
    saved.ok_or_else(|| Fail("a save whose mutator wrote answered None".into()))
}

async fn must_get<S: SessionStore + ?Sized>(
    store: &S,
    scope: &StoreScope,
    id: &str,
) -> Result<SessionSnapshot, Fail> {
    store
        .get_snapshot(scope, id)
        .await?
        .ok_or_else(|| Fail(format!("snapshot {id:?} was saved but reads as missing")))
}

async fn latest_id<S: SessionStore + ?Sized>(
    store: &S,
    scope: &StoreScope,
    session: &str,
    filter: &SnapshotFilter,
) -> Result<Option<String>, Fail> {
    Ok(store
        .get_latest_snapshot(scope, session, filter)
        .await?
        .map(|s| s.snapshot_id))
}

/// `saved` as the store should hold it: `expected` with the store-owned fields filled in.
fn same_content(saved: &SessionSnapshot, expected: &SessionSnapshot) -> bool {
    let mut e = expected.clone();
    e.snapshot_id = saved.snapshot_id.clone();
    if e.status.is_none() {
        e.status = Some(SnapshotStatus::Completed);
    }
    &e == saved
}

async fn next_status(
    stream: &mut crate::session::StatusStream,
) -> Result<Option<SnapshotStatus>, Fail> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .map_err(|_| Fail("no status change reached the subscriber within 10 s".into()))
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn save_and_get<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let mut snap = turn("sess-a", None, t(0), "hello");
    if let Some(state) = snap.state.as_mut() {
        state.artifacts = Some(vec![Artifact::new("plan", vec![Part::text("step 1")])]);
        state
            .messages
            .get_or_insert_with(Default::default)
            .push(Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "approve",
                    Some("r1".into()),
                    json!({"amount": 12.5}),
                ))],
            ));
    }
    let saved = put(&store, &scope, &snap).await?;
    ensure!(
        saved.snapshot_id.len() == 36 && saved.snapshot_id.matches('-').count() == 4,
        "a new snapshot's id is not a UUID: {:?}",
        saved.snapshot_id
    );
    ensure!(
        same_content(&saved, &snap),
        "the save answered a snapshot that differs from what the mutator returned"
    );
    let read = must_get(&store, &scope, &saved.snapshot_id).await?;
    ensure!(read == saved, "read back {read:?}\n  saved {saved:?}");

    let chosen = put_as(
        &store,
        &scope,
        "chosen-id-1",
        &turn("sess-a", Some(&saved.snapshot_id), t(1), "again"),
    )
    .await?;
    ensure!(
        chosen.snapshot_id == "chosen-id-1",
        "a save under a chosen id stored it as {:?}",
        chosen.snapshot_id
    );
    ensure!(
        must_get(&store, &scope, "chosen-id-1").await? == chosen,
        "the snapshot saved under a chosen id reads back different"
    );
    Ok(())
}

async fn store_owned_fields<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let mut snap = turn("sess-owner", None, t(0), "x");
    snap.snapshot_id = "the-mutator-says-this".into();
    snap.status = None;
    let saved = put_as(&store, &scope, "owned-1", &snap).await?;
    ensure!(
        saved.snapshot_id == "owned-1",
        "the store kept the mutator's snapshot id {:?}",
        saved.snapshot_id
    );
    ensure!(
        saved.status == Some(SnapshotStatus::Completed),
        "a snapshot without status was stored as {:?}",
        saved.status
    );
    ensure!(
        store
            .get_snapshot(&scope, "the-mutator-says-this")
            .await?
            .is_none(),
        "the mutator's snapshot id was used as a second key"
    );

    // A rewrite cannot move a snapshot to another session.
    let moved = store
        .save_snapshot(&scope, Some("owned-1"), &|cur| {
            let mut next = cur.cloned().unwrap_or_default();
            next.session_id = Some("another-session".into());
            Ok(Some(next))
        })
        .await?
        .ok_or_else(|| Fail("rewrite answered None".into()))?;
    ensure!(
        moved.session_id.as_deref() == Some("sess-owner"),
        "a rewrite moved the snapshot to session {:?}",
        moved.session_id
    );
    ensure!(
        latest_id(&store, &scope, "another-session", &SnapshotFilter::any())
            .await?
            .is_none(),
        "the other session sees a snapshot that belongs to sess-owner"
    );

    // No session: refused, nothing stored.
    let mut orphan = turn("x", None, t(0), "x");
    orphan.session_id = None;
    match store
        .save_snapshot(&scope, Some("orphan"), &|_| Ok(Some(orphan.clone())))
        .await
    {
        Err(e) => ensure!(
            e.status() == Status::InvalidArgument,
            "a snapshot without session was refused with {}",
            e.status().name()
        ),
        Ok(_) => return Err(Fail("a snapshot without a session id was stored".into())),
    }
    ensure!(
        store.get_snapshot(&scope, "orphan").await?.is_none(),
        "a refused snapshot was stored"
    );

    // Timestamps must be RFC 3339, so Genkit Go can read them.
    let mut bad_time = turn("sess-owner", None, t(0), "x");
    bad_time.created_at = "last tuesday".into();
    ensure!(
        matches!(store.save_snapshot(&scope, Some("bad-time"), &|_| Ok(Some(bad_time.clone()))).await,
            Err(ref e) if e.status() == Status::InvalidArgument),
        "a createdAt that is not RFC 3339 was not refused as INVALID_ARGUMENT"
    );

    // Ids that are paths or hidden names are refused everywhere.
    for bad in ["", "../escape", "a/b", ".hidden", "nul\u{0}id"] {
        ensure!(
            matches!(
                store.get_snapshot(&scope, bad).await,
                Err(SessionStoreError::InvalidId { .. })
            ),
            "get_snapshot accepted the id {bad:?}"
        );
        ensure!(
            matches!(
                store
                    .get_latest_snapshot(&scope, bad, &SnapshotFilter::any())
                    .await,
                Err(SessionStoreError::InvalidId { .. })
            ),
            "get_latest_snapshot accepted the session id {bad:?}"
        );
        let s = turn("sess-owner", None, t(0), "x");
        ensure!(
            matches!(
                store
                    .save_snapshot(&scope, Some(bad), &|_| Ok(Some(s.clone())))
                    .await,
                Err(SessionStoreError::InvalidId { .. })
            ),
            "save_snapshot accepted the id {bad:?}"
        );
    }

    // A declining mutator writes nothing; a failing one writes nothing and its error comes back.
    let declined = store
        .save_snapshot(&scope, Some("declined"), &|_| Ok(None))
        .await?;
    ensure!(
        declined.is_none(),
        "a declining mutator's save answered a snapshot"
    );
    ensure!(
        store.get_snapshot(&scope, "declined").await?.is_none(),
        "a declining mutator's snapshot was stored"
    );
    let refused = store
        .save_snapshot(&scope, Some("owned-1"), &|_| {
            Err(SessionStoreError::precondition("owned-1", "no"))
        })
        .await;
    ensure!(
        matches!(refused, Err(SessionStoreError::FailedPrecondition { .. })),
        "a mutator's refusal did not come back as its error: {refused:?}"
    );
    ensure!(
        must_get(&store, &scope, "owned-1").await? == moved,
        "a refused save changed the snapshot"
    );
    Ok(())
}

async fn lifecycle<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let base = put(&store, &scope, &turn("sess-life", None, t(0), "start")).await?;
    let p = put(
        &store,
        &scope,
        &pending("sess-life", Some(&base.snapshot_id), t(10)),
    )
    .await?;
    ensure!(
        p.status == Some(SnapshotStatus::Pending),
        "a pending snapshot was stored as {:?}",
        p.status
    );

    // Heartbeats move heartbeatAt only.
    for beat in [40, 70] {
        let at = format_timestamp(t(beat));
        store
            .save_snapshot(&scope, Some(&p.snapshot_id), &|cur| {
                Ok(cur.map(|c| SessionSnapshot {
                    heartbeat_at: Some(at.clone()),
                    ..c.clone()
                }))
            })
            .await?;
    }
    let beaten = must_get(&store, &scope, &p.snapshot_id).await?;
    ensure!(
        beaten.heartbeat_at.as_deref() == Some(format_timestamp(t(70)).as_str()),
        "heartbeat not stored: {:?}",
        beaten.heartbeat_at
    );
    ensure!(
        beaten.created_at == p.created_at && beaten.updated_at == p.updated_at,
        "a heartbeat moved createdAt/updatedAt"
    );
    ensure!(
        beaten.status == Some(SnapshotStatus::Pending),
        "a heartbeat changed the status"
    );

    // Completion.
    let done_state = turn("sess-life", None, t(0), "finished").state;
    let done = store
        .save_snapshot(&scope, Some(&p.snapshot_id), &|cur| {
            Ok(cur.map(|c| SessionSnapshot {
                status: Some(SnapshotStatus::Completed),
                finish_reason: Some(AgentFinishReason::Interrupted),
                updated_at: Some(format_timestamp(t(80))),
                state: done_state.clone(),
                ..c.clone()
            }))
        })
        .await?
        .ok_or_else(|| Fail("completion answered None".into()))?;
    ensure!(
        must_get(&store, &scope, &p.snapshot_id).await? == done,
        "the completed snapshot reads back different"
    );
    ensure!(
        done.effective_status(t(10_000)) == SnapshotStatus::Completed,
        "a completed snapshot expired"
    );

    // Failed, with its error.
    let mut failed = turn("sess-life", Some(&p.snapshot_id), t(90), "boom");
    failed.status = Some(SnapshotStatus::Failed);
    failed.finish_reason = Some(AgentFinishReason::Failed);
    failed.error = Some(RuntimeError {
        status: Some("INTERNAL".into()),
        message: "the model went away".into(),
        details: Some(json!({"attempt": 3})),
    });
    let f = put(&store, &scope, &failed).await?;
    let read = must_get(&store, &scope, &f.snapshot_id).await?;
    ensure!(
        read.error == failed.error && read.status == Some(SnapshotStatus::Failed),
        "a failed snapshot lost its error or status: {read:?}"
    );
    ensure!(
        is_resumable(&read, t(91)),
        "a failed snapshot is not a resume point"
    );

    // Aborted.
    let p2 = put(
        &store,
        &scope,
        &pending("sess-life", Some(&p.snapshot_id), t(95)),
    )
    .await?;
    store
        .save_snapshot(&scope, Some(&p2.snapshot_id), &|cur| {
            Ok(cur.map(|c| SessionSnapshot {
                status: Some(SnapshotStatus::Aborted),
                finish_reason: Some(AgentFinishReason::Aborted),
                ..c.clone()
            }))
        })
        .await?;
    let aborted = must_get(&store, &scope, &p2.snapshot_id).await?;
    ensure!(
        aborted.status == Some(SnapshotStatus::Aborted),
        "abort not stored: {:?}",
        aborted.status
    );
    ensure!(
        !is_resumable(&aborted, t(96)),
        "an aborted snapshot is resumable"
    );
    ensure!(
        is_resumable(&done, t(96)),
        "a completed snapshot is not resumable"
    );
    Ok(())
}

async fn chains_and_latest<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let mut ids: Vec<String> = Vec::new();
    for i in 0..6u64 {
        let parent = ids.last().map(String::as_str);
        let s = put(
            &store,
            &scope,
            &turn("sess-chain", parent, t(i * 10), &format!("turn {i}")),
        )
        .await?;
        ids.push(s.snapshot_id);
        let latest = latest_id(&store, &scope, "sess-chain", &SnapshotFilter::any()).await?;
        ensure!(
            latest.as_deref() == ids.last().map(String::as_str),
            "after turn {i} the latest is {latest:?}, not the tip {:?}",
            ids.last()
        );
    }
    // Walk back from the tip.
    let mut cursor = ids.last().cloned();
    let mut walked = Vec::new();
    while let Some(id) = cursor {
        let s = must_get(&store, &scope, &id).await?;
        walked.push(id);
        cursor = s.parent_id;
    }
    walked.reverse();
    ensure!(
        walked == ids,
        "walking the parent chain gave {walked:?}, saved {ids:?}"
    );

    // Another session is untouched by this one and vice versa.
    let other = put(
        &store,
        &scope,
        &turn("sess-other", None, t(1_000), "elsewhere"),
    )
    .await?;
    ensure!(
        latest_id(&store, &scope, "sess-chain", &SnapshotFilter::any())
            .await?
            .as_deref()
            == ids.last().map(String::as_str),
        "a newer snapshot of another session changed this session's latest"
    );
    ensure!(
        latest_id(&store, &scope, "sess-other", &SnapshotFilter::any()).await?
            == Some(other.snapshot_id),
        "the other session's latest is wrong"
    );

    // Latest is by createdAt, not by save order: a back-dated snapshot saved last is not latest.
    let back = put(
        &store,
        &scope,
        &turn("sess-chain", Some(&ids[0]), t(5), "backdated"),
    )
    .await?;
    let latest = latest_id(&store, &scope, "sess-chain", &SnapshotFilter::any()).await?;
    ensure!(
        latest.as_deref() == ids.last().map(String::as_str),
        "a back-dated snapshot saved last ({}) became the latest",
        back.snapshot_id
    );

    // A rewrite of an old snapshot does not move it ahead.
    store
        .save_snapshot(&scope, Some(&ids[1]), &|cur| {
            Ok(cur.map(|c| SessionSnapshot {
                updated_at: Some(format_timestamp(t(5_000))),
                ..c.clone()
            }))
        })
        .await?;
    let latest = latest_id(&store, &scope, "sess-chain", &SnapshotFilter::any()).await?;
    ensure!(
        latest.as_deref() == ids.last().map(String::as_str),
        "rewriting an old snapshot made it the latest"
    );
    // createdAt is kept from the first save: a rewrite cannot move an old snapshot past the tip.
    let moved_at = format_timestamp(t(9_000));
    store
        .save_snapshot(&scope, Some(&ids[2]), &|cur| {
            Ok(cur.map(|c| SessionSnapshot {
                created_at: moved_at.clone(),
                ..c.clone()
            }))
        })
        .await?;
    let latest = latest_id(&store, &scope, "sess-chain", &SnapshotFilter::any()).await?;
    ensure!(
        latest.as_deref() == ids.last().map(String::as_str),
        "a rewrite that moved createdAt made an old snapshot the latest: {latest:?}"
    );
    let kept = must_get(&store, &scope, &ids[2]).await?;
    ensure!(
        kept.created_at == format_timestamp(t(20)),
        "a rewrite changed createdAt to {}",
        kept.created_at
    );
    Ok(())
}

async fn branching<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let root = put(&store, &scope, &turn("sess-branch", None, t(0), "root")).await?;
    let a = put(
        &store,
        &scope,
        &turn("sess-branch", Some(&root.snapshot_id), t(10), "branch a"),
    )
    .await?;
    let b2 = put(
        &store,
        &scope,
        &turn("sess-branch", Some(&root.snapshot_id), t(20), "branch b"),
    )
    .await?;
    for s in [&root, &a, &b2] {
        ensure!(
            must_get(&store, &scope, &s.snapshot_id).await? == *s,
            "snapshot {} changed when the session branched",
            s.snapshot_id
        );
    }
    ensure!(
        latest_id(&store, &scope, "sess-branch", &SnapshotFilter::any()).await?
            == Some(b2.snapshot_id.clone()),
        "the newest branch is not the latest"
    );
    // Continue the older branch: it becomes the latest.
    let a2 = put(
        &store,
        &scope,
        &turn("sess-branch", Some(&a.snapshot_id), t(30), "a goes on"),
    )
    .await?;
    ensure!(
        latest_id(&store, &scope, "sess-branch", &SnapshotFilter::any()).await?
            == Some(a2.snapshot_id),
        "continuing the older branch did not make it the latest"
    );
    Ok(())
}

async fn latest_with_filter<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let good = put(&store, &scope, &turn("sess-f", None, t(0), "good")).await?;
    let mut failed = turn("sess-f", Some(&good.snapshot_id), t(10), "bad");
    failed.status = Some(SnapshotStatus::Failed);
    let failed = put(&store, &scope, &failed).await?;
    ensure!(
        latest_id(&store, &scope, "sess-f", &SnapshotFilter::any()).await?
            == Some(failed.snapshot_id.clone()),
        "latest (any) skipped the failed tip"
    );
    ensure!(
        latest_id(&store, &scope, "sess-f", &SnapshotFilter::resumable(t(11))).await?
            == Some(failed.snapshot_id.clone()),
        "latest resumable is not the failed tip (a failed turn is a resume point)"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-f",
            &SnapshotFilter::statuses([SnapshotStatus::Completed], t(11))
        )
        .await?
            == Some(good.snapshot_id.clone()),
        "latest completed is not the last good snapshot"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-f",
            &SnapshotFilter::statuses([SnapshotStatus::Failed], t(11))
        )
        .await?
            == Some(failed.snapshot_id.clone()),
        "latest failed not found"
    );

    let p = put(
        &store,
        &scope,
        &pending("sess-f", Some(&good.snapshot_id), t(20)),
    )
    .await?;
    ensure!(
        latest_id(&store, &scope, "sess-f", &SnapshotFilter::resumable(t(21))).await?
            == Some(failed.snapshot_id.clone()),
        "a pending tip counted as resumable"
    );
    let later = t(20) + HEARTBEAT_TIMEOUT + Duration::from_secs(1);
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-f",
            &SnapshotFilter::statuses([SnapshotStatus::Expired], later)
        )
        .await?
            == Some(p.snapshot_id.clone()),
        "a stale pending snapshot is not found as expired"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-f",
            &SnapshotFilter::statuses([SnapshotStatus::Pending], later)
        )
        .await?
        .is_none(),
        "a stale pending snapshot still counts as pending"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-f",
            &SnapshotFilter::statuses([SnapshotStatus::Aborted], later)
        )
        .await?
        .is_none(),
        "found an aborted snapshot that does not exist"
    );
    Ok(())
}

/// Genkit's abort: flip a pending snapshot to aborted; leave a final one alone.
fn abort_mutator(
    cur: Option<&SessionSnapshot>,
) -> Result<Option<SessionSnapshot>, SessionStoreError> {
    Ok(match cur {
        Some(c) if c.status() == SnapshotStatus::Pending => Some(SessionSnapshot {
            status: Some(SnapshotStatus::Aborted),
            finish_reason: Some(AgentFinishReason::Aborted),
            ..c.clone()
        }),
        _ => None,
    })
}

/// A detached turn's completion: refuses to overwrite an abort.
fn complete_mutator(
    cur: Option<&SessionSnapshot>,
) -> Result<Option<SessionSnapshot>, SessionStoreError> {
    match cur {
        Some(c) if c.status() == SnapshotStatus::Pending => Ok(Some(SessionSnapshot {
            status: Some(SnapshotStatus::Completed),
            finish_reason: Some(AgentFinishReason::Stop),
            ..c.clone()
        })),
        Some(c) => Err(SessionStoreError::precondition(
            c.snapshot_id.clone(),
            format!("the snapshot is {}", c.status()),
        )),
        None => Err(SessionStoreError::NotFound {
            snapshot_id: "?".into(),
        }),
    }
}

async fn abort_race<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let one = h.open(b).await?;
    let two = h.open(b).await?;
    let scope = StoreScope::global();

    // Sequential: a completion after an abort is refused and the abort stays.
    let p = put(&one, &scope, &pending("sess-race", None, t(0))).await?;
    one.save_snapshot(&scope, Some(&p.snapshot_id), &abort_mutator)
        .await?;
    let late = two
        .save_snapshot(&scope, Some(&p.snapshot_id), &complete_mutator)
        .await;
    ensure!(
        matches!(late, Err(SessionStoreError::FailedPrecondition { .. })),
        "a late completion was not refused: {late:?}"
    );
    ensure!(
        must_get(&one, &scope, &p.snapshot_id).await?.status == Some(SnapshotStatus::Aborted),
        "a late completion overwrote aborted"
    );

    // Racing, on two instances: exactly one wins, and the stored status is the winner's.
    for round in 0..24u64 {
        let p = put(&one, &scope, &pending("sess-race", None, t(round + 1))).await?;
        let id = p.snapshot_id.clone();
        let (abort, complete) = if round % 2 == 0 {
            futures::join!(
                one.save_snapshot(&scope, Some(&id), &abort_mutator),
                two.save_snapshot(&scope, Some(&id), &complete_mutator)
            )
        } else {
            futures::join!(
                two.save_snapshot(&scope, Some(&id), &abort_mutator),
                one.save_snapshot(&scope, Some(&id), &complete_mutator)
            )
        };
        let stored = must_get(&one, &scope, &id).await?.status();
        match stored {
            SnapshotStatus::Aborted => {
                ensure!(
                    matches!(abort, Ok(Some(_))),
                    "round {round}: stored aborted but the abort answered {abort:?}"
                );
                ensure!(
                    matches!(complete, Err(SessionStoreError::FailedPrecondition { .. })),
                    "round {round}: the completion lost the race but answered {complete:?}"
                );
            }
            SnapshotStatus::Completed => {
                ensure!(
                    matches!(complete, Ok(Some(_))),
                    "round {round}: stored completed but the completion answered {complete:?}"
                );
                ensure!(
                    matches!(abort, Ok(None)),
                    "round {round}: the abort lost the race but answered {abort:?}"
                );
            }
            other => return Err(Fail(format!("round {round}: the race left status {other}"))),
        }
    }
    Ok(())
}

async fn status_subscriber<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let one = h.open(b).await?;
    let scope = StoreScope::global();
    if !one.supports_status_watch() {
        ensure!(
            matches!(
                one.watch_status(&scope, "x").await,
                Err(SessionStoreError::Unsupported(_))
            ),
            "a store without status subscriptions must answer Unsupported"
        );
        return Ok(());
    }
    ensure!(
        one.watch_status(&scope, "no-such-snapshot")
            .await?
            .is_none(),
        "watching a missing snapshot answered a stream"
    );
    let p = put(&one, &scope, &pending("sess-watch", None, t(0))).await?;
    let mut same = one
        .watch_status(&scope, &p.snapshot_id)
        .await?
        .ok_or_else(|| Fail("watch answered None for an existing snapshot".into()))?;
    ensure!(
        next_status(&mut same).await? == Some(SnapshotStatus::Pending),
        "the first value is not the status at subscription"
    );

    // A heartbeat is not a status change; an abort from another instance is.
    let two = h.open(b).await?;
    let mut cross = one
        .watch_status(&scope, &p.snapshot_id)
        .await?
        .ok_or_else(|| Fail("second watch answered None".into()))?;
    ensure!(
        next_status(&mut cross).await? == Some(SnapshotStatus::Pending),
        "the second subscriber's first value is not pending"
    );
    let beat = format_timestamp(t(30));
    two.save_snapshot(&scope, Some(&p.snapshot_id), &|c| {
        Ok(c.map(|c| SessionSnapshot {
            heartbeat_at: Some(beat.clone()),
            ..c.clone()
        }))
    })
    .await?;
    two.save_snapshot(&scope, Some(&p.snapshot_id), &abort_mutator)
        .await?;
    ensure!(
        next_status(&mut cross).await? == Some(SnapshotStatus::Aborted),
        "an abort written by another instance did not reach the subscriber"
    );
    ensure!(
        next_status(&mut same).await? == Some(SnapshotStatus::Aborted),
        "the abort did not reach the first subscriber"
    );

    // A change through the same instance arrives too.
    let q = put(&one, &scope, &pending("sess-watch", None, t(1))).await?;
    let mut local = one
        .watch_status(&scope, &q.snapshot_id)
        .await?
        .ok_or_else(|| Fail("watch answered None".into()))?;
    ensure!(
        next_status(&mut local).await? == Some(SnapshotStatus::Pending),
        "first value not pending"
    );
    one.save_snapshot(&scope, Some(&q.snapshot_id), &complete_mutator)
        .await?;
    ensure!(
        next_status(&mut local).await? == Some(SnapshotStatus::Completed),
        "a completion did not reach the subscriber"
    );
    Ok(())
}

async fn second_instance_reopen<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let scope = StoreScope::global();
    let first = h.open(b).await?;
    let mut saved = Vec::new();
    for (i, session) in ["s-one", "s-two", "s-one", "s-three", "s-one"]
        .iter()
        .enumerate()
    {
        let parent = saved
            .iter()
            .rev()
            .find(|s: &&SessionSnapshot| s.session_id.as_deref() == Some(session))
            .map(|s| s.snapshot_id.clone());
        saved.push(
            put(
                &first,
                &scope,
                &turn(session, parent.as_deref(), t(i as u64), &format!("m{i}")),
            )
            .await?,
        );
    }
    drop(first);
    let second = h.open(b).await?;
    for s in &saved {
        ensure!(
            must_get(&second, &scope, &s.snapshot_id).await? == *s,
            "a new instance reads {} differently",
            s.snapshot_id
        );
    }
    for (session, want) in [
        ("s-one", &saved[4]),
        ("s-two", &saved[1]),
        ("s-three", &saved[3]),
    ] {
        ensure!(
            latest_id(&second, &scope, session, &SnapshotFilter::any()).await?
                == Some(want.snapshot_id.clone()),
            "a new instance finds a different latest of {session}"
        );
    }
    // And back: the first instance (reopened) sees what the second wrote.
    let newer = put(
        &second,
        &scope,
        &turn("s-two", Some(&saved[1].snapshot_id), t(100), "from two"),
    )
    .await?;
    let third = h.open(b).await?;
    ensure!(
        latest_id(&third, &scope, "s-two", &SnapshotFilter::any()).await?
            == Some(newer.snapshot_id),
        "a write of the second instance is not seen by another"
    );
    Ok(())
}

async fn concurrent_writers<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    const WRITERS: usize = 8;
    const SAVES: usize = 25;
    let one = h.open(b).await?;
    let two = h.open(b).await?;
    let scope = StoreScope::global();
    let mut counter = turn("sess-counter", None, t(0), "counter");
    if let Some(state) = counter.state.as_mut() {
        state.custom = Some(json!({"count": 0, "marks": []}));
    }
    put_as(&one, &scope, "counter", &counter).await?;

    let writers = (0..WRITERS).map(|w| {
        let store = if w % 2 == 0 { &one } else { &two };
        let scope = &scope;
        async move {
            let mut new_ids = Vec::new();
            for i in 0..SAVES {
                let mark = format!("{w}-{i}");
                // Pure: the next value depends only on the current one and this save's mark.
                let bump = move |cur: Option<&SessionSnapshot>| {
                    let mut next = cur.cloned().ok_or_else(|| SessionStoreError::NotFound {
                        snapshot_id: "counter".into(),
                    })?;
                    let custom = next
                        .state
                        .get_or_insert_with(Default::default)
                        .custom
                        .get_or_insert_with(|| json!({}));
                    let count = custom["count"].as_u64().unwrap_or(0);
                    custom["count"] = json!(count + 1);
                    if let Some(marks) = custom["marks"].as_array_mut() {
                        marks.push(json!(mark.clone()));
                    }
                    Ok(Some(next))
                };
                store.save_snapshot(scope, Some("counter"), &bump).await?;
                let s = put(
                    store,
                    scope,
                    &turn(
                        &format!("sess-w{w}"),
                        None,
                        t(i as u64),
                        &format!("w{w} s{i}"),
                    ),
                )
                .await?;
                new_ids.push(s.snapshot_id);
            }
            Ok::<Vec<String>, Fail>(new_ids)
        }
    });
    let results = futures::future::join_all(writers).await;
    let mut all_new = Vec::new();
    for r in results {
        all_new.extend(r?);
    }
    let last = must_get(&two, &scope, "counter").await?;
    let custom = last.state.and_then(|s| s.custom).unwrap_or(Value::Null);
    let count = custom["count"].as_u64().unwrap_or(0);
    ensure!(
        count == (WRITERS * SAVES) as u64,
        "{} read-modify-writes landed, {} were made: updates were lost",
        count,
        WRITERS * SAVES
    );
    let marks: HashSet<&str> = custom["marks"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ensure!(
        marks.len() == WRITERS * SAVES,
        "{} distinct writes recorded of {}",
        marks.len(),
        WRITERS * SAVES
    );
    let distinct: HashSet<&String> = all_new.iter().collect();
    ensure!(
        distinct.len() == WRITERS * SAVES,
        "{} distinct new snapshot ids of {}",
        distinct.len(),
        WRITERS * SAVES
    );
    for id in &all_new {
        ensure!(
            one.get_snapshot(&scope, id).await?.is_some(),
            "new snapshot {id} was lost"
        );
    }
    for w in 0..WRITERS {
        let l = one
            .get_latest_snapshot(&scope, &format!("sess-w{w}"), &SnapshotFilter::any())
            .await?;
        let text = l
            .and_then(|s| s.state)
            .map(|s| s.messages()[0].text())
            .unwrap_or_default();
        ensure!(
            text == format!("w{w} s{}", SAVES - 1),
            "writer {w}'s latest is {text:?}"
        );
    }
    Ok(())
}

async fn large_state<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let mut snap = turn("sess-big", None, t(0), "big");
    let chunk: String = "lorem ipsum dolor sit amet, ünïcödé ✓ ".repeat(50);
    let mut messages = Vec::new();
    for i in 0..1_500 {
        messages.push(Message::user(format!("{i}: {chunk}")));
    }
    messages.push(Message::model("x".repeat(2 * 1024 * 1024)));
    if let Some(state) = snap.state.as_mut() {
        state.messages = Some(messages.into());
    }
    let size = serde_json::to_vec(&snap).map(|v| v.len()).unwrap_or(0);
    ensure!(
        size > 4 * 1024 * 1024,
        "the large case's state is only {size} bytes"
    );
    let saved = put(&store, &scope, &snap).await?;
    let other = h.open(b).await?;
    ensure!(
        must_get(&other, &scope, &saved.snapshot_id).await? == saved,
        "a {size}-byte state did not round-trip"
    );
    // A heartbeat-style rewrite keeps it.
    let beat = format_timestamp(t(1));
    store
        .save_snapshot(&scope, Some(&saved.snapshot_id), &|c| {
            Ok(c.map(|c| SessionSnapshot {
                heartbeat_at: Some(beat.clone()),
                ..c.clone()
            }))
        })
        .await?;
    let again = must_get(&other, &scope, &saved.snapshot_id).await?;
    ensure!(
        again.state == saved.state,
        "a rewrite of a large snapshot changed its state"
    );
    Ok(())
}

async fn nul_characters<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let mut snap = turn("sess-nul", None, t(0), "before\u{0}after");
    if let Some(state) = snap.state.as_mut() {
        state
            .messages
            .get_or_insert_with(Default::default)
            .push(Message::new(
                Role::Tool,
                vec![Part::tool_response(ToolResponse::new(
                    "read_file",
                    Some("r\u{0}1".into()),
                    json!({"bytes": "\u{0}\u{1}\u{0}", "ok": true}),
                ))],
            ));
        state.custom = Some(json!({"key\u{0}with nul": "value\u{0}", "nested": ["\u{0}"]}));
    }
    let saved = put(&store, &scope, &snap).await?;
    let other = h.open(b).await?;
    let read = must_get(&other, &scope, &saved.snapshot_id).await?;
    ensure!(
        read == saved,
        "text with U+0000 did not round-trip: {:?}",
        read.state
    );
    ensure!(
        read.state.map(|s| s.messages()[0].text()) == Some("before\u{0}after".into()),
        "the NUL in the user's text was lost"
    );
    Ok(())
}

async fn expired_heartbeat<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let clock = ManualClock::new(t(0));
    let p = put(&store, &scope, &pending("sess-hb", None, clock.now())).await?;
    clock.advance(Duration::from_secs(59));
    let read = must_get(&store, &scope, &p.snapshot_id).await?;
    ensure!(
        read.effective_status(clock.now()) == SnapshotStatus::Pending,
        "a 59 s old heartbeat reads as {}",
        read.effective_status(clock.now())
    );
    clock.advance(Duration::from_secs(2));
    ensure!(
        read.effective_status(clock.now()) == SnapshotStatus::Expired,
        "a 61 s old heartbeat is not expired"
    );
    ensure!(
        !is_resumable(&read, clock.now()),
        "an expired snapshot is resumable"
    );
    ensure!(
        read.status == Some(SnapshotStatus::Pending),
        "the store wrote a computed status: {:?}",
        read.status
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-hb",
            &SnapshotFilter::statuses([SnapshotStatus::Expired], clock.now())
        )
        .await?
            == Some(p.snapshot_id.clone()),
        "latest expired not found"
    );
    // A fresh beat revives it.
    let beat = format_timestamp(clock.now());
    store
        .save_snapshot(&scope, Some(&p.snapshot_id), &|c| {
            Ok(c.map(|c| SessionSnapshot {
                heartbeat_at: Some(beat.clone()),
                ..c.clone()
            }))
        })
        .await?;
    let read = must_get(&store, &scope, &p.snapshot_id).await?;
    ensure!(
        read.effective_status(clock.now()) == SnapshotStatus::Pending,
        "a refreshed heartbeat still reads as expired"
    );
    Ok(())
}

async fn not_found<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    ensure!(
        store.get_snapshot(&scope, "missing").await?.is_none(),
        "a missing snapshot is not None"
    );
    ensure!(
        store
            .get_latest_snapshot(&scope, "no-session", &SnapshotFilter::any())
            .await?
            .is_none(),
        "a missing session's latest is not None"
    );
    ensure!(
        store
            .get_latest_snapshot(&scope, "no-session", &SnapshotFilter::resumable(t(0)))
            .await?
            .is_none(),
        "a missing session's latest resumable is not None"
    );
    let seen = std::sync::Mutex::new(Vec::new());
    let created = store
        .save_snapshot(&scope, Some("fresh"), &|cur| {
            // Records what it saw (tests may; real mutators must not have effects).
            if let Ok(mut s) = seen.lock() {
                s.push(cur.is_some());
            }
            Ok(Some(turn("sess-nf", None, t(0), "new")))
        })
        .await?;
    ensure!(
        created.is_some(),
        "saving under a new chosen id did not create it"
    );
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    ensure!(
        !seen.is_empty() && seen.iter().all(|s| !s),
        "the mutator of a new id was given a current value: {seen:?}"
    );
    Ok(())
}

async fn corrupted_data<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let a1 = put(&store, &scope, &turn("sess-bad", None, t(0), "a1")).await?;
    let a2 = put(
        &store,
        &scope,
        &turn("sess-bad", Some(&a1.snapshot_id), t(1), "a2"),
    )
    .await?;
    let good = put(&store, &scope, &turn("sess-good", None, t(2), "fine")).await?;
    if !h.corrupt(b, &scope, &a2.snapshot_id).await? {
        return Ok(());
    }
    let store = h.open(b).await?;
    match store.get_snapshot(&scope, &a2.snapshot_id).await {
        Err(e @ SessionStoreError::Corrupted { .. }) => {
            ensure!(
                e.status() == Status::DataLoss,
                "corruption maps to {}",
                e.status().name()
            );
            ensure!(
                e.to_string().contains(&a2.snapshot_id),
                "the corruption error does not name the snapshot: {e}"
            );
        }
        other => {
            return Err(Fail(format!(
                "reading a corrupted snapshot answered {other:?}"
            )))
        }
    }
    match store
        .get_latest_snapshot(&scope, "sess-bad", &SnapshotFilter::any())
        .await
    {
        Err(SessionStoreError::Corrupted { .. }) => {}
        Ok(Some(s)) if s.snapshot_id == a1.snapshot_id => {}
        other => {
            return Err(Fail(format!(
                "the latest of a session whose tip is corrupted answered {other:?}"
            )))
        }
    }
    ensure!(
        must_get(&store, &scope, &a1.snapshot_id).await? == a1,
        "an intact snapshot of the damaged session is unreadable"
    );
    ensure!(
        must_get(&store, &scope, &good.snapshot_id).await? == good,
        "another session's snapshot is unreadable"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-good",
            &SnapshotFilter::resumable(t(3))
        )
        .await?
            == Some(good.snapshot_id.clone()),
        "another session's latest is affected"
    );
    let more = put(
        &store,
        &scope,
        &turn("sess-good", Some(&good.snapshot_id), t(4), "still fine"),
    )
    .await?;
    ensure!(
        latest_id(&store, &scope, "sess-good", &SnapshotFilter::any()).await?
            == Some(more.snapshot_id),
        "saving to another session fails after a corruption"
    );
    // Overwriting the damaged snapshot with a mutator is refused (the current value is unknown).
    let rewrite = store
        .save_snapshot(&scope, Some(&a2.snapshot_id), &|c| Ok(c.cloned()))
        .await;
    ensure!(
        matches!(rewrite, Err(SessionStoreError::Corrupted { .. })),
        "a read-modify-write of corrupted data answered {rewrite:?}"
    );
    Ok(())
}

async fn torn_write<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let s = put(&store, &scope, &turn("sess-torn", None, t(0), "intact")).await?;
    if !h.leave_torn_write(b, &scope, &s.snapshot_id).await? {
        return Ok(());
    }
    h.leave_torn_write(b, &scope, "never-renamed").await?;
    let store = h.open(b).await?;
    ensure!(
        must_get(&store, &scope, &s.snapshot_id).await? == s,
        "a torn write changed what a reader sees"
    );
    ensure!(
        store.get_snapshot(&scope, "never-renamed").await?.is_none(),
        "a snapshot that was never renamed into place is visible"
    );
    ensure!(
        latest_id(
            &store,
            &scope,
            "sess-torn",
            &SnapshotFilter::resumable(t(1))
        )
        .await?
            == Some(s.snapshot_id.clone()),
        "a torn write changed the latest"
    );
    let next = put(
        &store,
        &scope,
        &turn("sess-torn", Some(&s.snapshot_id), t(2), "after"),
    )
    .await?;
    ensure!(
        must_get(&store, &scope, &next.snapshot_id).await? == next,
        "saving after a torn write fails"
    );
    Ok(())
}

async fn scopes_are_isolated<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let acme = StoreScope::new("tenants/acme").map_err(Fail::from)?;
    let globex = StoreScope::new("tenants/globex").map_err(Fail::from)?;
    let a = put_as(
        &store,
        &acme,
        "shared-id",
        &turn("shared-session", None, t(0), "acme's"),
    )
    .await?;
    ensure!(
        store.get_snapshot(&globex, "shared-id").await?.is_none(),
        "one scope sees another's snapshot"
    );
    ensure!(
        store
            .get_latest_snapshot(&globex, "shared-session", &SnapshotFilter::any())
            .await?
            .is_none(),
        "one scope sees another's session"
    );
    let g = put_as(
        &store,
        &globex,
        "shared-id",
        &turn("shared-session", None, t(1), "globex's"),
    )
    .await?;
    ensure!(
        must_get(&store, &acme, "shared-id").await? == a,
        "a write in one scope changed another's"
    );
    ensure!(
        must_get(&store, &globex, "shared-id").await? == g,
        "the second scope's write is not there"
    );
    ensure!(
        store
            .get_snapshot(&StoreScope::global(), "shared-id")
            .await?
            .is_none(),
        "the global scope sees a tenant's snapshot"
    );
    Ok(())
}

async fn listing<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let store = h.open(b).await?;
    let scope = StoreScope::global();
    let probe = ListQuery::new(SnapshotFilter::any());
    if matches!(
        store.list_snapshots(&scope, &probe).await,
        Err(SessionStoreError::Unsupported(_))
    ) {
        return Ok(());
    }
    let interrupted = |session: &str, parent: Option<&str>, at: u64| {
        let mut s = turn(session, parent, t(at), "needs approval");
        s.finish_reason = Some(AgentFinishReason::Interrupted);
        s
    };
    // Waiting: two sessions. Answered (has a child): one. Plain answers: one.
    let w1 = put(&store, &scope, &interrupted("sess-l1", None, 1)).await?;
    let w2 = put(&store, &scope, &interrupted("sess-l2", None, 2)).await?;
    let answered = put(&store, &scope, &interrupted("sess-l3", None, 3)).await?;
    let after = put(
        &store,
        &scope,
        &turn("sess-l3", Some(&answered.snapshot_id), t(4), "approved"),
    )
    .await?;
    let _plain = put(&store, &scope, &turn("sess-l4", None, t(5), "hi")).await?;
    let waiting = store
        .list_snapshots(&scope, &ListQuery::pending_interrupts(t(10)))
        .await?;
    let ids: Vec<&str> = waiting
        .snapshots
        .iter()
        .map(|s| s.snapshot_id.as_str())
        .collect();
    ensure!(
        ids == vec![w2.snapshot_id.as_str(), w1.snapshot_id.as_str()],
        "pending interrupts are {ids:?}, expected the two unanswered ones, newest first"
    );

    // Pages of 2 cover everything once, newest first.
    let mut query = ListQuery::new(SnapshotFilter::any());
    query.limit = 2;
    let mut seen = Vec::new();
    loop {
        let page = store.list_snapshots(&scope, &query).await?;
        ensure!(
            page.snapshots.len() <= 2,
            "a page of limit 2 has {}",
            page.snapshots.len()
        );
        seen.extend(page.snapshots.into_iter().map(|s| s.snapshot_id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
        ensure!(seen.len() <= 10, "listing does not end");
    }
    ensure!(
        seen.len() == 5,
        "paging listed {} snapshots of 5: {seen:?}",
        seen.len()
    );
    ensure!(
        seen.first() == Some(&_plain.snapshot_id) && seen.get(1) == Some(&after.snapshot_id),
        "listing is not newest first: {seen:?}"
    );

    let mut one_session = ListQuery::new(SnapshotFilter::any());
    one_session.session_id = Some("sess-l3".into());
    let page = store.list_snapshots(&scope, &one_session).await?;
    ensure!(
        page.snapshots.len() == 2,
        "listing one session gave {} snapshots",
        page.snapshots.len()
    );
    Ok(())
}

async fn resume_claims<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let one = h.open(b).await?;
    let two = h.open(b).await?;
    let acme = StoreScope::new("tenants/acme").map_err(Fail::from)?;
    let globex = StoreScope::new("tenants/globex").map_err(Fail::from)?;

    let missing = one.claim_resume(&acme, "no-such-snapshot", "child").await?;
    ensure!(
        missing.is_none(),
        "a claim on a missing snapshot answered {missing:?}"
    );

    for scope in [&acme, &globex] {
        put_as(
            &one,
            scope,
            "asked",
            &turn("sess-claim", None, t(0), "approve?"),
        )
        .await?;
    }
    let first = one.claim_resume(&acme, "asked", "answer-1").await?;
    ensure!(first.is_none(), "the first claim was refused: {first:?}");
    let again = one.claim_resume(&acme, "asked", "answer-1").await?;
    ensure!(
        again.is_none(),
        "a repeated claim by the same child was refused: {again:?}"
    );
    let other = two.claim_resume(&acme, "asked", "answer-2").await?;
    ensure!(
        other.as_deref() == Some("answer-1"),
        "a second child's claim, on another instance, answered {other:?} (expected it to name answer-1)"
    );
    let elsewhere = two.claim_resume(&globex, "asked", "answer-2").await?;
    ensure!(
        elsewhere.is_none(),
        "a claim in one scope blocked the same snapshot id in another: {elsewhere:?}"
    );
    ensure!(
        must_get(&one, &acme, "asked").await?.status() == SnapshotStatus::Completed,
        "a claim changed the snapshot's status"
    );

    // Racing on two instances: exactly one claimer wins, and every other names it.
    for round in 0..8u64 {
        let id = format!("race-{round}");
        put_as(
            &one,
            &acme,
            &id,
            &turn("sess-claim", None, t(round + 1), "pay?"),
        )
        .await?;
        let children: Vec<String> = (0..8).map(|i| format!("child-{round}-{i}")).collect();
        let claims = futures::future::join_all(children.iter().enumerate().map(|(i, child)| {
            let store = if i % 2 == 0 { &one } else { &two };
            store.claim_resume(&acme, &id, child)
        }))
        .await;
        let mut winners = Vec::new();
        let mut named = Vec::new();
        for (child, claim) in children.iter().zip(claims) {
            match claim? {
                None => winners.push(child.clone()),
                Some(by) => named.push(by),
            }
        }
        ensure!(
            winners.len() == 1,
            "round {round}: {} racing claims won ({winners:?})",
            winners.len()
        );
        ensure!(
            named.iter().all(|by| by == &winners[0]),
            "round {round}: the refused claims named {named:?}, not the winner {}",
            winners[0]
        );
    }
    Ok(())
}

async fn create_only<H: StoreHarness>(h: &H, b: &H::Backing) -> Outcome {
    let one = h.open(b).await?;
    let two = h.open(b).await?;
    let scope = StoreScope::global();

    let mut first = turn("sess-create", None, t(0), "hello");
    first.snapshot_id = "created-1".into();
    let created = one.create_snapshot(&scope, first.clone()).await?;
    ensure!(
        created.as_ref().map(|s| s.snapshot_id.as_str()) == Some("created-1"),
        "a create of a new id answered {created:?}"
    );
    let read = must_get(&two, &scope, "created-1").await?;
    ensure!(
        read.state == first.state,
        "a created snapshot read back with another state"
    );

    // a taken id: a completed turn, and a detached run's pending record
    let mut other = turn("sess-create", None, t(1), "overwrite?");
    other.snapshot_id = "created-1".into();
    let refused = two.create_snapshot(&scope, other).await?;
    ensure!(
        refused.is_none(),
        "a create of a taken id wrote {refused:?}"
    );
    ensure!(
        must_get(&one, &scope, "created-1").await?.state == first.state,
        "a refused create changed the stored snapshot"
    );
    let mut pending = turn("sess-create", Some("created-1"), t(2), "running");
    pending.status = Some(SnapshotStatus::Pending);
    pending.finish_reason = None;
    pending.heartbeat_at = Some(format_timestamp(t(2)));
    put_as(&one, &scope, "pending-1", &pending).await?;
    let mut done = turn("sess-create", Some("created-1"), t(3), "done");
    done.snapshot_id = "pending-1".into();
    let refused = two.create_snapshot(&scope, done).await?;
    ensure!(
        refused.is_none(),
        "a create over a pending record wrote {refused:?}"
    );
    ensure!(
        must_get(&one, &scope, "pending-1").await?.status() == SnapshotStatus::Pending,
        "a refused create changed the pending record"
    );

    // racing creates of one id on two instances: exactly one wins, and its state is stored
    for round in 0..8u64 {
        let id = format!("race-create-{round}");
        let snaps: Vec<SessionSnapshot> = (0..6)
            .map(|i| {
                let mut s = turn("sess-create", None, t(10 + round), &format!("writer {i}"));
                s.snapshot_id = id.clone();
                s
            })
            .collect();
        let results = futures::future::join_all(snaps.iter().enumerate().map(|(i, s)| {
            let store = if i % 2 == 0 { &one } else { &two };
            store.create_snapshot(&scope, s.clone())
        }))
        .await;
        let mut winners = Vec::new();
        for (s, r) in snaps.iter().zip(results) {
            if r?.is_some() {
                winners.push(s.state.clone());
            }
        }
        ensure!(
            winners.len() == 1,
            "round {round}: {} racing creates of one id won",
            winners.len()
        );
        ensure!(
            must_get(&two, &scope, &id).await?.state == winners[0],
            "round {round}: the stored snapshot is not the winner's"
        );
    }
    Ok(())
}
