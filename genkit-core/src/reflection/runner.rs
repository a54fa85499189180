//! Running an action for the Genkit tooling: by key, traced as the root of a new trace whose
//! ids are known before it starts, optionally streaming, cancellable by trace id.
//!
//! The reflection API v1 (HTTP) and v2 (WebSocket) both run actions through a [`Runner`], so
//! they behave the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::FutureExt;
use serde_json::{json, Map, Value};
use tracing::Instrument;

use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::run::{Cancellation, ChunkSink, RunOptions};
use crate::status::Status;
use crate::trace;

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
        if let GenkitError::ToolInterrupted { payload, .. } = &e {
            // as Genkit JS reports it: code 13 with a `ToolInterruptError` stack
            return Self {
                status: e.status(),
                message: e.to_string(),
                stack: format!("{}: {payload}", trace::TOOL_INTERRUPT_ERROR),
            };
        }
        let message = e.full_message();
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
    /// The session init, given apart from the input (agents).
    pub init: Option<Value>,
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
    active: Mutex<HashMap<String, (AbortHandle, Cancellation)>>,
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
        self.ai.action(key).is_some()
    }

    /// Cancels the run of trace `trace_id`; false when no such run is active.
    pub(crate) fn cancel(&self, trace_id: &str) -> bool {
        let handle = self.active.lock().ok().and_then(|mut a| a.remove(trace_id));
        match handle {
            Some((abort, cancel)) => {
                cancel.cancel();
                abort.abort();
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
        chunks: Option<ChunkSink<Value>>,
    ) -> (RunIds, BoxFuture<'static, Result<Value, ActionError>>) {
        let ids = RunIds {
            trace_id: trace::new_trace_id(),
            span_id: trace::new_span_id(),
        };
        let (handle, registration) = AbortHandle::new_pair();
        let cancel = Cancellation::new();
        if let Ok(mut active) = self.active.lock() {
            active.insert(ids.trace_id.clone(), (handle, cancel.clone()));
        }
        let active = Active {
            runner: Arc::clone(self),
            trace_id: ids.trace_id.clone(),
        };
        let ai = self.ai.clone();
        let run_ids = ids.clone();
        let run = async move {
            let root = trace::root_span(&run_ids.trace_id, &run_ids.span_id, &request.labels);
            let mut options = RunOptions::new(request.context)
                .with_optional_chunks(chunks)
                .with_cancellation(cancel);
            if let Some(init) = request.init {
                options = options.with_init(init);
            }
            let action = async move {
                ai.run_action(&request.key, request.input, options)
                    .await
                    .map_err(ActionError::from)
            }
            .instrument(root);
            let result = match Abortable::new(action, registration).await {
                Ok(result) => result,
                Err(_aborted) => Err(ActionError::cancelled()),
            };
            trace::flush(FLUSH_LIMIT).await;
            drop(active);
            result
        };
        let run = match trace::dispatch_for_actions() {
            Some(dispatch) => trace::Dispatched::new(dispatch, run).boxed(),
            None => run.boxed(),
        };
        (ids, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_code_message_and_stack() {
        let e: ActionError = GenkitError::with_status(Status::Internal, "boom: x").into();
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
