//! [`Client`]: the HTTP side. Posts chat completion bodies, retries what is worth retrying,
//! enforces timeouts, and turns error answers into [`OpenAIError`]s.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Response, Url};
use tokio::time::Instant;

use crate::api_key::{ApiKey, Redactor};
use crate::config::OpenAIBuilder;
use crate::error::{error_chain, OpenAIError, TransportError, MAX_ERROR_BODY};
use crate::request::MaxTokensField;
use crate::retry::{self, RetryPolicy};

/// What "no limit" becomes when a duration is too long to add to the clock: as tokio does,
/// about thirty years from now.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `d` after `now`, saturating: `Duration::MAX` (a natural way to say "no
/// timeout") is far in the future instead of an overflow.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// The connection to one OpenAI-compatible server, shared by all models of a plugin.
pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: Url,
    redactor: Redactor,
    timeout: Duration,
    deadline: Duration,
    max_response_bytes: u64,
    retry: RetryPolicy,
    pub(crate) max_tokens_field: MaxTokensField,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint.as_str())
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// `<base>/chat/completions`, keeping any query string (Azure's `api-version`).
fn chat_endpoint(base: &str) -> Result<Url, OpenAIError> {
    let mut url =
        Url::parse(base.trim()).map_err(|e| OpenAIError::Config(format!("base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OpenAIError::Config(format!(
            "base URL must be http or https, got '{}'",
            url.scheme()
        )));
    }
    url.path_segments_mut()
        .map_err(|()| OpenAIError::Config("base URL cannot take a path".to_owned()))?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Ok(url)
}

/// rustls with the ring provider passed in explicitly: no process-wide default is installed
/// behind the application's back. The platform's roots are loaded once per process.
fn tls_config(https: bool) -> Result<rustls::ClientConfig, OpenAIError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OpenAIError::Config(format!("TLS: {e}")))?;
    if !https {
        // Plain HTTP never uses TLS; skip reading the system's certificates.
        return Ok(builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth());
    }
    static PLATFORM: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    PLATFORM
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map(|b| b.with_no_client_auth())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| OpenAIError::Config(format!("TLS: {e}")))
}

fn header_name(name: &str) -> Result<HeaderName, OpenAIError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| OpenAIError::Config(format!("invalid header name '{name}'")))
}

/// A header value, marked sensitive so no `Debug` of a request shows it. The value itself is
/// never put into an error message.
fn secret_value(name: &str, value: &str) -> Result<HeaderValue, OpenAIError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| OpenAIError::Config(format!("invalid value for header '{name}'")))?;
    v.set_sensitive(true);
    Ok(v)
}

impl Client {
    pub(crate) fn new(config: &OpenAIBuilder) -> Result<Self, OpenAIError> {
        let endpoint = chat_endpoint(&config.base_url)?;
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            let value = secret_value("Authorization", &format!("Bearer {}", key.expose()))?;
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(org) = &config.organization {
            headers.insert(
                HeaderName::from_static("openai-organization"),
                secret_value("OpenAI-Organization", org)?,
            );
        }
        if let Some(project) = &config.project {
            headers.insert(
                HeaderName::from_static("openai-project"),
                secret_value("OpenAI-Project", project)?,
            );
        }
        for (name, value) in &config.headers {
            headers.insert(header_name(name)?, secret_value(name, value)?);
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(endpoint.scheme() == "https")?)
            .default_headers(headers)
            .user_agent(concat!("genkit-rs-openai/", env!("CARGO_PKG_VERSION")))
            // A redirected POST loses its body or its method; an explicit error is clearer.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OpenAIError::Config(format!("HTTP client: {e}")))?;
        let secrets = config
            .api_key
            .iter()
            .map(ApiKey::expose)
            .chain(config.headers.iter().map(|(_, v)| v.as_str()));
        Ok(Self {
            http,
            endpoint,
            redactor: Redactor::new(secrets),
            timeout: config.timeout,
            deadline: config.deadline,
            max_response_bytes: config.max_response_bytes,
            retry: config.retry.clone(),
            max_tokens_field: config.max_tokens_field,
        })
    }

    /// Where requests go.
    pub(crate) fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The instant a call starting now must be done by.
    pub(crate) fn deadline_from_now(&self) -> Instant {
        after(Instant::now(), self.deadline)
    }

    /// The error, made safe to show: the one place every error of this plugin passes through
    /// before it is logged or returned. Scrubs the secrets from what the server sent, then cuts
    /// it to [`MAX_ERROR_BODY`].
    pub(crate) fn sanitize(&self, e: OpenAIError) -> OpenAIError {
        e.sanitized(&self.redactor)
    }

    /// POSTs `body` and returns the body of the 2xx answer. Each attempt, body included, must
    /// finish within the timeout, and all of them by `deadline`.
    pub(crate) async fn complete(
        &self,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<Vec<u8>, OpenAIError> {
        self.with_retries(deadline, || async {
            let mut response = self.attempt(&body, false).await?;
            if response
                .content_length()
                .is_some_and(|len| len > self.max_response_bytes)
            {
                return Err(OpenAIError::too_large(self.max_response_bytes));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(OpenAIError::transport)? {
                if (bytes.len() as u64).saturating_add(chunk.len() as u64) > self.max_response_bytes
                {
                    return Err(OpenAIError::too_large(self.max_response_bytes));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
        .await
    }

    /// POSTs a streaming `body` and returns the 2xx response; read its events with
    /// [`body`](Self::body). Only the wait for the headers is retried.
    pub(crate) async fn open_stream(
        &self,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<Response, OpenAIError> {
        self.with_retries(deadline, || self.attempt(&body, true))
            .await
    }

    /// Reads the body of a streamed response: each piece within the timeout, all of it by
    /// `deadline` and within the size limit.
    pub(crate) fn body(&self, response: Response, deadline: Instant) -> BodyStream {
        let idle = after(Instant::now(), self.timeout);
        BodyStream {
            response,
            timeout: self.timeout,
            idle,
            deadline,
            call_deadline: self.deadline,
            timer: Box::pin(tokio::time::sleep_until(idle.min(deadline))),
            read: 0,
            limit: self.max_response_bytes,
        }
    }

    /// One request. A non-2xx answer becomes [`OpenAIError::Api`] with the body read.
    async fn attempt(&self, body: &[u8], stream: bool) -> Result<Response, OpenAIError> {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body.to_vec())
            .send()
            .await
            .map_err(OpenAIError::transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry::retry_after(response.headers());
        // Read past the cut by the longest secret, so one straddling it is scrubbed whole.
        let text = read_capped(
            response,
            MAX_ERROR_BODY.saturating_add(self.redactor.slack()),
        )
        .await;
        Err(OpenAIError::api(status.as_u16(), text, retry_after))
    }

    /// Runs `op` under the timeout, again after a backoff while the policy and the deadline
    /// allow.
    async fn with_retries<T, F, Fut>(&self, deadline: Instant, mut op: F) -> Result<T, OpenAIError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        let mut retry = 0u32;
        loop {
            let attempt_ends = after(Instant::now(), self.timeout).min(deadline);
            let error = match tokio::time::timeout_at(attempt_ends, op()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => self.sanitize(e),
                Err(_) if Instant::now() >= deadline => OpenAIError::Deadline(self.deadline),
                Err(_) => OpenAIError::Timeout(self.timeout),
            };
            retry = retry.saturating_add(1);
            let wait = match &error {
                OpenAIError::Api {
                    status,
                    retry_after,
                    ..
                } if *status == 429 || *status >= 500 => self.retry.delay(retry, *retry_after),
                OpenAIError::Transport(e) if e.is_connect() => self.retry.delay(retry, None),
                _ => None,
            };
            // A wait that would end after the deadline is not worth starting.
            let Some(wait) = wait.filter(|w| after(Instant::now(), *w) < deadline) else {
                return Err(error);
            };
            tracing::warn!(
                endpoint = %self.endpoint,
                retry,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error_chain(&error),
                "retrying chat completion"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// A streamed body being read. Waiting longer than the timeout for a piece fails, and so does
/// reading past the call's deadline or past the size limit.
///
/// One timer serves the whole stream: each wait only moves the idle deadline, and the timer is
/// re-armed when it fires before it (a timer set and cancelled for every piece costs about
/// as much as parsing the piece).
pub(crate) struct BodyStream {
    response: Response,
    timeout: Duration,
    /// When the current wait for a piece times out.
    idle: Instant,
    /// When the whole call must be done.
    deadline: Instant,
    /// The configured deadline, for the error.
    call_deadline: Duration,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Bytes read so far.
    read: u64,
    limit: u64,
}

impl BodyStream {
    /// The next piece of the body, `None` at its end. A broken connection is a cut stream.
    pub(crate) async fn next_chunk(
        &mut self,
    ) -> Result<Option<impl AsRef<[u8]> + use<>>, OpenAIError> {
        use futures::future::{select, Either};
        // The wait starts now (not at the last piece: time the caller spent on it, a slow
        // consumer for example, does not count).
        self.idle = after(Instant::now(), self.timeout);
        let mut chunk = std::pin::pin!(self.response.chunk());
        loop {
            match select(chunk.as_mut(), self.timer.as_mut()).await {
                Either::Left((chunk, _)) => {
                    let chunk = chunk.map_err(|e| {
                        OpenAIError::stream_cut(
                            "the connection failed",
                            Some(TransportError::new(e)),
                        )
                    })?;
                    if let Some(bytes) = &chunk {
                        self.read = self.read.saturating_add(bytes.len() as u64);
                        if self.read > self.limit {
                            return Err(OpenAIError::too_large(self.limit));
                        }
                    }
                    return Ok(chunk);
                }
                Either::Right(((), _)) => {
                    let now = Instant::now();
                    if now >= self.deadline {
                        return Err(OpenAIError::Deadline(self.call_deadline));
                    }
                    if now >= self.idle {
                        return Err(OpenAIError::Timeout(self.timeout));
                    }
                    let next = self.idle.min(self.deadline);
                    self.timer.as_mut().reset(next);
                }
            }
        }
    }
}

/// The body of an error answer as text, at most `limit` bytes; a body that cannot be read
/// becomes a note saying so.
async fn read_capped(mut response: Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit.saturating_sub(bytes.len());
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if bytes.len() >= limit {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                if bytes.is_empty() {
                    return format!("(error body unreadable: {})", error_chain(&e));
                }
                break;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_appended_to_the_base_url() {
        for (base, expected) in [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:18080/v1/",
                "http://127.0.0.1:18080/v1/chat/completions",
            ),
            (
                "https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21",
                "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
            ),
        ] {
            assert_eq!(chat_endpoint(base).unwrap().as_str(), expected);
        }
        assert!(chat_endpoint("ftp://host/v1").is_err());
        assert!(chat_endpoint("no url").is_err());
    }

    #[test]
    fn invalid_headers_name_the_header_but_not_the_value() {
        let b = OpenAIBuilder::new().header("X-Bad", "line\nbreak-secret");
        let e = Client::new(&b).unwrap_err().to_string();
        assert!(e.contains("X-Bad"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let b = OpenAIBuilder::new().header("bad header", "v");
        assert!(Client::new(&b).is_err());
    }

    #[test]
    fn https_and_http_clients_build() {
        assert!(Client::new(&OpenAIBuilder::new()).is_ok());
        assert!(Client::new(&OpenAIBuilder::new().base_url("http://127.0.0.1:1/v1")).is_ok());
    }
}
