//! The typed layer over [`ToolAction`]: [`Tool<I, O>`], [`TypedTool`] (typed answers to
//! interrupts) and [`IntoTool`].

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::FutureExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::action::{ToolAction, ToolFn, ToolOutcome, ToolOutput};
use super::context::{request_id, ToolContext};
use super::error::{ToolError, ToolErrorKind, ToolResult};
use super::interrupt::{tool_response, tool_response_with_metadata, tool_restart, Interrupt};
use super::restart::Restart;
use crate::error::{GenkitError, RequestId};
use crate::schema::{input_schema_for, schema_for};
use crate::wire::{Part, ToolDefinition};

/// A typed tool: input `I`, output `O`. Cheap to clone.
///
/// ```
/// use genkit_core::{Tool, ToolContext, ToolResult};
///
/// let lookup = Tool::new("lookup", "Look a word up", |word: String, _ctx: ToolContext| async move {
///     ToolResult::Ok(word.len())
/// });
/// assert_eq!(lookup.definition().name, "lookup");
/// assert_eq!(lookup.definition().input_schema.as_ref().unwrap()["type"], "string");
/// ```
pub struct Tool<I, O> {
    action: Arc<ToolAction>,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for Tool<I, O> {
    fn clone(&self) -> Self {
        Self {
            action: Arc::clone(&self.action),
            _types: PhantomData,
        }
    }
}

impl<I, O> std::fmt::Debug for Tool<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tool").field(&self.action.name()).finish()
    }
}

fn is_unit<T: ?Sized>() -> bool {
    std::any::type_name::<T>() == "()"
}

/// Reads a tool input; a tool without input gets `{}` from models, and `()` reads `null`.
pub(crate) fn decode_input<I: DeserializeOwned>(value: Value) -> Result<I, serde_json::Error> {
    let value = if is_unit::<I>() { Value::Null } else { value };
    I::deserialize(value)
}

/// The body of a typed tool, over JSON: decode the input, run, encode the output.
pub(crate) fn typed_runner<I: 'static, O: 'static, B, Fut>(
    decode: fn(Value) -> Result<I, serde_json::Error>,
    encode: fn(O) -> Result<Value, serde_json::Error>,
    body: B,
) -> Box<ToolFn>
where
    B: Fn(I, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ToolResult<O>> + Send + 'static,
{
    Box::new(move |input: Value, ctx: ToolContext| match decode(input) {
        Ok(i) => {
            let (name, ref_) = ctx.id_parts();
            body(i, ctx)
                .map(move |r| match r {
                    Ok(o) => match encode(o) {
                        Ok(output) => ToolOutcome::Output(ToolOutput::new(output)),
                        Err(e) => ToolOutcome::Failed(GenkitError::ToolOutputInvalid {
                            request: request_id(&name, ref_.as_deref()),
                            violations: vec![e.to_string()],
                        }),
                    },
                    Err(e) => body_error(|| request_id(&name, ref_.as_deref()), e),
                })
                .boxed()
        }
        Err(e) => {
            let failed = ToolOutcome::Failed(GenkitError::ToolInputInvalid {
                request: ctx.request_id(),
                violations: vec![e.to_string()],
            });
            Box::pin(std::future::ready(failed))
        }
    })
}

/// What a body's error means: an interrupt, or a failure naming the request.
pub(crate) fn body_error(request: impl FnOnce() -> RequestId, error: ToolError) -> ToolOutcome {
    match error.0 {
        ToolErrorKind::Interrupt(payload) => ToolOutcome::Interrupted(payload),
        ToolErrorKind::Failed(source) => ToolOutcome::Failed(GenkitError::ToolFailed {
            request: request(),
            source,
        }),
    }
}

/// Schemas derived by schemars always compile; should one not, the tool rejects every call.
pub(crate) fn typed_action(
    name: String,
    description: String,
    input_schema: Value,
    output_schema: Value,
    run: Box<ToolFn>,
) -> ToolAction {
    let fallback_name = name.clone();
    ToolAction::build(
        name,
        description.clone(),
        input_schema,
        Some(output_schema),
        false,
        run,
    )
    .unwrap_or_else(|e| ToolAction::unavailable(fallback_name, description, e.to_string()))
}

impl<I, O> Tool<I, O>
where
    I: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + JsonSchema + Send + 'static,
{
    /// A tool named `name`, described by `description`, running `body`.
    ///
    /// The input and output schemas are derived from `I` and `O` (doc comments on fields become
    /// descriptions). Inputs are validated against the schema before `body` runs.
    pub fn new<F, Fut>(name: impl Into<String>, description: impl Into<String>, body: F) -> Self
    where
        F: Fn(I, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult<O>> + Send + 'static,
    {
        let run = typed_runner(decode_input::<I>, serde_json::to_value::<O>, body);
        Self::from_action(typed_action(
            name.into(),
            description.into(),
            input_schema_for::<I>(),
            schema_for::<O>(),
            run,
        ))
    }

    /// An interrupt-only tool: calling it always pauses the loop (payload `true`); the
    /// application answers with [`TypedTool::respond`]. Genkit calls this `defineInterrupt`.
    pub fn interrupt(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::interrupt_with(name, description, |_: &I| ())
    }

    /// An interrupt-only tool whose payload is computed from the input.
    pub fn interrupt_with<P, F>(
        name: impl Into<String>,
        description: impl Into<String>,
        payload: F,
    ) -> Self
    where
        P: Serialize,
        F: Fn(&I) -> P + Send + Sync + 'static,
    {
        let mut tool = Self::new(name, description, move |input: I, ctx: ToolContext| {
            let result: ToolResult<O> = ctx.interrupt(payload(&input));
            std::future::ready(result)
        });
        // just built, so not shared yet
        if let Some(action) = Arc::get_mut(&mut tool.action) {
            action.mark_not_restartable();
        }
        tool
    }
}

impl<I, O> Tool<I, O> {
    /// Wraps an already built action. The caller vouches that `I` and `O` match its schemas.
    pub fn from_action(action: ToolAction) -> Self {
        Self {
            action: Arc::new(action),
            _types: PhantomData,
        }
    }

    /// The definition sent to models.
    pub fn definition(&self) -> &ToolDefinition {
        self.action.definition()
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        self.action.name()
    }

    /// The application states the tool needs (see [`ToolAction::needs_state`]).
    pub fn needs_state(&self) -> &[super::StateKey] {
        self.action.needs_state()
    }
}

impl Tool<Value, Value> {
    /// A tool defined at run time from JSON schemas, working on JSON values.
    ///
    /// Both schemas are compiled now; inputs and outputs are validated on every call.
    ///
    /// ```
    /// use genkit_core::{Tool, ToolContext, ToolResult};
    /// use serde_json::{json, Value};
    ///
    /// let echo = Tool::dynamic(
    ///     "echo",
    ///     "Echo the input",
    ///     json!({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}),
    ///     Some(json!({"type": "integer"})),
    ///     |input: Value, _ctx: ToolContext| async move { ToolResult::Ok(input["x"].clone()) },
    /// )?;
    /// # Ok::<(), genkit_core::GenkitError>(())
    /// ```
    pub fn dynamic<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        output_schema: Option<Value>,
        body: F,
    ) -> Result<Self, GenkitError>
    where
        F: Fn(Value, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult<Value>> + Send + 'static,
    {
        let run: Box<ToolFn> = Box::new(move |input, ctx: ToolContext| {
            let (name, ref_) = ctx.id_parts();
            body(input, ctx)
                .map(move |r| match r {
                    Ok(output) => ToolOutcome::Output(ToolOutput::new(output)),
                    Err(e) => body_error(|| request_id(&name, ref_.as_deref()), e),
                })
                .boxed()
        });
        ToolAction::build(
            name.into(),
            description.into(),
            input_schema,
            output_schema,
            true,
            run,
        )
        .map(Self::from_action)
    }

    /// A multipart tool defined at run time: the body returns output plus content parts.
    pub fn dynamic_multipart<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        output_schema: Option<Value>,
        body: F,
    ) -> Result<Self, GenkitError>
    where
        F: Fn(Value, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult<ToolOutput>> + Send + 'static,
    {
        let run: Box<ToolFn> = Box::new(move |input, ctx: ToolContext| {
            let (name, ref_) = ctx.id_parts();
            body(input, ctx)
                .map(move |r| match r {
                    Ok(out) => ToolOutcome::Output(out),
                    Err(e) => body_error(|| request_id(&name, ref_.as_deref()), e),
                })
                .boxed()
        });
        ToolAction::build(
            name.into(),
            description.into(),
            input_schema,
            output_schema,
            true,
            run,
        )
        .map(Self::from_action)
    }
}

/// A tool with known Rust input and output types: `Tool<I, O>` and every `#[tool]`.
///
/// Gives the typed answers to its interrupts: the compiler rejects an answer of the wrong type.
pub trait TypedTool: Send + Sync {
    /// The input type.
    type Input;
    /// The output type (the answer type, for interrupts).
    type Output;

    /// The underlying action.
    fn action(&self) -> &Arc<ToolAction>;

    /// Answers `interrupt` (which must be this tool's) with `output`.
    fn respond(&self, interrupt: &Interrupt, output: Self::Output) -> Result<Part, GenkitError>
    where
        Self::Output: Serialize,
    {
        check_owner(self.action(), interrupt)?;
        tool_response(interrupt, output)
    }

    /// Answers `interrupt` with `output`, recording `metadata` as `interruptResponse`.
    fn respond_with_metadata(
        &self,
        interrupt: &Interrupt,
        output: Self::Output,
        metadata: impl Serialize,
    ) -> Result<Part, GenkitError>
    where
        Self::Output: Serialize,
    {
        check_owner(self.action(), interrupt)?;
        tool_response_with_metadata(interrupt, output, metadata)
    }

    /// Approves `interrupt`: a [`Restart`] that re-runs this tool on resume, resumed with
    /// `true`; `.resumed(..)` and `.with_input(..)` change what it runs with, `.into_part()`
    /// finishes it.
    fn approve<'a>(&'a self, interrupt: &'a Interrupt) -> Restart<'a, Self::Input> {
        Restart::new(self.action(), interrupt)
    }

    /// Re-runs this tool for `interrupt` on resume, with restart metadata `resumed` and,
    /// optionally, a replaced input. [`approve`](Self::approve) says the same by name.
    fn restart(
        &self,
        interrupt: &Interrupt,
        resumed: impl Serialize,
        new_input: Option<Self::Input>,
    ) -> Result<Part, GenkitError>
    where
        Self::Input: Serialize,
    {
        check_owner(self.action(), interrupt)?;
        let new_input = new_input
            .map(|i| serde_json::to_value(i).map_err(|e| GenkitError::json("restart input", e)))
            .transpose()?;
        tool_restart(interrupt, resumed, new_input)
    }
}

pub(crate) fn check_owner(action: &ToolAction, interrupt: &Interrupt) -> Result<(), GenkitError> {
    if interrupt.name() == action.name() {
        Ok(())
    } else {
        Err(GenkitError::InterruptMismatch {
            tool: action.name().to_owned(),
            request: interrupt.id(),
        })
    }
}

impl<I, O> TypedTool for Tool<I, O> {
    type Input = I;
    type Output = O;

    fn action(&self) -> &Arc<ToolAction> {
        &self.action
    }
}

impl<T: TypedTool + ?Sized> TypedTool for &T {
    type Input = T::Input;
    type Output = T::Output;

    fn action(&self) -> &Arc<ToolAction> {
        (**self).action()
    }
}

/// Anything that can be handed to `.tool(..)`: typed tools, `#[tool]` items, or a shared action.
pub trait IntoTool {
    /// The shared action.
    fn into_tool(self) -> Arc<ToolAction>;
}

impl<T: TypedTool> IntoTool for T {
    fn into_tool(self) -> Arc<ToolAction> {
        Arc::clone(self.action())
    }
}

impl IntoTool for Arc<ToolAction> {
    fn into_tool(self) -> Arc<ToolAction> {
        self
    }
}
