//! Building blocks for scripted models: the examples' `--scripted` mode and their tests.
//!
//! A scripted model is a [`ProgrammableModel`](genkit_core::testing::ProgrammableModel) whose
//! handler decides each turn from the request it gets, as a real model would: it reads the
//! last message (the user's prompt, or the tools' answers) and replies with text or tool
//! calls. Nothing about the conversation is kept in the model, so the same handler plays a
//! conversation that another process started.
//!
//! ```
//! use examples::scripted::{calls, last_outputs, reply};
//! use genkit_core::prelude::*;
//! use genkit_core::testing::ProgrammableModel;
//! use serde_json::json;
//!
//! let model = ProgrammableModel::new("scripted");
//! model.set_handler(|request| {
//!     Ok(match last_outputs(request).get("lookup") {
//!         None => calls([("lookup", json!("tea"))]),
//!         Some(length) => reply(format!("The word has {length} letters.")),
//!     })
//! });
//! # let _ = model;
//! ```

use std::collections::BTreeMap;

use genkit_core::{FinishReason, Message, ModelRequest, ModelResponse, Part, Role, ToolRequest};
use serde_json::Value;

/// A final text answer.
pub fn reply(text: impl Into<String>) -> ModelResponse {
    ModelResponse::new(Message::model(text), FinishReason::Stop)
}

/// A model turn calling the given tools, in order. Refs are left out, as many real models
/// leave them out: the engine gives every request one.
pub fn calls<'a>(requests: impl IntoIterator<Item = (&'a str, Value)>) -> ModelResponse {
    let parts = requests
        .into_iter()
        .map(|(name, input)| Part::tool_request(ToolRequest::new(name, None, input)))
        .collect();
    ModelResponse::new(Message::new(Role::Model, parts), FinishReason::Stop)
}

/// The outputs of the tool message the request ends with, by tool name (the last output
/// wins when a tool answered twice); empty when the request ends with anything else, like
/// the user's prompt.
pub fn last_outputs(request: &ModelRequest) -> BTreeMap<String, Value> {
    match request.messages.last() {
        Some(m) if m.role == Role::Tool => m
            .tool_responses()
            .map(|r| (r.name.clone(), r.output.clone().unwrap_or(Value::Null)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Every output a tool gave in the whole conversation, in order.
pub fn outputs_of(request: &ModelRequest, tool: &str) -> Vec<Value> {
    request
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .flat_map(|m| m.tool_responses())
        .filter(|r| r.name == tool)
        .map(|r| r.output.clone().unwrap_or(Value::Null))
        .collect()
}

/// The text of the first user message: the task the conversation is about.
pub fn first_prompt(request: &ModelRequest) -> String {
    request
        .messages
        .iter()
        .find(|m| m.role == Role::User)
        .map(Message::text)
        .unwrap_or_default()
}
