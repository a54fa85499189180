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

/// How the model plays: one question through the tool, with choices that answer it, then a
/// verdict on the answer.
pub const SYSTEM: &str = "You host a movie trivia game. Call the ask_question tool to ask the \
user one multiple-choice question about a well-known film; every choice must be a possible \
answer to that question. When the tool returns the user's answer, reply with one sentence that \
quotes their answer and says whether it is right. Do not ask another question.";

/// Starts the game: the model should call `ask_question`, which pauses the loop.
pub fn start(ai: &Genkit, model: &str) -> GenerateBuilder {
    ai.generate()
        .model(model)
        .system(SYSTEM)
        .prompt(PROMPT)
        .tool(ask_question)
        // the game is the question: the first turn must ask it
        .tool_choice(ToolChoice::Required)
        .config(steady_config(256))
}

/// Resumes an interrupted game with the answers (built with `ask_question.respond`). The
/// model, tool and config carry over from the interrupted call; `model` is used when the
/// response was read back from storage and does not know it. The answered turn offers no
/// tools: the model gives its verdict instead of asking again (small models otherwise keep
/// asking).
pub fn resume(
    ai: &Genkit,
    model: &str,
    interrupted: &GenerateResponse,
    answers: Vec<Part>,
) -> GenerateBuilder {
    ai.resume(interrupted)
        .model(model)
        .tool(ask_question)
        .answers(answers)
        .tool_choice(ToolChoice::None)
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

/// The answer as the model reads it, the output `ask_question` responds with: the user's
/// choice in a sentence. Given a bare title, the small local models tend to ask again or echo
/// JSON; told who answered what, they give their verdict.
///
/// ```
/// assert!(examples::trivia::told("Alien").starts_with("The user answered: Alien."));
/// ```
pub fn told(answer: &str) -> String {
    format!("{TOLD}{answer}{VERDICT}")
}

const TOLD: &str = "The user answered: ";
const VERDICT: &str =
    ". Reply with one sentence that repeats this answer and says whether it is right.";

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
        let outputs = last_outputs(request);
        let Some(output) = outputs.get(ask_question::NAME) else {
            return Ok(calls([(ask_question::NAME, json!(scripted_question()))]));
        };
        // the answer bare, or as `told` puts it
        let said = output.as_str().unwrap_or("something else");
        let said = said.strip_prefix(TOLD).unwrap_or(said);
        let said = said.strip_suffix(VERDICT).unwrap_or(said);
        Ok(if said == "The Terminator" {
            reply("Correct! Arnold Schwarzenegger says it in The Terminator (1984).")
        } else {
            reply(format!(
                "Not quite: you said {said}, but it is The Terminator (1984)."
            ))
        })
    });
    model
}
