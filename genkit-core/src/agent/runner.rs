//! [`SessionRunner`]: what a custom agent's body works with: the conversation state, the turn
//! loop over inputs, the chunk sender.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::definition::ClientTransform;
use super::error::AgentError;
use super::patch;
use super::signal::AbortSignal;
use super::store::{Book, StoreHandle};
use super::validate;
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::generate::{GenerateBuilder, GenerateResponse};
use crate::genkit::Genkit;
use crate::session::format_timestamp;
use crate::status::Status;
use crate::wire::{
    AgentFinishReason, AgentInput, AgentStreamChunk, Artifact, GenerationUsage, Message, Messages,
    RuntimeError, SessionSnapshot, SessionState, SnapshotStatus, TurnEnd,
};

/// The live conversation of one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Data {
    pub session_id: String,
    pub messages: Messages,
    pub custom: Option<Value>,
    pub artifacts: Vec<Artifact>,
}

impl Data {
    pub(crate) fn from_state(state: SessionState, session_id: String) -> Self {
        Data {
            session_id,
            messages: state.messages.unwrap_or_default(),
            custom: state.custom,
            artifacts: state.artifacts.unwrap_or_default(),
        }
    }

    pub(crate) fn to_state(&self) -> SessionState {
        SessionState {
            session_id: Some(self.session_id.clone()),
            messages: Some(self.messages.clone()),
            custom: self.custom.clone(),
            artifacts: Some(self.artifacts.clone()),
        }
    }
}

/// Where the invocation's chunks go, and whether they still go anywhere (a detached run
/// streams nothing).
pub(crate) struct Emitter {
    /// Taken (closing the caller's stream) when the run detaches.
    pub tx: Mutex<Option<mpsc::UnboundedSender<AgentStreamChunk>>>,
    pub detached: std::sync::atomic::AtomicBool,
    pub transform: ClientTransform,
    /// The first custom-state patch of a turn replaces the whole document.
    pub first_patch: std::sync::atomic::AtomicBool,
    pub last_sent_custom: Mutex<Value>,
}

impl Emitter {
    /// Stops streaming: the caller's stream ends, the run goes on.
    pub(crate) fn detach(&self) {
        self.detached
            .store(true, std::sync::atomic::Ordering::SeqCst);
        lock(&self.tx).take();
    }

    pub(crate) fn is_detached(&self) -> bool {
        self.detached.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether a caller reads the chunks (once false, false for good: the sender is only ever
    /// taken away).
    pub(crate) fn streams(&self) -> bool {
        !self.is_detached() && lock(&self.tx).as_ref().is_some_and(|tx| !tx.is_closed())
    }

    pub(crate) fn emit(&self, chunk: AgentStreamChunk) {
        if self.is_detached() {
            return;
        }
        let tx = lock(&self.tx);
        let Some(tx) = tx.as_ref() else { return };
        let chunk = match &self.transform.chunk {
            Some(f) => match f(chunk) {
                Some(c) => c,
                None => return,
            },
            None => chunk,
        };
        // a closed receiver means the caller stopped listening; the turn goes on
        let _ = tx.send(chunk);
    }

    fn client_custom(&self, data: &Data) -> Value {
        let state = data.to_state();
        let state = match &self.transform.state {
            Some(f) => f(state),
            None => state,
        };
        state.custom.unwrap_or(Value::Null)
    }

    fn custom_changed(&self, data: &Data) {
        if self.is_detached() || lock(&self.tx).is_none() {
            return;
        }
        let now = self.client_custom(data);
        let mut last = lock(&self.last_sent_custom);
        let patch = if self
            .first_patch
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            patch::replace_root(&now)
        } else {
            patch::diff(&last, &now)
        };
        *last = now;
        drop(last);
        if !patch.0.is_empty() {
            self.emit(AgentStreamChunk {
                custom_patch: Some(patch),
                ..Default::default()
            });
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // the data stays consistent: every critical section is a plain assignment
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Everything one invocation shares between its body, its input pipe and its caller.
pub(crate) struct Shared {
    pub agent: String,
    pub genkit: Genkit,
    pub context: ActionContext,
    pub data: Mutex<Data>,
    pub inputs: tokio::sync::Mutex<futures::channel::mpsc::UnboundedReceiver<AgentInput>>,
    /// Messages of inputs received but not yet started (a detached snapshot records them).
    pub queued: Mutex<VecDeque<Message>>,
    pub emitter: Emitter,
    pub book: Mutex<Book>,
    pub store: Option<StoreHandle>,
    pub abort: AbortSignal,
    /// In-process callers may restart with a replaced input; wire callers may not.
    pub trusted: bool,
    /// Whether an interrupted snapshot may be resumed more than once.
    pub branching: bool,
    /// The agent's middleware ([`AgentBuilder::middleware`](super::AgentBuilder::middleware)).
    pub middleware: Vec<std::sync::Arc<dyn crate::middleware::Middleware>>,
}

/// What a turn handler reports back.
#[derive(Debug, Clone, Default)]
pub struct TurnResult {
    /// Why the turn ended; `None` reports no reason.
    pub finish_reason: Option<AgentFinishReason>,
}

impl TurnResult {
    /// A turn that ended for `reason`.
    pub fn finished(reason: AgentFinishReason) -> Self {
        Self {
            finish_reason: Some(reason),
        }
    }
}

/// Where a turn sits in the conversation.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The id the turn's snapshot is stored under (reserved before the turn runs, so the
    /// handler can name external resources after it); `None` without a store.
    pub snapshot_id: Option<String>,
    /// The snapshot the turn continues.
    pub parent_snapshot_id: Option<String>,
    /// The turn's index within this invocation, from 0.
    pub turn_index: u32,
    /// Fires when the run is aborted.
    pub abort: AbortSignal,
}

/// The session a custom agent's body runs over: the conversation state (messages, custom state
/// `S`, artifacts), the loop over the invocation's inputs ([`run`](Self::run)), and the chunk
/// sender. Cheap to clone.
pub struct SessionRunner<S = ()> {
    pub(crate) shared: Arc<Shared>,
    _state: PhantomData<fn() -> S>,
}

impl<S> Clone for SessionRunner<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            _state: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for SessionRunner<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRunner")
            .field("agent", &self.shared.agent)
            .finish_non_exhaustive()
    }
}

impl<S> SessionRunner<S>
where
    S: Serialize + DeserializeOwned,
{
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            _state: PhantomData,
        }
    }

    /// The Genkit instance running the agent.
    pub fn genkit(&self) -> &Genkit {
        &self.shared.genkit
    }

    /// The caller's context (auth and the like).
    pub fn context(&self) -> &ActionContext {
        &self.shared.context
    }

    /// The middleware the agent was built with
    /// ([`AgentBuilder::middleware`](super::AgentBuilder::middleware)), outermost first: a
    /// custom agent passes them to its generate calls with
    /// [`middleware_arc`](crate::generate::GenerateBuilder::middleware_arc).
    pub fn middleware(&self) -> &[std::sync::Arc<dyn crate::middleware::Middleware>] {
        &self.shared.middleware
    }

    /// The conversation's session id.
    pub fn session_id(&self) -> String {
        lock(&self.shared.data).session_id.clone()
    }

    /// The whole state, as the wire carries it.
    pub fn state(&self) -> SessionState {
        lock(&self.shared.data).to_state()
    }

    /// The messages so far, copied out (see [`history`](Self::history) for a shared view).
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.shared.data).messages.iter().cloned().collect()
    }

    /// The messages so far, shared: no copy until one side changes them.
    pub fn history(&self) -> Messages {
        lock(&self.shared.data).messages.clone()
    }

    /// Appends messages.
    pub fn add_messages(&self, messages: impl IntoIterator<Item = Message>) {
        lock(&self.shared.data).messages.extend(messages);
    }

    /// Replaces the messages.
    pub fn set_messages(&self, messages: Vec<Message>) {
        self.set_history(messages.into());
    }

    /// Replaces the messages with a shared history (as [`history`](Self::history) returns).
    pub fn set_history(&self, messages: Messages) {
        lock(&self.shared.data).messages = messages;
    }

    /// The custom state; `Ok(None)` when there is none yet.
    pub fn custom(&self) -> Result<Option<S>, GenkitError> {
        let value = lock(&self.shared.data).custom.clone();
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| invalid_custom(&self.shared.agent, e).into()),
        }
    }

    /// Replaces the custom state (streamed to the caller as a `customPatch`).
    pub fn set_custom(&self, custom: S) -> Result<(), GenkitError> {
        let value = serde_json::to_value(custom)
            .map_err(|e| GenkitError::json("the agent's custom state", e))?;
        let mut data = lock(&self.shared.data);
        data.custom = Some(value);
        self.shared.emitter.custom_changed(&data);
        Ok(())
    }

    /// Updates the custom state from its current value.
    pub fn update_custom(&self, f: impl FnOnce(Option<S>) -> S) -> Result<(), GenkitError> {
        let now = self.custom()?;
        self.set_custom(f(now))
    }

    /// The artifacts so far.
    pub fn artifacts(&self) -> Vec<Artifact> {
        lock(&self.shared.data).artifacts.clone()
    }

    /// Adds artifacts; one with the name of an earlier one replaces it. Each is streamed.
    pub fn add_artifacts(&self, artifacts: impl IntoIterator<Item = Artifact>) {
        for artifact in artifacts {
            {
                let mut data = lock(&self.shared.data);
                let slot = artifact.name.as_ref().and_then(|n| {
                    data.artifacts
                        .iter()
                        .position(|a| a.name.as_ref() == Some(n))
                });
                match slot {
                    Some(i) => data.artifacts[i] = artifact.clone(),
                    None => data.artifacts.push(artifact.clone()),
                }
            }
            self.shared.emitter.emit(AgentStreamChunk {
                artifact: Some(artifact),
                ..Default::default()
            });
        }
    }

    /// Sends a chunk to the caller (nothing when the run is detached).
    pub fn send_chunk(&self, chunk: AgentStreamChunk) {
        self.shared.emitter.emit(chunk);
    }

    /// Whether anyone reads the chunks [`send_chunk`](Self::send_chunk) sends: false for a
    /// plain `send`, a detached run or a caller that dropped its stream, and false from then
    /// on. A body may skip producing chunks (streaming a model call) when it is.
    pub fn streams(&self) -> bool {
        self.shared.emitter.streams()
    }

    /// Runs a model call of this turn the way prompt agents run theirs: streamed when someone
    /// reads the turn's chunks, each model chunk forwarded as the turn's own (the aggregated
    /// repeat of an interrupted message left out, as the turn's end announces it), and a plain
    /// call otherwise, with no stream to drive. The usage is not recorded: pass the response's
    /// [`total_usage`](crate::GenerateResponse::total_usage) to
    /// [`record_usage`](Self::record_usage) when the turn should report it.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use genkit_core::agent::{Agent, SessionRunner};
    /// use genkit_core::prelude::*;
    /// use genkit_core::testing::EchoModel;
    /// use genkit_core::AgentResult;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// let agent: Agent = Agent::custom("echo", |sess: SessionRunner| async move {
    ///     let turn_sess = sess.clone();
    ///     sess.run(move |_input, _turn| {
    ///         let sess = turn_sess.clone();
    ///         async move {
    ///             let call = sess.genkit().generate().model("echo").messages(sess.messages());
    ///             let response = sess.generate(call).await?;
    ///             sess.set_messages(response.messages().to_vec());
    ///             Ok(Default::default())
    ///         }
    ///     })
    ///     .await?;
    ///     Ok(AgentResult { message: sess.messages().last().cloned(), ..Default::default() })
    /// })
    /// .build();
    /// let ai = Genkit::builder().model(EchoModel::new("echo")).agent(agent.clone()).build()?;
    /// let mut chat = agent.chat(&ai);
    /// let mut stream = chat.send_stream("hello");
    /// let mut streamed = String::new();
    /// while let Some(chunk) = stream.next().await {
    ///     if let Some(model_chunk) = chunk.model_chunk {
    ///         streamed.push_str(&model_chunk.text());
    ///     }
    /// }
    /// assert!(stream.response().await?.text().contains("hello"));
    /// assert!(streamed.contains("hello"));
    /// # Ok(()) }
    /// ```
    pub async fn generate(&self, call: GenerateBuilder) -> Result<GenerateResponse, GenkitError> {
        if !self.streams() {
            return call.await;
        }
        let mut stream = call.stream();
        while let Some(chunk) = stream.next().await {
            if chunk.aggregated == Some(true) {
                continue;
            }
            self.send_chunk(AgentStreamChunk {
                model_chunk: Some(chunk),
                ..Default::default()
            });
        }
        stream.response().await
    }

    /// Fires when the run is aborted.
    pub fn abort_signal(&self) -> AbortSignal {
        self.shared.abort.clone()
    }

    /// Adds the usage of model calls to the invocation's usage (what the caller's response
    /// reports: the sum over every model call of the turns it ran). Call it once per model
    /// call, or once with a generation's [`total_usage`](crate::GenerateResponse::total_usage).
    pub fn record_usage(&self, usage: GenerationUsage) {
        lock(&self.shared.book)
            .last_usage
            .get_or_insert_with(Default::default)
            .add(&usage);
    }

    /// Runs `turn` once per input, in order, until the inputs end, a turn fails or the run is
    /// aborted.
    ///
    /// Before each turn the input is checked against the history the agent holds: resume
    /// answers must match pending tool requests (see the crate's agent guide), and a message
    /// while requests are pending is refused. A refused input or a failing turn ends the loop
    /// with a failed snapshot at the last turn seam; the error is in the invocation's output.
    pub async fn run<F, Fut>(&self, mut turn: F) -> Result<(), GenkitError>
    where
        F: FnMut(AgentInput, TurnContext) -> Fut,
        Fut: Future<Output = Result<TurnResult, GenkitError>>,
    {
        loop {
            let input = {
                let mut rx = self.shared.inputs.lock().await;
                match futures::StreamExt::next(&mut *rx).await {
                    Some(input) => input,
                    None => return Ok(()),
                }
            };
            if !self.run_one(input, &mut turn).await {
                return Ok(());
            }
        }
    }

    /// One turn; false when the loop must stop.
    async fn run_one<F, Fut>(&self, input: AgentInput, turn: &mut F) -> bool
    where
        F: FnMut(AgentInput, TurnContext) -> Fut,
        Fut: Future<Output = Result<TurnResult, GenkitError>>,
    {
        let shared = &self.shared;
        // reserve the turn's snapshot id and take the input in, under the book's lock so a
        // concurrent detach sees either the queued input or the started turn
        let ctx = {
            let mut book = lock(&shared.book);
            let id = shared.store.as_ref().map(|_| {
                book.next_id
                    .take()
                    .unwrap_or_else(crate::session::new_snapshot_id)
            });
            book.in_flight = id.clone();
            if input.message.is_some() {
                lock(&shared.queued).pop_front();
            }
            TurnContext {
                snapshot_id: id,
                parent_snapshot_id: book.last_committed.clone(),
                turn_index: book.turn_index,
                abort: shared.abort.clone(),
            }
        };
        shared
            .emitter
            .first_patch
            .store(true, std::sync::atomic::Ordering::SeqCst);

        let mut input = input;
        let abandon = validate::take_abandon(&mut input, shared.trusted);
        let (checked, abandoning) = {
            let data = lock(&shared.data);
            match &abandon {
                Some(_) if input.resume.is_some() => (Err(AgentError::MessageWithResume), false),
                Some(_) => (
                    Ok(()),
                    !crate::tool::Interrupt::pending_in(&data.messages).is_empty(),
                ),
                None => (
                    validate::check_input(&input, &data.messages, shared.trusted),
                    false,
                ),
            }
        };
        let outcome: Result<TurnResult, GenkitError> = match checked {
            Err(e) => Err(e.into()),
            Ok(()) => match self.claim(&input, abandoning, &ctx).await {
                Err(e) => Err(e),
                Ok(()) => {
                    if let (Some(reason), true) = (&abandon, abandoning) {
                        validate::abandon(&mut lock(&shared.data).messages, reason);
                    }
                    if let Some(m) = &input.message {
                        lock(&shared.data).messages.push(m.clone());
                    }
                    let abort = shared.abort.clone();
                    let work = std::pin::pin!(turn(input.clone(), ctx.clone()));
                    let aborted = std::pin::pin!(abort.aborted());
                    match futures::future::select(work, aborted).await {
                        futures::future::Either::Left((r, _)) => r,
                        futures::future::Either::Right(((), _)) => {
                            self.end_aborted();
                            return false;
                        }
                    }
                }
            },
        };
        if shared.abort.is_aborted() {
            self.end_aborted();
            return false;
        }
        match outcome {
            Ok(result) => self.commit(&ctx, result.finish_reason).await,
            Err(e) => {
                self.fail(&ctx, &input, &e).await;
                false
            }
        }
    }

    fn end_aborted(&self) {
        let mut book = lock(&self.shared.book);
        book.last_finish = Some(AgentFinishReason::Aborted);
        book.last_error = None;
        book.in_flight = None;
        let id = book.last_committed.clone();
        drop(book);
        self.turn_end(id, Some(AgentFinishReason::Aborted));
    }

    fn turn_end(&self, snapshot_id: Option<String>, finish_reason: Option<AgentFinishReason>) {
        self.shared.emitter.emit(AgentStreamChunk {
            turn_end: Some(TurnEnd {
                snapshot_id: self.shared.store.as_ref().and(snapshot_id),
                finish_reason,
            }),
            ..Default::default()
        });
    }

    /// Marks the interrupted snapshot a resume answers as consumed (unless the agent branches).
    async fn claim(
        &self,
        input: &AgentInput,
        abandoning: bool,
        ctx: &TurnContext,
    ) -> Result<(), GenkitError> {
        let (Some(store), Some(parent), Some(child)) = (
            &self.shared.store,
            &ctx.parent_snapshot_id,
            &ctx.snapshot_id,
        ) else {
            return Ok(());
        };
        if self.shared.branching || !(abandoning || validate::is_resume(input)) {
            return Ok(());
        }
        // A claim the history itself records (`agentResumedBy` on the interrupted message)
        // holds too, whichever way the store keeps claims now: the default claim writes it
        // there, and so did stores before they kept claims apart (the PostgreSQL store's
        // schema 1), whose claims a store that only reads its own table would miss.
        let recorded = {
            let data = lock(&self.shared.data);
            data.messages
                .last()
                .and_then(|m| m.metadata.as_ref())
                .and_then(|m| m.get(crate::session::CONSUMED_BY))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(consumed_by) = recorded.filter(|by| by != child) {
            return Err(AgentError::AlreadyResumed {
                snapshot_id: parent.clone(),
                consumed_by,
            }
            .into());
        }
        store.claim_resume(parent, child).await
    }

    async fn commit(&self, ctx: &TurnContext, finish: Option<AgentFinishReason>) -> bool {
        let shared = &self.shared;
        let mut stop = false;
        // the seam to roll back to; from a store, the state it saved (one copy less)
        let mut seam = None;
        let mut saved_snapshot = None;
        if let (Some(store), Some(id)) = (&shared.store, &ctx.snapshot_id) {
            let session_id = lock(&shared.data).session_id.clone();
            // the turn is over: the live data stays as it is until this returns, so a store
            // that runs the mutator again gets the same snapshot rebuilt from it
            let build = || SessionSnapshot {
                snapshot_id: id.clone(),
                session_id: Some(session_id.clone()),
                parent_id: ctx.parent_snapshot_id.clone(),
                status: Some(SnapshotStatus::Completed),
                finish_reason: finish.clone(),
                state: Some(lock(&shared.data).to_state()),
                ..new_snapshot_times()
            };
            match store.save_turn(id, build(), &build).await {
                Ok(Some(saved)) => {
                    // the history is shared, so keeping the saved snapshot for the chat's
                    // next turn copies its header and custom state, not the messages
                    seam = Some(Data::from_state(
                        saved.state.clone().unwrap_or_default(),
                        session_id,
                    ));
                    saved_snapshot = Some(Box::new(saved));
                }
                Ok(None) => stop = true,
                Err(e) => {
                    tracing::warn!(target: "genkit_core::agent", snapshot = %id, "saving the turn failed: {e}");
                    let e: GenkitError = e.into();
                    let mut book = lock(&shared.book);
                    book.last_finish = Some(AgentFinishReason::Failed);
                    book.last_error = Some(runtime_error(&e));
                    book.in_flight = None;
                    drop(book);
                    self.turn_end(None, Some(AgentFinishReason::Failed));
                    return false;
                }
            }
        }
        if stop {
            self.end_aborted();
            return false;
        }
        let data = seam.unwrap_or_else(|| lock(&shared.data).clone());
        let mut book = lock(&shared.book);
        book.last_finish = finish.clone();
        book.last_error = None;
        book.last_good = data;
        if ctx.snapshot_id.is_some() {
            book.last_committed = ctx.snapshot_id.clone();
            book.last_saved = saved_snapshot;
        }
        book.in_flight = None;
        book.turn_index += 1;
        drop(book);
        self.turn_end(ctx.snapshot_id.clone(), finish);
        true
    }

    async fn fail(&self, ctx: &TurnContext, input: &AgentInput, e: &GenkitError) {
        let shared = &self.shared;
        let mut error = runtime_error(e);
        // nothing the caller sent is lost: the refused or failed input rides on the error
        error.details = serde_json::to_value(input)
            .ok()
            .map(|i| serde_json::json!({ "input": i }));
        let seam = lock(&shared.book).last_good.clone();
        *lock(&shared.data) = seam.clone();
        let mut saved = ctx.snapshot_id.clone();
        if let (Some(store), Some(id)) = (&shared.store, &ctx.snapshot_id) {
            let snapshot = SessionSnapshot {
                snapshot_id: id.clone(),
                session_id: Some(seam.session_id.clone()),
                parent_id: ctx.parent_snapshot_id.clone(),
                status: Some(SnapshotStatus::Failed),
                finish_reason: Some(AgentFinishReason::Failed),
                error: Some(error.clone()),
                state: Some(seam.to_state()),
                ..new_snapshot_times()
            };
            if let Err(se) = store.save_unless_aborted(id, snapshot).await {
                tracing::warn!(target: "genkit_core::agent", snapshot = %id, "saving the failed turn failed: {se}");
                saved = None;
            }
        }
        let mut book = lock(&shared.book);
        book.last_finish = Some(AgentFinishReason::Failed);
        book.last_error = Some(error);
        book.failed_snapshot = saved.clone();
        book.in_flight = None;
        drop(book);
        self.turn_end(saved, Some(AgentFinishReason::Failed));
    }
}

fn invalid_custom(agent: &str, e: serde_json::Error) -> AgentError {
    AgentError::InvalidCustomState {
        agent: agent.to_owned(),
        reason: e.to_string(),
    }
}

/// A snapshot with `createdAt` and `updatedAt` set to now.
pub(crate) fn new_snapshot_times() -> SessionSnapshot {
    let now = format_timestamp(SystemTime::now());
    SessionSnapshot {
        created_at: now.clone(),
        updated_at: Some(now),
        ..Default::default()
    }
}

/// A Genkit error in the shape every runtime reports it.
pub(crate) fn runtime_error(e: &GenkitError) -> RuntimeError {
    let status: Status = e.status();
    // the status travels in its own field; the message is the error's own words
    RuntimeError::new(status, e.full_message())
}
