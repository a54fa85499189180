//! Middleware: code of the application's (or one of the built-ins: [`Retry`], [`Fallback`],
//! [`ToolApproval`]) wrapped around three points of a generate call, Genkit's `use`.
//!
//! - [`Middleware::generate`] wraps each iteration of the tool loop: it gets the iteration
//!   (the model request with the history so far, the turn, the message index) and `next`,
//!   which runs this iteration *and the ones after it*, as in Genkit; so it sees the final
//!   response, and can stop the loop by not calling `next`.
//! - [`Middleware::model`] wraps each model call (retry, fallback, caching, rewriting the
//!   request). `next` may be called more than once.
//! - [`Middleware::tool`] wraps each tool execution, after the input was normalised and
//!   validated and inside the tool's span (approval policies, caching). The tools of one turn
//!   run concurrently, so this hook may be running several times at once.
//!
//! Each method has a default that passes through, so a middleware implements only the hooks
//! it needs; [`Middleware::tools`] adds tools to every call it wraps. The first middleware
//! given is the outermost: `use [a, b]` runs `a(b(call))`.
//!
//! A middleware that names the hooks it implements in [`Middleware::hooks`] is left out of
//! the others entirely: a retry (model hook only) adds nothing around tools and iterations,
//! and a call whose middleware implement no hook runs the plain engine path. Without that
//! declaration every hook is called and the defaults forward, which is correct but costs a
//! future per layer per hook.
//!
//! ```
//! use futures::future::BoxFuture;
//! use genkit_core::middleware::{Middleware, ModelCall, ModelNext};
//! use genkit_core::{prelude::*, testing::EchoModel};
//!
//! /// Upper-cases every answer.
//! struct Shout;
//! impl Middleware for Shout {
//!     fn name(&self) -> &str { "shout" }
//!     fn model<'a>(&'a self, call: ModelCall<'a>, next: ModelNext<'a>)
//!         -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
//!         Box::pin(async move {
//!             let mut response = next.run(call).await?;
//!             if let Some(m) = response.message.as_mut() {
//!                 *m = Message::model(m.text().to_uppercase());
//!             }
//!             Ok(response)
//!         })
//!     }
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
//! let response = ai.generate().prompt("hello").middleware(Shout).await?;
//! assert!(response.text().contains("HELLO"));
//! # Ok(()) }
//! ```
//!
//! A hook that panics fails the call with [`GenkitError::MiddlewarePanicked`] (a tool hook:
//! that tool's call); the process and the instance live on. Each hook invocation that does
//! work of its own is a span named `<middleware>.<hook>` (subtype `middleware`); a hook that
//! only forwards to `next` at once adds none.

pub(crate) mod definition;
mod fallback;
mod retry;
mod tool_approval;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;
use tracing::Instrument;

use crate::error::GenkitError;
use crate::generate::GenerateResponse;
use crate::genkit::Genkit;
use crate::model::{Model, ModelContext};
use crate::run::guard::panic_message;
use crate::tool::{ToolAction, ToolContext, ToolOutcome};
use crate::trace::{self, SpanType};
use crate::wire::{FinishReason, ModelRequest, ModelResponse};

pub(crate) use definition::builtins;
pub use definition::MiddlewareDefinition;
pub use fallback::{Fallback, FallbackConfig, FallbackModel};
pub use retry::{Retry, RetryConfig};
pub use tool_approval::{ToolApproval, ToolApprovalConfig, ToolApproved};

/// Which of the three hooks a middleware implements, so the chain skips the others.
///
/// ```
/// use genkit_core::middleware::Hooks;
/// let hooks = Hooks::MODEL | Hooks::TOOL;
/// assert!(hooks.model() && hooks.tool() && !hooks.generate());
/// assert_eq!(Hooks::ALL, Hooks::GENERATE | Hooks::MODEL | Hooks::TOOL);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hooks(u8);

impl Hooks {
    /// No hook: the middleware only adds [`tools`](Middleware::tools), or nothing.
    pub const NONE: Hooks = Hooks(0);
    /// [`Middleware::generate`].
    pub const GENERATE: Hooks = Hooks(1);
    /// [`Middleware::model`].
    pub const MODEL: Hooks = Hooks(2);
    /// [`Middleware::tool`].
    pub const TOOL: Hooks = Hooks(4);
    /// All three (the default of [`Middleware::hooks`]).
    pub const ALL: Hooks = Hooks(7);

    /// Whether the generate hook is implemented.
    pub const fn generate(self) -> bool {
        self.0 & Self::GENERATE.0 != 0
    }

    /// Whether the model hook is implemented.
    pub const fn model(self) -> bool {
        self.0 & Self::MODEL.0 != 0
    }

    /// Whether the tool hook is implemented.
    pub const fn tool(self) -> bool {
        self.0 & Self::TOOL.0 != 0
    }
}

impl std::ops::BitOr for Hooks {
    type Output = Hooks;
    fn bitor(self, other: Hooks) -> Hooks {
        Hooks(self.0 | other.0)
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (self.generate(), "GENERATE"),
            (self.model(), "MODEL"),
            (self.tool(), "TOOL"),
        ];
        let mut set = f.debug_set();
        for (_, name) in names.iter().filter(|(on, _)| *on) {
            set.entry(&format_args!("{name}"));
        }
        set.finish()
    }
}

/// Code wrapped around the iterations, model calls and tool executions of a generate call.
///
/// Every hook has a default that calls `next` unchanged. See the [module docs](self).
pub trait Middleware: Send + Sync + 'static {
    /// The name: spans and errors name the middleware by it.
    fn name(&self) -> &str;

    /// The hooks this middleware implements; the chain does not call the others. The default,
    /// [`Hooks::ALL`], is always correct; naming fewer saves a boxed future per layer per
    /// call of each hook left out. A hook implemented but not named here is never called.
    ///
    /// ```
    /// # use futures::future::BoxFuture;
    /// # use genkit_core::middleware::{Hooks, Middleware, ModelCall, ModelNext};
    /// # use genkit_core::{GenkitError, ModelResponse};
    /// struct CountCalls(std::sync::atomic::AtomicU32);
    /// impl Middleware for CountCalls {
    ///     fn name(&self) -> &str { "countCalls" }
    ///     fn hooks(&self) -> Hooks { Hooks::MODEL }
    ///     fn model<'a>(&'a self, call: ModelCall<'a>, next: ModelNext<'a>)
    ///         -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
    ///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///         next.run(call)
    ///     }
    /// }
    /// # let _ = CountCalls(Default::default());
    /// ```
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }

    /// Tools added to every call this middleware wraps (a name already taken is
    /// [`GenkitError::DuplicateTool`]).
    fn tools(&self) -> Vec<Arc<ToolAction>> {
        Vec::new()
    }

    /// Wraps one iteration of the tool loop and, through `next`, every iteration after it.
    /// Not calling `next` ends the call with the response returned (see [`Iteration::stop`]).
    fn generate<'a>(
        &'a self,
        iteration: Iteration,
        next: GenerateNext<'a>,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        next.run(iteration)
    }

    /// Wraps one model call. `next` may be called again (a retry) or not at all (a cached
    /// answer). A call that already streamed chunks to the consumer should not be repeated:
    /// its chunks cannot be taken back ([`ModelContext::chunks_sent`] tells).
    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        next.run(call)
    }

    /// Wraps one tool execution; may run concurrently with itself for the other tools of a
    /// turn. Returning without calling `next` answers for the tool (an output, an
    /// interrupt, a failure).
    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        next.run(call)
    }
}

impl std::fmt::Debug for dyn Middleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Middleware")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// The middleware of one generate call, outermost first, and the instance they run on; with
/// the layers of each hook apart, so a hook no layer implements costs nothing.
#[derive(Clone)]
pub(crate) struct Chain {
    genkit: Genkit,
    layers: Vec<Arc<dyn Middleware>>,
    generate: Vec<Arc<dyn Middleware>>,
    model: Vec<Arc<dyn Middleware>>,
    tool: Vec<Arc<dyn Middleware>>,
}

impl Chain {
    pub(crate) fn new(genkit: Genkit, layers: Vec<Arc<dyn Middleware>>) -> Self {
        let with = |pick: fn(Hooks) -> bool| -> Vec<Arc<dyn Middleware>> {
            layers.iter().filter(|m| pick(m.hooks())).cloned().collect()
        };
        Self {
            generate: with(Hooks::generate),
            model: with(Hooks::model),
            tool: with(Hooks::tool),
            genkit,
            layers,
        }
    }

    /// No layer implements the generate hook: the engine loops by itself.
    pub(crate) fn no_generate_hooks(&self) -> bool {
        self.generate.is_empty()
    }

    /// No layer implements the model hook: the engine calls the model directly.
    pub(crate) fn no_model_hooks(&self) -> bool {
        self.model.is_empty()
    }

    /// No layer implements the tool hook: tools run their bodies directly.
    pub(crate) fn no_tool_hooks(&self) -> bool {
        self.tool.is_empty()
    }

    /// The tools the middleware add.
    pub(crate) fn tools(&self) -> impl Iterator<Item = Arc<ToolAction>> + '_ {
        self.layers.iter().flat_map(|m| m.tools())
    }

    /// Runs one model call through the model hooks; the model call itself is innermost.
    pub(crate) fn model<'a>(
        &'a self,
        model: &'a dyn Model,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        let call = ModelCall {
            request,
            ctx,
            model: model.name(),
            genkit: &self.genkit,
        };
        dispatch_model(&self.model, model, call)
    }

    /// Runs one tool body (input already validated) through the tool hooks.
    pub(crate) fn tool<'a>(
        &'a self,
        tool: &'a ToolAction,
        input: Value,
        ctx: ToolContext,
    ) -> BoxFuture<'a, ToolOutcome> {
        let call = ToolCall {
            input,
            ctx,
            tool,
            genkit: &self.genkit,
        };
        dispatch_tool(&self.tool, call)
    }

    /// Runs `iteration` through the generate hooks; `rest` runs the iteration and the ones
    /// after it (calling this again for the next one).
    pub(crate) fn generate<'a>(
        &'a self,
        iteration: Iteration,
        rest: &'a dyn IterationRunner,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        dispatch_generate(&self.generate, rest, iteration)
    }
}

/// What runs an iteration and the ones after it: the engine's side of [`GenerateNext`].
pub(crate) trait IterationRunner: Send + Sync {
    fn run_iteration(
        &self,
        iteration: Iteration,
    ) -> BoxFuture<'_, Result<GenerateResponse, GenkitError>>;
}

/// One iteration of the tool loop, as a generate hook sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Iteration {
    /// The model request of this iteration: the history so far, tools, config, output.
    /// Changes made here stay in the history of later iterations.
    pub request: ModelRequest,
    /// The tool round, from 0.
    pub turn: u32,
    /// The stream index the model's message of this iteration gets.
    pub message_index: u32,
}

impl Iteration {
    /// Ends the call here, without calling the model again: a response whose history is the
    /// request's messages, with no new message, finishing with `reason` and `message`.
    ///
    /// ```
    /// use genkit_core::middleware::Iteration;
    /// use genkit_core::{FinishReason, Message, ModelRequest};
    /// let it = Iteration::new(ModelRequest { messages: vec![Message::user("hi")].into(), ..Default::default() });
    /// let response = it.stop(FinishReason::Length, "out of budget");
    /// assert_eq!(response.finish_reason(), Some(FinishReason::Length));
    /// assert_eq!(response.messages().len(), 1);
    /// assert!(response.message().is_none());
    /// ```
    pub fn stop(self, reason: FinishReason, message: impl Into<String>) -> GenerateResponse {
        let mut request = self.request;
        let history = std::mem::take(&mut request.messages);
        let response = ModelResponse {
            finish_reason: Some(reason),
            finish_message: Some(message.into()),
            ..ModelResponse::default()
        };
        GenerateResponse::without_message(Some(request), history, response)
    }

    /// The first iteration of `request` (tests of a hook, mostly).
    pub fn new(request: ModelRequest) -> Self {
        Self {
            request,
            turn: 0,
            message_index: 0,
        }
    }
}

/// Runs the rest of the generate chain: the inner middleware, then the iteration itself and
/// every iteration after it. Consumed by [`run`](Self::run): an iteration runs at most once.
#[must_use = "the iteration does not run until `run` is called"]
pub struct GenerateNext<'a> {
    layers: &'a [Arc<dyn Middleware>],
    rest: &'a dyn IterationRunner,
    calls: &'a AtomicU32,
}

impl std::fmt::Debug for GenerateNext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateNext")
            .field("inner_layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl<'a> GenerateNext<'a> {
    /// Runs `iteration` (possibly changed) and the rest of the loop.
    pub fn run(self, iteration: Iteration) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        dispatch_generate(self.layers, self.rest, iteration)
    }
}

/// One model call, as a model hook sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ModelCall<'a> {
    /// The request about to be sent.
    pub request: &'a ModelRequest,
    /// The model's context: the chunk sink when streaming, the caller's context.
    pub ctx: ModelContext,
    model: &'a str,
    genkit: &'a Genkit,
}

impl<'a> ModelCall<'a> {
    /// The name of the model being called.
    pub fn model_name(&self) -> &str {
        self.model
    }

    /// The instance the call runs on (to look up other models, say).
    pub fn genkit(&self) -> &'a Genkit {
        self.genkit
    }

    /// The same call with another request (a rewritten copy the hook owns).
    pub fn with_request<'b>(&self, request: &'b ModelRequest) -> ModelCall<'b>
    where
        'a: 'b,
    {
        ModelCall {
            request,
            ctx: self.ctx.clone(),
            model: self.model,
            genkit: self.genkit,
        }
    }
}

/// Runs the rest of the model chain: the inner middleware, then the model. May be called more
/// than once.
#[derive(Clone, Copy)]
pub struct ModelNext<'a> {
    layers: &'a [Arc<dyn Middleware>],
    model: &'a dyn Model,
    calls: &'a AtomicU32,
}

impl std::fmt::Debug for ModelNext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelNext")
            .field("model", &self.model.name())
            .field("inner_layers", &self.layers.len())
            .finish()
    }
}

impl<'a> ModelNext<'a> {
    /// Runs `call` through the inner middleware and the model.
    pub fn run<'b>(&self, call: ModelCall<'b>) -> BoxFuture<'b, Result<ModelResponse, GenkitError>>
    where
        'a: 'b,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        dispatch_model(self.layers, self.model, call)
    }

    /// Runs `call` through the inner middleware and then `model` instead of the call's model
    /// (a fallback: the inner middleware, a retry say, apply to it too).
    pub fn run_on<'b>(
        &self,
        model: &'b dyn Model,
        mut call: ModelCall<'b>,
    ) -> BoxFuture<'b, Result<ModelResponse, GenkitError>>
    where
        'a: 'b,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        call.model = model.name();
        dispatch_model(self.layers, model, call)
    }
}

/// One tool execution, as a tool hook sees it: the validated input and the tool's context
/// (name, ref, the restart's `resumed` value, the caller's context).
#[derive(Debug)]
#[non_exhaustive]
pub struct ToolCall<'a> {
    /// The input, validated against the tool's schema. A hook that replaces it must keep it
    /// valid.
    pub input: Value,
    /// The tool's context.
    pub ctx: ToolContext,
    tool: &'a ToolAction,
    genkit: &'a Genkit,
}

impl<'a> ToolCall<'a> {
    /// The tool being run.
    pub fn tool(&self) -> &'a ToolAction {
        self.tool
    }

    /// The instance the call runs on.
    pub fn genkit(&self) -> &'a Genkit {
        self.genkit
    }
}

/// Runs the rest of the tool chain: the inner middleware, then the tool's body (under the
/// panic guard). May be called more than once.
#[derive(Clone, Copy)]
pub struct ToolNext<'a> {
    layers: &'a [Arc<dyn Middleware>],
    calls: &'a AtomicU32,
}

impl std::fmt::Debug for ToolNext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolNext")
            .field("inner_layers", &self.layers.len())
            .finish()
    }
}

impl<'a> ToolNext<'a> {
    /// Runs `call` through the inner middleware and the tool.
    pub fn run<'b>(&self, call: ToolCall<'b>) -> BoxFuture<'b, ToolOutcome>
    where
        'a: 'b,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        dispatch_tool(self.layers, call)
    }
}

#[derive(Clone, Copy)]
enum Hook {
    Generate,
    Model,
    Tool,
}

impl Hook {
    fn as_str(self) -> &'static str {
        match self {
            Hook::Generate => "generate",
            Hook::Model => "model",
            Hook::Tool => "tool",
        }
    }
}

fn panicked(layer: &dyn Middleware, hook: Hook, message: String) -> GenkitError {
    GenkitError::MiddlewarePanicked {
        middleware: layer.name().to_owned(),
        hook: hook.as_str(),
        message,
    }
}

/// Runs one hook invocation: `start` calls the hook, `calls` counts its calls of `next`.
///
/// A panic (while calling the hook or polling its future) becomes `on_panic`'s value. A hook
/// that called `next` before returning its future only forwards: it gets no span. Otherwise
/// the hook runs in a span, marked when it never called `next`.
async fn invoke<'x, T>(
    layer: &dyn Middleware,
    hook: Hook,
    calls: &AtomicU32,
    start: impl FnOnce() -> BoxFuture<'x, T>,
    on_panic: impl FnOnce(GenkitError) -> T,
    record: impl FnOnce(&tracing::Span, &T),
) -> T {
    let future = match catch_unwind(AssertUnwindSafe(start)) {
        Ok(f) => f,
        Err(p) => return on_panic(panicked(layer, hook, panic_message(p.as_ref()))),
    };
    let forwarded = calls.load(Ordering::Relaxed) > 0;
    if forwarded || !tracing::dispatcher::has_been_set() {
        return match AssertUnwindSafe(future).catch_unwind().await {
            Ok(v) => v,
            Err(p) => on_panic(panicked(layer, hook, panic_message(p.as_ref()))),
        };
    }
    let span = trace::span(
        SpanType::Action("middleware"),
        &format!("{}.{}", layer.name(), hook.as_str()),
    );
    let out = match AssertUnwindSafe(future)
        .catch_unwind()
        .instrument(span.clone())
        .await
    {
        Ok(v) => v,
        Err(p) => on_panic(panicked(layer, hook, panic_message(p.as_ref()))),
    };
    if trace::recording(&span) {
        if calls.load(Ordering::Relaxed) == 0 {
            trace::record_json(
                &span,
                trace::attr::INPUT,
                &serde_json::json!({ "shortCircuit": true }),
            );
        }
        record(&span, &out);
    }
    out
}

fn dispatch_model<'b>(
    layers: &'b [Arc<dyn Middleware>],
    model: &'b dyn Model,
    call: ModelCall<'b>,
) -> BoxFuture<'b, Result<ModelResponse, GenkitError>> {
    match layers.split_first() {
        None => Box::pin(crate::generate::instrument::guarded_model_call(
            model,
            call.request,
            call.ctx,
        )),
        Some((layer, rest)) => Box::pin(async move {
            let calls = AtomicU32::new(0);
            let next = ModelNext {
                layers: rest,
                model,
                calls: &calls,
            };
            invoke(
                layer.as_ref(),
                Hook::Model,
                &calls,
                || layer.model(call, next),
                Err,
                trace::record_result,
            )
            .await
        }),
    }
}

fn dispatch_tool<'b>(
    layers: &'b [Arc<dyn Middleware>],
    call: ToolCall<'b>,
) -> BoxFuture<'b, ToolOutcome> {
    match layers.split_first() {
        None => Box::pin(call.tool.run_body(call.input, call.ctx)),
        Some((layer, rest)) => Box::pin(async move {
            let calls = AtomicU32::new(0);
            let next = ToolNext {
                layers: rest,
                calls: &calls,
            };
            invoke(
                layer.as_ref(),
                Hook::Tool,
                &calls,
                || layer.tool(call, next),
                ToolOutcome::Failed,
                |span, outcome| match outcome {
                    ToolOutcome::Output(out) => trace::record_output(span, &out.output),
                    ToolOutcome::Interrupted(payload) => trace::record_interrupt(span, payload),
                    ToolOutcome::Failed(e) => trace::record_error(span, e),
                },
            )
            .await
        }),
    }
}

fn dispatch_generate<'b>(
    layers: &'b [Arc<dyn Middleware>],
    rest: &'b dyn IterationRunner,
    iteration: Iteration,
) -> BoxFuture<'b, Result<GenerateResponse, GenkitError>> {
    match layers.split_first() {
        None => rest.run_iteration(iteration),
        Some((layer, inner)) => Box::pin(async move {
            let calls = AtomicU32::new(0);
            let next = GenerateNext {
                layers: inner,
                rest,
                calls: &calls,
            };
            invoke(
                layer.as_ref(),
                Hook::Generate,
                &calls,
                || layer.generate(iteration, next),
                Err,
                |span, result| match result {
                    Ok(_) => trace::record_success(span),
                    Err(e) => trace::record_error(span, e),
                },
            )
            .await
        }),
    }
}
