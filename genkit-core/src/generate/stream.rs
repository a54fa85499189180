//! [`GenerateStream`]: a generate call that yields chunks as they arrive, then the response.
//!
//! The engine runs inside the stream itself, not on a spawned task: dropping the stream drops
//! the model call and every running tool. Chunks pass through a small bounded queue, so a slow
//! consumer slows the model down instead of growing a buffer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::GenerateResponse;
use crate::error::GenkitError;
use crate::model::ChunkSink;
use crate::output::OutputFormat;
use crate::wire::{GenerateResponseChunk, Role};
use serde_json::Value;

/// How many chunks may wait for the consumer before the producer waits.
const QUEUE: usize = 16;

type Engine = Pin<Box<dyn Future<Output = Result<GenerateResponse, GenkitError>> + Send>>;

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
    engine: Option<Engine>,
    format: Option<OutputFormat>,
    /// Text of the model message being streamed, and its index.
    current: (Option<u32>, String),
    chunks: mpsc::Receiver<GenerateResponseChunk>,
    result: Option<Result<GenerateResponse, GenkitError>>,
}

impl std::fmt::Debug for GenerateStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateStream")
            .field("running", &self.engine.is_some())
            .finish_non_exhaustive()
    }
}

impl GenerateStream {
    /// Wraps `start`, which runs the engine with the sink it is given.
    pub(crate) fn new(
        format: Option<OutputFormat>,
        start: impl FnOnce(ChunkSink) -> Engine,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let sink: ChunkSink = Arc::new(move |chunk| {
            let tx = tx.clone();
            Box::pin(async move {
                // the receiver only goes away with the stream, which also drops the engine
                let _ = tx.send(chunk).await;
            })
        });
        Self {
            engine: Some(start(sink)),
            format,
            current: (None, String::new()),
            chunks: rx,
            result: None,
        }
    }

    /// The structured output parsed from what the model has streamed so far in its current
    /// message (partial JSON is closed where it stops); `None` when no output format was
    /// requested or nothing parses yet.
    pub fn output_so_far(&self) -> Option<Value> {
        self.format?.parse_partial_text(&self.current.1)
    }

    fn track(&mut self, chunk: &GenerateResponseChunk) {
        if chunk.role != Some(Role::Model) || chunk.aggregated == Some(true) {
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
        self.result.take().unwrap_or_else(|| {
            Err(GenkitError::Other {
                status: crate::Status::Internal,
                message: "the generate stream ended without a result".to_owned(),
            })
        })
    }
}

impl Stream for GenerateStream {
    type Item = GenerateResponseChunk;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Poll::Ready(Some(chunk)) = this.chunks.poll_recv(cx) {
                this.track(&chunk);
                return Poll::Ready(Some(chunk));
            }
            let Some(engine) = this.engine.as_mut() else {
                // finished: hand out what is still queued, then end
                let rest = this.chunks.try_recv().ok();
                if let Some(chunk) = &rest {
                    this.track(chunk);
                }
                return Poll::Ready(rest);
            };
            match engine.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    this.result = Some(result);
                    this.engine = None;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
