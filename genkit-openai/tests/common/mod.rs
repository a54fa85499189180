//! Test helpers: a tiny HTTP/1.1 server that plays scripted replies and records requests,
//! and a chunk collector for streamed calls.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Arc, Mutex};
use std::time::Duration;

use genkit_core::{ChunkSink, GenerateResponseChunk, ModelContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the server does with one connection.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response with `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// `200 text/event-stream`, close-delimited: each piece is written after its delay, then
    /// the connection closes (or stays open with `hang`).
    Stream {
        pieces: Vec<(Duration, Vec<u8>)>,
        chunked: bool,
        hang: bool,
    },
    /// Reads the request, then never answers.
    Silent,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Full {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Full {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }

    /// A whole SSE body, closed after the last byte.
    pub fn sse(body: impl Into<Vec<u8>>) -> Self {
        Reply::Stream {
            pieces: vec![(Duration::ZERO, body.into())],
            chunked: false,
            hang: false,
        }
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// The server. Connection `n` gets reply `n` (the last reply repeats).
pub struct TestServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Notified when a client closes a connection the server was still writing to or
    /// holding open.
    pub client_gone: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let client_gone = Arc::new(Notify::new());
        let (rec, gone) = (Arc::clone(&requests), Arc::clone(&client_gone));
        let task = tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let (rec, gone) = (Arc::clone(&rec), Arc::clone(&gone));
                tokio::spawn(async move { serve(socket, reply, rec, gone).await });
            }
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            requests,
            client_gone,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded {
        request_line,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Waits until the client closes the connection (a read returns 0 or fails).
async fn wait_for_close(socket: &mut TcpStream) {
    let mut tmp = [0u8; 1024];
    loop {
        match socket.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn serve(
    mut socket: TcpStream,
    reply: Reply,
    rec: Arc<Mutex<Vec<Recorded>>>,
    gone: Arc<Notify>,
) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    rec.lock().unwrap().push(request);
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (n, v) in headers {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
        Reply::Stream {
            pieces,
            chunked,
            hang,
        } => {
            let encoding = if chunked {
                "Transfer-Encoding: chunked\r\n"
            } else {
                ""
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{encoding}Connection: close\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err() {
                gone.notify_one();
                return;
            }
            for (delay, piece) in pieces {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = wait_for_close(&mut socket) => {
                        gone.notify_one();
                        return;
                    }
                }
                let framed = if chunked {
                    let mut f = format!("{:x}\r\n", piece.len()).into_bytes();
                    f.extend_from_slice(&piece);
                    f.extend_from_slice(b"\r\n");
                    f
                } else {
                    piece
                };
                if socket.write_all(&framed).await.is_err() {
                    gone.notify_one();
                    return;
                }
            }
            if hang {
                wait_for_close(&mut socket).await;
                gone.notify_one();
                return;
            }
            // A chunked body ends with a zero-size chunk; leaving it out cuts the stream.
            let _ = socket.shutdown().await;
        }
        Reply::Silent => {
            wait_for_close(&mut socket).await;
            gone.notify_one();
        }
    }
}

/// Collects the chunks of a streamed call (a channel roomy enough that the call never waits).
#[derive(Clone, Default)]
pub struct Chunks(
    pub Arc<Mutex<Vec<GenerateResponseChunk>>>,
    Arc<Mutex<Option<tokio::sync::mpsc::Receiver<GenerateResponseChunk>>>>,
);

impl Chunks {
    pub fn context(&self) -> ModelContext {
        let (sink, rx) = ChunkSink::channel(1 << 20);
        *self.1.lock().unwrap() = Some(rx);
        ModelContext::new().with_chunks(sink)
    }

    pub fn all(&self) -> Vec<GenerateResponseChunk> {
        let mut store = self.0.lock().unwrap();
        if let Some(rx) = self.1.lock().unwrap().as_mut() {
            while let Ok(c) = rx.try_recv() {
                store.push(c);
            }
        }
        store.clone()
    }

    /// The parts of all chunks, adjacent text merged: what the final message should hold.
    pub fn merged_parts(&self) -> Vec<genkit_core::Part> {
        let mut out: Vec<genkit_core::Part> = Vec::new();
        for part in self.all().into_iter().flat_map(|c| c.content) {
            match (out.last_mut().map(|p| &mut p.kind), &part.kind) {
                (Some(genkit_core::PartKind::Text(prev)), genkit_core::PartKind::Text(next)) => {
                    prev.push_str(next)
                }
                (
                    Some(genkit_core::PartKind::Reasoning(prev)),
                    genkit_core::PartKind::Reasoning(next),
                ) => prev.push_str(next),
                _ => out.push(part),
            }
        }
        out
    }
}

/// A fixture file's bytes.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// A scripted keep-alive server for load and fault tests: a handler decides each
// answer from the request, connections stay open between requests, and the server counts the
// connections still open, so a test can check that nothing keeps one alive after the client
// is gone.

/// What a [`ScriptServer`] does with one request.
#[derive(Clone, Debug)]
pub enum Act {
    /// After `delay`, a complete response with `Content-Length`; the connection stays open.
    Full {
        delay: Duration,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// `200 text/event-stream`, chunked, one HTTP chunk per piece, each after its delay; then
    /// the final chunk, and the connection stays open.
    Stream { pieces: Vec<(Duration, Vec<u8>)> },
    /// Writes `bytes` as they are (a head and part of a body), waits `delay`, then resets the
    /// connection (RST, not FIN).
    Reset { bytes: Vec<u8>, delay: Duration },
    /// Never answers; waits for the client to close.
    Silent,
}

impl Act {
    /// A JSON answer, at once.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Act::Full {
            delay: Duration::ZERO,
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Act::Full {
                delay,
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Act::Full {
                    delay,
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }

    pub fn after(self, wait: Duration) -> Self {
        match self {
            Act::Full {
                status,
                headers,
                body,
                ..
            } => Act::Full {
                delay: wait,
                status,
                headers,
                body,
            },
            other => other,
        }
    }
}

/// Decides the answer to one request.
pub type Handler = Arc<dyn Fn(&Recorded) -> Act + Send + Sync>;

#[derive(Default)]
struct ScriptState {
    requests: Mutex<Vec<(std::time::Instant, Recorded)>>,
    open: std::sync::atomic::AtomicUsize,
    accepted: std::sync::atomic::AtomicUsize,
    /// Connections the client closed while the server was still answering or holding them
    /// (`Silent`, a delayed or streamed answer).
    abandoned: std::sync::atomic::AtomicUsize,
}

/// Decrements the open count when a connection's task ends, however it ends.
struct OpenGuard(Arc<ScriptState>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The scripted keep-alive server. Dropping it stops accepting and drops every connection.
pub struct ScriptServer {
    pub base_url: String,
    pub addr: std::net::SocketAddr,
    state: Arc<ScriptState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptServer {
    pub async fn start(handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ScriptState::default());
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Connection tasks are tracked so that aborting the server ends them too.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { return };
                        st.accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        st.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let guard = OpenGuard(Arc::clone(&st));
                        conns.spawn(script_conn(socket, Arc::clone(&handler), guard));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            addr,
            state,
            task,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        let requests = self.state.requests.lock().unwrap();
        requests.iter().map(|(_, r)| r.clone()).collect()
    }

    /// Every request so far with the time it arrived.
    pub fn timed_requests(&self) -> Vec<(std::time::Instant, Recorded)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Connections currently open (from the server's side).
    pub fn open_connections(&self) -> usize {
        self.state.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections the client closed while the server was still holding or answering them.
    pub fn abandoned(&self) -> usize {
        self.state
            .abandoned
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until `check` holds, polling; false if it still does not after `within`.
    pub async fn wait_until(&self, within: Duration, check: impl Fn(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if check(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Sleeps `delay` unless the client closes first; false if it did.
async fn wait_or_gone(socket: &mut TcpStream, delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = wait_for_close(socket) => false,
    }
}

async fn script_conn(mut socket: TcpStream, handler: Handler, guard: OpenGuard) {
    use std::sync::atomic::Ordering::SeqCst;
    let state = Arc::clone(&guard.0);
    let _ = socket.set_nodelay(true);
    loop {
        let Some(request) = read_request(&mut socket).await else {
            return; // the client closed an idle connection
        };
        let act = handler(&request);
        state
            .requests
            .lock()
            .unwrap()
            .push((std::time::Instant::now(), request));
        match act {
            Act::Full {
                delay,
                status,
                headers,
                body,
            } => {
                if !wait_or_gone(&mut socket, delay).await {
                    state.abandoned.fetch_add(1, SeqCst);
                    return;
                }
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut out = out.into_bytes();
                out.extend_from_slice(&body);
                if socket.write_all(&out).await.is_err() {
                    return;
                }
            }
            Act::Stream { pieces } => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (delay, piece) in pieces {
                    if !wait_or_gone(&mut socket, delay).await {
                        state.abandoned.fetch_add(1, SeqCst);
                        return;
                    }
                    if piece.is_empty() {
                        continue; // an empty chunk would end the body
                    }
                    let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                    framed.extend_from_slice(&piece);
                    framed.extend_from_slice(b"\r\n");
                    if socket.write_all(&framed).await.is_err() {
                        state.abandoned.fetch_add(1, SeqCst);
                        return;
                    }
                }
                if socket.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
            Act::Reset { bytes, delay } => {
                let _ = socket.write_all(&bytes).await;
                let _ = wait_or_gone(&mut socket, delay).await;
                // A zero linger does not block on close (why tokio deprecates `set_linger`
                // otherwise); `set_zero_linger` needs tokio 1.50, the workspace asks for 1.45.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                return; // dropping a socket with a zero linger sends RST
            }
            Act::Silent => {
                wait_for_close(&mut socket).await;
                state.abandoned.fetch_add(1, SeqCst);
                return;
            }
        }
    }
}
