//! The seed scenario with its prompt in `examples/prompts/trivia.prompt`: the model asks a
//! trivia question through the `ask_question` interrupt, you answer on stdin (or with
//! `--answer`), and the call resumes through the prompt. Further interrupts loop, up to three
//! rounds.
//!
//! ```sh
//! cargo run -p examples --features prompts --bin trivia_prompt -- --scripted --answer 1   # no server
//! cargo run -p examples --features prompts --bin trivia_prompt -- --topic space           # local model server
//! ```
//!
//! The logic lives in `examples::trivia_prompt`; this file is the terminal around it.

use anyhow::Result;
use clap::Parser;
use examples::console::{show_turn, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::trivia::{self, ask_question, Questions};
use examples::trivia_prompt;
use genkit_core::prelude::*;

const MAX_ROUNDS: usize = 3;

/// The trivia scenario with its prompt in a `.prompt` file.
#[derive(Debug, Parser)]
#[command(name = "trivia_prompt", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// Answer the next question with TEXT instead of reading stdin (repeatable)
    #[arg(long = "answer", value_name = "TEXT")]
    answers: Vec<String>,
    /// What the trivia is about (the prompt's input)
    #[arg(long, value_name = "TOPIC", default_value = "movie")]
    topic: String,
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let Args {
        answers: given,
        topic,
        model: model_args,
    } = Args::parse();
    let library = trivia_prompt::library()?;
    println!(
        "Prompts from {}: {}",
        trivia_prompt::prompts_dir().display(),
        library.names().join(", ")
    );
    let backend = Backend::connect_with(&model_args, trivia::scripted_model, |b| {
        trivia_prompt::configure(b, &library)
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    library.check(&backend.ai)?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    let mut answers = Answers::new(given);

    println!("Model: {}", backend.describe());
    let mut response = trivia_prompt::start(ai, model, &topic)
        .await
        .map_err(|e| backend.explain(e.into()))?;
    show_turn(&response);
    for round in 1..=MAX_ROUNDS {
        if response.finish_reason() != Some(FinishReason::Interrupted) {
            return Ok(());
        }
        let mut replies = Vec::new();
        for interrupt in response.interrupts() {
            let q: Questions = interrupt.input()?;
            println!("\nQuestion {round}: {}", q.question);
            for (n, choice) in q.choices.iter().enumerate() {
                println!("  {}. {choice}", n + 1);
            }
            let typed = answers.next("Your answer:")?;
            replies.push(ask_question.respond(interrupt, trivia::choose(&q, &typed))?);
        }
        println!("\n[resuming through the prompt]");
        response = trivia_prompt::resume(ai, model, &response, replies)
            .await
            .map_err(|e| backend.explain(e.into()))?;
        show_turn(&response);
    }
    Ok(())
}
