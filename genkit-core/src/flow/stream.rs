//! [`FlowStream`]: a flow run that yields its chunks as they come, then its output.
//!
//! The same stream driver as `GenerateStream`: the flow runs inside the stream (no spawned
//! task), so dropping the stream cancels the flow; chunks pass through the bounded channel of a
//! [`ChunkSink`], so a slow consumer slows the flow down instead of growing a buffer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use crate::error::GenkitError;
use crate::run::stream::{ended_without_result, Driver};
use crate::run::ChunkSink;

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
    driver: Driver<'static, S, Result<O, GenkitError>>,
}

impl<S, O> std::fmt::Debug for FlowStream<S, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowStream")
            .field("running", &self.driver.is_running())
            .finish_non_exhaustive()
    }
}

impl<S, O> FlowStream<S, O> {
    /// Wraps `start`, which runs the flow with the chunk sink it is given.
    pub(crate) fn new<F>(start: impl FnOnce(ChunkSink<S>) -> F) -> Self
    where
        F: Future<Output = Result<O, GenkitError>> + Send + 'static,
    {
        Self {
            driver: Driver::new(start),
        }
    }
}

impl<S, O> FlowStream<S, O> {
    /// Runs the flow to the end, dropping the chunks not read yet, and returns its output or
    /// its error.
    pub async fn output(self) -> Result<O, GenkitError> {
        self.driver
            .finish()
            .await
            .unwrap_or_else(|| Err(ended_without_result()))
    }
}

impl<S, O> FlowStream<S, O> {
    /// The run's result, once the stream has ended.
    #[cfg_attr(not(any(feature = "dev", feature = "axum")), allow(dead_code))]
    pub(crate) fn take_result(&mut self) -> Option<Result<O, GenkitError>> {
        self.driver.take_result()
    }
}

impl<S, O> Stream for FlowStream<S, O> {
    type Item = S;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S>> {
        self.get_mut().driver.poll_chunk(cx)
    }
}
