//! [`OpenAIConfig`]: the model settings of a chat completions call, typed.

use genkit_core::{GenerationCommonConfig, JsonMap};
use serde::{Deserialize, Serialize};

/// The settings of one chat completions call: Genkit's common ones, the chat completions
/// API's own, and a passthrough for anything else the server accepts.
///
/// Pass it to [`GenerateBuilder::config`](genkit_core::GenerateBuilder::config). A misspelled
/// field does not compile; a setting this type does not name goes through
/// [`with`](Self::with) (or, untyped, a `serde_json::json!` config) unchanged.
///
/// ```
/// use genkit_openai::OpenAIConfig;
///
/// let config = OpenAIConfig::new()
///     .temperature(0.0)
///     .max_output_tokens(256)
///     .seed(42)
///     .with("cache_prompt", true); // a llama.cpp setting, passed through
/// assert_eq!(
///     serde_json::to_value(&config)?,
///     serde_json::json!({"temperature": 0.0, "maxOutputTokens": 256, "seed": 42, "cache_prompt": true}),
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpenAIConfig {
    /// Genkit's common settings: temperature, max output tokens, top-k/p, stop sequences.
    #[serde(flatten)]
    pub common: GenerationCommonConfig,
    /// A seed for sampling: the same seed, prompt and settings give the same answer where
    /// the server supports it (llama.cpp does; OpenAI on a best-effort basis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Penalizes tokens by how often they already appeared (-2.0 to 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Penalizes tokens that already appeared at all (-2.0 to 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Whether the model may call several tools in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// A stable id of the end user, for the provider's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How much a reasoning model thinks: `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

impl OpenAIConfig {
    /// No setting: the server's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the common `temperature`.
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.common.temperature = Some(temperature);
        self
    }

    /// Sets the common `maxOutputTokens` (sent as `max_completion_tokens` or `max_tokens`,
    /// see [`MaxTokensField`](crate::MaxTokensField)).
    #[must_use]
    pub fn max_output_tokens(mut self, tokens: u32) -> Self {
        self.common.max_output_tokens = Some(tokens);
        self
    }

    /// Sets the common `topP` (sent as `top_p`).
    #[must_use]
    pub fn top_p(mut self, p: f64) -> Self {
        self.common.top_p = Some(p);
        self
    }

    /// Sets the common `stopSequences` (sent as `stop`).
    #[must_use]
    pub fn stop_sequences<S: Into<String>>(mut self, stops: impl IntoIterator<Item = S>) -> Self {
        self.common = self.common.stop_sequences(stops);
        self
    }

    /// Sets [`seed`](Self::seed).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets [`parallel_tool_calls`](Self::parallel_tool_calls).
    #[must_use]
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.parallel_tool_calls = Some(yes);
        self
    }

    /// Adds a setting this type does not name, sent as is (`logit_bias`, a server's own
    /// settings).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.common.extra.insert(key.into(), value.into());
        self
    }

    /// The passthrough settings.
    pub fn extra(&self) -> &JsonMap {
        &self.common.extra
    }
}
