//! What the engine sends a model: [`ModelRequest`], [`ToolDefinition`], [`ToolChoice`],
//! [`OutputConfig`], [`DocumentData`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::messages::Messages;
use super::nullable::{present, present_shared};
use super::part::{JsonMap, Part};
use std::sync::Arc;

/// A tool as the model sees it: name, description and JSON schemas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDefinition {
    /// The name the model calls the tool by.
    pub name: String,
    /// Registry key (`/tool/name`), when the tool is registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the tool does; the model decides from this when to call it.
    pub description: String,
    /// JSON schema of the tool's input. Shared: a schema is built once per tool and every
    /// request carrying the tool points at it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_shared"
    )]
    pub input_schema: Option<Arc<Value>>,
    /// JSON schema of the tool's output (shared, like `input_schema`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_shared"
    )]
    pub output_schema: Option<Arc<Value>>,
    /// Additional metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

/// Whether the model may, must, or must not call tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must call a tool.
    Required,
    /// The model must not call tools.
    None,
}

/// Output constraints passed to the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig {
    /// Output format (`json`, `text`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// JSON schema the output must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<JsonMap>,
    /// Ask the model to constrain its decoding to the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained: Option<bool>,
    /// MIME type of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// A document given to the model as context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentData {
    /// The document's parts (text and media).
    pub content: Vec<Part>,
    /// Document metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

/// One call to a model: the history, the tools, the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRequest {
    /// The conversation so far.
    pub messages: Messages,
    /// Model-specific configuration (temperature, ...).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub config: Option<Value>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDefinition>>,
    /// Whether tools may, must or must not be called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Output constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputConfig>,
    /// Context documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Vec<DocumentData>>,
}

impl ModelRequest {
    /// The tool definitions, empty when none were given.
    pub fn tools(&self) -> &[ToolDefinition] {
        self.tools.as_deref().unwrap_or_default()
    }
}
