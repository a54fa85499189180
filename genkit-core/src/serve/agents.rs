//! Serving agents over HTTP the way Genkit's express handler and Go's `genkit.Handler` serve
//! them, so Genkit's `remoteAgent` (`genkit/beta/client`) talks to a Rust agent.
//!
//! Per agent `name`, under the server's prefix:
//! - `POST /<name>`: one turn per request, `{"data": AgentInput, "init": AgentInit}` in,
//!   `{"result": AgentOutput}` out; with `?stream=true` or `Accept: text/event-stream` the
//!   `AgentStreamChunk`s stream first as `data: {"message": chunk}` blocks;
//! - `POST /<name>/getSnapshot`: `{"data": {"snapshotId"} | {"sessionId"}}` answers the snapshot;
//! - `POST /<name>/abort`: `{"data": {"snapshotId"}}` answers `{"snapshotId", "status"}`.
//!
//! Every request is checked before anything runs: a body over the limit is refused (413), a body
//! that is not `{data, init?}` of the right types is `INVALID_ARGUMENT` (400) in Genkit's
//! callable error shape, `{"status", "message"}`, and nothing is stored. The
//! [`ContextProvider`] (the app's authentication) turns the request into the action context,
//! which reaches the agent's tools and, through
//! [`scope_from_context`](crate::agent::AgentBuilder::scope_from_context), its store: an agent
//! scoped per user answers `PERMISSION_DENIED` to an init, a snapshot read or an abort naming a
//! snapshot or session outside the caller's scope (the same answer whether it belongs to another
//! user or to nobody, so ids reveal nothing).
//!
//! A client that goes away mid-turn stops receiving chunks; the turn itself runs on and is
//! stored when it ends (a turn is never half-written), so the client can read it back with
//! `getSnapshot` or continue from it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::future::BoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::{callable_error, error_response, request_data, ContextProvider};
use crate::action::Action;
use crate::agent::{Agent, ChatRef};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::flow::FlowStream;
use crate::genkit::Genkit;
use crate::run::RunOptions;
use crate::status::Status;
use crate::wire::{AgentInit, AgentInput, PartKind};

/// The default limit of a request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// What the server needs of an agent, whatever its state type.
trait ServedAgent: Send + Sync {
    fn name(&self) -> &str;
    /// Refuses an init that does not fit the agent, or names a conversation the caller's scope
    /// does not hold.
    fn admit<'a>(
        &'a self,
        init: &'a AgentInit,
        context: &'a ActionContext,
    ) -> BoxFuture<'a, Result<(), GenkitError>>;
    /// True when each caller has a scope of its own.
    fn scoped(&self) -> bool;
}

impl<S> ServedAgent for Agent<S>
where
    S: DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &str {
        Agent::name(self)
    }

    fn admit<'a>(
        &'a self,
        init: &'a AgentInit,
        context: &'a ActionContext,
    ) -> BoxFuture<'a, Result<(), GenkitError>> {
        Box::pin(async move {
            self.check_init(init)?;
            if !self.is_server_managed() || !self.scoped() {
                return Ok(());
            }
            let lookup = match (&init.snapshot_id, &init.session_id) {
                (Some(id), _) => ChatRef::Snapshot(id.clone()),
                (None, Some(id)) => ChatRef::Session(id.clone()),
                (None, None) => return Ok(()),
            };
            match self.snapshot_for(&lookup, context).await? {
                Some(_) => Ok(()),
                None => Err(not_yours(&lookup)),
            }
        })
    }

    fn scoped(&self) -> bool {
        self.inner.scope_fn.is_some()
    }
}

fn not_yours(lookup: &ChatRef) -> GenkitError {
    let what = match lookup {
        ChatRef::Snapshot(id) => format!("snapshot {id}"),
        ChatRef::Session(id) => format!("session {id}"),
    };
    GenkitError::with_status(
        Status::PermissionDenied,
        format!("{what} is not one of the caller's conversations"),
    )
}

struct Served {
    agent: Arc<dyn ServedAgent>,
    run: Arc<dyn Action>,
    snapshot: Arc<dyn Action>,
    abort: Arc<dyn Action>,
}

struct Route {
    ai: Genkit,
    served: Served,
    provider: Option<Arc<dyn ContextProvider>>,
    limit: usize,
}

/// Builds an axum [`Router`] serving agents: a turn route, `getSnapshot` and `abort` each.
///
/// ```
/// use genkit_core::agent::{Agent, PromptSpec};
/// use genkit_core::serve::{AgentServer, RequestData};
/// use genkit_core::session::{InMemorySessionStore, StoreScope};
/// use genkit_core::{ActionContext, Genkit, GenkitError, Status};
///
/// let support: Agent = Agent::prompt("support", PromptSpec::new().model("m"))
///     .store(InMemorySessionStore::new())
///     // each user's conversations in a scope of their own
///     .scope_from_context(|ctx| {
///         let uid = ctx.get("auth").and_then(|a| a["uid"].as_str()).unwrap_or_default();
///         Ok(StoreScope::new(format!("users/{uid}"))?)
///     })
///     .build();
/// let ai = Genkit::builder().agent(support.clone()).build()?;
/// let app: axum::Router = AgentServer::new(&ai)
///     .path_prefix("agents/")
///     .context_provider(|req: RequestData| async move {
///         match req.headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")) {
///             Some(uid) if !uid.is_empty() => {
///                 Ok(ActionContext::new().with("auth", serde_json::json!({ "uid": uid })))
///             }
///             _ => Err(GenkitError::with_status(Status::Unauthenticated, "sign in first")),
///         }
///     })
///     .agent(&support) // POST /agents/support, /agents/support/getSnapshot, /agents/support/abort
///     .router();
/// # let _ = app;
/// # Ok::<(), GenkitError>(())
/// ```
#[must_use]
pub struct AgentServer {
    ai: Genkit,
    prefix: String,
    agents: Vec<Served>,
    provider: Option<Arc<dyn ContextProvider>>,
    limit: usize,
}

impl std::fmt::Debug for AgentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.agents.iter().map(|a| a.agent.name()).collect();
        f.debug_struct("AgentServer")
            .field("prefix", &self.prefix)
            .field("agents", &names)
            .field("body_limit", &self.limit)
            .finish()
    }
}

impl AgentServer {
    /// A server for agents of `ai` (add them with [`agent`](Self::agent)).
    pub fn new(ai: &Genkit) -> Self {
        Self {
            ai: ai.clone(),
            prefix: String::new(),
            agents: Vec::new(),
            provider: None,
            limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Prefixes every route: `path_prefix("agents/")` serves `chat` at `POST /agents/chat`
    /// (Go's layout).
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Serves `agent`: its turn, `getSnapshot` and `abort` routes.
    pub fn agent<S>(mut self, agent: &Agent<S>) -> Self
    where
        S: DeserializeOwned + Send + 'static,
    {
        let mut actions = agent.actions().into_iter();
        let (Some(run), Some(snapshot), Some(abort)) =
            (actions.next(), actions.next(), actions.next())
        else {
            return self;
        };
        self.agents.push(Served {
            agent: Arc::new(agent.clone()),
            run,
            snapshot,
            abort,
        });
        self
    }

    /// Decides each request's action context (or refuses it, its status the HTTP status):
    /// where authentication goes. Its [`RequestData::input`](super::RequestData) is the
    /// request's `data`.
    pub fn context_provider(mut self, provider: impl ContextProvider) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// The largest request body accepted, in bytes ([`DEFAULT_BODY_LIMIT`] unless set).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// Serves the agents on `listener` until the returned future is dropped or fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// The router.
    pub fn router(self) -> Router {
        let mut router = Router::new();
        for served in self.agents {
            let base = format!("/{}{}", self.prefix, served.agent.name());
            let route = Arc::new(Route {
                ai: self.ai.clone(),
                served,
                provider: self.provider.clone(),
                limit: self.limit,
            });
            router = router
                .route(&base, post(turn).with_state(Arc::clone(&route)))
                .route(
                    &format!("{base}/getSnapshot"),
                    post(get_snapshot).with_state(Arc::clone(&route)),
                )
                .route(&format!("{base}/abort"), post(abort).with_state(route));
        }
        router
    }
}

fn invalid(message: impl Into<String>) -> GenkitError {
    GenkitError::with_status(Status::InvalidArgument, message)
}

/// The body as bytes, at most `limit` of them.
async fn read_body(request: Request, limit: usize) -> Result<(Method, HeaderMap, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        let e = GenkitError::with_status(
            Status::ResourceExhausted,
            format!("the request body is larger than {limit} bytes"),
        );
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            callable_error(&e).to_string(),
        )
            .into_response()
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok((parts.method, parts.headers, bytes)),
        // over the limit while reading (no length declared), or the client went away
        Err(_) => Err(too_large()),
    }
}

/// `{"data": .., "init": ..}`: the request envelope of every route.
fn envelope(body: &[u8]) -> Result<(Value, Option<Value>), GenkitError> {
    if body.is_empty() {
        return Err(invalid("the request body is empty; send {\"data\": ...}"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the request body is not JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(invalid(
            "the request body must be a JSON object {\"data\": ...}",
        ));
    };
    let data = map.remove("data").unwrap_or(Value::Null);
    let init = map.remove("init").filter(|v| !v.is_null());
    Ok((data, init))
}

fn typed<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, GenkitError> {
    serde_json::from_value(value).map_err(|e| invalid(format!("{what}: {e}")))
}

async fn context_for(
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
    data: &Value,
) -> Result<ActionContext, GenkitError> {
    match &route.provider {
        Some(p) => p.context(request_data(method, headers, data.clone())).await,
        None => Ok(ActionContext::default()),
    }
}

fn wants_stream(headers: &HeaderMap, query: &std::collections::HashMap<String, String>) -> bool {
    let sse = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/event-stream"));
    sse || query.get("stream").map(String::as_str) == Some("true")
}

fn result_response(result: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "result": result }).to_string(),
    )
        .into_response()
}

async fn turn(
    State(route): State<Arc<Route>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    request: Request,
) -> Response {
    let (method, headers, body) = match read_body(request, route.limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let checked = async {
        let (data, init) = envelope(&body)?;
        if data.is_null() {
            return Err(invalid(
                "data must be an AgentInput: {\"message\": ...} or {\"resume\": ...}",
            ));
        }
        let input: AgentInput = typed("data is not an AgentInput", data.clone())?;
        let resumes = input.resume.as_ref().is_some_and(|r| {
            r.respond.as_ref().is_some_and(|v| !v.is_empty())
                || r.restart.as_ref().is_some_and(|v| !v.is_empty())
        });
        if input.message.is_none() && !resumes {
            return Err(invalid("data has neither a message nor resume answers"));
        }
        // the schema's part types (ToolResponsePart, ToolRequestPart), as Genkit's validation
        if let Some(resume) = &input.resume {
            let respond = resume.respond.iter().flatten();
            if respond
                .clone()
                .any(|p| !matches!(p.kind, PartKind::ToolResponse(_)))
            {
                return Err(invalid(
                    "every resume.respond part must be a toolResponse part",
                ));
            }
            let restart = resume.restart.iter().flatten();
            if restart
                .clone()
                .any(|p| !matches!(p.kind, PartKind::ToolRequest(_)))
            {
                return Err(invalid(
                    "every resume.restart part must be a toolRequest part",
                ));
            }
        }
        let init: AgentInit = match init {
            Some(v) => typed("init is not an AgentInit", v)?,
            None => AgentInit::default(),
        };
        let context = context_for(&route, &method, &headers, &data).await?;
        route.served.agent.admit(&init, &context).await?;
        let input = serde_json::to_value(&input).map_err(|e| GenkitError::json("the input", e))?;
        let init = serde_json::to_value(&init).map_err(|e| GenkitError::json("the init", e))?;
        Ok((input, init, context))
    };
    let (input, init, context) = match checked.await {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    let ids = TraceIds::new();
    let options = RunOptions::new(context).with_init(init);
    if !wants_stream(&headers, &query) {
        // a task of its own: a client that goes away mid-turn does not cancel the turn, which
        // runs on to its stored end (read it with getSnapshot)
        let run_route = Arc::clone(&route);
        let run_ids = ids.clone();
        let run = tokio::spawn(async move {
            run_ids
                .instrument(
                    run_route
                        .ai
                        .run_resolved(&run_route.served.run, input, options),
                )
                .await
        });
        let mut response = match run.await {
            Ok(Ok(result)) => result_response(result),
            Ok(Err(e)) => error_response(&e),
            Err(joined) => error_response(&GenkitError::internal(format!(
                "the agent turn's task ended without an answer: {joined}"
            ))),
        };
        ids.set_headers(response.headers_mut());
        return response;
    }

    // the turn runs in a task of its own that forwards its chunks to the body; a client that
    // goes away drops the body, the task stops forwarding and runs the turn on to its stored
    // end. While the client reads, the bounded channel is the backpressure.
    let run_route = Arc::clone(&route);
    let run_ids = ids.clone();
    let mut stream = FlowStream::new(move |sink| async move {
        let options = options.with_chunks(sink);
        run_ids
            .instrument(
                run_route
                    .ai
                    .run_resolved(&run_route.served.run, input, options),
            )
            .await
    });
    let (blocks, received) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut client = Some(blocks);
        while let Some(chunk) = stream.next().await {
            if let Some(to) = &client {
                let block = format!("data: {}\n\n", json!({ "message": chunk }));
                if to.send(Bytes::from(block)).await.is_err() {
                    client = None;
                }
            }
        }
        let block = match stream.take_result() {
            Some(Ok(result)) => format!("data: {}\n\n", json!({ "result": result })),
            Some(Err(e)) => format!("error: {}\n\n", json!({ "error": callable_error(&e) })),
            None => format!(
                "error: {}\n\n",
                json!({"error": {"status": "INTERNAL", "message": "Internal Error"}})
            ),
        };
        if let Some(to) = client {
            // the client may be gone by now; the turn is stored either way
            let _ = to.send(Bytes::from(block)).await;
        }
    });
    let body = futures::stream::unfold(received, |mut received| async move {
        let block = received.recv().await?;
        Some((Ok::<_, Infallible>(block), received))
    });
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    ids.set_headers(h);
    response
}

async fn get_snapshot(State(route): State<Arc<Route>>, request: Request) -> Response {
    let (method, headers, body) = match read_body(request, route.limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let run = async {
        let (data, _init) = envelope(&body)?;
        let req: crate::wire::GetSnapshotRequest =
            typed("data is not a snapshot request", data.clone())?;
        let lookup = crate::agent::action::snapshot_lookup(route.served.agent.name(), req)?;
        let context = context_for(&route, &method, &headers, &data).await?;
        let input = match &lookup {
            ChatRef::Snapshot(id) => json!({ "snapshotId": id }),
            ChatRef::Session(id) => json!({ "sessionId": id }),
        };
        let answer = route
            .ai
            .run_resolved(&route.served.snapshot, input, RunOptions::new(context))
            .await;
        match answer {
            Err(e) if e.status() == Status::NotFound && route.served.agent.scoped() => {
                Err(not_yours(&lookup))
            }
            other => other,
        }
    };
    match run.await {
        Ok(v) => result_response(v),
        Err(e) => error_response(&e),
    }
}

async fn abort(State(route): State<Arc<Route>>, request: Request) -> Response {
    let (method, headers, body) = match read_body(request, route.limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let run = async {
        let (data, _init) = envelope(&body)?;
        let req: crate::wire::AgentAbortRequest = typed(
            "data is not an abort request {\"snapshotId\": ...}",
            data.clone(),
        )?;
        let context = context_for(&route, &method, &headers, &data).await?;
        let id = req.snapshot_id.clone();
        let input = serde_json::to_value(req).map_err(|e| GenkitError::json("the request", e))?;
        let answer = route
            .ai
            .run_resolved(&route.served.abort, input, RunOptions::new(context))
            .await?;
        if answer.get("status").is_none_or(Value::is_null) && route.served.agent.scoped() {
            return Err(not_yours(&ChatRef::Snapshot(id)));
        }
        Ok(answer)
    };
    match run.await {
        Ok(v) => result_response(v),
        Err(e) => error_response(&e),
    }
}

/// The trace of a served run, named in `x-genkit-trace-id` and `x-genkit-span-id` as
/// Genkit's handlers name it (with the `dev` feature, which has the tracing).
#[derive(Clone)]
struct TraceIds {
    #[cfg(feature = "dev")]
    ids: Option<(String, String)>,
}

impl TraceIds {
    fn new() -> Self {
        Self {
            #[cfg(feature = "dev")]
            ids: Some((crate::trace::new_trace_id(), crate::trace::new_span_id())),
        }
    }

    #[cfg(feature = "dev")]
    fn instrument<F: std::future::Future>(&self, run: F) -> tracing::instrument::Instrumented<F> {
        use tracing::Instrument;
        let span = match &self.ids {
            Some((t, s)) => crate::trace::root_span(t, s, &serde_json::Map::new()),
            None => tracing::Span::none(),
        };
        run.instrument(span)
    }

    #[cfg(not(feature = "dev"))]
    fn instrument<F: std::future::Future>(&self, run: F) -> F {
        run
    }

    fn set_headers(&self, headers: &mut HeaderMap) {
        #[cfg(feature = "dev")]
        if let Some((t, s)) = &self.ids {
            if let (Ok(t), Ok(s)) = (HeaderValue::from_str(t), HeaderValue::from_str(s)) {
                headers.insert("x-genkit-trace-id", t);
                headers.insert("x-genkit-span-id", s);
            }
        }
        #[cfg(not(feature = "dev"))]
        let _ = headers;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_an_object_with_data() {
        assert_eq!(envelope(b"").unwrap_err().status(), Status::InvalidArgument);
        assert_eq!(
            envelope(b"{").unwrap_err().status(),
            Status::InvalidArgument
        );
        assert_eq!(
            envelope(b"[1]").unwrap_err().status(),
            Status::InvalidArgument
        );
        let (data, init) = envelope(br#"{"data": {"message": 1}, "init": null}"#).unwrap();
        assert_eq!(data, json!({"message": 1}));
        assert_eq!(init, None);
    }
}
