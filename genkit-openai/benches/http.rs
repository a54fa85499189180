//! The HTTP path: genkit-openai against a local, instant OpenAI-compatible server,
//! next to a raw `reqwest` client sending the same request bodies and parsing the same
//! responses, at concurrency 1, 64 and 512, plain and streamed.
//!
//! Each benchmark group (`plain/conc=N`, `stream/conc=N`) runs, with N requests in flight:
//!
//! - `wire`: a hand-rolled keep-alive client writing pre-built request bytes and reading the
//!   response bytes without parsing them: what the server and the loopback cost alone, the
//!   floor under everything else;
//! - `raw`: `reqwest` (same version and configuration as the plugin's) posting the same JSON
//!   body, built and serialized per request, and parsing the answer into `serde_json::Value`
//!   (streamed: splitting the events and parsing each);
//! - `model`: [`OpenAIModel::generate`] through the `Model` trait;
//! - `generate`: `ai.generate()` (streamed: `.stream()`) through the engine.
//!
//! The server answers the fixtures `openai/chat_text.json` (plain) and `openai/chat_text.sse`
//! (11 events, one HTTP chunk each), pre-serialized, on keep-alive connections, from its own
//! thread. Every operation checks that it got the answer's text.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};
use futures::future::join_all;
use futures::StreamExt;
use genkit_core::prelude::*;
use genkit_core::{ChunkSink, GenerateResponseChunk, Model, ModelContext, ModelRequest};
use genkit_openai::{OpenAI, OpenAIModel, RetryPolicy};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const JSON_BODY: &[u8] = include_bytes!("../tests/fixtures/openai/chat_text.json");
const SSE_BODY: &[u8] = include_bytes!("../tests/fixtures/openai/chat_text.sse");
/// The text both fixtures carry.
const ANSWER: &str = "Hello there, how are you?";
const PROMPT: &str = "Say hello in five words.";
const MODEL_ID: &str = "bench";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The length of the first complete request in `buf` (head and body), if there is one.
fn complete_request(buf: &[u8]) -> Option<(usize, bool)> {
    let head = find(buf, b"\r\n\r\n")? + 4;
    let length = buf[..head]
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .next()
        .unwrap_or(0);
    let end = head + length;
    (buf.len() >= end).then(|| (end, find(&buf[head..end], b"\"stream\":true").is_some()))
}

/// The SSE fixture in chunked transfer encoding, one chunk per event, as servers flush them.
fn sse_chunked_body() -> Vec<u8> {
    let mut r = Vec::new();
    let text = std::str::from_utf8(SSE_BODY).expect("UTF-8 fixture");
    for event in text.split_inclusive("\n\n") {
        r.extend_from_slice(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes());
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

/// The instant server: one thread, its own runtime, keep-alive connections, answers built once.
struct Server {
    addr: SocketAddr,
    answered: Arc<AtomicU64>,
    /// The server thread's `/proc` entry, for its CPU time.
    task: std::path::PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Self {
        let plain: Arc<[u8]> = {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                JSON_BODY.len()
            )
            .into_bytes();
            r.extend_from_slice(JSON_BODY);
            r.into()
        };
        let sse: Arc<[u8]> = {
            let mut r = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            r.extend_from_slice(&sse_chunked_body());
            r.into()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let answered = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let count = Arc::clone(&answered);
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
            let _ = tid_tx.send(std::fs::read_link("/proc/thread-self").unwrap_or_default());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                tokio::pin!(stopped);
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => {
                            let Ok((socket, _)) = accepted else { continue };
                            let (plain, sse, count) = (Arc::clone(&plain), Arc::clone(&sse), Arc::clone(&count));
                            tokio::spawn(serve(socket, plain, sse, count));
                        }
                    }
                }
            });
            // Dropping the runtime closes every connection.
        })
            .expect("server thread");
        let task = tid_rx.recv().unwrap_or_default();
        Self {
            addr,
            answered,
            task: std::path::Path::new("/proc").join(task),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn schedstat(&self) -> std::path::PathBuf {
        self.task.join("schedstat")
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(mut socket: TcpStream, plain: Arc<[u8]>, sse: Arc<[u8]>, count: Arc<AtomicU64>) {
    let _ = socket.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        while let Some((length, streamed)) = complete_request(&buf) {
            let reply = if streamed { &sse } else { &plain };
            if socket.write_all(reply).await.is_err() {
                return;
            }
            buf.drain(..length);
            count.fetch_add(1, Ordering::Relaxed);
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        match socket.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The request body, as a raw client writes it. Checked against the plugin's own body.
fn raw_body(stream: bool) -> Value {
    let mut body = json!({
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": PROMPT}],
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// A raw `reqwest` client, configured as the plugin configures its own (rustls with the ring
/// provider, no redirects), without retries or timeouts.
struct Raw {
    http: reqwest::Client,
    url: String,
}

impl Raw {
    fn new(base_url: &str) -> Self {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Self {
            http,
            url: format!("{base_url}/chat/completions"),
        }
    }

    async fn send(&self, stream: bool) -> reqwest::Response {
        let body = serde_json::to_vec(&raw_body(stream)).expect("body");
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let response = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body)
            .send()
            .await
            .expect("send");
        assert!(response.status().is_success());
        response
    }

    async fn plain(&self) -> String {
        let bytes = self.send(false).await.bytes().await.expect("body");
        let v: Value = serde_json::from_slice(&bytes).expect("JSON");
        v["choices"][0]["message"]["content"]
            .as_str()
            .expect("content")
            .to_owned()
    }

    async fn streamed(&self) -> String {
        let mut response = self.send(true).await;
        let mut buf: Vec<u8> = Vec::new();
        let mut text = String::new();
        'read: while let Some(chunk) = response.chunk().await.expect("chunk") {
            buf.extend_from_slice(&chunk);
            while let Some(end) = find(&buf, b"\n\n") {
                if let Some(data) = buf[..end].strip_prefix(b"data: ") {
                    if data == b"[DONE]" {
                        break 'read;
                    }
                    let v: Value = serde_json::from_slice(data).expect("event JSON");
                    if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
                        text.push_str(t);
                    }
                }
                buf.drain(..end + 2);
            }
        }
        text
    }
}

/// The floor: pre-built request bytes on one keep-alive connection per operation in flight,
/// response bytes read to their end and not parsed.
struct Wire {
    conns: Vec<tokio::sync::Mutex<(TcpStream, Vec<u8>)>>,
    plain: Vec<u8>,
    stream: Vec<u8>,
}

impl Wire {
    async fn connect(addr: SocketAddr, n: usize) -> Self {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            let s = TcpStream::connect(addr).await.expect("connect");
            s.set_nodelay(true).expect("nodelay");
            conns.push(tokio::sync::Mutex::new((s, Vec::with_capacity(8192))));
        }
        let request = |stream: bool| {
            let body = serde_json::to_vec(&raw_body(stream)).expect("body");
            let mut r = format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: */*\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        };
        Self {
            conns,
            plain: request(false),
            stream: request(true),
        }
    }

    /// Returns the body's length, so the caller can check it got the whole answer.
    async fn op(&self, i: usize, stream: bool) -> usize {
        let mut guard = self.conns[i].lock().await;
        let (socket, buf) = &mut *guard;
        buf.clear();
        let request = if stream { &self.stream } else { &self.plain };
        socket.write_all(request).await.expect("write");
        loop {
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(8192);
            }
            let n = socket.read_buf(buf).await.expect("read");
            assert!(n > 0, "server closed");
            if let Some(head) = find(buf, b"\r\n\r\n") {
                let body = buf.len() - head - 4;
                if stream {
                    if buf.ends_with(b"\r\n0\r\n\r\n") {
                        return body;
                    }
                } else if body >= JSON_BODY.len() {
                    return body;
                }
            }
        }
    }
}

async fn model_plain(model: &OpenAIModel, request: &ModelRequest) -> String {
    let r = model
        .generate(request, ModelContext::new())
        .await
        .expect("generate");
    r.message.expect("message").text()
}

async fn model_streamed(model: &OpenAIModel, request: &ModelRequest) -> String {
    let (sink, mut chunks) = ChunkSink::<GenerateResponseChunk>::channel(16);
    let ctx = ModelContext::new().with_chunks(sink);
    let collect = async {
        let mut text = String::new();
        while let Some(c) = chunks.recv().await {
            text.push_str(&c.text());
        }
        text
    };
    let (r, text) = futures::join!(model.generate(request, ctx), collect);
    let r = r.expect("generate");
    assert_eq!(r.message.expect("message").text(), ANSWER);
    text
}

async fn generate_plain(ai: &Genkit) -> String {
    let name = format!("local/{MODEL_ID}");
    let r = ai
        .generate()
        .model(name)
        .prompt(PROMPT)
        .await
        .expect("generate");
    r.text()
}

async fn generate_streamed(ai: &Genkit) -> String {
    let name = format!("local/{MODEL_ID}");
    let mut stream = ai.generate().model(name).prompt(PROMPT).stream();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        text.push_str(&chunk.text());
    }
    let r = stream.response().await.expect("generate");
    assert_eq!(r.text(), ANSWER);
    text
}

/// Everything the benchmarks use.
#[derive(Clone)]
struct Clients {
    raw: Arc<Raw>,
    wire: Arc<Wire>,
    model: OpenAIModel,
    ai: Genkit,
    request: Arc<ModelRequest>,
}

/// The four ways to make one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Wire,
    Raw,
    Model,
    Generate,
}

const VARIANTS: [Variant; 4] = [
    Variant::Wire,
    Variant::Raw,
    Variant::Model,
    Variant::Generate,
];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Wire => "wire",
            Variant::Raw => "raw",
            Variant::Model => "model",
            Variant::Generate => "generate",
        }
    }
}

/// One call (`i`: the index among those in flight, for the wire client's connection); returns
/// the answer's text.
async fn call(cl: Clients, variant: Variant, stream: bool, i: usize) -> String {
    match (variant, stream) {
        (Variant::Wire, _) => {
            let expected = if stream {
                sse_chunked_body().len()
            } else {
                JSON_BODY.len()
            };
            assert_eq!(cl.wire.op(i, stream).await, expected);
            ANSWER.to_owned()
        }
        (Variant::Raw, false) => cl.raw.plain().await,
        (Variant::Raw, true) => cl.raw.streamed().await,
        (Variant::Model, false) => model_plain(&cl.model, &cl.request).await,
        (Variant::Model, true) => model_streamed(&cl.model, &cl.request).await,
        (Variant::Generate, false) => generate_plain(&cl.ai).await,
        (Variant::Generate, true) => generate_streamed(&cl.ai).await,
    }
}

/// `n` calls in flight at once, each on its own task; every one must return `ANSWER`.
async fn in_flight(cl: &Clients, variant: Variant, stream: bool, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(call(cl.clone(), variant, stream, i)))
        .collect();
    for text in join_all(tasks).await {
        assert_eq!(text.expect("task"), ANSWER);
    }
}

const CONCURRENCY: [usize; 3] = [1, 64, 512];

fn setup() -> (Server, tokio::runtime::Runtime, Clients) {
    let server = Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let plugin = OpenAI::builder()
        .name("local")
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("plugin");
    let request = ModelRequest {
        messages: vec![Message::user(PROMPT)].into(),
        ..ModelRequest::default()
    };
    let model = plugin.model(MODEL_ID);
    for stream in [false, true] {
        assert_eq!(
            model.request_body(&request, stream).expect("body"),
            raw_body(stream),
            "the raw client sends the plugin's body"
        );
    }
    let max = CONCURRENCY.into_iter().max().unwrap_or(1);
    let clients = Clients {
        raw: Arc::new(Raw::new(&server.base_url())),
        wire: Arc::new(rt.block_on(Wire::connect(server.addr, max))),
        model,
        ai: Genkit::builder().plugin(plugin).build().expect("genkit"),
        request: Arc::new(request),
    };
    (server, rt, clients)
}

fn http(c: &mut Criterion) {
    let (server, rt, clients) = setup();
    for stream in [false, true] {
        for n in CONCURRENCY {
            let mode = if stream { "stream" } else { "plain" };
            let mut g = c.benchmark_group(format!("{mode}/conc={n}"));
            g.throughput(Throughput::Elements(n as u64));
            g.warm_up_time(Duration::from_secs(1));
            g.measurement_time(Duration::from_secs(if n == 1 { 3 } else { 5 }));
            g.sample_size(if n == 512 { 20 } else { 50 });
            for variant in VARIANTS {
                g.bench_function(variant.name(), |b| {
                    b.to_async(&rt)
                        .iter(|| in_flight(&clients, variant, stream, n))
                });
            }
            g.finish();
        }
    }
    drop(clients);
    drop(rt);
    assert!(
        server.answered.load(Ordering::Relaxed) > 0,
        "the server answered nothing"
    );
}

/// Interleaved A/B measurement (`-- --ab`): criterion measures one variant after the other, so
/// on a shared 2-core machine a change in background load between `raw` and `model` shows up
/// as a difference between them. Here every round runs each variant for a short window, in
/// rotating order, and the ratios are taken within a round. CPU time per call comes from the
/// scheduler's per-thread accounting (`/proc/self/task/*/schedstat`, nanoseconds), which
/// other processes' load hardly disturbs; the server thread is counted apart.
mod ab {
    use super::*;
    use std::time::Instant;

    /// CPU time a thread ran, from its `schedstat`.
    fn thread_cpu_ns(schedstat: &std::path::Path) -> u64 {
        std::fs::read_to_string(schedstat)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// CPU time of every live thread of the process.
    fn process_cpu_ns() -> u64 {
        std::fs::read_dir("/proc/self/task")
            .map(|dir| {
                dir.flatten()
                    .map(|e| thread_cpu_ns(&e.path().join("schedstat")))
                    .sum()
            })
            .unwrap_or(0)
    }

    struct Window {
        calls: u64,
        wall: Duration,
        client_ns: u64,
        server_ns: u64,
    }

    fn window(
        rt: &tokio::runtime::Runtime,
        cl: &Clients,
        server: &Server,
        v: Variant,
        stream: bool,
        n: usize,
        length: Duration,
    ) -> Window {
        let server_stat = server.schedstat();
        let (s0, p0, t0) = (
            thread_cpu_ns(&server_stat),
            process_cpu_ns(),
            Instant::now(),
        );
        let mut calls = 0u64;
        // Bounded in time and in count.
        while t0.elapsed() < length && calls < 1_000_000 {
            rt.block_on(in_flight(cl, v, stream, n));
            calls += n as u64;
        }
        let wall = t0.elapsed();
        let server_ns = thread_cpu_ns(&server_stat).saturating_sub(s0);
        let client_ns = process_cpu_ns()
            .saturating_sub(p0)
            .saturating_sub(server_ns);
        Window {
            calls,
            wall,
            client_ns,
            server_ns,
        }
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    fn arg(args: &[String], name: &str, default: u64) -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    }

    /// `--count --variant <v> --mode <plain|stream> --conc <n> --calls <k>`: only `k` calls of
    /// one variant, `n` at a time, and nothing else (no timing): for `perf stat` or callgrind,
    /// where the difference between two values of `k` is the cost of the calls between them.
    pub(super) fn count(args: &[String]) {
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
        };
        let variants: Vec<Variant> = value("--variant")
            .unwrap_or("generate")
            .split(',')
            .map(|v| match v {
                "wire" => Variant::Wire,
                "raw" => Variant::Raw,
                "model" => Variant::Model,
                _ => Variant::Generate,
            })
            .collect();
        let stream = value("--mode") == Some("stream");
        let n = arg(args, "--conc", 1).max(1) as usize;
        let calls = arg(args, "--calls", 1000);
        let (server, rt, cl) = setup();
        for variant in variants {
            let (t0, c0) = (Instant::now(), process_cpu_ns());
            let mut done = 0;
            while done < calls {
                rt.block_on(in_flight(&cl, variant, stream, n));
                done += n as u64;
            }
            let wall = t0.elapsed().as_secs_f64() * 1e6 / done as f64;
            let cpu = (process_cpu_ns() - c0) as f64 / 1e3 / done as f64;
            println!(
                "{:<9} {done} calls: {wall:.1} us/call wall, {cpu:.1} us/call CPU",
                variant.name()
            );
        }
        drop(cl);
        drop(rt);
        drop(server);
    }

    pub(super) fn run(args: &[String]) {
        let rounds = arg(args, "--rounds", 10).max(1);
        let only_conc = arg(args, "--conc", 0) as usize;
        let only_mode = args
            .iter()
            .position(|a| a == "--mode")
            .and_then(|i| args.get(i + 1))
            .map(String::as_str);
        let length = Duration::from_millis(arg(args, "--window-ms", 300));
        let (server, rt, cl) = setup();
        println!(
            "interleaved A/B: {rounds} rounds, {} ms per variant per round; medians over rounds",
            length.as_millis()
        );
        println!(
            "{:<16} {:<9} {:>11} {:>10} {:>13} {:>13} {:>12}",
            "group",
            "variant",
            "calls/s",
            "% of raw",
            "client µs/call",
            "server µs/call",
            "client CPU vs raw"
        );
        for stream in [false, true] {
            let mode = if stream { "stream" } else { "plain" };
            if only_mode.is_some_and(|m| m != mode) {
                continue;
            }
            for n in CONCURRENCY {
                if only_conc != 0 && n != only_conc {
                    continue;
                }
                // Warm up: connections opened, caches filled.
                for v in VARIANTS {
                    window(&rt, &cl, &server, v, stream, n, length / 3);
                }
                let mut per: Vec<Vec<Window>> = VARIANTS.iter().map(|_| Vec::new()).collect();
                for r in 0..rounds as usize {
                    for k in 0..VARIANTS.len() {
                        let at = (k + r) % VARIANTS.len();
                        per[at].push(window(&rt, &cl, &server, VARIANTS[at], stream, n, length));
                    }
                }
                let raw_at = VARIANTS
                    .iter()
                    .position(|&v| v == Variant::Raw)
                    .unwrap_or(0);
                let group = format!("{mode}/conc={n}");
                for (at, v) in VARIANTS.iter().enumerate() {
                    let rate = |w: &Window| w.calls as f64 / w.wall.as_secs_f64();
                    let client = |w: &Window| w.client_ns as f64 / 1e3 / w.calls as f64;
                    let throughput = median(per[at].iter().map(rate).collect());
                    let vs_raw = median(
                        per[at]
                            .iter()
                            .zip(&per[raw_at])
                            .map(|(w, r)| rate(w) / rate(r) * 100.0)
                            .collect(),
                    );
                    let cpu_vs_raw = median(
                        per[at]
                            .iter()
                            .zip(&per[raw_at])
                            .map(|(w, r)| client(w) / client(r) * 100.0)
                            .collect(),
                    );
                    println!(
                        "{group:<16} {:<9} {throughput:>11.0} {vs_raw:>9.1}% {:>13.1} {:>13.1} {cpu_vs_raw:>11.1}%",
                        v.name(),
                        median(per[at].iter().map(client).collect()),
                        median(
                            per[at]
                                .iter()
                                .map(|w| w.server_ns as f64 / 1e3 / w.calls as f64)
                                .collect()
                        ),
                    );
                }
            }
        }
        drop(cl);
        drop(rt);
        drop(server);
    }
}

criterion_group!(benches, http);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--ab") {
        ab::run(&args);
        return;
    }
    if args.iter().any(|a| a == "--count") {
        ab::count(&args);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
