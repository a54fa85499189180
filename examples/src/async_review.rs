//! Async processing across processes: a refund waits for a human reviewer, and nothing but
//! the conversation survives in between.
//!
//! The first run asks the model to handle a customer's complaint. The model looks the order
//! up (`lookup_order`, a normal tool) and asks for a review (`request_review`, an
//! interrupt-only tool). The loop pauses; the program writes the messages to a file with
//! [`save`] and exits. Days later, a second run, given the reviewer's [`Decision`], reads the
//! file with [`load`], finds the pending request with [`pending`], answers it and resumes
//! with [`decide`]. The file holds the whole state: no process, task, connection or
//! `Genkit` instance lives on between the two runs.
//!
//! ```
//! use examples::async_review::{self, Decision};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = std::env::temp_dir().join(format!("review-doc-{}.json", std::process::id()));
//!
//! // First process.
//! let ai = Genkit::builder().model(async_review::scripted_model()).build()?;
//! let interrupted = async_review::start(&ai, "scripted", async_review::COMPLAINT).await?;
//! assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
//! async_review::save(&path, interrupted.messages())?;
//! drop((ai, interrupted));
//!
//! // Second process: a new instance, the file, the decision.
//! let ai = Genkit::builder().model(async_review::scripted_model()).build()?;
//! let messages = async_review::load(&path)?;
//! let decision = Decision { approved: true, note: "damaged in transit".into() };
//! let done = async_review::decide(&ai, "scripted", messages, &decision).await?;
//! assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```

use std::io;
use std::path::Path;

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model_choice::steady_config;
use crate::scripted::{calls, first_prompt, last_outputs, reply};

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

/// Asks the model to handle `complaint`. With a model that follows [`SYSTEM`], the response
/// is interrupted on `request_review`.
pub async fn start(
    ai: &Genkit,
    model: &str,
    complaint: &str,
) -> Result<GenerateResponse, GenkitError> {
    ai.generate()
        .model(model)
        .system(SYSTEM)
        .prompt(complaint)
        .tool(lookup_order)
        .tool(request_review)
        .config(steady_config(256))
        .await
}

/// Writes the conversation to `path` as JSON (Genkit's wire format). The file is written
/// next to its final name and then renamed, so a crash never leaves half a file behind.
pub fn save(path: &Path, messages: &[Message]) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(messages)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

/// Reads a conversation written by [`save`] (or by any Genkit runtime).
pub fn load(path: &Path) -> io::Result<Vec<Message>> {
    let json = std::fs::read(path)?;
    Ok(serde_json::from_slice(&json)?)
}

/// The interrupts a saved conversation waits on: the paused tool requests of its last
/// message. Empty when the conversation is not paused.
pub fn pending(messages: &[Message]) -> Vec<Interrupt> {
    Interrupt::pending_in(messages)
}

/// Resumes a saved conversation with the reviewer's decision, answering every pending
/// `request_review` with it.
pub async fn decide(
    ai: &Genkit,
    model: &str,
    messages: Vec<Message>,
    decision: &Decision,
) -> Result<GenerateResponse, GenkitError> {
    let answers = pending(&messages)
        .iter()
        .map(|interrupt| request_review.respond(interrupt, decision.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    ai.generate()
        .model(model)
        .messages(messages)
        .tool_responses(answers)
        .tool(lookup_order)
        .tool(request_review)
        .config(steady_config(256))
        .await
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
