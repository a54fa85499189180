//! # genkit-rs examples and guides
//!
//! Runnable programs, one for each way of using interrupts, and the guides that explain them.
//! Every example keeps its logic in a module of this crate (functions that take a
//! [`Genkit`](genkit_core::Genkit) instance and a model name), so the same code runs in the
//! program against a real model and in the tests against a scripted one.
//!
//! The seed scenario in a few lines: the model asks a question through an interrupt, the
//! application answers, the model goes on. A scripted model stands in for a real one.
//!
//! ```
//! use examples::trivia::{self, ask_question, Questions};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(trivia::scripted_model()).build()?;
//!
//! // The model calls `ask_question`; the loop pauses and hands the call back.
//! let interrupted = trivia::start(&ai, "scripted").await?;
//! assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
//! let interrupt = &interrupted.interrupts()[0];
//! let question: Questions = interrupt.input()?;
//! println!("{}", question.question);
//!
//! // The user picks the first choice; the loop resumes with that answer.
//! let answer = ask_question.respond(interrupt, question.choices[0].clone())?;
//! let response = trivia::resume(&ai, "scripted", &interrupted, vec![answer]).await?;
//! assert!(response.text().starts_with("Correct!"));
//! # Ok(()) }
//! ```
//!
//! ## The examples
//!
//! Each runs with `cargo run -p examples --bin NAME -- --scripted` without any server or key,
//! against the local model server without `--scripted` (`scripts/local-llm start` first), or
//! against OpenAI when `OPENAI_API_KEY` is set. `--help` lists the flags.
//!
//! | program | module | shows |
//! |---|---|---|
//! | `trivia` | [`trivia`] | the seed scenario: an interrupt-only tool asks the user; respond; resume (`scripts/demo` runs it) |
//! | `trivia_prompt` | `trivia_prompt` (feature `prompts`) | the seed scenario with its prompt in `prompts/trivia.prompt`, interrupted and resumed through the prompt |
//! | `approval` | [`approval`] | a tool that acts only after confirmation: restart it approved, restart it with a replaced input, or respond with a refusal |
//! | `async_review` | [`async_review`] | pause in one process, save the messages to a file, resume in another process days later |
//! | `task_complete` | [`task_complete`] | an autonomous loop over several tools that ends when the model calls `done`, with a typed result |
//! | (library only) | [`support_agent`] | an agent with typed custom state and an approval interrupt in a session store; a supervisor resumes it by snapshot id |
//! | `reviewer_console` | `reviewer_console` (feature `serve`) | agents over HTTP (`AgentServer`) and a page where a reviewer approves, edits or refuses the pending interrupts of every session, the conversation streamed on |
//! | `multi_interrupt` | [`multi_interrupt`] | several interrupts in one turn next to normal tools whose outputs stay pending; respond to some, restart others |
//!
//! The programs share [`model_choice`] (which model to talk to), [`console`] (terminal input
//! and output) and [`scripted`] (building blocks of the scripted models).
//!
//! ## The guides
//!
//! 1. [Getting started](guide::getting_started)
//! 2. [Tools and `#[tool]`](guide::tools)
//! 3. [Interrupts](guide::interrupts): define, use, check, respond, restart, resume
//! 4. [Persisting and resuming across processes](guide::resume_across_processes)
//! 5. [Streaming and structured output](guide::streaming_and_output)
//! 6. [The OpenAI plugin and compatible servers](guide::openai)
//! 7. [Architecture](guide::architecture)
//! 8. [genkit-rs and Genkit JS, Go and Python](guide::genkit_comparison)
//! 9. Prompts in `.prompt` files (`guide::prompts`, feature `prompts`)
//! 10. Agents and durable sessions (`guide::agents`, features `serve` and `postgres`)
//! 11. [Middleware](guide::middleware)
//!
//! They are the markdown files of `docs/`, included here so that
//! `cargo test -p examples --all-features --doc` compiles (and, unless marked `no_run`, runs) every Rust block in them.

pub mod approval;
pub mod async_review;
pub mod console;
pub mod model_choice;
pub mod multi_interrupt;
#[cfg(feature = "serve")]
pub mod reviewer_console;
pub mod scripted;
pub mod support_agent;
pub mod task_complete;
pub mod trivia;
#[cfg(feature = "prompts")]
pub mod trivia_prompt;
pub mod unstreamed_retry;

/// The guides of `docs/` (and the README), as documentation whose code blocks are tested.
pub mod guide {
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/getting_started.md"))]
    pub mod getting_started {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/tools.md"))]
    pub mod tools {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/interrupts.md"))]
    pub mod interrupts {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/resume_across_processes.md"))]
    pub mod resume_across_processes {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/streaming_and_output.md"))]
    pub mod streaming_and_output {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/openai.md"))]
    pub mod openai {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/architecture.md"))]
    pub mod architecture {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/genkit_comparison.md"))]
    pub mod genkit_comparison {}
    #[cfg(all(feature = "serve", feature = "postgres"))]
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/agents.md"))]
    pub mod agents {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/middleware.md"))]
    pub mod middleware {}
    #[cfg(feature = "prompts")]
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/prompts.md"))]
    pub mod prompts {}
    #[doc = include_str!(concat!(env!("OUT_DIR"), "/readme.md"))]
    pub mod readme {}
}
