//! Loading Genkit's reference data from `tests/data/genkit/` (see the README there).
#![allow(dead_code)] // each test crate uses a subset

use std::path::PathBuf;

use serde_json::Value;

/// Path of a file under `tests/data/genkit/`.
pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/genkit")
        .join(relative)
}

/// Reads a file under `tests/data/genkit/`.
pub fn read(relative: &str) -> String {
    let p = path(relative);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Parses a JSON file under `tests/data/genkit/`.
pub fn json(relative: &str) -> Value {
    serde_json::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"))
}

/// Parses a YAML file under `tests/data/genkit/` into JSON.
pub fn yaml(relative: &str) -> Value {
    serde_yaml::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

/// Removes every object key named in `keys`, at any depth.
pub fn strip_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !keys.contains(&k.as_str()));
            for v in map.values_mut() {
                strip_keys(v, keys);
            }
        }
        Value::Array(items) => {
            for v in items {
                strip_keys(v, keys);
            }
        }
        _ => {}
    }
}

/// Every path at which `got` and `want` differ, one line each (`$.a.b[0]: got X, want Y`).
pub fn json_diff(got: &Value, want: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("$", got, want, &mut out);
    out
}

fn diff_at(at: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => diff_at(&format!("{at}.{k}"), gv, wv, out),
                    None => out.push(format!("{at}.{k}: missing, want {wv}")),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    out.push(format!("{at}.{k}: unexpected {gv}"));
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                diff_at(&format!("{at}[{i}]"), gv, wv, out);
            }
        }
        _ if got == want => {}
        _ => out.push(format!("{at}: got {got}, want {want}")),
    }
}

/// Asserts `got == want`, printing each differing path and both documents on failure.
#[track_caller]
pub fn assert_json_eq(got: &Value, want: &Value, what: &str) {
    let diff = json_diff(got, want);
    assert!(
        diff.is_empty(),
        "{what}: JSON differs at\n  {}\n--- got:\n{}\n--- want:\n{}",
        diff.join("\n  "),
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap(),
    );
}

/// One `POST /api/runAction` exchange of `reflection/js-runAction-examples.json`.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Position in the capture file.
    pub index: usize,
    /// The action key (`/util/generate`, `/model/canned/echo`, ...).
    pub key: String,
    /// `?stream=true` was asked.
    pub streamed: bool,
    /// The action input.
    pub input: Value,
    /// Each NDJSON line of the response body but the last (streamed chunks).
    pub chunks: Vec<Value>,
    /// The last line's `result`, if the action succeeded.
    pub result: Option<Value>,
}

/// Every exchange of the JS capture whose request body is a JSON object with a `key`.
pub fn js_exchanges() -> Vec<Exchange> {
    let all = json("reflection/js-runAction-examples.json");
    let mut out = Vec::new();
    for (index, e) in all.as_array().expect("a JSON array").iter().enumerate() {
        let request = &e["request"];
        // bodies are stored either as JSON or as the raw text of the body
        let body = match &request["body"] {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v) => v,
                Err(_) => continue,
            },
            v => v.clone(),
        };
        let Some(key) = body.get("key").and_then(Value::as_str) else {
            continue;
        };
        let text: String = e["response"]["body_chunks"]
            .as_array()
            .expect("body_chunks")
            .iter()
            .map(|c| c.as_str().expect("a string chunk"))
            .collect();
        let mut lines: Vec<Value> = text
            .split('\n')
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let last = lines.pop();
        out.push(Exchange {
            index,
            key: key.to_owned(),
            streamed: request["url"]
                .as_str()
                .is_some_and(|u| u.contains("stream=true")),
            input: body.get("input").cloned().unwrap_or(Value::Null),
            chunks: lines,
            result: last.and_then(|l| l.get("result").cloned()),
        });
    }
    out
}

/// The `/util/generate` exchanges of the JS capture.
pub fn js_generate_exchanges() -> Vec<Exchange> {
    js_exchanges()
        .into_iter()
        .filter(|e| e.key == "/util/generate")
        .collect()
}
