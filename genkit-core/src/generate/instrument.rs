//! The spans the generate engine opens: `generate` (util), model calls and tool calls (the
//! tool primitive opens those, so a tool run on any path is traced alike).
//!
//! Each helper is one call at its site in the engine, and costs next to nothing when no
//! subscriber enabled the span.

use std::future::Future;

use futures::future::{BoxFuture, Either};
use serde_json::Value;
use tracing::{Instrument, Span};

use super::GenerateResponse;
use crate::error::GenkitError;
use crate::tool::ToolOutcome;
use crate::trace::{
    record_error, record_interrupt, record_json, record_output, record_result, recording, span,
    SpanType,
};
use crate::wire::{GenerateActionOptions, ModelRequest, ModelResponse};

/// False until some `tracing` dispatcher (global or scoped) has been set: until then no span
/// can be enabled, so the helpers skip building spans and wrapping futures altogether.
fn may_trace() -> bool {
    tracing::dispatcher::has_been_set()
}

/// The `generate` span of one call, its options recorded as input; `None` (and nothing built)
/// while no subscriber can enable it.
pub(crate) fn generate_span(options: &GenerateActionOptions) -> Option<Span> {
    if !may_trace() {
        return None;
    }
    let span = span(SpanType::Util, "generate");
    record_json(&span, crate::trace::attr::INPUT, options);
    Some(span)
}

/// Runs one generate call inside its span (from [`generate_span`]), recording its response as
/// output. Untraced, the call's future is returned as it is; traced, it is boxed, since an
/// instrumented future is larger and tracing is not the path to keep lean.
pub(crate) fn generate<F>(
    span: Option<Span>,
    run: F,
) -> Either<F, BoxFuture<'static, Result<GenerateResponse, GenkitError>>>
where
    F: Future<Output = Result<GenerateResponse, GenkitError>> + Send + 'static,
{
    let Some(span) = span else {
        return Either::Left(run);
    };
    Either::Right(Box::pin(async move {
        let result = run.instrument(span.clone()).await;
        if recording(&span) {
            match &result {
                Ok(response) => record_output(&span, &response.to_wire()),
                Err(e) => record_error(&span, e),
            }
        }
        result
    }))
}

/// Runs one model call inside a model span.
pub(crate) async fn model_call<F>(
    model: &str,
    request: &ModelRequest,
    call: F,
) -> Result<ModelResponse, GenkitError>
where
    F: Future<Output = Result<ModelResponse, GenkitError>>,
{
    if !may_trace() {
        return call.await;
    }
    let span = span(SpanType::Action("model"), model);
    record_json(&span, crate::trace::attr::INPUT, request);
    let result = call.instrument(span.clone()).await;
    record_result(&span, &result);
    result
}

/// Runs one model call (the innermost link of the model chain) inside a model span, with a
/// panic in the model caught as [`GenkitError::ActionPanicked`] (so it is never blamed on a
/// middleware around it).
pub(crate) async fn guarded_model_call(
    model: &dyn crate::model::Model,
    request: &ModelRequest,
    ctx: crate::model::ModelContext,
) -> Result<ModelResponse, GenkitError> {
    let name = model.name();
    let call = crate::run::guard::guarded(|| model.generate(request, ctx));
    let call = async {
        call.await.unwrap_or_else(|message| {
            Err(GenkitError::ActionPanicked {
                key: format!("/model/{name}"),
                message,
            })
        })
    };
    model_call(name, request, call).await
}

/// Runs one tool call inside a tool span. An interrupt is recorded the way Genkit records it:
/// an error span of type `ToolInterruptError` (the generate span around it still succeeds).
pub(crate) async fn tool_call<F, Fut>(tool: &str, input: Value, call: F) -> ToolOutcome
where
    F: FnOnce(Value) -> Fut,
    Fut: Future<Output = ToolOutcome>,
{
    if !may_trace() {
        return call(input).await;
    }
    let span = span(SpanType::Action("tool"), tool);
    record_json(&span, crate::trace::attr::INPUT, &input);
    let outcome = call(input).instrument(span.clone()).await;
    if recording(&span) {
        match &outcome {
            ToolOutcome::Output(out) => record_output(&span, &out.output),
            ToolOutcome::Interrupted(payload) => record_interrupt(&span, payload),
            ToolOutcome::Failed(e) => record_error(&span, e),
        }
    }
    outcome
}
