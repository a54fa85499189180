//! [`GenerationCommonConfig`]: the model settings every Genkit model plugin understands.

use serde::{Deserialize, Serialize};

use super::part::JsonMap;

/// Genkit's common model configuration (`GenerationCommonConfig` in genkit-schema.json):
/// typed, so a misspelled setting does not compile, where a `json!` config would pass it to
/// the model silently.
///
/// Pass it to [`GenerateBuilder::config`](crate::GenerateBuilder::config). A plugin's own
/// config type (such as `genkit_openai::OpenAIConfig`) embeds it and adds that API's
/// settings; an untyped `serde_json::json!({..})` stays possible for anything else.
///
/// ```
/// use genkit_core::GenerationCommonConfig;
///
/// let config = GenerationCommonConfig::new().temperature(0.0).max_output_tokens(256);
/// assert_eq!(
///     serde_json::to_value(&config)?,
///     serde_json::json!({"temperature": 0.0, "maxOutputTokens": 256}),
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenerationCommonConfig {
    /// A specific version of a model family (`gemini-2.5-flash` for the `googleai` family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Randomness of token selection: lower is more predictable, `0` is greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The most tokens the response may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// How many of the most likely tokens to sample from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Nucleus sampling: sample from the tokens whose probabilities add up to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Character sequences (up to 5) that stop the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// An API key for this call, overriding the plugin's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Settings the schema does not name, passed to the model as they are.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl GenerationCommonConfig {
    /// No setting: the model's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`temperature`](Self::temperature).
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets [`max_output_tokens`](Self::max_output_tokens).
    #[must_use]
    pub fn max_output_tokens(mut self, tokens: u32) -> Self {
        self.max_output_tokens = Some(tokens);
        self
    }

    /// Sets [`top_k`](Self::top_k).
    #[must_use]
    pub fn top_k(mut self, k: u32) -> Self {
        self.top_k = Some(k);
        self
    }

    /// Sets [`top_p`](Self::top_p).
    #[must_use]
    pub fn top_p(mut self, p: f64) -> Self {
        self.top_p = Some(p);
        self
    }

    /// Sets [`stop_sequences`](Self::stop_sequences).
    #[must_use]
    pub fn stop_sequences<S: Into<String>>(mut self, stops: impl IntoIterator<Item = S>) -> Self {
        self.stop_sequences = Some(stops.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`version`](Self::version).
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Adds a setting the schema does not name, passed through as is.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_the_schema_names_and_keeps_the_rest() {
        let wire = json!({"temperature": 0.5, "maxOutputTokens": 9, "topK": 3, "topP": 0.9,
            "stopSequences": ["\n"], "version": "v1", "apiKey": "k", "seed": 42});
        let config: GenerationCommonConfig = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(config.top_k, Some(3));
        assert_eq!(config.extra["seed"], 42);
        assert_eq!(serde_json::to_value(&config).unwrap(), wire);
        assert_eq!(
            serde_json::to_value(GenerationCommonConfig::new()).unwrap(),
            json!({})
        );
    }
}
