//! # genkit-dotprompt
//!
//! [Dotprompt](https://google.github.io/dotprompt/) for genkit-rs: `.prompt` files (YAML front
//! matter + a Handlebars template) parsed, compiled once and rendered to Genkit messages and
//! generate options.
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
