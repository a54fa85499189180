//! Nothing a server sends and no configuration value makes a call panic, hang or grow without
//! bound: any `Retry-After`, a stream kept alive forever, an endless body, extreme builder and
//! retry-policy values, and many streamed tool calls.

mod common;

use std::time::Duration;

use common::{Chunks, Reply, TestServer};
use genkit_core::{GenkitError, Message, Model, ModelContext, ModelRequest, ModelResponse, Status};
use genkit_openai::{OpenAI, OpenAIBuilder, OpenAIError, RetryPolicy, MAX_REPORTED_RETRY_AFTER};

fn request() -> ModelRequest {
    ModelRequest {
        messages: vec![Message::user("Hello")].into(),
        ..ModelRequest::default()
    }
}

fn builder(base_url: &str) -> OpenAIBuilder {
    OpenAI::builder()
        .name("limits")
        .base_url(base_url)
        .api_key("sk-limits-0123456789")
}

async fn generate(b: OpenAIBuilder, stream: bool) -> (Result<ModelResponse, GenkitError>, Chunks) {
    let model = b.build().unwrap().model("m");
    let chunks = Chunks::default();
    let ctx = if stream {
        chunks.context()
    } else {
        ModelContext::new()
    };
    (model.generate(&request(), ctx).await, chunks)
}

fn text(r: &ModelResponse) -> String {
    r.message.as_ref().map(Message::text).unwrap_or_default()
}

fn inner(e: &GenkitError) -> &OpenAIError {
    match e {
        GenkitError::Model { source, status, .. } => {
            let inner: &OpenAIError = source.downcast_ref().expect("an OpenAIError");
            assert_eq!(*status, inner.status());
            inner
        }
        other => panic!("{other:?}"),
    }
}

const COMPLETION: &str = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
const SSE: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

fn ok(stream: bool) -> Reply {
    if stream {
        Reply::sse(SSE)
    } else {
        Reply::json(200, COMPLETION)
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(1)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
        .with_max_retry_after(Duration::from_millis(200))
}

#[tokio::test]
async fn any_retry_after_value_is_handled_without_panic_plain_and_streamed() {
    let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    // (header, value, whether the call waits and retries)
    let cases: Vec<(&str, String, bool)> = vec![
        ("Retry-After", "99999999999999999999".into(), false),
        ("Retry-After", "1e300".into(), false),
        ("retry-after-ms", "1e300".into(), false),
        ("retry-after-ms", "99999999999999999999".into(), false),
        ("Retry-After", "inf".into(), false),
        ("Retry-After", future, false),
        // not a wait: the backoff applies
        ("Retry-After", "-5".into(), true),
        ("Retry-After", "NaN".into(), true),
        ("retry-after-ms", "-1e300".into(), true),
        ("Retry-After", "tomorrow".into(), true),
        // a fraction of a second, a date in the past
        ("Retry-After", "0.01".into(), true),
        ("retry-after-ms", "2.5".into(), true),
        ("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT".into(), true),
    ];
    for stream in [false, true] {
        for (name, value, retried) in &cases {
            let limited =
                Reply::json(429, r#"{"error":{"message":"slow down"}}"#).with_header(name, value);
            let server = TestServer::start(vec![limited, ok(stream)]).await;
            let (result, _) =
                generate(builder(&server.base_url).retry(fast_retries()), stream).await;
            let what = format!("{name}: {value} (stream {stream})");
            if *retried {
                assert_eq!(text(&result.unwrap()), "Hi", "{what}");
                assert_eq!(server.requests().len(), 2, "{what}");
            } else {
                let e = result.unwrap_err();
                match inner(&e) {
                    OpenAIError::Api {
                        status: 429,
                        retry_after: Some(wait),
                        ..
                    } => assert!(
                        *wait > Duration::from_secs(3000) && *wait <= MAX_REPORTED_RETRY_AFTER,
                        "{what}: {wait:?}"
                    ),
                    other => panic!("{what}: {other:?}"),
                }
                assert_eq!(server.requests().len(), 1, "{what}: not waited for");
            }
        }
    }
}

#[tokio::test]
async fn timeout_and_deadline_of_duration_max_mean_no_limit() {
    for stream in [false, true] {
        let server = TestServer::start(vec![ok(stream)]).await;
        let b = builder(&server.base_url)
            .timeout(Duration::MAX)
            .deadline(Duration::MAX)
            .retry(
                RetryPolicy::default()
                    .with_max_retries(u32::MAX)
                    .with_initial_backoff(Duration::MAX)
                    .with_max_backoff(Duration::MAX)
                    .with_max_retry_after(Duration::MAX),
            );
        let (result, chunks) = generate(b, stream).await;
        assert_eq!(text(&result.unwrap()), "Hi");
        assert_eq!(chunks.all().is_empty(), !stream);
    }
}

#[tokio::test]
async fn extreme_builder_and_retry_policy_values_never_panic() {
    let durations = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_secs(5),
        Duration::MAX,
    ];
    for stream in [false, true] {
        let server = TestServer::start(vec![ok(stream)]).await;
        for timeout in durations {
            for deadline in durations {
                for limit in [0, 1, 1 << 20, u64::MAX] {
                    let b = builder(&server.base_url)
                        .timeout(timeout)
                        .deadline(deadline)
                        .max_response_bytes(limit)
                        .retry(RetryPolicy::none().with_initial_backoff(Duration::MAX));
                    let (result, _) = generate(b, stream).await;
                    let what = format!("{timeout:?} {deadline:?} {limit} (stream {stream})");
                    match result {
                        Ok(r) => assert_eq!(text(&r), "Hi", "{what}"),
                        Err(e) => assert!(
                            matches!(
                                inner(&e),
                                OpenAIError::Timeout(_)
                                    | OpenAIError::Deadline(_)
                                    | OpenAIError::ResponseTooLarge { .. }
                            ),
                            "{what}: {e:?}"
                        ),
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_stream_kept_alive_by_comments_ends_at_the_deadline() {
    // A keep-alive comment every 20 ms, forever: the idle timeout (5 s) never fires.
    let pieces = (0..1000)
        .map(|_| (Duration::from_millis(20), b": keep-alive\n\n".to_vec()))
        .collect();
    let server = TestServer::start(vec![Reply::Stream {
        pieces,
        chunked: true,
        hang: true,
    }])
    .await;
    let b = builder(&server.base_url)
        .timeout(Duration::from_secs(5))
        .deadline(Duration::from_millis(300));
    let (result, _) = generate(b, true).await;
    let e = result.unwrap_err();
    assert!(
        matches!(inner(&e), OpenAIError::Deadline(d) if *d == Duration::from_millis(300)),
        "{e:?}"
    );
    assert_eq!(e.status(), Status::DeadlineExceeded);
    assert!(inner(&e).is_timeout());
    // the connection is closed, not left to the server
    tokio::time::timeout(Duration::from_secs(5), server.client_gone.notified())
        .await
        .expect("the client closed the connection");
}

#[tokio::test]
async fn a_stream_trickling_bytes_ends_at_the_deadline() {
    // A text delta cut into single bytes, one every 10 ms.
    let event =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n".repeat(100);
    let pieces = event
        .iter()
        .map(|b| (Duration::from_millis(10), vec![*b]))
        .collect();
    let server = TestServer::start(vec![Reply::Stream {
        pieces,
        chunked: false,
        hang: true,
    }])
    .await;
    let b = builder(&server.base_url)
        .timeout(Duration::from_secs(5))
        .deadline(Duration::from_millis(400));
    let (result, _) = generate(b, true).await;
    let e = result.unwrap_err();
    assert!(matches!(inner(&e), OpenAIError::Deadline(_)), "{e:?}");
}

#[tokio::test]
async fn a_retry_whose_wait_ends_after_the_deadline_is_not_made() {
    let server = TestServer::start(vec![
        Reply::json(503, r#"{"error":{"message":"busy"}}"#).with_header("Retry-After", "2"),
        ok(false),
    ])
    .await;
    let b = builder(&server.base_url)
        .deadline(Duration::from_millis(500))
        .retry(RetryPolicy::default().with_max_retry_after(Duration::from_secs(10)));
    let (result, _) = generate(b, false).await;
    let e = result.unwrap_err();
    assert!(
        matches!(inner(&e), OpenAIError::Api { status: 503, .. }),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_plain_body_over_the_size_limit_is_a_typed_error() {
    let big = format!(
        r#"{{"choices":[{{"index":0,"message":{{"content":"{}"}},"finish_reason":"stop"}}]}}"#,
        "a".repeat(2 << 20)
    );
    let server = TestServer::start(vec![Reply::json(200, big)]).await;
    let (result, _) = generate(builder(&server.base_url).max_response_bytes(1 << 20), false).await;
    let e = result.unwrap_err();
    assert!(
        matches!(inner(&e), OpenAIError::ResponseTooLarge { limit, .. } if *limit == 1 << 20),
        "{e:?}"
    );
    assert_eq!(e.status(), Status::ResourceExhausted);
    // within the limit, the same answer is fine
    let (result, _) = generate(builder(&server.base_url).max_response_bytes(3 << 20), false).await;
    assert_eq!(text(&result.unwrap()).len(), 2 << 20);
}

#[tokio::test]
async fn a_stream_over_the_size_limit_is_a_typed_error() {
    // An endless stream of small deltas, without Content-Length.
    let event =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"aaaaaaaaaaaaaaaa\"}}]}\n\n";
    let pieces = (0..20_000)
        .map(|_| (Duration::ZERO, event.repeat(10)))
        .collect();
    let server = TestServer::start(vec![Reply::Stream {
        pieces,
        chunked: true,
        hang: true,
    }])
    .await;
    let (result, chunks) = generate(
        builder(&server.base_url).max_response_bytes(256 * 1024),
        true,
    )
    .await;
    let e = result.unwrap_err();
    assert!(
        matches!(
            inner(&e),
            OpenAIError::ResponseTooLarge { limit: 262_144, .. }
        ),
        "{e:?}"
    );
    // what arrived before the limit was streamed
    let streamed: usize = chunks.all().iter().map(|c| c.text().len()).sum();
    assert!(streamed > 0 && streamed < 256 * 1024, "{streamed}");
}

#[tokio::test]
async fn many_streamed_tool_calls_give_the_same_answer_as_the_plain_call() {
    const CALLS: usize = 20_000;
    let mut sse = String::new();
    let mut calls = Vec::new();
    for i in 0..CALLS {
        for delta in [
            format!(
                r#"{{"index":{i},"id":"call_{i}","type":"function","function":{{"name":"f","arguments":""}}}}"#
            ),
            format!(r#"{{"index":{i},"function":{{"arguments":"{{\"n\":"}}}}"#),
            format!(r#"{{"index":{i},"function":{{"arguments":"{i}}}"}}}}"#),
        ] {
            sse.push_str(&format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{delta}]}}}}]}}\n\n"
            ));
        }
        calls.push(format!(
            r#"{{"id":"call_{i}","type":"function","function":{{"name":"f","arguments":"{{\"n\":{i}}}"}}}}"#
        ));
    }
    sse.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n");
    let plain = format!(
        r#"{{"choices":[{{"index":0,"message":{{"role":"assistant","tool_calls":[{}]}},"finish_reason":"tool_calls"}}]}}"#,
        calls.join(",")
    );
    let server = TestServer::start(vec![Reply::sse(sse), Reply::json(200, plain)]).await;
    let (streamed, _) = generate(builder(&server.base_url), true).await;
    let (plain, _) = generate(builder(&server.base_url), false).await;
    let (streamed, plain) = (streamed.unwrap(), plain.unwrap());
    let requests = |r: &ModelResponse| {
        r.message
            .as_ref()
            .unwrap()
            .tool_requests()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(requests(&streamed).len(), CALLS);
    assert_eq!(requests(&streamed), requests(&plain));
}
