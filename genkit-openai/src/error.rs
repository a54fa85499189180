//! [`OpenAIError`]: every way a call to an OpenAI-compatible server can fail, and the Genkit
//! [`Status`] each maps to.

use std::fmt;
use std::time::Duration;

use genkit_core::{GenkitError, Status};
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
/// The API key never appears in it: bodies that echo the key are scrubbed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenAIError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {}", describe_body(.error, .body))]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The parsed error object, when the body was an OpenAI-style error.
        error: Option<Box<ApiErrorBody>>,
        /// The raw body, as text.
        body: String,
        /// The wait the server asked for (`Retry-After`), if any.
        retry_after: Option<Duration>,
    },

    /// No answer within the configured timeout (for a stream: no data for that long).
    #[error("no response within {0:?}")]
    Timeout(Duration),

    /// The request could not be sent or the response not received (DNS, connection refused,
    /// TLS, connection reset).
    #[error("request failed: {}", crate::client::error_chain(.0))]
    Transport(reqwest::Error),

    /// The server answered 2xx with a body that is not the expected JSON.
    #[error("unexpected response body ({reason}): {}", truncate(.body))]
    InvalidResponse {
        /// What did not match.
        reason: String,
        /// The raw body (or the offending stream event), as text.
        body: String,
    },

    /// A stream broke off in the middle of an event or a network read.
    #[error("the response stream broke off: {reason}")]
    StreamCut {
        /// What was cut.
        reason: String,
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
            retry_after,
        }
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
            OpenAIError::Timeout(_) => Status::DeadlineExceeded,
            OpenAIError::Transport(e) if e.is_timeout() => Status::DeadlineExceeded,
            OpenAIError::Transport(_) | OpenAIError::StreamCut { .. } => Status::Unavailable,
            OpenAIError::StreamIncomplete => Status::Unavailable,
            OpenAIError::InvalidResponse { .. } => Status::Internal,
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

    /// The error as Genkit sees it: [`GenkitError::Model`] with the mapped status.
    pub(crate) fn into_genkit(self, model: &str) -> GenkitError {
        GenkitError::model(model, self.status(), self)
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
                ..
            } => {
                assert_eq!(model, "openai/gpt-4o-mini");
                assert_eq!(status, Status::ResourceExhausted);
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
