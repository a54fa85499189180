//! [`Model`]: the trait a model plugin implements, and the context a model call gets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::run::stream::forward_json;
use crate::run::{ChunkSink, RunContext, Stamped};
use crate::wire::{GenerateResponseChunk, ModelInfo, ModelRequest, ModelResponse};

/// Where a model call's chunks go: straight to a sink, or stamped by the engine with the role
/// and index of the message they belong to.
#[derive(Clone, Debug)]
enum Chunks {
    Plain(ChunkSink),
    Stamped(Stamped),
}

/// The sink and how many chunks went through it (shared by the clones of a context).
#[derive(Clone, Debug)]
struct Streaming {
    chunks: Chunks,
    sent: Arc<AtomicU64>,
}

impl Streaming {
    fn new(chunks: Chunks) -> Self {
        Self {
            chunks,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// What a model call gets besides the request: the chunk sink when streaming, and the caller's
/// context.
#[derive(Clone, Default)]
pub struct ModelContext {
    chunks: Option<Streaming>,
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
        self.chunks = Some(Streaming::new(Chunks::Plain(sink)));
        self
    }

    /// Returns this context streaming into the engine's stamped sink, when there is one.
    #[must_use]
    pub(crate) fn with_stamped(mut self, sink: Option<Stamped>) -> Self {
        self.chunks = sink.map(|s| Streaming::new(Chunks::Stamped(s)));
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
        let Some(streaming) = &self.chunks else {
            return;
        };
        streaming.sent.fetch_add(1, Ordering::Relaxed);
        match &streaming.chunks {
            Chunks::Plain(sink) => sink.send(chunk).await,
            Chunks::Stamped(sink) => sink.send(chunk).await,
        }
    }

    /// How many chunks went to the caller through this context and its clones: a call that
    /// failed after sending some cannot be repeated without the consumer seeing them twice.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use genkit_core::{ChunkSink, GenerateResponseChunk, ModelContext};
    /// let (sink, _rx) = genkit_core::ChunkSink::channel(4);
    /// let ctx = ModelContext::new().with_chunks(sink);
    /// ctx.clone().send_chunk(GenerateResponseChunk::default()).await;
    /// assert_eq!(ctx.chunks_sent(), 1);
    /// # }
    /// ```
    pub fn chunks_sent(&self) -> u64 {
        self.chunks
            .as_ref()
            .map_or(0, |s| s.sent.load(Ordering::Relaxed))
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

impl ModelAction {
    /// The model.
    pub(crate) fn model(&self) -> &Arc<dyn Model> {
        &self.model
    }
}

impl Action for ModelAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    /// One model call, traced as a model span; a streaming caller gets the model's chunks as
    /// JSON.
    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let request: ModelRequest =
                serde_json::from_value(input).map_err(|e| GenkitError::json("model request", e))?;
            let model_ctx = ModelContext::new().with_context(ctx.context().clone());
            let (model, request) = (&self.model, &request);
            let call = async move {
                match ctx.chunks() {
                    None => model.generate(request, model_ctx).await,
                    Some(out) => {
                        forward_json(out, |sink| {
                            model.generate(request, model_ctx.with_chunks(sink))
                        })
                        .await
                    }
                }
            };
            let response =
                crate::generate::instrument::model_call(model.name(), request, call).await?;
            serde_json::to_value(response).map_err(|e| GenkitError::json("model response", e))
        })
    }

    fn traces_itself(&self) -> bool {
        true
    }
}
