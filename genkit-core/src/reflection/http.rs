//! Reflection API v1: the HTTP server the Genkit CLI drives (`GET /api/actions`,
//! `POST /api/runAction`, ...), with Genkit JS's exact shapes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use super::descriptor::{actions_json, values_json};
use super::runner::{success_body, ActionError, RunRequest, Runner};
use super::GENKIT_VERSION;
use crate::context::ActionContext;
use crate::flow::FlowStream;
use crate::status::Status;

/// What the handlers share.
pub(crate) struct ServerState {
    pub runner: Arc<Runner>,
    /// The id the health check answers to: the same as in the runtime file.
    pub runtime_id: String,
    /// Set to true by `/api/__quitquitquit`.
    pub quit: watch::Sender<bool>,
    /// Set to true by `/api/notify`: the CLI has found this runtime.
    pub notified: watch::Sender<bool>,
}

/// The router of the reflection API v1.
pub(crate) fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/api/__health", get(health))
        .route("/api/notify", post(notify))
        .route("/api/actions", get(actions))
        .route("/api/runAction", post(run_action))
        .route("/api/cancelAction", post(cancel_action))
        .route("/api/values", get(values))
        .route("/api/envs", get(envs))
        .route("/api/__quitquitquit", get(quit).post(quit))
        .layer(axum::middleware::from_fn(local_only))
        .layer(axum::middleware::map_response(version_header))
        .with_state(state)
}

/// True for `localhost`, `127.x.x.x` and `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// True for an `Origin` naming a loopback host (`http://localhost:4000`, the Dev UI's own).
fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match rest {
        Some(authority) if !authority.contains(['/', '?', '#', '@']) => is_loopback_host(authority),
        _ => false,
    }
}

/// Why a request is not from a local tool, if it is not.
fn refusal(request: &axum::extract::Request) -> Option<&'static str> {
    // absolute-form targets (`GET http://evil.example/...`) are for proxies, never the CLI
    if request.uri().scheme().is_some() || request.uri().authority().is_some() {
        return Some("absolute-form request target");
    }
    let headers = request.headers();
    let mut hosts = headers.get_all(header::HOST).iter().peekable();
    if hosts.peek().is_none() {
        return Some("no Host header");
    }
    // every Host header must name the loopback interface (which defeats DNS rebinding)
    if !hosts.all(|h| h.to_str().is_ok_and(is_loopback_host)) {
        return Some("Host is not a loopback address");
    }
    // a browser names the page's origin; only the CLI's and the Dev UI's own pages may call
    if !headers
        .get_all(header::ORIGIN)
        .iter()
        .all(|o| o.to_str().is_ok_and(is_loopback_origin))
    {
        return Some("cross-origin request");
    }
    let json_ok = request.method() != axum::http::Method::POST
        || headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| {
                c.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
    if !json_ok {
        return Some("a POST must carry JSON");
    }
    None
}

/// Only local tools may drive the runtime, on every endpoint: no absolute-form target, every
/// `Host` the loopback interface, no `Origin` but a loopback one (a web page cannot stop the
/// runtime with an `<img>` pointing at `/api/__quitquitquit`), and a POST must carry JSON, which
/// a web page can only send after a CORS preflight this server never grants. The Genkit CLI
/// (which sends no `Origin`) and the Dev UI pass.
async fn local_only(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(reason) = refusal(&request) {
        tracing::debug!(target: "genkit_core::reflection", reason, "request refused");
        return text(StatusCode::FORBIDDEN, "Forbidden");
    }
    next.run(request).await
}

/// Every response carries `x-genkit-version`, which the CLI reports.
async fn version_header(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-genkit-version", HeaderValue::from_static(GENKIT_VERSION));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn health(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match query.get("id") {
        Some(id) if *id != state.runtime_id => {
            text(StatusCode::SERVICE_UNAVAILABLE, "Invalid runtime ID")
        }
        _ => text(StatusCode::OK, "OK"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notify {
    telemetry_server_url: Option<String>,
}

async fn notify(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    if let Ok(Notify {
        telemetry_server_url: Some(url),
    }) = serde_json::from_slice(&body)
    {
        crate::trace::set_notified_url(&url);
    }
    state.notified.send_replace(true);
    text(StatusCode::OK, "OK")
}

async fn actions(State(state): State<Arc<ServerState>>) -> Response {
    json_response(StatusCode::OK, &actions_json(state.runner.genkit()))
}

async fn envs() -> Response {
    json_response(StatusCode::OK, &json!(["dev"]))
}

async fn values(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match query.get("type").map(String::as_str) {
        None | Some("") => text(
            StatusCode::BAD_REQUEST,
            "Query parameter \"type\" is required.",
        ),
        Some(kind @ ("defaultModel" | "middleware")) => json_response(
            StatusCode::OK,
            &values_json(state.runner.genkit(), kind).unwrap_or_else(|| json!({})),
        ),
        Some(other) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("'type' {other} is not supported. Only 'defaultModel' and 'middleware' are supported"),
        )
            .into_response(),
    }
}

async fn quit(State(state): State<Arc<ServerState>>) -> Response {
    let _ = state.quit.send(true);
    text(StatusCode::OK, "OK")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelRequest {
    trace_id: Option<String>,
}

async fn cancel_action(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let trace_id = serde_json::from_slice::<CancelRequest>(&body)
        .ok()
        .and_then(|r| r.trace_id)
        .filter(|t| !t.is_empty());
    let Some(trace_id) = trace_id else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "traceId is required"}),
        );
    };
    if state.runner.cancel(&trace_id) {
        json_response(StatusCode::OK, &json!({"message": "Action cancelled"}))
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({"message": "Action not found or already completed"}),
        )
    }
}

/// `RunActionRequest`; the UI server adds `runtimeId`, which is ignored like other extras.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunActionRequest {
    pub key: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub context: Option<Value>,
    /// The session init of a bidi action (an agent turn's `AgentInit`).
    #[serde(default)]
    pub init: Option<Value>,
    #[serde(default)]
    pub telemetry_labels: Option<Map<String, Value>>,
}

impl RunActionRequest {
    pub(crate) fn into_run(self) -> RunRequest {
        RunRequest {
            key: self.key,
            input: self.input.unwrap_or(Value::Null),
            context: self
                .context
                .map(ActionContext::from_json)
                .unwrap_or_default(),
            labels: self.telemetry_labels.unwrap_or_default(),
            init: self.init,
        }
    }
}

/// The final object of a run: its result, or its error (a 200 body, as Genkit JS answers once
/// the trace has started).
pub(crate) fn final_body(result: Result<Value, ActionError>, trace_id: &str) -> Value {
    match result {
        Ok(v) => success_body(v, trace_id),
        Err(e) => json!({"error": e.to_status(Some(trace_id))}),
    }
}

async fn run_action(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let request = match serde_json::from_slice::<RunActionRequest>(&body) {
        Ok(r) => r,
        Err(e) => {
            let error = ActionError::new(Status::InvalidArgument, e.to_string());
            return json_response(StatusCode::OK, &json!({"error": error.to_status(None)}));
        }
    };
    if !state.runner.has_action(&request.key) {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("action {} not found", request.key),
        )
            .into_response();
    }
    let streaming = query.get("stream").map(String::as_str) == Some("true");
    let runner = Arc::clone(&state.runner);
    let request = request.into_run();

    // The run happens inside the response body: headers (with the trace id) go out first, and
    // a client that disconnects drops the body, which cancels the run.
    let mut ids = None;
    let stream = FlowStream::new(|sink| {
        let (run_ids, run) = runner.start(request, streaming.then_some(sink));
        ids = Some(run_ids);
        async move { Ok(run.await) }
    });
    let Some(ids) = ids else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "run did not start");
    };
    let trace_id = ids.trace_id.clone();
    let body = futures::stream::unfold(Some(stream), move |state| {
        let trace_id = trace_id.clone();
        async move {
            let mut stream = state?;
            match stream.next().await {
                Some(chunk) => {
                    let mut line = chunk.to_string();
                    line.push('\n');
                    Some((Ok::<_, Infallible>(Bytes::from(line)), Some(stream)))
                }
                None => {
                    let result = match stream.take_result() {
                        Some(Ok(result)) => result,
                        Some(Err(e)) => Err(e.into()),
                        None => Err(ActionError::new(
                            Status::Internal,
                            "the run ended without a result",
                        )),
                    };
                    let last = final_body(result, &trace_id).to_string();
                    Some((Ok(Bytes::from(last)), None))
                }
            }
        }
    });
    let content_type = if streaming {
        "text/plain"
    } else {
        "application/json"
    };
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&ids.trace_id) {
        headers.insert("x-genkit-trace-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.span_id) {
        headers.insert("x-genkit-span-id", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_pass() {
        for host in [
            "localhost",
            "localhost:3100",
            "127.0.0.1:3100",
            "127.0.0.2",
            "[::1]:3100",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:3100",
            "192.168.1.2:3100",
            "localhost.evil.example",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn only_loopback_origins_pass() {
        for origin in [
            "http://localhost:4000",
            "http://127.0.0.1:4000",
            "https://localhost",
            "http://[::1]:4000",
        ] {
            assert!(is_loopback_origin(origin), "{origin}");
        }
        for origin in [
            "null",
            "http://evil.example",
            "http://localhost.evil.example",
            "http://localhost@evil.example",
            "http://localhost:4000/path",
            "file://",
            "",
        ] {
            assert!(!is_loopback_origin(origin), "{origin}");
        }
    }
}
