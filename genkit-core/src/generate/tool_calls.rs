//! Running the tool requests of one model message: concurrency, answers ordered by request,
//! interrupts. Each request runs through the tool's own primitive, [`ToolAction::call`].

use std::sync::Arc;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::context::ActionContext;
use crate::error::{GenkitError, RequestId};
use crate::middleware::Chain;
use crate::protocol;
use crate::run::Stamped;
use crate::tool::{States, ToolAction, ToolContext, ToolOutcome, ToolOutput};
use crate::wire::{Message, Part, Role, ToolRequest, ToolResponse};

/// What to do when the model asks for a tool that does not exist, or sends arguments that do
/// not validate.
///
/// The default is [`Fail`](Self::Fail), as in Genkit JS, Go and Python, where such a request
/// fails the generate call: the mistake reaches the application as a typed error naming the
/// request, instead of being spent silently on more model rounds, and nothing the model got
/// wrong is run. [`ReturnToModel`](Self::ReturnToModel) (in the prelude) suits small or
/// local models, which often correct an invalid call when told what was wrong; it costs a
/// model round per mistake, within `max_turns`. Whether it should be the default for such
/// models is a question for measurements over many seeded runs, which genkit-rs has not made
/// yet; until then the default follows Genkit.
///
/// ```
/// use genkit_core::prelude::*;
/// # use genkit_core::testing::EchoModel;
/// # let ai = Genkit::builder().model(EchoModel::new("m")).default_model("m").build()?;
/// let call = ai.generate().prompt("hi").tool_errors(ToolErrorMode::ReturnToModel);
/// # let _ = call;
/// # Ok::<(), GenkitError>(())
/// ```
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

/// Everything a tool call needs besides the request.
#[derive(Clone)]
pub(crate) struct CallEnv<'a> {
    pub tools: &'a ToolSet,
    pub context: &'a ActionContext,
    pub mode: ToolErrorMode,
    pub progress: Option<Stamped>,
    /// The call's middleware: their tool hooks wrap every tool body.
    pub middleware: &'a Chain,
    /// The instance's application states, for tools taking `State<S>`.
    pub states: &'a States,
}

/// In `ReturnToModel` mode, what the model got wrong (an unknown tool, arguments that are not
/// JSON or fail the schema) becomes the tool's answer, so the model can correct itself.
fn for_model(env: &CallEnv<'_>, error: GenkitError) -> ToolOutcome {
    let correctable = matches!(
        error,
        GenkitError::ToolNotFound { .. }
            | GenkitError::ToolInputNotJson { .. }
            | GenkitError::ToolInputInvalid { .. }
    );
    match env.mode {
        ToolErrorMode::ReturnToModel if correctable => {
            ToolOutcome::Output(ToolOutput::new(json!({ "error": error.full_message() })))
        }
        _ => ToolOutcome::Failed(error),
    }
}

/// Runs one tool request through the tool's primitive ([`ToolAction::call`]).
pub(crate) async fn call_tool(
    env: &CallEnv<'_>,
    request: &ToolRequest,
    resumed: Option<Value>,
    original_input: Option<Value>,
) -> ToolOutcome {
    let Some(tool) = env.tools.get(&request.name) else {
        let error = GenkitError::ToolNotFound {
            request: RequestId::new(&request.name, request.ref_.clone()),
            available: env.tools.names(),
        };
        return for_model(env, error);
    };
    let ctx = ToolContext {
        name: Arc::from(request.name.as_str()),
        ref_: request.ref_.as_deref().map(Arc::from),
        resumed,
        original_input,
        context: env.context.clone(),
        progress: env.progress.clone(),
        states: env.states.clone(),
    };
    let input = request.input.clone().unwrap_or(Value::Null);
    match tool.call_with(input, ctx, Some(env.middleware)).await {
        ToolOutcome::Failed(e) => for_model(env, e),
        other => other,
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
    for (i, outcome) in results {
        match outcome {
            ToolOutcome::Output(out) => outputs.push((i, out)),
            ToolOutcome::Interrupted(payload) => interrupts.push((i, payload)),
            ToolOutcome::Failed(e) => return Err(e),
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
