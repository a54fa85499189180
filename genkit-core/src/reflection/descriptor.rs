//! Action descriptors as the Genkit tooling reads them (`GET /api/actions`, v2 `listActions`),
//! in Genkit JS's shapes.

use serde_json::{json, Map, Value};

use crate::action::{ActionDescriptor, ActionKind};
use crate::genkit::Genkit;

/// One descriptor: `{key, name, description?, metadata?, inputSchema?, outputSchema?}`.
///
/// Flows carry no metadata; tools carry `{"type": "tool"}`; models carry `{"model": info}`
/// and their label as description.
pub(crate) fn descriptor_json(d: &ActionDescriptor) -> Value {
    let mut obj = Map::new();
    obj.insert("key".to_owned(), json!(d.key));
    obj.insert("name".to_owned(), json!(d.name));
    let mut metadata = d.metadata.clone();
    let mut description = d.description.clone();
    match d.kind {
        ActionKind::Tool => {
            metadata
                .entry("type".to_owned())
                .or_insert_with(|| json!("tool"));
        }
        ActionKind::Model if description.is_none() => {
            description = metadata
                .get("model")
                .and_then(|m| m.get("label"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        _ => {}
    }
    if let Some(desc) = description {
        obj.insert("description".to_owned(), json!(desc));
    }
    if !metadata.is_empty() {
        obj.insert("metadata".to_owned(), Value::Object(metadata));
    }
    if let Some(s) = &d.input_schema {
        obj.insert("inputSchema".to_owned(), s.clone());
    }
    if let Some(s) = &d.output_schema {
        obj.insert("outputSchema".to_owned(), s.clone());
    }
    Value::Object(obj)
}

/// Every action of the instance, by key.
pub(crate) fn actions_json(ai: &Genkit) -> Value {
    let actions: Map<String, Value> = ai
        .list_actions()
        .iter()
        .map(|d| (d.key.clone(), descriptor_json(d)))
        .collect();
    Value::Object(actions)
}

/// The registered values of `kind` (`middleware`: each [`MiddlewareDesc`] by name, as Genkit JS
/// lists them); `None` for a kind the reflection API does not list.
///
/// [`MiddlewareDesc`]: crate::MiddlewareDesc
pub(crate) fn values_json(ai: &Genkit, kind: &str) -> Option<Value> {
    match kind {
        "defaultModel" => Some(Value::Object(Map::new())),
        "middleware" => Some(Value::Object(
            ai.registry()
                .middleware_descs()
                .into_iter()
                .filter_map(|d| Some((d.name.clone(), serde_json::to_value(d).ok()?)))
                .collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_get_their_type_and_flows_no_metadata() {
        let mut tool = ActionDescriptor::new(ActionKind::Tool, "getWeather");
        tool.description = Some("Returns the weather".into());
        let v = descriptor_json(&tool);
        assert_eq!(
            v,
            json!({"key": "/tool/getWeather", "name": "getWeather",
                   "description": "Returns the weather", "metadata": {"type": "tool"}})
        );
        let flow = ActionDescriptor::new(ActionKind::Flow, "greet");
        assert_eq!(
            descriptor_json(&flow),
            json!({"key": "/flow/greet", "name": "greet"})
        );
    }

    #[test]
    fn models_show_their_label() {
        let mut model = ActionDescriptor::new(ActionKind::Model, "canned/echo");
        model
            .metadata
            .insert("model".into(), json!({"label": "Canned Echo"}));
        let v = descriptor_json(&model);
        assert_eq!(v["description"], "Canned Echo");
        assert_eq!(v["metadata"]["model"]["label"], "Canned Echo");
    }
}
