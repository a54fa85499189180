//! The built-in middleware: retry (backoff, Retry-After, streams, dropped calls), fallback
//! (order, statuses, config, unknown and empty lists) and tool approval (allow list, approval
//! on restart, bare and replaced-input restarts, restarts for tools not in the request).

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use genkit_core::middleware::{
    Fallback, FallbackConfig, Retry, RetryConfig, ToolApproval, ToolApprovalConfig,
};
use genkit_core::prelude::*;
use genkit_core::{
    GenerateResponseChunk, MiddlewareRef, Model, ModelContext, ModelRequest, Status,
};
use serde_json::json;
use support::*;

/// One scripted outcome of [`Flaky`]: chunks to stream, then an answer or an error.
#[derive(Clone)]
struct Turn {
    chunks: Vec<&'static str>,
    result: Result<&'static str, (Status, Option<Duration>)>,
}

fn fail(status: Status) -> Turn {
    Turn {
        chunks: vec![],
        result: Err((status, None)),
    }
}

fn ok(text: &'static str) -> Turn {
    Turn {
        chunks: vec![],
        result: Ok(text),
    }
}

/// When a call came, and the config it carried.
type CallLog = Arc<Mutex<Vec<(tokio::time::Instant, Option<serde_json::Value>)>>>;

/// A model that plays a script of failures and answers, recording when each call came (in
/// Tokio's clock, which tests pause) and the config it got.
#[derive(Clone)]
struct Flaky {
    name: &'static str,
    script: Arc<Mutex<VecDeque<Turn>>>,
    calls: CallLog,
}

impl Flaky {
    fn new(name: &'static str, turns: impl IntoIterator<Item = Turn>) -> Self {
        Self {
            name,
            script: Arc::new(Mutex::new(turns.into_iter().collect())),
            calls: Arc::default(),
        }
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    /// The waits between consecutive calls.
    fn gaps(&self) -> Vec<Duration> {
        let calls = self.calls.lock().unwrap();
        calls.windows(2).map(|w| w[1].0 - w[0].0).collect()
    }

    fn configs(&self) -> Vec<Option<serde_json::Value>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.1.clone())
            .collect()
    }
}

impl Model for Flaky {
    fn name(&self) -> &str {
        self.name
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push((tokio::time::Instant::now(), request.config.clone()));
            let turn = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .expect("script exhausted");
            for c in turn.chunks {
                ctx.send_chunk(GenerateResponseChunk {
                    content: vec![Part::text(c)],
                    ..Default::default()
                })
                .await;
            }
            match turn.result {
                Ok(text) => Ok(answer(text)),
                Err((status, after)) => {
                    let e = GenkitError::model(self.name, status, "scripted failure");
                    Err(match after {
                        Some(d) => e.with_retry_after(d),
                        None => e,
                    })
                }
            }
        })
    }
}

fn instance_with(models: &[&Flaky]) -> Genkit {
    let mut b = Genkit::builder().default_model(models[0].name);
    for m in models {
        b = b.model((*m).clone());
    }
    b.build().unwrap()
}

fn no_jitter() -> RetryConfig {
    RetryConfig::default().jitter(false)
}

#[tokio::test(start_paused = true)]
async fn retry_backs_off_exponentially_from_one_second_and_succeeds() {
    let m = Flaky::new(
        "m",
        [
            fail(Status::Unavailable),
            fail(Status::ResourceExhausted),
            fail(Status::Internal),
            ok("up"),
        ],
    );
    let ai = instance_with(&[&m]);
    let r = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .await
        .unwrap();
    assert_eq!(r.text(), "up");
    assert_eq!(m.count(), 4);
    assert_eq!(
        m.gaps(),
        [
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_after_max_retries_with_the_last_error() {
    let m = Flaky::new("m", std::iter::repeat_n(fail(Status::Unavailable), 4));
    let ai = instance_with(&[&m]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert_eq!(m.count(), 4, "3 retries after the first attempt");
    // the delay is capped by maxDelayMs
    let m = Flaky::new("m", std::iter::repeat_n(fail(Status::Aborted), 4));
    let ai = instance_with(&[&m]);
    let config = no_jitter()
        .max_delay(Duration::from_millis(1500))
        .max_retries(3);
    ai.generate()
        .prompt("hi")
        .middleware(Retry::new(config))
        .await
        .unwrap_err();
    assert_eq!(
        m.gaps(),
        [
            Duration::from_secs(1),
            Duration::from_millis(1500),
            Duration::from_millis(1500)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_leaves_statuses_that_are_not_listed_alone() {
    let m = Flaky::new("m", [fail(Status::InvalidArgument), ok("never")]);
    let ai = instance_with(&[&m]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!(m.count(), 1);
    // a custom list replaces the default one
    let m = Flaky::new("m", [fail(Status::Unavailable), ok("never")]);
    let ai = instance_with(&[&m]);
    let config = no_jitter().statuses([Status::Aborted]);
    ai.generate()
        .prompt("hi")
        .middleware(Retry::new(config))
        .await
        .unwrap_err();
    assert_eq!(m.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_waits_at_least_what_the_provider_asked_for() {
    let m = Flaky::new(
        "m",
        [
            Turn {
                chunks: vec![],
                result: Err((Status::ResourceExhausted, Some(Duration::from_secs(7)))),
            },
            ok("up"),
        ],
    );
    let ai = instance_with(&[&m]);
    ai.generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .await
        .unwrap();
    assert_eq!(m.gaps(), [Duration::from_secs(7)]);
    // asking for longer than the longest wait ends the retries at once
    let m = Flaky::new(
        "m",
        [
            Turn {
                chunks: vec![],
                result: Err((Status::ResourceExhausted, Some(Duration::from_secs(600)))),
            },
            ok("never"),
        ],
    );
    let ai = instance_with(&[&m]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(m.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_stops_the_retry_wait() {
    let m = Flaky::new("m", [fail(Status::Unavailable), ok("never")]);
    let ai = instance_with(&[&m]);
    let call = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .into_future();
    // given up half a second into the one-second wait: the call is dropped
    assert!(tokio::time::timeout(Duration::from_millis(500), call)
        .await
        .is_err());
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(m.count(), 1, "a dropped call still retried");
}

use std::future::IntoFuture;

#[tokio::test(start_paused = true)]
async fn retry_never_repeats_a_call_that_already_streamed_chunks() {
    // the first attempt streams "Hel" and then fails: retrying would show "Hel" twice
    let m = Flaky::new(
        "m",
        [
            Turn {
                chunks: vec!["Hel"],
                result: Err((Status::Unavailable, None)),
            },
            Turn {
                chunks: vec!["Hel", "lo"],
                result: Ok("Hello"),
            },
        ],
    );
    let ai = instance_with(&[&m]);
    let mut stream = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .stream();
    let mut seen = Vec::new();
    while let Some(chunk) = stream.next().await {
        seen.push(chunk.text());
    }
    let e = stream.response().await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert_eq!(seen, ["Hel"]);
    assert_eq!(m.count(), 1);

    // an attempt that failed before streaming anything is retried, and its successor streams
    let m = Flaky::new(
        "m",
        [
            fail(Status::Unavailable),
            Turn {
                chunks: vec!["Hel", "lo"],
                result: Ok("Hello"),
            },
        ],
    );
    let ai = instance_with(&[&m]);
    let mut stream = ai
        .generate()
        .prompt("hi")
        .middleware(Retry::new(no_jitter()))
        .stream();
    let mut seen = Vec::new();
    while let Some(chunk) = stream.next().await {
        seen.push(chunk.text());
    }
    assert_eq!(stream.response().await.unwrap().text(), "Hello");
    assert_eq!(seen, ["Hel", "lo"]);
}

#[tokio::test(start_paused = true)]
async fn retry_by_name_with_the_wire_config_of_genkit_js() {
    let m = Flaky::new("m", [fail(Status::DeadlineExceeded), ok("up")]);
    let ai = instance_with(&[&m]);
    let r = ai
        .generate()
        .prompt("hi")
        .use_(MiddlewareRef::new("retry").with_config(json!({
            "maxRetries": 1, "initialDelayMs": 250, "noJitter": true, "statuses": ["DEADLINE_EXCEEDED"]
        })))
        .await
        .unwrap();
    assert_eq!(r.text(), "up");
    assert_eq!(m.gaps(), [Duration::from_millis(250)]);
}

#[tokio::test]
async fn fallback_tries_the_models_in_order_on_listed_statuses() {
    let primary = Flaky::new("primary", [fail(Status::Unavailable)]);
    let second = Flaky::new("second", [fail(Status::ResourceExhausted)]);
    let third = Flaky::new("third", [ok("from third")]);
    let ai = instance_with(&[&primary, &second, &third]);
    let r = ai
        .generate()
        .prompt("hi")
        .config(json!({"temperature": 0.3}))
        .middleware(Fallback::new(FallbackConfig::new(["second", "third"])))
        .await
        .unwrap();
    assert_eq!(r.text(), "from third");
    assert_eq!((primary.count(), second.count(), third.count()), (1, 1, 1));
    // the request's config is inherited by default
    assert_eq!(third.configs(), [Some(json!({"temperature": 0.3}))]);
}

#[tokio::test]
async fn fallback_config_is_inherited_or_isolated() {
    for (isolate, expected) in [(false, Some(json!({"t": 1}))), (true, None)] {
        let primary = Flaky::new("primary", [fail(Status::Internal)]);
        let plain = Flaky::new("plain", [ok("ok")]);
        let ai = instance_with(&[&primary, &plain]);
        ai.generate()
            .prompt("hi")
            .config(json!({"t": 1}))
            .middleware(Fallback::new(
                FallbackConfig::new(["plain"]).isolate_config(isolate),
            ))
            .await
            .unwrap();
        assert_eq!(plain.configs(), [expected]);
    }
    // a model given with its own config gets that config either way
    let primary = Flaky::new("primary", [fail(Status::Internal)]);
    let own = Flaky::new("own", [ok("ok")]);
    let ai = instance_with(&[&primary, &own]);
    ai.generate()
        .prompt("hi")
        .config(json!({"t": 1}))
        .use_(MiddlewareRef::new("fallback").with_config(json!({
            "models": [{"name": "own", "config": {"t": 2}}]
        })))
        .await
        .unwrap();
    assert_eq!(own.configs(), [Some(json!({"t": 2}))]);
}

#[tokio::test]
async fn fallback_stops_on_a_status_it_does_not_handle() {
    let primary = Flaky::new("primary", [fail(Status::PermissionDenied)]);
    let backup = Flaky::new("backup", [ok("never")]);
    let ai = instance_with(&[&primary, &backup]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Fallback::new(FallbackConfig::new(["backup"])))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::PermissionDenied);
    assert_eq!(backup.count(), 0);
    // the backup failing with an unlisted status ends the sequence with its error
    let primary = Flaky::new("primary", [fail(Status::Unavailable)]);
    let backup = Flaky::new("backup", [fail(Status::Unauthenticated)]);
    let last = Flaky::new("last", [ok("never")]);
    let ai = instance_with(&[&primary, &backup, &last]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Fallback::new(FallbackConfig::new(["backup", "last"])))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert_eq!(last.count(), 0);
}

#[tokio::test]
async fn fallback_with_an_unknown_model_fails_before_any_call_and_an_empty_list_changes_nothing() {
    let primary = Flaky::new("primary", [ok("never")]);
    let ai = instance_with(&[&primary]);
    let e = ai
        .generate()
        .prompt("hi")
        .middleware(Fallback::new(FallbackConfig::new(["ghost"])))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GenkitError::ModelNotFound { name, .. } if name == "ghost"),
        "{e:?}"
    );
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(primary.count(), 0);

    let primary = Flaky::new("primary", [fail(Status::Unavailable)]);
    let ai = instance_with(&[&primary]);
    let e = ai
        .generate()
        .prompt("hi")
        .use_(MiddlewareRef::new("fallback").with_config(json!({"models": []})))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GenkitError::Model { model, .. } if model == "primary"),
        "{e:?}"
    );
    assert_eq!(primary.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn middleware_after_fallback_wrap_the_fallback_models_too() {
    // use [fallback, retry]: the backup is retried before the sequence ends
    let primary = Flaky::new(
        "primary",
        [fail(Status::Unavailable), fail(Status::Unavailable)],
    );
    let backup = Flaky::new(
        "backup",
        [fail(Status::Unavailable), ok("backup after a retry")],
    );
    let ai = instance_with(&[&primary, &backup]);
    let r = ai
        .generate()
        .prompt("hi")
        .middleware(Fallback::new(FallbackConfig::new(["backup"])))
        .middleware(Retry::new(no_jitter().max_retries(1)))
        .await
        .unwrap();
    assert_eq!(r.text(), "backup after a retry");
    assert_eq!((primary.count(), backup.count()), (2, 2));
}

#[tokio::test]
async fn fallback_never_hands_a_streamed_call_to_another_model() {
    let primary = Flaky::new(
        "primary",
        [Turn {
            chunks: vec!["partial"],
            result: Err((Status::Unavailable, None)),
        }],
    );
    let backup = Flaky::new("backup", [ok("never")]);
    let ai = instance_with(&[&primary, &backup]);
    let mut stream = ai
        .generate()
        .prompt("hi")
        .middleware(Fallback::new(FallbackConfig::new(["backup"])))
        .stream();
    let mut seen = Vec::new();
    while let Some(c) = stream.next().await {
        seen.push(c.text());
    }
    assert_eq!(
        stream.response().await.unwrap_err().status(),
        Status::Unavailable
    );
    assert_eq!(seen, ["partial"]);
    assert_eq!(backup.count(), 0);
}

// --- tool approval --------------------------------------------------------------------------

fn approval_instance() -> (
    Genkit,
    genkit_core::testing::ProgrammableModel,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let (count, runs) = counting_tool();
    let (ai, model) = instance(vec![count, lookup_tool()]);
    (ai, model, runs)
}

#[tokio::test]
async fn a_tool_outside_the_allow_list_interrupts_until_approved() {
    let (ai, model, runs) = approval_instance();
    model.push_response(calls(&[
        ("lookup", Some("l"), json!({"word": "four"})),
        ("count", Some("c"), json!({})),
    ]));
    let approval = || ToolApproval::new(ToolApprovalConfig::new(["lookup"]));
    let paused = ai
        .generate()
        .prompt("go")
        .tools(["lookup", "count"])
        .middleware(approval())
        .await
        .unwrap();
    assert_eq!(paused.finish_reason(), Some(FinishReason::Interrupted));
    let interrupts = paused.interrupts();
    assert_eq!(interrupts.len(), 1);
    assert_eq!(interrupts[0].name(), "count");
    assert_eq!(
        interrupts[0].payload_value(),
        &json!({"message": "Tool not in approved list: count"})
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);

    model.push_response(answer("counted"));
    let approve = ToolApproval::approve(&interrupts[0]).unwrap();
    let done = ai
        .generate()
        .messages(paused.messages())
        .tools(["lookup", "count"])
        .tool_restarts([approve])
        .middleware(approval())
        .await
        .unwrap();
    assert_eq!(done.text(), "counted");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    // the allowed sibling's output was kept from the paused turn, not run again
    let tool_message = &model.last_request().unwrap().messages[2];
    assert_eq!(tool_message.content.len(), 2);
}

#[tokio::test]
async fn a_bare_restart_or_one_that_replaces_the_input_is_not_an_approval() {
    let (ai, model, runs) = approval_instance();
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    let approval = || ToolApproval::new(ToolApprovalConfig::default());
    let paused = ai
        .generate()
        .prompt("go")
        .tools(["lookup"])
        .middleware(approval())
        .await
        .unwrap();
    let interrupt = &paused.interrupts()[0];
    for restart in [
        tool_restart(interrupt, (), None).unwrap(),
        tool_restart(interrupt, json!({"toolApproved": "yes"}), None).unwrap(),
        // approved for "four", asked to run on something else
        tool_restart(
            interrupt,
            genkit_core::middleware::ToolApproved::granted(),
            Some(json!({"word": "a much longer word"})),
        )
        .unwrap(),
    ] {
        let again = ai
            .generate()
            .messages(paused.messages())
            .tools(["lookup"])
            .tool_restarts([restart])
            .middleware(approval())
            .await
            .unwrap();
        assert_eq!(again.finish_reason(), Some(FinishReason::Interrupted));
        assert_eq!(again.interrupts()[0].name(), "lookup");
    }
    assert_eq!(
        model.requests().len(),
        1,
        "the model was called for an unapproved tool"
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_approval_for_a_tool_not_in_the_request_is_refused() {
    let (ai, model, runs) = approval_instance();
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    let paused = ai
        .generate()
        .prompt("go")
        .tools(["lookup", "count"])
        .use_(MiddlewareRef::new("toolApproval"))
        .await
        .unwrap();
    // an approval made up for `count`, which the model never asked for
    let forged = Part::tool_request(ToolRequest::new("count", Some("c".into()), json!({})))
        .with_metadata(
            json!({"resumed": {"toolApproved": true}})
                .as_object()
                .unwrap()
                .clone(),
        );
    let e = ai
        .generate()
        .messages(paused.messages())
        .tools(["lookup", "count"])
        .tool_restarts([forged])
        .use_(MiddlewareRef::new("toolApproval"))
        .await
        .unwrap_err();
    assert!(matches!(e, GenkitError::UnmatchedResume { .. }), "{e:?}");
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tool_approval_config_in_the_spelling_of_each_sdk() {
    for config in [
        json!({"approved": ["lookup"]}),
        json!({"allowedTools": ["lookup"]}),
        json!({"allowed_tools": ["lookup"]}),
    ] {
        let (ai, model, _runs) = approval_instance();
        model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
        model.push_response(answer("4"));
        let r = ai
            .generate()
            .prompt("go")
            .tools(["lookup"])
            .use_(MiddlewareRef::new("tool_approval").with_config(config.clone()))
            .await
            .unwrap();
        assert_eq!(r.text(), "4", "{config}");
    }
}

#[tokio::test]
async fn the_model_context_counts_chunks_across_clones() {
    let (sink, _rx) = genkit_core::ChunkSink::channel(8);
    let ctx = ModelContext::new().with_chunks(sink);
    assert_eq!(ctx.chunks_sent(), 0);
    ctx.clone()
        .send_chunk(GenerateResponseChunk::default())
        .await;
    ctx.send_chunk(GenerateResponseChunk::default()).await;
    assert_eq!(ctx.chunks_sent(), 2);
    assert_eq!(ModelContext::new().chunks_sent(), 0);
}
