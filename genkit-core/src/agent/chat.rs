//! [`Chat`]: a conversation with an agent from Rust, turn by turn.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::Stream;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::definition::Agent;
use super::error::AgentError;
use super::invoke::{Invocation, Outcome};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::session::SnapshotFilter;
use crate::tool::Interrupt;
use crate::wire::{
    AgentFinishReason, AgentInit, AgentInput, AgentOutput, AgentResume, AgentStreamChunk, Artifact,
    GenerationUsage, Message, Part, PartKind, SessionSnapshot, SessionState, SnapshotStatus,
};

/// Which conversation [`Agent::load_chat`] continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRef {
    /// An exact snapshot (branching from it when it is not the latest).
    Snapshot(String),
    /// The latest resume point of a session.
    Session(String),
}

/// What one turn (or a run of turns) answered.
#[derive(Debug, Clone)]
pub struct AgentResponse<S = ()> {
    output: AgentOutput,
    state: SessionState,
    usage: Option<GenerationUsage>,
    _state: PhantomData<fn() -> S>,
}

impl<S: DeserializeOwned> AgentResponse<S> {
    fn new(outcome: Outcome) -> Self {
        Self {
            output: outcome.output,
            state: outcome.state,
            usage: outcome.usage,
            _state: PhantomData,
        }
    }

    /// The output in Genkit's wire shape.
    pub fn output(&self) -> &AgentOutput {
        &self.output
    }

    /// The last message.
    pub fn message(&self) -> Option<&Message> {
        self.output.message.as_ref()
    }

    /// The text of the last message.
    pub fn text(&self) -> String {
        self.message().map(Message::text).unwrap_or_default()
    }

    /// The whole conversation.
    pub fn messages(&self) -> &crate::wire::Messages {
        self.state.messages()
    }

    /// Why the turn ended.
    pub fn finish_reason(&self) -> Option<&AgentFinishReason> {
        self.output.finish_reason.as_ref()
    }

    /// The error of a failed turn (its status and message).
    pub fn error(&self) -> Option<&crate::wire::RuntimeError> {
        self.output.error.as_ref()
    }

    /// The tool requests waiting for answers; empty unless interrupted.
    pub fn interrupts(&self) -> Vec<Interrupt> {
        if self.output.finish_reason != Some(AgentFinishReason::Interrupted) {
            return Vec::new();
        }
        Interrupt::pending_in(self.state.messages())
    }

    /// Token usage summed over every model call of the turn (each round of its tool loop;
    /// over every turn, when one call ran several).
    pub fn usage(&self) -> Option<&GenerationUsage> {
        self.usage.as_ref()
    }

    /// The snapshot the turn was stored as (server-managed agents).
    pub fn snapshot_id(&self) -> Option<&str> {
        self.output.snapshot_id.as_deref()
    }

    /// The session id.
    pub fn session_id(&self) -> Option<&str> {
        self.output
            .session_id
            .as_deref()
            .or(self.state.session_id.as_deref())
    }

    /// The state as the client may see it.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The custom state, typed.
    pub fn custom(&self) -> Result<Option<S>, GenkitError> {
        match &self.state.custom {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| GenkitError::json("the agent's custom state", e)),
        }
    }

    /// The artifacts.
    pub fn artifacts(&self) -> &[Artifact] {
        self.output
            .artifacts
            .as_deref()
            .unwrap_or_else(|| self.state.artifacts())
    }
}

/// A conversation with an agent: each call is one invocation continuing where the last ended
/// (by snapshot id for server-managed agents, by the returned state for client-managed ones).
pub struct Chat<S = ()> {
    agent: Agent<S>,
    ai: Genkit,
    init: AgentInit,
    context: ActionContext,
    /// The snapshot [`Agent::load_chat`] read: the next `send` continues from it instead of
    /// reading it again (a snapshot that can be continued no longer changes).
    loaded: Option<Box<SessionSnapshot>>,
}

impl<S> std::fmt::Debug for Chat<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("agent", &self.agent.name())
            .field("init", &self.init)
            .finish_non_exhaustive()
    }
}

/// Sorts resume parts into responds and restarts by their kind.
fn resume_input(parts: impl IntoIterator<Item = Part>) -> AgentInput {
    let (mut respond, mut restart) = (Vec::new(), Vec::new());
    for part in parts {
        match part.kind {
            PartKind::ToolRequest(_) => restart.push(part),
            _ => respond.push(part),
        }
    }
    AgentInput {
        resume: Some(AgentResume {
            respond: Some(respond).filter(|v| !v.is_empty()),
            restart: Some(restart).filter(|v| !v.is_empty()),
        }),
        ..Default::default()
    }
}

/// `input` (a message) marked to abandon the pending tool requests first, for
/// [`Chat::send_stream`] or [`Chat::detach`]; [`Chat::abandon_and_send`] explains.
pub fn abandoning(reason: &str, input: impl IntoAgentInput) -> AgentInput {
    let mut input = input.into_agent_input();
    if let Some(m) = input.message.as_mut() {
        m.metadata.get_or_insert_with(Default::default).insert(
            super::validate::ABANDON.to_owned(),
            serde_json::Value::String(reason.to_owned()),
        );
    }
    input
}

/// Text or a whole input.
pub trait IntoAgentInput {
    /// The input.
    fn into_agent_input(self) -> AgentInput;
}

impl IntoAgentInput for AgentInput {
    fn into_agent_input(self) -> AgentInput {
        self
    }
}

impl IntoAgentInput for &str {
    fn into_agent_input(self) -> AgentInput {
        AgentInput {
            message: Some(Message::user(self)),
            ..Default::default()
        }
    }
}

impl IntoAgentInput for String {
    fn into_agent_input(self) -> AgentInput {
        self.as_str().into_agent_input()
    }
}

impl IntoAgentInput for Message {
    fn into_agent_input(self) -> AgentInput {
        AgentInput {
            message: Some(self),
            ..Default::default()
        }
    }
}

impl<S> Agent<S>
where
    S: DeserializeOwned + Send + 'static,
{
    /// A new conversation.
    pub fn chat(&self, ai: &Genkit) -> Chat<S> {
        self.chat_with(ai, AgentInit::default())
    }

    /// A conversation from an explicit init (client state, a session id of the app's).
    pub fn chat_with(&self, ai: &Genkit, init: AgentInit) -> Chat<S> {
        Chat {
            agent: self.clone(),
            ai: ai.clone(),
            init,
            context: ActionContext::default(),
            loaded: None,
        }
    }

    /// Continues a stored conversation; checks now that it exists and can be continued.
    pub async fn load_chat(&self, ai: &Genkit, from: ChatRef) -> Result<Chat<S>, GenkitError> {
        let init = match from {
            ChatRef::Snapshot(id) => AgentInit {
                snapshot_id: Some(id),
                ..Default::default()
            },
            ChatRef::Session(id) => AgentInit {
                session_id: Some(id),
                ..Default::default()
            },
        };
        if self.inner.store.is_none() {
            self.check_init(&init)?;
        }
        let resolved = self.resolve(ai, &init).await?;
        // pin the chat to what was found, so a concurrent turn of the session cannot move it
        let (init, loaded) = match resolved.snapshot {
            Some(mut snapshot) => {
                let init = AgentInit {
                    snapshot_id: Some(snapshot.snapshot_id.clone()),
                    session_id: Some(resolved.data.session_id.clone()),
                    ..Default::default()
                };
                // the state went into the conversation; it goes back for the next turn
                snapshot.state = Some(resolved.data.to_state());
                (init, Some(Box::new(snapshot)))
            }
            None => (init, None),
        };
        let mut chat = self.chat_with(ai, init);
        chat.loaded = loaded;
        Ok(chat)
    }

    /// The snapshot `id`, or the latest of a session, as a client may see it (a pending one
    /// whose heartbeat went stale reads as expired).
    pub async fn snapshot(&self, lookup: &ChatRef) -> Result<Option<SessionSnapshot>, GenkitError> {
        self.snapshot_for(lookup, &ActionContext::default()).await
    }

    /// [`snapshot`](Self::snapshot) for a caller with `context`: in the scope
    /// [`scope_from_context`](super::AgentBuilder::scope_from_context) derives from it.
    pub async fn snapshot_for(
        &self,
        lookup: &ChatRef,
        context: &ActionContext,
    ) -> Result<Option<SessionSnapshot>, GenkitError> {
        let Some(store) = self.store_for(context)? else {
            return Err(AgentError::NoStore {
                agent: self.inner.name.clone(),
                operation: "getSnapshotData",
            }
            .into());
        };
        let found = match lookup {
            ChatRef::Snapshot(id) => store.get(id).await?,
            ChatRef::Session(id) => store.latest(id, &SnapshotFilter::any()).await?,
        };
        let now = std::time::SystemTime::now();
        Ok(found.map(|mut s| {
            let status = s.effective_status(now);
            if status == SnapshotStatus::Expired {
                s.status = Some(status);
            }
            if let Some(state) = s.state.take() {
                s.state = Some(self.inner.transform.apply_state(state));
            }
            s
        }))
    }

    /// Aborts the detached run of snapshot `id`: answers the status it had (`None`: no such
    /// snapshot). Only a pending snapshot becomes aborted; final ones stay as they are.
    pub async fn abort(&self, id: &str) -> Result<Option<SnapshotStatus>, GenkitError> {
        self.abort_for(id, &ActionContext::default()).await
    }

    /// [`abort`](Self::abort) for a caller with `context`: only a snapshot in the caller's
    /// scope is touched.
    pub async fn abort_for(
        &self,
        id: &str,
        context: &ActionContext,
    ) -> Result<Option<SnapshotStatus>, GenkitError> {
        let Some(store) = self.store_for(context)? else {
            return Err(AgentError::NoStore {
                agent: self.inner.name.clone(),
                operation: "abort",
            }
            .into());
        };
        let previous = store.abort(id).await?;
        if previous == Some(SnapshotStatus::Pending) {
            let signal = super::runner::lock(&self.inner.running).remove(id);
            if let Some(signal) = signal {
                signal.abort();
            }
        }
        Ok(previous)
    }

    /// Runs one invocation over `inputs`, streaming chunks to `chunks`.
    // Not an `async fn`: it would store its arguments a second time beside the invocation.
    pub(crate) fn run_inputs<'a>(
        &'a self,
        ai: &'a Genkit,
        init: AgentInit,
        inputs: Vec<AgentInput>,
        chunks: Option<mpsc::UnboundedSender<AgentStreamChunk>>,
        context: ActionContext,
        trusted: bool,
    ) -> impl std::future::Future<Output = Result<Outcome, GenkitError>> + 'a {
        self.invoke(
            ai,
            Invocation {
                init,
                inputs,
                chunks,
                context,
                trusted,
                loaded: None,
            },
        )
    }
}

impl<S> Chat<S>
where
    S: DeserializeOwned + Send + 'static,
{
    /// The caller's context for the next turns (auth and the like).
    pub fn with_context(mut self, context: ActionContext) -> Self {
        self.context = context;
        // read in the scope of no context: a context may name another tenant's scope, where
        // the next turn reads for itself
        self.loaded = None;
        self
    }

    /// The init the next turn continues from.
    pub fn init(&self) -> &AgentInit {
        &self.init
    }

    /// Moves the chat on past a turn and answers it. The next turn continues from the
    /// snapshot this one saved, as it was saved, instead of reading it back (the store still
    /// decides any claim on it).
    fn finish_turn(&mut self, mut outcome: Outcome) -> AgentResponse<S> {
        let saved = outcome.saved.take();
        self.advance(&outcome);
        self.loaded = saved.filter(|s| self.init.snapshot_id.as_ref() == Some(&s.snapshot_id));
        AgentResponse::new(outcome)
    }

    fn advance(&mut self, outcome: &Outcome) {
        if self.agent.is_server_managed() {
            if let Some(id) = &outcome.output.snapshot_id {
                self.init = AgentInit {
                    snapshot_id: Some(id.clone()),
                    ..Default::default()
                };
            }
        } else if let Some(state) = &outcome.output.state {
            self.init = AgentInit {
                state: Some(state.clone()),
                ..Default::default()
            };
        }
    }

    /// Sends a message (or any input) and waits for the turn.
    pub async fn send(
        &mut self,
        input: impl IntoAgentInput,
    ) -> Result<AgentResponse<S>, GenkitError> {
        let invocation = Invocation {
            init: self.init.clone(),
            inputs: vec![input.into_agent_input()],
            chunks: None,
            context: self.context.clone(),
            trusted: true,
            loaded: self.loaded.take(),
        };
        let outcome = self.agent.invoke(&self.ai, invocation).await?;
        Ok(self.finish_turn(outcome))
    }

    /// Answers the pending tool requests: parts built with `tool.respond(&interrupt, ..)`
    /// (responds) or `tool_restart(..)` (restarts), in any mix.
    pub async fn resume(
        &mut self,
        parts: impl IntoIterator<Item = Part>,
    ) -> Result<AgentResponse<S>, GenkitError> {
        self.send(resume_input(parts)).await
    }

    /// Abandons the pending tool requests, then sends `input` (a message) in the same turn.
    ///
    /// A message to an interrupted conversation is otherwise refused (`FAILED_PRECONDITION`),
    /// because the model would get tool calls with no answer. Abandoning answers each pending
    /// request with an explicit cancellation the model reads, `{"cancelled": true, "reason":
    /// reason}` (its part marked `abandoned`), and consumes the interrupted snapshot like a
    /// resume does: it cannot be resumed afterwards unless the agent branches. Only the
    /// application does this (it is not an input a wire client can send).
    ///
    /// ```
    /// # use genkit_core::agent::{Agent, PromptSpec};
    /// # use genkit_core::testing::ProgrammableModel;
    /// # use genkit_core::session::InMemorySessionStore;
    /// # use genkit_core::{Genkit, Tool, Message, ModelResponse, Part, Role, ToolRequest, FinishReason};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), genkit_core::GenkitError> {
    /// # let model = ProgrammableModel::new("pm");
    /// # let approve: Tool<serde_json::Value, bool> = Tool::interrupt("approve", "asks a human");
    /// # let agent: Agent = Agent::prompt("a", PromptSpec::new().model("pm").tools(["approve"]))
    /// #     .store(InMemorySessionStore::new()).build();
    /// # let ai = Genkit::builder().model(model.clone()).tool(approve).agent(agent.clone()).build()?;
    /// # model.push_response(ModelResponse::new(Message::new(Role::Model, vec![Part::tool_request(
    /// #     ToolRequest::new("approve", Some("a1".into()), serde_json::json!({})))]), FinishReason::Stop));
    /// # model.push_response(ModelResponse::new(Message::model("ok, the weather then"), FinishReason::Stop));
    /// let mut chat = agent.chat(&ai);
    /// let paused = chat.send("refund order 7").await?;
    /// assert_eq!(paused.interrupts().len(), 1);
    /// let r = chat.abandon_and_send("the user changed the subject", "what's the weather?").await?;
    /// assert_eq!(r.text(), "ok, the weather then");
    /// # Ok(()) }
    /// ```
    pub async fn abandon_and_send(
        &mut self,
        reason: &str,
        input: impl IntoAgentInput,
    ) -> Result<AgentResponse<S>, GenkitError> {
        self.send(abandoning(reason, input)).await
    }

    /// [`resume`](Self::resume), streaming the resumed turn's chunks (the model's text as it
    /// comes, custom-state patches, artifacts, the turn's end); the response follows.
    ///
    /// ```
    /// # use genkit_core::agent::{Agent, PromptSpec};
    /// # use genkit_core::testing::ProgrammableModel;
    /// # use genkit_core::session::InMemorySessionStore;
    /// # use genkit_core::{Genkit, Tool, Message, ModelResponse, Part, Role, ToolRequest, FinishReason};
    /// use futures::StreamExt;
    /// use genkit_core::TypedTool; // respond
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), genkit_core::GenkitError> {
    /// # let model = ProgrammableModel::new("pm");
    /// # let approve: Tool<serde_json::Value, bool> = Tool::interrupt("approve", "asks a human");
    /// # let agent: Agent = Agent::prompt("a", PromptSpec::new().model("pm").tools(["approve"]))
    /// #     .store(InMemorySessionStore::new()).build();
    /// # let ai = Genkit::builder().model(model.clone()).tool(approve.clone()).agent(agent.clone()).build()?;
    /// # model.push_response(ModelResponse::new(Message::new(Role::Model, vec![Part::tool_request(
    /// #     ToolRequest::new("approve", Some("a1".into()), serde_json::json!({})))]), FinishReason::Stop));
    /// # model.push_response(ModelResponse::new(Message::model("refunded"), FinishReason::Stop));
    /// let mut chat = agent.chat(&ai);
    /// let paused = chat.send("refund order 7").await?;
    /// let answer = approve.respond(&paused.interrupts()[0], true)?;
    /// let mut turn = chat.resume_stream([answer]);
    /// let mut ended = false;
    /// while let Some(chunk) = turn.next().await {
    ///     ended |= chunk.turn_end.is_some();
    /// }
    /// assert!(ended);
    /// assert_eq!(turn.response().await?.text(), "refunded");
    /// # Ok(()) }
    /// ```
    pub fn resume_stream(
        &mut self,
        parts: impl IntoIterator<Item = Part>,
    ) -> AgentTurnStream<'_, S> {
        self.send_stream(resume_input(parts))
    }

    /// Sends an input and streams the turn's chunks; the response follows.
    pub fn send_stream(&mut self, input: impl IntoAgentInput) -> AgentTurnStream<'_, S> {
        let (tx, rx) = mpsc::unbounded_channel();
        let input = input.into_agent_input();
        let agent = self.agent.clone();
        let ai = self.ai.clone();
        let invocation = Invocation {
            init: self.init.clone(),
            inputs: vec![input],
            chunks: Some(tx),
            context: self.context.clone(),
            trusted: true,
            loaded: self.loaded.take(),
        };
        let run: BoxFuture<'static, Result<Outcome, GenkitError>> =
            Box::pin(async move { agent.invoke(&ai, invocation).await });
        AgentTurnStream {
            chat: self,
            run: Some(run),
            chunks: rx,
            outcome: None,
        }
    }

    /// Sends an input and lets its turn run in the background: the handle polls, waits for
    /// or aborts it.
    pub async fn detach(
        &mut self,
        input: impl IntoAgentInput,
    ) -> Result<DetachedTurn<S>, GenkitError> {
        let mut input = input.into_agent_input();
        input.detach = Some(true);
        let outcome = self
            .agent
            .run_inputs(
                &self.ai,
                self.init.clone(),
                vec![input],
                None,
                self.context.clone(),
                true,
            )
            .await?;
        let Some(id) = outcome.output.snapshot_id.clone() else {
            return Err(AgentError::Stopped {
                agent: self.agent.name().to_owned(),
                reason: "the detached turn answered without a snapshot id".to_owned(),
            }
            .into());
        };
        self.init = AgentInit {
            snapshot_id: Some(id.clone()),
            ..Default::default()
        };
        Ok(DetachedTurn {
            agent: self.agent.clone(),
            snapshot_id: id,
        })
    }

    /// Aborts the run this chat last detached (or the snapshot it stands on).
    pub async fn abort(&self) -> Result<Option<SnapshotStatus>, GenkitError> {
        match &self.init.snapshot_id {
            Some(id) => self.agent.abort_for(id, &self.context).await,
            None => Ok(None),
        }
    }
}

/// A detached turn running in the background.
#[derive(Debug, Clone)]
pub struct DetachedTurn<S = ()> {
    agent: Agent<S>,
    snapshot_id: String,
}

impl<S> DetachedTurn<S>
where
    S: DeserializeOwned + Send + 'static,
{
    /// The snapshot the turn is recorded as.
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// Its snapshot now.
    pub async fn poll(&self) -> Result<Option<SessionSnapshot>, GenkitError> {
        self.agent
            .snapshot(&ChatRef::Snapshot(self.snapshot_id.clone()))
            .await
    }

    /// Waits until it is final (completed, failed, aborted or expired), polling every
    /// `interval`, at most `timeout`.
    pub async fn wait(
        &self,
        interval: Duration,
        timeout: Duration,
    ) -> Result<SessionSnapshot, GenkitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.poll().await? {
                if s.status() != SnapshotStatus::Pending {
                    return Ok(s);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(GenkitError::Other {
                    status: crate::Status::DeadlineExceeded,
                    message: format!(
                        "detached turn {} still pending after {timeout:?}",
                        self.snapshot_id
                    ),
                });
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Aborts it; answers the status it had.
    pub async fn abort(&self) -> Result<Option<SnapshotStatus>, GenkitError> {
        self.agent.abort(&self.snapshot_id).await
    }
}

/// A turn streaming its chunks ([`Stream`]), then its [`response`](Self::response).
#[must_use = "a stream does nothing unless polled"]
pub struct AgentTurnStream<'c, S> {
    chat: &'c mut Chat<S>,
    run: Option<BoxFuture<'static, Result<Outcome, GenkitError>>>,
    chunks: mpsc::UnboundedReceiver<AgentStreamChunk>,
    outcome: Option<Result<Outcome, GenkitError>>,
}

impl<S> std::fmt::Debug for AgentTurnStream<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTurnStream")
            .field("running", &self.run.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Stream for AgentTurnStream<'_, S> {
    type Item = AgentStreamChunk;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AgentStreamChunk>> {
        let this = self.get_mut();
        loop {
            if let Poll::Ready(Some(c)) = this.chunks.poll_recv(cx) {
                return Poll::Ready(Some(c));
            }
            let Some(run) = this.run.as_mut() else {
                return Poll::Ready(this.chunks.try_recv().ok());
            };
            match run.as_mut().poll(cx) {
                Poll::Ready(out) => {
                    this.outcome = Some(out);
                    this.run = None;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S> AgentTurnStream<'_, S>
where
    S: DeserializeOwned + Send + 'static,
{
    /// Runs the turn to its end (dropping unread chunks) and answers it.
    pub async fn response(mut self) -> Result<AgentResponse<S>, GenkitError> {
        use futures::StreamExt;
        while self.next().await.is_some() {}
        let outcome = self.outcome.take().unwrap_or_else(|| {
            Err(AgentError::Stopped {
                agent: self.chat.agent.name().to_owned(),
                reason: "the turn stream ended without an output".to_owned(),
            }
            .into())
        })?;
        Ok(self.chat.finish_turn(outcome))
    }
}
