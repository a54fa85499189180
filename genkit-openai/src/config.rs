//! [`OpenAIBuilder`]: everything configurable about the plugin, from code or the environment.

use std::fmt;
use std::time::Duration;

use crate::api_key::ApiKey;
use crate::request::MaxTokensField;
use crate::retry::RetryPolicy;

/// OpenAI's own API, used when no base URL is given.
///
/// ```
/// assert_eq!(genkit_openai::DEFAULT_BASE_URL, "https://api.openai.com/v1");
/// ```
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The default per-attempt timeout (as OpenAI's official clients): long generations are
/// normal, a hung connection is not.
///
/// ```
/// assert_eq!(genkit_openai::DEFAULT_TIMEOUT.as_secs(), 600);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The default deadline of a whole call: every attempt, the waits between them and, for a
/// stream, everything up to its last byte. Long enough for long generations; a server that
/// keeps a stream alive with keep-alive comments or trickled bytes cannot hold a call longer.
///
/// ```
/// assert_eq!(genkit_openai::DEFAULT_DEADLINE.as_secs(), 30 * 60);
/// ```
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The default limit on the size of a response body (for a stream: all of its bytes
/// together). Far above any real completion, text or tool calls; low enough that a broken or
/// hostile server cannot exhaust the memory.
///
/// ```
/// assert_eq!(genkit_openai::DEFAULT_MAX_RESPONSE_BYTES, 64 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Builds an [`OpenAI`](crate::OpenAI) plugin.
///
/// ```
/// use std::time::Duration;
/// use genkit_openai::{OpenAI, RetryPolicy};
///
/// let plugin = OpenAI::builder()
///     .api_key("sk-...")
///     .organization("org-123")
///     .project("proj_456")
///     .header("X-Request-Source", "docs")
///     .timeout(Duration::from_secs(30))
///     .retry(RetryPolicy::default().with_max_retries(3))
///     .build()?;
/// assert!(!format!("{plugin:?}").contains("sk-..."));
/// # Ok::<(), genkit_openai::OpenAIError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct OpenAIBuilder {
    pub(crate) name: String,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) base_url: String,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_tokens_field: MaxTokensField,
}

impl fmt::Debug for OpenAIBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OpenAIBuilder")
            .field("name", &self.name)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("headers", &header_names)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field("max_tokens_field", &self.max_tokens_field)
            .finish()
    }
}

impl Default for OpenAIBuilder {
    fn default() -> Self {
        Self {
            name: "openai".to_owned(),
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            organization: None,
            project: None,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            max_tokens_field: MaxTokensField::default(),
        }
    }
}

/// A set, non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl OpenAIBuilder {
    /// A builder with the defaults: plugin name `openai`, OpenAI's base URL, no API key.
    ///
    /// ```
    /// let plugin = genkit_openai::OpenAIBuilder::new().api_key("sk-...").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled in from the environment, the variables OpenAI's official clients read:
    /// `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`. Unset or
    /// empty variables keep the defaults; later calls override.
    ///
    /// ```
    /// let plugin = genkit_openai::OpenAIBuilder::from_env().name("env").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn from_env() -> Self {
        let mut b = Self::default();
        if let Some(key) = env("OPENAI_API_KEY") {
            b.api_key = Some(ApiKey::new(key));
        }
        if let Some(url) = env("OPENAI_BASE_URL") {
            b.base_url = url;
        }
        b.organization = env("OPENAI_ORG_ID");
        b.project = env("OPENAI_PROJECT_ID");
        b
    }

    /// The plugin name: the prefix of its models (`openai/gpt-4o-mini`). Give each instance
    /// its own name to use several servers side by side (`local/...`, `groq/...`).
    ///
    /// ```
    /// use genkit_core::Plugin;
    /// let local = genkit_openai::OpenAI::builder().name("local").build()?;
    /// assert_eq!(local.name(), "local");
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The API key, sent as `Authorization: Bearer <key>`. Servers that need none (a local
    /// llama.cpp) work without.
    ///
    /// ```
    /// let plugin = genkit_openai::OpenAI::builder().api_key("sk-...").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key.into()));
        self
    }

    /// The base URL, up to and including the API version (`http://127.0.0.1:18080/v1`).
    /// Requests go to `<base>/chat/completions`; a query string (Azure's `api-version`) is
    /// kept.
    ///
    /// ```
    /// let ollama = genkit_openai::OpenAI::builder()
    ///     .name("ollama")
    ///     .base_url("http://localhost:11434/v1")
    ///     .build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The organization, sent as `OpenAI-Organization`.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().organization("org-123").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// The project, sent as `OpenAI-Project`.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().project("proj_456").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// An extra header on every request (Azure's `api-key`, a gateway's routing header).
    /// Values are treated as secrets: they never show in `Debug`.
    ///
    /// ```
    /// let azure = genkit_openai::OpenAI::builder()
    ///     .name("azure")
    ///     .base_url("https://example.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21")
    ///     .header("api-key", "...")
    ///     .build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The timeout of one attempt: for a plain call, the whole exchange; for a stream, the
    /// wait for the response headers and then for each piece of data (so a stream may run
    /// longer, up to the [`deadline`](Self::deadline)). Default [`DEFAULT_TIMEOUT`].
    /// `Duration::MAX` means no timeout.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().timeout(std::time::Duration::from_secs(20)).build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The deadline of a whole call: every attempt, the backoff waits between them and, for a
    /// stream, everything up to its last byte. Past it the call fails with
    /// [`OpenAIError::Deadline`](crate::OpenAIError::Deadline); a retry whose wait would end
    /// after it is not made. Default [`DEFAULT_DEADLINE`]; `Duration::MAX` means none.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder()
    ///     .timeout(std::time::Duration::from_secs(30)) // silence between pieces
    ///     .deadline(std::time::Duration::from_secs(300)) // the whole call
    ///     .build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn deadline(mut self, deadline: std::time::Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The largest response body accepted, in bytes; for a stream, all of its bytes
    /// together. A larger one fails with
    /// [`OpenAIError::ResponseTooLarge`](crate::OpenAIError::ResponseTooLarge) as soon as
    /// the limit is passed (or at once, when `Content-Length` says so). Default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]; `u64::MAX` means no limit.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().max_response_bytes(8 << 20).build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The retry policy for rate limits (429), server errors (5xx) and failed connections.
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().retry(genkit_openai::RetryPolicy::none()).build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Which request key carries `maxOutputTokens` (default `max_completion_tokens`).
    ///
    /// ```
    /// use genkit_openai::{MaxTokensField, OpenAI};
    /// let p = OpenAI::builder().max_tokens_field(MaxTokensField::MaxTokens).build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn max_tokens_field(mut self, field: MaxTokensField) -> Self {
        self.max_tokens_field = field;
        self
    }
}
