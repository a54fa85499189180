//! The exporter: sends finished spans to the Genkit telemetry server as `POST {url}/api/traces`
//! with a `TraceData` body, from a background task, in batches grouped by trace.
//!
//! Spans are queued without waiting (a full queue drops spans rather than slowing actions
//! down). [`flush`] waits until everything queued so far has been posted: the reflection server
//! calls it before answering, as Genkit JS does, so a trace is complete when the CLI reads it.

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

/// Spans waiting to be posted before new ones are dropped.
const QUEUE: usize = 4096;
/// Per-request limit on a post to the telemetry server.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExporterConfig {
    /// `GENKIT_TELEMETRY_SERVER`: when set, URLs from the CLI (`/api/notify`, v2 `register`) are
    /// ignored, as in Genkit JS.
    pub url: Option<String>,
    /// `GENKIT_ENABLE_REALTIME_TELEMETRY=true`: post each span at start too.
    pub realtime: bool,
}

/// A finished (or, in realtime mode, just started) span, ready to post.
#[derive(Debug, Clone)]
pub(crate) struct ExportSpan {
    pub trace_id: String,
    pub span_id: String,
    /// The `SpanData` object.
    pub data: Value,
    /// Set on the root span: the trace's display name, start and end time.
    pub root: Option<(String, f64, f64)>,
}

enum Msg {
    Span(ExportSpan),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Exporter {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    url: RwLock<Option<String>>,
    fixed_url: RwLock<bool>,
    realtime: RwLock<bool>,
}

static EXPORTER: OnceLock<Arc<Exporter>> = OnceLock::new();

pub(crate) fn exporter() -> Option<&'static Arc<Exporter>> {
    EXPORTER.get()
}

fn normalize(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Installs (or reconfigures) the process-wide exporter; must run inside a tokio runtime, on
/// which the posting task is spawned. From then on Genkit spans record their inputs and outputs.
pub(crate) fn install_exporter(config: ExporterConfig) {
    let exporter = EXPORTER.get_or_init(|| {
        Arc::new(Exporter {
            tx: Mutex::new(None),
            url: RwLock::new(None),
            fixed_url: RwLock::new(false),
            realtime: RwLock::new(false),
        })
    });
    // a second runtime in the process (tests, embedding) adds to the configuration rather
    // than clearing what the first one set
    if let Some(new) = config.url.as_deref() {
        if let Ok(mut url) = exporter.url.write() {
            *url = Some(normalize(new));
        }
        if let Ok(mut fixed) = exporter.fixed_url.write() {
            *fixed = true;
        }
    }
    if config.realtime {
        if let Ok(mut realtime) = exporter.realtime.write() {
            *realtime = true;
        }
    }
    if let Ok(mut tx) = exporter.tx.lock() {
        // a previous runtime (a test's) may have gone away with its task
        if tx.as_ref().is_none_or(|t| t.is_closed()) {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(worker(Arc::clone(exporter), receiver));
            *tx = Some(sender);
        }
    }
    super::set_recording(true);
}

/// Takes a telemetry server URL from the CLI (`/api/notify`, v2 `register` or `configure`),
/// unless `GENKIT_TELEMETRY_SERVER` fixed it.
pub(crate) fn set_notified_url(url: &str) {
    let Some(exporter) = exporter() else { return };
    if exporter.fixed_url.read().map(|f| *f).unwrap_or(true) {
        return;
    }
    if let Ok(mut current) = exporter.url.write() {
        *current = Some(normalize(url));
    }
}

impl Exporter {
    pub(crate) fn realtime(&self) -> bool {
        self.realtime.read().map(|r| *r).unwrap_or(false)
    }

    fn url(&self) -> Option<String> {
        self.url.read().ok().and_then(|u| u.clone())
    }

    fn sender(&self) -> Option<mpsc::Sender<Msg>> {
        self.tx.lock().ok().and_then(|t| t.clone())
    }

    /// Queues a span; drops it when the queue is full or the task is gone.
    pub(crate) fn send(&self, span: ExportSpan) {
        if let Some(tx) = self.sender() {
            if tx.try_send(Msg::Span(span)).is_err() {
                tracing::debug!(target: "genkit_core::trace", "telemetry queue full; span dropped");
            }
        }
    }
}

/// Waits (at most `limit`) until every span queued before this call has been posted.
pub(crate) async fn flush(limit: Duration) {
    let Some(tx) = exporter().and_then(|e| e.sender()) else {
        return;
    };
    let (done, wait) = oneshot::channel();
    if tx.send(Msg::Flush(done)).await.is_ok() {
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

/// Spans of one trace, to post in one body.
struct Group {
    trace_id: String,
    spans: Map<String, Value>,
    root: Option<(String, f64, f64)>,
}

impl Group {
    fn body(self) -> Value {
        let mut body = json!({ "traceId": self.trace_id, "spans": self.spans });
        if let (Some((name, start, end)), Some(obj)) = (self.root, body.as_object_mut()) {
            obj.insert("displayName".to_owned(), json!(name));
            obj.insert("startTime".to_owned(), json!(start));
            obj.insert("endTime".to_owned(), json!(end));
        }
        body
    }
}

fn add(groups: &mut Vec<Group>, span: ExportSpan) {
    let index = match groups.iter().position(|g| g.trace_id == span.trace_id) {
        Some(i) => i,
        None => {
            groups.push(Group {
                trace_id: span.trace_id.clone(),
                spans: Map::new(),
                root: None,
            });
            groups.len() - 1
        }
    };
    let group = &mut groups[index];
    // a later version of the same span (its end, after its start) replaces the earlier one
    group.spans.insert(span.span_id, span.data);
    if span.root.is_some() {
        group.root = span.root;
    }
}

/// The HTTP client: hyper's, through hyper-util's pooled client, which is already in the `dev`
/// tree under axum (reqwest would add URL parsing, IDNA tables and tower on top, for one POST to
/// a server on the developer's machine). One per worker task, so its pooled connections live on
/// the runtime that runs them. Plain HTTP only: the connector refuses other schemes.
type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `{url}/api/traces` as a request URI.
fn traces_uri(url: &str) -> Result<Uri, String> {
    format!("{url}/api/traces")
        .parse::<Uri>()
        .map_err(|e| format!("not a URL: {url}: {e}"))
}

/// One `POST {url}/api/traces`; the answer's status, its body read to the end so the
/// connection goes back to the pool.
async fn post_once(client: &HttpClient, url: &str, body: Vec<u8>) -> Result<u16, String> {
    let request = Request::post(traces_uri(url)?)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| {
        // the chain says why (refused, reset, ...); hyper-util's own message is generic
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        message
    })?;
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    Ok(status)
}

async fn post_all(client: &HttpClient, exporter: &Exporter, groups: &mut Vec<Group>) {
    let url = exporter.url();
    for group in groups.drain(..) {
        let Some(url) = &url else { continue };
        let Ok(bytes) = serde_json::to_vec(&group.body()) else {
            continue;
        };
        match tokio::time::timeout(POST_TIMEOUT, post_once(client, url, bytes)).await {
            Ok(Ok(200..=299)) => {}
            Ok(Ok(status)) => {
                tracing::debug!(target: "genkit_core::trace", "telemetry server answered {status}")
            }
            Ok(Err(e)) => {
                tracing::debug!(target: "genkit_core::trace", "telemetry post failed: {e}")
            }
            Err(_) => tracing::debug!(target: "genkit_core::trace", "telemetry post timed out"),
        }
    }
}

async fn worker(exporter: Arc<Exporter>, mut rx: mpsc::Receiver<Msg>) {
    let client = http_client();
    let mut groups: Vec<Group> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Span(span) => add(&mut groups, span),
                Msg::Flush(done) => {
                    post_all(&client, &exporter, &mut groups).await;
                    let _ = done.send(());
                }
            }
            if groups.len() < 64 {
                next = rx.try_recv().ok();
            }
        }
        post_all(&client, &exporter, &mut groups).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: &str, id: &str, end: f64, root: bool) -> ExportSpan {
        ExportSpan {
            trace_id: trace.to_owned(),
            span_id: id.to_owned(),
            data: json!({"spanId": id, "endTime": end}),
            root: root.then(|| ("flow".to_owned(), 1.0, end)),
        }
    }

    #[test]
    fn groups_by_trace_and_keeps_the_latest_version_of_a_span() {
        let mut groups = Vec::new();
        add(&mut groups, span("t1", "a", 0.0, true));
        add(&mut groups, span("t2", "b", 5.0, false));
        add(&mut groups, span("t1", "c", 3.0, false));
        add(&mut groups, span("t1", "a", 9.0, true));
        assert_eq!(groups.len(), 2);
        let body = groups.remove(0).body();
        assert_eq!(body["traceId"], "t1");
        assert_eq!(body["spans"]["a"]["endTime"], 9.0);
        assert_eq!(body["spans"]["c"]["endTime"], 3.0);
        assert_eq!(body["displayName"], "flow");
        assert_eq!(body["endTime"], 9.0);
        let body = groups.remove(0).body();
        assert!(
            body.get("displayName").is_none(),
            "no root span, no trace-level fields"
        );
    }

    #[test]
    fn traces_go_to_api_traces_under_the_url_prefix() {
        assert_eq!(
            traces_uri("http://localhost:4033").unwrap(),
            "http://localhost:4033/api/traces"
        );
        assert_eq!(
            traces_uri(&normalize("http://127.0.0.1:4033/telemetry/")).unwrap(),
            "http://127.0.0.1:4033/telemetry/api/traces"
        );
        assert!(traces_uri("not a url").is_err());
    }

    #[tokio::test]
    async fn a_post_reaches_the_server_and_https_is_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/prefix", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"{\"traceId\":\"t\"}") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed early");
                request.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let client = http_client();
        let status = post_once(&client, &url, br#"{"traceId":"t"}"#.to_vec()).await;
        assert_eq!(status, Ok(201));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /prefix/api/traces HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("content-type: application/json\r\n"),
            "{request}"
        );
        assert!(post_once(&client, "https://localhost:1", Vec::new())
            .await
            .is_err());
    }

    #[test]
    fn urls_lose_their_trailing_slash() {
        assert_eq!(normalize("http://localhost:4033/"), "http://localhost:4033");
    }
}
