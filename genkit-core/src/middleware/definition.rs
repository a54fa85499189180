//! [`MiddlewareDefinition`]: a middleware registered by name, built per call from a typed
//! configuration; what a `use` entry ([`MiddlewareRef`]) resolves to.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ToolApprovalConfig;
use super::{Fallback, FallbackConfig, Middleware, Retry, RetryConfig, ToolApproval};
use crate::error::GenkitError;
use crate::schema::schema_for;
use crate::wire::{MiddlewareDesc, MiddlewareRef};

type Build = dyn Fn(Option<Value>) -> Result<Arc<dyn Middleware>, GenkitError> + Send + Sync;

/// A middleware registered by name: its descriptor (name, description, config schema) and
/// how to build one from the configuration a `use` entry carries. Each call gets a fresh
/// middleware, so per-call state (a token count) is never shared between calls.
///
/// ```
/// use futures::future::BoxFuture;
/// use genkit_core::middleware::{Middleware, MiddlewareDefinition, ModelCall, ModelNext};
/// use genkit_core::{prelude::*, testing::EchoModel, MiddlewareRef};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema, Default)]
/// #[serde(default)]
/// struct TagConfig { tag: String }
///
/// struct Tag(String);
/// impl Middleware for Tag {
///     fn name(&self) -> &str { "tag" }
///     fn model<'a>(&'a self, call: ModelCall<'a>, next: ModelNext<'a>)
///         -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
///         Box::pin(async move {
///             let mut r = next.run(call).await?;
///             r.message = r.message.map(|m| Message::model(format!("{} {}", self.0, m.text())));
///             Ok(r)
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let ai = Genkit::builder()
///     .model(EchoModel::new("echo"))
///     .define_middleware(MiddlewareDefinition::new("tag", "Prefixes answers", |c: TagConfig| Tag(c.tag)))
///     .build()?;
/// let r = ai.generate().model("echo").prompt("hi")
///     .use_(MiddlewareRef::new("tag").with_config(serde_json::json!({"tag": "[x]"})))
///     .await?;
/// assert!(r.text().starts_with("[x] "));
/// # Ok(()) }
/// ```
pub struct MiddlewareDefinition {
    desc: MiddlewareDesc,
    aliases: Vec<String>,
    build: Box<Build>,
}

impl std::fmt::Debug for MiddlewareDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiddlewareDefinition")
            .field("desc", &self.desc)
            .field("aliases", &self.aliases)
            .finish_non_exhaustive()
    }
}

impl MiddlewareDefinition {
    /// A middleware registered as `name`, built by `build` from its configuration `C` (its
    /// JSON schema is the descriptor's `configSchema`). A `use` entry without configuration
    /// builds from `{}`, so a config whose fields all have defaults needs none.
    pub fn new<C, M, F>(name: impl Into<String>, description: impl Into<String>, build: F) -> Self
    where
        C: DeserializeOwned + JsonSchema + 'static,
        M: Middleware,
        F: Fn(C) -> M + Send + Sync + 'static,
    {
        let name = name.into();
        let what = name.clone();
        Self {
            desc: MiddlewareDesc {
                name,
                description: Some(description.into()),
                config_schema: Some(schema_for::<C>()),
                metadata: None,
            },
            aliases: Vec::new(),
            build: Box::new(move |config| {
                let config = config
                    .filter(|c| !c.is_null())
                    .unwrap_or_else(|| Value::Object(Default::default()));
                let config = C::deserialize(config).map_err(|e| {
                    GenkitError::invalid_argument(format!(
                        "middleware '{what}': invalid configuration: {e}"
                    ))
                })?;
                Ok(Arc::new(build(config)) as Arc<dyn Middleware>)
            }),
        }
    }

    /// Another name this middleware answers to (the spelling of another Genkit SDK).
    #[must_use]
    pub fn alias(mut self, name: impl Into<String>) -> Self {
        self.aliases.push(name.into());
        self
    }

    /// The registered name.
    pub fn name(&self) -> &str {
        &self.desc.name
    }

    /// The other names it answers to.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// What the Genkit tooling shows.
    pub fn desc(&self) -> &MiddlewareDesc {
        &self.desc
    }

    /// A middleware for one call, from `config` (`None`: the defaults).
    pub fn instantiate(&self, config: Option<Value>) -> Result<Arc<dyn Middleware>, GenkitError> {
        (self.build)(config)
    }

    pub(crate) fn answers_to(&self, name: &str) -> bool {
        self.desc.name == name || self.aliases.iter().any(|a| a == name)
    }
}

/// Resolves `reference` among `definitions`: NOT_FOUND for an unknown name.
pub(crate) fn resolve(
    definitions: &[Arc<MiddlewareDefinition>],
    reference: &MiddlewareRef,
) -> Result<Arc<dyn Middleware>, GenkitError> {
    match definitions.iter().find(|d| d.answers_to(&reference.name)) {
        Some(d) => d.instantiate(reference.config.clone()),
        None => Err(GenkitError::MiddlewareNotFound {
            name: reference.name.clone(),
            registered: definitions.iter().map(|d| d.name().to_owned()).collect(),
        }),
    }
}

/// The built-in middleware, under Genkit JS's names, answering to Go's and Python's too.
pub(crate) fn builtins() -> Vec<MiddlewareDefinition> {
    vec![
        MiddlewareDefinition::new(
            "retry",
            "Retries a failed model call with exponential backoff on transient statuses",
            |c: RetryConfig| Retry::new(c),
        )
        .alias("genkit-middleware/retry"),
        MiddlewareDefinition::new(
            "fallback",
            "Falls back to other models, in order, when the model fails with a listed status",
            |c: FallbackConfig| Fallback::new(c),
        )
        .alias("genkit-middleware/fallback"),
        MiddlewareDefinition::new(
            "toolApproval",
            "Interrupts tool execution unless the tool is approved in the config or on restart",
            |c: ToolApprovalConfig| ToolApproval::new(c),
        )
        .alias("tool_approval")
        .alias("genkit-middleware/toolApproval"),
    ]
}
