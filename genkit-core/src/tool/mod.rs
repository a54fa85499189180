//! Tools: typed functions the model can call, and interrupts that pause the loop.
//!
//! A [`Tool<I, O>`] wraps an async function `(I, ToolContext) -> ToolResult<O>` together with its
//! name, description and JSON schemas (derived once from `I` and `O`). The `#[tool]` attribute
//! generates exactly this; the constructors here are for tools built without the macro.

mod context;
mod error;
mod interrupt;
pub(crate) mod macro_support;
mod typed_context;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use context::ToolContext;
pub(crate) use error::ToolErrorKind;
pub use error::{ToolError, ToolResult};
pub use interrupt::{tool_response, tool_response_with_metadata, tool_restart, Interrupt};
pub use typed_context::TypedToolContext;

use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::context::ActionContext;
use crate::error::{GenkitError, RequestId};
use crate::schema::{input_schema_for, schema_for, Validator};
use crate::wire::{Part, ToolDefinition};

/// What a tool produced: its JSON output and, for multipart tools, content parts.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The output, as JSON.
    pub output: Value,
    /// Extra content (text, media) for multipart tools.
    pub content: Option<Vec<Part>>,
}

/// How one run of a tool body ended, before the engine interprets it.
pub(crate) enum RunError {
    /// The body returned an error or interrupted.
    Tool(ToolError),
    /// The input passed the schema but did not deserialize into the Rust type.
    Input(serde_json::Error),
    /// The output did not serialize to JSON.
    Output(serde_json::Error),
}

type ToolFn =
    dyn Fn(Value, ToolContext) -> BoxFuture<'static, Result<ToolOutput, RunError>> + Send + Sync;

/// A tool with its schemas compiled: what the registry stores and the engine runs.
///
/// Built by [`Tool`] constructors or `#[tool]`; shared as `Arc<ToolAction>`.
pub struct ToolAction {
    descriptor: ActionDescriptor,
    definition: ToolDefinition,
    input: Validator,
    output: Option<Validator>,
    /// Dynamic tools' own outputs are checked; typed outputs are right by construction.
    check_own_output: bool,
    run: Box<ToolFn>,
}

impl std::fmt::Debug for ToolAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolAction")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

impl ToolAction {
    fn build(
        name: String,
        description: String,
        input_schema: Value,
        output_schema: Option<Value>,
        check_own_output: bool,
        run: Box<ToolFn>,
    ) -> Result<Self, GenkitError> {
        let input = Validator::compile(&format!("the input of tool '{name}'"), &input_schema)?;
        let output = output_schema
            .as_ref()
            .map(|s| Validator::compile(&format!("the output of tool '{name}'"), s))
            .transpose()?;
        let definition = ToolDefinition {
            name: name.clone(),
            // Genkit's generate spec sends tool definitions to models without a key
            key: None,
            description: description.clone(),
            input_schema: Some(Arc::new(input_schema.clone())),
            output_schema: output_schema.clone().map(Arc::new),
            metadata: None,
        };
        let mut descriptor = ActionDescriptor::new(ActionKind::Tool, name);
        descriptor.description = Some(description);
        descriptor.input_schema = Some(input_schema);
        descriptor.output_schema = output_schema;
        Ok(Self {
            descriptor,
            definition,
            input,
            output,
            check_own_output,
            run,
        })
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The tool's description.
    pub fn description(&self) -> &str {
        &self.definition.description
    }

    /// The definition sent to models.
    pub fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    /// Checks a tool input against the input schema.
    pub(crate) fn check_input(&self, input: &Value) -> Result<(), Vec<String>> {
        self.input.check(input)
    }

    /// Checks an output (the tool's own, or an application's answer) against the output schema.
    pub(crate) fn check_output(&self, output: &Value) -> Result<(), Vec<String>> {
        match &self.output {
            Some(v) => v.check(output),
            None => Ok(()),
        }
    }

    pub(crate) fn checks_own_output(&self) -> bool {
        self.check_own_output
    }

    /// Runs the body on an input that already passed the schema.
    pub(crate) fn run(
        &self,
        input: Value,
        ctx: ToolContext,
    ) -> BoxFuture<'static, Result<ToolOutput, RunError>> {
        (self.run)(input, ctx)
    }

    /// Calls the tool directly, outside a generate loop: validates the input, runs the body,
    /// validates the output. An interrupt comes back as `Ok(Err(payload))`.
    pub async fn call(
        &self,
        input: Value,
        ctx: ToolContext,
    ) -> Result<Result<ToolOutput, Value>, GenkitError> {
        let id = RequestId::new(self.name(), ctx.ref_.clone());
        if let Err(violations) = self.check_input(&input) {
            return Err(GenkitError::ToolInputInvalid {
                request: id,
                violations,
            });
        }
        match self.run(input, ctx).await {
            Ok(out) => {
                if self.check_own_output {
                    if let Err(violations) = self.check_output(&out.output) {
                        return Err(GenkitError::ToolOutputInvalid {
                            request: id,
                            violations,
                        });
                    }
                }
                Ok(Ok(out))
            }
            Err(e) => match e {
                RunError::Tool(ToolError(ToolErrorKind::Interrupt(payload))) => Ok(Err(payload)),
                other => Err(run_error(id, other)),
            },
        }
    }
}

/// Turns a failed run into the error that names the request.
pub(crate) fn run_error(request: RequestId, error: RunError) -> GenkitError {
    match error {
        RunError::Tool(ToolError(ToolErrorKind::Failed(source))) => {
            GenkitError::ToolFailed { request, source }
        }
        RunError::Tool(ToolError(ToolErrorKind::Interrupt(_))) => GenkitError::Other {
            status: crate::Status::Aborted,
            message: format!("tool {request} interrupted"),
        },
        RunError::Input(e) => GenkitError::ToolInputInvalid {
            request,
            violations: vec![e.to_string()],
        },
        RunError::Output(e) => GenkitError::ToolOutputInvalid {
            request,
            violations: vec![e.to_string()],
        },
    }
}

impl Action for ToolAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(
        &self,
        input: Value,
        context: ActionContext,
    ) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let ctx = ToolContext::new(self.name()).with_context(context);
            match self.call(input, ctx).await? {
                Ok(out) => Ok(out.output),
                Err(payload) => Err(GenkitError::Other {
                    status: crate::Status::Aborted,
                    message: format!("tool '{}' interrupted: {payload}", self.name()),
                }),
            }
        })
    }
}

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
        f.debug_tuple("Tool")
            .field(&self.action.definition.name)
            .finish()
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
        Ok(i) => body(i, ctx)
            .map(move |r| match r {
                Ok(o) => encode(o)
                    .map(|output| ToolOutput {
                        output,
                        content: None,
                    })
                    .map_err(RunError::Output),
                Err(e) => Err(RunError::Tool(e)),
            })
            .boxed(),
        Err(e) => Box::pin(async move { Err(RunError::Input(e)) }),
    })
}

/// Schemas derived by schemars always compile; should one not, the tool rejects every call.
fn typed_action(
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
    .unwrap_or_else(|e| {
        let message = e.to_string();
        ToolAction {
            descriptor: ActionDescriptor::new(ActionKind::Tool, fallback_name.clone()),
            definition: ToolDefinition {
                name: fallback_name,
                key: None,
                description,
                input_schema: None,
                output_schema: None,
                metadata: None,
            },
            input: Validator::reject_all(message),
            output: None,
            check_own_output: false,
            run: Box::new(|_, _| {
                Box::pin(async { Err(RunError::Tool(ToolError::msg("tool unavailable"))) })
            }),
        }
    })
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
        Self::new(name, description, move |input: I, ctx: ToolContext| {
            let result: ToolResult<O> = ctx.interrupt(payload(&input));
            std::future::ready(result)
        })
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
        let run: Box<ToolFn> = Box::new(move |input, ctx| {
            body(input, ctx)
                .map(|r| {
                    r.map(|output| ToolOutput {
                        output,
                        content: None,
                    })
                    .map_err(RunError::Tool)
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
        let run: Box<ToolFn> =
            Box::new(move |input, ctx| body(input, ctx).map(|r| r.map_err(RunError::Tool)).boxed());
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

    /// Re-runs this tool for `interrupt` on resume, with restart metadata `resumed` and,
    /// optionally, a replaced input.
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

fn check_owner(action: &ToolAction, interrupt: &Interrupt) -> Result<(), GenkitError> {
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

/// Tool names model APIs accept: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
