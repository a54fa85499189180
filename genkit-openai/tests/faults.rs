//! Failure handling against a local test server that injects faults: rate limits with
//! `Retry-After`, server errors, bad keys, malformed bodies, streams that break off or never
//! finish, timeouts, cancellation, and the API key never leaking.

mod common;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fixture, Chunks, Reply, TestServer};
use genkit_core::{GenkitError, Message, Model, ModelContext, ModelRequest, Status};
use genkit_openai::{OpenAI, OpenAIError, OpenAIModel, RetryPolicy};

const KEY: &str = "sk-secret-0123456789abcdef";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(2)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(50))
}

fn model(base_url: &str, retry: RetryPolicy, timeout: Duration) -> OpenAIModel {
    OpenAI::builder()
        .name("test")
        .base_url(base_url)
        .api_key(KEY)
        .retry(retry)
        .timeout(timeout)
        .build()
        .unwrap()
        .model("gpt-4o-mini")
}

fn request() -> ModelRequest {
    ModelRequest {
        messages: vec![Message::user("Hello")].into(),
        ..ModelRequest::default()
    }
}

/// The plugin's error inside a Genkit error, with the status Genkit sees.
fn unwrap_model_error(e: &GenkitError) -> (Status, &OpenAIError) {
    match e {
        GenkitError::Model {
            model,
            status,
            source,
            ..
        } => {
            assert_eq!(model, "test/gpt-4o-mini");
            let inner = source
                .downcast_ref::<OpenAIError>()
                .expect("an OpenAIError");
            assert_eq!(*status, inner.status());
            assert_eq!(e.status(), *status);
            (*status, inner)
        }
        other => panic!("expected a model error, got {other:?}"),
    }
}

fn assert_no_key(what: &str, text: &str) {
    assert!(!text.contains(KEY), "{what} leaks the API key: {text}");
    assert!(
        !text.contains("0123456789abcdef"),
        "{what} leaks part of the key: {text}"
    );
}

#[tokio::test]
async fn rate_limit_is_retried_after_the_servers_wait() {
    let server = TestServer::start(vec![
        Reply::json(429, fixture("openai/error_429.json")).with_header("Retry-After", "1"),
        Reply::json(200, fixture("openai/chat_text.json")),
    ])
    .await;
    let started = Instant::now();
    let r = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(r.message.unwrap().text(), "Hello there, how are you?");
    assert_eq!(server.requests().len(), 2);
    // The backoff alone would have waited at most 50 ms.
    assert!(elapsed >= Duration::from_secs(1), "waited only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "waited {elapsed:?}");
}

#[tokio::test]
async fn retry_after_ms_is_honoured_too() {
    let server = TestServer::start(vec![
        Reply::json(429, "{}").with_header("retry-after-ms", "300"),
        Reply::json(200, fixture("openai/chat_text.json")),
    ])
    .await;
    let started = Instant::now();
    model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_wait_longer_than_the_policy_allows_fails_at_once() {
    let server = TestServer::start(vec![
        Reply::json(429, fixture("openai/error_429.json")).with_header("Retry-After", "120")
    ])
    .await;
    let started = Instant::now();
    let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::ResourceExhausted);
    match inner {
        OpenAIError::Api {
            status: 429,
            error: Some(body),
            retry_after,
            ..
        } => {
            assert_eq!(body.code, Some(serde_json::json!("rate_limit_exceeded")));
            assert_eq!(*retry_after, Some(Duration::from_secs(120)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let server = TestServer::start(vec![
        Reply::json(500, fixture("llamacpp/error_500_malformed.json")),
        Reply::json(503, "<html>busy</html>"),
        Reply::json(200, fixture("llamacpp/chat_text.json")),
    ])
    .await;
    let m = model(&server.base_url, fast_retries(), Duration::from_secs(10));
    m.generate(&request(), ModelContext::new()).await.unwrap();
    assert_eq!(server.requests().len(), 3);

    // Bounded: max_retries 2 means three attempts, then the last error.
    let server = TestServer::start(vec![Reply::json(
        500,
        fixture("llamacpp/error_500_malformed.json"),
    )])
    .await;
    let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 3);
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Internal);
    assert_eq!(inner.http_status(), Some(500));
    let message = e.full_message();
    assert!(message.contains("parse error"), "{message}");
    assert!(message.contains("server_error"), "{message}");
}

#[tokio::test]
async fn a_gateway_page_keeps_its_raw_text() {
    let server = TestServer::start(vec![Reply::json(502, "<html>Bad Gateway</html>")]).await;
    let e = model(
        &server.base_url,
        RetryPolicy::none(),
        Duration::from_secs(10),
    )
    .generate(&request(), ModelContext::new())
    .await
    .unwrap_err();
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Unavailable);
    match inner {
        OpenAIError::Api {
            error: None, body, ..
        } => assert_eq!(body, "<html>Bad Gateway</html>"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for (status, file, genkit) in [
        (401, "llamacpp/error_401.json", Status::Unauthenticated),
        (401, "openai/error_401.json", Status::Unauthenticated),
        (400, "llamacpp/error_400.json", Status::InvalidArgument),
        (
            403,
            "{\"error\":{\"message\":\"no access\"}}",
            Status::PermissionDenied,
        ),
        (
            404,
            "{\"error\":{\"message\":\"no such model\",\"code\":\"model_not_found\"}}",
            Status::NotFound,
        ),
    ] {
        let body = if file.ends_with(".json") {
            fixture(file)
        } else {
            file.as_bytes().to_vec()
        };
        let server = TestServer::start(vec![Reply::json(status, body)]).await;
        let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
            .generate(&request(), ModelContext::new())
            .await
            .unwrap_err();
        assert_eq!(server.requests().len(), 1, "{status} is not retried");
        let (got, inner) = unwrap_model_error(&e);
        assert_eq!(got, genkit, "{file}");
        assert!(
            matches!(inner, OpenAIError::Api { error: Some(_), .. }),
            "{inner:?}"
        );
    }
}

#[tokio::test]
async fn malformed_json_keeps_the_raw_body() {
    let server = TestServer::start(vec![Reply::json(200, "{\"choices\": [ {\"message\": ")]).await;
    let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap_err();
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Internal);
    match inner {
        OpenAIError::InvalidResponse { body, .. } => {
            assert_eq!(body, "{\"choices\": [ {\"message\": ")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1, "a 200 is never retried");
}

/// The llama.cpp text stream up to (not including) `marker`.
fn text_stream_until(marker: &str) -> Vec<u8> {
    let sse = fixture("llamacpp/chat_text.sse");
    let at = sse
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .unwrap();
    sse[..at].to_vec()
}

#[tokio::test]
async fn a_stream_cut_mid_event_is_a_typed_error() {
    let sse = fixture("llamacpp/chat_text.sse");
    // Cut inside the JSON of the third event.
    let third = sse
        .windows(7)
        .enumerate()
        .filter(|(_, w)| w == b"data: {")
        .nth(2)
        .unwrap()
        .0;
    let cut = sse[..third + 40].to_vec();
    for chunked in [false, true] {
        let server = TestServer::start(vec![Reply::Stream {
            pieces: vec![(Duration::ZERO, cut.clone())],
            chunked,
            hang: false,
        }])
        .await;
        let chunks = Chunks::default();
        let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
            .generate(&request(), chunks.context())
            .await
            .unwrap_err();
        let (status, inner) = unwrap_model_error(&e);
        assert_eq!(status, Status::Unavailable);
        assert!(
            matches!(inner, OpenAIError::StreamCut { .. }),
            "chunked {chunked}: {inner:?}"
        );
        assert_eq!(
            server.requests().len(),
            1,
            "a started stream is never replayed"
        );
        assert!(
            !chunks.all().is_empty(),
            "what arrived before the cut was streamed"
        );
    }
}

#[tokio::test]
async fn a_stream_without_done_is_fine_once_finished_and_an_error_before() {
    // Everything but `data: [DONE]`, then the connection closes.
    let server = TestServer::start(vec![Reply::sse(text_stream_until("data: [DONE]"))]).await;
    let r = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), Chunks::default().context())
        .await
        .unwrap();
    assert_eq!(
        r.message.unwrap().text(),
        "Hello! How can I assist you today?"
    );
    assert!(r.usage.is_some());

    // Closed cleanly after some text but before any finish reason.
    let server = TestServer::start(vec![Reply::sse(text_stream_until(
        "data: {\"choices\":[{\"finish_reason\":\"stop\"",
    ))])
    .await;
    let e = model(&server.base_url, fast_retries(), Duration::from_secs(10))
        .generate(&request(), Chunks::default().context())
        .await
        .unwrap_err();
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Unavailable);
    assert!(matches!(inner, OpenAIError::StreamIncomplete), "{inner:?}");
}

#[tokio::test]
async fn a_stream_that_stalls_times_out() {
    let server = TestServer::start(vec![Reply::Stream {
        pieces: vec![(Duration::ZERO, text_stream_until("data: [DONE]"))],
        chunked: true,
        hang: true,
    }])
    .await;
    let started = Instant::now();
    let e = model(&server.base_url, fast_retries(), Duration::from_millis(400))
        .generate(&request(), Chunks::default().context())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::DeadlineExceeded);
    assert!(matches!(inner, OpenAIError::Timeout(_)), "{inner:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_without_retries() {
    let server = TestServer::start(vec![Reply::Silent]).await;
    let started = Instant::now();
    let e = model(&server.base_url, fast_retries(), Duration::from_millis(300))
        .generate(&request(), ModelContext::new())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(unwrap_model_error(&e).0, Status::DeadlineExceeded);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unavailable() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = model(
        &format!("http://127.0.0.1:{port}/v1"),
        fast_retries(),
        Duration::from_secs(5),
    )
    .generate(&request(), ModelContext::new())
    .await
    .unwrap_err();
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Unavailable);
    assert!(matches!(inner, OpenAIError::Transport(_)), "{inner:?}");
    assert!(e.full_message().to_lowercase().contains("connect"), "{e}");
}

#[tokio::test]
async fn an_error_event_inside_a_stream() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n\
                data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"code\":500}}\n\n";
    let server = TestServer::start(vec![Reply::sse(body)]).await;
    let e = model(&server.base_url, fast_retries(), Duration::from_secs(5))
        .generate(&request(), Chunks::default().context())
        .await
        .unwrap_err();
    let (status, inner) = unwrap_model_error(&e);
    assert_eq!(status, Status::Internal);
    assert!(matches!(inner, OpenAIError::StreamApi(b) if b.message == "The server had an error"));
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_still_works() {
    let server = TestServer::start(vec![Reply::json(200, fixture("openai/chat_text.json"))]).await;
    let chunks = Chunks::default();
    let r = model(&server.base_url, fast_retries(), Duration::from_secs(5))
        .generate(&request(), chunks.context())
        .await
        .unwrap();
    assert_eq!(chunks.merged_parts(), r.message.unwrap().content);
}

#[tokio::test]
async fn dropping_the_future_cancels_the_request() {
    let mut pieces = vec![(Duration::ZERO, text_stream_until("data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\" How\""))];
    // The rest would come much later.
    pieces.push((Duration::from_secs(30), b"data: [DONE]\n\n".to_vec()));
    let server = TestServer::start(vec![Reply::Stream {
        pieces,
        chunked: true,
        hang: true,
    }])
    .await;
    let m = model(&server.base_url, fast_retries(), Duration::from_secs(60));
    let chunks = Chunks::default();
    let request = request();
    let call = m.generate(&request, chunks.context());
    let gone = Arc::clone(&server.client_gone);
    let waiting = gone.notified();
    tokio::pin!(waiting);
    waiting.as_mut().enable();
    // Give up once the first chunks arrived: the future is dropped mid-stream.
    let outcome = tokio::time::timeout(Duration::from_millis(500), call).await;
    assert!(outcome.is_err(), "the call was still running");
    assert!(!chunks.all().is_empty());
    // The server sees the connection close: nothing kept it alive in the background.
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the connection was closed after the drop");
}

/// A `tracing` subscriber that writes every event and span field into a string.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push_str(event.metadata().target());
        out.push(' ');
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn the_api_key_never_leaks() {
    let logs = Arc::new(Mutex::new(String::new()));
    let subscriber = Capture(Arc::clone(&logs));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            // A server (or proxy) that echoes the key: first as a retried 500, then a 401.
            let echo = format!(
                "{{\"error\":{{\"message\":\"Incorrect API key provided: {KEY}\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}}}"
            );
            let server = TestServer::start(vec![
                Reply::json(500, echo.clone()),
                Reply::json(401, echo),
            ])
            .await;
            let plugin = OpenAI::builder()
                .name("test")
                .base_url(&server.base_url)
                .api_key(KEY)
                .header("api-key", KEY)
                .retry(fast_retries())
                .build()
                .unwrap();
            let m = plugin.model("gpt-4o-mini");
            let e = m.generate(&request(), ModelContext::new()).await.unwrap_err();
            assert_eq!(server.requests().len(), 2);
            assert_eq!(
                server.requests()[1].header("authorization"),
                Some(format!("Bearer {KEY}").as_str()),
                "the key is sent"
            );
            assert_eq!(unwrap_model_error(&e).0, Status::Unauthenticated);
            assert!(e.full_message().contains("Incorrect API key provided: [REDACTED]"), "{e}");
            assert_no_key("the error's Display", &e.to_string());
            assert_no_key("the error's whole chain", &e.full_message());
            assert_no_key("the error's Debug", &format!("{e:?}"));
            assert_no_key("the plugin's Debug", &format!("{plugin:?} {plugin:#?}"));
            assert_no_key("the model's Debug", &format!("{m:?}"));
            let builder = OpenAI::builder().api_key(KEY).header("api-key", KEY);
            assert_no_key("the builder's Debug", &format!("{builder:?}"));
            std::env::set_var("OPENAI_API_KEY", KEY);
            let from_env = genkit_openai::OpenAIBuilder::from_env();
            std::env::remove_var("OPENAI_API_KEY");
            assert_no_key("the env builder's Debug", &format!("{from_env:?}"));
        })
    });
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("retrying chat completion"),
        "the retry was logged: {logs}"
    );
    assert_no_key("the logs", &logs);
}
