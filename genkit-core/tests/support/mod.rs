//! Shared fixtures of the engine tests: a scripted model and a few tools.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{IntoTool, ToolAction};
use serde_json::{json, Value};

/// The seed's input type.
#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema, PartialEq)]
pub struct Questions {
    /// the choices to display to the user
    pub choices: Vec<String>,
    /// when true, allow write-ins
    pub allow_other: bool,
}

#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
pub struct Word {
    pub word: String,
}

/// An instance with a programmable model `pm` as default and `tools` registered.
pub fn instance(tools: Vec<Arc<ToolAction>>) -> (Genkit, ProgrammableModel) {
    let model = ProgrammableModel::new("pm");
    let mut builder = Genkit::builder().model(model.clone()).default_model("pm");
    for t in tools {
        builder = builder.tool(t);
    }
    (builder.build().expect("instance"), model)
}

/// A final text answer.
pub fn answer(text: &str) -> ModelResponse {
    ModelResponse::new(Message::model(text), FinishReason::Stop)
}

/// A model message requesting the given tool calls.
pub fn calls(requests: &[(&str, Option<&str>, Value)]) -> ModelResponse {
    let parts = requests
        .iter()
        .map(|(name, r, input)| {
            Part::tool_request(ToolRequest::new(*name, r.map(str::to_owned), input.clone()))
        })
        .collect();
    ModelResponse::new(Message::new(Role::Model, parts), FinishReason::Stop)
}

pub fn questions() -> Value {
    json!({"choices": ["Alien", "Heat", "Up"], "allow_other": false})
}

pub fn ask_question() -> Tool<Questions, String> {
    Tool::interrupt(
        "ask_question",
        "Use this to ask the user a clarifying question",
    )
}

pub fn ask_tool() -> Arc<ToolAction> {
    ask_question().into_tool()
}

pub fn typed_lookup() -> Tool<Word, usize> {
    Tool::new(
        "lookup",
        "Length of a word",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    )
}

pub fn lookup_tool() -> Arc<ToolAction> {
    typed_lookup().into_tool()
}

/// A tool counting its runs.
pub fn counting_tool() -> (Arc<ToolAction>, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let tool = Tool::new("count", "counts", move |_: (), _ctx: ToolContext| {
        let n = r.fetch_add(1, Ordering::SeqCst) + 1;
        async move { ToolResult::Ok(n) }
    });
    (tool.into_tool(), runs)
}
