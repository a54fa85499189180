//! Integration tests against a real OpenAI-compatible server with a real model
//! (`scripts/local-llm`: llama.cpp with Qwen2.5-Coder-0.5B).
//!
//! They read `GENKIT_LLM_URL` (and `GENKIT_LLM_MODEL`, default `qwen2.5-coder-0.5b`):
//!
//! ```sh
//! scripts/local-llm start && eval "$(scripts/local-llm env)"
//! cargo test -p genkit-openai --test live
//! ```
//!
//! Without `GENKIT_LLM_URL` each test prints `SKIPPED: ...` and passes, unless
//! `GENKIT_REQUIRE_LLM=1`, which turns a missing server into a failure (CI sets it).
//!
//! A 0.5B model's wording means nothing, so the tests check structure only: finish reasons,
//! tool names, arguments that validate against the tool's schema, streams that reassemble,
//! usage. Temperature is 0 throughout.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Chunks;
use futures::future::BoxFuture;
use genkit_core::{
    FinishReason, Genkit, GenkitError, Message, Model, ModelContext, ModelRequest, ModelResponse,
    Tool, ToolChoice, ToolDefinition, TypedTool,
};
use genkit_openai::{OpenAI, OpenAIModel};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The seed's `ask_question` input, with the question text the 0.5B model needs.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Questions {
    /// the question to ask
    question: String,
    /// the choices to display to the user
    choices: Vec<String>,
    /// when true, allow write-ins
    allow_other: bool,
}

fn ask_question() -> Tool<Questions, String> {
    Tool::interrupt(
        "ask_question",
        "Use this to ask the user a clarifying question",
    )
}

/// The server has one slot: tests take turns, so each request's timeout and timing cover
/// its own generation rather than a queue.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The live server, or `None` (after saying so) when the test should be skipped.
fn live(test: &str) -> Option<(OpenAI, String)> {
    let url = std::env::var("GENKIT_LLM_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let Some(url) = url else {
        if std::env::var("GENKIT_REQUIRE_LLM").as_deref() == Ok("1") {
            panic!(
                "GENKIT_REQUIRE_LLM=1 but GENKIT_LLM_URL is not set: run \
                 `scripts/local-llm start` and `eval \"$(scripts/local-llm env)\"`"
            );
        }
        say(&format!(
            "SKIPPED: live::{test} needs a model server; set GENKIT_LLM_URL \
             (scripts/local-llm start && eval \"$(scripts/local-llm env)\")"
        ));
        return None;
    };
    let model = std::env::var("GENKIT_LLM_MODEL")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "qwen2.5-coder-0.5b".to_owned());
    let plugin = OpenAI::builder()
        .name("local")
        .base_url(url)
        // One slot on 2 cores: parallel tests queue behind each other.
        .timeout(Duration::from_secs(300))
        .build()
        .expect("plugin");
    Some((plugin, model))
}

/// Writes to stderr past the test harness's capture, so skips and timings show up even for
/// passing tests.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn report(test: &str, started: Instant) {
    say(&format!(
        "live::{test}: {:.2} s",
        started.elapsed().as_secs_f64()
    ));
}

/// Greedy decoding, and a cap so a rambling model cannot hold the one slot for minutes (a
/// tool call takes about 70 tokens).
fn temperature_0() -> Value {
    json!({"temperature": 0, "maxOutputTokens": 256})
}

/// Checks `input` against the tool's own input schema.
fn assert_valid_input(definition: &ToolDefinition, input: &Value) {
    let schema = definition.input_schema.as_ref().expect("schema");
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(input)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "arguments {input} fail the schema: {errors:?}"
    );
}

fn assert_usage(r: &ModelResponse) {
    let u = r.usage.as_ref().expect("usage");
    let (input, output, total) = (
        u.input_tokens.expect("input tokens"),
        u.output_tokens.expect("output tokens"),
        u.total_tokens.expect("total tokens"),
    );
    assert!(input > 0 && output > 0, "{u:?}");
    assert_eq!(total, input + output, "{u:?}");
}

fn tool_request_of(r: &ModelResponse) -> genkit_core::ToolRequest {
    let message = r.message.as_ref().expect("message");
    let calls: Vec<_> = message.tool_requests().cloned().collect();
    assert!(!calls.is_empty(), "a tool call came back: {message:?}");
    for c in &calls {
        assert_eq!(c.name, "ask_question", "only the offered tool is called");
        assert!(
            c.ref_.as_ref().is_some_and(|r| !r.is_empty()),
            "the call has an id"
        );
    }
    calls[0].clone()
}

#[tokio::test]
async fn plain_text() {
    let Some((plugin, model)) = live("plain_text") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let ai = Genkit::builder().plugin(plugin).build().unwrap();
    let r = ai
        .generate()
        .model(format!("local/{model}"))
        .prompt("Say hello in five words.")
        .config(json!({"temperature": 0, "maxOutputTokens": 40}))
        .await
        .unwrap();
    assert!(!r.text().trim().is_empty());
    assert!(matches!(
        r.finish_reason(),
        Some(FinishReason::Stop | FinishReason::Length)
    ));
    assert!(r.tool_requests().is_empty());
    let wire = r.to_wire();
    assert_usage(&wire);
    assert!(wire.latency_ms.is_some_and(|ms| ms > 0.0));
    report("plain_text", started);
}

#[tokio::test]
async fn max_output_tokens_cuts_at_the_limit() {
    let Some((plugin, model)) = live("max_output_tokens_cuts_at_the_limit") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let request = ModelRequest {
        messages: vec![Message::user("Count from 1 to 50, separated by commas.")].into(),
        config: Some(json!({"temperature": 0, "maxOutputTokens": 5})),
        ..ModelRequest::default()
    };
    let r = plugin
        .model(model)
        .generate(&request, ModelContext::new())
        .await
        .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    assert_eq!(r.usage.as_ref().and_then(|u| u.output_tokens), Some(5));
    report("max_output_tokens_cuts_at_the_limit", started);
}

#[tokio::test]
async fn forced_tool_call_has_arguments_that_fit_the_schema() {
    let Some((plugin, model)) = live("forced_tool_call_has_arguments_that_fit_the_schema") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let tool = ask_question();
    let ai = Genkit::builder().plugin(plugin).build().unwrap();
    let r = ai
        .generate()
        .model(format!("local/{model}"))
        .prompt("Ask me a movie trivia question.")
        .tool(tool.clone())
        .tool_choice(ToolChoice::Required)
        .return_tool_requests(true)
        .config(temperature_0())
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Stop));
    let wire = r.to_wire();
    let call = tool_request_of(&wire);
    let input = call.input.clone().expect("input");
    assert_valid_input(tool.definition(), &input);
    let q: Questions = serde_json::from_value(input).unwrap();
    assert!(!q.choices.is_empty());
    assert_usage(&wire);
    report(
        "forced_tool_call_has_arguments_that_fit_the_schema",
        started,
    );
}

/// Wraps the plugin's model to keep every request the engine sends it.
#[derive(Clone)]
struct Recording {
    inner: OpenAIModel,
    requests: Arc<Mutex<Vec<ModelRequest>>>,
}

impl Model for Recording {
    fn name(&self) -> &str {
        "recorded"
    }
    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.generate(request, ctx)
    }
}

#[tokio::test]
async fn interrupt_round_trip() {
    let Some((plugin, model)) = live("interrupt_round_trip") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let ask = ask_question();
    let recording = Recording {
        inner: plugin.model(model),
        requests: Arc::default(),
    };
    let ai = Genkit::builder()
        .model(recording.clone())
        .default_model("recorded")
        .tool(ask.clone())
        .build()
        .unwrap();

    // 1. The model asks; the tool interrupts.
    let interrupted = ai
        .generate()
        .prompt("Ask me a movie trivia question.")
        .tools(["ask_question"])
        .config(temperature_0())
        .await
        .unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(
        interrupted.interrupts().len(),
        1,
        "{:?}",
        interrupted.messages()
    );
    let interrupt = &interrupted.interrupts()[0];
    assert_eq!(interrupt.name(), "ask_question");
    let question: Questions = interrupt.input().unwrap();
    assert!(!question.choices.is_empty());
    assert_valid_input(ask.definition(), &serde_json::to_value(&question).unwrap());
    let call_id = interrupt
        .ref_()
        .expect("the server's tool-call id")
        .to_owned();
    let first_turn = Instant::now();

    // 2. The user answers; generation resumes and the model is called again.
    let answer = question.choices[0].clone();
    let resumed = ai
        .generate()
        .messages(interrupted.messages())
        .tool_responses([ask.respond(interrupt, answer.clone()).unwrap()])
        .tools(["ask_question"])
        .config(temperature_0())
        .await
        .unwrap();
    let requests = recording.requests.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        2,
        "the model was called again after the answer"
    );

    // What the server got the second time: the assistant's tool call with the server's own
    // id, then the tool message answering it.
    let body = recording.inner.request_body(&requests[1], false).unwrap();
    let messages = body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool"]);
    assert_eq!(messages[1]["tool_calls"][0]["id"], call_id.as_str());
    assert_eq!(
        messages[1]["tool_calls"][0]["function"]["name"],
        "ask_question"
    );
    assert_eq!(
        messages[2],
        // a string output goes as it is, unquoted
        json!({"role": "tool", "tool_call_id": call_id, "content": answer})
    );

    // The model answered that request: text, or (as this model tends to) another question.
    let wire = resumed.to_wire();
    assert!(
        wire.usage
            .as_ref()
            .and_then(|u| u.input_tokens)
            .unwrap_or(0)
            > 0
    );
    match resumed.finish_reason() {
        Some(FinishReason::Interrupted) => {
            let again = &resumed.interrupts()[0];
            assert_eq!(again.name(), "ask_question");
            assert_ne!(again.ref_(), Some(call_id.as_str()), "a new call, a new id");
            assert_valid_input(
                ask.definition(),
                again.tool_request().input.as_ref().unwrap(),
            );
        }
        Some(FinishReason::Stop | FinishReason::Length) => assert!(!resumed.text().is_empty()),
        other => panic!("unexpected finish reason {other:?}"),
    }
    say(&format!(
        "live::interrupt_round_trip: first turn {:.2} s, resumed turn {:.2} s",
        (first_turn - started).as_secs_f64(),
        first_turn.elapsed().as_secs_f64()
    ));
    report("interrupt_round_trip", started);
}

#[tokio::test]
async fn streamed_text_reassembles_to_the_plain_answer() {
    let Some((plugin, model)) = live("streamed_text_reassembles_to_the_plain_answer") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let model = plugin.model(model);
    let request = ModelRequest {
        messages: vec![Message::user("Say hello in five words.")].into(),
        config: Some(temperature_0()),
        ..ModelRequest::default()
    };
    let chunks = Chunks::default();
    let streamed = model.generate(&request, chunks.context()).await.unwrap();
    let first = Instant::now();
    let message = streamed.message.clone().unwrap();
    assert!(chunks.all().len() > 1, "the answer arrived in pieces");
    assert_eq!(chunks.merged_parts(), message.content);
    assert_eq!(streamed.finish_reason, Some(FinishReason::Stop));
    assert_usage(&streamed);

    // The same request unstreamed has the same shape. (Not necessarily the same words: under
    // load llama.cpp's prompt cache can change greedy decoding; the fixtures test equality.)
    let plain = model.generate(&request, ModelContext::new()).await.unwrap();
    assert_eq!(plain.finish_reason, streamed.finish_reason);
    let plain_message = plain.message.unwrap();
    assert_eq!(plain_message.role, message.role);
    assert!(!plain_message.text().is_empty());
    if plain_message != message {
        say("live::streamed_text: note: the plain answer's wording differs from the streamed one");
    }
    say(&format!(
        "live::streamed_text: streamed {:.2} s, plain {:.2} s",
        (first - started).as_secs_f64(),
        first.elapsed().as_secs_f64()
    ));
}

#[tokio::test]
async fn streamed_tool_call() {
    let Some((plugin, model)) = live("streamed_tool_call") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let tool = ask_question();
    let request = ModelRequest {
        messages: vec![Message::user("Ask me a movie trivia question.")].into(),
        config: Some(temperature_0()),
        tools: Some(vec![tool.definition().clone()]),
        tool_choice: Some(ToolChoice::Required),
        ..ModelRequest::default()
    };
    let chunks = Chunks::default();
    let r = plugin
        .model(model)
        .generate(&request, chunks.context())
        .await
        .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let call = tool_request_of(&r);
    assert_valid_input(tool.definition(), call.input.as_ref().unwrap());
    assert_eq!(chunks.merged_parts(), r.message.as_ref().unwrap().content);
    assert_usage(&r);
    report("streamed_tool_call", started);
}

#[tokio::test]
async fn structured_output_follows_the_schema() {
    let Some((plugin, model)) = live("structured_output_follows_the_schema") else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Movie {
        title: String,
        year: Option<u32>,
    }
    // through the engine: the plugin declares constrained output, so the schema goes natively
    let ai = genkit_core::Genkit::builder()
        .plugin(plugin)
        .build()
        .unwrap();
    let response = ai
        .generate()
        .model(format!("local/{model}"))
        .prompt("Name a famous movie and its release year.")
        .config(temperature_0())
        .output::<Movie>()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = response.request().unwrap();
    assert_eq!(sent.output.as_ref().unwrap().constrained, Some(true));
    let instructions = sent
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter(|p| p.metadata_value("purpose").is_some())
        .count();
    assert_eq!(
        instructions, 0,
        "no format instructions when the schema goes natively"
    );
    let value = response.output_value().unwrap();
    let schema = genkit_core::schema::schema_for::<Movie>();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&value), "{value}");
    response.output::<Movie>().unwrap();
    report("structured_output_follows_the_schema", started);
}

#[tokio::test]
async fn engine_stream_announces_the_interrupt_of_a_real_tool_call() {
    use futures::StreamExt;
    let Some((plugin, model)) = live("engine_stream_announces_the_interrupt_of_a_real_tool_call")
    else {
        return;
    };
    let _turn = SERVER.lock().await;
    let started = Instant::now();
    let ask = ask_question();
    let ai = genkit_core::Genkit::builder()
        .plugin(plugin)
        .tool(ask.clone())
        .build()
        .unwrap();
    // the whole path: engine -> plugin (SSE) -> engine's chunk queue -> this consumer
    let mut stream = ai
        .generate()
        .model(format!("local/{model}"))
        .prompt("Ask me a movie trivia question.")
        .tools(["ask_question"])
        .tool_choice(ToolChoice::Required)
        .config(temperature_0())
        .stream();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk);
    }
    let response = stream.response().await.unwrap();
    assert_eq!(response.finish_reason(), Some(FinishReason::Interrupted));
    let last = chunks.last().expect("chunks arrived");
    assert_eq!(
        last.aggregated,
        Some(true),
        "the interrupt is announced last"
    );
    assert_eq!(last.interrupts().len(), response.interrupts().len());
    assert_eq!(&last.content, &response.message().unwrap().content);
    assert!(
        chunks.iter().all(|c| c.index == Some(0)),
        "one model turn, one index"
    );
    let question: Questions = response.interrupts()[0].input().unwrap();
    assert!(!question.choices.is_empty() || !question.question.is_empty());
    report(
        "engine_stream_announces_the_interrupt_of_a_real_tool_call",
        started,
    );
}
