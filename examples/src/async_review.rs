//! Async processing across processes: a refund waits for a human reviewer, and only the
//! agent's session store survives in between.
//!
//! The customer's complaint goes to an agent ([`agent`]) whose sessions live in a
//! [`FileSessionStore`]: every turn is a snapshot file. The model looks the order up
//! (`lookup_order`, a normal tool) and asks for a review (`request_review`, an interrupt-only
//! tool); the turn ends as an interrupted snapshot, and the first process exits. Days later, a
//! second process opens the same store, loads the chat by its session id ([`decide`]), answers
//! the pending review with the reviewer's [`Decision`] and resumes. The answer is checked
//! against the stored request, not against anything the second process was told, and an
//! interrupted snapshot is answered once: a second decision for the same review is refused.
//! No process, task, connection or `Genkit` instance lives on between the two runs, and the
//! application writes no file of its own.
//!
//! ```
//! use examples::async_review::{self, Decision};
//! use genkit_core::prelude::*;
//! use genkit_core::session::FileSessionStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("review-doc-{}", std::process::id()));
//!
//! // First process.
//! let ai = Genkit::builder().model(async_review::scripted_model()).build()?;
//! let agent = async_review::agent("scripted", FileSessionStore::new(&dir));
//! let paused = async_review::start(&ai, &agent, "review-7", async_review::COMPLAINT).await?;
//! assert_eq!(paused.interrupts().len(), 1);
//! drop((ai, agent, paused));
//!
//! // Second process: a new instance, the same directory, the session id, the decision.
//! let ai = Genkit::builder().model(async_review::scripted_model()).build()?;
//! let agent = async_review::agent("scripted", FileSessionStore::new(&dir));
//! let decision = Decision { approved: true, note: "damaged in transit".into() };
//! let done = async_review::decide(&ai, &agent, "review-7", &decision).await?;
//! assert!(done.text().contains("approved"));
//! // the review was answered: nothing waits any more
//! assert!(async_review::pending(&agent, "review-7").await?.is_empty());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use genkit_core::agent::{Agent, AgentResponse, Chat, ChatRef, SessionRunner, TurnResult};
use genkit_core::prelude::*;
#[cfg(doc)]
use genkit_core::session::FileSessionStore;
use genkit_core::session::SessionStore;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{AgentFinishReason, AgentResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model_choice::steady_config;
use crate::scripted::{calls, first_prompt, last_outputs, reply};
use crate::unstreamed_retry::UnstreamedRetry;

/// The agent's name (its actions are `/agent/async_review`, ...).
pub const AGENT: &str = "async_review";

/// The customer's message the program handles, unless told otherwise.
pub const COMPLAINT: &str = "Order A-1001 arrived broken. I would like my money back, please.";

/// The system prompt: the procedure the model follows.
pub const SYSTEM: &str = "You are a customer service agent for a small shop. When a \
    customer asks for a refund, call lookup_order with the order id, then call \
    request_review with the order id, the amount paid and the customer's reason. A human \
    reviewer decides; tell the customer the decision.";

/// The order to look up: the input of `lookup_order`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct OrderQuery {
    /// the order id, like A-1001
    pub order_id: String,
}

/// An order, as the shop knows it: the output of `lookup_order`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Order {
    /// the order id
    pub order_id: String,
    /// what was bought
    pub item: String,
    /// what the customer paid, in euros
    pub paid: u64,
}

/// Look an order up by its id. Gives null when there is no such order.
#[tool]
pub fn lookup_order(query: OrderQuery) -> ToolResult<Option<Order>> {
    let id = query.order_id.trim();
    let (item, paid) = match id {
        "A-1001" => ("teapot", 35),
        "A-1002" => ("kettle", 60),
        "A-1003" => ("set of six cups", 24),
        _ => return Ok(None),
    };
    Ok(Some(Order {
        order_id: id.to_owned(),
        item: item.to_owned(),
        paid,
    }))
}

/// A refund to review: the input of `request_review`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Refund {
    /// the order id
    pub order_id: String,
    /// the amount to refund, in euros
    pub amount: u64,
    /// why the customer wants the money back
    pub reason: String,
}

/// The reviewer's decision: the answer to `request_review`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Decision {
    /// true when the refund is approved
    pub approved: bool,
    /// the reviewer's note for the customer
    pub note: String,
}

/// Ask a human reviewer to approve a refund. The answer is the reviewer's decision; it may
/// take days.
#[tool]
pub fn request_review(refund: Refund) -> Decision;

/// The review agent over `model`, keeping its sessions in `store`. Each turn asks the model
/// with the conversation so far and both tools; a turn that ends on `request_review` is an
/// interrupted snapshot in the store.
pub fn agent(model: &str, store: impl SessionStore + 'static) -> Agent {
    let model = model.to_owned();
    Agent::custom(AGENT, move |sess: SessionRunner| {
        let model = model.clone();
        async move {
            let turn_sess = sess.clone();
            sess.run(move |input, _turn| {
                let sess = turn_sess.clone();
                let model = model.clone();
                async move {
                    let mut call = sess
                        .genkit()
                        .generate()
                        .model(model)
                        .system(SYSTEM)
                        .messages(sess.messages())
                        .tool(lookup_order)
                        .tool(request_review)
                        .config(steady_config(256))
                        .context(sess.context().clone());
                    if let Some(resume) = input.resume {
                        call = call
                            .tool_responses(resume.respond.unwrap_or_default())
                            .tool_restarts(resume.restart.unwrap_or_default());
                    }
                    // streamed when the turn is read; the local server sometimes fails a streamed call
                    let response = sess.generate(call.middleware(UnstreamedRetry)).await?;
                    if let Some(usage) = response.total_usage() {
                        sess.record_usage(usage.clone());
                    }
                    // the system prompt is the agent's, not the conversation's
                    sess.set_messages(
                        response
                            .messages()
                            .iter()
                            .filter(|m| m.role != Role::System)
                            .cloned()
                            .collect(),
                    );
                    Ok(TurnResult {
                        finish_reason: response
                            .finish_reason()
                            .map(|f| AgentFinishReason::from_wire(f.as_str())),
                    })
                }
            })
            .await?;
            Ok(AgentResult {
                message: sess.messages().last().cloned(),
                ..Default::default()
            })
        }
    })
    .description("Handles refund requests; a human reviewer approves each refund")
    .shared_store(std::sync::Arc::new(store))
    .build()
}

/// Hands `complaint` to the agent in session `session` (a new session, or a further turn of
/// that session). With a model that follows [`SYSTEM`], the turn ends interrupted on
/// `request_review`, stored as the session's latest snapshot.
pub async fn start(
    ai: &Genkit,
    agent: &Agent,
    session: &str,
    complaint: &str,
) -> Result<AgentResponse, GenkitError> {
    session_chat(ai, agent, session)
        .await?
        .send(complaint)
        .await
}

/// The chat of review session `session`, at its latest snapshot; a session id nobody used
/// yet starts that session. [`start`] and [`decide`] send on it; the program streams its turns
/// instead (`chat.send_stream`, `chat.resume_stream`).
pub async fn session_chat(ai: &Genkit, agent: &Agent, session: &str) -> Result<Chat, GenkitError> {
    agent
        .load_chat(ai, ChatRef::Session(session.to_owned()))
        .await
}

/// How many messages session `session` holds so far (0 for a new one): where the next turn's
/// messages begin, so a turn can be shown without the ones before it.
pub async fn history_len(agent: &Agent, session: &str) -> Result<usize, GenkitError> {
    Ok(agent
        .snapshot(&ChatRef::Session(session.to_owned()))
        .await?
        .and_then(|s| s.state)
        .map_or(0, |s| s.messages().len()))
}

/// The reviews session `session` waits on: the pending `request_review` calls of its latest
/// snapshot. Empty when it waits on nothing; `NOT_FOUND` when there is no such session.
pub async fn pending(agent: &Agent, session: &str) -> Result<Vec<Interrupt>, GenkitError> {
    let snapshot = agent
        .snapshot(&ChatRef::Session(session.to_owned()))
        .await?
        .ok_or_else(|| {
            GenkitError::with_status(
                genkit_core::Status::NotFound,
                format!("there is no review session '{session}'"),
            )
        })?;
    if snapshot.finish_reason != Some(AgentFinishReason::Interrupted) {
        return Ok(Vec::new());
    }
    Ok(snapshot
        .state
        .map(|s| Interrupt::pending_in(s.messages()))
        .unwrap_or_default())
}

/// Loads session `session` from the store and resumes it with the reviewer's decision,
/// answering every pending `request_review` with it.
pub async fn decide(
    ai: &Genkit,
    agent: &Agent,
    session: &str,
    decision: &Decision,
) -> Result<AgentResponse, GenkitError> {
    let answers = answers(agent, session, decision).await?;
    session_chat(ai, agent, session)
        .await?
        .resume(answers)
        .await
}

/// `decision` as the answer to every pending `request_review` of session `session`.
pub async fn answers(
    agent: &Agent,
    session: &str,
    decision: &Decision,
) -> Result<Vec<Part>, GenkitError> {
    pending(agent, session)
        .await?
        .iter()
        .map(|interrupt| request_review.respond(interrupt, decision.clone()))
        .collect()
}

/// The first order id in `text`, like `A-1001`.
fn order_id_in(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .find(|w| w.starts_with("A-") && w.len() > 2)
        .map(str::to_owned)
}

/// A model that follows [`SYSTEM`] without a server. It decides each turn from the request
/// alone, so the second process's model continues the first process's conversation.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.set_handler(|request| {
        let outputs = last_outputs(request);
        if let Some(decision) = outputs.get(request_review::NAME) {
            let d = Decision::deserialize(decision)
                .map_err(|e| GenkitError::json("request_review answer", e))?;
            return Ok(reply(if d.approved {
                format!("Good news: your refund is approved ({}).", d.note)
            } else {
                format!(
                    "I am sorry: the reviewer declined your refund ({}).",
                    d.note
                )
            }));
        }
        if let Some(order) = outputs.get(lookup_order::NAME) {
            let Ok(order) = Order::deserialize(order) else {
                return Ok(reply("I could not find that order."));
            };
            return Ok(calls([(
                request_review::NAME,
                json!(Refund {
                    order_id: order.order_id,
                    amount: order.paid,
                    reason: first_prompt(request),
                }),
            )]));
        }
        Ok(match order_id_in(&first_prompt(request)) {
            Some(order_id) => calls([(lookup_order::NAME, json!(OrderQuery { order_id }))]),
            None => reply("Which order is it? Please give me its id, like A-1001."),
        })
    });
    model
}
