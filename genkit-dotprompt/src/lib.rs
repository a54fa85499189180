//! # genkit-dotprompt
//!
//! [Dotprompt](https://google.github.io/dotprompt/) for genkit-rs: `.prompt` files (YAML front
//! matter and a Handlebars template) parsed, compiled once, rendered to Genkit messages and
//! generate options, and registered in a Genkit instance as `/prompt/<name>` and
//! `/executable-prompt/<name>` actions, as Genkit JS loads its `prompts/` folder. It passes
//! Dotprompt's conformance suite (117 of 117 cases).
//!
//! ```
//! use genkit_core::{prelude::*, testing::ProgrammableModel};
//! use genkit_dotprompt::{GenkitBuilderPromptExt, GenkitPromptExt, PromptLibrary};
//! use serde_json::{json, Value};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), genkit_dotprompt::DotpromptError> {
//! // In an application: PromptLibrary::load_dir("prompts")?
//! let library = PromptLibrary::new()
//!     .with_partial("style", "Answer in one sentence.")?
//!     .with_source("capital", r#"---
//! model: geo
//! config: {temperature: 0}
//! input:
//!   schema:
//!     country: string, the country to ask about
//! ---
//! {{role "system"}}You are a geography tutor. {{> style}}
//! {{role "user"}}What is the capital of {{country}}?"#)?;
//!
//! let model = ProgrammableModel::new("geo");
//! model.push_response(ModelResponse::new(Message::model("Paris."), FinishReason::Stop));
//! let ai = Genkit::builder().model(model.clone()).prompts(&library).build()?;
//!
//! let capital = ai.prompt::<Value, Value>("capital")?;
//! let response = capital.generate(json!({"country": "France"})).await?;
//! assert_eq!(response.text(), "Paris.");
//!
//! let sent = model.last_request().unwrap();
//! assert_eq!(sent.messages[0].text(), "You are a geography tutor. Answer in one sentence.\n");
//! assert_eq!(sent.messages[1].text(), "What is the capital of France?");
//! assert_eq!(sent.config, Some(json!({"temperature": 0})));
//!
//! // the input is checked against the front matter's schema
//! let err = capital.render(json!({"country": 7})).unwrap_err();
//! assert!(matches!(err, genkit_dotprompt::DotpromptError::InvalidInput { .. }));
//! # Ok(()) }
//! ```
//!
//! The parts: [`Dotprompt`] (the environment: helpers, partials, named schemas) compiles a
//! source into a [`PromptTemplate`]; [`PromptLibrary`] loads a directory into
//! [`PromptDefinition`]s and their actions; [`GenkitPromptExt::prompt`] gives an
//! [`ExecutablePrompt`]; [`DotpromptRenderer`] makes a prompt agent's turns. The guide is
//! `docs/prompts.md` in the repository.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod action;
mod agent;
mod definition;
mod dotprompt;
mod error;
mod executable;
mod helpers;
mod library;
pub mod messages;
mod metadata;
mod parse;
pub mod picoschema;
mod template;

pub use agent::{prompt_agent, DotpromptRenderer};
pub use definition::{PromptDefinition, PromptOptions};
pub use dotprompt::{DataArgument, Dotprompt, PartialResolver, PromptTemplate, RenderedPrompt};
pub use error::{DotpromptError, Position};
pub use executable::{ExecutablePrompt, GenkitPromptExt, PromptCall, PromptResponse};
pub use library::{GenkitBuilderPromptExt, PromptLibrary};
pub use metadata::{InputConfig, JsonMap, OutputConfig, PromptMetadata};
pub use parse::{parse_document, ParsedPrompt, SourceMap, RESERVED_KEYS};
