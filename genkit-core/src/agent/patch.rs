//! The JSON Patch (RFC 6902) between two custom states, for `customPatch` chunks.

use serde_json::Value;

use crate::wire::{JsonPatch, JsonPatchOp, JsonPatchOperation};

/// Escapes one JSON Pointer segment (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn op(op: JsonPatchOp, path: String, value: Option<Value>) -> JsonPatchOperation {
    JsonPatchOperation {
        op,
        path,
        from: None,
        value,
    }
}

/// The operations that turn `from` into `to`: objects are compared member by member, anything
/// else (arrays included) that differs is replaced whole.
pub(crate) fn diff(from: &Value, to: &Value) -> JsonPatch {
    let mut out = Vec::new();
    diff_at(String::new(), from, to, &mut out);
    JsonPatch(out)
}

fn diff_at(path: String, from: &Value, to: &Value, out: &mut Vec<JsonPatchOperation>) {
    if from == to {
        return;
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}/{}", escape(k));
                match b.get(k) {
                    Some(vb) => diff_at(p, va, vb, out),
                    None => out.push(op(JsonPatchOp::Remove, p, None)),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    let p = format!("{path}/{}", escape(k));
                    out.push(op(JsonPatchOp::Add, p, Some(vb.clone())));
                }
            }
        }
        _ => out.push(op(JsonPatchOp::Replace, path, Some(to.clone()))),
    }
}

/// The whole-document replace a turn's first patch is.
pub(crate) fn replace_root(to: &Value) -> JsonPatch {
    JsonPatch(vec![op(
        JsonPatchOp::Replace,
        String::new(),
        Some(to.clone()),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(p: &JsonPatch) -> Vec<(String, String, Option<Value>)> {
        p.0.iter()
            .map(|o| (o.op.as_str().to_owned(), o.path.clone(), o.value.clone()))
            .collect()
    }

    #[test]
    fn changed_members_are_replaced_added_and_removed_by_pointer() {
        let p = diff(
            &json!({"counter": 1, "status": "working", "gone": true}),
            &json!({"counter": 2, "status": "working", "a/b~": [1]}),
        );
        let got = ops(&p);
        assert!(got.contains(&("replace".into(), "/counter".into(), Some(json!(2)))));
        assert!(got.contains(&("remove".into(), "/gone".into(), None)));
        assert!(got.contains(&("add".into(), "/a~1b~0".into(), Some(json!([1])))));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn nested_objects_recurse_and_equal_values_give_nothing() {
        let p = diff(
            &json!({"a": {"b": 1, "c": 2}}),
            &json!({"a": {"b": 1, "c": 3}}),
        );
        assert_eq!(
            ops(&p),
            vec![("replace".into(), "/a/c".into(), Some(json!(3)))]
        );
        assert!(diff(&json!([1, 2]), &json!([1, 2])).0.is_empty());
        assert_eq!(
            ops(&diff(&Value::Null, &json!({"x": 1}))),
            vec![("replace".into(), String::new(), Some(json!({"x": 1})))]
        );
    }
}
