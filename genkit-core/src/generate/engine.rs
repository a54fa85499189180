//! The generate loop: call the model, run the tools it asks for, repeat; pause on interrupts.

use std::collections::HashSet;
use std::future::Future;
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
use futures::future::{BoxFuture, Either};

/// Genkit's default limit on tool rounds.
pub const DEFAULT_MAX_TURNS: u32 = 5;

const INTERRUPTED: &str = "One or more tool calls resulted in interrupts.";
/// The finish messages the engine writes (a response keeps them without a copy).
pub(super) const FINISH_MESSAGES: [&str; 2] = [INTERRUPTED, INTERRUPTED_ON_RESUME];
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

// The sends below are boxed: a send future is several hundred bytes, and inline it would
// grow the state of every generate call, streamed or not (see `run`).
async fn emit(sink: &Option<ChunkSink>, role: Role, index: u32, content: Vec<Part>) {
    if let Some(sink) = sink {
        let send: BoxFuture<'_, ()> = Box::pin(sink.send(GenerateResponseChunk {
            role: Some(role),
            index: Some(index),
            content,
            ..GenerateResponseChunk::default()
        }));
        send.await;
    }
}

/// Tells a streaming client that the loop paused: the whole revised model message, interrupt
/// metadata included, as an aggregated chunk (it replaces what was streamed for that index).
async fn emit_interrupted(sink: &Option<ChunkSink>, index: u32, message: &Message) {
    if let Some(sink) = sink {
        let send: BoxFuture<'_, ()> = Box::pin(sink.send(GenerateResponseChunk {
            role: Some(message.role),
            index: Some(index),
            content: message.content.clone(),
            aggregated: Some(true),
            ..GenerateResponseChunk::default()
        }));
        send.await;
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

/// Runs one generate call.
///
/// Everything that needs no waiting (the model, the tools, the output plan, the seal check)
/// is resolved here, before the future exists, so the future holds only what the loop needs:
/// a call's future is moved (copied) a few times on its way to being polled, and its size was
/// most of the engine's own cost per call when the setup lived inside it.
pub(crate) fn run(
    ai: Genkit,
    call: Call,
) -> impl Future<Output = Result<GenerateResponse, GenkitError>> + Send + 'static {
    // the whole call is one `generate` span
    let span = instrument::generate_span(&call.options);
    let run = match prepare(ai, call) {
        Ok(prepared) => Either::Left(drive(prepared)),
        Err(e) => Either::Right(std::future::ready(Err(e))),
    };
    instrument::generate(span, run)
}

/// What every iteration of one call shares.
struct Env {
    ai: Genkit,
    model: Arc<dyn Model>,
    model_name: String,
    tools: ToolSet,
    plan: Option<OutputPlan>,
    format: Option<OutputFormat>,
    context: ActionContext,
    tool_errors: ToolErrorMode,
    chunks: Option<ChunkSink>,
    max_turns: u32,
    return_tool_requests: bool,
    middleware: Chain,
    /// Usage summed over every model call of this generate call, iterations included.
    total_usage: std::sync::Mutex<Option<crate::wire::GenerationUsage>>,
}

impl Env {
    fn seal(&self) -> Option<&HistorySeal> {
        self.ai.history_seal()
    }

    /// What tool calls need, with their answers streamed at message index `index`.
    fn tool_calls(&self, mode: ToolErrorMode, index: u32) -> CallEnv<'_> {
        CallEnv {
            tools: &self.tools,
            context: &self.context,
            mode,
            progress: Stamped::new(&self.chunks, Role::Tool, index),
            middleware: &self.middleware,
            states: self.ai.states(),
        }
    }
}

/// A call ready to run: its environment, its first iteration, and the answers it resumes
/// with. The loop works on these fields in place; moving them into locals would store them
/// twice in the future.
struct Prepared {
    env: Env,
    iteration: Iteration,
    resume: Option<crate::wire::ResumeOptions>,
}

/// Resolves the model, the tools and the output plan, and checks a resumed history's seal.
fn prepare(ai: Genkit, call: Call) -> Result<Prepared, GenkitError> {
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
    if let (Some(seal), Some(_)) = (ai.history_seal(), &options.resume) {
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
    Ok(Prepared {
        env: Env {
            ai,
            model,
            model_name,
            tools,
            plan,
            format,
            context,
            tool_errors,
            chunks,
            max_turns: options.max_turns.unwrap_or(DEFAULT_MAX_TURNS),
            return_tool_requests: options.return_tool_requests.unwrap_or(false),
            middleware,
            total_usage: std::sync::Mutex::new(None),
        },
        iteration: Iteration {
            request,
            turn: 0,
            message_index: 0,
        },
        resume: options.resume,
    })
}

/// The loop: the resumed answers first, if any, then iterations until one ends the call.
// Not an `async fn`: its `mut` parameter would be stored twice in the future, once as the
// argument and once as the binding.
#[allow(clippy::manual_async_fn)]
fn drive(mut call: Prepared) -> impl Future<Output = Result<GenerateResponse, GenkitError>> + Send {
    async move {
        let env = &call.env;
        let iteration = &mut call.iteration;
        if let Some(answers) = call.resume.take() {
            // boxed: a resume is the rare path, and its future would grow every call's
            let resumed: BoxFuture<'_, _> = Box::pin(apply_resume(env, iteration, answers));
            if let Some(done) = resumed.await? {
                return Ok(done);
            }
        }

        if env.middleware.no_generate_hooks() {
            loop {
                if let Some(response) = step(env, iteration).await? {
                    return Ok(response);
                }
            }
        }
        let first = take_iteration(iteration);
        env.middleware.generate(first, env).await
    }
}

/// Answers the pending requests of a resumed history: the tool message is appended (`None`:
/// the loop goes on), or a restarted tool interrupted again, which ends the call.
async fn apply_resume(
    env: &Env,
    iteration: &mut Iteration,
    answers: crate::wire::ResumeOptions,
) -> Result<Option<GenerateResponse>, GenkitError> {
    let call_env = env.tool_calls(ToolErrorMode::Fail, iteration.message_index);
    let messages = &mut iteration.request.messages;
    let sealed = env.seal().is_some();
    match resume(messages, answers, &call_env, sealed).await? {
        Resumed::Answered => {
            if let Some(tool_message) = iteration.request.messages.last() {
                let content = tool_message.content.clone();
                emit(&env.chunks, Role::Tool, iteration.message_index, content).await;
            }
            iteration.message_index += 1;
            Ok(None)
        }
        Resumed::Interrupted => {
            let messages = &mut iteration.request.messages;
            if let Some(seal) = env.seal() {
                if let Some((last, before)) = messages.split_last_mut() {
                    seal.seal(before, last)?;
                }
            }
            if let Some(last) = messages.last() {
                emit_interrupted(&env.chunks, iteration.message_index, last).await;
            }
            let response = ModelResponse {
                finish_reason: Some(FinishReason::Interrupted),
                finish_message: Some(INTERRUPTED_ON_RESUME.to_owned()),
                ..ModelResponse::default()
            };
            let history = std::mem::take(messages);
            Ok(Some(
                GenerateResponse::assemble(None, history, response).with_format(env.format),
            ))
        }
    }
}

/// Moves an iteration out of its place in the loop (for the generate hooks, which own theirs).
fn take_iteration(iteration: &mut Iteration) -> Iteration {
    Iteration {
        request: std::mem::take(&mut iteration.request),
        turn: iteration.turn,
        message_index: iteration.message_index,
    }
}

impl IterationRunner for Env {
    /// This iteration, then the next ones, each through the generate hooks again.
    fn run_iteration(
        &self,
        iteration: Iteration,
    ) -> BoxFuture<'_, Result<GenerateResponse, GenkitError>> {
        Box::pin(async move {
            let mut iteration = iteration;
            match step(self, &mut iteration).await? {
                Some(response) => Ok(response),
                None => self.middleware.generate(iteration, self).await,
            }
        })
    }
}

/// One iteration: the model call, then the tools it asked for. `None` when the loop goes on
/// (`iteration` then holds the next one), the call's response when this iteration ends it.
async fn step(
    env: &Env,
    iteration: &mut Iteration,
) -> Result<Option<GenerateResponse>, GenkitError> {
    let index = iteration.message_index;
    let chunks = &env.chunks;
    let model_ctx = ModelContext::new()
        .with_context(env.context.clone())
        .with_stamped(Stamped::model(chunks, index));
    let request = &iteration.request;
    let response = if env.middleware.no_model_hooks() {
        instrument::model_call(
            &env.model_name,
            request,
            env.model.generate(request, model_ctx),
        )
        .await?
    } else {
        env.middleware
            .model(env.model.as_ref(), request, model_ctx)
            .await?
    };
    // the response moves into `decide` and, on the tool path, comes back boxed: a local that
    // is borrowed here would be kept in the future across the awaits below
    let (mut message, mut response) = match decide(env, iteration, response)? {
        Decided::Done(done) => return Ok(Some(done)),
        Decided::RunTools(message, response) => (message, response),
    };
    let call_env = env.tool_calls(env.tool_errors, index + 1);
    match run_turn(&mut message, &call_env).await? {
        TurnOutcome::Interrupted => {
            if let Some(seal) = env.seal() {
                seal.seal(&iteration.request.messages, &mut message)?;
            }
            emit_interrupted(chunks, index, &message).await;
            response.finish_reason = Some(FinishReason::Interrupted);
            response.finish_message = Some(INTERRUPTED.to_owned());
            Ok(Some(
                assemble(env, iteration, message, *response).with_format(env.format),
            ))
        }
        TurnOutcome::Answered(tool_message) => {
            emit(chunks, Role::Tool, index + 1, tool_message.content.clone()).await;
            let messages = &mut iteration.request.messages;
            messages.push(message);
            messages.push(tool_message);
            iteration.turn += 1;
            iteration.message_index = index + 2;
            Ok(None)
        }
    }
}

/// What a model's response means for the loop.
enum Decided {
    /// The call ends with this response.
    Done(GenerateResponse),
    /// The message asks for tools; the response is boxed while they run (it is large, and
    /// only this path keeps it).
    RunTools(Message, Box<ModelResponse>),
}

/// Ends the call on a final answer, a blocked response or too many turns; otherwise hands
/// the message on to its tools.
fn decide(
    env: &Env,
    iteration: &mut Iteration,
    response: ModelResponse,
) -> Result<Decided, GenkitError> {
    let (message, response) = accept(env, response)?;
    let ends = !message.has_tool_requests() || env.return_tool_requests;
    if ends || response.finish_reason == Some(FinishReason::Blocked) {
        return finish(env, iteration, message, response).map(Decided::Done);
    }
    if iteration.turn >= env.max_turns {
        return Err(GenkitError::MaxTurnsExceeded {
            max_turns: env.max_turns,
            response: Box::new(assemble(env, iteration, message, response)),
        });
    }
    Ok(Decided::RunTools(message, Box::new(response)))
}

/// Adds this call's usage, and takes the model's message, cleaned of what only the engine
/// may write (the seal, interrupt-protocol metadata) and with a `ref` on every tool request.
fn accept(env: &Env, mut response: ModelResponse) -> Result<(Message, ModelResponse), GenkitError> {
    if let Some(usage) = &response.usage {
        // a poisoned lock only means another iteration panicked; the sum is still usable
        let mut total = env
            .total_usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        total.get_or_insert_with(Default::default).add(usage);
    }
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
    Ok((message, response))
}

/// The call's response: this iteration's history plus `message`, with the usage summed over
/// the call.
fn assemble(
    env: &Env,
    iteration: &mut Iteration,
    message: Message,
    response: ModelResponse,
) -> GenerateResponse {
    let total_usage = env
        .total_usage
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut request = std::mem::take(&mut iteration.request);
    let mut history = std::mem::take(&mut request.messages);
    history.push(message);
    GenerateResponse::assemble(Some(request), history, response).with_total_usage(total_usage)
}

/// Ends the call on a final answer or a blocked response: the output checked against the
/// plan, on a final answer only, never on a tool turn.
fn finish(
    env: &Env,
    iteration: &mut Iteration,
    message: Message,
    response: ModelResponse,
) -> Result<GenerateResponse, GenkitError> {
    if response.finish_reason == Some(FinishReason::Blocked) {
        return Err(GenkitError::Blocked {
            model: env.model_name.clone(),
            response: Box::new(assemble(env, iteration, message, response)),
        });
    }
    let checked = match &env.plan {
        Some(plan) if !message.has_tool_requests() => Some(plan.check(&message.text())),
        _ => None,
    };
    let done = assemble(env, iteration, message, response).with_format(env.format);
    match checked {
        None => Ok(done),
        // parsed once, here, and kept for `output()`
        Some(Ok(output)) => Ok(done.with_output(output)),
        Some(Err((reason, violations))) => Err(GenkitError::OutputInvalid {
            reason,
            violations,
            response: Box::new(done),
        }),
    }
}
