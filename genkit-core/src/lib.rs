//! # genkit-core
//!
//! Google Genkit's programming model in Rust: give a model some tools and run the whole
//! tool-calling loop in one `generate` call, with **interrupts**: tools that pause the loop and
//! hand control back to the application, which resumes it later with answers. The history of
//! a paused generation is Genkit's wire format: persist it anywhere, resume it in another
//! process, or in Genkit JS, Go or Python.
//!
//! ```toml
//! [dependencies]
//! genkit-core = "0.1"
//! genkit-openai = "0.1"   # OpenAI and compatible servers (llama.cpp, Ollama, vLLM, ...)
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! serde = { version = "1", features = ["derive"] }
//! schemars = "1"
//! ```
//!
//! ## A tool, an interrupt, an answer
//!
//! A tool is a function with [`#[tool]`](macro@tool): its doc comment tells the model what it
//! does, its input type is the JSON schema the model fills in. A function without a body is an
//! *interrupt*: calling it pauses the loop, and the response comes back
//! [`Interrupted`](FinishReason::Interrupted), with the model's request in
//! [`interrupts()`](GenerateResponse::interrupts). The application answers in the tool's place
//! ([`respond`](TypedTool::respond), typed by the tool's output) and
//! [`resume`](Genkit::resume)s, which carries the model, config and tools of the interrupted
//! call over. A scripted model stands in for a real one here:
//!
//! ```
//! use genkit_core::prelude::*;
//! use genkit_core::testing::ProgrammableModel;
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
//! struct Questions {
//!     /// the choices to display to the user
//!     choices: Vec<String>,
//! }
//!
//! /// Use this to ask the user a clarifying question
//! #[tool]
//! fn ask_question(input: Questions) -> String;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let model = ProgrammableModel::new("scripted");
//! let ask = json!({"choices": ["Alien", "Heat"]});
//! model.push_response(ModelResponse::new(
//!     Message::new(Role::Model, vec![Part::tool_request(ToolRequest::new("ask_question", Some("q1".into()), ask))]),
//!     FinishReason::Stop,
//! ));
//! model.push_response(ModelResponse::new(Message::model("Correct!"), FinishReason::Stop));
//! let ai = Genkit::builder().model(model).build()?;
//!
//! let interrupted = ai
//!     .generate()
//!     .model("scripted")
//!     .prompt("Ask me a movie trivia question.")
//!     .tool(ask_question)
//!     .config(GenerationCommonConfig::new().temperature(0.0))
//!     .await?;
//! assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
//! let interrupt = &interrupted.interrupts()[0];
//! let question: Questions = interrupt.input()?;
//!
//! let answer = ask_question.respond(interrupt, question.choices[0].clone())?;
//! let response = ai.resume(&interrupted).answers([answer]).await?;
//! assert_eq!(response.text(), "Correct!");
//! # Ok(()) }
//! ```
//!
//! ## A tool that acts only once approved: restart
//!
//! A tool with a body interrupts with [`ctx.interrupt(..)`](ToolContext::interrupt) and, when
//! the application approves, runs again: [`approve`](TypedTool::approve) builds the restart
//! (optionally with metadata the tool reads back, or a replaced input). Application state, such
//! as the account the tool pays from, reaches it as a [`State<S>`] parameter, given once to the
//! instance:
//!
//! ```
//! use genkit_core::prelude::*;
//! use std::sync::{Arc, Mutex};
//!
//! #[derive(Clone, Default)]
//! struct Ledger(Arc<Mutex<Vec<u64>>>);
//!
//! #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
//! struct Payment {
//!     /// the amount, in euros
//!     amount: u64,
//! }
//!
//! /// Send money; the user confirms first.
//! #[tool]
//! async fn pay(input: Payment, ctx: ToolContext, State(ledger): State<Ledger>) -> ToolResult<String> {
//!     if !ctx.is_resumed() {
//!         return ctx.interrupt(serde_json::json!({"confirm": input.amount}));
//!     }
//!     ledger.0.lock().map_err(|_| ToolError::msg("poisoned"))?.push(input.amount);
//!     Ok(format!("sent {}", input.amount))
//! }
//!
//! # use genkit_core::testing::ProgrammableModel;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! # let model = ProgrammableModel::new("scripted");
//! # model.push_response(ModelResponse::new(Message::new(Role::Model, vec![Part::tool_request(ToolRequest::new("pay", Some("p1".into()), serde_json::json!({"amount": 40})))]), FinishReason::Stop));
//! # model.push_response(ModelResponse::new(Message::model("Sent 40 euros."), FinishReason::Stop));
//! let ledger = Ledger::default();
//! let ai = Genkit::builder().model(model).default_model("scripted").state(ledger.clone()).build()?;
//! let interrupted = ai.generate().prompt("Pay 40 euros").tool(pay).await?;
//!
//! let yes = pay.approve(&interrupted.interrupts()[0]).into_part()?;
//! let done = ai.resume(&interrupted).answers([yes]).await?;
//! assert_eq!(*ledger.0.lock().unwrap(), [40]);
//! # assert_eq!(done.text(), "Sent 40 euros."); Ok(()) }
//! ```
//!
//! ## Persisting and resuming elsewhere
//!
//! [`GenerateResponse::messages`] is the whole state of a paused generation. Serialize it
//! (serde), store it, and in another process find the pending requests with
//! [`Interrupt::pending_in`] and resume with `ai.generate().messages(saved).answers(..)`,
//! naming the model and tools again (they are code, not data). For a client that holds the
//! history, [`HistorySeal`] refuses a changed one; agents ([`agent`]) keep conversations in a
//! [`session`] store.
//!
//! ## The OpenAI plugin
//!
//! Models come from plugins; `genkit-openai` speaks the chat completions API, so it serves
//! OpenAI and any compatible server. Its config is typed (`genkit_openai::OpenAIConfig`):
//!
//! ```ignore
//! use genkit_openai::{OpenAI, OpenAIConfig};
//!
//! let local = OpenAI::builder().name("local").base_url("http://127.0.0.1:18080/v1").build()?;
//! let ai = Genkit::builder().plugin(local).default_model("local/qwen2.5-coder-0.5b").build()?;
//! let response = ai
//!     .generate()
//!     .prompt("Say hello in five words.")
//!     .config(OpenAIConfig::new().temperature(0.0).seed(42))
//!     .await?;
//! ```
//!
//! ## Where to read on
//!
//! The guides live in the repository's `docs/` (and, tested, in the `examples` crate):
//! [getting started], [tools and `#[tool]`][tools], [interrupts], [persisting and resuming
//! across processes][resume], [streaming and structured output][streaming], [the OpenAI
//! plugin][openai], [agents]. Runnable programs are in `examples/src/bin` (`scripts/demo`
//! runs the trivia game against a local model).
//!
//! | to | use |
//! |---|---|
//! | start a call | [`Genkit::generate`], then [`GenerateBuilder`]'s methods, `.await` |
//! | stream it | [`GenerateBuilder::stream`] |
//! | typed output | [`GenerateBuilder::output`], [`GenerateResponse::output`] |
//! | a tool without the macro | [`Tool::new`], [`Tool::interrupt`], [`Tool::dynamic`] |
//! | model mistakes back to the model | [`ToolErrorMode::ReturnToModel`] |
//!
//! [getting started]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/getting-started.md
//! [tools]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/tools.md
//! [interrupts]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/interrupts.md
//! [resume]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/resume-across-processes.md
//! [streaming]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/streaming-and-output.md
//! [openai]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/openai.md
//! [agents]: https://github.com/genkit-rs/genkit-rs/blob/main/docs/agents.md
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod action;
pub mod agent;
mod context;
mod error;
pub mod flow;
mod generate;
mod genkit;
pub mod middleware;
mod model;
mod output;
mod plugin;
pub mod protocol;
mod registry;
mod run;
pub mod schema;
mod seal;
pub mod session;
mod status;
pub mod testing;
mod tool;
pub mod trace;
mod wire;

#[cfg(feature = "dev")]
#[cfg_attr(docsrs, doc(cfg(feature = "dev")))]
pub mod reflection;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod serve;

pub use action::{Action, ActionDescriptor, ActionKind};
pub use context::ActionContext;
pub use error::{BoxError, GenkitError, RequestId};
pub use generate::{
    GenerateBuilder, GenerateResponse, GenerateStream, ToolErrorMode, DEFAULT_MAX_TURNS,
};
pub use genkit::{Genkit, GenkitBuilder, UTIL_GENERATE};
pub use model::{Model, ModelContext};
pub use output::{parse_partial, OutputFormat};
pub use plugin::Plugin;
pub use registry::Registry;
pub use run::{Cancellation, ChunkSink, RunContext, RunOptions};
pub use seal::{HistorySeal, SealKeyProblem};
pub use status::Status;
pub use tool::{
    is_valid_tool_name, tool_response, tool_response_with_metadata, tool_restart, Interrupt,
    IntoTool, Restart, State, StateKey, Tool, ToolAction, ToolContext, ToolError, ToolOutcome,
    ToolOutput, ToolResult, TypedTool, TypedToolContext,
};
pub use wire::*;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use genkit_macros::tool;

/// The names most applications need: `use genkit_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        tool_response, tool_restart, ActionContext, FinishReason, GenerateBuilder,
        GenerateResponse, GenerationCommonConfig, Genkit, GenkitError, Interrupt, Message,
        ModelResponse, Part, Role, State, Tool, ToolChoice, ToolContext, ToolError, ToolErrorMode,
        ToolRequest, ToolResponse, ToolResult, TypedTool,
    };
    #[cfg(feature = "macros")]
    pub use genkit_macros::tool;
}

/// Re-exports for code generated by `#[tool]`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::tool::macro_support::*;
    pub use futures;
    pub use futures::future::BoxFuture;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use std::sync::{Arc, OnceLock};
}
