//! Every wire type's serialized form validates against Genkit's own JSON schema
//! (`tests/data/genkit/genkit-schema.json`, draft-07), checked against the matching `$defs` entry.
//!
//! Values are built through the Rust API, including values produced by real generate runs
//! (an interrupted response, the resume options, the resumed response). Negative checks prove the
//! validator rejects what the schema rejects.

mod genkit_data;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use genkit_core::testing::{EchoModel, ProgrammableModel};
use genkit_core::{
    tool_response, tool_restart, ChunkSink, DocumentData, FinishReason, GenerateActionOptions,
    GenerateActionOutputConfig, GenerateResponseChunk, GenerationUsage, Genkit, JsonMap, Media,
    Message, Model, ModelContext, ModelInfo, ModelRequest, ModelResponse, ModelSupports,
    OutputConfig, Part, PartKind, Resource, ResumeOptions, Role, Tool, ToolChoice, ToolContext,
    ToolDefinition, ToolRequest, ToolResponse, ToolResult, TypedTool,
};
use jsonschema::{Draft, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

fn schema_file() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| genkit_data::json("genkit-schema.json"))
}

/// A draft-7 validator for `{"$ref": "#/$defs/<name>", "$defs": <every definition>}`, compiled once.
fn validator(name: &str) -> Arc<Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(v) = cache.lock().unwrap().get(name) {
        return Arc::clone(v);
    }
    let defs = &schema_file()["$defs"];
    assert!(
        defs.get(name).is_some(),
        "genkit-schema.json has no $defs entry {name}"
    );
    let schema = json!({
        "$schema": DRAFT_07,
        "$ref": format!("#/$defs/{name}"),
        "$defs": defs,
    });
    let compiled = jsonschema::options()
        .with_draft(Draft::Draft7)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the schema of {name} does not compile: {e}"));
    assert_eq!(compiled.draft(), Draft::Draft7);
    let compiled = Arc::new(compiled);
    cache
        .lock()
        .unwrap()
        .insert(name.to_owned(), Arc::clone(&compiled));
    compiled
}

/// The schema violations of `instance` against `$defs/<name>`, one line each.
fn violations(name: &str, instance: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(instance)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

/// Serializes `value` and asserts it validates against `$defs/<name>` of every name in `names`.
#[track_caller]
fn assert_valid(names: &[&str], value: &impl Serialize) -> Value {
    let instance = serde_json::to_value(value).unwrap();
    for name in names {
        let errors = violations(name, &instance);
        assert!(
            errors.is_empty(),
            "serialized value does not validate against $defs/{name}:\n  {}\n{}",
            errors.join("\n  "),
            serde_json::to_string_pretty(&instance).unwrap()
        );
    }
    instance
}

/// Asserts `instance` is rejected by `$defs/<name>`.
#[track_caller]
fn assert_invalid(name: &str, instance: &Value) {
    assert!(
        !violations(name, instance).is_empty(),
        "$defs/{name} accepted a value it must reject:\n{}",
        serde_json::to_string_pretty(instance).unwrap()
    );
}

fn map(value: Value) -> JsonMap {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn with_custom(mut part: Part, custom: Value) -> Part {
    part.custom = Some(map(custom));
    part
}

/// One part of every kind, each with metadata and custom data, paired with its `$defs` name.
fn parts_of_every_kind() -> Vec<(&'static str, Part)> {
    let meta = || map(json!({"source": "test", "n": 1}));
    let custom = json!({"vendor": {"x": true}});
    let mut tool_response_part = Part::tool_response(ToolResponse {
        ref_: Some("r1".into()),
        name: "lookup".into(),
        output: Some(json!({"answer": 42})),
        content: Some(vec![
            Part::text("forty-two"),
            Part::media("https://x/y.png", None),
        ]),
    });
    tool_response_part.set_metadata("interruptResponse", json!(true));
    vec![
        (
            "TextPart",
            with_custom(Part::text("hello").with_metadata(meta()), custom.clone()),
        ),
        (
            "MediaPart",
            with_custom(
                Part::media("data:image/png;base64,AAAA", Some("image/png".into()))
                    .with_metadata(meta()),
                custom.clone(),
            ),
        ),
        (
            "ToolRequestPart",
            with_custom(
                Part::tool_request(ToolRequest::new(
                    "lookup",
                    Some("r1".into()),
                    json!({"q": 1}),
                ))
                .with_metadata(map(json!({"interrupt": {"why": "confirm"}}))),
                custom.clone(),
            ),
        ),
        (
            "ToolRequestPart",
            Part::tool_request(ToolRequest {
                ref_: None,
                name: "partial".into(),
                input: None,
                partial: Some(true),
            }),
        ),
        (
            "ToolResponsePart",
            with_custom(tool_response_part, custom.clone()),
        ),
        (
            "DataPart",
            with_custom(
                Part::data(json!({"rows": [1, 2, 3]})).with_metadata(meta()),
                custom.clone(),
            ),
        ),
        ("DataPart", Part::data(Value::Null)),
        (
            "ReasoningPart",
            with_custom(
                Part::reasoning("thinking...").with_metadata(meta()),
                custom.clone(),
            ),
        ),
        (
            "ResourcePart",
            Part {
                kind: PartKind::Resource(Resource {
                    uri: "file:///notes.txt".into(),
                }),
                metadata: Some(meta()),
                custom: Some(map(custom.clone())),
            },
        ),
        (
            "CustomPart",
            Part {
                kind: PartKind::Custom,
                metadata: Some(meta()),
                custom: Some(map(custom)),
            },
        ),
    ]
}

fn every_part() -> Vec<Part> {
    parts_of_every_kind().into_iter().map(|(_, p)| p).collect()
}

fn tool_definition_full() -> ToolDefinition {
    ToolDefinition {
        name: "lookup".into(),
        key: Some("/tool/lookup".into()),
        description: "Look a word up".into(),
        input_schema: Some(
            json!({"type": "object", "properties": {"q": {"type": "string"}}}).into(),
        ),
        output_schema: Some(json!({"type": "string"}).into()),
        metadata: Some(map(json!({"originalName": "lookup"}))),
    }
}

fn docs() -> Vec<DocumentData> {
    vec![DocumentData {
        content: vec![
            Part::text("a document"),
            Part::media("https://example.com/a.pdf", Some("application/pdf".into())),
        ],
        metadata: Some(map(json!({"page": 3}))),
    }]
}

fn output_config_full() -> OutputConfig {
    OutputConfig {
        format: Some("json".into()),
        schema: Some(map(
            json!({"type": "object", "properties": {"a": {"type": "number"}}}),
        )),
        constrained: Some(true),
        content_type: Some("application/json".into()),
    }
}

fn usage_full() -> GenerationUsage {
    GenerationUsage {
        input_tokens: Some(10),
        output_tokens: Some(20),
        total_tokens: Some(30),
        input_characters: Some(40),
        output_characters: Some(50),
        input_images: Some(1),
        output_images: Some(2),
        input_videos: Some(3),
        output_videos: Some(4),
        input_audio_files: Some(5),
        output_audio_files: Some(6),
        thoughts_tokens: Some(7),
        cached_content_tokens: Some(8),
        custom: Some(map(json!({"billedUnits": 12, "ratio": 0.5}))),
    }
}

fn model_request_full() -> ModelRequest {
    ModelRequest {
        messages: vec![
            Message::system("Be brief."),
            Message::new(Role::User, every_part()),
            Message::model("ok"),
        ]
        .into(),
        config: Some(json!({"temperature": 0.2, "topK": 3})),
        tools: Some(vec![tool_definition_full()]),
        tool_choice: Some(ToolChoice::Required),
        output: Some(output_config_full()),
        docs: Some(docs()),
    }
}

fn model_response_full() -> ModelResponse {
    ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![Part::reasoning("hmm"), Part::text("done")],
        )),
        finish_reason: Some(FinishReason::Length),
        finish_message: Some("hit the limit".into()),
        latency_ms: Some(12.5),
        usage: Some(usage_full()),
        custom: Some(json!({"vendor": "x"})),
        raw: Some(json!({"id": "resp-1", "choices": []})),
        request: Some(model_request_full()),
        operation: Some(json!({"id": "op-1", "action": "/background-model/x", "done": false})),
        candidates: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The validator itself
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_file_is_draft_07_and_validators_use_draft_7() {
    assert_eq!(schema_file()["$schema"], DRAFT_07);
    assert_eq!(validator("Part").draft(), Draft::Draft7);
}

#[test]
fn validator_rejects_hand_broken_values() {
    // each of these breaks one rule of the schema
    assert_invalid("Role", &json!("assistant"));
    assert_invalid("FinishReason", &json!("done"));
    assert_invalid("Part", &json!({"text": "a", "media": {"url": "x"}}));
    assert_invalid("Part", &json!({"text": 1}));
    assert_invalid("Part", &json!({"text": "a", "bogus": 1}));
    assert_invalid("TextPart", &json!({"media": {"url": "x"}}));
    assert_invalid("CustomPart", &json!({"metadata": {}}));
    assert_invalid("Message", &json!({"role": "model"}));
    assert_invalid("Message", &json!({"role": "assistant", "content": []}));
    assert_invalid("ToolRequest", &json!({"input": {}}));
    assert_invalid("ToolDefinition", &json!({"name": "t"}));
    assert_invalid(
        "ModelResponse",
        &json!({"message": {"role": "model", "content": []}}),
    );
    assert_invalid(
        "GenerateResponse",
        &json!({"finishReason": "stop", "foo": 1}),
    );
    assert_invalid("GenerationUsage", &json!({"custom": {"x": "not a number"}}));
    assert_invalid(
        "ModelInfo",
        &json!({"supports": {"constrained": "sometimes"}}),
    );
    assert_invalid("GenerateActionOptions", &json!({"model": "m"}));
    assert_invalid(
        "GenerateActionOptions",
        &json!({"messages": [], "resume": {"respond": [{"text": "not a tool response"}]}}),
    );
    assert_invalid("GenerateResponseChunk", &json!({"index": 0}));
    assert_invalid("DocumentData", &json!({"content": [{"reasoning": "no"}]}));
}

#[test]
fn hand_broken_serialized_values_fail_validation() {
    // a valid serialized value, broken by hand afterwards, must fail: the checks below are real
    let mut message = assert_valid(&["Message"], &Message::user("hi"));
    message["role"] = json!("human");
    assert_invalid("Message", &message);

    let mut response = assert_valid(&["GenerateResponse"], &model_response_full());
    response["finishReason"] = json!("paused");
    assert_invalid("GenerateResponse", &response);

    let mut part = assert_valid(&["Part"], &Part::text("x"));
    part["reasoning"] = json!("and also reasoning");
    assert_invalid("Part", &part);
}

// ---------------------------------------------------------------------------------------------
// Each wire type, built through the Rust API
// ---------------------------------------------------------------------------------------------

#[test]
fn every_part_kind_with_metadata_and_custom_validates_as_part_and_as_its_own_kind() {
    for (kind, part) in parts_of_every_kind() {
        let v = assert_valid(&["Part", kind], &part);
        // the custom part must only validate as CustomPart: it holds no other content key
        if kind == "CustomPart" {
            assert_invalid("TextPart", &v);
        }
    }
}

#[test]
fn every_role_validates() {
    for role in [Role::System, Role::User, Role::Model, Role::Tool] {
        let v = assert_valid(&["Role"], &role);
        assert_eq!(v, json!(role.as_str()));
    }
}

#[test]
fn all_seven_finish_reasons_validate() {
    let all = [
        FinishReason::Stop,
        FinishReason::Length,
        FinishReason::Blocked,
        FinishReason::Aborted,
        FinishReason::Interrupted,
        FinishReason::Other,
        FinishReason::Unknown,
    ];
    let mut seen = Vec::new();
    for reason in all {
        let v = assert_valid(&["FinishReason"], &reason);
        assert_eq!(v, json!(reason.as_str()));
        seen.push(v);
    }
    // and they are exactly the schema's enum
    assert_eq!(
        Value::Array(seen),
        schema_file()["$defs"]["FinishReason"]["enum"]
    );
}

#[test]
fn messages_of_every_role_validate() {
    let mut tool_message = Message::new(
        Role::Tool,
        vec![Part::tool_response(ToolResponse::new(
            "lookup",
            Some("r1".into()),
            json!("result"),
        ))],
    );
    tool_message.metadata = Some(map(json!({"resumed": true})));
    for m in [
        Message::system("Be brief."),
        Message::user("hi"),
        Message::model("hello"),
        Message::new(Role::Model, every_part()),
        tool_message,
    ] {
        assert_valid(&["Message"], &m);
    }
}

#[test]
fn tool_request_and_tool_response_validate() {
    assert_valid(
        &["ToolRequest"],
        &ToolRequest::new("lookup", Some("r1".into()), json!({"q": "x"})),
    );
    assert_valid(
        &["ToolRequest"],
        &ToolRequest {
            ref_: None,
            name: "noinput".into(),
            input: None,
            partial: Some(false),
        },
    );
    assert_valid(
        &["ToolResponse"],
        &ToolResponse::new("lookup", None, json!([1, 2])),
    );
    assert_valid(
        &["ToolResponse"],
        &ToolResponse {
            ref_: Some("r1".into()),
            name: "multi".into(),
            output: None,
            content: Some(vec![Part::text("t"), Part::data(json!({"a": 1}))]),
        },
    );
}

#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct Word {
    /// the word to look up
    word: String,
}

#[test]
fn tool_definitions_of_typed_dynamic_and_interrupt_tools_validate() {
    let typed = Tool::new(
        "lookup",
        "Look a word up",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    );
    let interrupt: Tool<Word, bool> = Tool::interrupt("confirm", "Ask the user");
    let no_input = Tool::new("now", "The time", |_: (), _ctx: ToolContext| async move {
        ToolResult::Ok("noon".to_string())
    });
    let dynamic = Tool::dynamic(
        "dyn",
        "Dynamic",
        json!({"$schema": DRAFT_07}),
        None,
        |v: Value, _ctx: ToolContext| async move { ToolResult::Ok(v) },
    )
    .unwrap();
    for def in [
        typed.definition(),
        interrupt.definition(),
        no_input.definition(),
        dynamic.definition(),
        &tool_definition_full(),
    ] {
        assert_valid(&["ToolDefinition"], def);
    }
}

#[test]
fn model_request_validates_as_model_request_and_generate_request() {
    assert_valid(&["ModelRequest", "GenerateRequest"], &model_request_full());
    assert_valid(
        &["ModelRequest", "GenerateRequest"],
        &ModelRequest {
            messages: vec![Message::user("hi")].into(),
            ..ModelRequest::default()
        },
    );
}

#[test]
fn model_response_validates_as_model_response_and_generate_response() {
    assert_valid(
        &["ModelResponse", "GenerateResponse"],
        &model_response_full(),
    );
    assert_valid(
        &["ModelResponse", "GenerateResponse"],
        &ModelResponse::new(Message::model("hi"), FinishReason::Stop),
    );
}

#[test]
fn generate_action_options_with_every_field_validate() {
    let respond = Part::tool_response(ToolResponse::new("confirm", Some("r1".into()), json!(true)))
        .with_metadata(map(json!({"interruptResponse": true})));
    let restart = Part::tool_request(ToolRequest::new("lookup", Some("r2".into()), json!({})))
        .with_metadata(map(json!({"resumed": true, "interrupt": true})));
    let options = GenerateActionOptions {
        model: Some("openai/gpt-4o-mini".into()),
        docs: Some(docs()),
        messages: vec![Message::user("hi"), Message::new(Role::Model, every_part())].into(),
        tools: Some(vec!["lookup".into(), "/tool/confirm".into()]),
        resources: Some(vec!["file:///notes.txt".into()]),
        tool_choice: Some(ToolChoice::Auto),
        config: Some(json!({"temperature": 1})),
        output: Some(GenerateActionOutputConfig {
            format: Some("json".into()),
            content_type: Some("application/json".into()),
            instructions: Some(json!("Answer in JSON.")),
            json_schema: Some(json!({"type": "object"})),
            constrained: Some(false),
        }),
        resume: Some(ResumeOptions {
            respond: Some(vec![respond]),
            restart: Some(vec![restart]),
            metadata: Some(map(json!({"by": "test"}))),
        }),
        return_tool_requests: Some(false),
        max_turns: Some(3),
        step_name: Some("step-1".into()),
        use_: Some(vec![
            genkit_core::MiddlewareRef::new("retry").with_config(json!({"maxRetries": 2}))
        ]),
    };
    assert_valid(&["GenerateActionOptions"], &options);
    assert_valid(
        &["GenerateActionOptions"],
        &GenerateActionOptions::default(),
    );
}

#[test]
fn generate_action_output_config_and_output_config_validate() {
    for instructions in [
        None,
        Some(json!(true)),
        Some(json!(false)),
        Some(json!("Be JSON")),
    ] {
        assert_valid(
            &["GenerateActionOutputConfig"],
            &GenerateActionOutputConfig {
                format: Some("json".into()),
                content_type: Some("application/json".into()),
                instructions,
                json_schema: Some(json!({"type": "array"})),
                constrained: Some(true),
            },
        );
    }
    assert_valid(
        &["GenerateActionOutputConfig"],
        &GenerateActionOutputConfig::default(),
    );
    assert_valid(&["OutputConfig"], &output_config_full());
    assert_valid(&["OutputConfig"], &OutputConfig::default());
}

#[test]
fn generation_usage_validates() {
    assert_valid(&["GenerationUsage"], &usage_full());
    assert_valid(&["GenerationUsage"], &GenerationUsage::default());
}

#[test]
fn model_info_and_supports_validate() {
    let full = ModelInfo {
        versions: Some(vec!["v1".into(), "v2".into()]),
        label: Some("A model".into()),
        config_schema: Some(map(json!({"type": "object"}))),
        supports: Some(ModelSupports {
            multiturn: Some(true),
            media: Some(false),
            tools: Some(true),
            system_role: Some(true),
            output: Some(vec!["text".into(), "json".into()]),
            content_type: Some(vec!["application/json".into()]),
            context: Some(true),
            constrained: Some("no-tools".into()),
            tool_choice: Some(true),
            long_running: Some(false),
        }),
        stage: Some("stable".into()),
    };
    assert_valid(&["ModelInfo"], &full);
    assert_valid(&["ModelInfo"], &ModelInfo::default());
    assert_valid(&["ModelInfo"], &EchoModel::new("echo").info());
    assert_valid(&["ModelInfo"], &ProgrammableModel::new("pm").info());
}

#[test]
fn document_data_validates() {
    for d in docs() {
        assert_valid(&["DocumentData"], &d);
    }
}

#[tokio::test]
async fn generate_response_chunks_validate_including_streamed_ones() {
    let built = GenerateResponseChunk {
        role: Some(Role::Model),
        index: Some(2),
        content: every_part(),
        custom: Some(json!({"seq": 1})),
        aggregated: Some(false),
    };
    assert_valid(&["GenerateResponseChunk", "ModelResponseChunk"], &built);
    assert_valid(
        &["GenerateResponseChunk"],
        &GenerateResponseChunk::new(vec![Part::text("x")]),
    );

    // chunks a model really streams
    let (sink, mut received) = ChunkSink::channel(1 << 16);
    let request = ModelRequest {
        messages: vec![Message::user("stream me please")].into(),
        ..ModelRequest::default()
    };
    let response = EchoModel::new("echo")
        .generate(&request, ModelContext::new().with_chunks(sink))
        .await
        .unwrap();
    assert_valid(&["ModelResponse", "GenerateResponse"], &response);
    let mut chunks = Vec::new();
    while let Ok(c) = received.try_recv() {
        chunks.push(c);
    }
    assert!(chunks.len() > 1, "the echo model streams word by word");
    for mut chunk in chunks {
        assert_valid(&["GenerateResponseChunk"], &chunk);
        chunk.role = Some(Role::Model);
        chunk.index = Some(0);
        assert_valid(&["GenerateResponseChunk"], &chunk);
    }
}

// ---------------------------------------------------------------------------------------------
// Values produced by real generate runs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct Answer {
    answer: bool,
}

struct Scenario {
    ai: Genkit,
    model: ProgrammableModel,
    ask: Tool<Question, Answer>,
}

/// A model that asks an interrupt tool and, in the same turn, calls a normal tool.
fn scenario() -> Scenario {
    let model = ProgrammableModel::new("pm");
    model.push_response(ModelResponse {
        usage: Some(GenerationUsage {
            input_tokens: Some(3),
            output_tokens: Some(4),
            ..GenerationUsage::default()
        }),
        latency_ms: Some(1.5),
        ..ModelResponse::new(
            Message::new(
                Role::Model,
                vec![
                    Part::text("Let me check."),
                    Part::tool_request(ToolRequest::new(
                        "askUser",
                        Some("q1".into()),
                        json!({"question": "Proceed?"}),
                    )),
                    Part::tool_request(ToolRequest::new(
                        "lookup",
                        Some("l1".into()),
                        json!({"word": "genkit"}),
                    )),
                ],
            ),
            FinishReason::Stop,
        )
    });
    let ask: Tool<Question, Answer> = Tool::interrupt_with(
        "askUser",
        "Ask the user a yes/no question",
        |q: &Question| json!({"asked": q.question}),
    );
    let lookup = Tool::new(
        "lookup",
        "Look a word up",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    );
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("pm")
        .tool(ask.clone())
        .tool(lookup)
        .build()
        .unwrap();
    Scenario { ai, model, ask }
}

#[tokio::test]
async fn interrupted_generate_response_validates_as_generate_response() {
    let Scenario { ai, model, .. } = scenario();
    let interrupted = ai
        .generate()
        .system("Be brief.")
        .prompt("Do the thing.")
        .tools(["askUser", "lookup"])
        .await
        .unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(interrupted.interrupts().len(), 1);

    let wire = assert_valid(
        &["GenerateResponse", "ModelResponse"],
        &interrupted.to_wire(),
    );
    // the interrupt protocol is in the validated value
    let content = &wire["message"]["content"];
    assert_eq!(
        content[1]["metadata"]["interrupt"],
        json!({"asked": "Proceed?"})
    );
    assert_eq!(content[2]["metadata"]["pendingOutput"], json!(6));
    // serializing the response itself gives the same wire value
    assert_eq!(serde_json::to_value(&interrupted).unwrap(), wire);
    // and what the model got validates as a request
    for request in model.requests() {
        assert_valid(&["ModelRequest", "GenerateRequest"], &request);
    }
}

#[tokio::test]
async fn resume_options_with_respond_and_restart_validate_and_resumed_response_validates() {
    let Scenario { ai, model, ask } = scenario();
    let interrupted = ai
        .generate()
        .prompt("Do the thing.")
        .tools(["askUser", "lookup"])
        .await
        .unwrap();
    let interrupt = &interrupted.interrupts()[0];

    // respond, through the typed tool and through the free helper
    let typed_answer = ask.respond(interrupt, Answer { answer: true }).unwrap();
    let respond = ai
        .generate()
        .messages(interrupted.messages())
        .tools(["askUser", "lookup"])
        .tool_responses([typed_answer])
        .resume_metadata(json!({"by": "user-1"}));
    let respond_options = assert_valid(&["GenerateActionOptions"], &respond.to_options());
    assert_eq!(
        respond_options["resume"]["respond"][0]["metadata"]["interruptResponse"],
        json!(true)
    );
    let helper_answer = tool_response(interrupt, Answer { answer: false }).unwrap();
    assert_valid(&["ToolResponsePart", "Part"], &helper_answer);

    // restart, with and without a replaced input
    let restart = ai
        .generate()
        .messages(interrupted.messages())
        .tools(["askUser", "lookup"])
        .tool_restarts([tool_restart(
            interrupt,
            json!({"approved": true}),
            Some(json!({"question": "Sure?"})),
        )
        .unwrap()]);
    let restart_options = assert_valid(&["GenerateActionOptions"], &restart.to_options());
    assert_eq!(
        restart_options["resume"]["restart"][0]["metadata"]["replacedInput"],
        json!({"question": "Proceed?"})
    );
    assert_valid(
        &["ToolRequestPart"],
        &tool_restart(interrupt, (), None).unwrap(),
    );

    // the resumed run: its request and response validate too
    model.push_response(ModelResponse::new(
        Message::model("Done."),
        FinishReason::Stop,
    ));
    let resumed = respond.await.unwrap();
    assert_eq!(resumed.text(), "Done.");
    let wire = assert_valid(&["GenerateResponse", "ModelResponse"], &resumed.to_wire());
    let history = wire["request"]["messages"].as_array().unwrap();
    let tool_message = history.last().unwrap();
    assert_eq!(tool_message["role"], "tool");
    assert_eq!(tool_message["metadata"]["resumed"], json!({"by": "user-1"}));
    assert_valid(
        &["ModelRequest", "GenerateRequest"],
        &model.last_request().unwrap(),
    );
}

#[tokio::test]
async fn util_generate_action_output_validates_as_generate_response() {
    let Scenario { ai, .. } = scenario();
    let input = serde_json::to_value(GenerateActionOptions {
        messages: vec![Message::user("Do the thing.")].into(),
        tools: Some(vec!["askUser".into(), "lookup".into()]),
        ..GenerateActionOptions::default()
    })
    .unwrap();
    let output = ai
        .run_action(
            genkit_core::UTIL_GENERATE,
            input,
            genkit_core::ActionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(output["finishReason"], "interrupted");
    let errors = violations("GenerateResponse", &output);
    assert!(errors.is_empty(), "{errors:?}\n{output:#}");
}

#[test]
fn media_struct_serializes_inside_media_part() {
    // Media is only reachable through a part; check the def directly too
    assert_valid(
        &["Media"],
        &Media {
            content_type: None,
            url: "https://example.com/a.png".into(),
        },
    );
}

/// Agents and sessions: every type, with every field set and with none, validates; values Genkit
/// writes read back and serialize to the same JSON; the schema rejects what it must.
#[test]
fn agent_and_session_types_validate_and_round_trip() {
    use genkit_core::{
        AgentAbortRequest, AgentAbortResponse, AgentFinishReason, AgentInit, AgentInput,
        AgentMetadata, AgentOutput, AgentResult, AgentResume, AgentStateManagement,
        AgentStreamChunk, Artifact, GetSnapshotRequest, JsonPatch, JsonPatchOp, JsonPatchOperation,
        RuntimeError, SessionSnapshot, SessionState, SnapshotStatus, TurnEnd,
    };
    let artifact = Artifact {
        name: Some("plan".into()),
        parts: vec![Part::text("step 1")],
        metadata: Some(map(json!({"v": 2}))),
    };
    let state = SessionState {
        session_id: Some("sess-1".into()),
        messages: Some(vec![Message::user("hi"), Message::model("hello")].into()),
        custom: Some(json!({"cart": ["apple"], "n": null})),
        artifacts: Some(vec![artifact.clone()]),
    };
    let error = RuntimeError {
        status: Some("INTERNAL".into()),
        message: "boom".into(),
        details: Some(json!({"attempt": 1})),
    };
    let patch = JsonPatch(vec![
        JsonPatchOperation {
            op: JsonPatchOp::Replace,
            path: "/n".into(),
            from: None,
            value: Some(Value::Null),
        },
        JsonPatchOperation {
            op: JsonPatchOp::Move,
            path: "/b".into(),
            from: Some("/a".into()),
            value: None,
        },
    ]);
    let request = Part::tool_request(ToolRequest::new("approve", Some("r1".into()), json!({})));
    let response =
        Part::tool_response(ToolResponse::new("approve", Some("r1".into()), json!(true)));
    let snapshot = SessionSnapshot {
        snapshot_id: "snap-2".into(),
        session_id: Some("sess-1".into()),
        parent_id: Some("snap-1".into()),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: Some("2026-01-01T00:00:01.000Z".into()),
        heartbeat_at: Some("2026-01-01T00:00:02.000Z".into()),
        status: Some(SnapshotStatus::Failed),
        finish_reason: Some(AgentFinishReason::Failed),
        error: Some(error.clone()),
        state: Some(state.clone()),
    };
    assert_valid(&["SessionState"], &state);
    assert_valid(&["SessionState"], &SessionState::default());
    assert_valid(&["SessionSnapshot"], &snapshot);
    assert_valid(
        &["SessionSnapshot"],
        &SessionSnapshot {
            snapshot_id: "s".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        },
    );
    assert_valid(&["Artifact"], &artifact);
    assert_valid(&["RuntimeError"], &error);
    assert_valid(&["JsonPatch"], &patch);
    assert_valid(
        &["AgentInput"],
        &AgentInput {
            detach: Some(true),
            message: Some(Message::user("go")),
            resume: Some(AgentResume {
                respond: Some(vec![response]),
                restart: Some(vec![request]),
            }),
        },
    );
    assert_valid(&["AgentInput"], &AgentInput::default());
    assert_valid(
        &["AgentInit"],
        &AgentInit {
            session_id: Some("sess-1".into()),
            snapshot_id: Some("snap-2".into()),
            state: Some(state.clone()),
        },
    );
    assert_valid(
        &["AgentOutput"],
        &AgentOutput {
            session_id: Some("sess-1".into()),
            snapshot_id: Some("snap-2".into()),
            state: Some(state.clone()),
            message: Some(Message::model("done")),
            artifacts: Some(vec![artifact.clone()]),
            finish_reason: Some(AgentFinishReason::Interrupted),
            error: Some(error),
        },
    );
    assert_valid(
        &["AgentResult"],
        &AgentResult {
            message: Some(Message::model("done")),
            artifacts: Some(vec![artifact.clone()]),
            finish_reason: Some(AgentFinishReason::Stop),
        },
    );
    let chunk = GenerateResponseChunk {
        role: Some(Role::Model),
        index: Some(0),
        ..GenerateResponseChunk::new(vec![Part::text("he")])
    };
    assert_valid(
        &["AgentStreamChunk"],
        &AgentStreamChunk {
            model_chunk: Some(chunk),
            custom_patch: Some(patch),
            artifact: Some(artifact),
            turn_end: Some(TurnEnd {
                snapshot_id: Some("snap-2".into()),
                finish_reason: Some(AgentFinishReason::Detached),
            }),
        },
    );
    assert_valid(
        &["GetSnapshotRequest"],
        &GetSnapshotRequest {
            snapshot_id: Some("snap-2".into()),
            session_id: Some("sess-1".into()),
        },
    );
    assert_valid(
        &["AgentAbortRequest"],
        &AgentAbortRequest {
            snapshot_id: "snap-2".into(),
        },
    );
    assert_valid(
        &["AgentAbortResponse"],
        &AgentAbortResponse {
            snapshot_id: "snap-2".into(),
            status: Some(SnapshotStatus::Aborted),
        },
    );
    assert_valid(
        &["AgentMetadata"],
        &AgentMetadata {
            state_management: AgentStateManagement::Server,
            abortable: true,
            state_schema: Some(map(json!({"type": "object"}))),
        },
    );
    // every known enum value is one of the schema's
    for s in ["pending", "completed", "aborted", "failed", "expired"] {
        assert_valid(&["SnapshotStatus"], &SnapshotStatus::from_wire(s));
        assert!(!matches!(
            SnapshotStatus::from_wire(s),
            SnapshotStatus::Unrecognized(_)
        ));
    }
    for r in [
        "stop",
        "length",
        "blocked",
        "interrupted",
        "other",
        "unknown",
        "aborted",
        "detached",
        "failed",
    ] {
        assert_valid(&["AgentFinishReason"], &AgentFinishReason::from_wire(r));
        assert!(!matches!(
            AgentFinishReason::from_wire(r),
            AgentFinishReason::Unrecognized(_)
        ));
    }

    // A snapshot as Genkit writes it reads back and serializes to the same JSON.
    let written = json!({
        "snapshotId": "9b1c", "sessionId": "s", "parentId": "8a0b",
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
        "status": "completed", "finishReason": "interrupted",
        "state": {"sessionId": "s", "messages": [], "custom": {"k": [1, null]},
                  "artifacts": [{"parts": [{"text": "a"}]}]}
    });
    let read: SessionSnapshot = serde_json::from_value(written.clone()).unwrap();
    assert_eq!(assert_valid(&["SessionSnapshot"], &read), written);

    // negative checks: the validator rejects what the schema rejects
    assert_invalid("SessionSnapshot", &json!({"snapshotId": "x"}));
    assert_invalid(
        "SessionSnapshot",
        &json!({"snapshotId": "x", "createdAt": "t", "status": "paused"}),
    );
    assert_invalid("AgentAbortRequest", &json!({}));
    assert_invalid("Artifact", &json!({"name": "no parts"}));
    assert_invalid(
        "AgentInput",
        &json!({"message": {"role": "user", "content": []}, "extra": 1}),
    );
}

#[test]
fn middleware_descriptors_and_references_match_the_schema() {
    let ai = genkit_core::Genkit::builder().build().unwrap();
    let descs = ai.registry().middleware_descs();
    assert_eq!(descs.len(), 3);
    for d in &descs {
        assert_valid(&["MiddlewareDesc"], d);
    }
    assert_valid(
        &["MiddlewareRef"],
        &genkit_core::MiddlewareRef::new("retry"),
    );
}
