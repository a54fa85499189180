//! Genkit's cross-language spec of `/util/generate` (`tests/data/genkit/specs/generate.yaml`),
//! run the way Genkit's SDKs run it:
//!
//! - a programmable model registered as `programmableModel`, answering call `i` with
//!   `modelResponses[i]` (and streaming `streamChunks[i]` when the case streams);
//! - a tool `testTool`, description `description`, input and output schema
//!   `{"$schema": "http://json-schema.org/draft-07/schema#"}` (anything), returning `'tool called'`;
//! - the case's `input` run through the `/util/generate` action (streaming cases through the
//!   streaming generate call, the same engine, comparing `expectChunks` too);
//! - the response deep-compared to `expectResponse`, ignoring only the keys Genkit's Python
//!   harness strips at any depth, `$schema` and `latencyMs` (JS compares after dropping undefined
//!   properties; Go compares typed values with `cmpopts.EquateEmpty`).

mod genkit_data;

use futures::StreamExt;
use genkit_core::testing::{ProgrammableModel, Scripted};
use genkit_core::{
    ActionContext, GenerateActionOptions, GenerateResponseChunk, Genkit, ModelResponse, Tool,
    ToolContext, ToolResult, UTIL_GENERATE,
};
use genkit_data::{assert_json_eq, strip_keys};
use serde_json::{json, Value};

/// The keys Genkit's spec harnesses ignore.
const IGNORED_KEYS: [&str; 2] = ["$schema", "latencyMs"];

const SPEC: &str = "specs/generate.yaml";

fn spec_cases() -> Vec<Value> {
    let spec = genkit_data::yaml(SPEC);
    spec["tests"].as_array().expect("`tests` list").clone()
}

fn case(name: &str) -> Value {
    spec_cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{SPEC} has no case named '{name}'"))
}

/// The instance a case runs against: the programmable model scripted from the case, `testTool`.
fn harness(case: &Value) -> (Genkit, ProgrammableModel) {
    let model = ProgrammableModel::new("programmableModel");
    let responses = case["modelResponses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let chunks = case["streamChunks"].as_array().cloned().unwrap_or_default();
    for (i, response) in responses.into_iter().enumerate() {
        let response: ModelResponse = serde_json::from_value(response)
            .unwrap_or_else(|e| panic!("modelResponses[{i}] is not a ModelResponse: {e}"));
        let chunks: Vec<GenerateResponseChunk> = chunks
            .get(i)
            .map(|c| serde_json::from_value(c.clone()).unwrap())
            .unwrap_or_default();
        model.push(Scripted { chunks, response });
    }
    let test_tool = Tool::dynamic(
        "testTool",
        "description",
        json!({"$schema": "http://json-schema.org/draft-07/schema#"}),
        Some(json!({"$schema": "http://json-schema.org/draft-07/schema#"})),
        |_input: Value, _ctx: ToolContext| async { ToolResult::Ok(json!("tool called")) },
    )
    .unwrap();
    let ai = Genkit::builder()
        .model(model.clone())
        .tool(test_tool)
        .build()
        .unwrap();
    (ai, model)
}

/// Runs `case` through `/util/generate` without streaming and compares to `expectResponse`.
async fn run_non_streaming(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let (ai, model) = harness(case);
    let got = ai
        .run_action(UTIL_GENERATE, case["input"].clone(), ActionContext::new())
        .await
        .unwrap_or_else(|e| panic!("spec case '{name}': /util/generate failed: {e}"));
    let mut got = got;
    let mut want = case["expectResponse"].clone();
    assert!(!want.is_null(), "spec case '{name}' has no expectResponse");
    strip_keys(&mut got, &IGNORED_KEYS);
    strip_keys(&mut want, &IGNORED_KEYS);
    assert_json_eq(&got, &want, &format!("spec case '{name}'"));
    assert_eq!(
        model.remaining(),
        0,
        "spec case '{name}': every scripted model response is used"
    );
}

#[test]
fn spec_file_holds_exactly_the_cases_this_harness_runs() {
    let names: Vec<String> = spec_cases()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["simple generate call", "stream responses", "calls tools"],
        "generate.yaml changed: add the new cases here"
    );
}

#[tokio::test]
async fn spec_case_simple_generate_call_matches_expect_response() {
    run_non_streaming(&case("simple generate call")).await;
}

#[tokio::test]
async fn spec_case_calls_tools_matches_expect_response() {
    run_non_streaming(&case("calls tools")).await;
}

#[tokio::test]
async fn spec_case_stream_responses_matches_expect_chunks_and_response() {
    let case = case("stream responses");
    assert_eq!(case["stream"], json!(true));
    let (ai, model) = harness(&case);
    let options: GenerateActionOptions = serde_json::from_value(case["input"].clone()).unwrap();
    let mut stream = ai.generate().options(options).stream();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(serde_json::to_value(chunk).unwrap());
    }
    let mut got = serde_json::to_value(stream.response().await.unwrap()).unwrap();
    assert_json_eq(
        &Value::Array(chunks),
        &case["expectChunks"],
        "spec case 'stream responses' chunks",
    );
    let mut want = case["expectResponse"].clone();
    strip_keys(&mut got, &IGNORED_KEYS);
    strip_keys(&mut want, &IGNORED_KEYS);
    assert_json_eq(&got, &want, "spec case 'stream responses' response");
    assert_eq!(model.remaining(), 0);
}

#[test]
fn comparison_ignores_only_schema_and_latency_keys() {
    // the comparison above must not hide anything else: a differing value fails it
    let mut a = json!({"latencyMs": 1, "x": {"$schema": "s", "y": 1}});
    let mut b = json!({"latencyMs": 2, "x": {"y": 1}});
    strip_keys(&mut a, &IGNORED_KEYS);
    strip_keys(&mut b, &IGNORED_KEYS);
    assert_eq!(a, b);
    let mut c = json!({"x": {"y": 2}});
    strip_keys(&mut c, &IGNORED_KEYS);
    assert_ne!(a, c);
    assert!(!genkit_data::json_diff(&a, &c).is_empty());
}
