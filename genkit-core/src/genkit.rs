//! [`Genkit`]: the instance an application builds once and shares.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tracing::Instrument;

use crate::action::{Action, ActionDescriptor};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::generate::{GenerateAction, GenerateBuilder, GenerateResponse};
use crate::model::{Model, ModelAction};
use crate::plugin::Plugin;
use crate::registry::Registry;
use crate::run::guard::guarded;
use crate::run::{RunContext, RunOptions};
use crate::seal::HistorySeal;
use crate::tool::{IntoTool, States};
use crate::trace::{self, SpanType};
use crate::wire::GenerateActionOptions;

struct Inner {
    registry: Registry,
    plugins: Vec<Arc<dyn Plugin>>,
    default_model: Option<String>,
    /// Models plugins provided on demand, resolved once, as ordinary model actions.
    resolved: RwLock<HashMap<String, Arc<ModelAction>>>,
    /// Seals interrupted histories and verifies them on resume, when set.
    seal: Option<Arc<HistorySeal>>,
    /// Application states, for tools taking a `State<S>`.
    states: States,
}

/// A Genkit instance: registry of models and tools, plugins, default model.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`: build it once and share it.
///
/// ```
/// use genkit_core::{prelude::*, testing::EchoModel};
/// let ai = Genkit::builder()
///     .model(EchoModel::new("echo"))
///     .default_model("echo")
///     .build()?;
/// assert!(ai.registry().model("echo").is_some());
/// # Ok::<(), GenkitError>(())
/// ```
#[derive(Clone)]
pub struct Genkit {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Genkit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Genkit")
            .field("registry", &self.inner.registry)
            .field("default_model", &self.inner.default_model)
            .finish_non_exhaustive()
    }
}

/// Key of the built-in generate action.
pub const UTIL_GENERATE: &str = "/util/generate";

impl Genkit {
    /// Starts building an instance.
    pub fn builder() -> GenkitBuilder {
        GenkitBuilder::default()
    }

    /// Starts a generate call.
    pub fn generate(&self) -> GenerateBuilder {
        GenerateBuilder::new(self.clone())
    }

    /// Runs a generate call given in Genkit's wire shape (what `/util/generate` takes).
    pub async fn generate_from_options(
        &self,
        options: GenerateActionOptions,
        context: ActionContext,
    ) -> Result<GenerateResponse, GenkitError> {
        self.generate().options(options).context(context).await
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The default model's name.
    pub fn default_model(&self) -> Option<&str> {
        self.inner.default_model.as_deref()
    }

    /// The application states tools read (see [`GenkitBuilder::state`]).
    pub(crate) fn states(&self) -> &States {
        &self.inner.states
    }

    /// The keys that seal interrupted histories, if the instance has them.
    pub fn history_seal(&self) -> Option<&HistorySeal> {
        self.inner.seal.as_deref()
    }

    /// A middleware for one call from a `use` entry: the registered definition its name (or
    /// alias) names, built from its configuration. [`GenkitError::MiddlewareNotFound`] for an
    /// unknown name, [`GenkitError::InvalidArgument`] for a configuration that does not fit.
    ///
    /// ```
    /// use genkit_core::{Genkit, GenkitError, MiddlewareRef};
    /// let ai = Genkit::builder().build()?;
    /// let retry = ai.resolve_middleware(&MiddlewareRef::new("genkit-middleware/retry"))?;
    /// assert_eq!(retry.name(), "retry");
    /// assert!(matches!(ai.resolve_middleware(&MiddlewareRef::new("nope")), Err(GenkitError::MiddlewareNotFound { .. })));
    /// # Ok::<(), GenkitError>(())
    /// ```
    pub fn resolve_middleware(
        &self,
        reference: &crate::wire::MiddlewareRef,
    ) -> Result<Arc<dyn crate::middleware::Middleware>, GenkitError> {
        self.inner.registry.resolve_middleware(reference)
    }

    /// The model called `name`: registered, or provided by the plugin named by its prefix.
    pub fn lookup_model(&self, name: &str) -> Result<Arc<dyn Model>, GenkitError> {
        if let Some(m) = self.inner.registry.model(name) {
            return Ok(Arc::clone(m));
        }
        self.resolve_model(name)
            .map(|action| Arc::clone(action.model()))
            .ok_or_else(|| GenkitError::ModelNotFound {
                name: name.to_owned(),
            })
    }

    /// A model a plugin provides, as a model action, resolved once.
    fn resolve_model(&self, name: &str) -> Option<Arc<ModelAction>> {
        if let Ok(cache) = self.inner.resolved.read() {
            if let Some(m) = cache.get(name) {
                return Some(Arc::clone(m));
            }
        }
        let (prefix, rest) = name.split_once('/')?;
        let plugin = self.inner.plugins.iter().find(|p| p.name() == prefix)?;
        let action = Arc::new(ModelAction::new(plugin.resolve_model(rest)?));
        match self.inner.resolved.write() {
            Ok(mut cache) => Some(Arc::clone(cache.entry(name.to_owned()).or_insert(action))),
            Err(_) => Some(action),
        }
    }

    /// The action under `key`: registered (models, tools, flows, `/util/generate`, ...), or a
    /// model a plugin provides (`/model/openai/gpt-4o-mini`).
    pub fn action(&self, key: &str) -> Option<Arc<dyn Action>> {
        if let Some(action) = self.inner.registry.action(key) {
            return Some(Arc::clone(action));
        }
        let name = key.strip_prefix("/model/")?;
        self.resolve_model(name).map(|a| a as Arc<dyn Action>)
    }

    /// Every registered action, `/util/generate` included, sorted by key.
    pub fn list_actions(&self) -> Vec<ActionDescriptor> {
        self.inner.registry.descriptors()
    }

    /// Runs the action under `key` on JSON input: the one dispatcher, which the Developer UI's
    /// reflection server and the flow server call too.
    ///
    /// `options` is the caller's [`ActionContext`], or [`RunOptions`] to stream chunks (as
    /// JSON) or pass a cancellation signal. The action gets a [`RunContext`] with this instance.
    /// A panic anywhere in the run, the synchronous part of a closure included, is a
    /// [`GenkitError::ActionPanicked`] (for tools, [`GenkitError::ToolPanicked`]), never an
    /// unwinding caller. A tool that interrupts is [`GenkitError::ToolInterrupted`] here.
    /// `/util/generate` takes [`GenerateActionOptions`] and returns the response in wire shape.
    ///
    /// ```
    /// use genkit_core::{prelude::*, testing::EchoModel};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// let ai = Genkit::builder().model(EchoModel::new("echo")).build()?;
    /// let options = serde_json::json!({"model": "echo", "messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    /// let response = ai.run_action("/util/generate", options, ActionContext::new()).await?;
    /// assert_eq!(response["finishReason"], "stop");
    /// # Ok(()) }
    /// ```
    pub async fn run_action(
        &self,
        key: &str,
        input: Value,
        options: impl Into<RunOptions>,
    ) -> Result<Value, GenkitError> {
        let action = self
            .action(key)
            .ok_or_else(|| GenkitError::ActionNotFound {
                key: key.to_owned(),
            })?;
        self.run_resolved(&action, input, options.into()).await
    }

    /// Runs an action already looked up (or served without being registered): the body of
    /// [`run_action`](Self::run_action).
    pub(crate) async fn run_resolved(
        &self,
        action: &Arc<dyn Action>,
        input: Value,
        options: RunOptions,
    ) -> Result<Value, GenkitError> {
        let ctx = RunContext::new(self, options);
        let descriptor = action.descriptor();
        let run = async {
            guarded(|| action.run_json(input, ctx))
                .await
                .unwrap_or_else(|message| {
                    Err(GenkitError::ActionPanicked {
                        key: descriptor.key.clone(),
                        message,
                    })
                })
        };
        if action.traces_itself() || !tracing::dispatcher::has_been_set() {
            return run.await;
        }
        let span = trace::span(
            SpanType::Action(span_subtype(&descriptor.kind)),
            &descriptor.name,
        );
        let result = run.instrument(span.clone()).await;
        trace::record_result(&span, &result);
        result
    }
}

/// The `genkit:metadata:subtype` of an action span.
fn span_subtype(kind: &crate::action::ActionKind) -> &'static str {
    use crate::action::ActionKind;
    match kind {
        ActionKind::Model => "model",
        ActionKind::Tool => "tool",
        ActionKind::Flow => "flow",
        ActionKind::Util => "util",
        _ => "custom",
    }
}

/// Builds a [`Genkit`] instance.
#[derive(Default)]
#[must_use]
pub struct GenkitBuilder {
    registry: Registry,
    plugins: Vec<Arc<dyn Plugin>>,
    default_model: Option<String>,
    error: Option<GenkitError>,
    seal: Option<Arc<HistorySeal>>,
    states: States,
}

impl std::fmt::Debug for GenkitBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenkitBuilder")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl GenkitBuilder {
    fn keep(&mut self, result: Result<(), GenkitError>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// Adds a plugin; its `init` runs now.
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        let result = plugin.init(&mut self.registry);
        self.keep(result);
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Registers a model.
    pub fn model(mut self, model: impl Model) -> Self {
        let result = self.registry.register_model(Arc::new(model));
        self.keep(result);
        self
    }

    /// Registers a tool, so generate calls can name it.
    pub fn tool(mut self, tool: impl IntoTool) -> Self {
        let result = self.registry.register_tool(tool);
        self.keep(result);
        self
    }

    /// Registers any other action.
    pub fn action(mut self, action: Arc<dyn crate::action::Action>) -> Self {
        let result = self.registry.register_action(action);
        self.keep(result);
        self
    }

    /// The model used when a generate call names none.
    pub fn default_model(mut self, name: impl Into<String>) -> Self {
        self.default_model = Some(name.into());
        self
    }

    /// Seals every interrupted history with `seal` and resumes only histories whose seal
    /// verifies (see [`HistorySeal`]): a client holding a paused conversation can then no
    /// longer change what the model asked or what a tool did.
    pub fn history_seal(mut self, seal: HistorySeal) -> Self {
        self.seal = Some(Arc::new(seal));
        self
    }

    /// Registers a middleware, so generate calls (and `use` lists on the wire, in prompts,
    /// from the Developer UI) can name it. The built-ins (`retry`, `fallback`,
    /// `toolApproval`) are registered unless a definition takes their name.
    pub fn define_middleware(
        mut self,
        definition: crate::middleware::MiddlewareDefinition,
    ) -> Self {
        let result = self.registry.register_middleware(definition);
        self.keep(result);
        self
    }

    /// Gives tools the application state `state`: a `#[tool]` function taking a
    /// [`State<S>`](crate::State) parameter of this type gets a clone of it on every call (as
    /// axum's `with_state` gives handlers theirs). One value per type; a second replaces the
    /// first.
    ///
    /// [`build`](Self::build) checks that every registered tool's states are given; a tool
    /// handed to one generate call is checked before the model is called. Either way a
    /// missing state is a [`GenkitError::MissingState`].
    pub fn state<S: Clone + Send + Sync + 'static>(mut self, state: S) -> Self {
        self.states.insert(state);
        self
    }

    /// Finishes the instance; fails on the first registration error (duplicate names, invalid
    /// tool names, plugin failures, a registered tool's missing [`state`](Self::state)).
    pub fn build(mut self) -> Result<Genkit, GenkitError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.registry.register_builtin_middleware();
        let mut tools: Vec<_> = self.registry.tools().collect();
        tools.sort_by(|a, b| a.name().cmp(b.name()));
        for tool in tools {
            self.states.check(tool.name(), tool.needs_state())?;
        }
        self.registry
            .register_action(Arc::new(GenerateAction::new()))?;
        Ok(Genkit {
            inner: Arc::new(Inner {
                registry: self.registry,
                plugins: self.plugins,
                default_model: self.default_model,
                resolved: RwLock::new(HashMap::new()),
                seal: self.seal,
                states: self.states,
            }),
        })
    }
}
