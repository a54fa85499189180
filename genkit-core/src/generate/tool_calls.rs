//! Running the tool requests of one model message: validation, concurrency, panics, interrupts.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::join_all;
use futures::FutureExt;
use serde_json::{json, Value};

use crate::context::ActionContext;
use crate::error::{GenkitError, RequestId};
use crate::model::ChunkSink;
use crate::protocol;
use crate::tool::{
    run_error, RunError, ToolAction, ToolContext, ToolError, ToolErrorKind, ToolOutput,
};
use crate::wire::{Message, Part, Role, ToolRequest, ToolResponse};

/// What to do when the model asks for a tool that does not exist, or sends arguments that do
/// not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ToolErrorMode {
    /// Fail the generate call with a typed error (the default).
    #[default]
    Fail,
    /// Answer the request with `{"error": "..."}` so the model can correct itself. Each such
    /// round counts against `max_turns`.
    ReturnToModel,
}

/// The tools of one generate call, by name.
pub(crate) struct ToolSet {
    tools: Vec<Arc<ToolAction>>,
}

impl ToolSet {
    /// Checks that no two different tools share a name.
    pub(crate) fn new(tools: Vec<Arc<ToolAction>>) -> Result<Self, GenkitError> {
        let mut unique: Vec<Arc<ToolAction>> = Vec::with_capacity(tools.len());
        for t in tools {
            match unique.iter().find(|u| u.name() == t.name()) {
                Some(u) if Arc::ptr_eq(u, &t) => {}
                Some(_) => {
                    return Err(GenkitError::DuplicateTool {
                        name: t.name().to_owned(),
                    })
                }
                None => unique.push(t),
            }
        }
        Ok(Self { tools: unique })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<ToolAction>> {
        self.tools.iter().find(|t| t.name() == name)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<ToolAction>> {
        self.tools.iter()
    }

    fn names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name().to_owned()).collect()
    }
}

/// How one tool request ended.
pub(crate) enum CallOutcome {
    /// The tool answered (or, in `ReturnToModel` mode, an error answer for the model).
    Output(ToolOutput),
    /// The tool paused the loop with this payload.
    Interrupt(Value),
}

/// Everything a tool call needs besides the request.
#[derive(Clone)]
pub(crate) struct CallEnv<'a> {
    pub tools: &'a ToolSet,
    pub context: &'a ActionContext,
    pub mode: ToolErrorMode,
    pub progress: Option<ChunkSink>,
}

fn model_error(env: &CallEnv<'_>, error: GenkitError) -> Result<CallOutcome, GenkitError> {
    match env.mode {
        ToolErrorMode::Fail => Err(error),
        ToolErrorMode::ReturnToModel => Ok(CallOutcome::Output(ToolOutput {
            output: json!({ "error": error.to_string() }),
            content: None,
        })),
    }
}

/// Models sometimes send arguments as a JSON string; parse it when the schema wants otherwise.
fn normalize_input(
    tool: &ToolAction,
    id: &RequestId,
    input: Option<&Value>,
) -> Result<Value, GenkitError> {
    let input = match input {
        None | Some(Value::Null) => return Ok(json!({})),
        Some(v) => v,
    };
    if let Value::String(raw) = input {
        if tool.check_input(input).is_err() {
            return serde_json::from_str(raw).map_err(|source| GenkitError::ToolInputNotJson {
                request: id.clone(),
                raw: raw.clone(),
                source,
            });
        }
    }
    Ok(input.clone())
}

/// Runs one tool request: resolve the tool, validate the input, run the body (catching panics),
/// check the output.
pub(crate) async fn call_tool(
    env: &CallEnv<'_>,
    request: &ToolRequest,
    resumed: Option<Value>,
    original_input: Option<Value>,
) -> Result<CallOutcome, GenkitError> {
    let id = RequestId::new(&request.name, request.ref_.clone());
    let Some(tool) = env.tools.get(&request.name) else {
        let error = GenkitError::ToolNotFound {
            request: id,
            available: env.tools.names(),
        };
        return model_error(env, error);
    };
    let input = match normalize_input(tool, &id, request.input.as_ref()) {
        Ok(v) => v,
        Err(e) => return model_error(env, e),
    };
    if let Err(violations) = tool.check_input(&input) {
        return model_error(
            env,
            GenkitError::ToolInputInvalid {
                request: id,
                violations,
            },
        );
    }
    let ctx = ToolContext {
        name: request.name.clone(),
        ref_: request.ref_.clone(),
        resumed,
        original_input,
        context: env.context.clone(),
        progress: env.progress.clone(),
    };
    // issue 7 (tracing): each tool call is a tool span; an interrupt is recorded as Genkit does
    let run = crate::trace::tool_call(tool.name(), input, |input| {
        AssertUnwindSafe(tool.run(input, ctx)).catch_unwind()
    })
    .await;
    match run {
        Ok(Ok(out)) => {
            if tool.checks_own_output() {
                if let Err(violations) = tool.check_output(&out.output) {
                    return Err(GenkitError::ToolOutputInvalid {
                        request: id,
                        violations,
                    });
                }
            }
            Ok(CallOutcome::Output(out))
        }
        Ok(Err(RunError::Tool(ToolError(ToolErrorKind::Interrupt(payload))))) => {
            Ok(CallOutcome::Interrupt(payload))
        }
        Ok(Err(RunError::Input(e))) => model_error(
            env,
            GenkitError::ToolInputInvalid {
                request: id,
                violations: vec![e.to_string()],
            },
        ),
        Ok(Err(other)) => Err(run_error(id, other)),
        Err(panic) => Err(GenkitError::ToolPanicked {
            request: id,
            message: panic_message(panic.as_ref()),
        }),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// The tool-response part answering `request` with `out`.
pub(crate) fn response_part(request: &ToolRequest, out: ToolOutput) -> Part {
    Part::tool_response(ToolResponse {
        ref_: request.ref_.clone(),
        name: request.name.clone(),
        output: Some(out.output),
        content: out.content,
    })
}

/// Records a finished sibling's output on its request part, to replay on resume.
pub(crate) fn set_pending(part: &mut Part, out: ToolOutput) {
    part.set_metadata(protocol::PENDING_OUTPUT, out.output);
    if let Some(content) = out.content {
        if let Ok(v) = serde_json::to_value(content) {
            part.set_metadata(protocol::PENDING_CONTENT, v);
        }
    }
}

/// How a model turn's tool requests ended.
pub(crate) enum TurnOutcome {
    /// Every tool answered: the tool message to append.
    Answered(Message),
    /// At least one tool interrupted; the model message was revised in place.
    Interrupted,
}

/// Runs every tool request of `message` concurrently and orders the answers by request.
///
/// On interrupt, interrupted parts get `interrupt` metadata and finished siblings
/// `pendingOutput`, and no tool message is built.
pub(crate) async fn run_turn(
    message: &mut Message,
    env: &CallEnv<'_>,
) -> Result<TurnOutcome, GenkitError> {
    let calls = message.content.iter().enumerate().filter_map(|(i, p)| {
        p.as_tool_request()
            .map(|r| async move { (i, call_tool(env, r, None, None).await) })
    });
    let results = join_all(calls).await;

    let mut outputs = Vec::with_capacity(results.len());
    let mut interrupts = Vec::new();
    for (i, result) in results {
        match result? {
            CallOutcome::Output(out) => outputs.push((i, out)),
            CallOutcome::Interrupt(payload) => interrupts.push((i, payload)),
        }
    }
    if interrupts.is_empty() {
        let content = outputs
            .into_iter()
            .filter_map(|(i, out)| {
                message.content[i]
                    .as_tool_request()
                    .map(|r| response_part(r, out))
            })
            .collect();
        return Ok(TurnOutcome::Answered(Message::new(Role::Tool, content)));
    }
    for (i, payload) in interrupts {
        message.content[i].set_metadata(protocol::INTERRUPT, payload);
    }
    for (i, out) in outputs {
        set_pending(&mut message.content[i], out);
    }
    Ok(TurnOutcome::Interrupted)
}
