//! [`PromptMetadata`]: what a prompt's front matter says, in Dotprompt's JSON shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON object.
pub type JsonMap = serde_json::Map<String, Value>;

/// The `input` section: defaults and the schema (Picoschema or JSON Schema).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputConfig {
    /// Values used for variables the caller does not give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The input schema; JSON Schema once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Any other key, kept.
    #[serde(flatten)]
    pub other: JsonMap,
}

/// The `output` section: format and schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputConfig {
    /// `json`, `text`, `array`, `enum`, `jsonl`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The output schema; JSON Schema once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Any other key, kept.
    #[serde(flatten)]
    pub other: JsonMap,
}

/// A prompt's metadata: the front matter's reserved keys, `ext` (dotted keys, by namespace),
/// `raw` (the whole front matter), and `metadata`. Serializes to the shape every Dotprompt
/// runtime returns, which the conformance suite compares.
///
/// ```
/// use genkit_dotprompt::Dotprompt;
/// let prompt = Dotprompt::new().parse("---\nmodel: m\nmyco.team: search\n---\nHi")?;
/// assert_eq!(prompt.metadata.model.as_deref(), Some("m"));
/// assert_eq!(prompt.metadata.ext["myco"]["team"], "search");
/// # Ok::<(), genkit_dotprompt::DotpromptError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptMetadata {
    /// The prompt's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The variant (`name.variant.prompt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// A version label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Value>,
    /// What the prompt does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tool names (after resolution: the ones no definition was found for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Tool definitions resolved from the names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_defs: Option<Vec<Value>>,
    /// Model configuration.
    #[serde(default)]
    pub config: JsonMap,
    /// Input defaults and schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<InputConfig>,
    /// Output format and schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputConfig>,
    /// Dotted front-matter keys by namespace: `ext1.sub.foo: x` is `ext["ext1.sub"]["foo"]`.
    #[serde(default)]
    pub ext: serde_json::Map<String, Value>,
    /// The whole front matter as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<JsonMap>,
    /// Arbitrary metadata.
    #[serde(default)]
    pub metadata: JsonMap,
}

impl PromptMetadata {
    /// Sets reserved key `key` from its YAML value; `Err` says what type was expected.
    pub(crate) fn set_reserved(&mut self, key: &str, value: Value) -> Result<(), String> {
        fn typed<T: serde::de::DeserializeOwned>(
            key: &str,
            v: Value,
            want: &str,
        ) -> Result<T, String> {
            serde_json::from_value(v).map_err(|e| format!("'{key}' must be {want}: {e}"))
        }
        match key {
            "name" => self.name = Some(typed(key, value, "a string")?),
            "variant" => self.variant = Some(typed(key, value, "a string")?),
            "version" => self.version = Some(value),
            "description" => self.description = Some(typed(key, value, "a string")?),
            "model" => self.model = Some(typed(key, value, "a string")?),
            "tools" => self.tools = Some(typed(key, value, "a list of tool names")?),
            "toolDefs" => self.tool_defs = Some(typed(key, value, "a list of tool definitions")?),
            "config" => self.config = typed(key, value, "a mapping")?,
            "input" => self.input = Some(typed(key, value, "a mapping (default, schema)")?),
            "output" => self.output = Some(typed(key, value, "a mapping (format, schema)")?),
            "ext" => self.ext = typed(key, value, "a mapping")?,
            "raw" => self.raw = Some(typed(key, value, "a mapping")?),
            _ => {}
        }
        Ok(())
    }

    /// A value of the front matter as written (`maxTurns`, `toolChoice`, `use`, ...).
    pub fn raw_value(&self, key: &str) -> Option<&Value> {
        self.raw.as_ref().and_then(|r| r.get(key))
    }

    /// `other` laid over `self` the way Dotprompt merges metadata: every field `other` sets
    /// replaces this one, except `config`, merged key by key.
    pub fn merged_with(&self, other: &PromptMetadata) -> PromptMetadata {
        let mut out = self.clone();
        macro_rules! take {
            ($($f:ident),*) => {$(
                if other.$f.is_some() { out.$f = other.$f.clone(); }
            )*};
        }
        take!(
            name,
            variant,
            version,
            description,
            model,
            tools,
            tool_defs,
            input,
            output,
            raw
        );
        for (k, v) in &other.config {
            out.config.insert(k.clone(), v.clone());
        }
        if !other.ext.is_empty() {
            out.ext = other.ext.clone();
        }
        if !other.metadata.is_empty() {
            out.metadata = other.metadata.clone();
        }
        out
    }
}
