//! [`FlowContext`]: what a running flow knows and can do besides its input.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::run::{Cancellation, ChunkSink};
use crate::trace::{self, SpanType};

/// Where a flow's chunks go: a typed caller ([`Flow::stream`](super::Flow::stream)) gets them as
/// they are, a caller through the dispatcher as JSON.
pub(crate) enum FlowChunks<S> {
    Typed(ChunkSink<S>),
    Json(ChunkSink<Value>),
}

impl<S> Clone for FlowChunks<S> {
    fn clone(&self) -> Self {
        match self {
            FlowChunks::Typed(s) => FlowChunks::Typed(s.clone()),
            FlowChunks::Json(s) => FlowChunks::Json(s.clone()),
        }
    }
}

/// The context of one flow run: the Genkit instance running it, the caller's context (auth and
/// the like), the stream to send chunks of type `S` to, and traced steps.
///
/// ```
/// use genkit_core::flow::{define_flow, FlowContext};
/// use genkit_core::{prelude::*, testing::EchoModel};
///
/// // A streaming flow: chunks are `String`s, the output is a `usize`.
/// let count = define_flow("count", |words: Vec<String>, ctx: FlowContext<String>| async move {
///     for w in &words {
///         ctx.send_chunk(w.clone()).await;
///     }
///     // a traced step, shown as a `flowStep` span in the Developer UI
///     let n = ctx.run("count", async { Ok(words.len()) }).await?;
///     Ok(n)
/// });
/// # let _ = count;
/// ```
pub struct FlowContext<S = ()> {
    pub(crate) genkit: Genkit,
    pub(crate) context: ActionContext,
    pub(crate) chunks: Option<FlowChunks<S>>,
    pub(crate) cancel: Cancellation,
}

impl<S> Clone for FlowContext<S> {
    fn clone(&self) -> Self {
        Self {
            genkit: self.genkit.clone(),
            context: self.context.clone(),
            chunks: self.chunks.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<S> std::fmt::Debug for FlowContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowContext")
            .field("context", &self.context)
            .field("streaming", &self.chunks.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> FlowContext<S> {
    /// The Genkit instance running the flow: call `generate` and other actions on it.
    pub fn genkit(&self) -> &Genkit {
        &self.genkit
    }

    /// The caller's context: for a flow served over HTTP, what the context provider returned
    /// (`auth`, ...); from the Developer UI, the context given there.
    pub fn context(&self) -> &ActionContext {
        &self.context
    }

    /// True when the caller streams: chunks sent with [`send_chunk`](Self::send_chunk) reach
    /// it. When it does not, chunks are dropped.
    pub fn is_streaming(&self) -> bool {
        self.chunks.is_some()
    }

    /// Sends a chunk to a streaming caller, waiting while it is behind; does nothing when the
    /// caller does not stream.
    pub async fn send_chunk(&self, chunk: S)
    where
        S: Serialize,
    {
        match &self.chunks {
            Some(FlowChunks::Typed(sink)) => sink.send(chunk).await,
            Some(FlowChunks::Json(sink)) => match serde_json::to_value(chunk) {
                Ok(v) => sink.send(v).await,
                Err(e) => {
                    tracing::warn!(target: "genkit_core::flow", "flow chunk is not JSON: {e}")
                }
            },
            None => {}
        }
    }

    /// The caller's cancellation signal (the Developer UI's cancel button, ...): a long flow
    /// may watch it to stop cleanly. Dropping the run cancels it in any case.
    pub fn cancellation(&self) -> &Cancellation {
        &self.cancel
    }

    /// Runs `step` as a named step of the flow, recorded as its own span (`flowStep`) with the
    /// step's output, as Genkit's `run` does. The step's error, if any, is returned as is.
    pub async fn run<T, F>(&self, name: &str, step: F) -> Result<T, GenkitError>
    where
        T: Serialize,
        F: Future<Output = Result<T, GenkitError>>,
    {
        let span = trace::span(SpanType::FlowStep, name);
        let result = step.instrument(span.clone()).await;
        trace::record_result(&span, &result);
        result
    }
}
