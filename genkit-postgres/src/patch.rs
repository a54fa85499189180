//! JSON Patch (RFC 6902) between two session states, and its application.
//!
//! A turn appends a few messages to a long history, so the diff walks arrays element by element
//! and appends or truncates the tail: the patch of a turn holds the new messages, not the
//! history. Only `add`, `remove` and `replace` are written; applying accepts those and refuses
//! anything else, since a patch that does not apply means the stored data is damaged.

use serde_json::{Map, Value};

/// The operations that turn `from` into `to`, as a JSON array of RFC 6902 operations.
pub(crate) fn diff(from: &Value, to: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    diff_at(&mut String::new(), from, to, &mut ops);
    ops
}

fn op(kind: &str, path: &str, value: Option<&Value>) -> Value {
    let mut m = Map::new();
    m.insert("op".into(), Value::from(kind));
    m.insert("path".into(), Value::from(path));
    if let Some(v) = value {
        m.insert("value".into(), v.clone());
    }
    Value::Object(m)
}

/// Appends `segment` (escaped per RFC 6901) to `path`; answers the length to truncate back to.
fn push_segment(path: &mut String, segment: &str) -> usize {
    let len = path.len();
    path.push('/');
    for c in segment.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
    len
}

fn diff_at(path: &mut String, from: &Value, to: &Value, ops: &mut Vec<Value>) {
    if from == to {
        return;
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let back = push_segment(path, k);
                match b.get(k) {
                    Some(vb) => diff_at(path, va, vb, ops),
                    None => ops.push(op("remove", path, None)),
                }
                path.truncate(back);
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    let back = push_segment(path, k);
                    ops.push(op("add", path, Some(vb)));
                    path.truncate(back);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let common = a.len().min(b.len());
            for i in 0..common {
                let back = push_segment(path, &i.to_string());
                diff_at(path, &a[i], &b[i], ops);
                path.truncate(back);
            }
            for (i, vb) in b.iter().enumerate().skip(common) {
                let back = push_segment(path, &i.to_string());
                ops.push(op("add", path, Some(vb)));
                path.truncate(back);
            }
            // from the end, so each index is still valid when its turn comes
            for i in (common..a.len()).rev() {
                let back = push_segment(path, &i.to_string());
                ops.push(op("remove", path, None));
                path.truncate(back);
            }
        }
        _ => ops.push(op("replace", path, Some(to))),
    }
}

/// Why a patch did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatchError(pub String);

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Applies `patch` (a JSON array of operations) to `doc` in place.
pub(crate) fn apply(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| PatchError("a patch is not a JSON array".into()))?;
    for (n, operation) in ops.iter().enumerate() {
        apply_one(doc, operation).map_err(|e| PatchError(format!("operation {n}: {}", e.0)))?;
    }
    Ok(())
}

fn apply_one(doc: &mut Value, operation: &Value) -> Result<(), PatchError> {
    let kind = operation
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| PatchError("no \"op\"".into()))?;
    let path = operation
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| PatchError("no \"path\"".into()))?;
    let value = || {
        operation
            .get("value")
            .cloned()
            .ok_or_else(|| PatchError(format!("{kind} {path:?} has no \"value\"")))
    };
    let segments = parse_pointer(path)?;
    let Some((last, parents)) = segments.split_last() else {
        // the root itself
        return match kind {
            "replace" | "add" => {
                *doc = value()?;
                Ok(())
            }
            _ => Err(PatchError(format!("cannot {kind} the root"))),
        };
    };
    let mut target = &mut *doc;
    for segment in parents {
        target = match target {
            Value::Object(m) => m.get_mut(segment.as_str()),
            Value::Array(a) => index(segment, a.len()).ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError(format!("{path:?} does not exist")))?;
    }
    match (kind, target) {
        ("add", Value::Object(m)) => {
            m.insert(last.clone(), value()?);
        }
        ("replace", Value::Object(m)) => match m.get_mut(last.as_str()) {
            Some(slot) => *slot = value()?,
            None => return Err(PatchError(format!("{path:?} does not exist"))),
        },
        ("remove", Value::Object(m)) => {
            if m.remove(last.as_str()).is_none() {
                return Err(PatchError(format!("{path:?} does not exist")));
            }
        }
        ("add", Value::Array(a)) => {
            let i = if last == "-" {
                a.len()
            } else {
                index(last, a.len() + 1)?
            };
            a.insert(i, value()?);
        }
        ("replace", Value::Array(a)) => {
            let i = index(last, a.len())?;
            a[i] = value()?;
        }
        ("remove", Value::Array(a)) => {
            let i = index(last, a.len())?;
            a.remove(i);
        }
        ("add" | "replace" | "remove", _) => {
            return Err(PatchError(format!(
                "the parent of {path:?} is not a container"
            )))
        }
        (other, _) => return Err(PatchError(format!("unsupported operation {other:?}"))),
    }
    Ok(())
}

/// An array index below `bound`.
fn index(segment: &str, bound: usize) -> Result<usize, PatchError> {
    let valid = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    match segment.parse::<usize>() {
        Ok(i) if valid && i < bound => Ok(i),
        _ => Err(PatchError(format!("bad array index {segment:?}"))),
    }
}

fn parse_pointer(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PatchError(format!("{path:?} is not a JSON pointer")));
    };
    rest.split('/')
        .map(|s| {
            if s.contains('~') {
                let mut out = String::with_capacity(s.len());
                let mut chars = s.chars();
                while let Some(c) = chars.next() {
                    if c == '~' {
                        match chars.next() {
                            Some('0') => out.push('~'),
                            Some('1') => out.push('/'),
                            _ => return Err(PatchError(format!("bad escape in {path:?}"))),
                        }
                    } else {
                        out.push(c);
                    }
                }
                Ok(out)
            } else {
                Ok(s.to_owned())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(from: Value, to: Value) -> Vec<Value> {
        let ops = diff(&from, &to);
        let mut doc = from.clone();
        apply(&mut doc, &Value::Array(ops.clone())).unwrap();
        assert_eq!(doc, to, "patch {ops:?}");
        ops
    }

    #[test]
    fn a_turn_appended_to_a_long_history_is_a_small_patch() {
        let history: Vec<Value> = (0..200)
            .map(|i| json!({"role": "user", "text": format!("m{i}")}))
            .collect();
        let mut longer = history.clone();
        longer.push(json!({"role": "model", "text": "new"}));
        let ops = round_trip(json!({"messages": history}), json!({"messages": longer}));
        assert_eq!(
            ops,
            vec![
                json!({"op": "add", "path": "/messages/200", "value": {"role": "model", "text": "new"}})
            ]
        );
    }

    #[test]
    fn edits_removals_type_changes_and_escaped_keys_round_trip() {
        round_trip(
            json!({"a/b": 1, "c~d": [1, 2, 3], "gone": true, "n": null, "deep": {"x": [{"y": 1}]}}),
            json!({"a/b": 2, "c~d": [1], "n": {"now": "object"}, "deep": {"x": [{"y": 2}, 5]}, "new\u{0}key": "nul"}),
        );
        round_trip(json!([1, 2]), json!({"root": "changed type"}));
        round_trip(
            json!({"k": [[1, 2], [3]]}),
            json!({"k": [[1], [3, 4, 5], []]}),
        );
        round_trip(json!("x"), json!("x"));
    }

    #[test]
    fn patches_that_do_not_fit_the_document_are_refused() {
        for (doc, patch) in [
            (json!({}), json!({"op": "add"})),
            (
                json!({}),
                json!([{"op": "move", "path": "/a", "from": "/b"}]),
            ),
            (
                json!({}),
                json!([{"op": "replace", "path": "/missing", "value": 1}]),
            ),
            (json!({"a": [1]}), json!([{"op": "remove", "path": "/a/5"}])),
            (
                json!({"a": [1]}),
                json!([{"op": "add", "path": "/a/01", "value": 1}]),
            ),
            (
                json!({"a": 1}),
                json!([{"op": "add", "path": "/a/b", "value": 1}]),
            ),
            (json!({}), json!([{"op": "add", "path": "a", "value": 1}])),
            (
                json!({}),
                json!([{"op": "add", "path": "/a~2", "value": 1}]),
            ),
            (json!({}), json!([{"op": "add", "path": "/a"}])),
        ] {
            let mut d = doc.clone();
            assert!(apply(&mut d, &patch).is_err(), "{patch} applied to {doc}");
        }
    }

    #[test]
    fn array_appends_by_dash_and_inserts_by_index() {
        let mut d = json!({"a": [1, 3]});
        apply(
            &mut d,
            &json!([{"op": "add", "path": "/a/-", "value": 4}, {"op": "add", "path": "/a/1", "value": 2}]),
        )
        .unwrap();
        assert_eq!(d, json!({"a": [1, 2, 3, 4]}));
    }
}
