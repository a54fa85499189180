//! Running an action for the Genkit tooling: by key, traced as the root of a new trace whose
//! ids are known before it starts, optionally streaming, cancellable by trace id.
//!
//! The reflection API v1 (HTTP) and v2 (WebSocket) both run actions through a [`Runner`], so
//! they behave the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::{FutureExt, StreamExt};
use serde_json::{json, Map, Value};
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

use crate::action::ActionKind;
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::flow::scope::{JsonSink, Scope, Scoped};
use crate::genkit::{Genkit, UTIL_GENERATE};
use crate::model::{ChunkSink, ModelContext};
use crate::status::Status;
use crate::tool::ToolContext;
use crate::trace::{self, SpanType};
use crate::wire::{GenerateActionOptions, ModelRequest};

/// How long a run waits for its spans to reach the telemetry server before answering.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// A failed run, in the shape Genkit's reflection API reports it: a numeric status code, a
/// message, and a stack (in Rust: the chain of causes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionError {
    pub status: Status,
    pub message: String,
    pub stack: String,
}

impl ActionError {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            stack: format!("GenkitError: {}: {message}", status.name()),
            message,
        }
    }

    /// What a cancelled run answers, as Genkit JS does.
    pub(crate) fn cancelled() -> Self {
        Self::new(Status::Cancelled, "Action was cancelled")
    }

    /// The `Status` object of the wire: `{code, message, details: {stack, traceId}}`.
    pub(crate) fn to_status(&self, trace_id: Option<&str>) -> Value {
        let mut details = Map::new();
        details.insert("stack".to_owned(), json!(self.stack));
        if let Some(t) = trace_id {
            details.insert("traceId".to_owned(), json!(t));
        }
        json!({"code": self.status.code(), "message": self.message, "details": details})
    }
}

impl From<GenkitError> for ActionError {
    fn from(e: GenkitError) -> Self {
        let message = match &e {
            GenkitError::Other { message, .. } => message.clone(),
            other => other.to_string(),
        };
        Self {
            status: e.status(),
            stack: trace::error_stack(&e, "GenkitError"),
            message,
        }
    }
}

/// One run to start: what `runAction` carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunRequest {
    pub key: String,
    pub input: Value,
    pub context: ActionContext,
    pub labels: Map<String, Value>,
}

/// The ids of a run's trace, known before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunIds {
    pub trace_id: String,
    pub span_id: String,
}

/// The result of a run in the reflection API's success shape:
/// `{"result": .., "telemetry": {"traceId": ..}}`.
pub(crate) fn success_body(result: Value, trace_id: &str) -> Value {
    json!({"result": result, "telemetry": {"traceId": trace_id}})
}

/// Runs actions of one Genkit instance for the tooling, and tracks them for cancellation.
pub(crate) struct Runner {
    ai: Genkit,
    active: Mutex<HashMap<String, AbortHandle>>,
}

/// Removes a run from the active set when it ends or is dropped.
struct Active {
    runner: Arc<Runner>,
    trace_id: String,
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Ok(mut active) = self.runner.active.lock() {
            active.remove(&self.trace_id);
        }
    }
}

fn split_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix('/')?.split_once('/')
}

impl Runner {
    pub(crate) fn new(ai: Genkit) -> Arc<Self> {
        Arc::new(Self {
            ai,
            active: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn genkit(&self) -> &Genkit {
        &self.ai
    }

    /// True when `key` names something this runner can run.
    pub(crate) fn has_action(&self, key: &str) -> bool {
        if key == UTIL_GENERATE || self.ai.registry().action(key).is_some() {
            return true;
        }
        matches!(split_key(key), Some(("model", name)) if self.ai.lookup_model(name).is_ok())
    }

    /// Cancels the run of trace `trace_id`; false when no such run is active.
    pub(crate) fn cancel(&self, trace_id: &str) -> bool {
        let handle = self.active.lock().ok().and_then(|mut a| a.remove(trace_id));
        match handle {
            Some(h) => {
                h.abort();
                true
            }
            None => false,
        }
    }

    /// Starts a run: its ids now, its outcome when the returned future completes (after its
    /// spans were flushed to the telemetry server). Chunks go to `chunks` when given. Dropping
    /// the future cancels the run.
    pub(crate) fn start(
        self: &Arc<Self>,
        request: RunRequest,
        chunks: Option<JsonSink>,
    ) -> (RunIds, BoxFuture<'static, Result<Value, ActionError>>) {
        let ids = RunIds {
            trace_id: trace::new_trace_id(),
            span_id: trace::new_span_id(),
        };
        let (handle, registration) = AbortHandle::new_pair();
        if let Ok(mut active) = self.active.lock() {
            active.insert(ids.trace_id.clone(), handle);
        }
        let active = Active {
            runner: Arc::clone(self),
            trace_id: ids.trace_id.clone(),
        };
        let ai = self.ai.clone();
        let run_ids = ids.clone();
        let run = async move {
            let root = trace::root_span(&run_ids.trace_id, &run_ids.span_id, &request.labels);
            let action = run_key(ai, request, chunks).instrument(root);
            let result = match Abortable::new(action, registration).await {
                Ok(result) => result,
                Err(_aborted) => Err(ActionError::cancelled()),
            };
            trace::flush(FLUSH_LIMIT).await;
            drop(active);
            result
        };
        let run = match trace::dispatch_for_actions() {
            Some(dispatch) => run.with_subscriber(dispatch).boxed(),
            None => run.boxed(),
        };
        (ids, run)
    }
}

fn not_found(key: &str) -> ActionError {
    ActionError::new(Status::NotFound, format!("action {key} not found"))
}

fn subtype(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::Model => "model",
        ActionKind::Tool => "tool",
        ActionKind::Flow => "flow",
        ActionKind::Util => "util",
        _ => "custom",
    }
}

async fn run_key(
    ai: Genkit,
    request: RunRequest,
    chunks: Option<JsonSink>,
) -> Result<Value, ActionError> {
    let RunRequest {
        key,
        input,
        context,
        ..
    } = request;
    if key == UTIL_GENERATE {
        return run_generate(&ai, input, context, chunks).await;
    }
    match split_key(&key) {
        Some(("model", name)) => run_model(&ai, name, input, context, chunks).await,
        Some(("tool", name)) if ai.registry().tool(name).is_some() => {
            run_tool(&ai, name, input, context).await
        }
        _ => {
            let action = ai
                .registry()
                .action(&key)
                .cloned()
                .ok_or_else(|| not_found(&key))?;
            let descriptor = action.descriptor().clone();
            let scope = Scope {
                genkit: Some(ai.clone()),
                chunks,
            };
            let run = Scoped::new(scope, action.run_json(input, context));
            if descriptor.kind == ActionKind::Flow {
                // flows open their own span
                return Ok(run.await?);
            }
            let span = trace::span(
                SpanType::Action(subtype(&descriptor.kind)),
                &descriptor.name,
            );
            let result = run.instrument(span.clone()).await;
            trace::record_result(&span, &result);
            Ok(result?)
        }
    }
}

async fn run_generate(
    ai: &Genkit,
    input: Value,
    context: ActionContext,
    chunks: Option<JsonSink>,
) -> Result<Value, ActionError> {
    let options: GenerateActionOptions =
        serde_json::from_value(input).map_err(|e| GenkitError::json("generate options", e))?;
    let response = match chunks {
        None => ai.generate_from_options(options, context).await?,
        Some(sink) => {
            let mut stream = ai.generate().options(options).context(context).stream();
            while let Some(chunk) = stream.next().await {
                if let Ok(v) = serde_json::to_value(chunk) {
                    sink(v).await;
                }
            }
            stream.response().await?
        }
    };
    serde_json::to_value(response.to_wire())
        .map_err(|e| GenkitError::json("generate response", e).into())
}

async fn run_model(
    ai: &Genkit,
    name: &str,
    input: Value,
    context: ActionContext,
    chunks: Option<JsonSink>,
) -> Result<Value, ActionError> {
    let model = ai.lookup_model(name)?;
    let request: ModelRequest =
        serde_json::from_value(input).map_err(|e| GenkitError::json("model request", e))?;
    let mut ctx = ModelContext::new().with_context(context);
    if let Some(sink) = chunks {
        let chunk_sink: ChunkSink = Arc::new(move |chunk| {
            let sink = Arc::clone(&sink);
            Box::pin(async move {
                if let Ok(v) = serde_json::to_value(chunk) {
                    sink(v).await;
                }
            })
        });
        ctx = ctx.with_chunks(chunk_sink);
    }
    let response = trace::model_call(name, &request, model.generate(&request, ctx)).await?;
    serde_json::to_value(response).map_err(|e| GenkitError::json("model response", e).into())
}

/// Runs a tool directly. An interrupt is an error here, reported as Genkit JS reports it:
/// code 13 with a `ToolInterruptError` stack.
async fn run_tool(
    ai: &Genkit,
    name: &str,
    input: Value,
    context: ActionContext,
) -> Result<Value, ActionError> {
    let tool = ai
        .registry()
        .tool(name)
        .cloned()
        .ok_or_else(|| not_found(&format!("/tool/{name}")))?;
    let span = trace::span(SpanType::Action("tool"), name);
    trace::record_json(&span, trace::attr::INPUT, &input);
    let ctx = ToolContext::new(name).with_context(context);
    let result = tool.call(input, ctx).instrument(span.clone()).await;
    match result {
        Ok(Ok(out)) => {
            trace::record_output(&span, &out.output);
            Ok(out.output)
        }
        Ok(Err(payload)) => {
            trace::record_interrupt(&span, &payload);
            Err(ActionError {
                status: Status::Internal,
                message: format!("tool '{name}' interrupted"),
                stack: format!("{}: {payload}", trace::TOOL_INTERRUPT_ERROR),
            })
        }
        Err(e) => {
            trace::record_error(&span, &e);
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_kind_and_name() {
        assert_eq!(
            split_key("/model/openai/gpt-4o"),
            Some(("model", "openai/gpt-4o"))
        );
        assert_eq!(split_key("/flow/greet"), Some(("flow", "greet")));
        assert_eq!(split_key("flow"), None);
    }

    #[test]
    fn errors_carry_code_message_and_stack() {
        let e: ActionError = GenkitError::Other {
            status: Status::Internal,
            message: "boom: x".into(),
        }
        .into();
        let wire = e.to_status(Some("abc"));
        assert_eq!(wire["code"], 13);
        assert_eq!(wire["message"], "boom: x");
        assert_eq!(wire["details"]["traceId"], "abc");
        assert!(wire["details"]["stack"]
            .as_str()
            .unwrap()
            .contains("boom: x"));
        assert_eq!(ActionError::cancelled().to_status(None)["code"], 1);
    }
}
