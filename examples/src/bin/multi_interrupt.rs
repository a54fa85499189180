//! Several interrupts in one turn, next to normal tools whose outputs wait as pending: some
//! interrupts are answered by responding, others by restarting the tool.
//!
//! ```sh
//! cargo run -p examples --bin multi_interrupt -- --scripted                          # asks you on stdin
//! cargo run -p examples --bin multi_interrupt -- --scripted --answer "4" --booking yes
//! cargo run -p examples --bin multi_interrupt -- --scripted --answer "4" --booking 4     # book for 4: a replaced input
//! cargo run -p examples --bin multi_interrupt -- --scripted --answer "4" --booking no
//! ```
//!
//! The logic lives in `examples::multi_interrupt`; this file is the terminal around it.

use anyhow::{bail, Result};
use clap::Parser;
use examples::console::{clip, show_streamed_turn, streamed, tool_steps, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::multi_interrupt::{
    self, ask_user, book_table, Booking, BookingCheck, BookingResult, Question,
};
use genkit_core::prelude::*;

/// A small model may keep calling tools; stop after this many rounds.
const MAX_ROUNDS: usize = 3;

/// Several interrupts in one turn: answer the assistant's questions and decide on its booking.
#[derive(Debug, Parser)]
#[command(name = "multi_interrupt", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// What you ask the assistant
    #[arg(long, value_name = "TEXT", default_value = multi_interrupt::PROMPT)]
    prompt: String,
    /// Your reply when the assistant asks you something, instead of stdin (repeatable; the
    /// last one repeats)
    #[arg(long = "answer", value_name = "TEXT")]
    answers: Vec<String>,
    /// Whether to let the assistant book, instead of stdin: yes, no, or another number of
    /// people (repeatable)
    #[arg(long = "booking", value_name = "ANSWER")]
    bookings: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
}

fn yes(typed: &str) -> bool {
    matches!(typed.trim().to_lowercase().as_str(), "y" | "yes" | "ok")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let backend = Backend::connect(&args.model, multi_interrupt::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    let mut answers = Answers::new(args.answers.clone());
    let mut bookings = Answers::new(args.bookings.clone());

    println!("Model: {}", backend.describe());
    println!("[you] {}", args.prompt);
    let mut response = streamed("the model", multi_interrupt::start(ai, model, &args.prompt))
        .await
        .map_err(|e| backend.explain(e))?;

    for _ in 0..MAX_ROUNDS {
        if response.finish_reason() != Some(FinishReason::Interrupted) {
            break;
        }
        let last_turn = response.tool_requests().len();
        println!("\nThe model called {last_turn} tool(s) in one turn:");
        let steps = tool_steps(response.messages());
        for step in &steps[steps.len().saturating_sub(last_turn)..] {
            println!("  {}", clip(step, 200));
        }
        let pending = multi_interrupt::pending_outputs(&response);
        println!(
            "{} finished and wait in the history as pending outputs; {} paused the loop.",
            pending.len(),
            response.interrupts().len()
        );

        let (mut responses, mut restarts) = (Vec::new(), Vec::new());
        for interrupt in response.interrupts() {
            let id = interrupt.ref_().unwrap_or("-");
            match interrupt.name() {
                name if name == ask_user::NAME => {
                    let q: Question = interrupt.input()?;
                    println!("\n[{name} #{id}] {}", q.question);
                    let answer = answers.next("Your answer:")?;
                    // Respond: the answer takes the tool's place.
                    responses.push(ask_user.respond(interrupt, answer)?);
                    println!("[responding to {name} #{id} with your answer]");
                }
                name if name == book_table::NAME => {
                    // The payload, typed by `#[tool(interrupt = BookingCheck)]`.
                    let check: BookingCheck = book_table.payload(interrupt)?;
                    println!("\n[{name} #{id}] {}", check.summary);
                    let typed = bookings.next("Book it? (yes / no / another number of people):")?;
                    if let Ok(people) = typed.trim().parse::<u32>() {
                        // Restart with a replaced input: the tool books for `people`.
                        let mut booking: Booking = interrupt.input()?;
                        booking.people = people;
                        restarts.push(book_table.restart(interrupt, true, Some(booking))?);
                        println!(
                            "[restarting {name} #{id} with its input replaced: {people} people]"
                        );
                    } else if yes(&typed) {
                        // Restart: the tool runs again, marked as resumed, and books.
                        restarts.push(book_table.restart(interrupt, true, None)?);
                        println!("[restarting {name} #{id}: it runs again and books]");
                    } else {
                        let refused = BookingResult::NotBooked {
                            reason: "the user said no".into(),
                        };
                        responses.push(book_table.respond(interrupt, refused)?);
                        println!("[responding to {name} #{id} in the tool's place: not booked]");
                    }
                }
                other => bail!("unexpected interrupt from {other}"),
            }
        }
        println!(
            "\n[resuming: {} response(s), {} restart(s), {} pending output(s) replayed]",
            responses.len(),
            restarts.len(),
            pending.len()
        );
        response = streamed(
            "the model",
            multi_interrupt::resume(ai, model, &response, responses, restarts),
        )
        .await
        .map_err(|e| backend.explain(e))?;
    }
    show_streamed_turn(&response);
    if response.finish_reason() == Some(FinishReason::Interrupted) {
        println!("Stopping after {MAX_ROUNDS} rounds: the model keeps calling tools.");
    }
    Ok(())
}
