//! Genkit traces on top of the [`tracing`] crate.
//!
//! Every flow, `generate` call, model call and tool call opens a [`tracing`] span with target
//! [`TARGET`] whose fields carry Genkit's `genkit:*` attributes (`genkit:type`,
//! `genkit:metadata:subtype`, `genkit:name`, `genkit:input`, `genkit:output`, `genkit:state`,
//! ...). Any `tracing` subscriber sees them; with the `dev` feature, `trace::layer()` turns them into
//! Genkit trace data and exports it to the Genkit telemetry server, which is how traces reach
//! the Developer UI and `genkit trace:get`.
//!
//! The expensive attributes (inputs and outputs serialized to JSON) are only computed while an
//! exporter is installed, that is in dev mode, and only for spans some subscriber enabled. In a
//! process where no `tracing` dispatcher was ever set, the engine skips its spans altogether
//! after one relaxed atomic load.
//!
//! ```
//! // Spans are ordinary `tracing` spans with target "genkit":
//! assert_eq!(genkit_core::trace::TARGET, "genkit");
//! ```

#[cfg(feature = "dev")]
mod export;
#[cfg(feature = "dev")]
mod ids;
#[cfg(feature = "dev")]
mod layer;

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tracing::Span;

use crate::context::ActionContext;
use crate::error::GenkitError;

#[cfg(feature = "dev")]
pub(crate) use export::{flush, install_exporter, set_notified_url, ExporterConfig};
#[cfg(feature = "dev")]
pub(crate) use ids::{new_span_id, new_trace_id};
#[cfg(feature = "dev")]
pub(crate) use layer::{dispatch_for_actions, root_span, Dispatched};
#[cfg(feature = "dev")]
pub use layer::{layer, GenkitLayer};

/// The `tracing` target of every Genkit span.
pub const TARGET: &str = "genkit";

/// Genkit span attribute names, as they appear in Genkit trace data.
///
/// ```
/// use genkit_core::trace::attr;
/// assert_eq!(attr::PATH, "genkit:path");
/// assert_eq!(attr::STATE, "genkit:state");
/// ```
pub mod attr {
    /// `action`, `util` or `flowStep`.
    pub const TYPE: &str = "genkit:type";
    /// The action kind: `flow`, `model`, `tool`, ...
    pub const SUBTYPE: &str = "genkit:metadata:subtype";
    /// The action's name (also the span's display name).
    pub const NAME: &str = "genkit:name";
    /// `/kind/name`, for actions.
    pub const KEY: &str = "genkit:key";
    /// The span's position: `/{flow,t:flow}/{generate,t:util}/{tool,t:action,s:tool}`.
    pub const PATH: &str = "genkit:path";
    /// True on the root span of a trace.
    pub const IS_ROOT: &str = "genkit:isRoot";
    /// The input, as a JSON string.
    pub const INPUT: &str = "genkit:input";
    /// The output, as a JSON string.
    pub const OUTPUT: &str = "genkit:output";
    /// `success` or `error`.
    pub const STATE: &str = "genkit:state";
    /// The caller's context (with `auth` redacted), as a JSON string.
    pub const CONTEXT: &str = "genkit:metadata:context";
    /// An interrupted tool's interrupt payload, as a JSON string.
    pub const INTERRUPT: &str = "genkit:metadata:interrupt";
    /// True on the span an error started from.
    pub const IS_FAILURE_SOURCE: &str = "genkit:isFailureSource";
    /// Exception event: the error's type.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Exception event: the error's message.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// Exception event: the error's stack (its chain of causes, in Rust).
    pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
}

/// What an interrupted tool's span is recorded as, the way Genkit JS records it.
pub(crate) const TOOL_INTERRUPT_ERROR: &str = "ToolInterruptError";

/// True while a Genkit exporter is installed (dev mode): only then are inputs and outputs
/// serialized into span attributes.
static RECORDING: AtomicBool = AtomicBool::new(false);

#[cfg_attr(not(feature = "dev"), allow(dead_code))]
pub(crate) fn set_recording(on: bool) {
    RECORDING.store(on, Ordering::Relaxed);
}

/// True when `span` is enabled and an exporter wants its attributes.
pub(crate) fn recording(span: &Span) -> bool {
    RECORDING.load(Ordering::Relaxed) && !span.is_disabled()
}

/// The kinds of Genkit spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanType {
    /// An action of a subtype (`flow`, `model`, `tool`, ...).
    Action(&'static str),
    /// A utility (`generate`).
    Util,
    /// A step inside a flow (`ctx.run`).
    FlowStep,
}

impl SpanType {
    fn type_name(self) -> &'static str {
        match self {
            SpanType::Action(_) => "action",
            SpanType::Util => "util",
            SpanType::FlowStep => "flowStep",
        }
    }

    fn subtype(self) -> Option<&'static str> {
        match self {
            SpanType::Action(s) => Some(s),
            _ => None,
        }
    }
}

/// Opens a Genkit span. All attributes a span may get later are declared here (as empty),
/// since `tracing` only records declared fields.
pub(crate) fn span(ty: SpanType, name: &str) -> Span {
    // A callsite's cached interest may say "always" when the only dispatchers alive are scoped
    // Genkit ones; a span opened where none is the default must still be disabled.
    if tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>()) {
        return Span::none();
    }
    tracing::info_span!(
        target: "genkit",
        "genkit",
        "genkit:type" = ty.type_name(),
        "genkit:metadata:subtype" = ty.subtype(),
        "genkit:name" = name,
        "genkit:input" = tracing::field::Empty,
        "genkit:output" = tracing::field::Empty,
        "genkit:state" = tracing::field::Empty,
        "genkit:metadata:context" = tracing::field::Empty,
        "genkit:metadata:interrupt" = tracing::field::Empty,
        "exception.type" = tracing::field::Empty,
        "exception.message" = tracing::field::Empty,
        "exception.stacktrace" = tracing::field::Empty,
    )
}

/// Records `value` as JSON under `field` when the span is being recorded.
pub(crate) fn record_json<T: Serialize + ?Sized>(span: &Span, field: &'static str, value: &T) {
    if recording(span) {
        if let Ok(json) = serde_json::to_string(value) {
            span.record(field, json.as_str());
        }
    }
}

/// Records the caller's context, with `auth` redacted as Genkit JS does.
pub(crate) fn record_context(span: &Span, context: &ActionContext) {
    if recording(span) {
        let mut map = context.as_map().clone();
        if let Some(auth) = map.get_mut("auth") {
            *auth = serde_json::Value::String("<redacted>".to_owned());
        }
        if let Ok(json) = serde_json::to_string(&map) {
            span.record(attr::CONTEXT, json.as_str());
        }
    }
}

/// Marks the span successful.
pub(crate) fn record_success(span: &Span) {
    if recording(span) {
        span.record(attr::STATE, "success");
    }
}

/// Records `output` and marks the span successful.
pub(crate) fn record_output<T: Serialize + ?Sized>(span: &Span, output: &T) {
    record_json(span, attr::OUTPUT, output);
    record_success(span);
}

/// The error's chain of causes, one per line: the closest thing Rust has to a stack.
pub(crate) fn error_stack(error: &(dyn std::error::Error + 'static), kind: &str) -> String {
    let mut stack = format!("{kind}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        stack.push_str("\n    caused by: ");
        stack.push_str(&cause.to_string());
        source = cause.source();
    }
    stack
}

/// Marks the span failed with `error`.
pub(crate) fn record_error(span: &Span, error: &GenkitError) {
    if recording(span) {
        // as Genkit JS reports it (`STATUS: message`), with the causes
        let message =
            crate::error::with_causes(error.to_string(), std::error::Error::source(error));
        span.record(attr::STATE, "error");
        span.record(attr::EXCEPTION_TYPE, "GenkitError");
        span.record(attr::EXCEPTION_MESSAGE, message.as_str());
        span.record(
            attr::EXCEPTION_STACKTRACE,
            error_stack(error, error.status().name()).as_str(),
        );
    }
}

/// Records a tool interrupt the way Genkit does: an error span of type `ToolInterruptError`,
/// with the payload as `genkit:metadata:interrupt`.
pub(crate) fn record_interrupt(span: &Span, payload: &serde_json::Value) {
    if recording(span) {
        record_json(span, attr::INTERRUPT, payload);
        span.record(attr::STATE, "error");
        span.record(attr::EXCEPTION_TYPE, TOOL_INTERRUPT_ERROR);
        span.record(attr::EXCEPTION_MESSAGE, "");
        span.record(
            attr::EXCEPTION_STACKTRACE,
            format!("{TOOL_INTERRUPT_ERROR}: {payload}").as_str(),
        );
    }
}

/// Records the result of an action: its output, or its error.
pub(crate) fn record_result<T: Serialize>(span: &Span, result: &Result<T, GenkitError>) {
    match result {
        Ok(out) => record_output(span, out),
        Err(e) => record_error(span, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stack_lists_the_causes() {
        let inner = std::io::Error::other("disk full");
        let stack = error_stack(&inner, "INTERNAL");
        assert_eq!(stack, "INTERNAL: disk full");
        let e = GenkitError::ToolFailed {
            request: crate::RequestId::new("t", None),
            source: Box::new(std::io::Error::other("disk full")),
        };
        let stack = error_stack(&e, "INTERNAL");
        // each cause once: the error's own line does not repeat it
        assert_eq!(
            stack, "INTERNAL: tool 't' failed\n    caused by: disk full",
            "{stack}"
        );
    }

    #[test]
    fn spans_are_disabled_without_a_subscriber() {
        let s = span(SpanType::Action("tool"), "t");
        assert!(s.is_disabled());
        assert!(!recording(&s));
        // recording helpers are no-ops then
        record_output(&s, &serde_json::json!({"x": 1}));
    }
}
