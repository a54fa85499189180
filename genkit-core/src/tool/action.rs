//! [`ToolAction`]: a tool with its schemas compiled, and the one way a tool runs.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::context::{request_id, ToolContext};
use super::state::StateKey;
use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::error::{GenkitError, RequestId};
use crate::middleware::Chain;
use crate::run::guard::guarded;
use crate::run::RunContext;
use crate::schema::Validator;
use crate::wire::{Part, ToolDefinition};

/// What a tool produced: its JSON output and, for multipart tools, content parts.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The output, as JSON.
    pub output: Value,
    /// Extra content (text, media) for multipart tools.
    pub content: Option<Vec<Part>>,
}

impl ToolOutput {
    /// An output without content parts.
    pub fn new(output: Value) -> Self {
        Self {
            output,
            content: None,
        }
    }
}

/// How one tool call ended: every path that runs a tool (the generate loop, resume,
/// [`ToolAction::call`], the dispatcher, the Developer UI) gets one of these.
#[derive(Debug)]
pub enum ToolOutcome {
    /// The tool answered.
    Output(ToolOutput),
    /// The tool paused the loop with this payload (`true` when it gave none).
    Interrupted(Value),
    /// The call failed: the input did not validate, the body returned an error or panicked,
    /// or the output did not validate. The error names the request.
    Failed(GenkitError),
}

impl ToolOutcome {
    /// The output, or the error a direct call reports: an interrupt is
    /// [`GenkitError::ToolInterrupted`] there, since no loop can pause.
    pub fn into_result(
        self,
        request: impl FnOnce() -> RequestId,
    ) -> Result<ToolOutput, GenkitError> {
        match self {
            ToolOutcome::Output(out) => Ok(out),
            ToolOutcome::Interrupted(payload) => Err(GenkitError::ToolInterrupted {
                request: request(),
                payload,
            }),
            ToolOutcome::Failed(e) => Err(e),
        }
    }
}

/// The body of a tool over JSON, on an input that passed the schema.
pub(crate) type ToolFn =
    dyn Fn(Value, ToolContext) -> BoxFuture<'static, ToolOutcome> + Send + Sync;

/// A tool with its schemas compiled: what the registry stores and every path runs.
///
/// Built by [`Tool`](crate::Tool) constructors or `#[tool]`; shared as `Arc<ToolAction>`.
pub struct ToolAction {
    descriptor: ActionDescriptor,
    definition: ToolDefinition,
    input: Validator,
    output: Option<Validator>,
    /// Dynamic tools' own outputs are checked; typed outputs are right by construction.
    check_own_output: bool,
    /// The application states the body needs (`State<S>` parameters of a `#[tool]`).
    needs: Vec<StateKey>,
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
    pub(crate) fn build(
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
            needs: Vec::new(),
            run,
        })
    }

    /// Declares the application states the body reads, checked before it can run.
    pub(crate) fn with_needs(mut self, needs: Vec<StateKey>) -> Self {
        self.needs = needs;
        self
    }

    /// The application states this tool needs (its `State<S>` parameters): a [`Genkit`]
    /// instance offering the tool must have each (see
    /// [`GenkitBuilder::state`](crate::GenkitBuilder::state)).
    ///
    /// [`Genkit`]: crate::Genkit
    pub fn needs_state(&self) -> &[StateKey] {
        &self.needs
    }

    /// A tool that rejects every call with `message` (a schema that did not compile).
    pub(crate) fn unavailable(name: String, description: String, message: String) -> Self {
        Self {
            descriptor: ActionDescriptor::new(ActionKind::Tool, name.clone()),
            definition: ToolDefinition {
                name,
                key: None,
                description,
                input_schema: None,
                output_schema: None,
                metadata: None,
            },
            input: Validator::reject_all(message),
            output: None,
            check_own_output: false,
            needs: Vec::new(),
            run: Box::new(|_, ctx| {
                Box::pin(async move {
                    ToolOutcome::Failed(GenkitError::ToolFailed {
                        request: ctx.request_id(),
                        source: "tool unavailable".into(),
                    })
                })
            }),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// Flags an interrupt-only tool the way Genkit JS's `defineInterrupt` does,
    /// `"tool": {"restartable": false}` in its metadata: restarting it would only pause again,
    /// so the tooling offers to answer it instead.
    pub(crate) fn mark_not_restartable(&mut self) {
        let tool = self
            .descriptor
            .metadata
            .entry("tool".to_owned())
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(m) = tool {
            m.insert("restartable".to_owned(), Value::Bool(false));
        }
    }

    /// The tool's description.
    pub fn description(&self) -> &str {
        &self.definition.description
    }

    /// The definition sent to models.
    pub fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    /// Checks an output (the tool's own, or an application's answer) against the output schema.
    pub(crate) fn check_output(&self, output: &Value) -> Result<(), Vec<String>> {
        match &self.output {
            Some(v) => v.check(output),
            None => Ok(()),
        }
    }

    /// Models sometimes send arguments as a JSON string; parse it when the schema wants
    /// otherwise. No input at all is `{}`, as models send for tools without parameters.
    fn normalize(&self, ctx: &ToolContext, input: Value) -> Result<Value, GenkitError> {
        match input {
            Value::Null => Ok(json!({})),
            Value::String(ref raw) if self.input.check(&input).is_err() => {
                serde_json::from_str(raw).map_err(|source| GenkitError::ToolInputNotJson {
                    request: ctx.request_id(),
                    raw: raw.clone(),
                    source,
                })
            }
            other => Ok(other),
        }
    }

    /// Runs the tool: the one primitive every path uses.
    ///
    /// Normalises the input (no input is `{}`, JSON-string arguments are parsed), validates it
    /// against the input schema, runs the body inside a tool span with panics caught around the
    /// whole call (the synchronous part of a closure included), and checks a dynamic tool's own
    /// output against its output schema.
    ///
    /// ```
    /// use genkit_core::{Tool, ToolContext, ToolOutcome, ToolResult, TypedTool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let len = Tool::new("len", "Length of a word", |w: String, _ctx: ToolContext| async move {
    ///     ToolResult::Ok(w.len())
    /// });
    /// let outcome = len.action().call("abc".into(), ToolContext::new("len")).await;
    /// assert!(matches!(outcome, ToolOutcome::Output(out) if out.output == 3));
    /// # }
    /// ```
    pub async fn call(&self, input: Value, ctx: ToolContext) -> ToolOutcome {
        self.call_with(input, ctx, None).await
    }

    /// [`call`](Self::call) with the tool hooks of a generate call's middleware around the
    /// body (inside the tool span, after validation).
    pub(crate) async fn call_with(
        &self,
        input: Value,
        ctx: ToolContext,
        middleware: Option<&Chain>,
    ) -> ToolOutcome {
        let input = match self.normalize(&ctx, input) {
            Ok(v) => v,
            Err(e) => return ToolOutcome::Failed(e),
        };
        if let Err(violations) = self.input.check(&input) {
            return ToolOutcome::Failed(GenkitError::ToolInputInvalid {
                request: ctx.request_id(),
                violations,
            });
        }
        // the id errors name the request by, built only when one does
        let ref_ = ctx.ref_.clone();
        let request = || request_id(self.name(), ref_.as_deref());
        let outcome =
            crate::generate::instrument::tool_call(self.name(), input, |input| async move {
                match middleware {
                    Some(chain) if !chain.no_tool_hooks() => chain.tool(self, input, ctx).await,
                    _ => self.run_body(input, ctx).await,
                }
            })
            .await;
        match outcome {
            ToolOutcome::Output(out) if self.check_own_output => {
                match self.check_output(&out.output) {
                    Ok(()) => ToolOutcome::Output(out),
                    Err(violations) => ToolOutcome::Failed(GenkitError::ToolOutputInvalid {
                        request: request(),
                        violations,
                    }),
                }
            }
            other => other,
        }
    }

    /// The body on a validated input, a panic caught as [`GenkitError::ToolPanicked`]: the
    /// innermost link of the tool chain.
    pub(crate) async fn run_body(&self, input: Value, ctx: ToolContext) -> ToolOutcome {
        let (name, ref_) = ctx.id_parts();
        match guarded(|| (self.run)(input, ctx)).await {
            Ok(outcome) => outcome,
            Err(message) => ToolOutcome::Failed(GenkitError::ToolPanicked {
                request: request_id(&name, ref_.as_deref()),
                message,
            }),
        }
    }
}

impl Action for ToolAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    /// Runs the tool directly, outside a generate loop: an interrupt is
    /// [`GenkitError::ToolInterrupted`].
    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let mut tool_ctx = ToolContext::new(self.name()).with_context(ctx.context().clone());
            tool_ctx.states = ctx.genkit().states().clone();
            self.call(input, tool_ctx)
                .await
                .into_result(|| RequestId::new(self.name(), None))
                .map(|out| out.output)
        })
    }

    fn traces_itself(&self) -> bool {
        true
    }
}
