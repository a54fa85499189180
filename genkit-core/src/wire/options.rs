//! [`GenerateActionOptions`]: the input of Genkit's `/util/generate` action.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::messages::Messages;
use super::middleware::MiddlewareRef;
use super::nullable::present;
use super::part::{JsonMap, Part};
use super::request::{DocumentData, ToolChoice};

/// Output options of a generate call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateActionOutputConfig {
    /// Output format (`json`, `text`, `array`, `enum`, `jsonl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// MIME type of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `true`/`false` to turn format instructions on or off, or custom instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Value>,
    /// JSON schema of the output.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub json_schema: Option<Value>,
    /// Ask for constrained decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained: Option<bool>,
}

/// Answers to the interrupts of the last model message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeOptions {
    /// Tool-response parts answering interrupted requests (see [`tool_response`](crate::tool_response)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Vec<Part>>,
    /// Tool-request parts re-running interrupted requests (see [`tool_restart`](crate::tool_restart)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Vec<Part>>,
    /// Stored as `resumed` on the tool message the resume appends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

/// Everything one generate call needs, in Genkit's wire shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateActionOptions {
    /// Model name (`openai/gpt-4o-mini`); the instance's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Context documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Vec<DocumentData>>,
    /// The conversation.
    pub messages: Messages,
    /// Names of the tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Resource names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    /// Whether tools may, must or must not be called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Model configuration.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub config: Option<Value>,
    /// Output options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<GenerateActionOutputConfig>,
    /// Answers to pending interrupts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeOptions>,
    /// Return the model's tool requests instead of running them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tool_requests: Option<bool>,
    /// Maximum number of tool rounds (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Name of the trace step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
    /// Registered middleware to wrap the call in, by name with configuration; the first is
    /// the outermost.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<Vec<MiddlewareRef>>,
}
