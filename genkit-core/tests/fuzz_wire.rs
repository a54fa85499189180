//! Fuzzing the wire types with proptest: deserializing `Message`, `Part`,
//! `GenerateActionOptions`, `ModelRequest`, `ModelResponse`, `GenerateResponseChunk` and
//! `GenerateResponse` from arbitrary JSON values and arbitrary bytes never panics, and whatever
//! deserializes re-serializes and deserializes again to an equal value.
//!
//! The JSON generators are biased toward Genkit's shapes (right keys, roughly right value types,
//! with noise), so most cases get deep into the deserializers instead of failing on the first key.
//! The seed corpus in `tests/corpus/` is replayed as is, and mutated byte-wise.
//!
//! Cases per property: 256 by default; `PROPTEST_CASES=N` runs more (a longer fuzz session).

use std::fmt::Debug;
use std::path::PathBuf;

use genkit_core::{
    GenerateActionOptions, GenerateResponse, GenerateResponseChunk, Message, ModelRequest,
    ModelResponse, Part,
};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // shrunk failing cases are saved here and replayed first on every run: commit them
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/fuzz_wire.txt"
        )))),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The properties

/// Deserializes `T` from a value; when that works, checks the round trips. Returns whether it
/// deserialized.
fn check_value<T>(v: &Value) -> Result<bool, TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(t) = serde_json::from_value::<T>(v.clone()) else {
        // the same input as text must be rejected too
        prop_assert!(
            serde_json::from_str::<T>(&v.to_string()).is_err(),
            "accepted as text but not as a value: {v}"
        );
        return Ok(false);
    };
    let from_text: T = serde_json::from_str(&v.to_string())
        .map_err(|e| TestCaseError::fail(format!("accepted as a value, not as text: {e}")))?;
    prop_assert_eq!(&from_text, &t, "value and text deserialize alike");
    check_stable(&t)?;
    Ok(true)
}

/// `t` serializes; the result deserializes to `t` again and serializes to the same JSON, both
/// through `Value` and through text.
fn check_stable<T>(t: &T) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let v2 = serde_json::to_value(t)
        .map_err(|e| TestCaseError::fail(format!("does not serialize: {e}")))?;
    let t2: T = serde_json::from_value(v2.clone())
        .map_err(|e| TestCaseError::fail(format!("own output rejected: {e}: {v2}")))?;
    prop_assert_eq!(&t2, t, "round trip through Value");
    prop_assert_eq!(serde_json::to_value(&t2).unwrap(), v2.clone());
    let text = serde_json::to_string(t).unwrap();
    let t3: T = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("own text rejected: {e}: {text}")))?;
    prop_assert_eq!(&t3, t, "round trip through text");
    Ok(())
}

/// `GenerateResponse` normalizes on its first serialization (it adds empty `usage` and `custom`,
/// as Genkit does), so it is stable from the second one on; its accessors never panic.
fn check_generate_response(v: &Value) -> Result<bool, TestCaseError> {
    let Ok(r) = serde_json::from_value::<GenerateResponse>(v.clone()) else {
        return Ok(false);
    };
    poke(&r);
    let v2 = serde_json::to_value(&r).unwrap();
    let r2: GenerateResponse = serde_json::from_value(v2.clone())
        .map_err(|e| TestCaseError::fail(format!("own output rejected: {e}: {v2}")))?;
    poke(&r2);
    prop_assert_eq!(r2.messages(), r.messages());
    prop_assert_eq!(r2.interrupts(), r.interrupts());
    check_stable(&r2)?;
    Ok(true)
}

fn poke(r: &GenerateResponse) {
    let _ = r.text();
    for i in r.interrupts() {
        let _ = i.to_part();
    }
    let _ = r.tool_requests();
    let _ = r.request();
    let _ = r.output_value();
    let _ = r.finish_reason();
    let _ = r.to_wire();
}

/// Every type, from one value. Returns how many types accepted it.
fn check_all_values(v: &Value) -> Result<usize, TestCaseError> {
    Ok([
        check_value::<Part>(v)?,
        check_value::<Message>(v)?,
        check_value::<GenerateActionOptions>(v)?,
        check_value::<ModelRequest>(v)?,
        check_value::<ModelResponse>(v)?,
        check_value::<GenerateResponseChunk>(v)?,
        check_generate_response(v)?,
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count())
}

/// Every type, from raw bytes: no panic; what parses round-trips.
fn check_all_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    fn one<T>(bytes: &[u8]) -> Result<(), TestCaseError>
    where
        T: DeserializeOwned + Serialize + PartialEq + Debug,
    {
        if let Ok(t) = serde_json::from_slice::<T>(bytes) {
            check_stable(&t)?;
        }
        Ok(())
    }
    one::<Part>(bytes)?;
    one::<Message>(bytes)?;
    one::<GenerateActionOptions>(bytes)?;
    one::<ModelRequest>(bytes)?;
    one::<ModelResponse>(bytes)?;
    one::<GenerateResponseChunk>(bytes)?;
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        check_all_values(&v)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators

const KEYS: &[&str] = &[
    "text",
    "media",
    "toolRequest",
    "toolResponse",
    "data",
    "reasoning",
    "resource",
    "metadata",
    "custom",
    "role",
    "content",
    "name",
    "ref",
    "input",
    "output",
    "partial",
    "url",
    "contentType",
    "uri",
    "message",
    "messages",
    "finishReason",
    "finishMessage",
    "usage",
    "inputTokens",
    "request",
    "tools",
    "toolChoice",
    "config",
    "resume",
    "respond",
    "restart",
    "maxTurns",
    "index",
    "aggregated",
    "interrupt",
    "pendingOutput",
    "resolvedInterrupt",
    "interruptResponse",
    "resumed",
    "replacedInput",
    "source",
];

const STRINGS: &[&str] = &[
    "user",
    "model",
    "tool",
    "system",
    "stop",
    "interrupted",
    "blocked",
    "auto",
    "none",
    "json",
    "pending",
    "ask_question",
    "",
    "Model",
    "assistant",
    "\u{0}",
    "é😀",
];

const ROLES: &[&str] = &["user", "model", "tool", "system"];
const FINISH: &[&str] = &[
    "stop",
    "length",
    "blocked",
    "aborted",
    "interrupted",
    "other",
    "unknown",
];
const CHOICES: &[&str] = &["auto", "required", "none"];
const TOOLS: &[&str] = &["ask_question", "lookup", "a", ""];
const REFS: &[&str] = &["0", "r1", "call_abc", ""];
const PROTOCOL_KEYS: &[&str] = &[
    "interrupt",
    "pendingOutput",
    "pendingContent",
    "resolvedInterrupt",
    "interruptResponse",
    "source",
    "resumed",
    "replacedInput",
    "other",
];

type S = BoxedStrategy<Value>;

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e3f64..1e3,
        Just(0.0),
        Just(-0.0),
        Just(1.5),
        Just(12.0),
        Just(1e300),
        Just(f64::MIN_POSITIVE),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
    ]
}

fn leaf() -> S {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..300).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite_f64().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => prop::sample::select(PROTOCOL_KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z]{0,6}",
    ]
    .boxed()
}

/// Any JSON value, objects biased toward Genkit's keys.
fn any_value() -> S {
    leaf()
        .prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// `s` most of the time, any value now and then.
fn noisy(s: S) -> S {
    prop_oneof![19 => s, 1 => any_value()].boxed()
}

fn s(values: &'static [&'static str]) -> S {
    noisy(prop::sample::select(values).prop_map(Value::from).boxed())
}

fn string() -> S {
    noisy(
        prop_oneof![
            prop::sample::select(STRINGS).prop_map(Value::from),
            any::<String>().prop_map(Value::String)
        ]
        .boxed(),
    )
}

fn list(item: S, max: usize) -> S {
    noisy(
        prop::collection::vec(item, 0..max)
            .prop_map(Value::Array)
            .boxed(),
    )
}

/// An object: each required field is there, each optional one half the time, now and then an
/// unknown key; and now and then not an object at all.
fn object(required: Vec<(&'static str, S)>, optional: Vec<(&'static str, S)>) -> S {
    let required: Vec<_> = required
        .into_iter()
        .map(|(k, v)| {
            prop_oneof![19 => v.prop_map(Some), 1 => Just(None)]
                .prop_map(move |v| (k, v))
                .boxed()
        })
        .collect();
    let optional: Vec<_> = optional
        .into_iter()
        .map(|(k, v)| prop::option::of(v).prop_map(move |v| (k, v)).boxed())
        .collect();
    let extra = prop::option::weighted(0.1, (key(), any_value()));
    noisy(
        (required, optional, extra)
            .prop_map(|(req, opt, extra)| {
                let mut map = Map::new();
                for (k, v) in req.into_iter().chain(opt) {
                    if let Some(v) = v {
                        map.insert(k.to_owned(), v);
                    }
                }
                if let Some((k, v)) = extra {
                    map.insert(k, v);
                }
                Value::Object(map)
            })
            .boxed(),
    )
}

/// Metadata: protocol keys with plausible values.
fn metadata() -> S {
    noisy(
        prop::collection::vec(
            (
                prop::sample::select(PROTOCOL_KEYS).prop_map(str::to_owned),
                prop_oneof![Just(Value::Bool(true)), leaf(), any_value()],
            ),
            0..3,
        )
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed(),
    )
}

fn tool_request() -> S {
    object(
        vec![("name", s(TOOLS))],
        vec![
            ("ref", s(REFS)),
            ("input", any_value()),
            ("partial", any::<bool>().prop_map(Value::Bool).boxed()),
        ],
    )
}

/// A part without nested parts.
fn flat_part() -> S {
    let kind = prop_oneof![
        kv("text", string()),
        kv("data", any_value()),
        kv("reasoning", string()),
        kv("toolRequest", tool_request()),
        kv(
            "media",
            object(
                vec![("url", string())],
                vec![("contentType", s(&["image/png", "text/plain"]))]
            )
        ),
        kv("resource", object(vec![("uri", string())], vec![])),
    ];
    part_with(kind.boxed())
}

/// A key with a value drawn from `value`.
fn kv(key: &'static str, value: S) -> BoxedStrategy<(&'static str, Value)> {
    value.prop_map(move |v| (key, v)).boxed()
}

fn part_with(kind: BoxedStrategy<(&'static str, Value)>) -> S {
    let second = prop::option::weighted(0.05, (prop::sample::select(KEYS), leaf()));
    noisy(
        (
            prop::option::weighted(0.95, kind),
            second,
            prop::option::weighted(0.4, metadata()),
            prop::option::weighted(0.1, object(vec![], vec![("x", leaf())])),
        )
            .prop_map(|(kind, second, metadata, custom)| {
                let mut map = Map::new();
                if let Some((k, v)) = kind {
                    map.insert(k.to_owned(), v);
                }
                if let Some((k, v)) = second {
                    map.insert(k.to_owned(), v);
                }
                if let Some(m) = metadata {
                    map.insert("metadata".to_owned(), m);
                }
                if let Some(c) = custom {
                    map.insert("custom".to_owned(), c);
                }
                Value::Object(map)
            })
            .boxed(),
    )
}

/// Any part, tool responses with multipart content included.
fn part() -> S {
    let tool_response = object(
        vec![("name", s(TOOLS))],
        vec![
            ("ref", s(REFS)),
            ("output", any_value()),
            ("content", list(flat_part(), 3)),
        ],
    );
    let kind = prop_oneof![
        3 => kv("data", flat_part()),
        2 => kv("toolRequest", tool_request()),
        2 => kv("toolResponse", tool_response),
        2 => kv("text", string()),
    ];
    // the first arm nests a part as data; take the flat part itself most of the time
    prop_oneof![
        2 => flat_part(),
        3 => part_with(kind.boxed()),
    ]
    .boxed()
}

fn message() -> S {
    object(
        vec![("role", s(ROLES)), ("content", list(part(), 4))],
        vec![("metadata", metadata())],
    )
}

fn messages() -> S {
    list(message(), 4)
}

fn count() -> S {
    noisy(
        prop_oneof![
            (0u64..10_000).prop_map(Value::from),
            Just(Value::from(12.0)),
            Just(Value::from(1.5)),
            Just(Value::from(-1)),
            Just(Value::from(u64::MAX)),
            Just(Value::from(1.8446744073709552e19)),
        ]
        .boxed(),
    )
}

fn usage() -> S {
    object(
        vec![],
        vec![
            ("inputTokens", count()),
            ("outputTokens", count()),
            ("totalTokens", count()),
            ("thoughtsTokens", count()),
            ("custom", object(vec![], vec![("n", count())])),
        ],
    )
}

fn tool_definition() -> S {
    object(
        vec![("name", s(TOOLS)), ("description", string())],
        vec![
            ("inputSchema", any_value()),
            ("outputSchema", any_value()),
            ("metadata", metadata()),
            ("key", string()),
        ],
    )
}

fn docs() -> S {
    list(
        object(
            vec![("content", list(flat_part(), 2))],
            vec![("metadata", metadata())],
        ),
        2,
    )
}

fn model_request() -> S {
    object(
        vec![("messages", messages())],
        vec![
            ("config", any_value()),
            ("tools", list(tool_definition(), 2)),
            ("toolChoice", s(CHOICES)),
            (
                "output",
                object(
                    vec![],
                    vec![
                        ("format", s(&["json", "text"])),
                        ("schema", any_value()),
                        ("constrained", any::<bool>().prop_map(Value::Bool).boxed()),
                    ],
                ),
            ),
            ("docs", docs()),
        ],
    )
}

fn model_response() -> S {
    object(
        vec![],
        vec![
            ("message", message()),
            ("finishReason", s(FINISH)),
            ("finishMessage", string()),
            ("latencyMs", finite_f64().prop_map(Value::from).boxed()),
            ("usage", usage()),
            ("custom", any_value()),
            ("raw", any_value()),
            ("request", model_request()),
            ("operation", any_value()),
            ("candidates", list(any_value(), 2)),
        ],
    )
}

fn chunk() -> S {
    object(
        vec![("content", list(part(), 4))],
        vec![
            ("role", s(ROLES)),
            ("index", count()),
            ("custom", any_value()),
            ("aggregated", any::<bool>().prop_map(Value::Bool).boxed()),
        ],
    )
}

fn options() -> S {
    let resume = object(
        vec![],
        vec![
            ("respond", list(part(), 3)),
            ("restart", list(part(), 3)),
            ("metadata", metadata()),
        ],
    );
    object(
        vec![("messages", messages())],
        vec![
            ("model", string()),
            ("docs", docs()),
            ("tools", list(s(TOOLS), 3)),
            ("resources", list(string(), 2)),
            ("toolChoice", s(CHOICES)),
            ("config", any_value()),
            (
                "output",
                object(
                    vec![],
                    vec![
                        ("format", s(&["json", "text", "array"])),
                        ("jsonSchema", any_value()),
                        ("instructions", any_value()),
                        ("constrained", any::<bool>().prop_map(Value::Bool).boxed()),
                    ],
                ),
            ),
            ("resume", resume),
            (
                "returnToolRequests",
                any::<bool>().prop_map(Value::Bool).boxed(),
            ),
            ("maxTurns", count()),
            ("stepName", string()),
            ("use", list(any_value(), 2)),
        ],
    )
}

/// One of the shaped generators.
fn shaped() -> S {
    prop_oneof![
        part(),
        message(),
        options(),
        model_request(),
        model_response(),
        chunk(),
        any_value(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutation

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

const JSON_BYTES: &[u8] = b"{}[]\":,\\ 0123456789-+.eEtrufalsn\x00\xff\xc3\xa9u";

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(JSON_BYTES)).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), prop::sample::select(JSON_BYTES)).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % len };
        match *e {
            Edit::Flip(i, b) if len > 0 => bytes[at(i)] = b,
            Edit::Insert(i, b) => bytes.insert(if len == 0 { 0 } else { i % (len + 1) }, b),
            Edit::Delete(i, n) if len > 0 => {
                let start = at(i);
                let end = (start + n).min(len);
                bytes.drain(start..end);
            }
            Edit::Duplicate(i, n) if len > 0 => {
                let start = at(i);
                let end = (start + n).min(len);
                let copy: Vec<u8> = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Truncate(i) if len > 0 => bytes.truncate(at(i)),
            _ => {}
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// The seed corpus: `tests/corpus/<type>.<ok|err>.<what>.json`

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Parses `bytes` as the type its file name says; `Ok(accepted)` or a round-trip failure.
fn parse_as(kind: &str, bytes: &[u8]) -> Result<bool, TestCaseError> {
    fn one<T>(bytes: &[u8]) -> Result<bool, TestCaseError>
    where
        T: DeserializeOwned + Serialize + PartialEq + Debug,
    {
        match serde_json::from_slice::<T>(bytes) {
            Ok(t) => check_stable(&t).map(|()| true),
            Err(_) => Ok(false),
        }
    }
    match kind {
        "part" => one::<Part>(bytes),
        "message" => one::<Message>(bytes),
        "options" => one::<GenerateActionOptions>(bytes),
        "request" => one::<ModelRequest>(bytes),
        "response" => one::<ModelResponse>(bytes),
        "chunk" => one::<GenerateResponseChunk>(bytes),
        "generate" => match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => check_generate_response(&v),
            Err(_) => Ok(false),
        },
        other => panic!("corpus file for unknown type '{other}'"),
    }
}

#[test]
fn corpus_files_parse_as_their_names_say_and_round_trip() {
    let files = corpus();
    assert!(files.len() >= 20, "the seed corpus is there");
    for (name, bytes) in &files {
        let mut fields = name.split('.');
        let (kind, expect) = (fields.next().unwrap(), fields.next().unwrap());
        let accepted = parse_as(kind, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        match expect {
            "ok" => assert!(accepted, "{name} should deserialize"),
            "err" => assert!(!accepted, "{name} should be rejected"),
            other => panic!("{name}: expected ok or err, found {other}"),
        }
        // every other type: no panic, and round trips
        check_all_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The deserializers are deep enough in practice: a 128-deep history is bounded by serde_json's
/// recursion limit with an error, not a stack overflow.
#[test]
fn deeply_nested_input_is_rejected_without_overflow() {
    for depth in [127usize, 129, 10_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for wrapper in [
            format!(r#"{{"role":"user","content":[{{"data":{nested}}}]}}"#),
            format!(r#"{{"messages":[],"config":{nested}}}"#),
            format!(r#"{{"text":"a","metadata":{{"m":{nested}}}}}"#),
        ] {
            check_all_bytes(wrapper.as_bytes()).unwrap();
        }
    }
    let deep_ok = format!(
        r#"{{"role":"user","content":[{{"data":{}1{}}}]}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(serde_json::from_str::<Message>(&deep_ok).is_ok());
    let too_deep = format!(
        r#"{{"role":"user","content":[{{"data":{}1{}}}]}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(serde_json::from_str::<Message>(&too_deep).is_err());
}

// ---------------------------------------------------------------------------------------------
// The engine on arbitrary input: `/util/generate` options and model responses

#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Word {
    word: String,
}

/// An instance whose model plays back `responses` (as given, cycling; a plain answer for those
/// that do not deserialize) and whose tools are a normal one and an interrupt.
fn engine(responses: Vec<Value>) -> genkit_core::Genkit {
    use genkit_core::prelude::*;
    use genkit_core::testing::ProgrammableModel;
    let model = ProgrammableModel::new("pm");
    let turn = std::sync::atomic::AtomicUsize::new(0);
    model.set_handler(move |_req| {
        let i = turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let v = &responses[i % responses.len()];
        Ok(serde_json::from_value(v.clone())
            .unwrap_or_else(|_| ModelResponse::new(Message::model("ok"), FinishReason::Stop)))
    });
    let lookup = Tool::new(
        "lookup",
        "Length of a word",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    );
    let ask: Tool<Word, String> = Tool::interrupt("ask_question", "Asks the user");
    Genkit::builder()
        .model(model)
        .default_model("pm")
        .tool(lookup)
        .tool(ask)
        .build()
        .unwrap()
}

/// Runs `/util/generate` on `options` with a model answering `responses`: any result but a panic
/// (or a hang) is fine; a successful result is a wire response that round-trips.
fn check_generate(options: &Value, responses: Vec<Value>) -> Result<(), TestCaseError> {
    let ai = engine(responses);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = rt.block_on(ai.run_action(
        genkit_core::UTIL_GENERATE,
        options.clone(),
        genkit_core::ActionContext::default(),
    ));
    if let Ok(v) = result {
        check_generate_response(&v)?;
    }
    Ok(())
}

const ENGINE_TOOLS: &[&str] = &["lookup", "ask_question", "ask_question", "lookup", "nope"];
const ENGINE_REFS: &[&str] = &["0", "1", "lookup-0", "ask_question-1"];

/// A tool request the engine can mostly run: known tools, valid or invalid input, now and then
/// forged protocol metadata.
fn engine_tool_request() -> S {
    let input = prop_oneof![
        4 => any::<String>().prop_map(|w| serde_json::json!({ "word": w })),
        1 => Just(serde_json::json!(r#"{"word":"in a string"}"#)),
        1 => any_value(),
    ];
    (
        prop::sample::select(ENGINE_TOOLS),
        prop::option::of(prop::sample::select(ENGINE_REFS)),
        input,
        prop::option::weighted(0.3, metadata()),
    )
        .prop_map(|(name, ref_, input, metadata)| {
            let mut request = Map::new();
            request.insert("name".into(), name.into());
            if let Some(r) = ref_ {
                request.insert("ref".into(), r.into());
            }
            request.insert("input".into(), input);
            let mut part = Map::new();
            part.insert("toolRequest".into(), Value::Object(request));
            if let Some(m) = metadata {
                part.insert("metadata".into(), m);
            }
            Value::Object(part)
        })
        .boxed()
}

fn engine_part() -> S {
    prop_oneof![
        2 => string().prop_map(|t| serde_json::json!({ "text": t })),
        3 => engine_tool_request(),
        1 => part(),
    ]
    .boxed()
}

/// A model response the engine can mostly use: tool requests and text, usually `stop`.
fn engine_model_response() -> S {
    let message = object(
        vec![
            ("role", noisy(Just(Value::from("model")).boxed())),
            ("content", list(engine_part(), 4)),
        ],
        vec![],
    );
    let finish = prop_oneof![
        8 => Just(Value::from("stop")),
        1 => s(FINISH),
    ];
    prop_oneof![
        9 => (message, finish).prop_map(|(m, f)| serde_json::json!({ "message": m, "finishReason": f })),
        1 => model_response(),
    ]
    .boxed()
}

/// `/util/generate` options biased toward runnable calls: a prompt, or an interrupted turn to
/// resume with answers; tools that exist; few turns.
fn runnable_options() -> S {
    let prompt = Just(serde_json::json!([{ "role": "user", "content": [{ "text": "hi" }] }]));
    let paused = (list(engine_part(), 4), metadata()).prop_map(|(content, _)| {
        serde_json::json!([
            { "role": "user", "content": [{ "text": "hi" }] },
            { "role": "model", "content": content },
        ])
    });
    let answer = (
        prop::sample::select(ENGINE_TOOLS),
        prop::option::of(prop::sample::select(ENGINE_REFS)),
        any_value(),
    )
        .prop_map(|(name, ref_, output)| {
            serde_json::json!({ "toolResponse": { "name": name, "ref": ref_, "output": output } })
        });
    let resume = object(
        vec![],
        vec![
            (
                "respond",
                list(prop_oneof![4 => answer, 1 => part()].boxed(), 3),
            ),
            ("restart", list(engine_tool_request(), 2)),
        ],
    );
    prop_oneof![
        // a fresh call
        object(
            vec![
                ("messages", noisy(prompt.boxed())),
                (
                    "tools",
                    noisy(Just(serde_json::json!(["lookup", "ask_question"])).boxed())
                ),
            ],
            vec![
                ("maxTurns", noisy((0u64..4).prop_map(Value::from).boxed())),
                (
                    "returnToolRequests",
                    any::<bool>().prop_map(Value::Bool).boxed()
                ),
                (
                    "output",
                    object(
                        vec![],
                        vec![
                            (
                                "format",
                                s(&["json", "text", "array", "enum", "jsonl", "xml"])
                            ),
                            ("jsonSchema", any_value()),
                        ],
                    ),
                ),
            ],
        ),
        // a resume
        object(
            vec![
                ("messages", noisy(paused.boxed())),
                (
                    "tools",
                    noisy(Just(serde_json::json!(["lookup", "ask_question"])).boxed())
                ),
                ("resume", resume),
            ],
            vec![("maxTurns", noisy((0u64..4).prop_map(Value::from).boxed()))],
        ),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generate_on_arbitrary_options_and_model_output_never_panics(
        options in runnable_options(),
        responses in prop::collection::vec(engine_model_response(), 1..4),
    ) {
        check_generate(&options, responses)?;
    }

    #[test]
    fn shaped_json_values_never_panic_and_what_parses_round_trips(v in shaped()) {
        check_all_values(&v)?;
    }

    #[test]
    fn shaped_parts_and_messages_round_trip(p in part(), m in message()) {
        check_value::<Part>(&p)?;
        check_value::<Message>(&m)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_parses_round_trips(
        bytes in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        check_all_bytes(&bytes)?;
    }

    #[test]
    fn mutated_json_text_never_panics_and_what_parses_round_trips(
        v in shaped(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let bytes = apply(serde_json::to_vec(&v).unwrap(), &edits);
        check_all_bytes(&bytes)?;
    }

    #[test]
    fn mutated_corpus_files_never_panic_and_what_parses_round_trips(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let files = corpus();
        let (_, bytes) = &files[pick.index(files.len())];
        check_all_bytes(&apply(bytes.clone(), &edits))?;
    }
}

/// The generators reach the success paths: a fair share of shaped values deserialize (a guard
/// against generators so noisy that the round-trip properties never run).
#[test]
fn shaped_generators_mostly_produce_deserializable_values() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut tally = |name: &str, strategy: S, accepts: fn(&Value) -> bool| {
        let ok = (0..200)
            .filter(|_| accepts(&strategy.new_tree(&mut runner).unwrap().current()))
            .count();
        eprintln!("{name}: {ok} of 200 deserialize");
        assert!(ok >= 20, "{name}: only {ok} of 200 deserialize");
        ok
    };
    tally("part", part(), |v| {
        serde_json::from_value::<Part>(v.clone()).is_ok()
    });
    tally("message", message(), |v| {
        serde_json::from_value::<Message>(v.clone()).is_ok()
    });
    tally("options", options(), |v| {
        serde_json::from_value::<GenerateActionOptions>(v.clone()).is_ok()
    });
    tally("response", model_response(), |v| {
        serde_json::from_value::<ModelResponse>(v.clone()).is_ok()
    });
    tally("chunk", chunk(), |v| {
        serde_json::from_value::<GenerateResponseChunk>(v.clone()).is_ok()
    });
}
