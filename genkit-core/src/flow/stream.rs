//! [`FlowStream`]: a flow run that yields its chunks as they come, then its output.
//!
//! As with `GenerateStream`, the flow runs inside the stream (no spawned task): dropping the
//! stream cancels the flow. Chunks pass through a small bounded queue, so a slow consumer slows
//! the flow down instead of growing a buffer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::Stream;
use tokio::sync::mpsc;

use super::context::ChunkFn;
use crate::error::GenkitError;

/// How many chunks may wait for the consumer before the flow waits.
const QUEUE: usize = 16;

/// A streaming flow run: a [`Stream`] of chunks of type `S`, then [`output`](Self::output).
///
/// ```
/// use futures::StreamExt;
/// use genkit_core::flow::{define_flow, FlowContext};
/// use genkit_core::{prelude::*, testing::EchoModel};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let spell = define_flow("spell", |word: String, ctx: FlowContext<char>| async move {
///     for c in word.chars() {
///         ctx.send_chunk(c).await;
///     }
///     Ok(word.len())
/// });
/// let ai = Genkit::builder().flow(spell.clone()).build()?;
/// let mut stream = spell.stream(&ai, "abc".to_string());
/// let mut letters = String::new();
/// while let Some(c) = stream.next().await {
///     letters.push(c);
/// }
/// assert_eq!(letters, "abc");
/// assert_eq!(stream.output().await?, 3);
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing unless polled"]
pub struct FlowStream<S, O> {
    run: Option<BoxFuture<'static, Result<O, GenkitError>>>,
    chunks: mpsc::Receiver<S>,
    result: Option<Result<O, GenkitError>>,
}

impl<S, O> std::fmt::Debug for FlowStream<S, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowStream")
            .field("running", &self.run.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Send + 'static, O> FlowStream<S, O> {
    /// Wraps `start`, which runs the flow with the chunk sink it is given.
    pub(crate) fn new<F>(start: impl FnOnce(ChunkFn<S>) -> F) -> Self
    where
        F: Future<Output = Result<O, GenkitError>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(QUEUE);
        let sink: ChunkFn<S> = Arc::new(move |chunk| {
            let tx = tx.clone();
            Box::pin(async move {
                // the receiver only goes away with the stream, which also drops the flow
                let _ = tx.send(chunk).await;
            })
        });
        Self {
            run: Some(Box::pin(start(sink))),
            chunks: rx,
            result: None,
        }
    }
}

impl<S, O> FlowStream<S, O> {
    /// Runs the flow to the end, dropping the chunks not read yet, and returns its output or
    /// its error.
    pub async fn output(mut self) -> Result<O, GenkitError>
    where
        S: Unpin,
    {
        use futures::StreamExt;
        while self.next().await.is_some() {}
        self.take_result().unwrap_or_else(|| {
            Err(GenkitError::Other {
                status: crate::Status::Internal,
                message: "the flow stream ended without a result".to_owned(),
            })
        })
    }
}

impl<S, O> FlowStream<S, O> {
    /// The run's result, once the stream has ended.
    pub(crate) fn take_result(&mut self) -> Option<Result<O, GenkitError>> {
        self.result.take()
    }
}

impl<S, O> Unpin for FlowStream<S, O> {}

impl<S, O> Stream for FlowStream<S, O> {
    type Item = S;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S>> {
        let this = self.get_mut();
        loop {
            if let Poll::Ready(Some(chunk)) = this.chunks.poll_recv(cx) {
                return Poll::Ready(Some(chunk));
            }
            let Some(run) = this.run.as_mut() else {
                // finished: hand out what is still queued, then end
                return Poll::Ready(this.chunks.try_recv().ok());
            };
            match run.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    this.result = Some(result);
                    this.run = None;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
