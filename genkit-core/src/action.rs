//! [`Action`]: anything runnable, described by name, kind and JSON schemas.

use std::fmt;

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use crate::error::GenkitError;
use crate::run::RunContext;
use crate::wire::JsonMap;

/// The kind of an action; the first segment of its registry key (`/tool/...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionKind {
    /// A model.
    Model,
    /// A tool.
    Tool,
    /// A flow.
    Flow,
    /// A utility action such as `/util/generate`.
    Util,
    /// Any other kind, by its wire name.
    Custom(String),
}

impl ActionKind {
    /// The wire name (`"tool"`).
    pub fn as_str(&self) -> &str {
        match self {
            ActionKind::Model => "model",
            ActionKind::Tool => "tool",
            ActionKind::Flow => "flow",
            ActionKind::Util => "util",
            ActionKind::Custom(s) => s,
        }
    }

    /// The registry key of an action of this kind called `name`: `/kind/name`.
    pub fn key(&self, name: &str) -> String {
        format!("/{}/{}", self.as_str(), name)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the registry and the Genkit tooling know about an action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionDescriptor {
    /// Registry key, `/kind/name`.
    pub key: String,
    /// Name within its kind.
    pub name: String,
    /// Kind.
    #[serde(skip)]
    pub kind: ActionKind,
    /// Human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// JSON schema of the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Kind-specific metadata (a model's `model` info, ...).
    pub metadata: JsonMap,
}

impl ActionDescriptor {
    /// A descriptor for `name` of `kind`, without schemas.
    pub fn new(kind: ActionKind, name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            key: kind.key(&name),
            name,
            kind,
            description: None,
            input_schema: None,
            output_schema: None,
            metadata: JsonMap::new(),
        }
    }
}

/// Anything runnable from JSON to JSON: tools, models, flows, `/util/generate`.
///
/// Typed layers (tools, models, flows) sit on top; this is the shape the registry, the
/// dispatcher ([`Genkit::run_action`](crate::Genkit::run_action)) and the Genkit tooling see.
/// An action is run with a [`RunContext`]: the instance, the caller's context, the chunk sink
/// and cancellation. The dispatcher catches a panic anywhere in a run.
///
/// ```
/// use futures::future::BoxFuture;
/// use genkit_core::{Action, ActionDescriptor, ActionKind, Genkit, GenkitError, RunContext};
/// use serde_json::Value;
/// use std::sync::Arc;
///
/// struct Upper(ActionDescriptor);
/// impl Action for Upper {
///     fn descriptor(&self) -> &ActionDescriptor { &self.0 }
///     fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
///         Box::pin(async move {
///             ctx.send_chunk(Value::from("working")).await;
///             Ok(Value::from(input.as_str().unwrap_or_default().to_uppercase()))
///         })
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let upper = Upper(ActionDescriptor::new(ActionKind::Custom("text".into()), "upper"));
/// let ai = Genkit::builder().action(Arc::new(upper)).build()?;
/// let out = ai.run_action("/text/upper", "abc".into(), genkit_core::ActionContext::new()).await?;
/// assert_eq!(out, "ABC");
/// # Ok(()) }
/// ```
pub trait Action: Send + Sync + 'static {
    /// The action's descriptor.
    fn descriptor(&self) -> &ActionDescriptor;

    /// Runs the action on JSON input.
    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>>;

    /// True for actions that record their own trace span (tools, models, flows, generate);
    /// the dispatcher opens one around every other action.
    fn traces_itself(&self) -> bool {
        false
    }

    /// The action as [`Any`](std::any::Any), for a crate that registers actions of its own
    /// type and wants that type back from the registry (a prompt library finding its prompts).
    /// `None` by default.
    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }
}
