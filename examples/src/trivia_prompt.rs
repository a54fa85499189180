//! The seed scenario with its prompt in a file: `examples/prompts/trivia.prompt` names the
//! tool, the config and the input schema; the program loads the directory, and plays the same
//! game as [`trivia`](crate::trivia) through `ai.prompt("trivia")`: the model asks through the
//! `ask_question` interrupt, the user answers, and the call resumes through the prompt.
//!
//! ```
//! use examples::{trivia::{self, ask_question, Questions}, trivia_prompt};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let library = trivia_prompt::library()?;
//! let ai = trivia_prompt::configure(Genkit::builder().model(trivia::scripted_model()), &library).build()?;
//!
//! let interrupted = trivia_prompt::start(&ai, "scripted", "movie").await?;
//! assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
//! let interrupt = &interrupted.interrupts()[0];
//! let question: Questions = interrupt.input()?;
//! let answer = ask_question.respond(interrupt, question.choices[0].clone())?;
//!
//! let response = trivia_prompt::resume(&ai, "scripted", &interrupted, vec![answer]).await?;
//! assert!(response.text().starts_with("Correct!"));
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use genkit_core::{GenerateResponse, Genkit, GenkitBuilder, Part};
use genkit_dotprompt::{DotpromptError, GenkitBuilderPromptExt, GenkitPromptExt, PromptLibrary};
use serde::Serialize;
use serde_json::Value;

use crate::trivia::ask_question;

/// The prompt's input.
#[derive(Debug, Clone, Serialize)]
pub struct TriviaInput {
    /// What the trivia is about (`movie` by default, from the front matter).
    pub topic: String,
}

/// The directory of the example's `.prompt` files.
pub fn prompts_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts"))
}

/// Loads `examples/prompts`.
pub fn library() -> Result<PromptLibrary, DotpromptError> {
    PromptLibrary::load_dir(prompts_dir())
}

/// Adds what the prompt names (the `ask_question` tool) and the prompts to an instance.
pub fn configure(builder: GenkitBuilder, library: &PromptLibrary) -> GenkitBuilder {
    builder.tool(ask_question).prompts(library)
}

/// Starts the game on `topic` with `model`: the model should call `ask_question`.
pub async fn start(
    ai: &Genkit,
    model: &str,
    topic: &str,
) -> Result<GenerateResponse, DotpromptError> {
    let trivia = ai.prompt::<TriviaInput, Value>("trivia")?;
    let response = trivia
        .generate(TriviaInput {
            topic: topic.to_owned(),
        })
        .model(model)
        .await?;
    Ok(response.into_inner())
}

/// Resumes an interrupted game through the prompt with the answers: the conversation goes on
/// from the interrupted response, without the prompt's user message again.
pub async fn resume(
    ai: &Genkit,
    model: &str,
    interrupted: &GenerateResponse,
    answers: Vec<Part>,
) -> Result<GenerateResponse, DotpromptError> {
    let trivia = ai.prompt::<Value, Value>("trivia")?;
    let response = trivia
        .generate(Value::Null)
        .model(model)
        .messages(interrupted.messages())
        .tool_responses(answers)
        .await?;
    Ok(response.into_inner())
}
