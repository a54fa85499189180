//! Dotprompt's cross-language conformance suite (tests/spec/, copied from google/dotprompt),
//! run the way its JavaScript runner runs it: for every case, `render` compared in full
//! (metadata and messages, `raw` when the case gives it), then `renderMetadata` compared in
//! full. One line per case; the test fails unless every case passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genkit_dotprompt::{DataArgument, Dotprompt, PromptMetadata};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Suite {
    name: String,
    template: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    schemas: BTreeMap<String, Value>,
    #[serde(default)]
    partials: BTreeMap<String, String>,
    #[serde(default, rename = "resolverPartials")]
    resolver_partials: BTreeMap<String, String>,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    options: Option<Value>,
    expect: Value,
}

fn spec_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("spec dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            spec_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

/// `{...a, ...b}` for objects.
fn shallow_merge(a: Option<&Value>, b: Option<&Value>) -> Value {
    let mut out = serde_json::Map::new();
    for v in [a, b].into_iter().flatten() {
        if let Value::Object(m) = v {
            out.extend(m.clone());
        }
    }
    Value::Object(out)
}

/// The expectation with Dotprompt's always-present defaults filled in, minus `drop` keys.
fn expected(expect: &Value, drop: &[&str]) -> Value {
    let mut e = expect.as_object().cloned().unwrap_or_default();
    for k in drop {
        e.remove(*k);
    }
    for k in ["ext", "config", "metadata"] {
        e.entry(k).or_insert_with(|| json!({}));
    }
    Value::Object(e)
}

fn run_case(suite: &Suite, case: &Case) -> Result<(), String> {
    let mut env = Dotprompt::new();
    for (name, schema) in &suite.schemas {
        env = env.schema(name.clone(), schema.clone());
    }
    let resolver = suite.resolver_partials.clone();
    env = env.partial_resolver(move |name: &str| resolver.get(name).cloned());
    for (name, source) in &suite.partials {
        env = env.partial(name, source).map_err(|e| e.to_string())?;
    }
    let data: DataArgument =
        serde_json::from_value(shallow_merge(suite.data.as_ref(), case.data.as_ref()))
            .map_err(|e| format!("data: {e}"))?;
    let options: Option<PromptMetadata> = case
        .options
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("options: {e}"))?;

    let prompt = env.compile(&suite.template).map_err(|e| e.to_string())?;
    let rendered = prompt
        .render_with(&data, options.as_ref())
        .map_err(|e| e.to_string())?;
    let mut got = serde_json::to_value(&rendered).map_err(|e| e.to_string())?;
    let raw = got.as_object_mut().and_then(|m| m.remove("raw"));
    let want = expected(&case.expect, &["raw", "input"]);
    if got != want {
        return Err(format!("render:\n    want {want}\n    got  {got}"));
    }
    if let Some(want_raw) = case.expect.get("raw") {
        if raw.as_ref() != Some(want_raw) {
            return Err(format!("raw:\n    want {want_raw}\n    got  {raw:?}"));
        }
    }

    let metadata = prompt
        .render_metadata(options.as_ref())
        .map_err(|e| e.to_string())?;
    let mut got = serde_json::to_value(&metadata).map_err(|e| e.to_string())?;
    if let Some(m) = got.as_object_mut() {
        m.remove("raw");
    }
    let want = expected(&case.expect, &["raw", "messages"]);
    if got != want {
        return Err(format!("renderMetadata:\n    want {want}\n    got  {got}"));
    }
    Ok(())
}

#[test]
fn dotprompt_spec_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let mut files = Vec::new();
    spec_files(&root, &mut files);
    let (mut passed, mut failed, mut suites) = (0, Vec::new(), 0);
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file).expect("read spec");
        let parsed: Vec<Suite> =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for suite in &parsed {
            suites += 1;
            for case in &suite.tests {
                let name = format!(
                    "{} > {} > {}",
                    rel.trim_end_matches(".yaml"),
                    suite.name,
                    case.desc
                        .as_deref()
                        .unwrap_or("should match expected output")
                );
                match run_case(suite, case) {
                    Ok(()) => {
                        passed += 1;
                        println!("ok   {name}");
                    }
                    Err(e) => {
                        println!("FAIL {name}\n    {e}");
                        failed.push(name);
                    }
                }
            }
        }
    }
    println!(
        "dotprompt spec: {} files, {suites} suites, {passed}/{} cases passed",
        files.len(),
        passed + failed.len()
    );
    assert_eq!(files.len(), 13, "the suite has 13 files");
    assert_eq!(passed + failed.len(), 117, "the suite has 117 cases");
    assert!(
        failed.is_empty(),
        "{} spec cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
