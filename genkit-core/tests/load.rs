//! Load: 1,000 concurrent generations with tools and interrupts through the engine, all paused,
//! then all resumed concurrently; every answer must land on its own request.
//!
//! The model derives everything from the request it gets (no shared script): the generation's id
//! is read from the user prompt, the tool requests carry it, and on resume the model checks that
//! the tool message holds exactly its own id's answer and its own pending sibling output. The
//! refs are the same in every generation (`stamp-0`, `ask-1`), so only the content tells two
//! generations apart: an answer crossing over would not be caught by ref matching.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{join_all, BoxFuture};
use genkit_core::prelude::*;
use genkit_core::{protocol, Model, ModelContext, ModelRequest, Status};
use serde_json::{json, Value};
use tokio::sync::Barrier;

const N: usize = 1_000;
/// Bound on the whole test (it takes well under a second of engine time in a debug build).
const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct ById {
    id: u64,
}

fn prompt(id: u64) -> String {
    format!("generation #{id}: stamp it, then ask me")
}

fn stamp_of(id: u64) -> String {
    format!("stamp-{id}")
}

fn answer_of(id: u64) -> String {
    format!("answer-{id}")
}

fn final_text(id: u64) -> String {
    format!("done #{id}: {} + {}", stamp_of(id), answer_of(id))
}

/// `(name, ref, output, metadata)` of a tool response.
type Response = (String, Option<String>, Option<Value>, Option<Value>);

/// What the model saw when it was called after a resume, by generation id.
#[derive(Debug, Clone)]
struct Resumed {
    /// `(name, ref, output, metadata)` of every response of the last (tool) message.
    responses: Vec<Response>,
    /// Number of messages in the request.
    messages: usize,
}

/// Reads the id from the first user message of the request.
fn id_of(request: &ModelRequest) -> Result<u64, GenkitError> {
    let text = request
        .messages
        .iter()
        .find(|m| m.role == Role::User)
        .map(Message::text)
        .unwrap_or_default();
    text.strip_prefix("generation #")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            GenkitError::with_status(Status::InvalidArgument, format!("no id in prompt {text:?}"))
        })
}

fn fail(message: String) -> GenkitError {
    GenkitError::with_status(Status::Internal, message)
}

/// A model that asks for `stamp` and `ask` with the prompt's id, and on resume answers from the
/// tool message, after checking it belongs to its own generation.
struct IdModel {
    /// Every first-turn call waits here until all `N` generations are in flight.
    first_turn: Barrier,
    /// Every resumed call waits here until all `N` resumes are in flight.
    resumed_turn: Barrier,
    calls: AtomicUsize,
    seen: Mutex<HashMap<u64, Resumed>>,
}

impl Model for IdModel {
    fn name(&self) -> &str {
        "id-model"
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        _ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let id = id_of(request)?;
            let last = request
                .messages
                .last()
                .ok_or_else(|| fail("empty".into()))?;
            match last.role {
                Role::User => {
                    self.first_turn.wait().await;
                    // no refs: the engine assigns the same ones in every generation
                    let parts = vec![
                        Part::tool_request(ToolRequest::new("stamp", None, json!({ "id": id }))),
                        Part::tool_request(ToolRequest::new("ask", None, json!({ "id": id }))),
                    ];
                    Ok(ModelResponse::new(
                        Message::new(Role::Model, parts),
                        FinishReason::Stop,
                    ))
                }
                Role::Tool => {
                    self.resumed_turn.wait().await;
                    let responses = last
                        .content
                        .iter()
                        .filter_map(|p| {
                            p.as_tool_response().map(|r| {
                                (
                                    r.name.clone(),
                                    r.ref_.clone(),
                                    r.output.clone(),
                                    p.metadata.clone().map(Value::Object),
                                )
                            })
                        })
                        .collect::<Vec<_>>();
                    let output_of = |name: &str| {
                        responses
                            .iter()
                            .find(|r| r.0 == name)
                            .and_then(|r| r.2.as_ref())
                            .and_then(Value::as_str)
                            .unwrap_or("missing")
                            .to_owned()
                    };
                    let text = format!("done #{id}: {} + {}", output_of("stamp"), output_of("ask"));
                    let previous = self.seen.lock().unwrap().insert(
                        id,
                        Resumed {
                            responses,
                            messages: request.messages.len(),
                        },
                    );
                    if previous.is_some() {
                        return Err(fail(format!("generation #{id} resumed twice")));
                    }
                    Ok(ModelResponse::new(Message::model(text), FinishReason::Stop))
                }
                other => Err(fail(format!("unexpected last role {other:?}"))),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_interrupted_generations_each_resume_with_their_own_answer() {
    tokio::time::timeout(DEADLINE, run())
        .await
        .expect("the load test hung (a generation never reached the model?)");
}

async fn run() {
    let started = Instant::now();
    let model = Arc::new(IdModel {
        first_turn: Barrier::new(N),
        resumed_turn: Barrier::new(N),
        calls: AtomicUsize::new(0),
        seen: Mutex::new(HashMap::new()),
    });
    let stamp_runs = Arc::new(AtomicUsize::new(0));
    let runs = Arc::clone(&stamp_runs);
    let stamp = Tool::new(
        "stamp",
        "Stamps an id",
        move |r: ById, _ctx: ToolContext| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move {
                // let other generations run in between
                tokio::task::yield_now().await;
                ToolResult::Ok(stamp_of(r.id))
            }
        },
    );
    let ask: Tool<ById, String> = Tool::interrupt_with(
        "ask",
        "Asks the user about an id",
        |r: &ById| json!({ "about": r.id }),
    );

    /// Forwards to the shared model, so the test keeps a handle on it.
    struct Shared(Arc<IdModel>);
    impl Model for Shared {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn generate<'a>(
            &'a self,
            request: &'a ModelRequest,
            ctx: ModelContext,
        ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
            self.0.generate(request, ctx)
        }
    }
    let ai = Genkit::builder()
        .model(Shared(Arc::clone(&model)))
        .default_model("id-model")
        .tool(stamp)
        .tool(ask.clone())
        .build()
        .unwrap();

    // Phase 1: N generations at once; each pauses on its `ask`.
    let paused = join_all((0..N as u64).map(|id| {
        let ai = ai.clone();
        tokio::spawn(async move {
            let r = ai
                .generate()
                .prompt(prompt(id))
                .tools(["stamp", "ask"])
                .await;
            (id, r)
        })
    }))
    .await;
    let interrupted_at = started.elapsed();

    let mut by_id = HashMap::new();
    for joined in paused {
        let (id, result) = joined.expect("generation task panicked");
        let r = result.unwrap_or_else(|e| panic!("generation #{id} failed: {e}"));
        assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted), "#{id}");
        assert_eq!(r.messages().len(), 2, "#{id}: user prompt + model message");
        assert_eq!(r.messages()[0].text(), prompt(id), "#{id}: its own prompt");
        let interrupts = r.interrupts();
        assert_eq!(interrupts.len(), 1, "#{id}: exactly the ask is paused");
        let ById { id: asked } = interrupts[0].input().unwrap();
        assert_eq!(asked, id, "#{id}: the interrupt carries its own id");
        assert_eq!(interrupts[0].payload_value(), &json!({ "about": id }));
        assert_eq!(interrupts[0].ref_(), Some("ask-1"));
        let stamp_part = &r.messages()[1].content[0];
        assert_eq!(
            stamp_part.metadata_value(protocol::PENDING_OUTPUT),
            Some(&json!(stamp_of(id))),
            "#{id}: the sibling's output is kept as pending"
        );
        assert!(by_id.insert(id, r).is_none());
    }
    assert_eq!(by_id.len(), N);
    assert_eq!(stamp_runs.load(Ordering::SeqCst), N);

    // Phase 2: resume all at once, in another order than they were started.
    let resumes = join_all((0..N as u64).rev().map(|id| {
        let r = by_id.remove(&id).unwrap();
        let (ai, ask) = (ai.clone(), ask.clone());
        tokio::spawn(async move {
            let answer = ask.respond(&r.interrupts()[0], answer_of(id)).unwrap();
            let done = ai
                .generate()
                .messages(r.messages())
                .tool_responses([answer])
                .tools(["stamp", "ask"])
                .await;
            (id, done)
        })
    }))
    .await;
    let total = started.elapsed();

    for joined in resumes {
        let (id, result) = joined.expect("resume task panicked");
        let done = result.unwrap_or_else(|e| panic!("resume of #{id} failed: {e}"));
        assert_eq!(done.finish_reason(), Some(FinishReason::Stop), "#{id}");
        assert_eq!(done.text(), final_text(id), "#{id}: its own final answer");
        assert_eq!(done.messages().len(), 4, "#{id}: user, model, tool, model");
        assert_eq!(done.messages()[0].text(), prompt(id));
    }

    let seen = model.seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        N,
        "every generation reached the model once resumed"
    );
    for id in 0..N as u64 {
        let s = &seen[&id];
        assert_eq!(s.messages, 3, "#{id}: user, model, tool");
        let expected = vec![
            (
                "stamp".to_owned(),
                Some("stamp-0".to_owned()),
                Some(json!(stamp_of(id))),
                Some(json!({ protocol::SOURCE: "pending" })),
            ),
            (
                "ask".to_owned(),
                Some("ask-1".to_owned()),
                Some(json!(answer_of(id))),
                Some(json!({ protocol::INTERRUPT_RESPONSE: true })),
            ),
        ];
        assert_eq!(
            s.responses, expected,
            "#{id}: the resumed request holds exactly its own answer and pending output"
        );
    }
    assert_eq!(model.calls.load(Ordering::SeqCst), 2 * N);
    assert_eq!(
        stamp_runs.load(Ordering::SeqCst),
        N,
        "resume re-ran no tool"
    );
    eprintln!("load: {N} generations interrupted in {interrupted_at:?}, all resumed by {total:?}");
}
