//! Fuzzing the streaming path with proptest: the SSE parser and the tool-call delta
//! accumulator, over arbitrary byte streams cut at arbitrary points.
//!
//! Both are private to the plugin, so they are driven through its public streaming path: a
//! local keep-alive server sends the case's bytes as a `text/event-stream` body, one HTTP
//! chunk per piece (hyper hands each chunk over as it is, so the parser sees the cuts chosen
//! here, or finer ones), and [`OpenAIModel::generate`] streams it. The properties:
//!
//! - **no panic, no hang, typed errors**: any bytes end in `Ok` or in a `GenkitError::Model`
//!   holding a stream error (`StreamCut`, `StreamIncomplete`, `InvalidResponse`, `StreamApi`)
//!   with the matching status, within a bound;
//! - **cuts do not matter**: the same bytes cut differently give the same response or the same
//!   error, and the same streamed chunks;
//! - **well-formed streams reassemble exactly**: a stream generated from random text, reasoning
//!   and tool calls (arguments cut anywhere, calls interleaved by index, any line ending,
//!   comments) gives back exactly what was generated, in the response and in the chunks;
//! - the recorded `.sse` fixtures (the seed corpus) give the same result however they are cut;
//! - a non-streamed body of arbitrary bytes is `Ok` or a typed `InvalidResponse`.
//!
//! Cases per property: 256 by default; `PROPTEST_CASES=N` runs more (a longer fuzz session).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{fixture, Act, Chunks, Recorded, ScriptServer};
use genkit_core::{
    FinishReason, GenerateResponseChunk, GenkitError, Message, Model, ModelContext, ModelRequest,
    ModelResponse, Part, PartKind, Status, ToolRequest,
};
use genkit_openai::{OpenAI, OpenAIError, OpenAIModel, RetryPolicy};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde_json::{json, Map, Value};

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
            "/tests/proptest-regressions/fuzz_stream.txt"
        )))),
        max_shrink_iters: 1_000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The server and the calls

/// One runtime, one server and one model for all cases of all properties. Each call names its
/// case in the prompt; the server answers it with that case's script.
struct World {
    rt: tokio::runtime::Runtime,
    _server: ScriptServer,
    model: OpenAIModel,
    cases: Arc<Mutex<HashMap<u64, Act>>>,
    next: AtomicU64,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cases: Arc<Mutex<HashMap<u64, Act>>> = Arc::default();
        let script = Arc::clone(&cases);
        let server = rt.block_on(ScriptServer::start(Arc::new(move |r: &Recorded| {
            let v = r.json();
            let id = v["messages"][0]["content"]
                .as_str()
                .and_then(|p| p.strip_prefix("case "))
                .and_then(|n| n.parse::<u64>().ok());
            id.and_then(|id| script.lock().unwrap().remove(&id))
                .unwrap_or_else(|| Act::json(500, "no such case"))
        })));
        let model = OpenAI::builder()
            .name("fuzz")
            .base_url(&server.base_url)
            .retry(RetryPolicy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .model("m");
        World {
            rt,
            _server: server,
            model,
            cases,
            next: AtomicU64::new(0),
        }
    })
}

/// What a call came to, with what it streamed. `latency_ms` is cleared: it is the only part
/// that may differ between two runs of the same bytes.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok {
        response: Box<ModelResponse>,
        chunks: Vec<GenerateResponseChunk>,
    },
    Err {
        status: Status,
        error: String,
        chunks: Vec<GenerateResponseChunk>,
    },
}

/// Checks that `e` is a typed stream error; returns its status.
fn typed_stream_error(e: &GenkitError) -> Result<Status, TestCaseError> {
    let GenkitError::Model { status, source, .. } = e else {
        return Err(TestCaseError::fail(format!("not a model error: {e:?}")));
    };
    let Some(inner) = source.downcast_ref::<OpenAIError>() else {
        return Err(TestCaseError::fail(format!("not an OpenAIError: {e:?}")));
    };
    prop_assert_eq!(*status, inner.status());
    let expected = match inner {
        OpenAIError::StreamCut { .. } | OpenAIError::StreamIncomplete => Status::Unavailable,
        OpenAIError::InvalidResponse { .. } => Status::Internal,
        // An error event maps its code when it is an HTTP status.
        OpenAIError::StreamApi(_) => *status,
        other => {
            return Err(TestCaseError::fail(format!(
                "the server sent a complete 200 stream, yet: {other:?}"
            )))
        }
    };
    prop_assert_eq!(*status, expected, "{:?}", inner);
    Ok(*status)
}

/// Serves `act` for one call (streamed when `stream`) and returns its outcome.
fn call(act: Act, stream: bool) -> Result<Outcome, TestCaseError> {
    let w = world();
    let id = w.next.fetch_add(1, Ordering::Relaxed);
    w.cases.lock().unwrap().insert(id, act);
    let request = ModelRequest {
        messages: vec![Message::user(format!("case {id}"))].into(),
        ..ModelRequest::default()
    };
    let chunks = Chunks::default();
    let ctx = if stream {
        chunks.context()
    } else {
        ModelContext::new()
    };
    let result = w.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), w.model.generate(&request, ctx)).await
    });
    let Ok(result) = result else {
        return Err(TestCaseError::fail("the call hung"));
    };
    let chunks = chunks.all();
    Ok(match result {
        Ok(mut response) => {
            response.latency_ms = None;
            Outcome::Ok {
                response: Box::new(response),
                chunks,
            }
        }
        Err(e) => Outcome::Err {
            status: typed_stream_error(&e)?,
            error: e.to_string(),
            chunks,
        },
    })
}

/// Streams `pieces`, one HTTP chunk each.
fn stream(pieces: Vec<Vec<u8>>) -> Result<Outcome, TestCaseError> {
    call(
        Act::Stream {
            pieces: pieces.into_iter().map(|p| (Duration::ZERO, p)).collect(),
        },
        true,
    )
}

/// Known bug, shown by `a_byte_order_mark_cut_in_two_is_still_stripped` (ignored until
/// fixed): a UTF-8 byte order mark cut across the first two reads is not stripped, and the
/// first event is lost. Until the fix, no cut falls inside a leading byte order mark; set this
/// to false once it is fixed.
const AVOID_CUTS_IN_A_LEADING_BOM: bool = false;

/// `bytes` cut at `cuts` (any order, duplicates and out-of-range points ignored).
fn cut(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let in_bom = |c: usize| {
        AVOID_CUTS_IN_A_LEADING_BOM && bytes.starts_with(b"\xEF\xBB\xBF") && (1..3).contains(&c)
    };
    let mut points: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c < bytes.len() && !in_bom(c))
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        if p > start {
            pieces.push(bytes[start..p].to_vec());
            start = p;
        }
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// Generators: arbitrary streams

fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z ,.!?]{0,8}",
        2 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
        1 => prop::sample::select(vec!["\n", "\r\n", "\"", "\\", "data: ", "[DONE]", "\u{e9}", "\u{1f600}", "{\"a\":", "}"])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// A JSON value of any kind, small.
fn noise() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        short_text().prop_map(Value::from),
        Just(json!({})),
        Just(json!([])),
    ]
    .boxed()
}

/// Inserts each `(key, Some(value))`.
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    }
    Value::Object(m)
}

fn maybe<S: Strategy<Value = Value>>(s: S) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 3 => s.prop_map(Some)]
}

/// Known bug, shown by `a_call_without_index_after_the_largest_index_does_not_panic`
/// (ignored until fixed): a tool-call delta without `index` after one with index `u32::MAX`
/// overflows `index + 1` (a panic in debug builds or with overflow checks, a wrap to 0
/// otherwise). Until the fix, the largest index generated stays clear of `u32::MAX`; set this
/// to false once it is fixed.
const AVOID_THE_LARGEST_CALL_INDEX: bool = false;

/// The largest tool-call index generated.
const BIG_INDEX: u32 = if AVOID_THE_LARGEST_CALL_INDEX {
    1 << 30
} else {
    u32::MAX
};

/// A tool-call index: small, huge, absent, or of the wrong type.
fn call_index() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        5 => (0u32..3).prop_map(|i| Some(json!(i))),
        3 => Just(None),
        2 => Just(Some(json!(BIG_INDEX))),
        1 => Just(Some(json!(-1))),
        1 => Just(Some(json!("0"))),
        1 => Just(Some(Value::Null)),
    ]
    .boxed()
}

fn tool_call_delta() -> BoxedStrategy<Value> {
    (
        call_index(),
        maybe(prop_oneof![
            4 => prop::sample::select(vec!["call_a", "call_b", "call_c", ""]).prop_map(Value::from),
            1 => noise()
        ]),
        maybe(prop_oneof![
            4 => prop::sample::select(vec!["get", "put", ""]).prop_map(Value::from),
            1 => noise()
        ]),
        maybe(prop_oneof![
            4 => short_text().prop_map(Value::from),
            1 => Just(json!({"x": 1})),
            1 => noise()
        ]),
    )
        .prop_map(|(index, id, name, arguments)| {
            object(vec![
                ("index", index),
                ("id", id),
                ("type", Some(json!("function"))),
                (
                    "function",
                    Some(object(vec![("name", name), ("arguments", arguments)])),
                ),
            ])
        })
        .boxed()
}

fn delta() -> BoxedStrategy<Value> {
    let text = || maybe(prop_oneof![4 => short_text().prop_map(Value::from), 1 => noise()]);
    (
        text(),
        text(),
        text(),
        text(),
        maybe(prop_oneof![
            4 => prop::collection::vec(tool_call_delta(), 0..3).prop_map(Value::from),
            1 => noise()
        ]),
    )
        .prop_map(
            |(content, reasoning_content, reasoning, refusal, tool_calls)| {
                object(vec![
                    ("content", content),
                    ("reasoning_content", reasoning_content),
                    ("reasoning", reasoning),
                    ("refusal", refusal),
                    ("tool_calls", tool_calls),
                ])
            },
        )
        .boxed()
}

fn choice() -> BoxedStrategy<Value> {
    (
        prop_oneof![6 => Just(Some(json!(0))), 1 => Just(Some(json!(1))), 1 => Just(None), 1 => noise().prop_map(Some)],
        maybe(prop_oneof![6 => delta(), 1 => noise()]),
        maybe(prop::sample::select(vec!["stop", "length", "tool_calls", "content_filter", "odd"]).prop_map(Value::from)),
    )
        .prop_map(|(index, delta, finish_reason)| {
            object(vec![
                ("index", index),
                ("delta", delta),
                ("finish_reason", finish_reason),
            ])
        })
    .boxed()
}

/// A `chat.completion.chunk`-like event payload: mostly right, sometimes wrong.
fn chunk_json() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => (
            maybe(prop_oneof![4 => prop::collection::vec(choice(), 0..3).prop_map(Value::from), 1 => noise()]),
            maybe(prop_oneof![
                3 => (0u64..100, 0u64..100).prop_map(|(p, c)| json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})),
                1 => noise()
            ]),
        )
            .prop_map(|(choices, usage)| object(vec![("choices", choices), ("usage", usage)])),
        1 => Just(json!({"error": {"message": "boom", "type": "server_error", "code": 503}})),
        1 => Just(json!({"error": "bare"})),
        1 => noise(),
    ]
    .boxed()
}

/// A piece of an event stream: mostly whole events, plus every kind of line and noise.
fn fragment() -> BoxedStrategy<Vec<u8>> {
    let literal = prop::sample::select(vec![
        &b"data: "[..],
        b"data:",
        b"data: [DONE]\n\n",
        b"data: [DONE]",
        b"[DONE]",
        b"event: error\n",
        b"event: message\n",
        b": keep-alive\n\n",
        b"id: 7\nretry: 100\n",
        b"\n",
        b"\r\n",
        b"\r",
        b"\n\n",
        b"\r\n\r\n",
        b"\xEF\xBB\xBF",
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n",
        b"data: {\"error\":{\"message\":\"rate\",\"code\":429}}\n\n",
    ])
    .prop_map(<[u8]>::to_vec);
    prop_oneof![
        6 => chunk_json().prop_map(|v| format!("data: {v}\n\n").into_bytes()),
        1 => chunk_json().prop_map(|v| format!("data:{v}\r\n\r\n").into_bytes()),
        2 => chunk_json().prop_map(|v| v.to_string().into_bytes()),
        4 => literal,
        1 => prop::collection::vec(any::<u8>(), 0..16),
        1 => short_text().prop_map(String::into_bytes),
    ]
    .boxed()
}

/// An arbitrary byte stream: fragments glued together, or plain random bytes; sometimes
/// behind a byte order mark.
fn stream_bytes() -> BoxedStrategy<Vec<u8>> {
    let body = prop_oneof![
        4 => prop::collection::vec(fragment(), 0..24).prop_map(|f| f.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..600),
    ];
    (prop::bool::weighted(0.15), body)
        .prop_map(|(bom, body)| {
            if bom {
                [&b"\xEF\xBB\xBF"[..], &body].concat()
            } else {
                body
            }
        })
        .boxed()
}

/// Bytes with two sets of cut points; cuts near the start are favoured.
fn bytes_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>, Vec<usize>)> {
    stream_bytes().prop_flat_map(|bytes| {
        let n = bytes.len().max(1);
        let cuts = move || prop::collection::vec(prop_oneof![3 => 0..n, 1 => 0..n.min(4)], 0..16);
        (Just(bytes), cuts(), cuts())
    })
}

// ---------------------------------------------------------------------------------------------
// Generators: well-formed streams

/// One generated tool call.
#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    arguments: Value,
    /// Where its arguments' JSON text is cut into deltas (char indices, any order).
    cuts: Vec<usize>,
}

/// What a well-formed stream carries, and how it is written.
#[derive(Debug, Clone)]
struct Plan {
    reasoning: Vec<String>,
    content: Vec<String>,
    calls: Vec<Call>,
    /// Which of reasoning (0), content (1) or call `k` (2 + k) sends its next delta, in turn;
    /// whatever is left is sent in that order after.
    schedule: Vec<usize>,
    finish: &'static str,
    usage: Option<(u64, u64)>,
    done: bool,
    eol: &'static str,
    comments: Vec<bool>,
    space: bool,
}

fn json_arguments() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec(any::<char>(), 0..8).prop_map(|c| Value::from(String::from_iter(c))),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-z_]{1,8}", value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn plan() -> impl Strategy<Value = Plan> {
    let piece = || prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter);
    let calls = prop::collection::vec(
        (
            "[a-z_]{1,12}",
            json_arguments(),
            prop::collection::vec(0usize..64, 0..6),
        ),
        0..4,
    )
    .prop_map(|calls| {
        calls
            .into_iter()
            .enumerate()
            .map(|(k, (name, arguments, cuts))| Call {
                id: format!("call_{k}"),
                name,
                arguments,
                cuts,
            })
            .collect::<Vec<_>>()
    });
    (
        prop::collection::vec(piece(), 0..5),
        prop::collection::vec(piece(), 0..8),
        calls,
        prop::collection::vec(0usize..6, 0..40),
        prop::sample::select(vec!["stop", "length", "tool_calls", "content_filter"]),
        prop::option::of((0u64..1000, 0u64..1000)),
        any::<bool>(),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
        prop::collection::vec(prop::bool::weighted(0.2), 0..40),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(reasoning, content, calls, schedule, finish, usage, done, eol, comments, space)| {
                Plan {
                    reasoning,
                    content,
                    calls,
                    schedule,
                    finish,
                    usage,
                    done,
                    eol,
                    comments,
                    space,
                }
            },
        )
}

/// `text` cut at char indices `cuts` into at least one piece.
fn cut_text(text: &str, cuts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| c % (chars.len() + 1))
        .filter(|&c| c > 0 && c < chars.len())
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([chars.len()]) {
        pieces.push(chars[start..p].iter().collect());
        start = p;
    }
    pieces
}

impl Plan {
    /// The event payloads, in order.
    fn events(&self) -> Vec<Value> {
        let mut events = vec![
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}),
        ];
        let mut reasoning = self.reasoning.iter();
        let mut content = self.content.iter();
        let mut calls: Vec<(usize, std::vec::IntoIter<String>)> = self
            .calls
            .iter()
            .map(|c| (0, cut_text(&c.arguments.to_string(), &c.cuts).into_iter()))
            .collect();
        let delta =
            |d: Value| json!({"choices": [{"index": 0, "delta": d, "finish_reason": null}]});
        let mut next = |who: usize, events: &mut Vec<Value>| -> Option<()> {
            match who {
                0 => events.push(delta(json!({"reasoning_content": reasoning.next()?}))),
                1 => events.push(delta(json!({"content": content.next()?}))),
                k => {
                    let k = k - 2;
                    let call = self.calls.get(k)?;
                    let (sent, pieces) = calls.get_mut(k)?;
                    let piece = pieces.next()?;
                    let d = if *sent == 0 {
                        json!({"index": k, "id": call.id, "type": "function",
                               "function": {"name": call.name, "arguments": piece}})
                    } else {
                        json!({"index": k, "function": {"arguments": piece}})
                    };
                    *sent += 1;
                    events.push(delta(json!({"tool_calls": [d]})));
                }
            }
            Some(())
        };
        for &who in &self.schedule {
            next(who, &mut events);
        }
        for who in 0..2 + self.calls.len() {
            while next(who, &mut events).is_some() {}
        }
        events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": self.finish}]}));
        if let Some((p, c)) = self.usage {
            events.push(json!({"choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}}));
        }
        events
    }

    /// The stream's bytes.
    fn bytes(&self) -> Vec<u8> {
        let eol = self.eol;
        let data = if self.space { "data: " } else { "data:" };
        let mut out = String::new();
        for (k, event) in self.events().iter().enumerate() {
            if self.comments.get(k).copied().unwrap_or(false) {
                out.push_str(&format!(": keep-alive{eol}{eol}"));
            }
            out.push_str(&format!("{data}{event}{eol}{eol}"));
        }
        if self.done {
            out.push_str(&format!("{data}[DONE]{eol}{eol}"));
        }
        out.into_bytes()
    }

    /// The answer's text, streamed and in the response: all of it, except text with no letter
    /// or digit beside tool calls (llama.cpp's leftover brace), which is dropped.
    fn expected_text(&self) -> String {
        let text = self.content.concat();
        if !self.calls.is_empty() && !text.chars().any(char::is_alphanumeric) {
            return String::new();
        }
        text
    }

    /// The response the stream must give: reasoning, text, tool requests in index order.
    fn expected_content(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        let reasoning = self.reasoning.concat();
        if !reasoning.is_empty() {
            parts.push(Part::reasoning(reasoning));
        }
        let text = self.expected_text();
        if !text.is_empty() {
            parts.push(Part::text(text));
        }
        for c in &self.calls {
            parts.push(Part::tool_request(ToolRequest {
                ref_: Some(c.id.clone()),
                name: c.name.clone(),
                input: Some(c.arguments.clone()),
                partial: None,
            }));
        }
        parts
    }

    fn expected_finish(&self) -> FinishReason {
        match self.finish {
            "length" => FinishReason::Length,
            "content_filter" => FinishReason::Blocked,
            _ => FinishReason::Stop,
        }
    }
}

/// The streamed chunks' parts: text and reasoning deltas each joined, tool requests as they
/// are.
fn joined(chunks: &[GenerateResponseChunk]) -> (String, String, Vec<Part>) {
    let (mut text, mut reasoning, mut others) = (String::new(), String::new(), Vec::new());
    for part in chunks.iter().flat_map(|c| &c.content) {
        if let Some(t) = part.as_text() {
            text.push_str(t);
        } else if let PartKind::Reasoning(r) = &part.kind {
            reasoning.push_str(r);
        } else {
            others.push(part.clone());
        }
    }
    (text, reasoning, others)
}

// ---------------------------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config())]

    /// Any bytes, cut anywhere: `Ok` or a typed stream error, never a panic or a hang; and
    /// the same bytes cut otherwise (or not at all) come to the same.
    #[test]
    fn any_byte_stream_cut_anywhere_is_typed_and_cut_independent(
        (bytes, cuts_a, cuts_b) in bytes_and_cuts()
    ) {
        let a = stream(cut(&bytes, &cuts_a))?;
        let b = stream(cut(&bytes, &cuts_b))?;
        prop_assert_eq!(&a, &b, "bytes: {:?}", String::from_utf8_lossy(&bytes));
    }

    /// A well-formed stream, cut anywhere, gives back exactly what was generated.
    #[test]
    fn a_well_formed_stream_reassembles_exactly(
        (plan, cuts) in plan().prop_flat_map(|p| {
            let n = p.bytes().len();
            (Just(p), prop::collection::vec(0..n, 0..24))
        })
    ) {
        let bytes = plan.bytes();
        let outcome = stream(cut(&bytes, &cuts))?;
        let Outcome::Ok { response, chunks } = outcome else {
            return Err(TestCaseError::fail(format!(
                "{outcome:?}\nstream: {}", String::from_utf8_lossy(&bytes)
            )));
        };
        let message = response.message.clone().expect("a message");
        prop_assert_eq!(&message.content, &plan.expected_content());
        prop_assert_eq!(response.finish_reason, Some(plan.expected_finish()));
        let usage = response.usage.as_ref().map(|u| (u.input_tokens, u.output_tokens, u.total_tokens));
        prop_assert_eq!(usage, plan.usage.map(|(p, c)| (Some(p), Some(c), Some(p + c))));
        // What was streamed adds up to the same: text and reasoning as they came, the tool
        // requests whole at the end.
        let (text, reasoning, others) = joined(&chunks);
        prop_assert_eq!(text, plan.expected_text());
        prop_assert_eq!(reasoning, plan.reasoning.concat());
        let requests: Vec<Part> = plan
            .expected_content()
            .into_iter()
            .filter(|p| p.as_tool_request().is_some())
            .collect();
        prop_assert_eq!(others, requests);
    }

    /// The recorded streams (the seed corpus), cut anywhere, give what they give whole.
    #[test]
    fn the_recorded_streams_cut_anywhere_give_the_same_result(
        (name, cuts) in prop::sample::select(vec![
            "openai/chat_text.sse",
            "openai/chat_tool_calls.sse",
            "llamacpp/chat_text.sse",
            "llamacpp/chat_tool_call.sse",
        ])
        .prop_flat_map(|name| {
            let n = fixture(name).len();
            (Just(name), prop::collection::vec(0..n, 0..32))
        })
    ) {
        let bytes = fixture(name);
        let whole = stream(vec![bytes.clone()])?;
        prop_assert!(matches!(whole, Outcome::Ok { .. }), "{}: {:?}", name, whole);
        let pieces = stream(cut(&bytes, &cuts))?;
        prop_assert_eq!(whole, pieces, "{}", name);
    }

    /// A non-streamed 200 answer of arbitrary bytes: `Ok` or a typed `InvalidResponse`.
    #[test]
    fn any_plain_body_is_ok_or_a_typed_invalid_response(
        body in prop_oneof![
            3 => chunk_json().prop_map(|v| {
                // a chunk's choices carry `delta`; a completion's carry `message`
                v.to_string().replace("\"delta\"", "\"message\"").into_bytes()
            }),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ]
    ) {
        let outcome = call(Act::json(200, body.clone()), false)?;
        if let Outcome::Err { status, .. } = &outcome {
            prop_assert_eq!(*status, Status::Internal, "{:?}", outcome);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bugs found by the properties above, as plain tests (ignored until fixed)

const HELLO_THEN_STOP: &[u8] =
    b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

#[test]
fn a_byte_order_mark_cut_in_two_is_still_stripped() {
    let body = [&b"\xEF\xBB\xBF"[..], HELLO_THEN_STOP].concat();
    let whole = stream(vec![body.clone()]).unwrap();
    let text = |o: &Outcome| match o {
        Outcome::Ok { response, .. } => response.message.as_ref().map(|m| m.text()),
        Outcome::Err { .. } => None,
    };
    assert_eq!(text(&whole).as_deref(), Some("Hello"));
    for at in 1..3 {
        let cut = stream(vec![body[..at].to_vec(), body[at..].to_vec()]).unwrap();
        // Today: Ok, with an empty message: "Hello" is gone.
        assert_eq!(
            text(&cut).as_deref(),
            Some("Hello"),
            "BOM cut after {at} byte(s)"
        );
        assert_eq!(cut, whole);
    }
}

#[test]
fn a_call_without_index_after_the_largest_index_does_not_panic() {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":4294967295,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
    // Today, in a debug build: "attempt to add with overflow" at the `l.index + 1` that
    // numbers a call sent without an index.
    let outcome = stream(vec![body.to_vec()]).unwrap();
    // Either answer is fine; a panic is not. If accepted, both calls are kept, in the order
    // they came.
    if let Outcome::Ok { response, .. } = outcome {
        let message = response.message.expect("a message");
        let names: Vec<&str> = message.tool_requests().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["f", "g"]);
    }
}
