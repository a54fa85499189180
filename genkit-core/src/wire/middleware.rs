//! [`MiddlewareRef`] and [`MiddlewareDesc`]: middleware named on the wire (the `use` list of
//! generate options) and described to the Genkit tooling.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::part::JsonMap;

/// A registered middleware named with its configuration: one entry of the `use` list of
/// [`GenerateActionOptions`](super::GenerateActionOptions).
///
/// ```
/// use genkit_core::MiddlewareRef;
/// let r = MiddlewareRef::new("retry").with_config(serde_json::json!({"maxRetries": 2}));
/// assert_eq!(serde_json::to_value(&r)?, serde_json::json!({"name": "retry", "config": {"maxRetries": 2}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MiddlewareRef {
    /// The registered name (`retry`, `fallback`, `toolApproval`, or one of the application's).
    pub name: String,
    /// The configuration, as the middleware's config schema describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

impl MiddlewareRef {
    /// A reference to the middleware registered as `name`, without configuration.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            config: None,
        }
    }

    /// Returns this reference with `config`.
    #[must_use]
    pub fn with_config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }
}

/// What the Genkit tooling shows of a registered middleware (`/api/values?type=middleware`).
///
/// ```
/// use genkit_core::MiddlewareDesc;
/// let d: MiddlewareDesc = serde_json::from_value(serde_json::json!({"name": "retry"}))?;
/// assert_eq!(d.name, "retry");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MiddlewareDesc {
    /// The registered name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON schema of its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Value>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}
