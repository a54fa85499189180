//! [`FileSessionStore`]: one JSON file per snapshot, in Genkit's file-store layout.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::time::format_timestamp;
use super::{
    finalize, leaf_ids, new_snapshot_id, order_key, page_of, validate_id, ListQuery, SessionStore,
    SessionStoreError, SnapshotFilter, SnapshotHeader, SnapshotMutator, SnapshotPage, StatusStream,
    StoreFuture, StoreScope,
};
use crate::wire::{SessionSnapshot, SnapshotStatus};

/// The hidden directory (in each scope) of per-session pointer files, as Genkit names it.
const POINTERS_DIR: &str = ".pointers";
/// The advisory lock file of a scope: writers of every process hold it while they save.
const LOCK_FILE: &str = ".lock";
/// How often a status subscription re-reads the file for changes made by other processes.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A session store on the local file system, in the layout of Genkit JS's and Go's
/// `FileSessionStore`, so a directory written by one is read by the others:
///
/// ```text
/// <root>/<scope>/<snapshotId>.json            one snapshot, pretty-printed JSON
/// <root>/<scope>/.pointers/<sessionId>.json   {"currentSnapshotId", "currentCreatedAt", "updatedAt"}
/// <root>/<scope>/.lock                        advisory lock of writers (genkit-rs only)
/// ```
///
/// The scope is the tenant prefix (`global` by default, like Genkit's). The pointer names the
/// session's latest snapshot so "latest" is two reads instead of a scan; a missing, stale or
/// corrupt pointer falls back to scanning the scope's `*.json` files, as Genkit's do.
///
/// **Durability.** A snapshot is written to a temporary file in the same directory
/// (`<snapshotId>.json.<pid>.<random>.tmp`), flushed (`fsync`), renamed over its name, and the
/// directory is flushed. A crash before the rename leaves only a temp file, which every reader
/// (Genkit's too) ignores: no reader ever sees half a snapshot.
///
/// **Concurrency.** Saves in a scope are serialized by an exclusive `flock` on `<scope>/.lock`
/// (released by the kernel if the process dies) plus an in-process async mutex, so the mutator
/// runs exactly once per save and several processes may share a directory. Genkit JS and Go do
/// not take this lock: a Genkit process writing the same snapshot at the same moment as a
/// genkit-rs one is last-rename-wins, as between two Genkit processes.
///
/// **Status subscriptions** see saves of this store at once and changes written by other
/// processes within the poll interval (500 ms by default).
///
/// Corrupted files: reading one answers [`SessionStoreError::Corrupted`] naming it; scans skip
/// it (with a warning) so one bad file does not hide other sessions.
///
/// ```
/// use genkit_core::session::{FileSessionStore, SessionStore, SnapshotFilter, StoreScope};
/// use genkit_core::{Message, SessionSnapshot, SessionState};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("genkit-doc-{}", std::process::id()));
/// let store = FileSessionStore::new(&dir);
/// let scope = StoreScope::global();
/// let turn = SessionSnapshot::new_turn("chat-7", None, SessionState {
///     messages: Some(vec![Message::user("hello")].into()),
///     ..Default::default()
/// });
/// let saved = store.save_snapshot(&scope, None, &|_| Ok(Some(turn.clone()))).await?.unwrap();
/// assert!(dir.join("global").join(format!("{}.json", saved.snapshot_id)).is_file());
///
/// // Another instance (or process) on the same directory sees it.
/// let again = FileSessionStore::new(&dir);
/// let latest = again.get_latest_snapshot(&scope, "chat-7", &SnapshotFilter::any()).await?;
/// assert_eq!(latest.unwrap().snapshot_id, saved.snapshot_id);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileSessionStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    poll_interval: Duration,
    fsync: bool,
    /// In-process writers of a scope directory queue here before taking the file lock, so
    /// waiting writers do not each park a blocking thread.
    writers: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// Status subscriptions, by snapshot file.
    watchers: Mutex<HashMap<PathBuf, watch::Sender<SnapshotStatus>>>,
}

/// Options of a [`FileSessionStore`].
#[derive(Debug, Clone)]
pub struct FileSessionStoreBuilder {
    root: PathBuf,
    poll_interval: Duration,
    fsync: bool,
}

impl FileSessionStoreBuilder {
    /// How often status subscriptions re-read the file for changes of other processes.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Whether to `fsync` each snapshot and its directory (default on). Off trades crash
    /// durability (not atomicity: a reader still never sees half a snapshot) for speed, for
    /// tests and scratch data.
    pub fn fsync(mut self, on: bool) -> Self {
        self.fsync = on;
        self
    }

    /// The store. Touches nothing on disk until the first save.
    pub fn build(self) -> FileSessionStore {
        FileSessionStore {
            inner: Arc::new(Inner {
                root: self.root,
                poll_interval: self.poll_interval,
                fsync: self.fsync,
                writers: Mutex::default(),
                watchers: Mutex::default(),
            }),
        }
    }
}

/// The per-session pointer file (Genkit Go's shape; Genkit JS reads `currentSnapshotId`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PointerDoc {
    current_snapshot_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl FileSessionStore {
    /// A store rooted at `root` (created on the first save), with the default options.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::builder(root).build()
    }

    /// A builder for a store rooted at `root`.
    pub fn builder(root: impl Into<PathBuf>) -> FileSessionStoreBuilder {
        FileSessionStoreBuilder {
            root: root.into(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            fsync: true,
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The directory of a scope's snapshots.
    pub fn scope_dir(&self, scope: &StoreScope) -> PathBuf {
        let mut dir = self.inner.root.clone();
        for segment in scope.as_str().split('/') {
            dir.push(segment);
        }
        dir
    }

    /// The file snapshot `snapshot_id` of `scope` is stored in.
    pub fn snapshot_path(
        &self,
        scope: &StoreScope,
        snapshot_id: &str,
    ) -> Result<PathBuf, SessionStoreError> {
        validate_id("snapshot id", snapshot_id)?;
        Ok(self.scope_dir(scope).join(format!("{snapshot_id}.json")))
    }

    fn writer_lock(&self, dir: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let mut writers = self.inner.writers.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(writers.entry(dir.to_path_buf()).or_default())
    }

    fn notify(&self, path: &Path, status: &SnapshotStatus) {
        let watchers = self
            .inner
            .watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = watchers.get(path) {
            tx.send_if_modified(|s| {
                let changed = s != status;
                if changed {
                    *s = status.clone();
                }
                changed
            });
        }
    }

    async fn save(
        &self,
        scope: &StoreScope,
        snapshot_id: Option<&str>,
        mutator: &SnapshotMutator<'_>,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        let id = match snapshot_id {
            Some(id) => id.to_owned(),
            None => new_snapshot_id(),
        };
        let path = self.snapshot_path(scope, &id)?;
        let dir = self.scope_dir(scope);
        let queue = self.writer_lock(&dir);
        let _in_process = queue.lock().await;

        let (lock, existing) = {
            let (dir, path) = (dir.clone(), path.clone());
            blocking(move || {
                let lock = lock_scope(&dir)?;
                let existing = read_snapshot(&path)?;
                Ok((lock, existing))
            })
            .await?
        };
        let Some(next) = mutator(existing.as_ref())? else {
            return Ok(None);
        };
        let next = finalize(&id, existing.as_ref(), next)?;
        let is_new = existing.is_none();
        let written = blocking({
            let (dir, path, fsync) = (dir, path.clone(), self.inner.fsync);
            move || write_locked(lock, &dir, &path, next, is_new, fsync)
        })
        .await?;
        self.notify(&path, &written.status());
        Ok(Some(written))
    }

    /// [`SessionStore::create_snapshot`] in one trip to the blocking pool: the id's file is
    /// looked for and written under one hold of the scope's lock, where a
    /// [`save`](Self::save) reads it in one trip and writes in another, with the mutator
    /// between them on the async side.
    async fn create(
        &self,
        scope: &StoreScope,
        snapshot: SessionSnapshot,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        let id = snapshot.snapshot_id.clone();
        let path = self.snapshot_path(scope, &id)?;
        let next = finalize(&id, None, snapshot)?;
        let dir = self.scope_dir(scope);
        let queue = self.writer_lock(&dir);
        let _in_process = queue.lock().await;
        let written = blocking({
            let (path, fsync) = (path.clone(), self.inner.fsync);
            move || {
                let lock = lock_scope(&dir)?;
                match fs::symlink_metadata(&path) {
                    // the id is taken: nothing is written
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(SessionStoreError::io("read", &path, e)),
                }
                write_locked(lock, &dir, &path, next, true, fsync).map(Some)
            }
        })
        .await?;
        if let Some(written) = &written {
            self.notify(&path, &written.status());
        }
        Ok(written)
    }

    async fn latest(
        &self,
        scope: &StoreScope,
        session_id: &str,
        filter: &SnapshotFilter,
    ) -> Result<Option<SessionSnapshot>, SessionStoreError> {
        validate_id("session id", session_id)?;
        let dir = self.scope_dir(scope);
        let session = session_id.to_owned();
        let filter = filter.clone();
        blocking(move || {
            if filter.is_any() {
                if let Some(snap) = via_pointer(&dir, &session)? {
                    return Ok(Some(snap));
                }
            }
            let best = scan(&dir)?
                .into_iter()
                .filter(|(_, h)| h.session_id.as_deref() == Some(session.as_str()))
                .filter(|(_, h)| filter.matches(&h.as_snapshot()))
                .max_by(|(_, a), (_, b)| a.order_key().cmp(&b.order_key()));
            let Some((path, header)) = best else {
                return Ok(None);
            };
            let snap = read_snapshot(&path)?;
            if filter.is_any() && snap.is_some() {
                repair_pointer(&dir, &session, &header);
            }
            Ok(snap)
        })
        .await
    }

    async fn watch(
        &self,
        scope: &StoreScope,
        snapshot_id: &str,
    ) -> Result<Option<StatusStream>, SessionStoreError> {
        let path = self.snapshot_path(scope, snapshot_id)?;
        let current = {
            let path = path.clone();
            blocking(move || read_snapshot(&path)).await?
        };
        let Some(current) = current else {
            return Ok(None);
        };
        let first = current.status();
        let rx = {
            let mut watchers = self
                .inner
                .watchers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            watchers.retain(|_, tx| tx.receiver_count() > 0);
            let tx = watchers
                .entry(path.clone())
                .or_insert_with(|| watch::Sender::new(first.clone()));
            tx.subscribe()
        };
        let poll = self.inner.poll_interval;
        let state = WatchState {
            rx: Some(rx),
            path,
            last: first.clone(),
            poll,
        };
        let changes = futures::stream::unfold(state, |mut st| async move {
            loop {
                let seen = match st.rx.as_mut() {
                    Some(rx) => match tokio::time::timeout(st.poll, rx.changed()).await {
                        Ok(Ok(())) => Some(rx.borrow_and_update().clone()),
                        Ok(Err(_)) => {
                            st.rx = None;
                            None
                        }
                        Err(_) => None,
                    },
                    None => {
                        tokio::time::sleep(st.poll).await;
                        None
                    }
                };
                let status = match seen {
                    Some(s) => s,
                    None => {
                        let path = st.path.clone();
                        match blocking(move || read_snapshot(&path)).await {
                            Ok(Some(snap)) => snap.status(),
                            // The snapshot is gone: nothing more will change.
                            Ok(None) => return None,
                            // Mid-rewrite by a foreign writer, or unreadable for now: try again.
                            Err(_) => continue,
                        }
                    }
                };
                if status != st.last {
                    st.last = status.clone();
                    return Some((status, st));
                }
            }
        });
        Ok(Some(
            futures::stream::once(async move { first })
                .chain(changes)
                .boxed(),
        ))
    }

    async fn list(
        &self,
        scope: &StoreScope,
        query: &ListQuery,
    ) -> Result<SnapshotPage, SessionStoreError> {
        if let Some(session) = &query.session_id {
            validate_id("session id", session)?;
        }
        let dir = self.scope_dir(scope);
        let query = query.clone();
        blocking(move || {
            let all: Vec<(PathBuf, SnapshotHeader)> = scan(&dir)?
                .into_iter()
                .filter(|(_, h)| query.session_id.is_none() || h.session_id == query.session_id)
                .collect();
            let leaves = leaf_ids(all.iter().map(|(_, h)| h));
            let kept: Vec<SnapshotHeader> = all
                .iter()
                .map(|(_, h)| h)
                .filter(|h| !query.leaves_only || leaves.contains(h.snapshot_id.as_str()))
                .filter(|h| query.filter.matches(&h.as_snapshot()))
                .cloned()
                .collect();
            let (page, next_cursor) = page_of(kept, &query);
            let mut snapshots = Vec::with_capacity(page.len());
            for h in page {
                if let Some(s) = read_snapshot(&dir.join(format!("{}.json", h.snapshot_id)))? {
                    snapshots.push(s);
                }
            }
            Ok(SnapshotPage {
                snapshots,
                next_cursor,
            })
        })
        .await
    }
}

struct WatchState {
    rx: Option<watch::Receiver<SnapshotStatus>>,
    path: PathBuf,
    last: SnapshotStatus,
    poll: Duration,
}

/// Runs file I/O off the async threads (on Tokio's blocking pool; inline when there is no Tokio
/// runtime, where nothing async could be blocked).
async fn blocking<T, F>(f: F) -> Result<T, SessionStoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, SessionStoreError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| SessionStoreError::Backend {
                status: crate::Status::Internal,
                message: format!("a file store task did not finish: {e}"),
                source: None,
            })?,
        Err(_) => f(),
    }
}

fn lock_scope(dir: &Path) -> Result<File, SessionStoreError> {
    fs::create_dir_all(dir).map_err(|e| SessionStoreError::io("create directory", dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| SessionStoreError::io("open lock file", &path, e))?;
    fs4::FileExt::lock(&file).map_err(|e| SessionStoreError::io("lock", &path, e))?;
    Ok(file)
}

/// Reads one snapshot file: `None` when it does not exist, [`SessionStoreError::Corrupted`]
/// naming it when it does not parse.
/// Writes `next` to `path` while `lock` (the scope's) is held: the file atomically, the
/// session's pointer when the snapshot is new, then the directory synced; releases the lock.
fn write_locked(
    lock: File,
    dir: &Path,
    path: &Path,
    next: SessionSnapshot,
    is_new: bool,
    fsync: bool,
) -> Result<SessionSnapshot, SessionStoreError> {
    let bytes =
        serde_json::to_vec_pretty(&next).map_err(|source| SessionStoreError::Serialize {
            snapshot_id: next.snapshot_id.clone(),
            source,
        })?;
    atomic_write(path, &bytes, fsync)?;
    if is_new {
        if let Some(session) = next.session_id.as_deref() {
            advance_pointer(dir, session, &next.snapshot_id, &next.created_at);
        }
    }
    if fsync {
        sync_dir(dir)?;
    }
    drop(lock);
    Ok(next)
}

fn read_snapshot(path: &Path) -> Result<Option<SessionSnapshot>, SessionStoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SessionStoreError::io("read", path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| SessionStoreError::Corrupted {
            location: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// Every snapshot file of a scope (`*.json` regular files; temp files, pointers and the lock
/// are not), with its header. Files that vanish mid-scan or do not parse are skipped.
fn scan(dir: &Path) -> Result<Vec<(PathBuf, SnapshotHeader)>, SessionStoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SessionStoreError::io("list", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SessionStoreError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let path = entry.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(SessionStoreError::io("read", &path, e)),
        };
        match serde_json::from_slice::<SnapshotHeader>(&bytes) {
            Ok(h) => out.push((path, h)),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping a corrupted session snapshot file");
            }
        }
    }
    Ok(out)
}

fn pointer_path(dir: &Path, session: &str) -> PathBuf {
    dir.join(POINTERS_DIR).join(format!("{session}.json"))
}

fn read_pointer(dir: &Path, session: &str) -> Option<PointerDoc> {
    let bytes = fs::read(pointer_path(dir, session)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The session's latest snapshot by its pointer, when the pointer names an existing snapshot of
/// that session. `None` sends the caller to the scan.
fn via_pointer(dir: &Path, session: &str) -> Result<Option<SessionSnapshot>, SessionStoreError> {
    let Some(pointer) = read_pointer(dir, session) else {
        return Ok(None);
    };
    if validate_id("snapshot id", &pointer.current_snapshot_id).is_err() {
        return Ok(None);
    }
    let path = dir.join(format!("{}.json", pointer.current_snapshot_id));
    match read_snapshot(&path)? {
        Some(s) if s.session_id.as_deref() == Some(session) => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn write_pointer(dir: &Path, session: &str, snapshot_id: &str, created_at: &str) {
    let doc = PointerDoc {
        current_snapshot_id: snapshot_id.to_owned(),
        current_created_at: Some(created_at.to_owned()),
        updated_at: Some(format_timestamp(SystemTime::now())),
    };
    let path = pointer_path(dir, session);
    let written = serde_json::to_vec_pretty(&doc)
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|bytes| {
            fs::create_dir_all(dir.join(POINTERS_DIR))?;
            atomic_write(&path, &bytes, false).map_err(|e| std::io::Error::other(e.to_string()))
        });
    if let Err(e) = written {
        // The pointer is a cache: the scan finds the latest without it.
        tracing::warn!(file = %path.display(), error = %e, "could not update a session pointer");
    }
}

/// Moves the pointer to a new snapshot when it sorts after the one the pointer names (a
/// back-dated snapshot does not move it). Caller holds the scope lock.
fn advance_pointer(dir: &Path, session: &str, snapshot_id: &str, created_at: &str) {
    let ahead = match read_pointer(dir, session) {
        None => true,
        Some(p) => {
            let current_created = p.current_created_at.clone().or_else(|| {
                read_snapshot(&dir.join(format!("{}.json", p.current_snapshot_id)))
                    .ok()
                    .flatten()
                    .map(|s| s.created_at)
            });
            match current_created {
                None => true,
                Some(c) => {
                    order_key(created_at, snapshot_id) > order_key(&c, &p.current_snapshot_id)
                }
            }
        }
    };
    if ahead {
        write_pointer(dir, session, snapshot_id, created_at);
    }
}

/// Rewrites a missing or stale pointer after a scan, if no writer holds the scope right now.
fn repair_pointer(dir: &Path, session: &str, latest: &SnapshotHeader) {
    let Ok(lock) = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(LOCK_FILE))
    else {
        return;
    };
    if fs4::FileExt::try_lock(&lock).is_ok() {
        advance_pointer(dir, session, &latest.snapshot_id, &latest.created_at);
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, flushed when
/// `fsync`, renamed over `path`. The temp file is removed when anything fails.
fn atomic_write(path: &Path, bytes: &[u8], fsync: bool) -> Result<(), SessionStoreError> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("snapshot.json");
    let tmp = path.with_file_name(format!(
        "{file_name}.{}.{}.tmp",
        std::process::id(),
        &new_snapshot_id()[..8]
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| SessionStoreError::io("create", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| SessionStoreError::io("write", &tmp, e))?;
        if fsync {
            f.sync_all()
                .map_err(|e| SessionStoreError::io("fsync", &tmp, e))?;
        }
        drop(f);
        fs::rename(&tmp, path).map_err(|e| SessionStoreError::io("rename", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) -> Result<(), SessionStoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| SessionStoreError::io("fsync directory", dir, e))
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; its rename is durable with the file's flush.
        let _ = dir;
        Ok(())
    }
}

impl SessionStore for FileSessionStore {
    fn get_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            let path = self.snapshot_path(scope, snapshot_id)?;
            blocking(move || read_snapshot(&path)).await
        })
    }

    fn get_latest_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        session_id: &'a str,
        filter: &'a SnapshotFilter,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(self.latest(scope, session_id, filter))
    }

    fn save_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: Option<&'a str>,
        mutator: &'a SnapshotMutator<'a>,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(self.save(scope, snapshot_id, mutator))
    }

    fn create_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot: SessionSnapshot,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(self.create(scope, snapshot))
    }

    fn supports_status_watch(&self) -> bool {
        true
    }

    fn watch_status<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<StatusStream>> {
        Box::pin(self.watch(scope, snapshot_id))
    }

    fn list_snapshots<'a>(
        &'a self,
        scope: &'a StoreScope,
        query: &'a ListQuery,
    ) -> StoreFuture<'a, SnapshotPage> {
        Box::pin(self.list(scope, query))
    }
}
