//! [`Agent`]: a named, stateful conversation, defined from generate options, a named prompt,
//! or an async function over a [`SessionRunner`].

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::prompt::{prompt_body, PromptRenderer, PromptSpec};
use super::runner::SessionRunner;
use super::signal::AbortSignal;
use super::store::StoreHandle;
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::middleware::Middleware;
use crate::schema::schema_for;
use crate::session::{SessionStore, StoreScope};
use crate::wire::{AgentResult, AgentStreamChunk, SessionState};

type StateFn = Arc<dyn Fn(SessionState) -> SessionState + Send + Sync>;
type ChunkFn = Arc<dyn Fn(AgentStreamChunk) -> Option<AgentStreamChunk> + Send + Sync>;
/// The store scope of one call, from the caller's context (a tenant or user prefix).
pub(crate) type ScopeFn =
    Arc<dyn Fn(&ActionContext) -> Result<StoreScope, GenkitError> + Send + Sync>;

/// Projects what the agent holds onto what a client may see: `state` reshapes the state at
/// rest (outputs, snapshots read through the agent, the baseline of `customPatch` diffs),
/// `chunk` reshapes or drops each chunk in flight. Redact here before anything leaves the
/// server.
#[derive(Clone, Default)]
pub struct ClientTransform {
    pub(crate) state: Option<StateFn>,
    pub(crate) chunk: Option<ChunkFn>,
}

impl std::fmt::Debug for ClientTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTransform")
            .field("state", &self.state.is_some())
            .field("chunk", &self.chunk.is_some())
            .finish()
    }
}

impl ClientTransform {
    /// No transform.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reshapes the state a client sees.
    pub fn state(
        mut self,
        f: impl Fn(SessionState) -> SessionState + Send + Sync + 'static,
    ) -> Self {
        self.state = Some(Arc::new(f));
        self
    }

    /// Reshapes each chunk a client sees; `None` drops it.
    pub fn chunk(
        mut self,
        f: impl Fn(AgentStreamChunk) -> Option<AgentStreamChunk> + Send + Sync + 'static,
    ) -> Self {
        self.chunk = Some(Arc::new(f));
        self
    }

    pub(crate) fn apply_state(&self, state: SessionState) -> SessionState {
        match &self.state {
            Some(f) => f(state),
            None => state,
        }
    }
}

pub(crate) type Body = dyn Fn(Arc<super::runner::Shared>) -> BoxFuture<'static, Result<AgentResult, GenkitError>>
    + Send
    + Sync;

pub(crate) struct Inner {
    pub name: String,
    pub description: Option<String>,
    pub store: Option<StoreHandle>,
    pub scope_fn: Option<ScopeFn>,
    pub transform: ClientTransform,
    pub branching: bool,
    pub state_schema: Option<Value>,
    pub check_custom: fn(&Value) -> Result<(), String>,
    pub body: Box<Body>,
    /// Middleware around every generate call of a prompt agent's turns.
    pub middleware: Vec<Arc<dyn Middleware>>,
    /// Detached runs of this process, by snapshot id, so an abort reaches them at once.
    pub running: Mutex<HashMap<String, AbortSignal>>,
}

/// An agent whose custom state is `S` (`()` for none). Cheap to clone.
///
/// Define one with [`Agent::prompt`] (generate options), [`Agent::from_prompt`] (a prompt
/// rendered each turn) or [`Agent::custom`] (an async function over a [`SessionRunner`]),
/// register it with [`GenkitBuilder::agent`](crate::GenkitBuilder::agent), and talk to it through
/// a [`Chat`](super::Chat).
///
/// ```
/// use genkit_core::agent::{Agent, PromptSpec};
/// use genkit_core::session::InMemorySessionStore;
/// use genkit_core::{prelude::*, testing::ProgrammableModel};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let model = ProgrammableModel::new("pm");
/// model.push_response(ModelResponse::new(Message::model("hello back"), FinishReason::Stop));
/// let support: Agent = Agent::prompt("support", PromptSpec::new().model("pm").system("Be brief."))
///     .store(InMemorySessionStore::new())
///     .build();
/// let ai = Genkit::builder().model(model).agent(support.clone()).build()?;
/// let mut chat = support.chat(&ai);
/// let reply = chat.send("hi").await?;
/// assert_eq!(reply.text(), "hello back");
/// assert!(reply.snapshot_id().is_some());
/// # Ok(()) }
/// ```
pub struct Agent<S = ()> {
    pub(crate) inner: Arc<Inner>,
    _state: PhantomData<fn() -> S>,
}

impl<S> Clone for Agent<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _state: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for Agent<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.inner.name)
            .field("server_managed", &self.inner.store.is_some())
            .finish_non_exhaustive()
    }
}

fn check_custom_as<S: DeserializeOwned>(v: &Value) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    S::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
}

fn is_unit<T: ?Sized>() -> bool {
    std::any::type_name::<T>() == "()"
}

impl<S> Agent<S>
where
    S: Serialize + DeserializeOwned + JsonSchema + Send + 'static,
{
    /// A custom agent: `body` gets the session runner and usually loops with
    /// [`SessionRunner::run`].
    ///
    /// ```
    /// use genkit_core::agent::{Agent, SessionRunner, TurnResult};
    /// use genkit_core::{AgentFinishReason, AgentResult, Message};
    /// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    /// struct Count { turns: u32 }
    /// let counter: Agent<Count> = Agent::custom("counter", |sess: SessionRunner<Count>| async move {
    ///     sess.run(|_input, _turn| {
    ///         let sess = sess.clone();
    ///         async move {
    ///             sess.update_custom(|c| Count { turns: c.map_or(0, |c| c.turns) + 1 })?;
    ///             Ok(TurnResult::finished(AgentFinishReason::Stop))
    ///         }
    ///     })
    ///     .await?;
    ///     Ok(AgentResult { message: Some(Message::model("counted")), ..Default::default() })
    /// })
    /// .build();
    /// assert_eq!(counter.name(), "counter");
    /// ```
    pub fn custom<F, Fut>(name: impl Into<String>, body: F) -> AgentBuilder<S>
    where
        F: Fn(SessionRunner<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AgentResult, GenkitError>> + Send + 'static,
    {
        let body: Box<Body> = Box::new(move |shared| Box::pin(body(SessionRunner::new(shared))));
        AgentBuilder::new(name.into(), body)
    }

    /// A prompt agent from generate options: each turn calls the model with the system prompt,
    /// the history and the tools of `spec`.
    pub fn prompt(name: impl Into<String>, spec: PromptSpec) -> AgentBuilder<S> {
        Self::from_prompt(name, spec)
    }

    /// A prompt agent over a prompt rendered each turn (a named dotprompt, a template of the
    /// application's): `renderer` gives the generate options for the history.
    pub fn from_prompt(name: impl Into<String>, renderer: impl PromptRenderer) -> AgentBuilder<S> {
        let renderer: Arc<dyn PromptRenderer> = Arc::new(renderer);
        let body: Box<Body> = Box::new(move |shared| {
            let renderer = Arc::clone(&renderer);
            Box::pin(prompt_body(SessionRunner::<S>::new(shared), renderer))
        });
        AgentBuilder::new(name.into(), body)
    }
}

impl<S> Agent<S> {
    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether a store holds its state (`server`) or the client does (`client`).
    pub fn is_server_managed(&self) -> bool {
        self.inner.store.is_some()
    }

    /// The store as a call with `context` sees it: in the scope
    /// [`scope_from_context`](AgentBuilder::scope_from_context) derives, else the agent's.
    pub(crate) fn store_for(
        &self,
        context: &ActionContext,
    ) -> Result<Option<StoreHandle>, GenkitError> {
        let Some(store) = &self.inner.store else {
            return Ok(None);
        };
        Ok(Some(match &self.inner.scope_fn {
            Some(f) => StoreHandle {
                store: Arc::clone(&store.store),
                scope: f(context)?,
            },
            None => store.clone(),
        }))
    }
}

/// Configures an [`Agent`]; [`build`](Self::build) finishes it.
#[must_use]
pub struct AgentBuilder<S> {
    name: String,
    description: Option<String>,
    store: Option<StoreHandle>,
    scope_fn: Option<ScopeFn>,
    transform: ClientTransform,
    branching: bool,
    middleware: Vec<Arc<dyn Middleware>>,
    body: Box<Body>,
    _state: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for AgentBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S> AgentBuilder<S>
where
    S: Serialize + DeserializeOwned + JsonSchema + Send + 'static,
{
    fn new(name: String, body: Box<Body>) -> Self {
        Self {
            name,
            description: None,
            store: None,
            scope_fn: None,
            transform: ClientTransform::default(),
            branching: false,
            middleware: Vec::new(),
            body,
            _state: PhantomData,
        }
    }

    /// A description, shown by the Genkit tooling.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Keeps the state in `store` (server-managed): clients send snapshot or session ids.
    pub fn store(self, store: impl SessionStore + 'static) -> Self {
        self.shared_store(Arc::new(store))
    }

    /// Keeps the state in a store shared with others.
    pub fn shared_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        let scope = self
            .store
            .as_ref()
            .map_or_else(StoreScope::global, |s| s.scope.clone());
        self.store = Some(StoreHandle { store, scope });
        self
    }

    /// The tenant scope in the store (`global` by default).
    pub fn scope(mut self, scope: StoreScope) -> Self {
        if let Some(s) = &mut self.store {
            s.scope = scope;
        }
        self
    }

    /// Derives each call's scope in the store from the caller's context (auth), so one store
    /// holds many tenants or users and none sees another's snapshots: the tenant prefix of
    /// Genkit's file and Firestore stores (`snapshotPathPrefix`). An error refuses the call.
    ///
    /// ```
    /// use genkit_core::agent::{Agent, PromptSpec};
    /// use genkit_core::session::{InMemorySessionStore, StoreScope};
    /// use genkit_core::{GenkitError, Status};
    /// let agent: Agent = Agent::prompt("support", PromptSpec::new().model("m"))
    ///     .store(InMemorySessionStore::new())
    ///     .scope_from_context(|ctx| {
    ///         let uid = ctx.get("auth").and_then(|a| a["uid"].as_str()).ok_or_else(|| {
    ///             GenkitError::with_status(Status::Unauthenticated, "sign in first")
    ///         })?;
    ///         Ok(StoreScope::new(format!("users/{uid}"))?)
    ///     })
    ///     .build();
    /// # let _ = agent;
    /// ```
    pub fn scope_from_context(
        mut self,
        f: impl Fn(&ActionContext) -> Result<StoreScope, GenkitError> + Send + Sync + 'static,
    ) -> Self {
        self.scope_fn = Some(Arc::new(f));
        self
    }

    /// Reshapes what clients see.
    pub fn client_transform(mut self, transform: ClientTransform) -> Self {
        self.transform = transform;
        self
    }

    /// Lets one interrupted snapshot be resumed more than once (each resume a branch). Off by
    /// default: an answer is a side effect, so a second resume is refused naming the snapshot
    /// that consumed the first.
    pub fn branching(mut self, yes: bool) -> Self {
        self.branching = yes;
        self
    }

    /// Wraps the generate call of every turn in `middleware` (first given, outermost), as
    /// [`GenerateBuilder::middleware`](crate::generate::GenerateBuilder::middleware) does for
    /// one call. A prompt agent applies it; a custom agent's body finds it in
    /// [`SessionRunner::middleware`] for the generate calls it makes. One value serves every
    /// turn of every session: per-call state (a token budget) belongs in a
    /// [`MiddlewareDefinition`](crate::middleware::MiddlewareDefinition) named in the
    /// prompt's `use` list, which builds a fresh middleware per call.
    ///
    /// ```
    /// use genkit_core::agent::{Agent, PromptSpec};
    /// use genkit_core::middleware::{Retry, RetryConfig};
    /// let agent: Agent = Agent::prompt("support", PromptSpec::new().model("m"))
    ///     .middleware(Retry::new(RetryConfig::default()))
    ///     .build();
    /// # let _ = agent;
    /// ```
    pub fn middleware(self, middleware: impl Middleware) -> Self {
        self.middleware_arc(Arc::new(middleware))
    }

    /// [`middleware`](Self::middleware) with a value already shared (an `Arc`).
    pub fn middleware_arc(mut self, middleware: Arc<dyn Middleware>) -> Self {
        self.middleware.push(middleware);
        self
    }

    /// Finishes the agent.
    pub fn build(self) -> Agent<S> {
        Agent {
            inner: Arc::new(Inner {
                name: self.name,
                description: self.description,
                store: self.store,
                scope_fn: self.scope_fn,
                transform: self.transform,
                branching: self.branching,
                middleware: self.middleware,
                state_schema: (!is_unit::<S>()).then(schema_for::<S>),
                check_custom: check_custom_as::<S>,
                body: self.body,
                running: Mutex::new(HashMap::new()),
            }),
            _state: PhantomData,
        }
    }
}
