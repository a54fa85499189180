//! A minimal HTTP/1.1 client and a mock Genkit telemetry server, on plain tokio sockets, so the
//! tests see exactly what goes over the wire (status, headers, chunk boundaries, timing).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A response head.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Time from sending the request to having the head.
    pub elapsed: Duration,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    pub head: Head,
    /// The body's chunks as the server framed them (one element when not chunked).
    pub chunks: Vec<String>,
    pub body: String,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A request whose head has arrived; the body is still to be read.
pub struct Pending {
    pub head: Head,
    reader: BufReader<TcpStream>,
}

pub async fn open(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Pending {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut reader = BufReader::new(stream);
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request.push_str("content-type: application/json\r\n");
    }
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let started = Instant::now();
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .expect("send");
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Pending {
        head: Head {
            status,
            headers,
            elapsed: started.elapsed(),
        },
        reader,
    }
}

impl Pending {
    pub async fn finish(mut self) -> Response {
        let mut chunks = Vec::new();
        if self.head.header("transfer-encoding") == Some("chunked") {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).await.expect("chunk size");
                let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
                if n == 0 {
                    break;
                }
                let mut buf = vec![0; n + 2];
                self.reader.read_exact(&mut buf).await.expect("chunk");
                buf.truncate(n);
                chunks.push(String::from_utf8(buf).expect("utf-8"));
            }
        } else if let Some(n) = self.head.header("content-length") {
            let n: usize = n.parse().expect("length");
            let mut buf = vec![0; n];
            self.reader.read_exact(&mut buf).await.expect("body");
            chunks.push(String::from_utf8(buf).expect("utf-8"));
        } else {
            let mut buf = String::new();
            self.reader.read_to_string(&mut buf).await.expect("body");
            chunks.push(buf);
        }
        let body = chunks.concat();
        Response {
            head: self.head,
            chunks,
            body,
        }
    }
}

pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    open(base, method, path, headers, body).await.finish().await
}

pub async fn get(base: &str, path: &str) -> Response {
    request(base, "GET", path, &[], "").await
}

pub async fn post(base: &str, path: &str, body: &Value) -> Response {
    request(base, "POST", path, &[], &body.to_string()).await
}

/// A stand-in for the CLI's telemetry server: answers `POST /api/traces` with `OK` and keeps
/// every body.
#[derive(Clone)]
pub struct Telemetry {
    pub url: String,
    posts: Arc<Mutex<Vec<Value>>>,
}

impl Telemetry {
    pub async fn start() -> Telemetry {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let posts = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&posts);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = Arc::clone(&kept);
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                        let mut length = 0usize;
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let l = line.trim_end();
                            if l.is_empty() {
                                break;
                            }
                            if let Some((n, v)) = l.split_once(':') {
                                if n.eq_ignore_ascii_case("content-length") {
                                    length = v.trim().parse().unwrap_or(0);
                                }
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        if path == "/api/traces" {
                            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                                kept.lock().unwrap().push(v);
                            }
                        }
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK";
                        if reader.get_mut().write_all(ok).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Telemetry { url, posts }
    }

    /// Every post about `trace_id`, in arrival order.
    pub fn posts(&self, trace_id: &str) -> Vec<Value> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p["traceId"] == trace_id)
            .cloned()
            .collect()
    }

    /// The final version of every span of `trace_id`, merged by span id as the telemetry
    /// server does (a start version never replaces an end version).
    pub fn spans(&self, trace_id: &str) -> Vec<Value> {
        let mut merged: Vec<Value> = Vec::new();
        for post in self.posts(trace_id) {
            for (id, span) in post["spans"].as_object().cloned().unwrap_or_default() {
                match merged.iter_mut().find(|s| s["spanId"] == id.as_str()) {
                    Some(existing) => {
                        if span["endTime"].as_f64().unwrap_or(0.0) > 0.0 {
                            *existing = span;
                        }
                    }
                    None => merged.push(span),
                }
            }
        }
        merged
    }
}
