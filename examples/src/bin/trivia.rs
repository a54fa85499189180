//! The seed scenario, against a real model: the model asks a movie trivia question through the
//! `ask_question` interrupt, you answer on stdin (or with `--answer`), and generation resumes
//! with your answer. Further interrupts loop, up to three rounds.
//!
//! ```sh
//! scripts/demo                                  # starts the local model server, then runs this
//! cargo run -p examples --bin trivia            # local server at GENKIT_LLM_URL or 127.0.0.1:18081
//! cargo run -p examples --bin trivia -- --answer "The Matrix"   # non-interactive
//! cargo run -p examples --bin trivia -- --scripted              # no server: a scripted model
//! OPENAI_API_KEY=sk-... cargo run -p examples --bin trivia      # gpt-4o-mini on OpenAI
//! ```
//!
//! The logic lives in `examples::trivia`; this file is the terminal around it.

use anyhow::Result;
use clap::Parser;
use examples::console::{show_streamed_turn, streamed, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::trivia::{self, ask_question, Questions};
use genkit_core::prelude::*;

/// Small models keep asking after every answer; the demo stops after this many rounds.
const MAX_ROUNDS: usize = 3;

/// A movie trivia question asked by the model through an interrupt; you answer, it resumes.
#[derive(Debug, Parser)]
#[command(name = "trivia", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// Answer the next question with TEXT instead of reading stdin (repeatable; the last one
    /// answers any further questions)
    #[arg(long = "answer", value_name = "TEXT")]
    answers: Vec<String>,
    /// Answer at most N questions
    #[arg(long, value_name = "N", default_value_t = MAX_ROUNDS)]
    rounds: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// Shows the question and its choices, and returns the user's answer.
fn ask(answers: &mut Answers, round: usize, q: &Questions) -> Result<String> {
    println!("\nQuestion {round}: {}", q.question);
    for (n, choice) in q.choices.iter().enumerate() {
        println!("  {}. {choice}", n + 1);
    }
    if q.allow_other {
        println!("  (or write your own answer)");
    }
    let typed = answers.next("Your answer:")?;
    Ok(trivia::choose(q, &typed))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let backend =
        Backend::connect(&args.model, trivia::scripted_model).map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    let mut answers = Answers::new(args.answers.clone());

    println!("Model: {}", backend.describe());
    println!("[you] {}", trivia::PROMPT);
    let mut response = streamed("the model", trivia::start(ai, model))
        .await
        .map_err(|e| backend.explain(e))?;
    show_streamed_turn(&response);

    for round in 1..=args.rounds {
        if response.finish_reason() != Some(FinishReason::Interrupted) {
            return Ok(());
        }
        let mut replies = Vec::new();
        for interrupt in response.interrupts() {
            // What the model asked, typed: the tool's input type.
            let q: Questions = interrupt.input()?;
            let answer = ask(&mut answers, round, &q)?;
            // The answer, typed: `respond` takes the tool's output type (a String).
            replies.push(ask_question.respond(interrupt, trivia::told(&answer))?);
        }
        println!("\n[resuming with your answer]");
        response = streamed("the model", trivia::resume(ai, model, &response, replies))
            .await
            .map_err(|e| backend.explain(e))?;
        show_streamed_turn(&response);
    }
    if response.finish_reason() == Some(FinishReason::Interrupted) {
        println!(
            "\nStopping after {} round(s): the model keeps asking instead of answering \
             (small models tend to).",
            args.rounds
        );
    }
    Ok(())
}
