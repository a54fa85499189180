//! The seed scenario: the model asks a movie trivia question through the `ask_question`
//! interrupt, the user answers, and generation resumes with the answer.
//!
//! `ask_question` is an interrupt-only tool: a `#[tool]` function without a body. Its input is
//! what the model sends (the question and its choices), its output what the application
//! answers (the user's choice). The program is `src/bin/trivia.rs`; `scripts/demo` runs it
//! against a real local model.
//!
//! ```
//! use examples::trivia::{self, ask_question, Questions};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(trivia::scripted_model()).build()?;
//!
//! let interrupted = trivia::start(&ai, "scripted").await?;
//! assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
//!
//! let interrupt = &interrupted.interrupts()[0];
//! let question: Questions = interrupt.input()?;
//! let answer = ask_question.respond(interrupt, question.choices[0].clone())?;
//!
//! let response = trivia::resume(&ai, "scripted", &interrupted, vec![answer]).await?;
//! assert_eq!(response.finish_reason(), Some(FinishReason::Stop));
//! # Ok(()) }
//! ```

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model_choice::steady_config;
use crate::scripted::{calls, last_outputs, reply};

/// What the model sends when it asks.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Questions {
    /// the question to ask
    pub question: String,
    /// the choices to display to the user
    pub choices: Vec<String>,
    /// when true, allow write-ins
    pub allow_other: bool,
}

/// Use this to ask the user a clarifying question
#[tool]
pub fn ask_question(input: Questions) -> String;

/// What the user says to start the game.
pub const PROMPT: &str = "Ask me a movie trivia question.";

/// Starts the game: the model should call `ask_question`, which pauses the loop.
pub async fn start(ai: &Genkit, model: &str) -> Result<GenerateResponse, GenkitError> {
    ai.generate()
        .model(model)
        .prompt(PROMPT)
        .tool(ask_question)
        .config(steady_config(256))
        .await
}

/// Resumes an interrupted game with the answers (built with `ask_question.respond`). The
/// model, tool and config carry over from the interrupted call; `model` is used when the
/// response was read back from storage and does not know it.
pub async fn resume(
    ai: &Genkit,
    model: &str,
    interrupted: &GenerateResponse,
    answers: Vec<Part>,
) -> Result<GenerateResponse, GenkitError> {
    ai.resume(interrupted)
        .model(model)
        .tool(ask_question)
        .answers(answers)
        .await
}

/// What the user typed, as the answer to `q`: a number picks that choice (`"2"` is the
/// second), anything else is taken as written.
///
/// ```
/// # use examples::trivia::{choose, Questions};
/// let q = Questions {
///     question: "Who directed Alien?".into(),
///     choices: vec!["Ridley Scott".into(), "James Cameron".into()],
///     allow_other: false,
/// };
/// assert_eq!(choose(&q, "2"), "James Cameron");
/// assert_eq!(choose(&q, "Ridley Scott"), "Ridley Scott");
/// assert_eq!(choose(&q, "7"), "7");
/// ```
pub fn choose(q: &Questions, typed: &str) -> String {
    match typed.trim().parse::<usize>() {
        Ok(n) if (1..=q.choices.len()).contains(&n) => q.choices[n - 1].clone(),
        _ => typed.trim().to_owned(),
    }
}

/// The question the scripted model asks.
pub fn scripted_question() -> Questions {
    Questions {
        question: "Which film has the line \"I'll be back\"?".into(),
        choices: vec![
            "The Terminator".into(),
            "Die Hard".into(),
            "Predator".into(),
        ],
        allow_other: false,
    }
}

/// A model that plays the game without a server: it asks [`scripted_question`], and once
/// answered says whether the answer was right.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.set_handler(|request| {
        Ok(match last_outputs(request).get(ask_question::NAME) {
            None => calls([(ask_question::NAME, json!(scripted_question()))]),
            Some(answer) if answer == "The Terminator" => {
                reply("Correct! Arnold Schwarzenegger says it in The Terminator (1984).")
            }
            Some(answer) => reply(format!(
                "Not quite: you said {}, but it is The Terminator (1984).",
                answer.as_str().unwrap_or("something else")
            )),
        })
    });
    model
}
