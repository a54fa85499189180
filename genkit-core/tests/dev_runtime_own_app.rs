//! The Developer UI runtime in an app that installed its own `tracing_subscriber::fmt()` as the
//! global subscriber: Genkit's spans live in a dispatcher of their own, and nothing a client
//! does (going away mid-run, above all) or a tool does (panicking) may make anything panic
//! out of a run or drop a connection unanswered.
//!
//! A file of its own: the global subscriber is process-wide. One test, so the panic count is
//! this process's.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::http;
use genkit_core::flow::{define_flow, FlowContext};
use genkit_core::reflection::{DevOptions, DevRuntime};
use genkit_core::{Genkit, Tool, ToolContext, ToolResult};
use serde_json::{json, Value};

/// Panics in the synchronous part of the closure, before any future exists.
#[allow(clippy::diverging_sub_expression, unreachable_code)]
fn sync_panicky() -> Tool<Value, Value> {
    Tool::dynamic(
        "syncPanicky",
        "Panics before its future exists",
        json!({"type": "object"}),
        None,
        |_: Value, _ctx: ToolContext| -> std::future::Ready<ToolResult<Value>> {
            panic!("boom before the future")
        },
    )
    .unwrap()
}

fn app() -> Genkit {
    let panicky = Tool::new(
        "panicky",
        "Panics",
        |_: Value, _ctx: ToolContext| async move {
            if true {
                panic!("boom in the future");
            }
            ToolResult::Ok(0)
        },
    );
    let slow = define_flow("slowFlow", |ms: u64, _ctx: FlowContext| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(format!("done after {ms}"))
    });
    let steps = define_flow("steps", |word: String, ctx: FlowContext| async move {
        let upper = ctx.run("upper", async { Ok(word.to_uppercase()) }).await?;
        let slow = ctx.run("wait", async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        });
        slow.await?;
        ctx.run("excite", async { Ok(format!("{upper}!")) }).await
    });
    Genkit::builder()
        .tool(panicky)
        .tool(sync_panicky())
        .flow(slow)
        .flow(steps)
        .build()
        .unwrap()
}

#[test]
fn under_the_apps_fmt_subscriber_a_client_going_away_or_a_panicking_tool_breaks_nothing() {
    let panics = Arc::new(AtomicUsize::new(0));
    {
        let panics = Arc::clone(&panics);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    }
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::sink)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let project = std::env::temp_dir().join(format!(
            "genkit-rs-dev-runtime-app-subscriber-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&project).unwrap();
        let options = DevOptions::default()
            .genkit_env("dev")
            .project_dir(&project)
            .exit_on_signal(false);
        let runtime = DevRuntime::start_with(&app(), options)
            .await
            .unwrap()
            .unwrap();
        let url = runtime.reflection_url().unwrap().to_owned();
        for path in ["/api/runAction", "/api/runAction?stream=true"] {
            for key in ["/flow/slowFlow", "/flow/steps"] {
                let input = if key == "/flow/slowFlow" {
                    json!(30000)
                } else {
                    json!("word")
                };
                let body = json!({"key": key, "input": input}).to_string();
                let pending = http::open(&url, "POST", path, &[], &body).await;
                // the run has started (headers are out); the client goes away
                drop(pending);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let health = http::get(&url, "/api/__health").await;
        assert_eq!(health.status(), 200);
        let r = http::post(
            &url,
            "/api/runAction",
            &json!({"key": "/flow/steps", "input": "ok"}),
        )
        .await;
        assert_eq!(r.json()["result"], "OK!");

        // a panicking tool run from the Developer UI answers a typed error, on both paths
        panics.store(0, Ordering::SeqCst);
        for key in ["/tool/panicky", "/tool/syncPanicky"] {
            for path in ["/api/runAction", "/api/runAction?stream=true"] {
                let r = http::post(&url, path, &json!({"key": key, "input": {}})).await;
                assert_eq!(r.status(), 200, "{key} {path}");
                let last = r.body.lines().last().unwrap_or_default().to_owned();
                let answer: Value = serde_json::from_str(&last).unwrap();
                assert_eq!(answer["error"]["code"], 13, "{key} {path}: {answer}");
                assert!(
                    answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("panicked: boom"),
                    "{answer}"
                );
            }
        }
        // the tool's panics were the only ones
        assert_eq!(panics.swap(0, Ordering::SeqCst), 4);
        drop(runtime);
    });
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a subscriber panicked");
}
