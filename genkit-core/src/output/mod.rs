//! Structured output: asking a model for data of a given shape and reading it back.
//!
//! A schema travels natively when the model declares constrained decoding
//! (`supports.constrained`), and as instructions added to the last user message otherwise. The
//! final answer is parsed by its format and validated against the schema.

mod partial_json;

use serde_json::{json, Map, Value};

pub use partial_json::parse_partial;

use crate::error::GenkitError;
use crate::schema::Validator;
use crate::wire::{GenerateActionOutputConfig, Messages, ModelInfo, OutputConfig, Part, Role};

/// How the model's answer is shaped and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutputFormat {
    /// One JSON value (the default when a schema is given).
    Json,
    /// Plain text.
    Text,
    /// A JSON array; streamed items become available one by one.
    Array,
    /// One of a set of strings.
    Enum,
    /// One JSON object per line.
    Jsonl,
}

impl OutputFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Text => "text",
            OutputFormat::Array => "array",
            OutputFormat::Enum => "enum",
            OutputFormat::Jsonl => "jsonl",
        }
    }

    /// Reads a wire name.
    pub fn parse(name: &str) -> Result<Self, GenkitError> {
        Ok(match name {
            "json" => OutputFormat::Json,
            "text" => OutputFormat::Text,
            "array" => OutputFormat::Array,
            "enum" => OutputFormat::Enum,
            "jsonl" => OutputFormat::Jsonl,
            other => {
                return Err(GenkitError::UnknownOutputFormat {
                    name: other.to_owned(),
                })
            }
        })
    }

    /// The format a call asked for: the one named, else JSON when a schema is given, else none.
    /// The one rule the builder, the stream and the engine share.
    pub(crate) fn requested(
        config: &GenerateActionOutputConfig,
    ) -> Result<Option<Self>, GenkitError> {
        let has_schema = config.json_schema.as_ref().is_some_and(|s| !s.is_null());
        match (&config.format, has_schema) {
            (Some(f), _) => Self::parse(f).map(Some),
            (None, true) => Ok(Some(OutputFormat::Json)),
            (None, false) => Ok(None),
        }
    }

    /// Parses a final answer's text into JSON.
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        match self {
            OutputFormat::Text => Ok(Value::String(text.to_owned())),
            OutputFormat::Enum => {
                let t = text
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'' || c == '`')
                    .trim();
                Ok(Value::String(t.to_owned()))
            }
            OutputFormat::Json | OutputFormat::Array => extract_json(text),
            OutputFormat::Jsonl => text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with('{'))
                .map(|l| {
                    serde_json::from_str(l).map_err(|e| format!("line {l:?} is not JSON: {e}"))
                })
                .collect::<Result<Vec<Value>, String>>()
                .map(Value::Array),
        }
    }

    /// Parses text that is still arriving, as far as it goes.
    pub fn parse_partial_text(self, text: &str) -> Option<Value> {
        match self {
            OutputFormat::Text | OutputFormat::Enum => self.parse_text(text).ok(),
            OutputFormat::Json | OutputFormat::Array => {
                let start = text.find(['{', '['])?;
                parse_partial(&text[start..])
            }
            OutputFormat::Jsonl => {
                // only complete lines count
                let done = text.rfind('\n').map_or("", |i| &text[..i]);
                self.parse_text(done).ok()
            }
        }
    }
}

/// Finds the JSON value in a model's answer: the first `{` or `[` onward, ignoring code fences
/// and text around it.
fn extract_json(text: &str) -> Result<Value, String> {
    let start = text
        .find(['{', '['])
        .ok_or_else(|| "the answer holds no JSON object or array".to_owned())?;
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match values.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(format!("the answer is not valid JSON: {e}")),
        None => Err("the answer holds no JSON value".to_owned()),
    }
}

/// What structured output needs from one generate call, resolved from the options.
#[derive(Debug, Clone)]
pub(crate) struct OutputPlan {
    pub format: OutputFormat,
    schema: Option<Value>,
    /// Compiled once per type for `.output::<T>()`; otherwise compiled when checking.
    validator: Option<Validator>,
    native: bool,
    instructions: Option<String>,
}

/// Metadata marking the part that carries output instructions, so it is added only once.
const PURPOSE: &str = "purpose";

impl OutputPlan {
    /// Resolves `config` for a model with `info`; `None` when no output was asked for.
    pub(crate) fn resolve(
        config: Option<&GenerateActionOutputConfig>,
        validator: Option<Validator>,
        info: &ModelInfo,
        has_tools: bool,
    ) -> Result<Option<Self>, GenkitError> {
        let Some(config) = config else {
            return Ok(None);
        };
        let Some(format) = OutputFormat::requested(config)? else {
            return Ok(None);
        };
        let schema = config.json_schema.clone().filter(|s| !s.is_null());
        let validator = validator.filter(|_| schema.is_some());
        let supports = info
            .supports
            .as_ref()
            .and_then(|s| s.constrained.as_deref());
        let model_constrains = match supports {
            Some("all") => true,
            Some("no-tools") => !has_tools,
            _ => false,
        };
        let structured = !matches!(format, OutputFormat::Text);
        let native =
            structured && schema.is_some() && config.constrained != Some(false) && model_constrains;
        let instructions = match &config.instructions {
            Some(Value::String(custom)) => Some(custom.clone()),
            Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => default_instructions(format, schema.as_ref()),
            _ if native => None,
            _ => default_instructions(format, schema.as_ref()),
        };
        Ok(Some(Self {
            format,
            schema,
            validator,
            native,
            instructions,
        }))
    }

    /// The `output` of the model request.
    pub(crate) fn request_config(&self) -> OutputConfig {
        OutputConfig {
            format: Some(self.format.as_str().to_owned()),
            schema: self.schema.as_ref().and_then(|s| s.as_object().cloned()),
            constrained: Some(self.native),
            content_type: Some(
                if self.format == OutputFormat::Text {
                    "text/plain"
                } else {
                    "application/json"
                }
                .to_owned(),
            ),
        }
    }

    /// Adds the instructions to the last user message, once.
    pub(crate) fn inject_instructions(&self, messages: &mut Messages) {
        let Some(text) = &self.instructions else {
            return;
        };
        let already = messages
            .iter()
            .flat_map(|m| &m.content)
            .any(|p| p.metadata_value(PURPOSE) == Some(&json!("output")));
        if already {
            return;
        }
        // changed in place only once found: a shared history is copied for the change
        if let Some(i) = messages.iter().rposition(|m| m.role == Role::User) {
            let Some(m) = messages.get_mut(i) else {
                return;
            };
            let mut meta = Map::new();
            meta.insert(PURPOSE.to_owned(), json!("output"));
            m.content.push(Part::text(text.clone()).with_metadata(meta));
        }
    }

    /// Parses and validates a final answer.
    pub(crate) fn check(&self, text: &str) -> Result<Value, (String, Vec<String>)> {
        let value = self.format.parse_text(text).map_err(|e| (e, Vec::new()))?;
        let compiled;
        let validator = match (&self.validator, &self.schema) {
            (Some(v), _) => v,
            (None, Some(schema)) => {
                compiled = Validator::compile("the output schema", schema)
                    .map_err(|e| (e.to_string(), Vec::new()))?;
                &compiled
            }
            (None, None) => return Ok(value),
        };
        validator
            .check(&value)
            .map_err(|v| ("the answer does not match the output schema".to_owned(), v))?;
        Ok(value)
    }
}

fn default_instructions(format: OutputFormat, schema: Option<&Value>) -> Option<String> {
    let schema_text = schema.map(|s| serde_json::to_string_pretty(s).unwrap_or_default());
    match (format, schema_text) {
        (OutputFormat::Text, _) => None,
        (OutputFormat::Json, Some(s)) => Some(format!(
            "Output should be in JSON format and conform to the following schema:\n\n```\n{s}\n```\n"
        )),
        (OutputFormat::Json, None) => Some("Output should be in JSON format.".to_owned()),
        (OutputFormat::Array, Some(s)) => Some(format!(
            "Output should be a JSON array conforming to the following schema:\n\n```\n{s}\n```\n"
        )),
        (OutputFormat::Array, None) => Some("Output should be a JSON array.".to_owned()),
        (OutputFormat::Jsonl, s) => Some(format!(
            "Output should be JSONL format, a sequence of JSON objects (one per line) separated by a \
             newline character.{}",
            s.map(|s| format!(" Each line should be a JSON object conforming to the following schema:\n\n```\n{s}\n```\n"))
                .unwrap_or_default()
        )),
        (OutputFormat::Enum, _) => {
            let values: Vec<String> = schema
                .and_then(|s| s.get("enum"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            Some(format!(
                "Output should be ONE of the following enum values. Do not output any additional \
                 information or explanation.\n\n{}",
                values.join("\n")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_fences_and_prose() {
        let text = "Sure!\n```json\n{\"a\": 1}\n```\nanything else?";
        assert_eq!(
            OutputFormat::Json.parse_text(text).unwrap(),
            json!({"a": 1})
        );
    }

    #[test]
    fn truncated_json_is_an_error_not_a_guess() {
        assert!(OutputFormat::Json.parse_text("{\"a\": [1, 2").is_err());
        assert_eq!(
            OutputFormat::Json.parse_partial_text("{\"a\": [1, 2"),
            Some(json!({"a": [1, 2]}))
        );
    }

    #[test]
    fn jsonl_reads_complete_lines() {
        let text = "{\"n\": 1}\n{\"n\": 2}\n{\"n\"";
        assert_eq!(
            OutputFormat::Jsonl.parse_partial_text(text),
            Some(json!([{"n": 1}, {"n": 2}]))
        );
        assert!(OutputFormat::Jsonl.parse_text(text).is_err());
    }

    #[test]
    fn enum_answers_are_trimmed() {
        assert_eq!(
            OutputFormat::Enum.parse_text(" \"RED\"\n").unwrap(),
            json!("RED")
        );
    }
}
