//! Picoschema, the compact schema notation of Dotprompt front matter, to JSON Schema.
//!
//! `field: type, description`, `field?: type` (optional, and nullable), `field(array, desc):`,
//! `field(object, desc):`, `field(enum, desc): [A, B]`, `(*): type` for additional properties,
//! scalar types `string`, `number`, `integer`, `boolean`, `null`, `any`, and any other name
//! looked up as a named schema. A value that already is JSON Schema (a `type` of a JSON type,
//! or `properties`) passes through.

use serde_json::{json, Value};

use crate::metadata::JsonMap;

const SCALARS: &[&str] = &["any", "boolean", "integer", "null", "number", "string"];
const WILDCARD: &str = "(*)";

/// Looks up named schemas (`schema: Foo`).
pub trait SchemaResolver {
    /// The JSON Schema called `name`, if known.
    fn resolve(&self, name: &str) -> Option<Value>;
}

impl<F: Fn(&str) -> Option<Value>> SchemaResolver for F {
    fn resolve(&self, name: &str) -> Option<Value> {
        self(name)
    }
}

/// Converts a Picoschema (or JSON Schema) value to JSON Schema.
///
/// ```
/// use genkit_dotprompt::picoschema::to_json_schema;
/// use serde_json::json;
/// let schema = to_json_schema(&json!({"title": "string", "year?": "integer, when it came out"}), &|_: &str| None)?;
/// assert_eq!(schema["required"], json!(["title"]));
/// assert_eq!(schema["properties"]["year"]["type"], json!(["integer", "null"]));
/// # Ok::<(), String>(())
/// ```
pub fn to_json_schema(schema: &Value, resolver: &dyn SchemaResolver) -> Result<Value, String> {
    match schema {
        Value::Null => Ok(Value::Null),
        Value::String(s) => {
            let (ty, description) = split_description(s);
            if SCALARS.contains(&ty) {
                let mut out = json!({ "type": ty });
                if let Some(d) = description {
                    out["description"] = Value::from(d);
                }
                return Ok(out);
            }
            named(ty, description, resolver)
        }
        Value::Object(map) => {
            let is_json_type = map
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| SCALARS.contains(&t) || t == "object" || t == "array");
            if is_json_type {
                return Ok(schema.clone());
            }
            if map.get("properties").is_some_and(Value::is_object) {
                let mut out = map.clone();
                out.insert("type".into(), Value::from("object"));
                return Ok(Value::Object(out));
            }
            pico(schema, resolver)
        }
        other => Err(format!("a schema is a string or a mapping, got {other}")),
    }
}

fn named(
    ty: &str,
    description: Option<&str>,
    resolver: &dyn SchemaResolver,
) -> Result<Value, String> {
    let mut resolved = resolver.resolve(ty).ok_or_else(|| {
        format!("unknown type '{ty}' (not a scalar type, and no schema has this name)")
    })?;
    if let (Some(d), Value::Object(m)) = (description, &mut resolved) {
        m.insert("description".into(), Value::from(d));
    }
    Ok(resolved)
}

fn pico(value: &Value, resolver: &dyn SchemaResolver) -> Result<Value, String> {
    let obj = match value {
        Value::String(s) => {
            let (ty, description) = split_description(s);
            if !SCALARS.contains(&ty) {
                return named(ty, description, resolver);
            }
            let mut out = JsonMap::new();
            if ty != "any" {
                out.insert("type".into(), Value::from(ty));
            }
            if let Some(d) = description {
                out.insert("description".into(), Value::from(d));
            }
            return Ok(Value::Object(out));
        }
        Value::Object(obj) => obj,
        other => {
            return Err(format!(
                "Picoschema consists of mappings and strings, got {other}"
            ))
        }
    };
    let mut properties = JsonMap::new();
    let mut required = Vec::new();
    let mut additional = Value::Bool(false);
    for (key, field) in obj {
        if key == WILDCARD {
            additional = pico(field, resolver)?;
            continue;
        }
        let (name, type_info) = match key.split_once('(') {
            Some((n, rest)) => (n, Some(rest)),
            None => (key.as_str(), None),
        };
        let optional = name.ends_with('?');
        let prop_name = name.trim_end_matches('?').to_owned();
        if !optional {
            required.push(Value::from(prop_name.clone()));
        }
        let Some(type_info) = type_info else {
            let mut prop = pico(field, resolver)?;
            if optional {
                if let Some(Value::String(t)) = prop.get("type").cloned() {
                    prop["type"] = json!([t, "null"]);
                }
            }
            properties.insert(prop_name, prop);
            continue;
        };
        let inner = type_info.strip_suffix(')').unwrap_or(type_info);
        let (ty, description) = split_description(inner);
        let mut prop = match ty {
            "array" => json!({
                "type": if optional { json!(["array", "null"]) } else { json!("array") },
                "items": pico(field, resolver)?,
            }),
            "object" => {
                let mut p = pico(field, resolver)?;
                if optional {
                    let t = p.get("type").cloned().unwrap_or(Value::Null);
                    p["type"] = json!([t, "null"]);
                }
                p
            }
            "enum" => {
                let mut values = field
                    .as_array()
                    .cloned()
                    .ok_or_else(|| format!("enum '{prop_name}' needs a list of values"))?;
                if optional && !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
                json!({ "enum": values })
            }
            other => {
                return Err(format!(
                    "parenthetical types must be 'object', 'array' or 'enum', got '{other}'"
                ))
            }
        };
        if let Some(d) = description {
            prop["description"] = Value::from(d);
        }
        properties.insert(prop_name, prop);
    }
    let mut out = JsonMap::new();
    out.insert("type".into(), Value::from("object"));
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("additionalProperties".into(), additional);
    Ok(Value::Object(out))
}

/// `"type, the description"` into the type and the description (after the first comma,
/// leading spaces dropped).
fn split_description(input: &str) -> (&str, Option<&str>) {
    match input.split_once(',') {
        Some((ty, rest)) => (ty, Some(rest.trim_start_matches(' '))),
        None => (input, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Value> {
        None
    }

    #[test]
    fn unknown_type_is_an_error() {
        let err = to_json_schema(&json!({"a": "strnig"}), &none).unwrap_err();
        assert!(err.contains("strnig"), "{err}");
    }

    #[test]
    fn bad_parenthetical() {
        let err = to_json_schema(&json!({"a(map)": "string"}), &none).unwrap_err();
        assert!(err.contains("map"), "{err}");
    }
}
