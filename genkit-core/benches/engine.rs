//! Engine overhead per operation, the same two scenarios as the Genkit JS and Python anchors:
//!
//! - `tool_roundtrip`: prompt -> model asks for a normal tool -> tool runs -> model answers
//!   (one generate call, two model calls);
//! - `interrupt_resume`: prompt -> model asks for an interrupt tool -> interrupted -> resume with
//!   an answer -> model answers (two generate calls).
//!
//! The model is in-process and instant, so what is measured is the engine itself.

use criterion::{criterion_group, Criterion, Throughput};
use futures::future::{join_all, BoxFuture};
use genkit_core::middleware::{Hooks, Middleware};
use genkit_core::prelude::*;
use genkit_core::{Model, ModelContext, ModelRequest};
use serde_json::json;
use std::sync::Arc;

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Questions {
    choices: Vec<String>,
    allow_other: bool,
}

/// Answers "done" after a tool message; otherwise asks for `ask_question` if offered, else `lookup`.
struct Fake;

impl Model for Fake {
    fn name(&self) -> &str {
        "fake"
    }

    fn generate<'a>(
        &'a self,
        req: &'a ModelRequest,
        _ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let last_is_tool = req.messages.last().is_some_and(|m| m.role == Role::Tool);
            let message = if last_is_tool {
                Message::model("done")
            } else {
                let tool = if req.tools().iter().any(|t| t.name == "ask_question") {
                    "ask_question"
                } else {
                    "lookup"
                };
                let input = json!({"choices": ["a", "b"], "allow_other": false});
                Message::new(
                    Role::Model,
                    vec![Part::tool_request(ToolRequest::new(
                        tool,
                        Some("r1".into()),
                        input,
                    ))],
                )
            };
            Ok(ModelResponse::new(message, FinishReason::Stop))
        })
    }
}

/// Answers "done" at once: a generate call with no tools, the engine's cheapest path (what
/// `ai.generate()` adds to a model call; genkit-openai's `http` bench measures it over HTTP).
struct Text;

impl Model for Text {
    fn name(&self) -> &str {
        "text"
    }

    fn generate<'a>(
        &'a self,
        _req: &'a ModelRequest,
        _ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            Ok(ModelResponse::new(
                Message::model("done"),
                FinishReason::Stop,
            ))
        })
    }
}

fn setup() -> (Genkit, Tool<Questions, String>) {
    let lookup = Tool::new(
        "lookup",
        "look up",
        |q: Questions, _ctx: ToolContext| async move {
            ToolResult::Ok(q.choices.into_iter().next().unwrap_or_default())
        },
    );
    let ask: Tool<Questions, String> = Tool::interrupt("ask_question", "ask");
    let ai = Genkit::builder()
        .model(Fake)
        .model(Text)
        .default_model("fake")
        .tool(lookup)
        .tool(ask.clone())
        .build()
        .expect("instance");
    (ai, ask)
}

async fn plain(ai: &Genkit) {
    let r = ai
        .generate()
        .model("text")
        .prompt("hi")
        .await
        .expect("generate");
    assert_eq!(r.text(), "done");
}

async fn tool_roundtrip(ai: &Genkit) {
    let r = ai
        .generate()
        .prompt("hi")
        .tools(["lookup"])
        .await
        .expect("generate");
    assert_eq!(r.text(), "done");
}

/// A middleware that implements no hook, and says so.
struct Empty;
impl Middleware for Empty {
    fn name(&self) -> &str {
        "empty"
    }
    fn hooks(&self) -> Hooks {
        Hooks::NONE
    }
}

/// A middleware that implements no hook but does not say so: the chain calls every hook,
/// and the defaults forward (the worst case of a chain that does nothing).
struct Forwarding;
impl Middleware for Forwarding {
    fn name(&self) -> &str {
        "forwarding"
    }
}

/// The round trip inside a chain of three middlewares that do nothing (the cost of the
/// chain itself): declared empty (`forwarding == false`) or forwarding on every hook.
async fn tool_roundtrip_mw3(ai: &Genkit, forwarding: bool) {
    let call = ai.generate().prompt("hi").tools(["lookup"]);
    let call = if forwarding {
        call.middleware(Forwarding)
            .middleware(Forwarding)
            .middleware(Forwarding)
    } else {
        call.middleware(Empty).middleware(Empty).middleware(Empty)
    };
    let r = call.await.expect("generate");
    assert_eq!(r.text(), "done");
}

/// [`tool_roundtrip_mw3`] with one middleware value shared by every call (an `Arc` held by
/// the application), so the call allocates none: the cost of the chain alone.
async fn tool_roundtrip_shared(ai: &Genkit, shared: &Arc<dyn Middleware>) {
    let r = ai
        .generate()
        .prompt("hi")
        .tools(["lookup"])
        .middleware_arc(Arc::clone(shared))
        .middleware_arc(Arc::clone(shared))
        .middleware_arc(Arc::clone(shared))
        .await
        .expect("generate");
    assert_eq!(r.text(), "done");
}

async fn interrupt_resume(ai: &Genkit, ask: &Tool<Questions, String>) {
    let r = ai
        .generate()
        .prompt("hi")
        .tools(["ask_question"])
        .await
        .expect("generate");
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    let answer = ask
        .respond(&r.interrupts()[0], "b".into())
        .expect("respond");
    let r2 = ai
        .generate()
        .messages(r.messages())
        .tool_responses([answer])
        .tools(["ask_question"])
        .await
        .expect("resume");
    assert_eq!(r2.text(), "done");
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let (ai, ask) = setup();

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("plain/conc=1", |b| b.to_async(&rt).iter(|| plain(&ai)));
    g.bench_function("tool_roundtrip/conc=1", |b| {
        b.to_async(&rt).iter(|| tool_roundtrip(&ai))
    });
    g.bench_function("tool_roundtrip/mw=3", |b| {
        b.to_async(&rt).iter(|| tool_roundtrip_mw3(&ai, false))
    });
    let shared: Arc<dyn Middleware> = Arc::new(Empty);
    g.bench_function("tool_roundtrip/mw=3-shared", |b| {
        b.to_async(&rt).iter(|| tool_roundtrip_shared(&ai, &shared))
    });
    g.bench_function("tool_roundtrip/mw=3-forwarding", |b| {
        b.to_async(&rt).iter(|| tool_roundtrip_mw3(&ai, true))
    });
    g.bench_function("interrupt_resume/conc=1", |b| {
        b.to_async(&rt).iter(|| interrupt_resume(&ai, &ask))
    });
    // 64 operations in flight at once; criterion reports the time for all 64.
    g.throughput(Throughput::Elements(64));
    g.bench_function("tool_roundtrip/conc=64", |b| {
        b.to_async(&rt).iter(|| async {
            let ops = (0..64).map(|_| {
                let ai = ai.clone();
                tokio::spawn(async move { tool_roundtrip(&ai).await })
            });
            join_all(ops).await;
        })
    });
    g.bench_function("interrupt_resume/conc=64", |b| {
        b.to_async(&rt).iter(|| async {
            let ops = (0..64).map(|_| {
                let (ai, ask) = (ai.clone(), ask.clone());
                tokio::spawn(async move { interrupt_resume(&ai, &ask).await })
            });
            join_all(ops).await;
        })
    });
    g.finish();
}

criterion_group!(benches, engine);

/// `engine count <mw> <n>`: runs `n` round trips with `mw` middlewares (`0`; `3`: declared
/// empty; `3s`: declared empty, one shared value; `3f`: forwarding on every hook; `ir`: the
/// interrupt and resume instead; `plain`: one call answered with text, no tools) on one thread and exits, for instruction counts under `valgrind --tool=callgrind`; otherwise the
/// criterion benches.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("count") {
        let mw = args.get(2).map_or("0", String::as_str).to_owned();
        let n: u32 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (ai, ask) = setup();
        let shared: Arc<dyn Middleware> = Arc::new(Empty);
        rt.block_on(async {
            for _ in 0..n {
                match mw.as_str() {
                    "3" => tool_roundtrip_mw3(&ai, false).await,
                    "3f" => tool_roundtrip_mw3(&ai, true).await,
                    "3s" => tool_roundtrip_shared(&ai, &shared).await,
                    "ir" => interrupt_resume(&ai, &ask).await,
                    "plain" => plain(&ai).await,
                    _ => tool_roundtrip(&ai).await,
                }
            }
        });
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
