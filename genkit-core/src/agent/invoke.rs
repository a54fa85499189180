//! One invocation of an agent: resolve the init, run the body over the inputs, detach on
//! request, and assemble the output.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::future::{select, Either};
use tokio::sync::{mpsc, oneshot};

use super::definition::Agent;
use super::error::AgentError;
use super::runner::{lock, new_snapshot_times, runtime_error, Data, Emitter, Shared};
use super::signal::AbortSignal;
use super::store::{Book, StoreHandle};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::session::{heartbeat_window, new_snapshot_id, SnapshotFilter};
use crate::wire::{
    AgentFinishReason, AgentInit, AgentInput, AgentOutput, AgentStreamChunk, SessionSnapshot,
    SessionState, SnapshotStatus,
};

/// What a caller hands an invocation.
pub(crate) struct Invocation {
    pub init: AgentInit,
    pub inputs: Vec<AgentInput>,
    pub chunks: Option<mpsc::UnboundedSender<AgentStreamChunk>>,
    pub context: ActionContext,
    pub trusted: bool,
    /// The snapshot `init` names, already read (by `load_chat`): used instead of reading it
    /// again. Boxed: the invocation lives in the run's future.
    pub loaded: Option<Box<SessionSnapshot>>,
}

/// What an invocation produced: the wire output, and (for in-process callers) the state the
/// client may see at its end.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub output: AgentOutput,
    pub state: SessionState,
    pub usage: Option<crate::wire::GenerationUsage>,
    /// The snapshot the store saved under `output.snapshot_id`, as it saved it: what a chat
    /// continues from without reading it back.
    pub saved: Option<Box<SessionSnapshot>>,
}

/// The conversation an init names.
pub(crate) struct Resolved {
    pub data: Data,
    pub snapshot: Option<SessionSnapshot>,
}

fn check_id(agent: &str, field: &'static str, id: &str) -> Result<(), AgentError> {
    crate::session::validate_id(field, id).map_err(|e| AgentError::InvalidId {
        agent: agent.to_owned(),
        field,
        value: id.to_owned(),
        reason: e.to_string(),
    })
}

impl<S: 'static> Agent<S> {
    /// The init checks Genkit throws on (the init does not fit the agent).
    pub(crate) fn check_init(&self, init: &AgentInit) -> Result<(), AgentError> {
        let name = &self.inner.name;
        let server = self.inner.store.is_some();
        if !server {
            if init.snapshot_id.is_some() {
                return Err(AgentError::IdSentToClientManaged {
                    agent: name.clone(),
                    field: "snapshotId",
                });
            }
            if init.session_id.is_some() {
                return Err(AgentError::IdSentToClientManaged {
                    agent: name.clone(),
                    field: "sessionId",
                });
            }
        } else if init.state.is_some() {
            return Err(AgentError::StateSentToServerManaged {
                agent: name.clone(),
            });
        }
        if let Some(id) = &init.snapshot_id {
            check_id(name, "snapshotId", id)?;
        }
        if let Some(id) = &init.session_id {
            check_id(name, "sessionId", id)?;
        }
        Ok(())
    }

    fn check_custom(&self, state: &SessionState) -> Result<(), AgentError> {
        match &state.custom {
            Some(c) => {
                (self.inner.check_custom)(c).map_err(|reason| AgentError::InvalidCustomState {
                    agent: self.inner.name.clone(),
                    reason,
                })
            }
            None => Ok(()),
        }
    }

    /// Loads the conversation `init` names, in the agent's own scope.
    pub(crate) async fn resolve(
        &self,
        ai: &Genkit,
        init: &AgentInit,
    ) -> Result<Resolved, GenkitError> {
        self.resolve_in(ai, init, self.inner.store.as_ref(), None)
            .await
    }

    /// Loads the conversation `init` names from `store` (the agent's store in a call's scope);
    /// `loaded` is that snapshot when the caller read it already (then it is checked, not
    /// read again).
    pub(crate) async fn resolve_in(
        &self,
        ai: &Genkit,
        init: &AgentInit,
        store: Option<&StoreHandle>,
        loaded: Option<Box<SessionSnapshot>>,
    ) -> Result<Resolved, GenkitError> {
        self.check_init(init)?;
        let name = &self.inner.name;
        let Some(store) = store else {
            let mut state = init.state.clone().unwrap_or_default();
            self.check_custom(&state)?;
            verify_client_state(ai, &mut state)?;
            let session_id = state.session_id.clone().unwrap_or_else(new_snapshot_id);
            return Ok(Resolved {
                data: Data::from_state(state, session_id),
                snapshot: None,
            });
        };
        let now = SystemTime::now();
        if let Some(id) = &init.snapshot_id {
            let snapshot = match loaded.filter(|s| s.snapshot_id == *id) {
                Some(snapshot) => *snapshot,
                None => store
                    .get(id)
                    .await?
                    .ok_or_else(|| AgentError::SnapshotNotFound {
                        agent: name.clone(),
                        snapshot_id: id.clone(),
                    })?,
            };
            let belongs = snapshot
                .session_id
                .clone()
                .or_else(|| snapshot.state.as_ref().and_then(|s| s.session_id.clone()));
            if let Some(wanted) = &init.session_id {
                if belongs.as_deref() != Some(wanted.as_str()) {
                    return Err(AgentError::WrongSession {
                        snapshot_id: id.clone(),
                        session_id: wanted.clone(),
                        actual: belongs.unwrap_or_else(|| "an unknown session".to_owned()),
                    }
                    .into());
                }
            }
            let status = snapshot.effective_status(now);
            if !continuable(&status) {
                return Err(AgentError::NotResumable {
                    snapshot_id: id.clone(),
                    status,
                }
                .into());
            }
            return self.load_snapshot(snapshot, belongs);
        }
        if let Some(session_id) = &init.session_id {
            let tip = store.latest(session_id, &SnapshotFilter::any()).await?;
            let Some(tip) = tip else {
                // a session id nobody used yet starts that session
                return Ok(Resolved {
                    data: Data {
                        session_id: session_id.clone(),
                        ..Data::default()
                    },
                    snapshot: None,
                });
            };
            let status = tip.effective_status(now);
            let usable = if continuable(&status) {
                Some(tip.clone())
            } else {
                let filter = SnapshotFilter::resumable(now);
                store.latest(session_id, &filter).await?
            };
            let Some(snapshot) = usable else {
                return Err(AgentError::NothingResumable {
                    session_id: session_id.clone(),
                    snapshot_id: tip.snapshot_id,
                    status,
                }
                .into());
            };
            return self.load_snapshot(snapshot, Some(session_id.clone()));
        }
        Ok(Resolved {
            data: Data {
                session_id: new_snapshot_id(),
                ..Data::default()
            },
            snapshot: None,
        })
    }

    fn load_snapshot(
        &self,
        mut snapshot: SessionSnapshot,
        session_id: Option<String>,
    ) -> Result<Resolved, GenkitError> {
        // the state moves into the conversation; the snapshot keeps its identity only
        let state = snapshot.state.take().unwrap_or_default();
        self.check_custom(&state)?;
        let session_id = session_id
            .or_else(|| state.session_id.clone())
            .unwrap_or_else(new_snapshot_id);
        Ok(Resolved {
            data: Data::from_state(state, session_id),
            snapshot: Some(snapshot),
        })
    }

    /// Runs one invocation. Init misuse is an `Err`; everything else (a missing snapshot, a
    /// refused resume, a failing turn) is an output with `finishReason: failed`.
    pub(crate) async fn invoke(
        &self,
        ai: &Genkit,
        inv: Invocation,
    ) -> Result<Outcome, GenkitError> {
        let store = self.store_for(&inv.context)?;
        let resolved = match self
            .resolve_in(ai, &inv.init, store.as_ref(), inv.loaded)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if e.as_agent().is_some_and(AgentError::is_init_misuse) {
                    return Err(e);
                }
                let state = inv.init.state.clone().unwrap_or_default();
                return Ok(Outcome {
                    output: AgentOutput {
                        finish_reason: Some(AgentFinishReason::Failed),
                        error: Some(runtime_error(&e)),
                        state: (!self.is_server_managed())
                            .then(|| self.inner.transform.apply_state(state.clone())),
                        ..Default::default()
                    },
                    state,
                    usage: None,
                    saved: None,
                });
            }
        };
        let Invocation {
            inputs: caller_inputs,
            chunks,
            context,
            trusted,
            ..
        } = inv;
        // futures' channel, not tokio's: tokio's allocates a block of 32 inputs up front, and
        // an invocation mostly carries one
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let parent = resolved.snapshot.as_ref().map(|s| s.snapshot_id.clone());
        let shared = Arc::new(Shared {
            agent: self.inner.name.clone(),
            genkit: ai.clone(),
            context,
            data: Mutex::new(resolved.data.clone()),
            inputs: tokio::sync::Mutex::new(rx),
            queued: Mutex::new(VecDeque::new()),
            emitter: Emitter {
                tx: Mutex::new(chunks),
                detached: AtomicBool::new(false),
                transform: self.inner.transform.clone(),
                first_patch: AtomicBool::new(true),
                last_sent_custom: Mutex::new(serde_json::Value::Null),
            },
            book: Mutex::new(Book {
                last_committed: parent,
                last_good: resolved.data,
                ..Book::default()
            }),
            store,
            abort: AbortSignal::new(),
            trusted,
            branching: self.inner.branching,
            middleware: self.inner.middleware.clone(),
        });

        if !caller_inputs.iter().any(|input| input.detach == Some(true)) {
            // Nothing detaches, so nothing needs the input pipe, the detach channel or a
            // boxed run that could move to a task: the inputs are queued up front (the pipe
            // would queue them all at the body's first wait anyway), and the body runs here.
            for input in caller_inputs {
                if queue(&shared, &input) && tx.unbounded_send(input).is_err() {
                    break;
                }
            }
            drop(tx);
            let result = (self.inner.body)(Arc::clone(&shared)).await;
            return Ok(self.finish(&shared, result).await);
        }

        // the input pipe: forwards inputs, acting on detach at once
        let (detach_tx, detach_rx) = oneshot::channel::<Result<String, GenkitError>>();
        let pipe_shared = Arc::clone(&shared);
        let agent = self.clone();
        let pipe = async move {
            let mut detach_tx = Some(detach_tx);
            for input in caller_inputs {
                let payload = queue(&pipe_shared, &input);
                if input.detach == Some(true) {
                    let result = agent.detach_now(&pipe_shared, &input).await;
                    if let Some(tx) = detach_tx.take() {
                        let _ = tx.send(result);
                    }
                }
                if payload && tx.unbounded_send(input).is_err() {
                    break;
                }
            }
            // no more inputs: the body's loop ends after the queued ones
            drop(tx);
        };

        let body_shared = Arc::clone(&shared);
        let agent = self.clone();
        // runs in the caller's task (dropping the call cancels it); moved to a task of its
        // own only when it detaches
        let mut task: std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>> =
            Box::pin(async move {
                let run = async {
                    let result = (agent.inner.body)(Arc::clone(&body_shared)).await;
                    agent.finish(&body_shared, result).await
                };
                // the pipe ends with the caller's inputs; the body ends when its loop does
                let piped = async move {
                    pipe.await;
                    futures::future::pending::<()>().await
                };
                let run = std::pin::pin!(run);
                let piped = std::pin::pin!(piped);
                match select(run, piped).await {
                    Either::Left((out, _)) => out,
                    Either::Right(((), _)) => unreachable_outcome(&agent),
                }
            });

        let detached_outcome = |id: String| {
            let data = lock(&shared.data).clone();
            Outcome {
                output: AgentOutput {
                    session_id: Some(data.session_id.clone()),
                    snapshot_id: Some(id),
                    finish_reason: Some(AgentFinishReason::Detached),
                    ..Default::default()
                },
                state: self.client_state(ai, data.to_state()),
                usage: None,
                saved: None,
            }
        };
        let detach_result = match select(task.as_mut(), detach_rx).await {
            Either::Left((joined, _)) => {
                // a detached run that finished before we looked still answers as detached
                let detached = lock(&shared.book).detached.clone();
                return Ok(match detached {
                    Some(id) => detached_outcome(id),
                    None => joined,
                });
            }
            Either::Right((result, _)) => result,
        };
        match detach_result {
            // the run goes on in the background
            Ok(Ok(id)) => {
                tokio::spawn(task);
                Ok(detached_outcome(id))
            }
            Ok(Err(e)) => {
                // the run winds down as aborted, in the background
                shared.abort.abort();
                tokio::spawn(task);
                Err(e)
            }
            // the inputs ended without a detach
            Err(_) => Ok(task.await),
        }
    }

    /// Writes the pending snapshot of a detach and switches the run to the background.
    async fn detach_now(
        &self,
        shared: &Arc<Shared>,
        input: &AgentInput,
    ) -> Result<String, GenkitError> {
        let Some(store) = shared.store.clone() else {
            return Err(AgentError::DetachWithoutStore {
                agent: self.inner.name.clone(),
            }
            .into());
        };
        let (id, parent, state) = {
            let mut book = lock(&shared.book);
            let id = match (&book.in_flight, &book.next_id) {
                (Some(id), _) | (None, Some(id)) => id.clone(),
                (None, None) => {
                    let id = new_snapshot_id();
                    book.next_id = Some(id.clone());
                    id
                }
            };
            book.detached = Some(id.clone());
            // the pending record holds what was asked: the state plus every input not yet run
            let mut data = lock(&shared.data).clone();
            data.messages.extend(lock(&shared.queued).iter().cloned());
            let _ = input;
            (id, book.last_committed.clone(), data)
        };
        shared.emitter.detach();
        let now = crate::session::format_timestamp(SystemTime::now());
        let snapshot = SessionSnapshot {
            snapshot_id: id.clone(),
            session_id: Some(state.session_id.clone()),
            parent_id: parent,
            status: Some(SnapshotStatus::Pending),
            heartbeat_at: Some(now),
            state: Some(state.to_state()),
            ..new_snapshot_times()
        };
        store.save_pending(&id, snapshot).await?;
        lock(&self.inner.running).insert(id.clone(), shared.abort.clone());
        // an abort written by another process reaches this run through the store's status watch
        if store.store.supports_status_watch() {
            let watch_store = store.clone();
            let watch_id = id.clone();
            let signal = shared.abort.clone();
            tokio::spawn(async move {
                use futures::StreamExt;
                let Ok(Some(mut statuses)) = watch_store
                    .store
                    .watch_status(&watch_store.scope, &watch_id)
                    .await
                else {
                    return;
                };
                loop {
                    let next = std::pin::pin!(statuses.next());
                    let stop = std::pin::pin!(signal.aborted());
                    match select(next, stop).await {
                        Either::Left((Some(SnapshotStatus::Aborted), _)) => {
                            signal.abort();
                            return;
                        }
                        Either::Left((Some(SnapshotStatus::Pending), _)) => {}
                        // final, gone, or aborted here: nothing left to watch
                        Either::Left(_) | Either::Right(_) => return,
                    }
                }
            });
        }
        // heartbeat until the run settles
        let beat_store = store.clone();
        let beat_id = id.clone();
        let signal = shared.abort.clone();
        let done = Arc::downgrade(shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(heartbeat_window().interval);
            tick.tick().await;
            loop {
                let next = std::pin::pin!(tick.tick());
                let stop = std::pin::pin!(signal.aborted());
                if let Either::Right(_) = select(next, stop).await {
                    return;
                }
                if done.upgrade().is_none() {
                    return;
                }
                if let Err(e) = beat_store.heartbeat(&beat_id).await {
                    tracing::warn!(target: "genkit_core::agent", snapshot = %beat_id, "heartbeat failed: {e}");
                }
            }
        });
        Ok(id)
    }

    /// Settles the invocation once the body returned.
    async fn finish(
        &self,
        shared: &Arc<Shared>,
        result: Result<super::AgentResult, GenkitError>,
    ) -> Outcome {
        let detached = lock(&shared.book).detached.clone();
        if let Some(id) = &detached {
            lock(&self.inner.running).remove(id);
        }
        let mut body_error = None;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                body_error = Some(runtime_error(&e));
                super::AgentResult::default()
            }
        };
        let (store, server) = (shared.store.clone(), self.inner.store.is_some());
        // a detached record whose turn never ran (or a body that failed outside a turn) ends
        if let (Some(store), Some(id)) = (&store, &detached) {
            settle_pending(store, id, shared, body_error.clone()).await;
        }
        let mut book = lock(&shared.book);
        let usage = book.last_usage.clone();
        let failed = book.last_error.clone().or(body_error);
        if let Some(error) = failed {
            let last_good = book.last_good.clone();
            return Outcome {
                output: AgentOutput {
                    session_id: Some(last_good.session_id.clone()),
                    finish_reason: Some(AgentFinishReason::Failed),
                    error: Some(error),
                    artifacts: result.artifacts.filter(|a| !a.is_empty()),
                    message: last_good.messages.last().cloned(),
                    snapshot_id: if server {
                        book.last_committed.clone()
                    } else {
                        None
                    },
                    state: (!server)
                        .then(|| self.client_state(&shared.genkit, last_good.to_state())),
                },
                state: self.client_state(&shared.genkit, last_good.to_state()),
                usage,
                saved: None,
            };
        }
        let finish = result.finish_reason.or_else(|| book.last_finish.clone());
        let (session_id, state) = {
            let data = lock(&shared.data);
            (data.session_id.clone(), data.to_state())
        };
        let state = self.client_state(&shared.genkit, state);
        // set with `last_committed`, so it is that snapshot
        let saved = book.last_saved.take();
        Outcome {
            output: AgentOutput {
                session_id: Some(session_id),
                artifacts: result.artifacts.filter(|a| !a.is_empty()),
                message: result.message,
                finish_reason: finish,
                snapshot_id: if server {
                    book.last_committed.clone()
                } else {
                    None
                },
                state: (!server).then(|| state.clone()),
                error: None,
            },
            state,
            usage,
            saved,
        }
    }
}

/// Completed and failed snapshots are resume points; pending, expired and aborted are not
/// (the one rule, [`is_resumable`](crate::session::is_resumable)).
fn continuable(status: &SnapshotStatus) -> bool {
    crate::session::snapshot::resumable_status(status)
}

/// Ends a detached record still pending when the body returns.
async fn settle_pending(
    store: &StoreHandle,
    id: &str,
    shared: &Arc<Shared>,
    error: Option<crate::wire::RuntimeError>,
) {
    let Ok(Some(current)) = store.get(id).await else {
        return;
    };
    if current.status() != SnapshotStatus::Pending {
        return;
    }
    let data = lock(&shared.data).clone();
    let parent = lock(&shared.book).last_committed.clone();
    let (status, finish) = match &error {
        Some(_) => (SnapshotStatus::Failed, AgentFinishReason::Failed),
        None => (SnapshotStatus::Completed, AgentFinishReason::Stop),
    };
    let snapshot = SessionSnapshot {
        snapshot_id: id.to_owned(),
        session_id: Some(data.session_id.clone()),
        parent_id: parent.filter(|p| p != id),
        status: Some(status),
        finish_reason: Some(finish),
        error,
        state: Some(data.to_state()),
        ..new_snapshot_times()
    };
    if let Err(e) = store.save_unless_aborted(id, snapshot).await {
        tracing::warn!(target: "genkit_core::agent", snapshot = %id, "settling the detached run failed: {e}");
    }
}

/// Verifies client-held state before anything reads it: on a sealed instance its messages must
/// carry the state seal this agent put on them (an edited tool input, a forged restart or an
/// injected tool result is `PERMISSION_DENIED`), and the seal is taken off (it lives on the
/// wire only). Without a seal the state is taken as sent; resumes are still checked against it.
fn verify_client_state(ai: &Genkit, state: &mut SessionState) -> Result<(), GenkitError> {
    let Some(seal) = ai.history_seal() else {
        return Ok(());
    };
    seal.verify_agent_state(state)?;
    if let Some(last) = state.messages.as_mut().and_then(|m| m.last_mut()) {
        if let Some(meta) = last.metadata.as_mut() {
            meta.remove(crate::protocol::STATE_SEAL);
            if meta.is_empty() {
                last.metadata = None;
            }
        }
    }
    Ok(())
}

impl<S> Agent<S> {
    /// The state a client may see: transformed, and on a sealed instance (client-managed
    /// agents) sealed, so that it comes back unchanged or is refused.
    pub(crate) fn client_state(&self, ai: &Genkit, state: SessionState) -> SessionState {
        let mut state = self.inner.transform.apply_state(state);
        if self.inner.store.is_none() {
            if let Some(seal) = ai.history_seal() {
                if let Err(e) = seal.seal_agent_state(&mut state) {
                    // fails closed: an unsealed state is refused when it comes back
                    tracing::error!(target: "genkit_core::agent", agent = %self.inner.name, "sealing the client state failed: {e}");
                }
            }
        }
        state
    }
}

/// Whether `input` is for the body (a message or a resume). Its message is queued first, so
/// a detach's pending record holds every input not yet run.
fn queue(shared: &Shared, input: &AgentInput) -> bool {
    if let Some(m) = &input.message {
        lock(&shared.queued).push_back(m.clone());
        return true;
    }
    super::validate::is_resume(input)
}

fn stopped<S>(agent: &Agent<S>, reason: &str) -> GenkitError {
    AgentError::Stopped {
        agent: agent.inner.name.clone(),
        reason: reason.to_owned(),
    }
    .into()
}

fn unreachable_outcome<S>(agent: &Agent<S>) -> Outcome {
    let e = stopped(agent, "the input pipe ended the run");
    Outcome {
        output: AgentOutput {
            finish_reason: Some(AgentFinishReason::Failed),
            error: Some(runtime_error(&e)),
            ..Default::default()
        },
        state: SessionState::default(),
        usage: None,
        saved: None,
    }
}
