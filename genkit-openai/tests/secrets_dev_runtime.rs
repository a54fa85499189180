//! The API key never reaches the Developer UI: a model call through the reflection API's
//! `runAction` against a server that echoes the key (in an error body, an SSE error event,
//! non-JSON SSE data, a 2xx body that is not a completion) answers an error, and neither that
//! answer nor the traces exported to the telemetry server hold the key or any 8-byte piece of
//! it. (Its own binary: the dev runtime installs the process's trace exporter.)

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Reply, TestServer};
use genkit_core::reflection::{DevOptions, DevRuntime};
use genkit_core::Genkit;
use genkit_openai::{OpenAI, RetryPolicy, MAX_ERROR_BODY};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "sk-proj-Zq8xW3vN6bR1tY4uI7oP0aS2dF5gH9jKmL";

fn assert_clean(text: &str, what: &str) {
    for i in 0..=KEY.len() - 8 {
        let piece = &KEY[i..i + 8];
        assert!(
            !text.contains(piece),
            "{what} shows the key piece {piece:?}:\n{}",
            &text[..text.len().min(3000)]
        );
    }
}

/// A stand-in for the CLI's telemetry server: keeps every body posted to it, as text.
async fn telemetry() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 16 * 1024];
                loop {
                    if let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = head + 4;
                        let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= head + len {
                            let body = String::from_utf8_lossy(&buf[head..head + len]).into_owned();
                            kept.lock().unwrap().push(body);
                            buf.drain(..head + len);
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK";
                            if socket.write_all(ok).await.is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                    match socket.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
            });
        }
    });
    (url, bodies)
}

/// A POST over plain HTTP/1.1; the whole answer, head included, as text.
async fn post(base: &str, path: &str, body: &str) -> String {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_reaches_neither_the_run_action_answer_nor_the_exported_traces() {
    let head = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    let replies = vec![
        Reply::json(
            401,
            format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#),
        ),
        Reply::json(400, format!("{}{KEY}", "x".repeat(MAX_ERROR_BODY - 11))),
        Reply::json(200, format!(r#"{{"choices": "{KEY}"}}"#)),
        Reply::sse(format!(
            "{head}event: error\ndata: {{\"error\":{{\"message\":\"bad key {KEY}\"}}}}\n\n"
        )),
        Reply::sse(format!("{head}data: not json {KEY}\n\n")),
    ];
    let n = replies.len();
    let server = TestServer::start(replies).await;
    let plugin = OpenAI::builder()
        .name("leak")
        .base_url(&server.base_url)
        .api_key(KEY)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let ai = Genkit::builder().plugin(plugin).build().unwrap();

    let (telemetry_url, posted) = telemetry().await;
    let project =
        std::env::temp_dir().join(format!("genkit-openai-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), "{}").unwrap();
    let options = DevOptions::default()
        .genkit_env("dev")
        .telemetry_server(telemetry_url)
        .project_dir(&project)
        .exit_on_signal(false);
    let runtime = DevRuntime::start_with(&ai, options).await.unwrap().unwrap();
    let base = runtime.reflection_url().unwrap().to_owned();
    for i in 0..n {
        // the first three replies are plain answers, the last two streams
        let stream = i >= 3;
        let body = json!({
            "key": "/util/generate",
            "input": {
                "model": "leak/gpt-4o-mini",
                "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
            },
        });
        let path = if stream {
            "/api/runAction?stream=true"
        } else {
            "/api/runAction"
        };
        let answer = post(&base, path, &body.to_string()).await;
        assert!(answer.contains("leak/gpt-4o-mini"), "reply {i}: {answer}");
        assert!(
            answer.contains("\"error\"") || answer.contains("\"code\""),
            "reply {i}: {answer}"
        );
        assert_clean(&answer, &format!("the runAction answer {i}"));
    }
    assert_eq!(server.requests().len(), n);

    // The runner flushes a run's spans before it answers; give a late one a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let posted = posted.lock().unwrap().join("\n");
    assert!(
        posted.contains("leak/gpt-4o-mini"),
        "no trace exported: {posted:.500}"
    );
    let errors: Vec<Value> = posted
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!errors.is_empty());
    assert_clean(&posted, "the exported traces");
    runtime.shutdown().await;
    let _ = std::fs::remove_dir_all(&project);
}
