//! [`Genkit`]: the instance an application builds once and shares.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::action::{ActionDescriptor, ActionKind};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::generate::{run, GenerateBuilder, GenerateResponse};
use crate::model::Model;
use crate::plugin::Plugin;
use crate::registry::Registry;
use crate::seal::HistorySeal;
use crate::tool::IntoTool;
use crate::wire::GenerateActionOptions;

struct Inner {
    registry: Registry,
    plugins: Vec<Arc<dyn Plugin>>,
    default_model: Option<String>,
    /// Models plugins provided on demand, resolved once.
    resolved: RwLock<HashMap<String, Arc<dyn Model>>>,
    /// Seals interrupted histories and verifies them on resume, when set.
    seal: Option<Arc<HistorySeal>>,
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
        let (ai, call) = self
            .generate()
            .options(options)
            .context(context)
            .into_call(None)?;
        run(&ai, call).await
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The default model's name.
    pub fn default_model(&self) -> Option<&str> {
        self.inner.default_model.as_deref()
    }

    /// The keys that seal interrupted histories, if the instance has them.
    pub fn history_seal(&self) -> Option<&HistorySeal> {
        self.inner.seal.as_deref()
    }

    /// The model called `name`: registered, or provided by the plugin named by its prefix.
    pub fn lookup_model(&self, name: &str) -> Result<Arc<dyn Model>, GenkitError> {
        if let Some(m) = self.inner.registry.model(name) {
            return Ok(Arc::clone(m));
        }
        let not_found = || GenkitError::ModelNotFound {
            name: name.to_owned(),
        };
        if let Ok(cache) = self.inner.resolved.read() {
            if let Some(m) = cache.get(name) {
                return Ok(Arc::clone(m));
            }
        }
        let (prefix, rest) = name.split_once('/').ok_or_else(not_found)?;
        let plugin = self
            .inner
            .plugins
            .iter()
            .find(|p| p.name() == prefix)
            .ok_or_else(not_found)?;
        let model = plugin.resolve_model(rest).ok_or_else(not_found)?;
        if let Ok(mut cache) = self.inner.resolved.write() {
            cache
                .entry(name.to_owned())
                .or_insert_with(|| Arc::clone(&model));
        }
        Ok(model)
    }

    /// Every action, including the built-in `/util/generate`, sorted by key.
    pub fn list_actions(&self) -> Vec<ActionDescriptor> {
        let mut out = self.inner.registry.descriptors();
        out.push(ActionDescriptor::new(ActionKind::Util, "generate"));
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Runs the action under `key` on JSON input. `/util/generate` takes
    /// [`GenerateActionOptions`] and returns the response in wire shape.
    pub async fn run_action(
        &self,
        key: &str,
        input: Value,
        context: ActionContext,
    ) -> Result<Value, GenkitError> {
        if key == UTIL_GENERATE {
            let options: GenerateActionOptions = serde_json::from_value(input)
                .map_err(|e| GenkitError::json("generate options", e))?;
            let response = self.generate_from_options(options, context).await?;
            return serde_json::to_value(response.to_wire())
                .map_err(|e| GenkitError::json("generate response", e));
        }
        let action =
            self.inner
                .registry
                .action(key)
                .ok_or_else(|| GenkitError::ActionNotFound {
                    key: key.to_owned(),
                })?;
        // issue 7 (flows): actions run through the registry find this instance in their scope
        crate::flow::scope::with_genkit(self, action.run_json(input, context)).await
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

    /// Finishes the instance; fails on the first registration error (duplicate names, invalid
    /// tool names, plugin failures).
    pub fn build(self) -> Result<Genkit, GenkitError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(Genkit {
            inner: Arc::new(Inner {
                registry: self.registry,
                plugins: self.plugins,
                default_model: self.default_model,
                resolved: RwLock::new(HashMap::new()),
                seal: self.seal,
            }),
        })
    }
}
