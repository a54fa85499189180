//! The generate loop: call the model, run the tools it asks for, repeat; pause on interrupts.

use std::collections::HashSet;
use std::sync::Arc;

use super::instrument;
use super::resume::{resume, Resumed};
use super::tool_calls::{run_turn, CallEnv, ToolErrorMode, ToolSet, TurnOutcome};
use super::GenerateResponse;
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::middleware::{Chain, Iteration, IterationRunner, Middleware};
use crate::model::{Model, ModelContext};
use crate::output::{OutputFormat, OutputPlan};
use crate::protocol;
use crate::run::{ChunkSink, Stamped};
use crate::schema::Validator;
use crate::seal::HistorySeal;
use crate::tool::ToolAction;
use crate::wire::{
    FinishReason, GenerateActionOptions, GenerateResponseChunk, Message, ModelRequest,
    ModelResponse, Part, Role,
};
use futures::future::BoxFuture;

/// Genkit's default limit on tool rounds.
pub const DEFAULT_MAX_TURNS: u32 = 5;

const INTERRUPTED: &str = "One or more tool calls resulted in interrupts.";
const INTERRUPTED_ON_RESUME: &str =
    "One or more tools triggered interrupts while resuming generation. The model was not called.";

/// One generate call, fully specified.
pub(crate) struct Call {
    pub options: GenerateActionOptions,
    pub extra_tools: Vec<Arc<ToolAction>>,
    /// The call's middleware, resolved, outermost first.
    pub middleware: Vec<Arc<dyn Middleware>>,
    pub context: ActionContext,
    pub tool_errors: ToolErrorMode,
    /// The output type's validator, compiled once per type.
    pub output_validator: Option<Validator>,
    pub chunks: Option<ChunkSink>,
}

async fn emit(sink: &Option<ChunkSink>, role: Role, index: u32, content: Vec<Part>) {
    if let Some(sink) = sink {
        sink.send(GenerateResponseChunk {
            role: Some(role),
            index: Some(index),
            content,
            ..GenerateResponseChunk::default()
        })
        .await;
    }
}

/// Tells a streaming client that the loop paused: the whole revised model message, interrupt
/// metadata included, as an aggregated chunk (it replaces what was streamed for that index).
async fn emit_interrupted(sink: &Option<ChunkSink>, index: u32, message: &Message) {
    if let Some(sink) = sink {
        sink.send(GenerateResponseChunk {
            role: Some(message.role),
            index: Some(index),
            content: message.content.clone(),
            aggregated: Some(true),
            ..GenerateResponseChunk::default()
        })
        .await;
    }
}

/// Gives every tool request a `ref` of its own, so parallel calls of one tool are told apart
/// (models do send requests without a ref, and some reuse one).
fn assign_refs(message: &mut Message) {
    let mut taken: HashSet<String> = message
        .tool_requests()
        .filter_map(|r| r.ref_.clone())
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = 0usize;
    for part in &mut message.content {
        let Some(r) = part.as_tool_request_mut() else {
            continue;
        };
        // a missing ref, or one an earlier request of this message already uses
        let fresh = match &r.ref_ {
            Some(existing) => !seen.insert(existing.clone()),
            None => true,
        };
        if fresh {
            let mut candidate = format!("{}-{next}", r.name);
            while taken.contains(&candidate) {
                next += 1;
                candidate = format!("{}-{next}", r.name);
            }
            taken.insert(candidate.clone());
            seen.insert(candidate.clone());
            r.ref_ = Some(candidate);
            next += 1;
        }
    }
}

pub(crate) async fn run(ai: &Genkit, call: Call) -> Result<GenerateResponse, GenkitError> {
    // the whole call is one `generate` span
    instrument::generate(call, |call| run_loop(ai, call)).await
}

/// What every iteration of one call shares.
struct Env<'a> {
    model: Arc<dyn Model>,
    model_name: String,
    tools: ToolSet,
    plan: Option<OutputPlan>,
    format: Option<OutputFormat>,
    seal: Option<&'a HistorySeal>,
    context: ActionContext,
    tool_errors: ToolErrorMode,
    chunks: Option<ChunkSink>,
    max_turns: u32,
    return_tool_requests: bool,
    middleware: Chain,
    /// Usage summed over every model call of this generate call, iterations included.
    total_usage: std::sync::Mutex<Option<crate::wire::GenerationUsage>>,
    /// The instance's application states, for tools taking `State<S>`.
    states: &'a crate::tool::States,
}

/// How one iteration ended: the call's response, or the next iteration.
// moved once per iteration; boxing the response would cost an allocation per call instead
#[allow(clippy::large_enum_variant)]
enum Step {
    Done(GenerateResponse),
    Next(Iteration),
}

async fn run_loop(ai: &Genkit, call: Call) -> Result<GenerateResponse, GenkitError> {
    let Call {
        options,
        extra_tools,
        middleware,
        context,
        tool_errors,
        output_validator,
        chunks,
    } = call;
    let model_name = options
        .model
        .clone()
        .or_else(|| ai.default_model().map(str::to_owned))
        .ok_or(GenkitError::NoModel)?;
    let model = ai.lookup_model(&model_name)?;
    let middleware = Chain::new(ai.clone(), middleware);
    let mut tools = extra_tools;
    for name in options.tools.iter().flatten() {
        let short = name.strip_prefix("/tool/").unwrap_or(name);
        match ai.registry().tool(short) {
            // a by-value tool of the same name must be this very tool (ToolSet checks)
            Some(tool) => tools.push(Arc::clone(tool)),
            None if tools.iter().any(|t| t.name() == short) => {}
            None if middleware.tools().any(|t| t.name() == short) => {}
            None => {
                return Err(GenkitError::ToolNotFound {
                    request: crate::error::RequestId::new(short, None),
                    available: ai.registry().tool_names(),
                })
            }
        }
    }
    tools.extend(middleware.tools());
    let tools = ToolSet::new(tools)?;
    for tool in tools.iter() {
        ai.states().check(tool.name(), tool.needs_state())?;
    }
    let plan = match &options.output {
        Some(config) => OutputPlan::resolve(
            Some(config),
            output_validator,
            &model.info(),
            !tools.is_empty(),
        )?,
        None => None,
    };
    let format = plan.as_ref().map(|p| p.format);
    let seal = ai.history_seal();
    if let (Some(seal), Some(_)) = (seal, &options.resume) {
        // before anything reads or changes the history, and before any tool runs
        super::resume::verify_seal(seal, &options.messages)?;
    }

    let mut request = ModelRequest {
        messages: options.messages,
        config: options.config,
        tools: Some(tools.iter().map(|t| t.definition().clone()).collect()),
        tool_choice: options.tool_choice,
        output: Some(
            plan.as_ref()
                .map(OutputPlan::request_config)
                .unwrap_or_default(),
        ),
        docs: options.docs,
    };
    if let Some(plan) = &plan {
        plan.inject_instructions(&mut request.messages);
    }
    let env = Env {
        model,
        model_name,
        tools,
        plan,
        format,
        seal,
        context,
        tool_errors,
        chunks,
        max_turns: options.max_turns.unwrap_or(DEFAULT_MAX_TURNS),
        return_tool_requests: options.return_tool_requests.unwrap_or(false),
        middleware,
        total_usage: std::sync::Mutex::new(None),
        states: ai.states(),
    };
    let mut index: u32 = 0;

    if let Some(answers) = options.resume {
        let call_env = CallEnv {
            tools: &env.tools,
            context: &env.context,
            mode: ToolErrorMode::Fail,
            progress: Stamped::new(&env.chunks, Role::Tool, index),
            middleware: &env.middleware,
            states: env.states,
        };
        match resume(&mut request.messages, answers, &call_env, seal.is_some()).await? {
            Resumed::Answered => {
                if let Some(tool_message) = request.messages.last() {
                    emit(&env.chunks, Role::Tool, index, tool_message.content.clone()).await;
                }
                index += 1;
            }
            Resumed::Interrupted => {
                if let (Some(seal), Some((last, before))) =
                    (seal, request.messages.split_last_mut())
                {
                    seal.seal(before, last)?;
                }
                if let Some(last) = request.messages.last() {
                    emit_interrupted(&env.chunks, index, last).await;
                }
                let response = ModelResponse {
                    finish_reason: Some(FinishReason::Interrupted),
                    finish_message: Some(INTERRUPTED_ON_RESUME.to_owned()),
                    ..ModelResponse::default()
                };
                return Ok(GenerateResponse::assemble(None, request.messages, response)
                    .with_format(format));
            }
        }
    }

    let first = Iteration {
        request,
        turn: 0,
        message_index: index,
    };
    if env.middleware.no_generate_hooks() {
        let mut iteration = first;
        loop {
            match step(&env, iteration).await? {
                Step::Done(response) => return Ok(response),
                Step::Next(next) => iteration = next,
            }
        }
    }
    env.middleware.generate(first, &env).await
}

impl IterationRunner for Env<'_> {
    /// This iteration, then the next ones, each through the generate hooks again.
    fn run_iteration(
        &self,
        iteration: Iteration,
    ) -> BoxFuture<'_, Result<GenerateResponse, GenkitError>> {
        Box::pin(async move {
            match step(self, iteration).await? {
                Step::Done(response) => Ok(response),
                Step::Next(next) => self.middleware.generate(next, self).await,
            }
        })
    }
}

/// One iteration: the model call, then the tools it asked for.
async fn step(env: &Env<'_>, iteration: Iteration) -> Result<Step, GenkitError> {
    let Iteration {
        mut request,
        turn,
        message_index: mut index,
    } = iteration;
    let chunks = &env.chunks;
    let format = env.format;
    let model_ctx = ModelContext::new()
        .with_context(env.context.clone())
        .with_stamped(Stamped::model(chunks, index));
    let mut response = if env.middleware.no_model_hooks() {
        instrument::model_call(
            &env.model_name,
            &request,
            env.model.generate(&request, model_ctx),
        )
        .await?
    } else {
        env.middleware
            .model(env.model.as_ref(), &request, model_ctx)
            .await?
    };
    if let Some(usage) = &response.usage {
        // a poisoned lock only means another iteration panicked; the sum is still usable
        let mut total = env
            .total_usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        total.get_or_insert_with(Default::default).add(usage);
    }
    let total_usage = env
        .total_usage
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let Some(mut message) = response.message.take() else {
        return Err(GenkitError::MissingMessage {
            model: env.model_name.clone(),
            finish: response
                .finish_reason
                .as_ref()
                .map_or("none", FinishReason::as_str)
                .to_owned(),
        });
    };
    if let Some(m) = message.metadata.as_mut() {
        // only the engine seals
        if m.remove(protocol::SEAL).is_some() && m.is_empty() {
            message.metadata = None;
        }
    }
    if protocol::strip_engine_metadata(&mut message.content) > 0 {
        tracing::warn!(model = %env.model_name, "removed interrupt-protocol metadata the model tried to set");
    }
    assign_refs(&mut message);

    let finish = |mut request: ModelRequest, message: Message, response: ModelResponse| {
        let mut history = std::mem::take(&mut request.messages);
        history.push(message);
        GenerateResponse::assemble(Some(request), history, response)
            .with_total_usage(total_usage.clone())
    };

    if response.finish_reason == Some(FinishReason::Blocked) {
        return Err(GenkitError::Blocked {
            model: env.model_name.clone(),
            response: Box::new(finish(request, message, response)),
        });
    }
    if !message.has_tool_requests() || env.return_tool_requests {
        let checked = match &env.plan {
            // output is validated on a final answer only, never on a tool turn
            Some(plan) if !message.has_tool_requests() => Some(plan.check(&message.text())),
            _ => None,
        };
        let done = finish(request, message, response).with_format(format);
        return match checked {
            None => Ok(Step::Done(done)),
            // parsed once, here, and kept for `output()`
            Some(Ok(output)) => Ok(Step::Done(done.with_output(output))),
            Some(Err((reason, violations))) => Err(GenkitError::OutputInvalid {
                reason,
                violations,
                response: Box::new(done),
            }),
        };
    }
    if turn >= env.max_turns {
        return Err(GenkitError::MaxTurnsExceeded {
            max_turns: env.max_turns,
            response: Box::new(finish(request, message, response)),
        });
    }

    let call_env = CallEnv {
        tools: &env.tools,
        context: &env.context,
        mode: env.tool_errors,
        progress: Stamped::new(chunks, Role::Tool, index + 1),
        middleware: &env.middleware,
        states: env.states,
    };
    match run_turn(&mut message, &call_env).await? {
        TurnOutcome::Interrupted => {
            if let Some(seal) = env.seal {
                seal.seal(&request.messages, &mut message)?;
            }
            emit_interrupted(chunks, index, &message).await;
            response.finish_reason = Some(FinishReason::Interrupted);
            response.finish_message = Some(INTERRUPTED.to_owned());
            Ok(Step::Done(
                finish(request, message, response).with_format(format),
            ))
        }
        TurnOutcome::Answered(tool_message) => {
            index += 1;
            emit(chunks, Role::Tool, index, tool_message.content.clone()).await;
            index += 1;
            request.messages.push(message);
            request.messages.push(tool_message);
            Ok(Step::Next(Iteration {
                request,
                turn: turn + 1,
                message_index: index,
            }))
        }
    }
}
