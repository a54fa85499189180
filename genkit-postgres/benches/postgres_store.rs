//! `agent_interrupt_resume` on the PostgreSQL store, beside the file store: a server-managed
//! prompt agent, `send` -> the model asks an interrupt tool -> `load_chat` by the interrupted
//! snapshot id -> `resume` with the answer -> the model answers (two turns). The model is
//! in-process and instant, so what is measured is the agent, the engine and the store.
//!
//! - `agent_interrupt_resume/{postgres,file}/conc=N`: N of them at once (criterion reports the
//!   time of all N and the throughput);
//! - `agent_interrupt_resume/{postgres,file}/history=N`: from a session with N completed turns
//!   (how cost grows with history);
//! - then, printed: turns per second, p50/p99 latency and this process's CPU time of one
//!   operation at each concurrency from a fresh session, and at concurrency 16 from sessions
//!   of 1, 50 and 200 turns; a 3 s run each.
//!
//! ```sh
//! scripts/postgres start && eval "$(scripts/postgres env)"
//! cargo bench -p genkit-postgres --bench postgres_store
//! scripts/postgres pgbench 16 10      # the server's own simple-update TPS, for reference
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it only says it was compiled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures::future::BoxFuture;
use genkit_core::agent::{Agent, ChatRef, PromptSpec};
use genkit_core::prelude::*;
use genkit_core::session::{FileSessionStore, SessionStore};
use genkit_core::{AgentInit, Model, ModelContext, ModelRequest};
use genkit_postgres::PostgresSessionStore;
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

struct Fixture {
    ai: Genkit,
    agent: Agent,
    approve: Tool<Approval, bool>,
}

fn fixture(store: Arc<dyn SessionStore>) -> Arc<Fixture> {
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
    Arc::new(Fixture { ai, agent, approve })
}

async fn seed(f: &Fixture, prior: usize) -> AgentInit {
    let mut chat = f.agent.chat(&f.ai);
    for _ in 0..prior {
        chat.send("hello").await.expect("seed turn");
    }
    chat.init().clone()
}

async fn interrupt_resume(f: &Fixture, init: &AgentInit) {
    let mut chat = f.agent.chat_with(&f.ai, init.clone());
    let paused = chat.send("pay").await.expect("send");
    let interrupt = paused.interrupts().into_iter().next().expect("interrupted");
    let id = paused.snapshot_id().expect("snapshot").to_owned();
    let mut later = f
        .agent
        .load_chat(&f.ai, ChatRef::Snapshot(id))
        .await
        .expect("load");
    let answer = f.approve.respond(&interrupt, true).expect("respond");
    let done = later.resume([answer]).await.expect("resume");
    assert_eq!(done.text(), "ok");
}

static DIRS: AtomicU64 = AtomicU64::new(0);

fn file_store() -> Arc<dyn SessionStore> {
    let dir = std::env::temp_dir().join(format!(
        "genkit-pg-bench-file-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    Arc::new(FileSessionStore::new(dir))
}

/// This process's CPU time so far (user + system, from `/proc/self/stat`; zero elsewhere).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // the fields after the command name, which is in parentheses
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux this runs on
    Duration::from_millis(ticks * 10)
}

/// `conc` operations at a time for `run`, each from `init`: operations per second, p50/p99
/// of one, and this process's CPU time per operation.
async fn latencies(
    f: &Arc<Fixture>,
    init: &AgentInit,
    conc: usize,
    run: Duration,
) -> (f64, Duration, Duration, Duration) {
    let cpu = cpu_time();
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let (f, init) = (Arc::clone(f), init.clone());
            tokio::spawn(async move {
                let mut took = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    interrupt_resume(&f, &init).await;
                    took.push(t.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    let cpu_per_op = (cpu_time() - cpu) / all.len().max(1) as u32;
    (all.len() as f64 / secs, pick(0.5), pick(0.99), cpu_per_op)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("postgres_store: compiled; run it with `cargo bench -p genkit-postgres --bench postgres_store`");
        return;
    }
    let Ok(url) = std::env::var("GENKIT_PG_URL") else {
        eprintln!("postgres_store: SKIPPED: set GENKIT_PG_URL (scripts/postgres start; eval \"$(scripts/postgres env)\")");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let schema = format!("bench_{}", std::process::id());
    let pg: Arc<dyn SessionStore> = Arc::new(
        rt.block_on(
            PostgresSessionStore::builder(&url)
                .schema(&schema)
                .pool_size(32)
                .connect(),
        )
        .expect("postgres store"),
    );
    let stores: [(&str, Arc<dyn SessionStore>); 2] = [("postgres", pg), ("file", file_store())];

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut g = c.benchmark_group("agent_interrupt_resume");
    for (name, store) in &stores {
        let f = fixture(Arc::clone(store));
        for conc in [1usize, 16, 128] {
            g.throughput(Throughput::Elements(conc as u64));
            g.bench_function(format!("{name}/conc={conc}"), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let f = Arc::clone(&f);
                    async move {
                        let init = AgentInit::default();
                        let start = Instant::now();
                        for _ in 0..iters {
                            futures::future::join_all(
                                (0..conc).map(|_| interrupt_resume(&f, &init)),
                            )
                            .await;
                        }
                        start.elapsed()
                    }
                })
            });
        }
        g.throughput(Throughput::Elements(1));
        for prior in [1usize, 50, 200] {
            let init = rt.block_on(seed(&f, prior));
            g.bench_function(format!("{name}/history={prior}"), |b| {
                b.to_async(&rt).iter(|| interrupt_resume(&f, &init))
            });
        }
    }
    g.finish();
    c.final_summary();

    println!(
        "\nstore     history  conc  turns/s   p50 (one op, 2 turns)  p99         client CPU/op"
    );
    for (name, store) in &stores {
        let f = fixture(Arc::clone(store));
        // from a fresh session at each concurrency, then from longer ones at 16 (a loaded
        // machine: wall time at concurrency 1 is mostly how fast idle cores wake up)
        let fresh = AgentInit::default();
        let mut runs: Vec<(usize, AgentInit, usize)> =
            [1usize, 16, 128].map(|c| (0, fresh.clone(), c)).into();
        for prior in [1usize, 50, 200] {
            runs.push((prior, rt.block_on(seed(&f, prior)), 16));
        }
        for (prior, init, conc) in runs {
            let (ops, p50, p99, cpu) =
                rt.block_on(latencies(&f, &init, conc, Duration::from_secs(3)));
            println!(
                "{name:<9} {prior:>7} {conc:>5}  {:>7.0}   {:>8.2} ms             {:>8.2} ms    {:>8.0} us",
                ops * 2.0,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                cpu.as_secs_f64() * 1e6
            );
        }
    }
    rt.block_on(async {
        if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .await;
        }
    });
}
