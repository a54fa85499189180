//! [`PostgresSessionStore`]: the [`SessionStore`] on PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_postgres::{Object, Pool, PoolError};
use genkit_core::session::{
    finalize_snapshot, heartbeat_window, new_snapshot_id, parse_timestamp, validate_id, ListQuery,
    SessionStore, SessionStoreError, SnapshotFilter, SnapshotMutator, SnapshotPage, StatusStream,
    StoreFuture, StoreScope,
};
use genkit_core::{Messages, SessionSnapshot, SessionState, SnapshotStatus};
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

use crate::config::PostgresStoreBuilder;
use crate::connect::{target, Connector};
use crate::error::PostgresError;
use crate::migrate::migrate;
use crate::recent::RecentVersions;
use crate::retry::{with_retries, Failure, RetryPolicy};
use crate::sql::{snapshot_lock_key, Statements, Tables};
use crate::state::{plan, rebuild, Version, Write};
use crate::watch::{payload, subscribe, Hub};

/// A [`SessionStore`] on PostgreSQL: every worker process of an application reaches the same
/// sessions, so any of them can resume a conversation another one paused.
///
/// - **Saves** are one transaction each, holding a per-snapshot advisory lock
///   (`pg_advisory_xact_lock`), so concurrent saves of one snapshot (in any process) serialize
///   and the mutator runs once per save (again only when a retry starts the transaction over).
/// - **States** are stored as checkpoints plus JSON Patch diffs: a turn writes the messages it
///   added, not the history; a read fetches the snapshot and its chain in one query.
/// - **Status subscriptions** ([`watch_status`](SessionStore::watch_status)) hear changes made
///   by other processes through `LISTEN/NOTIFY`, and poll while the listening connection is
///   down: an abort written on one machine reaches the detached turn on another at once.
/// - **Tenancy**: the [`StoreScope`] of each call is a key column; scopes never see each other.
/// - **Failures** are typed: see [`PostgresError`] (found as the source of
///   [`SessionStoreError::Backend`]); retryable ones are retried per the [`RetryPolicy`].
///
/// Clones share the pool.
///
/// ```no_run
/// use genkit_core::session::{SessionStore, SnapshotFilter, StoreScope};
/// use genkit_core::{Message, SessionSnapshot, SessionState};
/// use genkit_postgres::PostgresSessionStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresSessionStore::connect("postgres://app@127.0.0.1/app").await?;
/// let tenant = StoreScope::new("acme")?;
/// let turn = SessionSnapshot::new_turn("chat-1", None, SessionState {
///     messages: Some(vec![Message::user("hello")].into()),
///     ..Default::default()
/// });
/// let saved = store.save_snapshot(&tenant, None, &|_| Ok(Some(turn.clone()))).await?.unwrap();
/// let latest = store.get_latest_snapshot(&tenant, "chat-1", &SnapshotFilter::any()).await?;
/// assert_eq!(latest.map(|s| s.snapshot_id), Some(saved.snapshot_id));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresSessionStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSessionStore")
            .field("target", &self.inner.target)
            .field("schema", &self.inner.tables.schema)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pool: Pool,
    pub(crate) tables: Tables,
    sql: Statements,
    retry: RetryPolicy,
    checkpoint_every: i32,
    /// The state versions last read or written, so continuing a parent's chain mostly needs
    /// no read of the parent.
    recent: RecentVersions,
    pub(crate) pg_config: tokio_postgres::Config,
    pub(crate) connector: Connector,
    pub(crate) hub: Arc<Hub>,
    target: String,
}

/// How many state versions (the last read or written, by snapshot) a store keeps in memory.
/// Each holds its state's messages (shared with the other versions of its conversation that
/// extend the same history) and the rest as a JSON value, so this bounds the memory at that
/// many states.
const RECENT_VERSIONS: usize = 1024;

/// A snapshot as read, with the state version it points at.
struct Stored {
    snapshot: SessionSnapshot,
    version: Option<Arc<Version>>,
}

fn pool_error(e: PoolError) -> PostgresError {
    match e {
        PoolError::Backend(source) => PostgresError::Database {
            operation: "connect",
            source,
        },
        PoolError::Timeout(kind) => PostgresError::Pool(format!("timed out ({kind:?})")),
        other => PostgresError::Pool(other.to_string()),
    }
}

impl PostgresSessionStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=...`) with the
    /// default options, running the migrations. See [`builder`](Self::builder) for the options.
    ///
    /// Fails [`PostgresError::Unreachable`] when no connection can be made, and
    /// [`PostgresError::SchemaTooNew`] when a newer genkit-postgres migrated the schema.
    pub async fn connect(url: impl Into<String>) -> Result<Self, PostgresError> {
        Self::builder(url).connect().await
    }

    /// Options for a store on `url`.
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder::new(url.into())
    }

    pub(crate) async fn start(b: PostgresStoreBuilder) -> Result<Self, PostgresError> {
        let tables = Tables::new(&b.schema)?;
        let pg_config = b.pg_config()?;
        let connector = Connector::for_config(&pg_config)?;
        let pool = connector.pool(
            pg_config.clone(),
            b.pool_size,
            b.connect_timeout,
            b.pool_wait,
        )?;
        let target = target(&pg_config);
        let mut client = pool.get().await.map_err(|e| PostgresError::Unreachable {
            target: target.clone(),
            source: Box::new(pool_error(e)),
        })?;
        migrate(&mut client, &tables, b.run_migrations).await?;
        drop(client);
        let sql = Statements::new(&tables);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                sql,
                tables,
                retry: b.retry,
                checkpoint_every: b.checkpoint_every,
                recent: RecentVersions::new(RECENT_VERSIONS),
                pg_config,
                connector,
                hub: Arc::new(Hub::new(b.poll_interval, b.safety_poll)),
                target,
            }),
        })
    }

    /// The schema the store's tables are in.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), genkit_postgres::PostgresError> {
    /// let store = genkit_postgres::PostgresSessionStore::builder("postgres://app@127.0.0.1/app")
    ///     .schema("support_bot")
    ///     .connect()
    ///     .await?;
    /// assert_eq!(store.schema(), "support_bot");
    /// assert_eq!(store.target(), "127.0.0.1:5432/app");
    /// let (open, idle, max) = store.pool_status();
    /// assert!(open >= idle && max == 16);
    /// # Ok(()) }
    /// ```
    pub fn schema(&self) -> &str {
        &self.inner.tables.schema
    }

    /// `host:port/database` (no credentials). See [`schema`](Self::schema) for an example.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Connections of the pool: `(open, idle, max)`; `open == max` with calls waiting means
    /// the pool is too small. See [`schema`](Self::schema) for an example.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.inner.pool.status();
        (s.size, s.available, s.max_size)
    }

    /// Whether the status listener is connected (subscriptions hear changes by NOTIFY) rather
    /// than polling. False until the first subscription starts it.
    ///
    /// ```no_run
    /// use genkit_core::session::{SessionStore, StoreScope};
    /// # async fn run(store: genkit_postgres::PostgresSessionStore) -> Result<(), Box<dyn std::error::Error>> {
    /// let _statuses = store.watch_status(&StoreScope::global(), "a-detached-turn").await?;
    /// println!("notified: {}", store.is_listening()); // false: polling, the database is away
    /// # Ok(()) }
    /// ```
    pub fn is_listening(&self) -> bool {
        self.inner.hub.is_listening()
    }
}

impl Inner {
    async fn client(&self) -> Result<Object, Failure> {
        self.pool
            .get()
            .await
            .map_err(|e| Failure::Db(pool_error(e)))
    }

    fn location(&self, scope: &StoreScope, id: &str) -> String {
        format!(
            "{} row (scope {:?}, snapshot {id:?})",
            self.tables.snapshots,
            scope.as_str()
        )
    }

    fn corrupted(&self, scope: &StoreScope, id: &str, reason: impl Into<String>) -> Failure {
        Failure::Store(SessionStoreError::Corrupted {
            location: self.location(scope, id),
            reason: reason.into(),
        })
    }

    /// A snapshot from the rows of a read-with-chain statement.
    fn decode(
        &self,
        scope: &StoreScope,
        rows: Vec<Row>,
        asked: &str,
    ) -> Result<Option<Stored>, Failure> {
        self.decode_as(scope, rows, asked, true, None)
    }

    /// As [`decode`](Self::decode); without `typed_state` the state stays a JSON value (in the
    /// version) and is not deserialized: what continuing a parent's chain needs. `known` is
    /// the version the read named as held (`get`'s third parameter): when the row points at
    /// it, no chain came back and the state is rebuilt from it, its messages shared.
    fn decode_as(
        &self,
        scope: &StoreScope,
        rows: Vec<Row>,
        asked: &str,
        typed_state: bool,
        known: Option<Arc<Version>>,
    ) -> Result<Option<Stored>, Failure> {
        let mut rows = rows.into_iter();
        let Some(head) = rows.next() else {
            return Ok(None);
        };
        let id: Option<String> = head
            .try_get(0)
            .map_err(|e| self.corrupted(scope, asked, e.to_string()))?;
        let Some(id) = id else {
            return Ok(None);
        };
        let header: Json<Value> = head
            .try_get(1)
            .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
        let state_id: Option<i64> = head
            .try_get(2)
            .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
        let mut snapshot: SessionSnapshot = serde_json::from_value(header.0)
            .map_err(|e| self.corrupted(scope, &id, format!("header: {e}")))?;
        snapshot.snapshot_id = id.clone();
        let version = match (state_id, known) {
            (None, _) => None,
            (Some(state_id), Some(held)) if held.id == state_id => {
                if typed_state {
                    let mut state = SessionState::deserialize(&held.rest)
                        .map_err(|e| self.corrupted(scope, &id, format!("state: {e}")))?;
                    state.messages = held.messages.clone();
                    snapshot.state = Some(state);
                }
                Some(held)
            }
            (Some(state_id), _) => {
                let mut chain = Vec::new();
                for row in rows {
                    let depth: i32 = row
                        .try_get(3)
                        .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
                    let body: Json<Value> = row
                        .try_get(4)
                        .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
                    chain.push((depth, body.0));
                }
                let (depth, value) = rebuild(chain).map_err(|e| self.corrupted(scope, &id, e))?;
                // the version's messages are the snapshot's own (shared): the turn that goes
                // on from it appends to them, and its save diffs by position
                let messages = if typed_state {
                    let state = SessionState::deserialize(&value)
                        .map_err(|e| self.corrupted(scope, &id, format!("state: {e}")))?;
                    let messages = state.messages.clone();
                    snapshot.state = Some(state);
                    messages
                } else {
                    value
                        .get("messages")
                        .map(Messages::deserialize)
                        .transpose()
                        .map_err(|e| self.corrupted(scope, &id, format!("messages: {e}")))?
                };
                let version = Arc::new(Version::from_value(state_id, depth, value, messages));
                self.recent.put(scope.as_str(), &id, Arc::clone(&version));
                Some(version)
            }
        };
        Ok(Some(Stored { snapshot, version }))
    }

    async fn get_once(&self, scope: &StoreScope, id: &str) -> Result<Option<Stored>, Failure> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.get)
            .await
            .map_err(PostgresError::db("get snapshot"))?;
        let held = self.recent.get(scope.as_str(), id);
        let held_id = held.as_ref().map(|v| v.id);
        let rows = client
            .query(&stmt, &[&scope.as_str(), &id, &held_id])
            .await
            .map_err(PostgresError::db("get snapshot"))?;
        self.decode_as(scope, rows, id, true, held)
    }

    async fn latest_once(
        &self,
        scope: &StoreScope,
        session: &str,
        filter: &SnapshotFilter,
    ) -> Result<Option<Stored>, Failure> {
        let (statuses, cutoff, finish) = filter_params(filter);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.latest)
            .await
            .map_err(PostgresError::db("get latest snapshot"))?;
        let rows = client
            .query(
                &stmt,
                &[&scope.as_str(), &session, &statuses, &cutoff, &finish],
            )
            .await
            .map_err(PostgresError::db("get latest snapshot"))?;
        self.decode(scope, rows, session)
    }

    pub(crate) async fn read_status(
        &self,
        scope: &StoreScope,
        id: &str,
    ) -> Result<Option<SnapshotStatus>, SessionStoreError> {
        with_retries(&self.retry, "read status", || async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&self.sql.status)
                .await
                .map_err(PostgresError::db("read status"))?;
            let row = client
                .query_opt(&stmt, &[&scope.as_str(), &id])
                .await
                .map_err(PostgresError::db("read status"))?;
            Ok(row.map(|r| SnapshotStatus::from_wire(&r.get::<_, String>(0))))
        })
        .await
    }

    /// A claim: one insert, which the primary key turns into nothing when a claim exists;
    /// then, only in that case, the claimant. A retry after a lost reply finds its own claim.
    async fn claim_once(
        &self,
        scope: &StoreScope,
        parent: &str,
        child: &str,
    ) -> Result<Option<String>, Failure> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.claim)
            .await
            .map_err(PostgresError::db("claim resume"))?;
        if client
            .query_opt(&stmt, &[&scope.as_str(), &parent, &child])
            .await
            .map_err(PostgresError::db("claim resume"))?
            .is_some()
        {
            return Ok(None);
        }
        let stmt = client
            .prepare_cached(&self.sql.claimant)
            .await
            .map_err(PostgresError::db("claim resume"))?;
        let row = client
            .query_opt(&stmt, &[&scope.as_str(), &parent])
            .await
            .map_err(PostgresError::db("claim resume"))?;
        // no row: the snapshot does not exist, so there is nothing to claim
        Ok(row.map(|r| r.get::<_, String>(0)).filter(|by| by != child))
    }

    /// A new snapshot in one autocommit statement (see `SessionStore::create_snapshot`);
    /// `None` when the id is taken.
    async fn create_once(
        &self,
        scope: &StoreScope,
        snapshot: &SessionSnapshot,
    ) -> Result<Option<SessionSnapshot>, Failure> {
        let db = PostgresError::db;
        let id = snapshot.snapshot_id.as_str();
        let mut next = finalize_snapshot(id, None, snapshot.clone())?;
        let serialize = |source| SessionStoreError::Serialize {
            snapshot_id: id.to_owned(),
            source,
        };
        let client = self.client().await?;
        let planned = match &next.state {
            None => None,
            Some(state) => {
                let base = match &next.parent_id {
                    None => None,
                    Some(parent) => match self.recent.get(scope.as_str(), parent) {
                        Some(v) => Some(v),
                        None => {
                            // as a save does: continue the parent's chain, or a checkpoint
                            let get = client
                                .prepare_cached(&self.sql.get)
                                .await
                                .map_err(db("create snapshot"))?;
                            let rows = client
                                .query(&get, &[&scope.as_str(), parent, &None::<i64>])
                                .await
                                .map_err(db("create snapshot: read parent"))?;
                            self.decode_as(scope, rows, parent, false, None)
                                .ok()
                                .flatten()
                                .and_then(|s| s.version)
                        }
                    },
                };
                Some(plan(base.as_deref(), state, self.checkpoint_every).map_err(serialize)?)
            }
        };
        let columns = Columns::of(&mut next).map_err(serialize)?;
        let scope_str = scope.as_str();
        let row = columns.params(&scope_str, &id, &next.parent_id);
        let corrupted = |e: tokio_postgres::Error| self.corrupted(scope, id, e.to_string());
        let state_id: Option<i64> = match planned.as_ref().map(|p| &p.write) {
            Some(Write::New {
                base_id,
                depth,
                body,
            }) => {
                let stmt = client
                    .prepare_cached(&self.sql.create_with_state)
                    .await
                    .map_err(db("create snapshot"))?;
                let body = Json(body);
                let extra: [&(dyn ToSql + Sync); 3] = [base_id, depth, &body];
                let params: Vec<&(dyn ToSql + Sync)> = row.iter().copied().chain(extra).collect();
                let written = client
                    .query_one(&stmt, &params)
                    .await
                    .map_err(db("create snapshot: write"))?;
                let inserted: Option<i64> = written.try_get(0).map_err(corrupted)?;
                let used: Option<i64> = written.try_get(1).map_err(corrupted)?;
                match (inserted, used) {
                    (_, Some(state_id)) => Some(state_id),
                    (None, None) => return Ok(None),
                    (Some(unused), None) => {
                        // a racing create took the id after the state row went in
                        let drop = client
                            .prepare_cached(&self.sql.drop_state)
                            .await
                            .map_err(db("create snapshot: drop unused state"))?;
                        client
                            .execute(&drop, &[&unused])
                            .await
                            .map_err(db("create snapshot: drop unused state"))?;
                        return Ok(None);
                    }
                }
            }
            same => {
                let state_id = match same {
                    Some(Write::Same(state_id)) => Some(*state_id),
                    _ => None,
                };
                let stmt = client
                    .prepare_cached(&self.sql.create)
                    .await
                    .map_err(db("create snapshot"))?;
                let params: Vec<&(dyn ToSql + Sync)> =
                    row.iter().copied().chain([&state_id as _]).collect();
                match client
                    .query_opt(&stmt, &params)
                    .await
                    .map_err(db("create snapshot: write"))?
                {
                    None => return Ok(None),
                    Some(written) => written.try_get(0).map_err(corrupted)?,
                }
            }
        };
        if let (Some(state_id), Some(planned)) = (state_id, planned) {
            let version = Arc::new(planned.into_version(state_id));
            self.recent.put(scope.as_str(), id, version);
        }
        Ok(Some(next))
    }

    async fn save_once(
        &self,
        scope: &StoreScope,
        id: &str,
        mutator: &SnapshotMutator<'_>,
    ) -> Result<Option<SessionSnapshot>, Failure> {
        let db = PostgresError::db;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("save snapshot: begin"))?;
        let (lock, get) = futures::join!(
            tx.prepare_cached(&self.sql.lock),
            tx.prepare_cached(&self.sql.get)
        );
        let (lock, get) = (
            lock.map_err(db("save snapshot"))?,
            get.map_err(db("save snapshot"))?,
        );
        let key = snapshot_lock_key(scope.as_str(), id);
        let scope_str = scope.as_str();
        let lock_params: [&(dyn ToSql + Sync); 2] = [&self.tables.lock_namespace, &key];
        let held = self.recent.get(scope_str, id);
        let held_id = held.as_ref().map(|v| v.id);
        let get_params: [&(dyn ToSql + Sync); 3] = [&scope_str, &id, &held_id];
        // pipelined: the lock is taken before the read runs
        let (locked, rows) =
            futures::join!(tx.execute(&lock, &lock_params), tx.query(&get, &get_params));
        locked.map_err(db("save snapshot: lock"))?;
        let rows = rows.map_err(db("save snapshot: read"))?;
        let existing = self.decode_as(scope, rows, id, true, held)?;
        let current = existing.as_ref().map(|s| &s.snapshot);
        let Some(next) = mutator(current)? else {
            tx.rollback().await.map_err(db("save snapshot: rollback"))?;
            return Ok(None);
        };
        let mut next = finalize_snapshot(id, current, next)?;
        let serialize = |source| SessionStoreError::Serialize {
            snapshot_id: id.to_owned(),
            source,
        };

        // the state to point at: none, a version already stored, or a new row written by the
        // same statement as the snapshot's (one round trip for both)
        // and, for the cache, the state and its version's depth
        let planned = match &next.state {
            None => None,
            Some(state) => {
                let own = existing.as_ref().and_then(|s| s.version.clone());
                let base = match (own, &next.parent_id) {
                    (Some(v), _) => Some(v),
                    (None, Some(parent)) => match self.recent.get(scope.as_str(), parent) {
                        Some(v) => Some(v),
                        None => {
                            // continue the parent's chain; a parent that does not read means a
                            // checkpoint
                            let rows = tx
                                .query(&get, &[&scope.as_str(), parent, &None::<i64>])
                                .await
                                .map_err(db("save snapshot: read parent"))?;
                            self.decode_as(scope, rows, parent, false, None)
                                .ok()
                                .flatten()
                                .and_then(|s| s.version)
                        }
                    },
                    (None, None) => None,
                };
                Some(plan(base.as_deref(), state, self.checkpoint_every).map_err(serialize)?)
            }
        };
        let state_id = match planned.as_ref().map(|p| &p.write) {
            Some(Write::Same(state_id)) => Some(*state_id),
            _ => None,
        };

        let columns = Columns::of(&mut next).map_err(serialize)?;
        let status = next.status();
        let changed = current.is_some_and(|c| c.status() != status);
        let snapshot_params = columns.params(&scope_str, &id, &next.parent_id);
        // the body of a new state row: its patch, or the whole state for a checkpoint
        let body = match planned.as_ref().map(|p| &p.write) {
            Some(Write::New { body, .. }) => Some(Json(body)),
            _ => None,
        };
        let (statement, extra): (&str, Vec<&(dyn ToSql + Sync)>) =
            match planned.as_ref().map(|p| &p.write) {
                Some(Write::New { base_id, depth, .. }) => {
                    (&self.sql.upsert_with_state, vec![base_id, depth, &body])
                }
                _ => (&self.sql.upsert, vec![&state_id]),
            };
        let upsert = tx
            .prepare_cached(statement)
            .await
            .map_err(db("save snapshot: write"))?;
        let params: Vec<&(dyn ToSql + Sync)> =
            snapshot_params.iter().copied().chain(extra).collect();
        let write = tx.query_one(&upsert, &params);
        let written = if changed {
            let note = payload(scope, id, &status);
            let notify_params: [&(dyn ToSql + Sync); 2] = [&self.tables.channel, &note];
            let notify = tx.execute(self.sql.notify.as_str(), &notify_params);
            let (w, n) = futures::join!(write, notify);
            n.map_err(db("save snapshot: notify"))?;
            w.map_err(db("save snapshot: write"))?
        } else {
            write.await.map_err(db("save snapshot: write"))?
        };
        let written_state: Option<i64> = written
            .try_get(0)
            .map_err(|e| self.corrupted(scope, id, e.to_string()))?;
        tx.commit().await.map_err(db("save snapshot: commit"))?;
        if changed {
            self.hub.publish(scope.as_str(), id, &status);
        }
        if let (Some(state_id), Some(planned)) = (written_state, planned) {
            let version = Arc::new(planned.into_version(state_id));
            self.recent.put(scope.as_str(), id, version);
        }
        Ok(Some(next))
    }

    async fn list_once(
        &self,
        scope: &StoreScope,
        query: &ListQuery,
    ) -> Result<SnapshotPage, Failure> {
        let db = PostgresError::db;
        let (statuses, cutoff, finish) = filter_params(&query.filter);
        let limit = query.limit.clamp(1, 1000);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.list)
            .await
            .map_err(db("list snapshots"))?;
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &stmt,
                &[
                    &scope.as_str(),
                    &query.session_id,
                    &statuses,
                    &cutoff,
                    &finish,
                    &query.leaves_only,
                    &query.cursor,
                    &fetch,
                ],
            )
            .await
            .map_err(db("list snapshots"))?;
        let more = rows.len() > limit;
        let mut heads = Vec::with_capacity(limit);
        for row in rows.into_iter().take(limit) {
            let id: String = row
                .try_get(0)
                .map_err(|e| self.corrupted(scope, "?", e.to_string()))?;
            let header: Json<Value> = row
                .try_get(1)
                .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
            let state_id: Option<i64> = row
                .try_get(2)
                .map_err(|e| self.corrupted(scope, &id, e.to_string()))?;
            heads.push((id, header.0, state_id));
        }
        let ids: Vec<i64> = heads.iter().filter_map(|(_, _, s)| *s).collect();
        let mut chains: HashMap<i64, Vec<(i32, Value)>> = HashMap::new();
        if !ids.is_empty() {
            let stmt = client
                .prepare_cached(&self.sql.chains)
                .await
                .map_err(db("list snapshots: states"))?;
            for row in client
                .query(&stmt, &[&ids])
                .await
                .map_err(db("list snapshots: states"))?
            {
                let root: i64 = row.get(0);
                let depth: i32 = row.get(1);
                let body: Json<Value> = row
                    .try_get(2)
                    .map_err(|e| self.corrupted(scope, "?", e.to_string()))?;
                chains.entry(root).or_default().push((depth, body.0));
            }
        }
        let mut snapshots = Vec::with_capacity(heads.len());
        for (id, header, state_id) in heads {
            let mut s: SessionSnapshot = serde_json::from_value(header)
                .map_err(|e| self.corrupted(scope, &id, format!("header: {e}")))?;
            s.snapshot_id = id.clone();
            if let Some(state_id) = state_id {
                let chain = chains.remove(&state_id).unwrap_or_default();
                let (_, value) = rebuild(chain).map_err(|e| self.corrupted(scope, &id, e))?;
                s.state = Some(
                    serde_json::from_value(value)
                        .map_err(|e| self.corrupted(scope, &id, format!("state: {e}")))?,
                );
            }
            snapshots.push(s);
        }
        let next_cursor = if more {
            snapshots.last().map(|s| s.snapshot_id.clone())
        } else {
            None
        };
        Ok(SnapshotPage {
            snapshots,
            next_cursor,
        })
    }
}

/// A filter as statement parameters: raw statuses (or none: any), the expiry cutoff, the
/// finish reason.
/// A snapshot's columns but its state, as the write statements take them (`$1` to `$9`).
struct Columns {
    session: String,
    created: SystemTime,
    status: String,
    finish: Option<String>,
    heartbeat: Option<SystemTime>,
    header: Json<Value>,
}

impl Columns {
    /// `next`'s columns; its state is out of it while the header is serialized (no copy).
    fn of(next: &mut SessionSnapshot) -> Result<Self, serde_json::Error> {
        let state = next.state.take();
        let header = serde_json::to_value(&*next);
        next.state = state;
        Ok(Self {
            session: next.session_id.clone().unwrap_or_default(),
            created: parse_timestamp(&next.created_at).unwrap_or(UNIX_EPOCH),
            status: next.status().as_str().to_owned(),
            finish: next.finish_reason.as_ref().map(|f| f.as_str().to_owned()),
            heartbeat: next.heartbeat_at.as_deref().and_then(parse_timestamp),
            header: Json(header?),
        })
    }

    fn params<'a>(
        &'a self,
        scope: &'a &str,
        id: &'a &str,
        parent: &'a Option<String>,
    ) -> [&'a (dyn ToSql + Sync); 9] {
        [
            scope,
            id,
            &self.session,
            parent,
            &self.created,
            &self.status,
            &self.finish,
            &self.heartbeat,
            &self.header,
        ]
    }
}

fn filter_params(filter: &SnapshotFilter) -> (Option<Vec<String>>, SystemTime, Option<String>) {
    let statuses = filter
        .statuses
        .as_ref()
        .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect());
    let cutoff = filter
        .at
        .checked_sub(heartbeat_window().timeout)
        .unwrap_or(UNIX_EPOCH);
    let finish = filter.finish_reason.as_ref().map(|f| f.as_str().to_owned());
    (statuses, cutoff, finish)
}

impl SessionStore for PostgresSessionStore {
    fn get_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            validate_id("snapshot id", snapshot_id)?;
            let inner = &self.inner;
            let found = with_retries(&inner.retry, "get snapshot", || {
                inner.get_once(scope, snapshot_id)
            })
            .await?;
            Ok(found.map(|s| s.snapshot))
        })
    }

    fn get_latest_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        session_id: &'a str,
        filter: &'a SnapshotFilter,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            validate_id("session id", session_id)?;
            let inner = &self.inner;
            let found = with_retries(&inner.retry, "get latest snapshot", || {
                inner.latest_once(scope, session_id, filter)
            })
            .await?;
            Ok(found.map(|s| s.snapshot))
        })
    }

    fn save_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: Option<&'a str>,
        mutator: &'a SnapshotMutator<'a>,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            let id = match snapshot_id {
                Some(id) => {
                    validate_id("snapshot id", id)?;
                    id.to_owned()
                }
                None => new_snapshot_id(),
            };
            let inner = &self.inner;
            with_retries(&inner.retry, "save snapshot", || {
                inner.save_once(scope, &id, mutator)
            })
            .await
        })
    }

    /// One `INSERT .. ON CONFLICT DO NOTHING` (with the state row in the same statement): no
    /// transaction, no lock, one round trip.
    fn create_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot: SessionSnapshot,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        Box::pin(async move {
            validate_id("snapshot id", &snapshot.snapshot_id)?;
            let inner = &self.inner;
            with_retries(&inner.retry, "create snapshot", || {
                inner.create_once(scope, &snapshot)
            })
            .await
        })
    }

    fn claim_resume<'a>(
        &'a self,
        scope: &'a StoreScope,
        parent: &'a str,
        child: &'a str,
    ) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            validate_id("snapshot id", parent)?;
            validate_id("snapshot id", child)?;
            let inner = &self.inner;
            with_retries(&inner.retry, "claim resume", || {
                inner.claim_once(scope, parent, child)
            })
            .await
        })
    }

    fn supports_status_watch(&self) -> bool {
        true
    }

    fn watch_status<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<StatusStream>> {
        Box::pin(async move {
            validate_id("snapshot id", snapshot_id)?;
            subscribe(Arc::clone(&self.inner), scope, snapshot_id).await
        })
    }

    fn list_snapshots<'a>(
        &'a self,
        scope: &'a StoreScope,
        query: &'a ListQuery,
    ) -> StoreFuture<'a, SnapshotPage> {
        Box::pin(async move {
            if let Some(session) = &query.session_id {
                validate_id("session id", session)?;
            }
            if let Some(cursor) = &query.cursor {
                validate_id("cursor", cursor)?;
            }
            let inner = &self.inner;
            with_retries(&inner.retry, "list snapshots", || {
                inner.list_once(scope, query)
            })
            .await
        })
    }
}
