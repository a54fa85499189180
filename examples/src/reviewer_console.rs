//! A reviewer console: a human answers the interrupts of every session in the store.
//!
//! A support agent refunds orders, but a refund waits for a person: `issueRefund` pauses its
//! turn (an interrupt) until a reviewer decides. The console (one axum app, one HTML page, no
//! framework) lists the pending interrupts of all sessions in the store (tool, input, payload,
//! age) and offers three answers, each continuing the conversation, streamed to the page:
//!
//! - **approve**: restart the tool, approved; it refunds;
//! - **edit and approve**: restart it with a replaced input (another amount), approved;
//! - **refuse**: respond in the tool's place; nothing is refunded.
//!
//! The same app serves the agent to clients ([`AgentServer`] at `/agents/support`), so a
//! customer's client (Genkit JS's `remoteAgent`, curl) starts the conversations the reviewer
//! answers. The console's decisions run in process through a [`Chat`],
//! trusted application code, which is what may replace a restart's input; a wire client may
//! not. In production put both behind authentication (the console is for reviewers only).
//!
//! ```
//! use examples::reviewer_console::{self, Decision};
//! use genkit_core::agent::ChatRef;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), genkit_core::GenkitError> {
//! let console = reviewer_console::Console::new()?;
//! let mut chat = console.agent().chat(console.genkit());
//! let paused = chat.send("Please refund order A-17, 30 euros.").await?;
//! assert_eq!(paused.interrupts().len(), 1);
//!
//! let pending = console.pending().await?;
//! assert_eq!(pending[0].tool, "issueRefund");
//! let done = console
//!     .decide(&pending[0].snapshot_id, Decision::Edit { input: serde_json::json!({"orderId": "A-17", "amount": 25}) })
//!     .await?
//!     .response()
//!     .await?;
//! assert_eq!(done.text(), "Refunded 25 euros on order A-17.");
//! assert!(console.pending().await?.is_empty());
//! # let _ = ChatRef::Snapshot(String::new());
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::BoxFuture;
use genkit_core::agent::{Agent, Chat, ChatRef, PromptSpec};
use genkit_core::serve::AgentServer;
use genkit_core::session::{
    parse_timestamp, InMemorySessionStore, ListQuery, SessionStore, StoreScope,
};
use genkit_core::{
    tool_response, tool_restart, AgentInput, AgentResume, AgentStreamChunk, FinishReason,
    GenerateResponseChunk, Genkit, GenkitError, Interrupt, Message, Model, ModelContext,
    ModelRequest, ModelResponse, Part, PartKind, Role, Status, Tool, ToolContext, ToolRequest,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The agent's name, and its path under `/agents/`.
pub const AGENT: &str = "support";
/// The scripted model playing the support agent.
pub const MODEL: &str = "scripted/support";

const PAGE: &str = include_str!("reviewer_console.html");

/// A refund the model asks for: `issueRefund`'s input.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// the order to refund
    pub order_id: String,
    /// the amount, in whole euros
    pub amount: u64,
}

/// What `issueRefund` tells the model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RefundResult {
    /// Refunded.
    Refunded {
        /// the order
        #[serde(rename = "orderId")]
        order_id: String,
        /// how much
        amount: u64,
    },
    /// A reviewer said no.
    Refused {
        /// why
        reason: String,
    },
}

/// The refund tool: pauses for a reviewer unless restarted approved.
pub fn issue_refund_tool() -> Tool<Refund, RefundResult> {
    Tool::new(
        "issueRefund",
        "Refunds an order. A reviewer approves every refund; report what the tool says.",
        |refund: Refund, ctx: ToolContext| async move {
            if !ctx.is_resumed() {
                return ctx.interrupt(json!({
                    "reason": "refunds need a reviewer's approval",
                    "orderId": refund.order_id,
                    "amount": refund.amount,
                }));
            }
            Ok(RefundResult::Refunded {
                order_id: refund.order_id,
                amount: refund.amount,
            })
        },
    )
}

/// The support agent's model, scripted: a refund request calls `issueRefund` (order id after
/// "order", the first number as the amount); a tool answer is reported; anything else is
/// echoed. Replies stream word by word ("slow" in the message makes each word take 200 ms).
pub struct ScriptedSupport;

fn refund_in(text: &str) -> Option<Refund> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let at = words.iter().position(|w| w.eq_ignore_ascii_case("order"))?;
    let order_id = words.get(at + 1)?.trim_end_matches(['.', ',']).to_owned();
    let amount = words
        .iter()
        .find_map(|w| w.trim_end_matches(['.', ',']).parse::<u64>().ok())?;
    Some(Refund { order_id, amount })
}

fn report(output: &Value) -> String {
    match serde_json::from_value::<RefundResult>(output.clone()) {
        Ok(RefundResult::Refunded { order_id, amount }) => {
            format!("Refunded {amount} euros on order {order_id}.")
        }
        Ok(RefundResult::Refused { reason }) => format!("I could not refund: {reason}."),
        Err(_) => format!("The tool said {output}."),
    }
}

impl Model for ScriptedSupport {
    fn name(&self) -> &str {
        MODEL
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let last = request.messages.last();
            let (answer, slow) = match last {
                Some(m) if m.role == Role::Tool => {
                    let said: Vec<String> = m
                        .content
                        .iter()
                        .filter_map(|p| match &p.kind {
                            PartKind::ToolResponse(r) => r.output.as_ref().map(report),
                            _ => None,
                        })
                        .collect();
                    (said.join(" "), false)
                }
                Some(m) => {
                    let text = m.text();
                    if let Some(refund) = refund_in(&text) {
                        let input = serde_json::to_value(&refund)
                            .map_err(|e| GenkitError::json("the refund", e))?;
                        let ask = ToolRequest::new("issueRefund", None, input);
                        return Ok(ModelResponse::new(
                            Message::new(Role::Model, vec![Part::tool_request(ask)]),
                            FinishReason::Stop,
                        ));
                    }
                    (format!("You said: {text}"), text.contains("slow"))
                }
                None => ("Hello.".to_owned(), false),
            };
            for word in answer.split_inclusive(' ') {
                ctx.send_chunk(GenerateResponseChunk::new(vec![Part::text(word)]))
                    .await;
                let pause = if slow { 200 } else { 15 };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Ok(ModelResponse::new(
                Message::model(answer),
                FinishReason::Stop,
            ))
        })
    }
}

/// One interrupt waiting for a reviewer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The session.
    pub session_id: String,
    /// The interrupted snapshot (what a decision resumes).
    pub snapshot_id: String,
    /// The tool that paused.
    pub tool: String,
    /// Its request ref.
    #[serde(rename = "ref")]
    pub ref_: Option<String>,
    /// Its input.
    pub input: Value,
    /// The interrupt's payload.
    pub payload: Value,
    /// Seconds since the turn paused.
    pub age_seconds: u64,
    /// The user's last message.
    pub asked: String,
}

/// A reviewer's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Restart the tool, approved.
    Approve,
    /// Restart it approved, with this input instead.
    Edit {
        /// the replaced input
        input: Value,
    },
    /// Respond in its place: refused.
    Refuse {
        /// why
        reason: String,
    },
}

/// The console's state: the instance, the agent, the store they share.
#[derive(Clone)]
pub struct Console {
    ai: Genkit,
    agent: Agent,
    store: Arc<InMemorySessionStore>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// The support agent on the scripted model, with an in-memory store.
    pub fn new() -> Result<Self, GenkitError> {
        let store = Arc::new(InMemorySessionStore::new());
        let agent: Agent = Agent::prompt(
            AGENT,
            PromptSpec::new()
                .model(MODEL)
                .system("You are a support agent. Refunds go through issueRefund.")
                .tools(["issueRefund"]),
        )
        .description("Support agent whose refunds wait for a reviewer")
        .shared_store(store.clone())
        .build();
        let ai = Genkit::builder()
            .model(ScriptedSupport)
            .tool(issue_refund_tool())
            .agent(agent.clone())
            .build()?;
        Ok(Self { ai, agent, store })
    }

    /// The instance.
    pub fn genkit(&self) -> &Genkit {
        &self.ai
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// Every interrupt of every session in the store waiting for an answer, oldest first.
    pub async fn pending(&self) -> Result<Vec<Pending>, GenkitError> {
        let now = SystemTime::now();
        let mut query = ListQuery::pending_interrupts(now);
        let mut out = Vec::new();
        loop {
            let page = self
                .store
                .list_snapshots(&StoreScope::global(), &query)
                .await?;
            for snapshot in page.snapshots {
                let messages = snapshot
                    .state
                    .as_ref()
                    .map(|s| s.messages().to_vec())
                    .unwrap_or_default();
                let asked = messages
                    .iter()
                    .rev()
                    .find(|m| m.role == Role::User)
                    .map(Message::text)
                    .unwrap_or_default();
                let age = parse_timestamp(&snapshot.created_at)
                    .and_then(|t| now.duration_since(t).ok())
                    .map_or(0, |d| d.as_secs());
                for interrupt in Interrupt::pending_in(&messages) {
                    out.push(Pending {
                        session_id: snapshot.session_id.clone().unwrap_or_default(),
                        snapshot_id: snapshot.snapshot_id.clone(),
                        tool: interrupt.name().to_owned(),
                        ref_: interrupt.ref_().map(str::to_owned),
                        input: interrupt
                            .tool_request()
                            .input
                            .clone()
                            .unwrap_or(Value::Null),
                        payload: interrupt.payload_value().clone(),
                        age_seconds: age,
                        asked: asked.clone(),
                    });
                }
            }
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Answers the interrupt of `snapshot_id`: the returned [`Decided`] runs the continued
    /// turn ([`Decided::response`]; the console's route streams it).
    pub async fn decide(
        &self,
        snapshot_id: &str,
        decision: Decision,
    ) -> Result<Decided, GenkitError> {
        let chat = self
            .agent
            .load_chat(&self.ai, ChatRef::Snapshot(snapshot_id.to_owned()))
            .await?;
        let snapshot = self
            .agent
            .snapshot(&ChatRef::Snapshot(snapshot_id.to_owned()))
            .await?
            .ok_or_else(|| {
                GenkitError::with_status(Status::NotFound, format!("no snapshot {snapshot_id}"))
            })?;
        let messages = snapshot
            .state
            .as_ref()
            .map(|s| s.messages().to_vec())
            .unwrap_or_default();
        let interrupt = Interrupt::pending_in(&messages)
            .into_iter()
            .next()
            .ok_or_else(|| {
                GenkitError::with_status(
                    Status::FailedPrecondition,
                    format!("snapshot {snapshot_id} waits for no answer"),
                )
            })?;
        let approval = json!({"approvedBy": "reviewer"});
        let (respond, restart) = match decision {
            Decision::Approve => (vec![], vec![tool_restart(&interrupt, approval, None)?]),
            Decision::Edit { input } => (
                vec![],
                vec![tool_restart(&interrupt, approval, Some(input))?],
            ),
            Decision::Refuse { reason } => (
                vec![tool_response(&interrupt, RefundResult::Refused { reason })?],
                vec![],
            ),
        };
        let input = AgentInput {
            resume: Some(AgentResume {
                respond: Some(respond).filter(|v| !v.is_empty()),
                restart: Some(restart).filter(|v| !v.is_empty()),
            }),
            ..Default::default()
        };
        Ok(Decided { chat, input })
    }

    /// The app: the page at `/`, `GET /api/pending`, `POST /api/decide` (streamed), and the
    /// agent at `/agents/support`.
    pub fn router(&self) -> Router {
        let console = Arc::new(self.clone());
        Router::new()
            .route("/", get(|| async { Html(PAGE) }))
            .route("/api/pending", get(pending_route))
            .route("/api/decide", post(decide_route))
            .with_state(console)
            .merge(
                AgentServer::new(&self.ai)
                    .path_prefix("agents/")
                    .agent(&self.agent)
                    .router(),
            )
    }
}

/// A decision ready to run.
#[derive(Debug)]
pub struct Decided {
    chat: Chat,
    input: AgentInput,
}

impl Decided {
    /// Runs the turn and answers it.
    pub async fn response(mut self) -> Result<genkit_core::agent::AgentResponse, GenkitError> {
        self.chat.send(self.input).await
    }
}

async fn pending_route(State(console): State<Arc<Console>>) -> Response {
    match console.pending().await {
        Ok(p) => Json(json!({ "pending": p })).into_response(),
        Err(e) => failure(&e),
    }
}

fn failure(e: &GenkitError) -> Response {
    let code =
        StatusCode::from_u16(e.status().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        Json(json!({"status": e.status().name(), "message": e.to_string()})),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecideRequest {
    snapshot_id: String,
    #[serde(flatten)]
    decision: Decision,
}

/// Runs the decision and streams the continued turn as Genkit's SSE blocks.
async fn decide_route(State(console): State<Arc<Console>>, body: Bytes) -> Response {
    let request: DecideRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return failure(&GenkitError::with_status(
                Status::InvalidArgument,
                e.to_string(),
            ))
        }
    };
    let decided = match console.decide(&request.snapshot_id, request.decision).await {
        Ok(d) => d,
        Err(e) => return failure(&e),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // the turn runs on its own: a reviewer who closes the page does not stop it half-way
    tokio::spawn(async move {
        let Decided { mut chat, input } = decided;
        let mut turn = chat.send_stream(input);
        use futures::StreamExt;
        while let Some(chunk) = turn.next().await {
            let _ = tx.send(block("message", &chunk));
        }
        let last = match turn.response().await {
            Ok(r) => format!("data: {}\n\n", json!({ "result": r.output() })),
            Err(e) => format!(
                "error: {}\n\n",
                json!({"error": {"status": e.status().name(), "message": e.to_string()}})
            ),
        };
        let _ = tx.send(last);
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Bytes::from(b)), rx))
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    response
}

fn block(key: &str, chunk: &AgentStreamChunk) -> String {
    format!("data: {}\n\n", json!({ key: chunk }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refunds_are_read_from_the_message() {
        assert_eq!(
            refund_in("Please refund order A-17, 30 euros."),
            Some(Refund {
                order_id: "A-17".into(),
                amount: 30
            })
        );
        assert_eq!(refund_in("hello"), None);
    }
}
