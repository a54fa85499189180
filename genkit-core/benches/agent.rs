//! Agent overhead per operation, the scenarios of the Genkit JS and Python anchors:
//!
//! - `agent_turn`: one `send` on a server-managed prompt agent, the model answers with text;
//! - `agent_interrupt_resume`: `send` -> the model asks an interrupt tool -> `load_chat` by the
//!   interrupted snapshot id -> `resume` with the answer -> the model answers;
//! - `agent_turn_continued` (in-memory store): `send` after `send` in one chat.
//!
//! `agent_turn` and `agent_interrupt_resume` start every iteration from the same seeded
//! snapshot, so from the second iteration on each one is a branch of it; a conversation that
//! goes on (`agent_turn_continued`) never branches. Each with the in-memory and the file store, from a fresh session (`prior=0`) and from a
//! session with 50 completed turns (`prior=50`), to show how cost grows with history. The model
//! is in-process and instant, so what is measured is the agent, the engine and the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, Criterion};
use futures::future::BoxFuture;
use genkit_core::agent::{Agent, ChatRef, PromptSpec};
use genkit_core::prelude::*;
use genkit_core::session::{FileSessionStore, InMemorySessionStore, SessionStore};
use genkit_core::{AgentInit, Model, ModelContext, ModelRequest};
use serde_json::json;

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Approval {
    amount: u32,
}

/// Asks `approve` when the last user message says "pay", else answers "ok".
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
            let last = req.messages.last();
            let pay = last.is_some_and(|m| m.role == Role::User && m.text() == "pay");
            let message = if pay {
                Message::new(
                    Role::Model,
                    vec![Part::tool_request(ToolRequest::new(
                        "approve",
                        Some("a1".into()),
                        json!({"amount": 5}),
                    ))],
                )
            } else {
                Message::model("ok")
            };
            Ok(ModelResponse::new(message, FinishReason::Stop))
        })
    }
}

fn instance(store: Arc<dyn SessionStore>) -> (Genkit, Agent, Tool<Approval, bool>) {
    let approve: Tool<Approval, bool> = Tool::interrupt("approve", "asks a human to approve");
    let agent: Agent = Agent::prompt("bench", PromptSpec::new().model("fake").tools(["approve"]))
        .shared_store(store)
        .build();
    let ai = Genkit::builder()
        .model(Fake)
        .tool(approve.clone())
        .agent(agent.clone())
        .build()
        .expect("instance");
    (ai, agent, approve)
}

/// A session with `prior` completed turns; the init to continue it.
async fn seed(ai: &Genkit, agent: &Agent, prior: usize) -> AgentInit {
    let mut chat = agent.chat(ai);
    for _ in 0..prior {
        chat.send("hello").await.expect("seed turn");
    }
    chat.init().clone()
}

async fn turn(ai: &Genkit, agent: &Agent, init: &AgentInit) {
    let mut chat = agent.chat_with(ai, init.clone());
    let r = chat.send("hello").await.expect("send");
    assert_eq!(r.text(), "ok");
}

/// `n` turns of one chat, each continuing from the one before.
async fn continued(ai: &Genkit, agent: &Agent, init: &AgentInit, n: u32) {
    let mut chat = agent.chat_with(ai, init.clone());
    for _ in 0..n {
        let r = chat.send("hello").await.expect("send");
        assert_eq!(r.text(), "ok");
    }
}

async fn interrupt_resume(
    ai: &Genkit,
    agent: &Agent,
    approve: &Tool<Approval, bool>,
    init: &AgentInit,
) {
    let mut chat = agent.chat_with(ai, init.clone());
    let paused = chat.send("pay").await.expect("send");
    let interrupt = paused.interrupts().into_iter().next().expect("interrupted");
    let id = paused.snapshot_id().expect("snapshot").to_owned();
    let mut later = agent
        .load_chat(ai, ChatRef::Snapshot(id))
        .await
        .expect("load");
    let answer = approve.respond(&interrupt, true).expect("respond");
    let done = later.resume([answer]).await.expect("resume");
    assert_eq!(done.text(), "ok");
}

static DIRS: AtomicU64 = AtomicU64::new(0);

fn bench_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "genkit-agent-bench-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ))
}

fn file_store() -> Arc<dyn SessionStore> {
    Arc::new(FileSessionStore::new(bench_dir()))
}

/// The file store without `fsync` (count mode only: what the store costs besides the disk).
fn file_store_unsynced() -> Arc<dyn SessionStore> {
    Arc::new(FileSessionStore::builder(bench_dir()).fsync(false).build())
}

fn agents(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("agent");
    for (store_name, make) in [
        (
            "memory",
            (|| Arc::new(InMemorySessionStore::new()) as Arc<dyn SessionStore>)
                as fn() -> Arc<dyn SessionStore>,
        ),
        ("file", file_store as fn() -> Arc<dyn SessionStore>),
    ] {
        for prior in [0usize, 50] {
            // each scenario on an instance and store of its own, seeded alike: a store that
            // earlier scenarios filled with a million snapshots measures the heap, not the turn
            let fresh = || {
                let (ai, agent, approve) = instance(make());
                let init = rt.block_on(seed(&ai, &agent, prior));
                (ai, agent, approve, init)
            };
            {
                let (ai, agent, _, init) = fresh();
                g.bench_function(format!("agent_turn/{store_name}/prior={prior}"), |b| {
                    b.to_async(&rt).iter(|| turn(&ai, &agent, &init))
                });
            }
            if store_name == "memory" {
                // a conversation that goes on: each sample continues one chat from the seeded
                // snapshot for all its iterations (no branch), so the history grows as it runs
                let (ai, agent, _, init) = fresh();
                g.bench_function(
                    format!("agent_turn_continued/{store_name}/prior={prior}"),
                    |b| {
                        b.to_async(&rt).iter_custom(|iters| {
                            let (ai, agent, init) = (&ai, &agent, &init);
                            async move {
                                let start = std::time::Instant::now();
                                continued(ai, agent, init, iters as u32).await;
                                start.elapsed()
                            }
                        })
                    },
                );
            }
            let (ai, agent, approve, init) = fresh();
            g.bench_function(
                format!("agent_interrupt_resume/{store_name}/prior={prior}"),
                |b| {
                    b.to_async(&rt)
                        .iter(|| interrupt_resume(&ai, &agent, &approve, &init))
                },
            );
            drop((ai, agent, approve, init));
        }
    }
    g.finish();
}

criterion_group!(benches, agents);

/// `agent count <memory|file|file-nosync> <prior> <turn|resume|continue> <n>`: runs `n` operations on one
/// thread and exits, for instruction counts under `valgrind --tool=callgrind`; otherwise the
/// criterion benches. `turn` and `resume` start each operation from the seeded snapshot (every
/// one a branch of it); `continue` sends `n` turns in one chat that goes on from there, as a
/// conversation does (under callgrind, toggle on `agent::continued*`).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("count") {
        let arg = |i: usize, default: &str| args.get(i).map_or(default, String::as_str).to_owned();
        let store = match arg(2, "memory").as_str() {
            "file" => file_store(),
            "file-nosync" => file_store_unsynced(),
            _ => Arc::new(InMemorySessionStore::new()) as Arc<dyn SessionStore>,
        };
        let prior: usize = arg(3, "0").parse().unwrap_or(0);
        let mode = arg(4, "turn");
        let n: u32 = arg(5, "100").parse().unwrap_or(100);
        // `AGENT_BENCH_MT=1`: on the criterion benches' runtime (2 workers, the operations
        // polled by `block_on` on this thread) instead of a current-thread one
        let rt = if std::env::var_os("AGENT_BENCH_MT").is_some() {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .expect("runtime");
        let (ai, agent, approve) = instance(store);
        rt.block_on(async {
            let init = seed(&ai, &agent, prior).await;
            if mode == "continue" {
                continued(&ai, &agent, &init, n).await;
                return;
            }
            for _ in 0..n {
                if mode == "resume" {
                    interrupt_resume(&ai, &agent, &approve, &init).await;
                } else {
                    turn(&ai, &agent, &init).await;
                }
            }
        });
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
