//! Memory per paused generation: 10,000 interrupted generations held in the process, each a real
//! `GenerateResponse` with a history of 4 messages (user prompt, model tool request, tool
//! response, model interrupt request), built by running the engine.
//!
//! Measured two ways: a counting global allocator (live heap bytes requested, exact), and the
//! process's resident set size from `/proc/self/statm` (what the OS sees: allocator overhead and
//! fragmentation included). Both are compared with the messages' own JSON size.
//!
//! Target: at most 4 KiB per paused generation beyond the messages' own JSON size.
//!
//! Run: `cargo bench -p genkit-core --bench memory`; add `-- --count N` for another count, and
//! `-- --check` to exit with status 1 when the counted heap is over target.

use std::alloc::System;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::prelude::*;
use genkit_core::{Model, ModelContext, ModelRequest, ToolDefinition};
use serde_json::json;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TARGET_BYTES: f64 = 4096.0;

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Word {
    /// the word to look up
    word: String,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Questions {
    /// the choices to display to the user
    choices: Vec<String>,
    /// when true, allow write-ins
    allow_other: bool,
}

/// First turn: looks up the prompt's last word; after the tool message: asks the user.
struct Quiz;

impl Model for Quiz {
    fn name(&self) -> &str {
        "quiz"
    }

    fn generate<'a>(
        &'a self,
        req: &'a ModelRequest,
        _ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let last = req.messages.last().expect("a message");
            let part = if last.role == Role::User {
                let word = last.text().split(' ').next_back().unwrap_or("").to_owned();
                Part::tool_request(ToolRequest::new(
                    "lookup",
                    Some("call_lookup_1".into()),
                    json!({ "word": word }),
                ))
            } else {
                let n = last
                    .tool_responses()
                    .next()
                    .and_then(|r| r.output.clone())
                    .unwrap_or_default();
                Part::tool_request(ToolRequest::new(
                    "ask_question",
                    Some("call_ask_2".into()),
                    json!({
                        "choices": [format!("{n} letters"), "Alien", "Heat"],
                        "allow_other": false
                    }),
                ))
            };
            Ok(ModelResponse::new(
                Message::new(Role::Model, vec![part]),
                FinishReason::Stop,
            ))
        })
    }
}

fn instance() -> Genkit {
    let lookup = Tool::new(
        "lookup",
        "Looks a word up in the dictionary",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    );
    let ask: Tool<Questions, String> = Tool::interrupt(
        "ask_question",
        "Use this to ask the user a clarifying question",
    );
    Genkit::builder()
        .model(Quiz)
        .default_model("quiz")
        .tool(lookup)
        .tool(ask)
        .build()
        .expect("instance")
}

async fn paused(ai: &Genkit, i: usize) -> GenerateResponse {
    let r = ai
        .generate()
        .prompt(format!(
            "Conversation {i}: ask me a movie trivia question about the word sequel{i}"
        ))
        .tools(["lookup", "ask_question"])
        .await
        .expect("generate");
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(r.messages().len(), 4);
    r
}

/// Live heap bytes and allocations (counting allocator).
fn heap() -> (i64, i64) {
    let s = GLOBAL.stats();
    (
        s.bytes_allocated as i64 - s.bytes_deallocated as i64,
        s.allocations as i64 - s.deallocations as i64,
    )
}

/// Resident set size in bytes, from /proc/self/statm (0 where there is no /proc).
fn rss() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * 4096)
}

struct Delta {
    heap: f64,
    allocs: f64,
    rss: f64,
}

/// Runs `f` (which builds and returns what it holds), and reports what is still held per item.
fn held<T>(count: usize, f: impl FnOnce() -> T) -> (T, Delta) {
    let (h0, a0, r0) = {
        let (h, a) = heap();
        (h, a, rss())
    };
    let kept = f();
    let (h1, a1) = heap();
    let r1 = rss();
    let n = count as f64;
    (
        kept,
        Delta {
            heap: (h1 - h0) as f64 / n,
            allocs: (a1 - a0) as f64 / n,
            rss: (r1 - r0) as f64 / n,
        },
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args
        .iter()
        .position(|a| a == "--count")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        // `cargo test --all-targets` runs this without `--bench`: a quick smoke run then
        .unwrap_or(if args.iter().any(|a| a == "--bench") {
            10_000
        } else {
            500
        });
    let check = args.iter().any(|a| a == "--check");

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ai = instance();
    // warm up: lazy statics, schema validators, the runtime's own buffers
    let warm: Vec<GenerateResponse> = rt.block_on(async {
        let mut v = Vec::new();
        for i in 0..200 {
            v.push(paused(&ai, i).await);
        }
        v
    });
    drop(warm);

    // 1. the paused generations, as the engine returns them
    let (responses, generations) = held(count, || {
        rt.block_on(async {
            let mut v = Vec::with_capacity(count);
            for i in 0..count {
                v.push(paused(&ai, i).await);
            }
            v
        })
    });

    // 2. only their histories, as `Vec<Message>` (what an application must keep to resume)
    let (histories, messages_only) = held(count, || {
        responses
            .iter()
            .map(|r| r.messages().to_vec())
            .collect::<Vec<Vec<Message>>>()
    });

    // what-if: the same responses without the tool definitions the retained request carries
    let (slim, without_tools) = held(count, || {
        responses
            .iter()
            .map(|r| {
                let mut wire = r.to_wire();
                if let Some(request) = wire.request.as_mut() {
                    request.tools = None;
                }
                GenerateResponse::from_wire(wire)
            })
            .collect::<Vec<GenerateResponse>>()
    });
    // what-if, further: nor the eager copy of the interrupt parts (`interrupts()`); a response
    // that is not marked interrupted has none
    let (slimmer, without_tools_and_interrupts) = held(count, || {
        slim.iter()
            .map(|r| {
                let mut wire = r.to_wire();
                wire.finish_reason = Some(FinishReason::Stop);
                GenerateResponse::from_wire(wire)
            })
            .collect::<Vec<GenerateResponse>>()
    });
    // the tool definitions one response retains
    let (tools, tools_only) = held(count, || {
        responses
            .iter()
            .map(|r| r.request().and_then(|q| q.tools).unwrap_or_default())
            .collect::<Vec<Vec<ToolDefinition>>>()
    });

    // 3. the histories' own JSON, held as bytes
    let (json, json_held) = held(count, || {
        histories
            .iter()
            .map(|h| serde_json::to_vec(h).expect("json"))
            .collect::<Vec<Vec<u8>>>()
    });
    let json_size = json.iter().map(Vec::len).sum::<usize>() as f64 / count as f64;
    let wire_size = responses
        .iter()
        .map(|r| serde_json::to_vec(r).expect("json").len())
        .sum::<usize>() as f64
        / count as f64;
    let beyond = generations.heap - json_size;

    println!("memory per paused generation, {count} held (history of 4 messages)");
    println!(
        "  GenerateResponse   heap {:>7.0} B in {:>5.1} allocations   rss {:>7.0} B",
        generations.heap, generations.allocs, generations.rss
    );
    println!(
        "  Vec<Message> only  heap {:>7.0} B in {:>5.1} allocations   rss {:>7.0} B",
        messages_only.heap, messages_only.allocs, messages_only.rss
    );
    println!(
        "  tool definitions   heap {:>7.0} B in {:>5.1} allocations   (retained in each response's last request)",
        tools_only.heap, tools_only.allocs
    );
    println!(
        "  response w/o tools heap {:>7.0} B in {:>5.1} allocations   rss {:>7.0} B   (what-if)",
        without_tools.heap, without_tools.allocs, without_tools.rss
    );
    println!(
        "  ... nor interrupts heap {:>7.0} B in {:>5.1} allocations   rss {:>7.0} B   (what-if)",
        without_tools_and_interrupts.heap,
        without_tools_and_interrupts.allocs,
        without_tools_and_interrupts.rss
    );
    println!(
        "  JSON bytes only    heap {:>7.0} B in {:>5.1} allocations   rss {:>7.0} B",
        json_held.heap, json_held.allocs, json_held.rss
    );
    println!(
        "  inline sizes: GenerateResponse {} B, Message {} B, Part {} B",
        std::mem::size_of::<GenerateResponse>(),
        std::mem::size_of::<Message>(),
        std::mem::size_of::<Part>()
    );
    println!("  messages' own JSON size           {json_size:>7.0} B");
    println!(
        "  whole response as wire JSON       {wire_size:>7.0} B (the request's tool definitions included)"
    );
    println!(
        "  beyond the JSON: heap {beyond:>7.0} B, rss {:>7.0} B   (target <= {TARGET_BYTES:.0} B)",
        generations.rss - json_size
    );
    let verdict = if beyond <= TARGET_BYTES {
        "within target"
    } else {
        "over target"
    };
    println!("  {verdict}");

    // keep everything alive until measured
    let kept = Arc::new((responses, histories, json, slim, slimmer, tools));
    drop(kept);
    if check && beyond > TARGET_BYTES {
        std::process::exit(1);
    }
}
