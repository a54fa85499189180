//! [`GenerateStream`]: a generate call that yields chunks as they arrive, then the response.
//!
//! The engine runs inside the stream itself (the crate's one stream driver), not on a spawned
//! task: dropping the stream drops the model call and every running tool. Chunks pass through
//! the bounded channel of a [`ChunkSink`], so a slow consumer slows the model down instead of
//! growing a buffer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::Value;

use super::GenerateResponse;
use crate::error::GenkitError;
use crate::output::OutputFormat;
use crate::run::stream::{ended_without_result, Driver};
use crate::run::ChunkSink;
use crate::wire::{GenerateResponseChunk, Role};

/// A streaming generate call: a [`Stream`] of chunks, then [`response`](Self::response).
///
/// Chunks carry `role` and `index` (the message's index within this call: the model's chunks of
/// one turn share an index, the tool message after it takes the next). When a turn is
/// interrupted, a last chunk with `aggregated: true` repeats the whole revised model message,
/// interrupt metadata included; [`GenerateResponseChunk::interrupts`] reads it.
///
/// ```
/// # use genkit_core::{prelude::*, testing::EchoModel};
/// use futures::StreamExt;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
/// let mut stream = ai.generate().prompt("one two three").stream();
/// let mut text = String::new();
/// while let Some(chunk) = stream.next().await {
///     text.push_str(&chunk.text());
/// }
/// let response = stream.response().await?;
/// assert_eq!(text, response.text());
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing unless polled"]
pub struct GenerateStream {
    driver: Driver<'static, GenerateResponseChunk, Result<GenerateResponse, GenkitError>>,
    format: Option<OutputFormat>,
    /// Text of the model message being streamed, and its index.
    current: (Option<u32>, String),
}

impl std::fmt::Debug for GenerateStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateStream")
            .field("running", &self.driver.is_running())
            .finish_non_exhaustive()
    }
}

impl GenerateStream {
    /// Wraps `start`, which runs the engine with the sink it is given.
    pub(crate) fn new<F>(format: Option<OutputFormat>, start: impl FnOnce(ChunkSink) -> F) -> Self
    where
        F: Future<Output = Result<GenerateResponse, GenkitError>> + Send + 'static,
    {
        Self {
            driver: Driver::new(start),
            format,
            current: (None, String::new()),
        }
    }

    /// The structured output parsed from what the model has streamed so far in its current
    /// message (partial JSON is closed where it stops); `None` when no output format was
    /// requested or nothing parses yet.
    pub fn output_so_far(&self) -> Option<Value> {
        self.format?.parse_partial_text(&self.current.1)
    }

    fn track(&mut self, chunk: &GenerateResponseChunk) {
        // only structured output reads the text so far
        if self.format.is_none()
            || chunk.role != Some(Role::Model)
            || chunk.aggregated == Some(true)
        {
            return;
        }
        if self.current.0 != chunk.index {
            self.current = (chunk.index, String::new());
        }
        for part in &chunk.content {
            if let Some(t) = part.as_text() {
                self.current.1.push_str(t);
            }
        }
    }

    /// Runs the call to the end, dropping the chunks not read yet, and returns the response
    /// (the same one `generate` would return) or the error.
    pub async fn response(mut self) -> Result<GenerateResponse, GenkitError> {
        use futures::StreamExt;
        while self.next().await.is_some() {}
        self.driver
            .take_result()
            .unwrap_or_else(|| Err(ended_without_result()))
    }
}

impl Stream for GenerateStream {
    type Item = GenerateResponseChunk;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = this.driver.poll_chunk(cx);
        if let Poll::Ready(Some(chunk)) = &next {
            this.track(chunk);
        }
        next
    }
}
