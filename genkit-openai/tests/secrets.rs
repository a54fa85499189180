//! The API key (and every custom header value, Azure's `api-key` for one) never leaks, whatever
//! a server echoes back and wherever: error status bodies, a 2xx body that is not a completion,
//! SSE `error` events, SSE data that is not JSON, a chunk of the wrong shape, a body cut at
//! the 64 KiB limit right inside the key, a key echoed in part or JSON-escaped. Neither the
//! key nor any 8-byte piece of it may show in the error's `Display` or `Debug`, its chain of
//! causes, or any `tracing` line the plugin logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{Chunks, Reply, TestServer};
use genkit_core::{GenkitError, Message, Model, ModelContext, ModelRequest};
use genkit_openai::{OpenAI, OpenAIError, RetryPolicy, MAX_ERROR_BODY};

const KEY: &str = "sk-proj-Zq8xW3vN6bR1tY4uI7oP0aS2dF5gH9jKmL";
const HEADER_SECRET: &str = "azure-3f7c1e9a2b4d6f80c5e7a9b1";

/// Every 8-byte piece of every secret.
fn pieces() -> Vec<&'static str> {
    [KEY, HEADER_SECRET]
        .iter()
        .flat_map(|s| (0..=s.len() - 8).map(move |i| &s[i..i + 8]))
        .collect()
}

fn assert_clean(text: &str, what: &str) {
    for piece in pieces() {
        assert!(
            !text.contains(piece),
            "{what} shows the secret piece {piece:?}:\n{}",
            &text[..text.len().min(3000)]
        );
    }
}

/// Everything `tracing` logs in this test binary, at every level, with all fields.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Capture(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    }))
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn request() -> ModelRequest {
    ModelRequest {
        messages: vec![Message::user("Hello")].into(),
        ..ModelRequest::default()
    }
}

/// The error and all its causes, `Display` and `Debug`.
fn everything_shown(e: &GenkitError) -> String {
    let mut out = format!("{e}\n{e:?}\n{e:#?}\n");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    out
}

/// Calls the model against a server playing `reply` (then `then`, for a retry), plain or
/// streamed, and checks nothing shows a secret; returns the error.
async fn call(reply: Reply, then: Reply, stream: bool) -> GenkitError {
    let logs = logs();
    let server = TestServer::start(vec![reply, then]).await;
    let model = OpenAI::builder()
        .name("leak")
        .base_url(&server.base_url)
        .api_key(KEY)
        .header("api-key", HEADER_SECRET)
        // one retry, so that the retry's log line (with the first error) is written too
        .retry(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(2)),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .model("gpt-4o-mini");
    let chunks = Chunks::default();
    let ctx = if stream {
        chunks.context()
    } else {
        ModelContext::new()
    };
    let e = model
        .generate(&request(), ctx)
        .await
        .expect_err("the reply is an error");
    // the key really was sent, so that a server could echo it
    let sent = server.requests();
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_clean(&everything_shown(&e), "the error");
    for chunk in chunks.all() {
        assert_clean(&format!("{chunk:?}"), "a streamed chunk");
    }
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        !logged.is_empty(),
        "the plugin logs nothing: the capture is broken"
    );
    assert_clean(&logged, "the logs");
    e
}

fn inner(e: &GenkitError) -> &OpenAIError {
    match e {
        GenkitError::Model { source, .. } => source.downcast_ref().expect("an OpenAIError"),
        other => panic!("{other:?}"),
    }
}

fn echo_body(status: u16, body: String) -> Reply {
    Reply::Full {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            // a header echoing the key: not kept in any error
            ("X-Echo-Authorization".into(), format!("Bearer {KEY}")),
        ],
        body: body.into_bytes(),
    }
}

/// A body with `secret` starting `before` bytes before the 64 KiB cut.
fn across_the_cut(secret: &str, before: usize) -> String {
    format!(
        "{}{secret}{}",
        "x".repeat(MAX_ERROR_BODY - before),
        "y".repeat(100)
    )
}

#[tokio::test]
async fn an_echoed_key_never_shows_in_error_status_bodies() {
    for stream in [false, true] {
        for (status, body) in [
            (
                401,
                format!(
                    r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key","param":"{KEY}"}}}}"#
                ),
            ),
            (
                400,
                format!(r#"{{"error":{{"message":"bad","code":{{"echo":"{KEY}"}}}}}}"#),
            ),
            (
                503,
                format!("<html>upstream said: Authorization: Bearer {KEY}</html>"),
            ),
            (500, format!("api-key: {HEADER_SECRET}")),
            // in part: the first 12 bytes, the last 9
            (
                401,
                format!("key {} ... {}", &KEY[..12], &KEY[KEY.len() - 9..]),
            ),
            // JSON-escaped: the raw body does not hold the key, the parsed message does
            (
                401,
                format!(r#"{{"error":{{"message":"\u0073{}"}}}}"#, &KEY[1..]),
            ),
        ] {
            let e = call(
                echo_body(status, body.clone()),
                echo_body(status, body),
                stream,
            )
            .await;
            match inner(&e) {
                OpenAIError::Api {
                    status: s, body, ..
                } => {
                    assert_eq!(*s, status);
                    assert!(body.contains("[REDACTED]"), "{body}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_key_straddling_the_64_kib_cut_leaves_no_prefix() {
    for stream in [false, true] {
        for before in [1, 7, 8, 9, 20, KEY.len() - 1] {
            let body = across_the_cut(KEY, before);
            let e = call(echo_body(400, body.clone()), echo_body(400, body), stream).await;
            match inner(&e) {
                OpenAIError::Api { body, .. } => assert!(body.len() <= MAX_ERROR_BODY),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn an_echoed_key_never_shows_from_a_2xx_body_that_is_not_a_completion() {
    for stream in [false, true] {
        for body in [
            // the JSON parser's message quotes the value it did not expect
            format!(r#"{{"choices": "{KEY}"}}"#),
            format!(r#"{{"choices": [{{"index": "{KEY}", "message": {{}}}}]}}"#),
            format!("<html>proxy login for {KEY}</html>"),
            across_the_cut(KEY, 10),
        ] {
            let e = call(echo_body(200, body.clone()), echo_body(200, body), stream).await;
            match inner(&e) {
                OpenAIError::InvalidResponse { body, .. } => {
                    assert!(body.len() <= MAX_ERROR_BODY)
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn an_echoed_key_never_shows_from_sse_error_events_or_non_json_data() {
    let head = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    for (event, is_api) in [
        (format!("event: error\ndata: {{\"error\":{{\"message\":\"bad key {KEY}\",\"type\":\"{KEY}\"}}}}\n\n"), true),
        (format!("data: {{\"error\":{{\"message\":\"bad key {KEY}\",\"code\":\"{HEADER_SECRET}\"}}}}\n\n"), true),
        (format!("event: error\ndata: upstream rejected {KEY}\n\n"), false),
        (format!("data: not json {KEY}\n\n"), false),
        (format!("data: {{\"choices\":[{{\"index\":\"{KEY}\"}}]}}\n\n"), false),
        (format!("data: {}\n\n", across_the_cut(KEY, 12)), false),
    ] {
        let sse = Reply::sse(format!("{head}{event}data: [DONE]\n\n"));
        let e = call(sse.clone(), sse, true).await;
        match inner(&e) {
            OpenAIError::StreamApi(body) if is_api => assert!(body.message.contains("[REDACTED]")),
            OpenAIError::InvalidResponse { body, .. } if !is_api => {
                assert!(body.len() <= MAX_ERROR_BODY)
            }
            other => panic!("{event:.80}: {other:?}"),
        }
    }
}
