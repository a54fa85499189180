//! [`OpenAIBuilder`]: everything configurable about the plugin, from code or the environment.

use std::fmt;
use std::time::Duration;

use crate::api_key::ApiKey;
use crate::client::Client;
use crate::error::OpenAIError;
use crate::plugin::OpenAI;
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

/// Which request key carries Genkit's `maxOutputTokens`.
///
/// OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models reject the
/// old name); some compatible servers only know `max_tokens`.
///
/// ```
/// use genkit_openai::{MaxTokensField, OpenAI};
/// let deepseek = OpenAI::builder()
///     .name("deepseek")
///     .base_url("https://api.deepseek.com/v1")
///     .max_tokens_field(MaxTokensField::MaxTokens)
///     .build()?;
/// # Ok::<(), genkit_openai::OpenAIError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaxTokensField {
    /// `max_completion_tokens` (OpenAI's current name; llama.cpp and vLLM take it too).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens` (the older name).
    MaxTokens,
}

impl MaxTokensField {
    pub(crate) fn key(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }
}

/// Builds an [`OpenAI`] plugin.
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
    /// wait for the response headers and then for each piece of data. Default
    /// [`DEFAULT_TIMEOUT`].
    ///
    /// ```
    /// let p = genkit_openai::OpenAI::builder().timeout(std::time::Duration::from_secs(20)).build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
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

    /// Builds the plugin. Fails on an invalid base URL, plugin name or header.
    ///
    /// ```
    /// assert!(genkit_openai::OpenAI::builder().base_url("not a url").build().is_err());
    /// ```
    pub fn build(self) -> Result<OpenAI, OpenAIError> {
        if self.name.is_empty() || self.name.contains('/') {
            return Err(OpenAIError::Config(format!(
                "plugin name '{}' must be non-empty and contain no '/'",
                self.name
            )));
        }
        let client = Client::new(&self)?;
        Ok(OpenAI::new(self.name, client))
    }
}
