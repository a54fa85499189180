//! [`Model`]: the trait a model plugin implements, and the context a model call gets.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::wire::{GenerateResponseChunk, ModelInfo, ModelRequest, ModelResponse};

/// Where streamed chunks go. The future completes once the consumer has room, so a slow
/// consumer slows the producer down instead of growing a buffer.
pub type ChunkSink = Arc<dyn Fn(GenerateResponseChunk) -> BoxFuture<'static, ()> + Send + Sync>;

/// What a model call gets besides the request: the chunk sink when streaming, and the caller's
/// context.
#[derive(Clone, Default)]
pub struct ModelContext {
    chunks: Option<ChunkSink>,
    context: ActionContext,
}

impl std::fmt::Debug for ModelContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelContext")
            .field("streaming", &self.chunks.is_some())
            .field("context", &self.context)
            .finish()
    }
}

impl ModelContext {
    /// A context for a non-streaming call without caller context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns this context streaming into `sink`.
    #[must_use]
    pub fn with_chunks(mut self, sink: ChunkSink) -> Self {
        self.chunks = Some(sink);
        self
    }

    /// Returns this context carrying the caller's context.
    #[must_use]
    pub fn with_context(mut self, context: ActionContext) -> Self {
        self.context = context;
        self
    }

    /// True when the caller wants chunks: a model should then stream and call
    /// [`send_chunk`](Self::send_chunk) as content arrives.
    pub fn is_streaming(&self) -> bool {
        self.chunks.is_some()
    }

    /// Sends a chunk to the caller (role and index are filled in by the engine). Waits while
    /// the consumer is behind; does nothing when not streaming.
    pub async fn send_chunk(&self, chunk: GenerateResponseChunk) {
        if let Some(sink) = &self.chunks {
            sink(chunk).await;
        }
    }

    /// The caller's context.
    pub fn context(&self) -> &ActionContext {
        &self.context
    }
}

/// A generative model. Plugins implement this; the engine calls it once per turn.
///
/// Implementations must be cancel-safe: the engine drops the future when the caller gives up.
///
/// ```
/// use futures::future::BoxFuture;
/// use genkit_core::{GenkitError, Message, Model, ModelContext, ModelRequest, ModelResponse, FinishReason};
///
/// struct Shout;
/// impl Model for Shout {
///     fn name(&self) -> &str { "shout" }
///     fn generate<'a>(&'a self, req: &'a ModelRequest, _ctx: ModelContext)
///         -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
///         Box::pin(async move {
///             let last = req.messages.last().map(|m| m.text()).unwrap_or_default();
///             Ok(ModelResponse::new(Message::model(last.to_uppercase()), FinishReason::Stop))
///         })
///     }
/// }
/// ```
pub trait Model: Send + Sync + 'static {
    /// The full name, as used in the registry and in `.model(..)` (`openai/gpt-4o-mini`).
    fn name(&self) -> &str;

    /// What the model is and supports.
    fn info(&self) -> ModelInfo {
        ModelInfo::default()
    }

    /// Runs one model call.
    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>>;
}

/// A model seen as a JSON action (`/model/name`), for the registry and the Genkit tooling.
pub(crate) struct ModelAction {
    model: Arc<dyn Model>,
    descriptor: ActionDescriptor,
}

impl ModelAction {
    pub(crate) fn new(model: Arc<dyn Model>) -> Self {
        let mut descriptor = ActionDescriptor::new(ActionKind::Model, model.name());
        if let Ok(info) = serde_json::to_value(model.info()) {
            descriptor.metadata.insert("model".to_owned(), info);
        }
        Self { model, descriptor }
    }
}

impl Action for ModelAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(
        &self,
        input: Value,
        context: ActionContext,
    ) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let request: ModelRequest =
                serde_json::from_value(input).map_err(|e| GenkitError::json("model request", e))?;
            let response = self
                .model
                .generate(&request, ModelContext::new().with_context(context))
                .await?;
            serde_json::to_value(response).map_err(|e| GenkitError::json("model response", e))
        })
    }
}
