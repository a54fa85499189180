//! Keeps an explicit JSON `null` apart from an absent key, so both survive a round trip.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// [`present`] for shared values.
pub(crate) fn present_shared<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::sync::Arc<Value>>, D::Error> {
    Value::deserialize(d).map(|v| Some(std::sync::Arc::new(v)))
}

/// For `Option<Value>` fields: absent gives `None` (with `#[serde(default)]`), `null` gives
/// `Some(Value::Null)`.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
