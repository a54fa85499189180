//! [`ToolContext`]: what a running tool knows about its call, and how it interrupts.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::{ToolError, ToolResult};
use super::state::States;
use crate::context::ActionContext;
use crate::error::{GenkitError, RequestId};
use crate::run::Stamped;
use crate::wire::GenerateResponseChunk;

/// The context of one tool call: the request's identity, restart state, and the caller's context.
///
/// ```
/// use genkit_core::{ToolContext, ToolResult};
/// async fn transfer(amount: u64, ctx: ToolContext) -> ToolResult<String> {
///     if !ctx.is_resumed() {
///         // pause the loop and ask the app for approval first
///         return ctx.interrupt(serde_json::json!({"approve": amount}));
///     }
///     Ok(format!("sent {amount}"))
/// }
/// ```
#[derive(Clone)]
pub struct ToolContext {
    pub(crate) name: Arc<str>,
    pub(crate) ref_: Option<Arc<str>>,
    pub(crate) resumed: Option<Value>,
    pub(crate) original_input: Option<Value>,
    pub(crate) context: ActionContext,
    pub(crate) progress: Option<Stamped>,
    /// The instance's application states (`State<S>` parameters read them).
    pub(crate) states: States,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("name", &self.name)
            .field("ref", &self.ref_)
            .field("resumed", &self.resumed)
            .field("original_input", &self.original_input)
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// A context for calling tool `name` directly (unit tests, or outside a generate loop).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Arc::from(name.into()),
            ref_: None,
            resumed: None,
            original_input: None,
            context: ActionContext::default(),
            progress: None,
            states: States::default(),
        }
    }

    /// Returns this context holding `state`, as the instance's
    /// [`GenkitBuilder::state`](crate::GenkitBuilder::state) would give it: for calling a tool
    /// that takes a `State<S>` directly, in unit tests.
    #[must_use]
    pub fn with_state<S: Clone + Send + Sync + 'static>(mut self, state: S) -> Self {
        self.states.insert(state);
        self
    }

    /// A clone of the application state of type `S`.
    pub(crate) fn state<S: Clone + 'static>(&self) -> Result<S, GenkitError> {
        self.states.get::<S>(&self.name)
    }

    /// Returns this context marked as resumed with `metadata`, as a restart would.
    #[must_use]
    pub fn with_resumed(mut self, metadata: Value) -> Self {
        self.resumed = Some(metadata);
        self
    }

    /// Returns this context carrying the caller's context.
    #[must_use]
    pub fn with_context(mut self, context: ActionContext) -> Self {
        self.context = context;
        self
    }

    /// The request this call answers, as errors name it.
    pub(crate) fn request_id(&self) -> RequestId {
        request_id(&self.name, self.ref_.as_deref())
    }

    /// The name and ref, cheap to keep (shared) until an error needs the request's id.
    pub(crate) fn id_parts(&self) -> (Arc<str>, Option<Arc<str>>) {
        (Arc::clone(&self.name), self.ref_.clone())
    }

    /// Pauses the generate loop: the tool's request comes back to the application as an
    /// interrupt carrying `payload` (any serializable value; `()` gives `true`).
    ///
    /// Always returns `Err`, so it can end a tool body: `return ctx.interrupt(..)`.
    pub fn interrupt<T>(&self, payload: impl Serialize) -> ToolResult<T> {
        let value = match serde_json::to_value(payload) {
            Ok(Value::Null) => Value::Bool(true),
            Ok(v) => v,
            Err(e) => {
                return Err(ToolError::msg(format!(
                    "interrupt payload is not JSON: {e}"
                )))
            }
        };
        Err(ToolError::interrupt(value))
    }

    /// The name of the tool being called.
    pub fn tool_name(&self) -> &str {
        &self.name
    }

    /// The `ref` of the tool request being answered.
    pub fn request_ref(&self) -> Option<&str> {
        self.ref_.as_deref()
    }

    /// True when this call is a restart of an interrupted request.
    pub fn is_resumed(&self) -> bool {
        self.resumed.is_some()
    }

    /// The restart's metadata, deserialized; `Ok(None)` when this is not a restart.
    ///
    /// A restart made with `true` as metadata deserializes from `true`.
    pub fn resumed<T: DeserializeOwned>(&self) -> ToolResult<Option<T>> {
        self.resumed
            .as_ref()
            .map(|v| {
                T::deserialize(v).map_err(|e| ToolError::msg(format!("resumed metadata: {e}")))
            })
            .transpose()
    }

    /// The raw restart metadata.
    pub fn resumed_value(&self) -> Option<&Value> {
        self.resumed.as_ref()
    }

    /// The input the model originally sent, when a restart replaced it; `Ok(None)` otherwise.
    pub fn original_input<I: DeserializeOwned>(&self) -> ToolResult<Option<I>> {
        self.original_input
            .as_ref()
            .map(|v| I::deserialize(v).map_err(|e| ToolError::msg(format!("original input: {e}"))))
            .transpose()
    }

    /// The caller's context (auth and the like).
    pub fn context(&self) -> &ActionContext {
        &self.context
    }

    /// Sends a progress chunk (`role: tool`) to a streaming caller; does nothing otherwise.
    pub async fn send_progress(&self, chunk: GenerateResponseChunk) {
        if let Some(sink) = &self.progress {
            sink.send(chunk).await;
        }
    }
}

/// The id errors name a request by.
pub(crate) fn request_id(name: &str, ref_: Option<&str>) -> RequestId {
    RequestId::new(name, ref_.map(str::to_owned))
}
