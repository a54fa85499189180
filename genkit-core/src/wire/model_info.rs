//! [`ModelInfo`]: what a model is and what it supports.

use serde::{Deserialize, Serialize};

use super::part::JsonMap;

/// Capabilities a model declares; the engine adapts requests to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSupports {
    /// Accepts a history of several turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiturn: Option<bool>,
    /// Accepts media parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<bool>,
    /// Can call tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<bool>,
    /// Accepts system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_role: Option<bool>,
    /// Output formats it produces natively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<String>>,
    /// Content types it accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Vec<String>>,
    /// Accepts context documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<bool>,
    /// Constrained decoding: `none`, `all`, or `no-tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained: Option<String>,
    /// Honours `toolChoice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<bool>,
    /// Works as a long-running operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_running: Option<bool>,
}

/// Descriptive information about a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Known versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// JSON schema of the model's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<JsonMap>,
    /// Capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports: Option<ModelSupports>,
    /// `featured`, `stable`, `unstable`, `legacy` or `deprecated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}
