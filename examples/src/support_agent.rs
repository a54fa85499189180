//! A support agent with typed custom state and an approval interrupt, kept in a session store.
//!
//! Each turn the agent asks the model with the conversation so far; the model may call
//! `approve_refund`, an interrupt-only tool: the turn pauses as an interrupted snapshot until a
//! supervisor answers, possibly in another process (`load_chat` by snapshot id). The agent's
//! custom state, [`Ticket`], counts turns and records the refunds a supervisor decided; the
//! client sees it change as `customPatch` chunks and in every response.
//!
//! ```
//! use examples::support_agent::{self, Refund, Ticket};
//! use genkit_core::agent::ChatRef;
//! use genkit_core::prelude::*;
//! use genkit_core::session::InMemorySessionStore;
//! use genkit_core::TypedTool;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let (agent, approve) = support_agent::agent("scripted", InMemorySessionStore::new());
//! let ai = Genkit::builder()
//!     .model(support_agent::scripted_model())
//!     .tool(approve.clone())
//!     .agent(agent.clone())
//!     .build()?;
//!
//! let mut chat = agent.chat(&ai);
//! let paused = chat.send("My order #42 arrived broken, I want my 30 euros back.").await?;
//! let interrupt = &paused.interrupts()[0];
//! let asked: Refund = interrupt.input()?;
//! assert_eq!(asked.amount, 30);
//!
//! // later, a supervisor (maybe another process) picks the conversation up by snapshot id
//! let snapshot = paused.snapshot_id().unwrap().to_owned();
//! let mut supervisor = agent.load_chat(&ai, ChatRef::Snapshot(snapshot)).await?;
//! let done = supervisor.resume([approve.respond(interrupt, true)?]).await?;
//! assert!(done.text().contains("refunded"));
//! let ticket: Ticket = done.custom()?.unwrap();
//! assert_eq!((ticket.turns, ticket.refunds_approved), (2, 1));
//! # Ok(()) }
//! ```

use genkit_core::agent::{Agent, SessionRunner, TurnResult};
use genkit_core::prelude::*;
use genkit_core::session::SessionStore;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{AgentFinishReason, AgentResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::unstreamed_retry::UnstreamedRetry;

/// The system prompt.
pub const SYSTEM: &str = "You are a support agent. Refunds need a supervisor: call \
    approve_refund with the order and the amount, then tell the customer the outcome.";

/// The agent's custom state: what a support ticket remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    /// turns taken so far
    pub turns: u32,
    /// refunds a supervisor approved
    pub refunds_approved: u32,
    /// refunds a supervisor declined
    pub refunds_declined: u32,
}

/// A refund the model asks a supervisor to approve: the interrupt's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Refund {
    /// the order number
    pub order: String,
    /// the amount, in whole euros
    pub amount: u32,
}

/// The agent over `model`, keeping its tickets in `store`, and its approval tool (the
/// supervisor answers it with `true` or `false`).
pub fn agent(
    model: &str,
    store: impl SessionStore + 'static,
) -> (Agent<Ticket>, Tool<Refund, bool>) {
    let approve: Tool<Refund, bool> =
        Tool::interrupt("approve_refund", "Asks a supervisor to approve a refund");
    let model = model.to_owned();
    let tool = approve.clone();
    let agent = Agent::custom("support", move |sess: SessionRunner<Ticket>| {
        let model = model.clone();
        let tool = tool.clone();
        async move {
            let turn_sess = sess.clone();
            sess.run(move |input, _turn| {
                let sess = turn_sess.clone();
                let model = model.clone();
                let tool = tool.clone();
                async move {
                    // what the supervisor decided, for the ticket
                    let decisions: Vec<bool> = input
                        .resume
                        .iter()
                        .flat_map(|r| r.respond.iter().flatten())
                        .filter_map(|p| p.as_tool_response())
                        .filter_map(|r| r.output.as_ref().and_then(|o| o.as_bool()))
                        .collect();
                    let mut call = sess
                        .genkit()
                        .generate()
                        .model(model)
                        .system(SYSTEM)
                        .messages(sess.messages())
                        .tool(tool);
                    if let Some(resume) = input.resume {
                        call = call
                            .tool_responses(resume.respond.unwrap_or_default())
                            .tool_restarts(resume.restart.unwrap_or_default());
                    }
                    // streamed when the turn is read; the local server sometimes fails a streamed call
                    let response = sess.generate(call.middleware(UnstreamedRetry)).await?;
                    sess.set_messages(
                        response
                            .messages()
                            .iter()
                            .filter(|m| m.role != Role::System)
                            .cloned()
                            .collect(),
                    );
                    sess.update_custom(|t| {
                        let mut t = t.unwrap_or_default();
                        t.turns += 1;
                        t.refunds_approved += decisions.iter().filter(|d| **d).count() as u32;
                        t.refunds_declined += decisions.iter().filter(|d| !**d).count() as u32;
                        t
                    })?;
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
    .description("Customer support with supervised refunds")
    .shared_store(std::sync::Arc::new(store))
    .build();
    (agent, approve)
}

/// A scripted model for the example: asks for approval of the refund, then reports it.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.push_response(ModelResponse::new(
        Message::new(
            Role::Model,
            vec![Part::tool_request(ToolRequest::new(
                "approve_refund",
                Some("refund-1".into()),
                json!({"order": "42", "amount": 30}),
            ))],
        ),
        FinishReason::Stop,
    ));
    model.push_response(ModelResponse::new(
        Message::model("Your 30 euros for order #42 have been refunded."),
        FinishReason::Stop,
    ));
    model
}
