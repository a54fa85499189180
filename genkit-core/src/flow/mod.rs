//! Flows: typed, traced, optionally streaming functions, registered as `/flow/<name>` actions
//! so the Genkit CLI, the Developer UI and HTTP clients can run them.
//!
//! ```
//! use genkit_core::flow::{define_flow, FlowContext};
//! use genkit_core::{prelude::*, testing::EchoModel};
//!
//! #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
//! struct Greeting {
//!     /// who to greet
//!     name: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
//! let greet = define_flow("greet", |input: Greeting, ctx: FlowContext| async move {
//!     // the flow runs generate on the instance that runs it
//!     let response = ctx.genkit().generate().prompt(format!("Hello, {}!", input.name)).await?;
//!     Ok(response.text())
//! });
//!
//! let ai = Genkit::builder()
//!     .model(EchoModel::new("echo"))
//!     .default_model("echo")
//!     .flow(greet.clone())
//!     .build()?;
//!
//! let text = greet.run(&ai, Greeting { name: "Ada".into() }).await?;
//! assert!(text.contains("Hello, Ada!"));
//! // the same flow, as a registered action, from JSON
//! let json = ai.run_action("/flow/greet", serde_json::json!({"name": "Ada"}), ActionContext::new()).await?;
//! assert_eq!(json, serde_json::json!(text));
//! # Ok(()) }
//! ```

mod context;
mod stream;

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tracing::{Instrument, Span};

pub use context::FlowContext;
pub use stream::FlowStream;

use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::{Genkit, GenkitBuilder};
use crate::run::{Cancellation, RunContext};
use crate::schema::{schema_for, Validator};
use crate::trace::{self, SpanType};
use context::FlowChunks;

type Body<I, O, S> =
    dyn Fn(I, FlowContext<S>) -> BoxFuture<'static, Result<O, GenkitError>> + Send + Sync;

struct Inner<I, O, S> {
    descriptor: ActionDescriptor,
    input: Validator,
    body: Box<Body<I, O, S>>,
}

/// A flow: input `I`, output `O`, stream chunks `S` (`()` for a flow that does not stream).
/// Cheap to clone.
///
/// Build one with [`define_flow`], register it with [`GenkitBuilder::flow`], run it with
/// [`run`](Flow::run) or [`stream`](Flow::stream) (or by key, as the Developer UI does).
///
/// ```
/// use genkit_core::flow::{define_flow, Flow, FlowContext};
/// use genkit_core::Genkit;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), genkit_core::GenkitError> {
/// let double: Flow<i64, i64> = define_flow("double", |x: i64, _ctx: FlowContext| async move { Ok(x * 2) });
/// let ai = Genkit::builder().flow(double.clone()).build()?;
/// assert_eq!(double.run(&ai, 21).await?, 42);
/// assert_eq!(double.name(), "double");
/// # Ok(()) }
/// ```
pub struct Flow<I, O, S = ()> {
    inner: Arc<Inner<I, O, S>>,
    action: Arc<FlowAction>,
}

impl<I, O, S> Clone for Flow<I, O, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            action: Arc::clone(&self.action),
        }
    }
}

impl<I, O, S> std::fmt::Debug for Flow<I, O, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Flow")
            .field(&self.inner.descriptor.key)
            .finish()
    }
}

/// Defines a flow named `name` running `body`.
///
/// The input and output JSON schemas come from `I` and `O` (doc comments become
/// descriptions); inputs arriving as JSON are validated against the input schema. The type of
/// the context parameter picks the chunk type: `FlowContext` for a flow that does not stream,
/// `FlowContext<T>` for one that streams `T`s.
///
/// ```
/// use genkit_core::flow::{define_flow, FlowContext};
/// let shout = define_flow("shout", |s: String, _ctx: FlowContext| async move {
///     Ok(s.to_uppercase())
/// });
/// assert_eq!(shout.key(), "/flow/shout");
/// ```
pub fn define_flow<I, O, S, F, Fut>(name: impl Into<String>, body: F) -> Flow<I, O, S>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + 'static,
    O: Serialize + JsonSchema + Send + 'static,
    S: Serialize + Send + 'static,
    F: Fn(I, FlowContext<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, GenkitError>> + Send + 'static,
{
    Flow::new(name, body)
}

fn is_unit<T: ?Sized>() -> bool {
    std::any::type_name::<T>() == "()"
}

impl<I, O, S> Flow<I, O, S>
where
    I: DeserializeOwned + Serialize + JsonSchema + Send + 'static,
    O: Serialize + JsonSchema + Send + 'static,
    S: Serialize + Send + 'static,
{
    /// Same as [`define_flow`].
    pub fn new<F, Fut>(name: impl Into<String>, body: F) -> Self
    where
        F: Fn(I, FlowContext<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, GenkitError>> + Send + 'static,
    {
        let name = name.into();
        let input_schema = schema_for::<I>();
        let input = Validator::compile(&format!("the input of flow '{name}'"), &input_schema)
            .unwrap_or_else(|e| Validator::reject_all(e.to_string()));
        let mut descriptor = ActionDescriptor::new(ActionKind::Flow, name);
        descriptor.input_schema = Some(input_schema);
        if !is_unit::<O>() {
            descriptor.output_schema = Some(schema_for::<O>());
        }
        let inner = Arc::new(Inner {
            descriptor: descriptor.clone(),
            input,
            body: Box::new(move |i, ctx| Box::pin(body(i, ctx))),
        });
        let json_inner = Arc::clone(&inner);
        let action = Arc::new(FlowAction {
            descriptor,
            run: Box::new(move |input, ctx| {
                let inner = Arc::clone(&json_inner);
                Box::pin(async move { inner.run_json(input, ctx).await })
            }),
        });
        Self { inner, action }
    }

    /// Runs the flow on `input` with an empty caller context.
    pub async fn run(&self, ai: &Genkit, input: I) -> Result<O, GenkitError> {
        self.run_with_context(ai, input, ActionContext::default())
            .await
    }

    /// Runs the flow on `input` with the caller's `context` (auth and the like).
    pub async fn run_with_context(
        &self,
        ai: &Genkit,
        input: I,
        context: ActionContext,
    ) -> Result<O, GenkitError> {
        let ctx = self
            .inner
            .context(ai.clone(), context, None, Cancellation::never());
        self.inner.run_typed(input, ctx).await
    }

    /// Runs the flow on `input`, streaming its chunks; dropping the stream cancels the flow.
    pub fn stream(&self, ai: &Genkit, input: I) -> FlowStream<S, O> {
        self.stream_with_context(ai, input, ActionContext::default())
    }

    /// Runs the flow on `input` with the caller's `context`, streaming its chunks.
    pub fn stream_with_context(
        &self,
        ai: &Genkit,
        input: I,
        context: ActionContext,
    ) -> FlowStream<S, O> {
        let inner = Arc::clone(&self.inner);
        let ai = ai.clone();
        FlowStream::new(move |sink| async move {
            let ctx = inner.context(
                ai,
                context,
                Some(FlowChunks::Typed(sink)),
                Cancellation::never(),
            );
            inner.run_typed(input, ctx).await
        })
    }
}

impl<I, O, S> Flow<I, O, S> {
    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.inner.descriptor.name
    }

    /// The flow's registry key, `/flow/<name>`.
    pub fn key(&self) -> &str {
        &self.inner.descriptor.key
    }

    /// The flow as a JSON action, for the registry.
    pub fn action(&self) -> Arc<dyn Action> {
        Arc::clone(&self.action) as Arc<dyn Action>
    }
}

/// Opens the flow's span and records its input and context.
fn flow_span(name: &str, input: &impl Serialize, context: &ActionContext) -> Span {
    let span = trace::span(SpanType::Action("flow"), name);
    trace::record_json(&span, trace::attr::INPUT, input);
    trace::record_context(&span, context);
    span
}

impl<I, O, S> Inner<I, O, S>
where
    I: DeserializeOwned + Serialize + Send + 'static,
    O: Serialize + Send + 'static,
    S: Serialize + Send + 'static,
{
    fn context(
        &self,
        genkit: Genkit,
        context: ActionContext,
        chunks: Option<FlowChunks<S>>,
        cancel: Cancellation,
    ) -> FlowContext<S> {
        FlowContext {
            genkit,
            context,
            chunks,
            cancel,
        }
    }

    /// Runs the body in `span`.
    async fn run_body(&self, span: &Span, input: I, ctx: FlowContext<S>) -> Result<O, GenkitError> {
        let result = (self.body)(input, ctx).instrument(span.clone()).await;
        trace::record_result(span, &result);
        result
    }

    async fn run_typed(&self, input: I, ctx: FlowContext<S>) -> Result<O, GenkitError> {
        let span = flow_span(&self.descriptor.name, &input, &ctx.context);
        self.run_body(&span, input, ctx).await
    }

    fn parse_input(&self, input: Value) -> Result<I, GenkitError> {
        let input = if is_unit::<I>() { Value::Null } else { input };
        if !is_unit::<I>() {
            if let Err(violations) = self.input.check(&input) {
                return Err(GenkitError::FlowInputInvalid {
                    flow: self.descriptor.name.clone(),
                    violations,
                });
            }
        }
        I::deserialize(input).map_err(|e| {
            GenkitError::json(format!("the input of flow '{}'", self.descriptor.name), e)
        })
    }

    /// A run through the dispatcher: the run context gives the instance, the caller's
    /// context, the sink (chunks go out as JSON) and cancellation.
    async fn run_json(&self, input: Value, run: RunContext) -> Result<Value, GenkitError> {
        let span = flow_span(&self.descriptor.name, &input, run.context());
        let parsed = match self.parse_input(input) {
            Ok(i) => i,
            Err(e) => {
                trace::record_error(&span, &e);
                return Err(e);
            }
        };
        let chunks = run.chunks().cloned().map(FlowChunks::Json);
        let cancel = run.cancellation().clone();
        let (genkit, options) = run.into_parts();
        let ctx = self.context(genkit, options.context().clone(), chunks, cancel);
        let output = self.run_body(&span, parsed, ctx).await?;
        serde_json::to_value(output).map_err(|e| {
            GenkitError::json(format!("the output of flow '{}'", self.descriptor.name), e)
        })
    }
}

type JsonRun =
    dyn Fn(Value, RunContext) -> BoxFuture<'static, Result<Value, GenkitError>> + Send + Sync;

/// A flow seen as a JSON action (`/flow/<name>`).
///
/// Run through [`Genkit::run_action`] (or by the Developer UI), it takes the running Genkit
/// instance, the caller's context and chunk sink from its [`RunContext`].
///
/// ```
/// use genkit_core::flow::{define_flow, FlowContext};
/// use genkit_core::{ActionKind, Genkit};
/// let f = define_flow("f", |s: String, _ctx: FlowContext| async move { Ok(s) });
/// let action = f.action(); // an `Arc<dyn Action>` backed by a `FlowAction`
/// assert_eq!(action.descriptor().kind, ActionKind::Flow);
/// ```
pub struct FlowAction {
    descriptor: ActionDescriptor,
    run: Box<JsonRun>,
}

impl std::fmt::Debug for FlowAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FlowAction")
            .field(&self.descriptor.key)
            .finish()
    }
}

impl Action for FlowAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        (self.run)(input, ctx)
    }

    fn traces_itself(&self) -> bool {
        true
    }
}

impl GenkitBuilder {
    /// Registers a flow as `/flow/<name>`, so the Genkit CLI, the Developer UI and
    /// [`Genkit::run_action`] can run it.
    ///
    /// ```
    /// use genkit_core::flow::{define_flow, FlowContext};
    /// use genkit_core::Genkit;
    /// let hello = define_flow("hello", |name: String, _ctx: FlowContext| async move {
    ///     Ok(format!("Hello, {name}!"))
    /// });
    /// let ai = Genkit::builder().flow(hello).build()?;
    /// assert!(ai.registry().action("/flow/hello").is_some());
    /// # Ok::<(), genkit_core::GenkitError>(())
    /// ```
    pub fn flow<I, O, S>(self, flow: Flow<I, O, S>) -> Self {
        self.action(flow.action())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;
    use futures::StreamExt;
    use serde_json::json;

    fn instance<I, O, S>(flow: &Flow<I, O, S>) -> Genkit {
        Genkit::builder().flow(flow.clone()).build().unwrap()
    }

    #[tokio::test]
    async fn descriptor_has_draft_07_schemas_and_no_metadata() {
        let f = define_flow("greet", |name: String, _ctx: FlowContext| async move {
            Ok(format!("Hello, {name}!"))
        });
        let d = f.action().descriptor().clone();
        assert_eq!(d.key, "/flow/greet");
        assert_eq!(d.kind, ActionKind::Flow);
        assert_eq!(d.input_schema.as_ref().unwrap()["type"], "string");
        assert_eq!(d.output_schema.as_ref().unwrap()["type"], "string");
        assert_eq!(
            d.input_schema.as_ref().unwrap()["$schema"],
            crate::schema::DRAFT_07
        );
        assert!(d.metadata.is_empty());
    }

    #[tokio::test]
    async fn json_input_is_validated_against_the_schema() {
        #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        struct In {
            name: String,
        }
        let f = define_flow(
            "greet",
            |i: In, _ctx: FlowContext| async move { Ok(i.name) },
        );
        let ai = instance(&f);
        let err = ai
            .run_action("/flow/greet", json!({"nom": 1}), ActionContext::default())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument);
        assert!(err.to_string().contains("name"), "{err}");
        let ok = ai
            .run_action(
                "/flow/greet",
                json!({"name": "Ada"}),
                ActionContext::default(),
            )
            .await
            .unwrap();
        assert_eq!(ok, json!("Ada"));
    }

    #[tokio::test]
    async fn context_reaches_the_flow() {
        let f = define_flow("who", |_: (), ctx: FlowContext| async move {
            Ok(ctx.context().get("auth").cloned().unwrap_or(Value::Null))
        });
        let ai = instance(&f);
        let ctx = ActionContext::from_json(json!({"auth": {"uid": "u1"}}));
        let out = f.run_with_context(&ai, (), ctx.clone()).await.unwrap();
        assert_eq!(out, json!({"uid": "u1"}));
        let out = ai.run_action("/flow/who", Value::Null, ctx).await.unwrap();
        assert_eq!(out, json!({"uid": "u1"}));
    }

    #[tokio::test]
    async fn streaming_flow_yields_chunks_then_output() {
        let f = define_flow("count", |n: u32, ctx: FlowContext<u32>| async move {
            for i in 0..n {
                ctx.send_chunk(i).await;
            }
            Ok(format!("done {n}"))
        });
        let ai = instance(&f);
        let mut stream = f.stream(&ai, 40);
        let mut got = Vec::new();
        while let Some(c) = stream.next().await {
            got.push(c);
        }
        assert_eq!(got, (0..40).collect::<Vec<_>>());
        assert_eq!(stream.output().await.unwrap(), "done 40");
        // not streaming: chunks are dropped, the output is the same
        assert_eq!(f.run(&ai, 3).await.unwrap(), "done 3");
    }

    #[tokio::test]
    async fn json_runs_stream_into_the_run_sink_but_nested_actions_do_not() {
        let inner = define_flow(
            "inner",
            |_: (), ctx: FlowContext<&'static str>| async move {
                ctx.send_chunk("inner chunk").await;
                Ok(1)
            },
        );
        let outer = define_flow(
            "outer",
            |_: (), ctx: FlowContext<&'static str>| async move {
                ctx.send_chunk("outer chunk").await;
                let n = ctx
                    .genkit()
                    .run_action("/flow/inner", Value::Null, ActionContext::default())
                    .await?;
                Ok(n)
            },
        );
        let ai = Genkit::builder()
            .flow(inner)
            .flow(outer.clone())
            .build()
            .unwrap();
        let (sink, mut chunks) = crate::ChunkSink::channel(16);
        let out = ai
            .run_action(
                "/flow/outer",
                Value::Null,
                crate::RunOptions::default().with_chunks(sink),
            )
            .await
            .unwrap();
        assert_eq!(out, json!(1));
        assert_eq!(chunks.recv().await, Some(json!("outer chunk")));
        assert!(chunks.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_flow_sees_the_callers_cancellation() {
        let f = define_flow("wait", |_: (), ctx: FlowContext| async move {
            ctx.cancellation().cancelled().await;
            Ok("stopped")
        });
        let ai = instance(&f);
        let cancel = Cancellation::new();
        cancel.cancel();
        let out = ai
            .run_action(
                "/flow/wait",
                Value::Null,
                crate::RunOptions::default().with_cancellation(cancel),
            )
            .await
            .unwrap();
        assert_eq!(out, json!("stopped"));
    }

    #[tokio::test]
    async fn errors_keep_their_status() {
        let f = define_flow("deny", |_: (), _ctx: FlowContext| async move {
            Err::<(), _>(GenkitError::with_status(Status::PermissionDenied, "no"))
        });
        let ai = instance(&f);
        let err = f.run(&ai, ()).await.unwrap_err();
        assert_eq!(err.status(), Status::PermissionDenied);
    }

    #[tokio::test]
    async fn steps_return_their_value() {
        let f = define_flow("steps", |x: i64, ctx: FlowContext| async move {
            let doubled = ctx.run("double", async { Ok(x * 2) }).await?;
            ctx.run("add", async { Ok(doubled + 1) }).await
        });
        let ai = instance(&f);
        assert_eq!(f.run(&ai, 20).await.unwrap(), 41);
    }
}
