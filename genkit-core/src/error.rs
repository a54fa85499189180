//! [`GenkitError`]: every way a Genkit operation can fail, each with a [`Status`].

use std::error::Error as StdError;
use std::fmt;

use crate::generate::GenerateResponse;
use crate::status::Status;

/// A boxed error from user or plugin code.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Shows a tool request as `'name'`, or `'name' (call ref)` when it has a ref (the call id the
/// model gave it), the way errors name the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    /// Tool name.
    pub name: String,
    /// The request's `ref`, if it had one.
    pub ref_: Option<String>,
}

impl RequestId {
    /// A request id for tool `name` with `ref_`.
    pub fn new(name: impl Into<String>, ref_: Option<String>) -> Self {
        Self {
            name: name.into(),
            ref_,
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ref_ {
            Some(r) => write!(f, "'{}' (call {})", self.name, r),
            None => write!(f, "'{}'", self.name),
        }
    }
}

/// The error type of every fallible Genkit operation.
///
/// Match on the variant for the detail, or call [`status`](GenkitError::status) for the Genkit
/// status it maps to on the wire. An interrupt is *not* an error: it is
/// [`FinishReason::Interrupted`](crate::FinishReason::Interrupted) on a successful response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenkitError {
    /// An agent refused an init, an input or a lookup; the inner error names the culprit.
    #[error(transparent)]
    Agent(Box<crate::agent::AgentError>),

    /// A caller passed something invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Two actions were registered under the same key.
    #[non_exhaustive]
    #[error("an action is already registered as '{key}'")]
    DuplicateAction {
        /// The registry key, like `/tool/ask_question`.
        key: String,
    },

    /// Two different tools of one generate call share a name.
    #[non_exhaustive]
    #[error(
        "two different tools are named '{name}'; tool names must be unique in a generate call"
    )]
    DuplicateTool {
        /// The shared name.
        name: String,
    },

    /// A tool name that model APIs reject.
    #[non_exhaustive]
    #[error("invalid tool name '{name}': use 1 to 64 characters from a-z, A-Z, 0-9, '_' and '-'")]
    InvalidToolName {
        /// The rejected name.
        name: String,
    },

    /// No model was named and the instance has no default model.
    #[error(
        "no model given: name one with .model(..) or set a default model on the Genkit builder"
    )]
    NoModel,

    /// The named model is not registered and no plugin provides it.
    #[non_exhaustive]
    #[error("model '{name}' not found")]
    ModelNotFound {
        /// The model name.
        name: String,
    },

    /// A tool that is not available in this call was named or requested.
    #[non_exhaustive]
    #[error("tool {request} not found{}", available_list(.available))]
    ToolNotFound {
        /// The request (or name) that could not be resolved.
        request: RequestId,
        /// The tools that were available.
        available: Vec<String>,
    },

    /// A tool needs an application state (a `State<S>` parameter) the instance was not given.
    #[non_exhaustive]
    #[error("tool '{tool}' needs the application state `{state}`: give it to the instance with `Genkit::builder().state(..)`")]
    MissingState {
        /// The tool.
        tool: String,
        /// The state's type.
        state: String,
    },

    /// An action key that is not registered.
    #[non_exhaustive]
    #[error("action '{key}' not found")]
    ActionNotFound {
        /// The registry key.
        key: String,
    },

    /// A model sent tool arguments that are not JSON.
    #[non_exhaustive]
    #[error("tool {request}: arguments are not valid JSON: {raw}")]
    ToolInputNotJson {
        /// The offending request.
        request: RequestId,
        /// The raw arguments.
        raw: String,
        /// The parse error.
        source: serde_json::Error,
    },

    /// A tool input that fails the tool's input schema.
    #[non_exhaustive]
    #[error("tool {request}: input does not match the tool's input schema: {}", .violations.join("; "))]
    ToolInputInvalid {
        /// The offending request.
        request: RequestId,
        /// One line per schema violation.
        violations: Vec<String>,
    },

    /// A tool output (or a respond answer) that fails the tool's output schema.
    #[non_exhaustive]
    #[error("tool {request}: output does not match the tool's output schema: {}", .violations.join("; "))]
    ToolOutputInvalid {
        /// The offending request.
        request: RequestId,
        /// One line per schema violation.
        violations: Vec<String>,
    },

    /// A tool's body returned an error.
    #[non_exhaustive]
    #[error("tool {request} failed")]
    ToolFailed {
        /// The request that failed.
        request: RequestId,
        /// The tool's error.
        source: BoxError,
    },

    /// A tool's body panicked. The panic was caught; the process lives on.
    #[non_exhaustive]
    #[error("tool {request} panicked: {message}")]
    ToolPanicked {
        /// The request whose tool panicked.
        request: RequestId,
        /// The panic message.
        message: String,
    },

    /// A tool run directly (not in a generate loop, so nothing can pause) interrupted.
    #[non_exhaustive]
    #[error("tool {request} interrupted")]
    ToolInterrupted {
        /// The request that interrupted.
        request: RequestId,
        /// The interrupt payload (`true` when it gave none).
        payload: serde_json::Value,
    },

    /// An action run through the dispatcher panicked. The panic was caught; the process lives
    /// on.
    #[non_exhaustive]
    #[error("action '{key}' panicked: {message}")]
    ActionPanicked {
        /// The action's registry key.
        key: String,
        /// The panic message.
        message: String,
    },

    /// `resume` was given but the history does not end in a model message with tool requests.
    #[non_exhaustive]
    #[error("cannot resume: {reason}")]
    ResumePrecondition {
        /// What is wrong with the history.
        reason: String,
    },

    /// A pending tool request got no answer on resume.
    #[non_exhaustive]
    #[error("tool request {request} was not answered: give a respond or restart part for every pending request")]
    UnresolvedToolRequest {
        /// The unanswered request.
        request: RequestId,
    },

    /// A respond or restart part that matches no tool request of the last model message.
    #[non_exhaustive]
    #[error("{kind} part for {request} matches no pending tool request{}", pending_list(.pending))]
    UnmatchedResume {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// Name and ref the part carried.
        request: RequestId,
        /// The requests that were pending.
        pending: Vec<String>,
    },

    /// A respond part that is not a `toolResponse` part, or a restart part that is not a
    /// `toolRequest` part.
    #[non_exhaustive]
    #[error("every {kind} part must be a {expected} part")]
    MalformedResume {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// The part kind expected: `"toolResponse"` or `"toolRequest"`.
        expected: &'static str,
    },

    /// A seal key that [`HistorySeal`](crate::HistorySeal) refuses: an id too short or too
    /// long, a secret too short to be safe, or an id given twice.
    #[non_exhaustive]
    #[error("seal key '{key_id}': {problem}")]
    InvalidSealKey {
        /// The key's id, as given.
        key_id: String,
        /// Which rule it breaks.
        problem: crate::seal::SealKeyProblem,
    },

    /// Two answers (respond or restart parts) for the same tool request.
    #[non_exhaustive]
    #[error("tool request {request} was answered twice on resume")]
    DuplicateResume {
        /// The request answered twice.
        request: RequestId,
    },

    /// An answer built for one tool was applied to another tool's interrupt.
    #[non_exhaustive]
    #[error("interrupt {request} belongs to another tool, not to '{tool}'")]
    InterruptMismatch {
        /// The tool whose helper was called.
        tool: String,
        /// The interrupt's request.
        request: RequestId,
    },

    /// A restart whose input differs from the pending request's, without declaring the
    /// replacement (`replacedInput`, set by the restart helpers when given a new input), or
    /// declaring an original that is not the request's input.
    #[non_exhaustive]
    #[error("restart of {request}: {reason}")]
    RestartInputChanged {
        /// The restarted request.
        request: RequestId,
        /// What does not match.
        reason: String,
    },

    /// A sealed instance refused to resume: the history's seal is missing, made with an unknown
    /// key, or the history changed since it was sealed. No tool ran.
    #[non_exhaustive]
    #[error("resume denied: {reason}")]
    SealRejected {
        /// Index of the first message that changed, when known.
        message: Option<usize>,
        /// Index of the first part of that message that changed, when known.
        part: Option<usize>,
        /// What is wrong, and where.
        reason: String,
    },

    /// An answer built for one interrupt was given to another (another conversation's, or
    /// another request's), on a sealed instance. No tool ran.
    #[non_exhaustive]
    #[error("{kind} part for {request} was built for another interrupt (another conversation or request)")]
    AnswerForAnotherInterrupt {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// The request the answer was matched to.
        request: RequestId,
    },

    /// The loop ran `max_turns` tool rounds and the model still asked for tools.
    #[non_exhaustive]
    #[error("exceeded the maximum of {max_turns} tool turns; the model still requested tools")]
    MaxTurnsExceeded {
        /// The limit.
        max_turns: u32,
        /// The last response, with its tool requests unanswered.
        response: Box<GenerateResponse>,
    },

    /// The model's response held no message.
    #[non_exhaustive]
    #[error("model '{model}' returned a response without a message (finish reason: {finish})")]
    MissingMessage {
        /// The model.
        model: String,
        /// The response's finish reason, or `none`.
        finish: String,
    },

    /// The model refused to answer (a safety filter).
    #[non_exhaustive]
    #[error("generation blocked by model '{model}'{}", .response.finish_message().map(|m| format!(": {m}")).unwrap_or_default())]
    Blocked {
        /// The model.
        model: String,
        /// The blocked response.
        response: Box<GenerateResponse>,
    },

    /// A model call failed (network, HTTP status, malformed answer, ...).
    #[non_exhaustive]
    #[error("model '{model}' failed")]
    Model {
        /// The model.
        model: String,
        /// The status this failure maps to.
        status: Status,
        /// The plugin's error; downcast it for the detail.
        source: BoxError,
        /// How long the provider asked to wait before trying again (`Retry-After`), when it
        /// said; the [`Retry`](crate::middleware::Retry) middleware waits at least this long.
        retry_after: Option<std::time::Duration>,
    },

    /// A `use` entry names a middleware that is not registered.
    #[non_exhaustive]
    #[error("middleware '{name}' not found{}", registered_list(.registered))]
    MiddlewareNotFound {
        /// The name given.
        name: String,
        /// The names that are registered.
        registered: Vec<String>,
    },

    /// A middleware hook panicked. The panic was caught; the process and the instance live
    /// on.
    #[non_exhaustive]
    #[error("middleware '{middleware}' panicked in its {hook} hook: {message}")]
    MiddlewarePanicked {
        /// The middleware's name.
        middleware: String,
        /// `generate`, `model` or `tool`.
        hook: &'static str,
        /// The panic message.
        message: String,
    },

    /// The model's final answer does not parse in the requested output format, or does not match
    /// the output schema. The response (with the raw text) is kept.
    #[non_exhaustive]
    #[error("output does not conform: {reason}{}", violations_list(.violations))]
    OutputInvalid {
        /// What is wrong.
        reason: String,
        /// Schema violations, one per line.
        violations: Vec<String>,
        /// The response, whose `text()` is the raw answer.
        response: Box<GenerateResponse>,
    },

    /// A flow input (arriving as JSON) that fails the flow's input schema.
    #[non_exhaustive]
    #[error("flow '{flow}': input does not match the flow's input schema: {}", .violations.join("; "))]
    FlowInputInvalid {
        /// The flow's name.
        flow: String,
        /// One line per schema violation.
        violations: Vec<String>,
    },

    /// An output format name that is not one of Genkit's.
    #[non_exhaustive]
    #[error("unknown output format '{name}' (expected json, text, array, enum or jsonl)")]
    UnknownOutputFormat {
        /// The name given.
        name: String,
    },

    /// A value could not be converted to or from JSON.
    #[non_exhaustive]
    #[error("{what}: not convertible to or from JSON")]
    Json {
        /// What was being converted.
        what: String,
        /// The serde error.
        source: serde_json::Error,
    },

    /// A JSON schema that cannot be compiled.
    #[non_exhaustive]
    #[error("invalid JSON schema for {what}: {message}")]
    InvalidSchema {
        /// Whose schema.
        what: String,
        /// The compiler's message.
        message: String,
    },

    /// A failure with an explicit status, from an action or a plugin.
    #[non_exhaustive]
    #[error("{status}: {message}")]
    Other {
        /// The status.
        status: Status,
        /// What went wrong.
        message: String,
    },
}

fn available_list(names: &[String]) -> String {
    if names.is_empty() {
        " (no tools were given)".to_owned()
    } else {
        format!(" (available: {})", names.join(", "))
    }
}

fn registered_list(names: &[String]) -> String {
    if names.is_empty() {
        " (none is registered)".to_owned()
    } else {
        format!(" (registered: {})", names.join(", "))
    }
}

fn violations_list(violations: &[String]) -> String {
    if violations.is_empty() {
        String::new()
    } else {
        format!(": {}", violations.join("; "))
    }
}

fn pending_list(pending: &[String]) -> String {
    if pending.is_empty() {
        String::new()
    } else {
        format!(" (pending: {})", pending.join(", "))
    }
}

/// `message`, then the text of each error of the chain from `source`, joined by `: `.
pub(crate) fn with_causes(
    mut message: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(cause) = source {
        let text = cause.to_string();
        // a cause that says what its error already said adds nothing
        if !text.is_empty() && !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

impl GenkitError {
    /// This error's message followed by its causes' (its [`source`](std::error::Error::source)
    /// chain), as one line: what the wire, traces and a model told of a bad tool call carry.
    ///
    /// `Display` says only this error's own words and leaves the cause to `source()`, so that
    /// anyhow's `Caused by:` list and `{:#}` show each cause once.
    ///
    /// ```
    /// use genkit_core::{GenkitError, Status};
    /// let e = GenkitError::model("m", Status::Unavailable, "connection refused");
    /// assert_eq!(e.to_string(), "model 'm' failed");
    /// assert_eq!(e.full_message(), "model 'm' failed: connection refused");
    /// ```
    pub fn full_message(&self) -> String {
        let own = match self {
            GenkitError::Other { message, .. } => message.clone(),
            other => other.to_string(),
        };
        with_causes(own, std::error::Error::source(self))
    }

    /// The Genkit status this error maps to.
    pub fn status(&self) -> Status {
        use GenkitError::*;
        match self {
            InvalidArgument(_)
            | InvalidToolName { .. }
            | DuplicateTool { .. }
            | ToolInputNotJson { .. }
            | ToolInputInvalid { .. }
            | ToolOutputInvalid { .. }
            | UnresolvedToolRequest { .. }
            | UnmatchedResume { .. }
            | MalformedResume { .. }
            | InvalidSealKey { .. }
            | DuplicateResume { .. }
            | InterruptMismatch { .. }
            | RestartInputChanged { .. }
            | Json { .. }
            | InvalidSchema { .. }
            | FlowInputInvalid { .. }
            | UnknownOutputFormat { .. }
            | OutputInvalid { .. } => Status::InvalidArgument,
            DuplicateAction { .. } => Status::AlreadyExists,
            NoModel
            | ModelNotFound { .. }
            | ToolNotFound { .. }
            | ActionNotFound { .. }
            | MiddlewareNotFound { .. } => Status::NotFound,
            ResumePrecondition { .. } | MissingState { .. } => Status::FailedPrecondition,
            MaxTurnsExceeded { .. } => Status::Aborted,
            Blocked { .. } | SealRejected { .. } | AnswerForAnotherInterrupt { .. } => {
                Status::PermissionDenied
            }
            ToolFailed { .. }
            | ToolPanicked { .. }
            | ToolInterrupted { .. }
            | ActionPanicked { .. }
            | MiddlewarePanicked { .. }
            | MissingMessage { .. } => Status::Internal,
            Model { status, .. } | Other { status, .. } => *status,
            Agent(e) => e.status(),
        }
    }

    /// A failure with `status` and `message`, from an action or a plugin.
    pub fn with_status(status: Status, message: impl Into<String>) -> Self {
        GenkitError::Other {
            status,
            message: message.into(),
        }
    }

    /// A model call that failed with `status`; `source` is the plugin's error (downcast it for
    /// the detail).
    pub fn model(model: impl Into<String>, status: Status, source: impl Into<BoxError>) -> Self {
        GenkitError::Model {
            model: model.into(),
            status,
            source: source.into(),
            retry_after: None,
        }
    }

    /// Returns this error carrying the wait a provider asked for before a retry (on a
    /// [`GenkitError::Model`]; other errors are returned unchanged).
    ///
    /// ```
    /// use std::time::Duration;
    /// use genkit_core::{GenkitError, Status};
    /// let e = GenkitError::model("m", Status::ResourceExhausted, "slow down")
    ///     .with_retry_after(Duration::from_secs(3));
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    /// ```
    #[must_use]
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        if let GenkitError::Model { retry_after, .. } = &mut self {
            *retry_after = Some(wait);
        }
        self
    }

    /// The wait a provider asked for before a retry, when it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            GenkitError::Model { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// An invalid argument (`INVALID_ARGUMENT`) described by `message`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        GenkitError::InvalidArgument(message.into())
    }

    /// A resume part of the wrong kind: `kind` is `"respond"` or `"restart"`.
    pub(crate) fn malformed_resume(kind: &'static str) -> Self {
        let expected = if kind == "respond" {
            "toolResponse"
        } else {
            "toolRequest"
        };
        GenkitError::MalformedResume { kind, expected }
    }

    /// A seal key `key_id` that breaks `problem`.
    pub(crate) fn invalid_seal_key(key_id: &str, problem: crate::seal::SealKeyProblem) -> Self {
        GenkitError::InvalidSealKey {
            key_id: key_id.to_owned(),
            problem,
        }
    }

    /// An internal failure (`INTERNAL`).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with_status(Status::Internal, message)
    }

    /// A JSON conversion error about `what`.
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        GenkitError::Json {
            what: what.into(),
            source,
        }
    }

    /// The agent error inside, when an agent refused something.
    pub fn as_agent(&self) -> Option<&crate::agent::AgentError> {
        match self {
            GenkitError::Agent(e) => Some(e),
            _ => None,
        }
    }

    /// The response carried by errors that have one (max turns, blocked).
    pub fn response(&self) -> Option<&GenerateResponse> {
        match self {
            GenkitError::MaxTurnsExceeded { response, .. }
            | GenkitError::Blocked { response, .. }
            | GenkitError::OutputInvalid { response, .. } => Some(response),
            _ => None,
        }
    }
}
