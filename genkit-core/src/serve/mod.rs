//! Serving flows over HTTP with axum, the way Genkit's express and Go handlers do, so that
//! Genkit's clients (`runFlow`, `streamFlow` of `genkit/beta/client`) can call them.
//!
//! - `POST /<flow>` with `{"data": <input>}` answers `{"result": <output>}`; a failure answers
//!   the HTTP status of its Genkit status with `{"status": "NOT_FOUND", "message": ...}`.
//! - With `?stream=true` or `Accept: text/event-stream`, the answer streams: one
//!   `data: {"message": <chunk>}` block per chunk, then `data: {"result": <output>}`, blocks
//!   separated by a blank line; a failure ends the stream with `error: {"error": {...}}`.
//! - A [`ContextProvider`] turns each request (method, headers, input) into the flow's
//!   [`ActionContext`], or refuses it (`PERMISSION_DENIED`, `UNAUTHENTICATED`, ...): that is
//!   where authentication goes.
//!
//! Internal errors answer `"Internal Error"` rather than their message, so server details do
//! not leak to clients.
//!
//! Agents are served beside flows by [`AgentServer`] (see [`agents`] for the routes).
//!
//! ```
//! use genkit_core::flow::{define_flow, FlowContext};
//! use genkit_core::serve::{FlowServer, RequestData};
//! use genkit_core::{ActionContext, Genkit, GenkitError, Status};
//!
//! let greet = define_flow("greet", |name: String, ctx: FlowContext| async move {
//!     let user = ctx.context().get("auth").and_then(|a| a["user"].as_str().map(str::to_owned));
//!     Ok(format!("Hello, {name}! (asked by {})", user.unwrap_or_default()))
//! });
//! let ai = Genkit::builder().flow(greet.clone()).build()?;
//!
//! let app: axum::Router = FlowServer::new(&ai)
//!     .flow_with_context(&greet, |req: RequestData| async move {
//!         match req.headers.get("authorization").map(String::as_str) {
//!             Some("open sesame") => Ok(ActionContext::from_json(
//!                 serde_json::json!({"auth": {"user": "Ali Baba"}}),
//!             )),
//!             _ => Err(GenkitError::with_status(Status::PermissionDenied, "not authorized")),
//!         }
//!     })
//!     .router();
//! # let _ = app;
//! # Ok::<(), GenkitError>(())
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::{json, Value};

pub mod agents;

pub use agents::AgentServer;

use crate::action::{Action, ActionKind};
use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::flow::{Flow, FlowStream};
use crate::genkit::Genkit;
use crate::run::RunOptions;
use crate::status::Status;

/// What a [`ContextProvider`] sees of a request, as Genkit's `RequestData`.
///
/// ```
/// use genkit_core::serve::RequestData;
/// fn bearer(req: &RequestData) -> Option<&str> {
///     req.headers.get("authorization")?.strip_prefix("Bearer ")
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestData {
    /// The HTTP method (`POST`).
    pub method: String,
    /// The headers, names lowercased; repeated headers joined with a space.
    pub headers: HashMap<String, String>,
    /// The flow's input (the request's `data`).
    pub input: Value,
}

/// Turns a request into the flow's context (auth and the like), or refuses it with an error
/// whose status becomes the HTTP status.
///
/// Any `Fn(RequestData) -> impl Future<Output = Result<ActionContext, GenkitError>>` is one:
///
/// ```
/// use genkit_core::serve::{ContextProvider, RequestData};
/// use genkit_core::{ActionContext, GenkitError};
/// fn takes(_: impl ContextProvider) {}
/// takes(|req: RequestData| async move {
///     Ok::<_, GenkitError>(ActionContext::new().with("method", req.method.into()))
/// });
/// ```
pub trait ContextProvider: Send + Sync + 'static {
    /// The context for `request`.
    fn context(
        &self,
        request: RequestData,
    ) -> BoxFuture<'static, Result<ActionContext, GenkitError>>;
}

impl<F, Fut> ContextProvider for F
where
    F: Fn(RequestData) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ActionContext, GenkitError>> + Send + 'static,
{
    fn context(
        &self,
        request: RequestData,
    ) -> BoxFuture<'static, Result<ActionContext, GenkitError>> {
        Box::pin(self(request))
    }
}

/// A flow to serve: its path name, its action, its context provider.
type Served = (String, Arc<dyn Action>, Option<Arc<dyn ContextProvider>>);

struct Route {
    ai: Genkit,
    action: Arc<dyn Action>,
    provider: Option<Arc<dyn ContextProvider>>,
}

/// Builds an axum [`Router`] exposing flows at `POST /<prefix><flow name>`.
///
/// ```
/// use genkit_core::flow::{define_flow, FlowContext};
/// use genkit_core::{serve::FlowServer, Genkit};
/// let echo = define_flow("echo", |s: String, _ctx: FlowContext| async move { Ok(s) });
/// let ai = Genkit::builder().flow(echo).build()?;
/// // every registered flow, at POST /api/<name>
/// let app: axum::Router = FlowServer::new(&ai).path_prefix("api/").all_flows().router();
/// # let _ = app;
/// # Ok::<(), genkit_core::GenkitError>(())
/// ```
#[must_use]
pub struct FlowServer {
    ai: Genkit,
    prefix: String,
    routes: Vec<Served>,
}

impl std::fmt::Debug for FlowServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.routes.iter().map(|r| r.0.as_str()).collect();
        f.debug_struct("FlowServer")
            .field("prefix", &self.prefix)
            .field("flows", &names)
            .finish()
    }
}

impl FlowServer {
    /// A server for flows of `ai` (add them with [`flow`](Self::flow) or
    /// [`all_flows`](Self::all_flows)).
    pub fn new(ai: &Genkit) -> Self {
        Self {
            ai: ai.clone(),
            prefix: String::new(),
            routes: Vec::new(),
        }
    }

    /// Prefixes every flow's path: `prefix("api/")` serves `greet` at `POST /api/greet`.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Serves `flow`, without a context provider (its context is empty).
    pub fn flow<I, O, S>(mut self, flow: &Flow<I, O, S>) -> Self {
        self.routes
            .push((flow.name().to_owned(), flow.action(), None));
        self
    }

    /// Serves `flow`, with `provider` deciding each request's context (or refusing it).
    pub fn flow_with_context<I, O, S>(
        mut self,
        flow: &Flow<I, O, S>,
        provider: impl ContextProvider,
    ) -> Self {
        self.routes.push((
            flow.name().to_owned(),
            flow.action(),
            Some(Arc::new(provider)),
        ));
        self
    }

    /// Serves every flow registered on the instance (not yet added), without a context
    /// provider.
    pub fn all_flows(mut self) -> Self {
        for d in self.ai.registry().descriptors() {
            if d.kind != ActionKind::Flow || self.routes.iter().any(|r| r.0 == d.name) {
                continue;
            }
            if let Some(action) = self.ai.registry().action(&d.key) {
                self.routes.push((d.name.clone(), Arc::clone(action), None));
            }
        }
        self
    }

    /// Serves the flows on `listener` (as Genkit's `startFlowServer` does) until the returned
    /// future is dropped or fails.
    ///
    /// ```no_run
    /// # use genkit_core::{serve::FlowServer, Genkit};
    /// # async fn run(ai: Genkit) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 3400)).await?;
    /// FlowServer::new(&ai).all_flows().serve(listener).await
    /// # }
    /// ```
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// The router.
    pub fn router(self) -> Router {
        let mut router = Router::new();
        for (name, action, provider) in self.routes {
            let route = Arc::new(Route {
                ai: self.ai.clone(),
                action,
                provider,
            });
            router = router.route(
                &format!("/{}{name}", self.prefix),
                post(handle).with_state(route),
            );
        }
        router
    }
}

/// `{"status": "NOT_FOUND", "message": ...}`: Genkit's callable error shape. Internal errors
/// do not show their message.
pub(crate) fn callable_error(error: &GenkitError) -> Value {
    let status = error.status();
    let message = match status {
        Status::Internal | Status::Unknown | Status::DataLoss => "Internal Error".to_owned(),
        _ => error.full_message(),
    };
    json!({"status": status.name(), "message": message})
}

pub(crate) fn error_response(error: &GenkitError) -> Response {
    let code = StatusCode::from_u16(error.status().http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        callable_error(error).to_string(),
    )
        .into_response()
}

pub(crate) fn request_data(method: &Method, headers: &HeaderMap, input: Value) -> RequestData {
    let mut map: HashMap<String, String> = HashMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push(' ');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    RequestData {
        method: method.as_str().to_owned(),
        headers: map,
        input,
    }
}

async fn handle(
    State(route): State<Arc<Route>>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let input = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v.get("data").cloned().unwrap_or(Value::Null),
            Err(e) => return error_response(&GenkitError::json("the request body is not JSON", e)),
        }
    };
    let context = match &route.provider {
        Some(provider) => match provider
            .context(request_data(&method, &headers, input.clone()))
            .await
        {
            Ok(c) => c,
            Err(e) => return error_response(&e),
        },
        None => ActionContext::default(),
    };
    let accept_sse = headers
        .get(header::ACCEPT)
        .is_some_and(|a| a.as_bytes() == b"text/event-stream");
    let streaming = accept_sse || query.get("stream").map(String::as_str) == Some("true");
    if !streaming {
        let run = route
            .ai
            .run_resolved(&route.action, input, RunOptions::new(context));
        return match run.await {
            Ok(result) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json!({ "result": result }).to_string(),
            )
                .into_response(),
            Err(e) => error_response(&e),
        };
    }

    // streaming: the flow runs inside the body, so a client that goes away cancels it
    let route_for_run = Arc::clone(&route);
    let stream = FlowStream::new(move |sink| async move {
        let options = RunOptions::new(context).with_chunks(sink);
        route_for_run
            .ai
            .run_resolved(&route_for_run.action, input, options)
            .await
    });
    let body = futures::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        match stream.next().await {
            Some(chunk) => {
                let block = format!("data: {}\n\n", json!({ "message": chunk }));
                Some((Ok::<_, Infallible>(Bytes::from(block)), Some(stream)))
            }
            None => {
                let block = match stream.take_result() {
                    Some(Ok(result)) => format!("data: {}\n\n", json!({ "result": result })),
                    Some(Err(e)) => {
                        format!("error: {}\n\n", json!({ "error": callable_error(&e) }))
                    }
                    None => format!(
                        "error: {}\n\n",
                        json!({"error": {"status": "INTERNAL", "message": "Internal Error"}})
                    ),
                };
                Some((Ok(Bytes::from(block)), None))
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_message() {
        let e = GenkitError::with_status(Status::Internal, "db password is hunter2");
        assert_eq!(
            callable_error(&e),
            json!({"status": "INTERNAL", "message": "Internal Error"})
        );
        let e = GenkitError::with_status(Status::PermissionDenied, "not authorized");
        assert_eq!(
            callable_error(&e),
            json!({"status": "PERMISSION_DENIED", "message": "not authorized"})
        );
    }

    #[test]
    fn headers_are_lowercased_and_repeats_joined() {
        let mut headers = HeaderMap::new();
        headers.append("Authorization", HeaderValue::from_static("a"));
        headers.append("X-Tag", HeaderValue::from_static("1"));
        headers.append("x-tag", HeaderValue::from_static("2"));
        let data = request_data(&Method::POST, &headers, json!(5));
        assert_eq!(data.headers["authorization"], "a");
        assert_eq!(data.headers["x-tag"], "1 2");
        assert_eq!(data.method, "POST");
        assert_eq!(data.input, json!(5));
    }
}
