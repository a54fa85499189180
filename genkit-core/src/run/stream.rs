//! The stream driver: a run and the receiver of its chunks, polled as one.
//!
//! The run is polled inside the stream itself, never spawned: dropping the stream drops the run
//! (the model request, every running tool). Chunks pass through the bounded channel of a
//! [`ChunkSink`], so a slow consumer slows the run down instead of growing a buffer.
//! `GenerateStream` and `FlowStream` are this driver with their own item types.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::sink::ChunkSink;
use crate::error::GenkitError;

/// How many chunks may wait for the consumer before the run waits.
pub(crate) const QUEUE: usize = 16;

/// A run of output `O` streaming chunks of type `T`.
pub(crate) struct Driver<'a, T, O> {
    run: Option<BoxFuture<'a, O>>,
    chunks: mpsc::Receiver<T>,
    result: Option<O>,
}

impl<'a, T, O> Driver<'a, T, O> {
    /// Starts `start` with the sink its chunks go to (nothing runs before the first poll).
    pub(crate) fn new<F>(start: impl FnOnce(ChunkSink<T>) -> F) -> Self
    where
        F: Future<Output = O> + Send + 'a,
    {
        let (sink, chunks) = ChunkSink::channel(QUEUE);
        Self {
            run: Some(Box::pin(start(sink))),
            chunks,
            result: None,
        }
    }

    /// True while the run has not finished.
    pub(crate) fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// The next chunk; `None` once the run has finished and every chunk was handed out.
    pub(crate) fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            if let Poll::Ready(Some(chunk)) = self.chunks.poll_recv(cx) {
                return Poll::Ready(Some(chunk));
            }
            let Some(run) = self.run.as_mut() else {
                // finished: hand out what is still queued, then end
                return Poll::Ready(self.chunks.try_recv().ok());
            };
            match run.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    self.result = Some(result);
                    self.run = None;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The run's result, once [`poll_chunk`](Self::poll_chunk) returned `None`.
    pub(crate) fn take_result(&mut self) -> Option<O> {
        self.result.take()
    }

    /// Runs to the end, dropping the chunks not read yet.
    pub(crate) async fn finish(mut self) -> Option<O> {
        while futures::future::poll_fn(|cx| self.poll_chunk(cx))
            .await
            .is_some()
        {}
        self.take_result()
    }
}

impl<T, O> Unpin for Driver<'_, T, O> {}

impl<T, O> futures::Stream for Driver<'_, T, O> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_chunk(cx)
    }
}

/// Runs `start` with a sink of typed chunks and forwards each, as JSON, into `out`: how a run
/// through the dispatcher (which streams JSON) drives a typed streaming run.
pub(crate) async fn forward_json<'a, T, O, F>(
    out: &ChunkSink<Value>,
    start: impl FnOnce(ChunkSink<T>) -> F,
) -> Result<O, GenkitError>
where
    T: Serialize,
    F: Future<Output = Result<O, GenkitError>> + Send + 'a,
{
    use futures::StreamExt;
    let mut driver = Driver::new(start);
    while let Some(chunk) = driver.next().await {
        match serde_json::to_value(&chunk) {
            Ok(v) => out.send(v).await,
            Err(e) => tracing::warn!(target: "genkit_core::stream", "a chunk is not JSON: {e}"),
        }
    }
    driver
        .take_result()
        .unwrap_or_else(|| Err(ended_without_result()))
}

/// What a stream answers when its run vanished without a result (it cannot happen: the driver
/// keeps every result).
pub(crate) fn ended_without_result() -> GenkitError {
    GenkitError::internal("the stream ended without a result")
}
