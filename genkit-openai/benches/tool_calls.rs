//! Many tool calls in one answer, streamed and plain: the streamed path must stay linear in
//! the number of calls (it was quadratic: every argument delta searched all calls so far).
//!
//! A local server answers with `N` tool calls, each streamed as two deltas (id and name, then
//! the arguments) or, plain, as one `tool_calls` array. `OpenAIModel::generate` is measured
//! for N = 1,000, 10,000 and 100,000; streamed and plain should grow alike.
//!
//! Measured on the 2-core machine, under load from other builds (`cargo bench --bench
//! tool_calls`): streamed 1k / 10k / 100k calls took 15.3 ms / 591 ms / about 60 s per call
//! with the old lookup (the 100k run was stopped after criterion's warm-up), and take
//! 10.4 ms / 81 ms / 1.03 s now; plain: 5.5 ms / 33 ms / 245 ms.

use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use genkit_core::{ChunkSink, GenerateResponseChunk, Message, Model, ModelContext, ModelRequest};
use genkit_openai::OpenAI;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn sse_body(calls: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..calls {
        out.push_str(&format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{i},\"id\":\"call_{i}\",\"type\":\"function\",\"function\":{{\"name\":\"lookup\",\"arguments\":\"\"}}}}]}}}}]}}\n\n"
        ));
        out.push_str(&format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":\"{{\\\"n\\\":{i}}}\"}}}}]}}}}]}}\n\n"
        ));
    }
    out.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

fn json_body(calls: usize) -> Vec<u8> {
    let calls: Vec<String> = (0..calls)
        .map(|i| {
            format!(
                "{{\"id\":\"call_{i}\",\"type\":\"function\",\"function\":{{\"name\":\"lookup\",\"arguments\":\"{{\\\"n\\\":{i}}}\"}}}}"
            )
        })
        .collect();
    format!(
        "{{\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"tool_calls\":[{}]}},\"finish_reason\":\"tool_calls\"}}]}}",
        calls.join(",")
    )
    .into_bytes()
}

/// Reads one request (head and `Content-Length` body); whether it asked for a stream.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<bool> {
    let mut tmp = [0u8; 16 * 1024];
    loop {
        if let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) {
            let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
            let len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= head + len {
                let stream =
                    String::from_utf8_lossy(&buf[head..head + len]).contains("\"stream\":true");
                buf.drain(..head + len);
                return Some(stream);
            }
        }
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

async fn serve(listener: TcpListener, sse: Vec<u8>, json: Vec<u8>) {
    let sse: &'static [u8] = Box::leak(sse.into_boxed_slice());
    let json: &'static [u8] = Box::leak(json.into_boxed_slice());
    while let Ok((mut socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some(stream) = read_request(&mut socket, &mut buf).await {
                let (kind, body) = if stream {
                    ("text/event-stream", sse)
                } else {
                    ("application/json", json)
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(body).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

/// A context streaming into a channel that a task of its own drains (the chunks are dropped).
fn streaming_context() -> ModelContext {
    let (sink, mut chunks) = ChunkSink::<GenerateResponseChunk>::channel(16);
    tokio::spawn(async move { while chunks.recv().await.is_some() {} });
    ModelContext::new().with_chunks(sink)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let request = ModelRequest {
        messages: vec![Message::user("Look up everything.")].into(),
        ..ModelRequest::default()
    };
    let mut group = c.benchmark_group("tool_calls");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for calls in [1_000usize, 10_000, 100_000] {
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("listener");
        let addr = listener.local_addr().expect("address");
        rt.spawn(serve(listener, sse_body(calls), json_body(calls)));
        let model = OpenAI::builder()
            .name("bench")
            .base_url(format!("http://{addr}/v1"))
            .build()
            .expect("plugin")
            .model("bench");
        group.throughput(Throughput::Elements(calls as u64));
        for (mode, streamed) in [("plain", false), ("stream", true)] {
            group.bench_with_input(BenchmarkId::new(mode, calls), &calls, |b, &calls| {
                b.to_async(&rt).iter(|| async {
                    let ctx = if streamed {
                        streaming_context()
                    } else {
                        ModelContext::new()
                    };
                    let response = model.generate(&request, ctx).await.expect("answer");
                    let n = response
                        .message
                        .as_ref()
                        .map_or(0, |m| m.tool_requests().count());
                    assert_eq!(n, calls);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
