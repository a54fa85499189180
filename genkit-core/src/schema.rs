//! JSON schemas from Rust types, and validators compiled once.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde_json::Value;

use crate::error::GenkitError;

/// The draft every generated schema declares, as Genkit's own (zod-derived) schemas do.
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The JSON schema of `T`, in draft-07 form, with doc comments as descriptions.
pub fn schema_for<T: JsonSchema + ?Sized>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft07();
    settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The JSON schema of a tool input of type `T`: [`schema_for`], except that the unit type `()`
/// (a tool without input) becomes an empty object schema, since model APIs expect tool
/// parameters to be an object.
pub fn input_schema_for<T: JsonSchema + ?Sized>() -> Value {
    if std::any::type_name::<T>() == "()" {
        return serde_json::json!({
            "$schema": DRAFT_07,
            "type": "object",
            "properties": {},
            "additionalProperties": false,
        });
    }
    schema_for::<T>()
}

/// An output type's schema and its compiled validator, built once per type and shared.
#[derive(Debug)]
pub(crate) struct TypeSchema {
    pub schema: Value,
    pub validator: Validator,
}

/// The schema of `T` and its validator, derived and compiled on the first call for `T` only.
pub(crate) fn type_schema<T: JsonSchema + 'static>() -> Arc<TypeSchema> {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<TypeId, Arc<TypeSchema>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    let id = TypeId::of::<T>();
    if let Some(found) = cache.read().ok().and_then(|c| c.get(&id).cloned()) {
        return found;
    }
    let schema = schema_for::<T>();
    let validator = Validator::compile("the output schema", &schema)
        .unwrap_or_else(|e| Validator::reject_all(e.to_string()));
    let built = Arc::new(TypeSchema { schema, validator });
    match cache.write() {
        Ok(mut c) => Arc::clone(c.entry(id).or_insert(built)),
        Err(_) => built,
    }
}

/// A compiled JSON schema. Cheap to clone; compiled once when a tool is built.
#[derive(Clone)]
pub struct Validator {
    compiled: Result<Arc<jsonschema::Validator>, Arc<str>>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Validator")
    }
}

impl Validator {
    /// Compiles `schema`; `what` names it in the error.
    pub fn compile(what: &str, schema: &Value) -> Result<Self, GenkitError> {
        jsonschema::validator_for(schema)
            .map(|v| Validator {
                compiled: Ok(Arc::new(v)),
            })
            .map_err(|e| GenkitError::InvalidSchema {
                what: what.to_owned(),
                message: e.to_string(),
            })
    }

    /// A validator that rejects every value with `reason` (for a schema that failed to compile).
    pub fn reject_all(reason: impl Into<Arc<str>>) -> Self {
        Validator {
            compiled: Err(reason.into()),
        }
    }

    /// Checks `value`; on failure returns one line per violation, with its JSON path.
    pub fn check(&self, value: &Value) -> Result<(), Vec<String>> {
        let compiled = match &self.compiled {
            Ok(c) => c,
            Err(reason) => return Err(vec![reason.to_string()]),
        };
        if compiled.is_valid(value) {
            return Ok(());
        }
        let violations: Vec<String> = compiled
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() {
                    e.to_string()
                } else {
                    format!("at {path}: {e}")
                }
            })
            .collect();
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Questions {
        /// the choices to display to the user
        choices: Vec<String>,
        /// when true, allow write-ins
        allow_other: bool,
    }

    #[test]
    fn derived_schema_is_draft_07_with_field_docs() {
        let s = schema_for::<Questions>();
        assert_eq!(s["$schema"], DRAFT_07);
        assert_eq!(
            s["properties"]["choices"]["description"],
            "the choices to display to the user"
        );
        assert_eq!(s["required"], json!(["choices", "allow_other"]));
    }

    #[test]
    fn unit_input_becomes_an_empty_object_unit_output_stays_null() {
        assert_eq!(
            schema_for::<()>()["type"],
            "null",
            "as an output, () is null"
        );
        let s = input_schema_for::<()>();
        assert_eq!(s["type"], "object");
        Validator::compile("unit", &s)
            .unwrap()
            .check(&json!({}))
            .unwrap();
    }

    #[test]
    fn violations_name_the_path() {
        let v = Validator::compile("q", &schema_for::<Questions>()).unwrap();
        let errs = v
            .check(&json!({"choices": [1], "allow_other": true}))
            .unwrap_err();
        assert!(errs[0].contains("/choices/0"), "{errs:?}");
    }
}
