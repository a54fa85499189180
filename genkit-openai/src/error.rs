//! [`OpenAIError`]: every way a call to an OpenAI-compatible server can fail, and the Genkit
//! [`Status`] each maps to.

use std::fmt;
use std::time::Duration;

use genkit_core::{GenkitError, Status};

use crate::api_key::Redactor;
use serde::Deserialize;
use serde_json::Value;

/// How much of a raw body an error message shows; the error keeps all of it.
const SHOWN_BODY_CHARS: usize = 600;

/// The error object of an OpenAI-style error body, `{"error": {"message", "type", "code",
/// "param"}}`.
///
/// `code` is a string on OpenAI (`"invalid_api_key"`) and a number on llama.cpp (`401`), so it
/// is kept as JSON.
///
/// ```
/// use genkit_openai::ApiErrorBody;
/// let body = r#"{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}"#;
/// let error = ApiErrorBody::parse(body).unwrap();
/// assert_eq!(error.message, "Invalid API Key");
/// assert_eq!(error.kind.as_deref(), Some("authentication_error"));
/// assert_eq!(error.code, Some(serde_json::json!(401)));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// What went wrong, in the server's words.
    #[serde(default)]
    pub message: String,
    /// The error type (`invalid_request_error`, `authentication_error`, ...).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The error code: a string or a number, depending on the server.
    #[serde(default)]
    pub code: Option<Value>,
    /// The request parameter at fault, if the server names one.
    #[serde(default)]
    pub param: Option<String>,
}

impl ApiErrorBody {
    /// Reads an OpenAI-style error body; `None` when `body` is not one.
    ///
    /// ```
    /// assert!(genkit_openai::ApiErrorBody::parse("<html>Bad Gateway</html>").is_none());
    /// ```
    pub fn parse(body: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Envelope {
            error: ApiErrorBody,
        }
        serde_json::from_str::<Envelope>(body).ok().map(|e| e.error)
    }
}

impl ApiErrorBody {
    /// A body holding only a message (a stream's error event that is not OpenAI-shaped).
    pub(crate) fn message_only(message: String) -> Self {
        Self {
            message,
            kind: None,
            code: None,
            param: None,
        }
    }

    fn sanitized(self, redactor: &Redactor) -> Self {
        let text = |s: String| redactor.server_text(s, MAX_ERROR_BODY);
        let code = self.code.map(|code| match code {
            Value::String(s) => Value::String(text(s)),
            Value::Number(_) | Value::Bool(_) | Value::Null => code,
            // an object or array: kept as scrubbed text
            other => Value::String(text(other.to_string())),
        });
        Self {
            message: text(self.message),
            kind: self.kind.map(text),
            code,
            param: self.param.map(text),
        }
    }
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.message.is_empty() {
            "(no message)"
        } else {
            &self.message
        })?;
        let mut extra = Vec::new();
        if let Some(kind) = &self.kind {
            extra.push(format!("type: {kind}"));
        }
        if let Some(code) = &self.code {
            match code {
                Value::String(s) => extra.push(format!("code: {s}")),
                other => extra.push(format!("code: {other}")),
            }
        }
        if let Some(param) = &self.param {
            extra.push(format!("param: {param}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        Ok(())
    }
}

/// A failed call to an OpenAI-compatible server.
///
/// The plugin returns it inside [`GenkitError::Model`]; downcast the `source` to get it back:
///
/// ```
/// use genkit_core::GenkitError;
/// use genkit_openai::OpenAIError;
///
/// fn http_status(e: &GenkitError) -> Option<u16> {
///     match e {
///         GenkitError::Model { source, .. } => source.downcast_ref::<OpenAIError>()?.http_status(),
///         _ => None,
///     }
/// }
/// ```
///
/// The API key (and every custom header value) never appears in it: every text a server sent
/// is scrubbed of them, and cut to [`MAX_ERROR_BODY`] bytes, before it is put into an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenAIError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {}", describe_body(.error, .body))]
    #[non_exhaustive]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The parsed error object, when the body was an OpenAI-style error.
        error: Option<Box<ApiErrorBody>>,
        /// The raw body, as text (at most [`MAX_ERROR_BODY`] bytes of it).
        body: String,
        /// The wait the server asked for (`retry-after-ms`, or `Retry-After` in seconds or as
        /// an HTTP-date), at most [`MAX_REPORTED_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },

    /// No answer within the configured per-attempt timeout (for a stream: no data for that
    /// long).
    #[error("no response within {0:?}")]
    Timeout(Duration),

    /// The whole call (every attempt, the waits between them and the entire stream) took
    /// longer than the configured deadline.
    #[error("the call did not finish within its deadline of {0:?}")]
    Deadline(Duration),

    /// The request could not be sent or the response not received (DNS, connection refused,
    /// TLS, connection reset). Ask [`TransportError::is_connect`] and friends for the kind;
    /// the cause is its [`source`](std::error::Error::source).
    #[error(transparent)]
    Transport(TransportError),

    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("unexpected response body ({reason}): {}", truncate(.body))]
    #[non_exhaustive]
    InvalidResponse {
        /// What did not match.
        reason: String,
        /// The raw body (or the offending stream event), as text (at most
        /// [`MAX_ERROR_BODY`] bytes of it).
        body: String,
    },

    /// The response body (or, for a stream, all of its bytes together) is larger than the
    /// configured maximum ([`OpenAIBuilder::max_response_bytes`](crate::OpenAIBuilder::max_response_bytes)).
    #[error("the response exceeds the limit of {limit} bytes")]
    #[non_exhaustive]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },

    /// A stream broke off in the middle of an event or a network read.
    #[error("the response stream broke off: {reason}")]
    #[non_exhaustive]
    StreamCut {
        /// What was cut.
        reason: String,
        /// The network error that cut it, if one did.
        #[source]
        source: Option<TransportError>,
    },

    /// A stream ended cleanly but before the server said the response was complete (no
    /// finish reason and no `[DONE]`).
    #[error("the response stream ended before the response was complete")]
    StreamIncomplete,

    /// The server reported an error inside a stream (an `{"error": ...}` event).
    #[error("error event in the response stream: {0}")]
    StreamApi(Box<ApiErrorBody>),

    /// The request holds something the chat completions API cannot express (for example a
    /// media type it does not take).
    #[error("cannot express the request for the chat completions API: {0}")]
    UnsupportedRequest(String),

    /// The plugin's configuration is invalid (base URL, header names, TLS setup).
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// At most this much of any text a server sent (an error body, a stream event, a body that is
/// not a completion) is kept in an [`OpenAIError`]; the start says what went wrong.
///
/// ```
/// assert_eq!(genkit_openai::MAX_ERROR_BODY, 64 * 1024);
/// ```
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The longest wait an [`OpenAIError::Api`] reports in `retry_after`: a server asking for more
/// (or for more than a [`Duration`] can hold) is reported as asking for this.
///
/// ```
/// assert_eq!(genkit_openai::MAX_REPORTED_RETRY_AFTER.as_secs(), 24 * 3600);
/// ```
pub const MAX_REPORTED_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A network failure: the request could not be sent or the response not read.
///
/// Opaque on purpose (as `reqwest::Error` is): ask what kind it was with the predicates, and
/// walk [`source`](std::error::Error::source) for the cause (the I/O error, the TLS alert).
///
/// ```
/// use genkit_openai::OpenAIError;
///
/// fn worth_retrying_later(e: &OpenAIError) -> bool {
///     matches!(e, OpenAIError::Transport(t) if t.is_connect() || t.is_timeout())
/// }
/// # let _ = worth_retrying_later;
/// ```
pub struct TransportError {
    inner: reqwest::Error,
}

impl TransportError {
    pub(crate) fn new(inner: reqwest::Error) -> Self {
        Self { inner }
    }

    /// The connection could not be made (refused, DNS, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.inner.is_connect()
    }

    /// The transport gave up waiting (a timeout below the plugin's own).
    pub fn is_timeout(&self) -> bool {
        self.inner.is_timeout()
    }

    /// The response body could not be read (the connection broke while reading it).
    pub fn is_body(&self) -> bool {
        self.inner.is_body() || self.inner.is_decode()
    }

    /// The request could not be sent (the connection broke while sending it).
    pub fn is_request(&self) -> bool {
        self.inner.is_request()
    }

    /// The URL the request went to.
    pub fn url(&self) -> Option<&str> {
        self.inner.url().map(|u| u.as_str())
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.is_connect() {
            "could not connect"
        } else if self.is_timeout() {
            "the connection timed out"
        } else if self.is_body() {
            "the response body could not be read"
        } else if self.is_request() {
            "the request could not be sent"
        } else {
            "the HTTP exchange failed"
        };
        f.write_str(what)?;
        if let Some(url) = self.url() {
            write!(f, " ({url})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.to_string())
            .field("source", &self.inner)
            .finish()
    }
}

impl std::error::Error for TransportError {
    /// The cause below reqwest's own description (which this type's `Display` replaces).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.inner)
    }
}

/// An error with its causes, `outer: inner: root`, for log lines.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn truncate(body: &str) -> String {
    match body.char_indices().nth(SHOWN_BODY_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &body[..cut], body.len()),
        None => body.to_owned(),
    }
}

fn describe_body(error: &Option<Box<ApiErrorBody>>, body: &str) -> String {
    match error {
        Some(e) => e.to_string(),
        None if body.trim().is_empty() => "(empty body)".to_owned(),
        None => truncate(body),
    }
}

/// Genkit's status for an HTTP error status.
fn status_for_http(status: u16) -> Status {
    match status {
        400 | 413 | 422 => Status::InvalidArgument,
        401 => Status::Unauthenticated,
        403 => Status::PermissionDenied,
        404 => Status::NotFound,
        408 | 504 => Status::DeadlineExceeded,
        409 => Status::Aborted,
        429 => Status::ResourceExhausted,
        500 => Status::Internal,
        501 => Status::Unimplemented,
        502 | 503 => Status::Unavailable,
        405..=499 => Status::FailedPrecondition,
        505..=599 => Status::Unavailable,
        _ => Status::Unknown,
    }
}

impl OpenAIError {
    /// An error for a non-2xx answer; parses an OpenAI-style body when there is one.
    pub(crate) fn api(status: u16, body: String, retry_after: Option<Duration>) -> Self {
        OpenAIError::Api {
            status,
            error: ApiErrorBody::parse(&body).map(Box::new),
            body,
            retry_after: retry_after.map(|d| d.min(MAX_REPORTED_RETRY_AFTER)),
        }
    }

    /// A 2xx answer (or a stream event) that is not what the API promises.
    pub(crate) fn invalid_response(reason: impl Into<String>, body: impl Into<String>) -> Self {
        OpenAIError::InvalidResponse {
            reason: reason.into(),
            body: body.into(),
        }
    }

    /// A stream cut short, by a network error (`source`) or by the server.
    pub(crate) fn stream_cut(reason: impl Into<String>, source: Option<TransportError>) -> Self {
        OpenAIError::StreamCut {
            reason: reason.into(),
            source,
        }
    }

    /// A response over the size limit.
    pub(crate) fn too_large(limit: u64) -> Self {
        OpenAIError::ResponseTooLarge { limit }
    }

    /// A network failure.
    pub(crate) fn transport(e: reqwest::Error) -> Self {
        OpenAIError::Transport(TransportError::new(e))
    }

    /// The error with every text a server sent scrubbed of secrets and cut to
    /// [`MAX_ERROR_BODY`]. Every error leaving the plugin passes through here.
    pub(crate) fn sanitized(self, redactor: &Redactor) -> Self {
        let text = |s: String| redactor.server_text(s, MAX_ERROR_BODY);
        match self {
            OpenAIError::Api {
                status,
                error,
                body,
                retry_after,
            } => OpenAIError::Api {
                status,
                error: error.map(|e| Box::new(e.sanitized(redactor))),
                body: text(body),
                retry_after,
            },
            OpenAIError::InvalidResponse { reason, body } => OpenAIError::InvalidResponse {
                reason: text(reason),
                body: text(body),
            },
            OpenAIError::StreamCut { reason, source } => OpenAIError::StreamCut {
                reason: text(reason),
                source,
            },
            OpenAIError::StreamApi(e) => OpenAIError::StreamApi(Box::new(e.sanitized(redactor))),
            other => other,
        }
    }

    /// Whether the call ran out of time: the per-attempt timeout, the call's deadline, or a
    /// transport timeout.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use genkit_openai::OpenAIError;
    /// assert!(OpenAIError::Timeout(Duration::from_secs(1)).is_timeout());
    /// assert!(OpenAIError::Deadline(Duration::from_secs(1)).is_timeout());
    /// assert!(!OpenAIError::StreamIncomplete.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            OpenAIError::Timeout(_) | OpenAIError::Deadline(_) => true,
            OpenAIError::Transport(t) => t.is_timeout(),
            _ => false,
        }
    }

    /// Whether the server could not be reached at all.
    ///
    /// ```
    /// assert!(!genkit_openai::OpenAIError::StreamIncomplete.is_connect());
    /// ```
    pub fn is_connect(&self) -> bool {
        matches!(self, OpenAIError::Transport(t) if t.is_connect())
    }

    /// The Genkit status this failure maps to.
    ///
    /// ```
    /// use genkit_core::Status;
    /// use genkit_openai::OpenAIError;
    /// assert_eq!(OpenAIError::Timeout(std::time::Duration::from_secs(1)).status(), Status::DeadlineExceeded);
    /// assert_eq!(OpenAIError::StreamIncomplete.status(), Status::Unavailable);
    /// ```
    pub fn status(&self) -> Status {
        match self {
            OpenAIError::Api { status, .. } => status_for_http(*status),
            OpenAIError::Timeout(_) | OpenAIError::Deadline(_) => Status::DeadlineExceeded,
            OpenAIError::Transport(e) if e.is_timeout() => Status::DeadlineExceeded,
            OpenAIError::Transport(_) | OpenAIError::StreamCut { .. } => Status::Unavailable,
            OpenAIError::StreamIncomplete => Status::Unavailable,
            OpenAIError::InvalidResponse { .. } => Status::Internal,
            // as gRPC answers a message over its size limit
            OpenAIError::ResponseTooLarge { .. } => Status::ResourceExhausted,
            OpenAIError::StreamApi(e) => match e.code.as_ref().and_then(Value::as_u64) {
                Some(code @ 400..=599) => status_for_http(code as u16),
                _ => Status::Internal,
            },
            OpenAIError::UnsupportedRequest(_) | OpenAIError::Config(_) => Status::InvalidArgument,
        }
    }

    /// The HTTP status, when the server answered with an error status.
    ///
    /// ```
    /// assert_eq!(genkit_openai::OpenAIError::StreamIncomplete.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            OpenAIError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error as Genkit sees it: [`GenkitError::Model`] with the mapped status, carrying
    /// the server's `Retry-After` (so the `retry` middleware honours it).
    pub(crate) fn into_genkit(self, model: &str) -> GenkitError {
        let retry_after = match &self {
            OpenAIError::Api { retry_after, .. } => *retry_after,
            _ => None,
        };
        let e = GenkitError::model(model, self.status(), self);
        match retry_after {
            Some(wait) => e.with_retry_after(wait),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_genkit_statuses() {
        for (http, status) in [
            (400, Status::InvalidArgument),
            (401, Status::Unauthenticated),
            (403, Status::PermissionDenied),
            (404, Status::NotFound),
            (429, Status::ResourceExhausted),
            (500, Status::Internal),
            (502, Status::Unavailable),
            (503, Status::Unavailable),
            (504, Status::DeadlineExceeded),
        ] {
            assert_eq!(OpenAIError::api(http, String::new(), None).status(), status);
        }
    }

    #[test]
    fn openai_and_llamacpp_error_bodies_parse() {
        let openai = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let e = OpenAIError::api(401, openai.into(), None);
        assert_eq!(
            e.to_string(),
            "HTTP 401: Incorrect API key provided (type: invalid_request_error, code: invalid_api_key)"
        );
        let llama = r#"{"error":{"code":400,"message":"'messages' is required","type":"invalid_request_error"}}"#;
        let e = OpenAIError::api(400, llama.into(), None);
        assert_eq!(
            e.to_string(),
            "HTTP 400: 'messages' is required (type: invalid_request_error, code: 400)"
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_kept_raw() {
        let e = OpenAIError::api(502, "<html>Bad Gateway</html>".into(), None);
        assert_eq!(e.to_string(), "HTTP 502: <html>Bad Gateway</html>");
        match e {
            OpenAIError::Api { error, body, .. } => {
                assert!(error.is_none());
                assert_eq!(body, "<html>Bad Gateway</html>");
            }
            other => panic!("{other:?}"),
        }
        let long = "x".repeat(5000);
        let e = OpenAIError::api(500, long.clone(), None);
        assert!(e.to_string().len() < 700);
        assert!(matches!(e, OpenAIError::Api { body, .. } if body == long));
    }

    #[test]
    fn maps_into_a_genkit_model_error() {
        let e = OpenAIError::api(429, "{}".into(), Some(Duration::from_secs(1)));
        match e.into_genkit("openai/gpt-4o-mini") {
            GenkitError::Model {
                model,
                status,
                source,
                retry_after,
                ..
            } => {
                assert_eq!(model, "openai/gpt-4o-mini");
                assert_eq!(status, Status::ResourceExhausted);
                assert_eq!(retry_after, Some(Duration::from_secs(1)));
                assert_eq!(
                    source
                        .downcast_ref::<OpenAIError>()
                        .and_then(|e| e.http_status()),
                    Some(429)
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
