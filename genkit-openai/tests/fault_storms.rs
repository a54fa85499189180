//! The plugin under injected faults at load: many calls in flight at once against a
//! local keep-alive server that answers each call by its own script. 429 storms with
//! `Retry-After`, 5xx bursts, connections reset mid-stream and mid-body, slow answers hitting
//! the timeout, refused connections.
//!
//! Every test checks that retries are bounded (attempts counted per call at the server), that
//! each call ends `Ok` with its own answer or with a typed error of the right status, that the
//! whole storm ends within a bound (and every test is wrapped in a timeout, so a hang fails
//! instead of blocking), and that nothing leaks: once the plugin is dropped the server sees
//! every connection closed and the runtime is back to the tasks it had before the storm.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fixture, Act, Chunks, Recorded, ScriptServer};
use genkit_core::{GenkitError, Message, Model, ModelContext, ModelRequest, Status};
use genkit_openai::{OpenAI, OpenAIError, OpenAIModel, RetryPolicy};

/// No test may take longer than this, whatever the plugin does.
const HANG: Duration = Duration::from_secs(60);

/// Runs a test body under [`HANG`].
async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(HANG, body)
        .await
        .expect("the test hung");
}

fn plugin(base_url: &str, retry: RetryPolicy, timeout: Duration) -> OpenAI {
    OpenAI::builder()
        .name("storm")
        .base_url(base_url)
        .api_key("sk-storm")
        .retry(retry)
        .timeout(timeout)
        .build()
        .unwrap()
}

fn retries(n: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(n)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
}

/// The request of call `i`: its id travels in the prompt, so the server can script each call
/// and the answer can be traced back to it.
fn request(i: usize) -> ModelRequest {
    ModelRequest {
        messages: vec![Message::user(format!("call {i}"))].into(),
        ..ModelRequest::default()
    }
}

/// The call id in a recorded request.
fn call_id(r: &Recorded) -> usize {
    let v = r.json();
    let prompt = v["messages"][0]["content"].as_str().expect("a text prompt");
    prompt
        .strip_prefix("call ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a storm prompt: {prompt}"))
}

fn is_stream(r: &Recorded) -> bool {
    r.json()["stream"] == serde_json::json!(true)
}

/// The answer to call `i`.
fn answer(i: usize) -> String {
    format!("answer to call {i}")
}

fn completion(i: usize) -> Vec<u8> {
    serde_json::json!({
        "id": format!("chatcmpl-{i}"),
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer(i)},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    })
    .to_string()
    .into_bytes()
}

/// The SSE events streaming [`answer`]`(i)`, one word per event, then the finish reason, the
/// usage and `[DONE]`.
fn sse_events(i: usize) -> Vec<Vec<u8>> {
    let text = answer(i);
    let mut events: Vec<Vec<u8>> = text
        .split_inclusive(' ')
        .map(|word| {
            let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]});
            format!("data: {chunk}\n\n").into_bytes()
        })
        .collect();
    events.push(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".to_vec(),
    );
    events.push(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n".to_vec());
    events.push(b"data: [DONE]\n\n".to_vec());
    events
}

/// Counts the attempts of each call, so a handler can script "first attempt fails".
#[derive(Clone, Default)]
struct Attempts(Arc<Mutex<HashMap<usize, u32>>>);

impl Attempts {
    /// Records one more attempt of `id`; returns its number (1-based).
    fn next(&self, id: usize) -> u32 {
        let mut map = self.0.lock().unwrap();
        let n = map.entry(id).or_insert(0);
        *n += 1;
        *n
    }
}

/// How many requests the server got for each call.
fn attempts_per_call(server: &ScriptServer) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    for r in server.requests() {
        *out.entry(call_id(&r)).or_insert(0) += 1;
    }
    out
}

/// The plugin's error inside a Genkit error, with the status Genkit sees.
/// The error and its causes (`source()`), `outer: inner: root`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

fn model_error(e: &GenkitError) -> (Status, &OpenAIError) {
    match e {
        GenkitError::Model { status, source, .. } => {
            let inner = source
                .downcast_ref::<OpenAIError>()
                .expect("an OpenAIError");
            assert_eq!(*status, inner.status());
            (*status, inner)
        }
        other => panic!("expected a model error, got {other:?}"),
    }
}

/// Runs calls `0..n` on `model` at once, each on its own task (streamed when `stream`).
/// Returns each call's result and the text streamed to it, in call order.
async fn storm(
    model: &OpenAIModel,
    n: usize,
    stream: bool,
) -> Vec<(Result<String, GenkitError>, String)> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let model = model.clone();
            tokio::spawn(async move {
                let chunks = Chunks::default();
                let ctx = if stream {
                    chunks.context()
                } else {
                    ModelContext::new()
                };
                let result = model
                    .generate(&request(i), ctx)
                    .await
                    .map(|r| r.message.expect("a message").text());
                let streamed: String = chunks.all().iter().map(|c| c.text()).collect();
                (result, streamed)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("a call panicked"));
    }
    out
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// After the plugin is gone: the server sees every connection closed and the runtime is back
/// to `baseline` tasks (the server's accept loop): no connection task, retry timer or stream
/// reader outlives the calls.
async fn assert_nothing_leaks(server: &ScriptServer, baseline: usize) {
    assert!(
        server
            .wait_until(Duration::from_secs(10), |s| s.open_connections() == 0)
            .await,
        "{} of {} connections still open after the plugin was dropped",
        server.open_connections(),
        server.accepted()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive_tasks() > baseline {
        assert!(
            Instant::now() < deadline,
            "{} tasks alive, {baseline} before the storm",
            alive_tasks()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_waits_retry_after_once_per_call_then_every_call_gets_its_own_answer() {
    bounded(async {
        const N: usize = 200;
        const WAIT: Duration = Duration::from_millis(250);
        let attempts = Attempts::default();
        let server = ScriptServer::start(Arc::new(move |r: &Recorded| {
            let id = call_id(r);
            if attempts.next(id) == 1 {
                Act::json(429, fixture("openai/error_429.json"))
                    .with_header("retry-after-ms", "250")
            } else {
                Act::json(200, completion(id))
            }
        }))
        .await;
        let baseline = alive_tasks();
        // The computed backoff would be 10 ms: only the server's wait explains 250 ms.
        let openai = plugin(&server.base_url, retries(3), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        let elapsed = started.elapsed();

        for (i, (result, _)) in results.into_iter().enumerate() {
            assert_eq!(result.unwrap(), answer(i), "call {i}");
        }
        // Bounded: exactly one retry per call.
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 2), "{per_call:?}");
        // Each call's retry came after the server's wait, measured per call.
        let mut first: HashMap<usize, Instant> = HashMap::new();
        for (at, r) in server.timed_requests() {
            let id = call_id(&r);
            match first.get(&id) {
                None => {
                    first.insert(id, at);
                }
                Some(t) => assert!(
                    at.duration_since(*t) >= WAIT - Duration::from_millis(5),
                    "call {id} retried after {:?}",
                    at.duration_since(*t)
                ),
            }
        }
        assert!(elapsed >= WAIT, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_that_never_clears_fails_typed_after_bounded_retries() {
    bounded(async {
        const N: usize = 100;
        let server = ScriptServer::start(Arc::new(|_: &Recorded| {
            Act::json(429, fixture("openai/error_429.json")).with_header("Retry-After", "0.1")
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(2), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        let elapsed = started.elapsed();

        for (i, (result, _)) in results.into_iter().enumerate() {
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::ResourceExhausted, "call {i}");
            match inner {
                OpenAIError::Api {
                    status: 429,
                    error: Some(body),
                    retry_after,
                    ..
                } => {
                    assert_eq!(body.code, Some(serde_json::json!("rate_limit_exceeded")));
                    assert_eq!(*retry_after, Some(Duration::from_millis(100)));
                }
                other => panic!("call {i}: {other:?}"),
            }
        }
        // max_retries 2: three attempts per call, never more.
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 3), "{per_call:?}");
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

/// Call `id`'s attempt `n` in a 5xx burst: 500 (JSON error), 502 (a gateway's HTML), 503
/// (empty body), then the answer.
fn burst(id: usize, n: u32) -> Act {
    match n {
        1 => Act::json(500, fixture("llamacpp/error_500_malformed.json")),
        2 => Act::json(502, "<html>Bad Gateway</html>"),
        3 => Act::json(503, ""),
        _ => Act::json(200, completion(id)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_burst_is_ridden_out_within_the_retry_budget() {
    bounded(async {
        const N: usize = 150;
        let attempts = Attempts::default();
        let server = ScriptServer::start(Arc::new(move |r: &Recorded| {
            let id = call_id(r);
            burst(id, attempts.next(id))
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(3), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        assert!(started.elapsed() < Duration::from_secs(15));

        for (i, (result, _)) in results.into_iter().enumerate() {
            assert_eq!(result.unwrap(), answer(i), "call {i}");
        }
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 4), "{per_call:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_burst_longer_than_the_retry_budget_fails_with_the_last_status() {
    bounded(async {
        const N: usize = 150;
        let attempts = Attempts::default();
        let server = ScriptServer::start(Arc::new(move |r: &Recorded| {
            let id = call_id(r);
            burst(id, attempts.next(id))
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(2), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        assert!(started.elapsed() < Duration::from_secs(15));

        for (i, (result, _)) in results.into_iter().enumerate() {
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            // The third attempt's 503 is what the caller sees.
            assert_eq!(status, Status::Unavailable, "call {i}");
            assert!(
                matches!(inner, OpenAIError::Api { status: 503, error: None, body, .. } if body.is_empty()),
                "call {i}: {inner:?}"
            );
        }
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 3), "{per_call:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

/// The chunked encoding of `events` as one HTTP response head and body, cut after `keep`
/// events (no final chunk).
fn cut_stream(events: &[Vec<u8>], keep: usize) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for e in &events[..keep] {
        out.extend_from_slice(format!("{:x}\r\n", e.len()).as_bytes());
        out.extend_from_slice(e);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_stream_under_concurrency_fail_typed_and_are_never_replayed() {
    bounded(async {
        const N: usize = 120;
        // Even calls: three events, then a reset. Odd calls: the whole stream.
        let server = ScriptServer::start(Arc::new(|r: &Recorded| {
            let id = call_id(r);
            assert!(is_stream(r));
            let events = sse_events(id);
            if id.is_multiple_of(2) {
                Act::Reset {
                    bytes: cut_stream(&events, 3),
                    delay: Duration::from_millis(50),
                }
            } else {
                Act::Stream {
                    pieces: events.into_iter().map(|e| (Duration::ZERO, e)).collect(),
                }
            }
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(3), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let results = storm(&model, N, true).await;

        let mut cut_after_chunks = 0;
        for (i, (result, streamed)) in results.into_iter().enumerate() {
            if i % 2 == 1 {
                assert_eq!(result.unwrap(), answer(i), "call {i}");
                assert_eq!(streamed, answer(i), "call {i} streamed its own text");
                continue;
            }
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::Unavailable, "call {i}");
            // The reset may overtake the head on a busy machine: then the call fails before
            // any response, still typed and still not retried.
            assert!(
                matches!(
                    inner,
                    OpenAIError::StreamCut { .. } | OpenAIError::Transport(_)
                ),
                "call {i}: {inner:?}"
            );
            // The cause is in the error's chain (`source()`), not flattened into its text.
            assert!(
                error_chain(&e).to_lowercase().contains("reset"),
                "call {i}: {}",
                error_chain(&e)
            );
            assert!(
                answer(i).starts_with(&streamed),
                "call {i} streamed {streamed:?}: not its own text"
            );
            if matches!(inner, OpenAIError::StreamCut { .. }) && !streamed.is_empty() {
                cut_after_chunks += 1;
            }
        }
        assert!(
            cut_after_chunks > 0,
            "no call saw its first chunks before the reset"
        );
        // A stream that started is never replayed; nor is a reset before the head.
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 1), "{per_call:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_body_fail_typed_and_are_not_retried() {
    bounded(async {
        const N: usize = 120;
        let server = ScriptServer::start(Arc::new(|r: &Recorded| {
            let id = call_id(r);
            let body = completion(id);
            if id.is_multiple_of(2) {
                // The head promises the whole body; a third of it comes, then a reset.
                let mut bytes = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                bytes.extend_from_slice(&body[..body.len() / 3]);
                Act::Reset {
                    bytes,
                    delay: Duration::from_millis(20),
                }
            } else {
                Act::json(200, body)
            }
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(3), Duration::from_secs(10));
        let model = openai.model("gpt-4o-mini");

        let results = storm(&model, N, false).await;

        for (i, (result, _)) in results.into_iter().enumerate() {
            if i % 2 == 1 {
                assert_eq!(result.unwrap(), answer(i), "call {i}");
                continue;
            }
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::Unavailable, "call {i}");
            assert!(
                matches!(inner, OpenAIError::Transport(_)),
                "call {i}: {inner:?}"
            );
            // The cause is kept: the connection was reset, not closed cleanly.
            // The cause is in the error's chain (`source()`), not flattened into its text.
            assert!(
                error_chain(&e).to_lowercase().contains("reset"),
                "call {i}: {}",
                error_chain(&e)
            );
        }
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 1), "{per_call:?}");

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_under_concurrency_hit_the_timeout_and_release_their_connections() {
    bounded(async {
        const N: usize = 150;
        const TIMEOUT: Duration = Duration::from_millis(800);
        // Even calls: never answered. Odd calls: answered after 50 ms.
        let server = ScriptServer::start(Arc::new(|r: &Recorded| {
            let id = call_id(r);
            if id.is_multiple_of(2) {
                Act::Silent
            } else {
                Act::json(200, completion(id)).after(Duration::from_millis(50))
            }
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(3), TIMEOUT);
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        let elapsed = started.elapsed();

        for (i, (result, _)) in results.into_iter().enumerate() {
            if i % 2 == 1 {
                assert_eq!(result.unwrap(), answer(i), "call {i}");
                continue;
            }
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::DeadlineExceeded, "call {i}");
            assert!(
                matches!(inner, OpenAIError::Timeout(t) if *t == TIMEOUT),
                "call {i}: {inner:?}"
            );
        }
        assert!(elapsed >= TIMEOUT, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        // A timeout is not retried: it already waited as long as the caller allows.
        let per_call = attempts_per_call(&server);
        assert_eq!(per_call.len(), N);
        assert!(per_call.values().all(|&n| n == 1), "{per_call:?}");
        // Each timed-out call closed its connection right away, with the plugin still alive:
        // nothing keeps waiting for the answer in the background.
        assert!(
            server
                .wait_until(Duration::from_secs(5), |s| s.abandoned() == N / 2)
                .await,
            "{} of {} silent connections closed",
            server.abandoned(),
            N / 2
        );

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_streams_under_concurrency_time_out_per_read_not_per_call() {
    bounded(async {
        const N: usize = 100;
        const TIMEOUT: Duration = Duration::from_millis(800);
        const GAP: Duration = Duration::from_millis(200);
        // Every event 200 ms apart (7 events: the whole answer takes longer than the timeout);
        // for even calls the third event stalls for 5 s.
        let server = ScriptServer::start(Arc::new(|r: &Recorded| {
            let id = call_id(r);
            let pieces = sse_events(id)
                .into_iter()
                .enumerate()
                .map(|(k, e)| {
                    let stall = id.is_multiple_of(2) && k == 2;
                    let wait = if stall { Duration::from_secs(5) } else { GAP };
                    (wait, e)
                })
                .collect();
            Act::Stream { pieces }
        }))
        .await;
        let baseline = alive_tasks();
        let openai = plugin(&server.base_url, retries(3), TIMEOUT);
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, true).await;
        let elapsed = started.elapsed();

        for (i, (result, streamed)) in results.into_iter().enumerate() {
            if i % 2 == 1 {
                assert_eq!(result.unwrap(), answer(i), "call {i}");
                assert_eq!(streamed, answer(i));
                continue;
            }
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::DeadlineExceeded, "call {i}");
            assert!(
                matches!(inner, OpenAIError::Timeout(_)),
                "call {i}: {inner:?}"
            );
            // The two events before the stall were streamed, and they were this call's.
            assert_eq!(streamed, "answer to ", "call {i}");
        }
        // The successful streams ran about 1.4 s, longer than the timeout; the stalled ones
        // gave up 0.8 s into the stall, well before it ended.
        assert!(elapsed >= GAP * 7, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
        let per_call = attempts_per_call(&server);
        assert!(per_call.values().all(|&n| n == 1), "{per_call:?}");
        assert!(
            server
                .wait_until(Duration::from_secs(5), |s| s.abandoned() == N / 2)
                .await,
            "{} of {} stalled streams closed",
            server.abandoned(),
            N / 2
        );

        drop((model, openai));
        assert_nothing_leaks(&server, baseline).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_under_concurrency_are_retried_a_bounded_number_of_times() {
    bounded(async {
        const N: usize = 200;
        // Bind and drop a listener to get a port nothing listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let baseline = alive_tasks();
        let openai = plugin(
            &format!("http://127.0.0.1:{port}/v1"),
            retries(2),
            Duration::from_secs(5),
        );
        let model = openai.model("gpt-4o-mini");

        let started = Instant::now();
        let results = storm(&model, N, false).await;
        let elapsed = started.elapsed();
        for (i, (result, _)) in results.into_iter().enumerate() {
            let e = result.unwrap_err();
            let (status, inner) = model_error(&e);
            assert_eq!(status, Status::Unavailable, "call {i}");
            assert!(
                matches!(inner, OpenAIError::Transport(t) if t.is_connect()),
                "call {i}: {inner:?}"
            );
        }
        // Two retries, after backoffs of 5-10 ms then 10-20 ms (half fixed, half jitter): at
        // least 15 ms in all, and all were done long before any timeout.
        assert!(elapsed >= Duration::from_millis(15), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

        drop((model, openai));
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive_tasks() > baseline {
            assert!(Instant::now() < deadline, "{} tasks alive", alive_tasks());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
