//! [`UnstreamedRetry`]: a model middleware that asks again without streaming when a streamed
//! model call fails before anything reached the consumer.
//!
//! Why the examples need it: the local llama.cpp server (xllamacpp 0.2.12) fails some streamed
//! replies that carry tool calls, with `Invalid diff: now finding less tool calls!` (HTTP 500
//! in the stream), and answers the same request without streaming. Tool calls are not streamed
//! as text, so such a failure comes before any chunk, and asking again repeats nothing the
//! user saw. A call that already streamed text is not repeated: its chunks cannot be taken
//! back, and the error goes to the caller.
//!
//! ```
//! use examples::unstreamed_retry::UnstreamedRetry;
//! use genkit_core::prelude::*;
//! use genkit_core::testing::EchoModel;
//! use futures::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
//! let mut stream = ai.generate().prompt("hi").middleware(UnstreamedRetry).stream();
//! while let Some(_chunk) = stream.next().await {}
//! assert!(stream.response().await?.text().contains("hi"));
//! # Ok(()) }
//! ```

use futures::future::BoxFuture;
use genkit_core::middleware::{Hooks, Middleware, ModelCall, ModelNext};
use genkit_core::{GenkitError, ModelContext, ModelResponse};

/// Retries a streamed model call once, unstreamed, when it failed before sending a chunk.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnstreamedRetry;

impl Middleware for UnstreamedRetry {
    fn name(&self) -> &str {
        "unstreamedRetry"
    }

    fn hooks(&self) -> Hooks {
        Hooks::MODEL
    }

    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let streaming = call.ctx.is_streaming();
            let sent = call.ctx.chunks_sent();
            let error = match next.run(call.with_request(call.request)).await {
                Ok(response) => return Ok(response),
                Err(e) => e,
            };
            if !streaming || call.ctx.chunks_sent() > sent || is_cancellation(&error) {
                return Err(error);
            }
            let mut again = call.with_request(call.request);
            again.ctx = ModelContext::new().with_context(call.ctx.context().clone());
            next.run(again).await
        })
    }
}

/// A call the caller gave up on is not asked again.
fn is_cancellation(error: &GenkitError) -> bool {
    error.status() == genkit_core::Status::Cancelled
}
