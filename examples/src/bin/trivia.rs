//! The seed scenario, against a real model: the model asks a movie trivia question through the
//! `ask_question` interrupt, you answer on stdin (or with `--answer`), and generation resumes
//! with your answer. Further interrupts loop, up to three rounds.
//!
//! ```sh
//! scripts/demo                                  # starts the local model server, then runs this
//! cargo run -p examples --bin trivia            # local server at GENKIT_LLM_URL or 127.0.0.1:18080
//! cargo run -p examples --bin trivia -- --answer "The Matrix"   # non-interactive
//! cargo run -p examples --bin trivia -- --scripted              # no server: a scripted model
//! OPENAI_API_KEY=sk-... cargo run -p examples --bin trivia      # gpt-4o-mini on OpenAI
//! ```
//!
//! The logic lives in `examples::trivia`; this file is the terminal around it.

use anyhow::{bail, Context, Result};
use examples::console::{show_turn, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::trivia::{self, ask_question, Questions};
use genkit_core::prelude::*;

/// Small models keep asking after every answer; the demo stops after this many rounds.
const MAX_ROUNDS: usize = 3;

#[derive(Debug)]
struct Args {
    answers: Vec<String>,
    model: ModelArgs,
    rounds: usize,
}

fn usage() -> String {
    format!(
        "usage: trivia [--answer TEXT]... [--rounds N] [--scripted | --local] [--model NAME]

  --answer TEXT  answer the next question with TEXT instead of reading stdin
                 (repeatable; the last one answers any further questions)
  --rounds N     answer at most N questions (default {MAX_ROUNDS})
{}",
        model_choice::USAGE
    )
}

fn rounds(value: &str) -> Result<usize> {
    value
        .parse()
        .with_context(|| format!("--rounds needs a number, got '{value}'"))
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        answers: Vec::new(),
        model: ModelArgs::default(),
        rounds: MAX_ROUNDS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if args
            .model
            .parse_flag(&arg, &mut it)
            .map_err(anyhow::Error::msg)?
        {
            continue;
        }
        match arg.as_str() {
            "--answer" => args
                .answers
                .push(it.next().context("--answer needs a value")?),
            "--rounds" => args.rounds = rounds(&it.next().context("--rounds needs a value")?)?,
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => match other.split_once('=') {
                Some(("--answer", v)) => args.answers.push(v.to_owned()),
                Some(("--rounds", v)) => args.rounds = rounds(v)?,
                _ => bail!("unknown argument '{other}'\n\n{}", usage()),
            },
        }
    }
    Ok(args)
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
    let args = parse_args()?;
    let backend =
        Backend::connect(&args.model, trivia::scripted_model).map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    let mut answers = Answers::new(args.answers.clone());

    println!("Model: {}", backend.describe());
    println!("[you] {}", trivia::PROMPT);
    let mut response = trivia::start(ai, model)
        .await
        .map_err(|e| backend.explain(e))?;
    show_turn(&response);

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
            replies.push(ask_question.respond(interrupt, answer)?);
        }
        println!("\n[resuming with your answer]");
        response = trivia::resume(ai, model, &response, replies)
            .await
            .map_err(|e| backend.explain(e))?;
        show_turn(&response);
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
