//! [`ActionContext`]: the caller's context (auth and the like) that flows to every action.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::GenkitError;

/// The caller's context: a JSON object (Genkit puts `auth` here) handed to every model and
/// tool of a call. Cheap to clone.
///
/// ```
/// use genkit_core::ActionContext;
/// let ctx = ActionContext::from_json(serde_json::json!({"auth": {"uid": "u1"}}));
/// assert_eq!(ctx.get("auth").unwrap()["uid"], "u1");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionContext {
    values: Arc<Map<String, Value>>,
}

impl ActionContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context from a JSON object; any other JSON value gives an empty context.
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(map) => Self {
                values: Arc::new(map),
            },
            _ => Self::default(),
        }
    }

    /// Returns this context with `key` set to `value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: Value) -> Self {
        Arc::make_mut(&mut self.values).insert(key.into(), value);
        self
    }

    /// The raw value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The value under `key`, deserialized; `Ok(None)` when absent.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, GenkitError> {
        self.values
            .get(key)
            .map(|v| {
                T::deserialize(v).map_err(|e| GenkitError::json(format!("context '{key}'"), e))
            })
            .transpose()
    }

    /// The whole context as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// True when no values are set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
