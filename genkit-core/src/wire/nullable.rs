//! Keeps an explicit JSON `null` apart from an absent key, so both survive a round trip.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// For `Option<Value>` fields: absent gives `None` (with `#[serde(default)]`), `null` gives
/// `Some(Value::Null)`.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
