//! Human in the loop: the model wants to send money, and the tool asks you first.
//!
//! ```sh
//! cargo run -p examples --bin approval -- --scripted                 # asks you on stdin
//! cargo run -p examples --bin approval -- --scripted --decision yes  # approve: restart the tool
//! cargo run -p examples --bin approval -- --scripted --decision 25   # approve 25 instead: restart with a replaced input
//! cargo run -p examples --bin approval -- --scripted --decision no   # refuse: respond in the tool's place
//! cargo run -p examples --bin approval                               # the same with the local model
//! ```
//!
//! The logic lives in `examples::approval`; this file is the terminal around it.

use anyhow::{bail, Result};
use clap::Parser;
use examples::approval::{self, Bank, Confirmation, Decision, Reply};
use examples::console::{show_streamed_turn, streamed, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use genkit_core::prelude::*;

/// A small model may keep asking to pay again; stop after this many rounds.
const MAX_ROUNDS: usize = 3;

/// Human in the loop: the model wants to send money, and the tool asks you first.
#[derive(Debug, Parser)]
#[command(name = "approval", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// What you ask the assistant
    #[arg(long, value_name = "TEXT", default_value = approval::PROMPT)]
    prompt: String,
    /// Your answer when a payment needs confirmation, instead of stdin: yes, no, or another
    /// amount in euros (repeatable)
    #[arg(long = "decision", value_name = "TEXT")]
    decisions: Vec<String>,
    /// The account's balance at the start, in euros
    #[arg(long, value_name = "EUROS", default_value_t = 500)]
    balance: u64,
    /// Answer at most N rounds of confirmations
    #[arg(long, value_name = "N", default_value_t = MAX_ROUNDS)]
    rounds: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// Asks until the answer is one the program understands.
fn decide(answers: &mut Answers, scripted_answers: bool) -> Result<Decision> {
    loop {
        let typed = answers.next("Approve? (yes / no / another amount in euros):")?;
        match Decision::parse(&typed) {
            Some(d) => return Ok(d),
            None if scripted_answers => {
                bail!("--decision '{typed}': expected yes, no or an amount")
            }
            None => println!("Please answer yes, no, or an amount."),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bank = Bank::new(args.balance);
    let backend = Backend::connect_with(&args.model, approval::scripted_model, |b| {
        b.state(bank.clone())
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    let mut answers = Answers::new(args.decisions.clone());

    println!("Model: {}", backend.describe());
    println!("Balance: {} euros", bank.balance());
    println!("[you] {}", args.prompt);
    let mut response = streamed("the model", approval::start(ai, model, &args.prompt))
        .await
        .map_err(|e| backend.explain(e))?;
    show_streamed_turn(&response);

    for _ in 0..args.rounds {
        if response.finish_reason() != Some(FinishReason::Interrupted) {
            break;
        }
        let mut answers_given = Vec::new();
        for interrupt in response.interrupts() {
            // The tool's question, typed: its interrupt payload.
            let c: Confirmation = interrupt.payload()?;
            println!(
                "\nsend_payment asks: send {} euros to {} for \"{}\"? (balance after: {} euros)",
                c.amount, c.to, c.memo, c.balance_after
            );
            let decision = decide(&mut answers, !args.decisions.is_empty())?;
            match approval::answer(interrupt, &decision, "you")? {
                Reply::Restart(part) => {
                    match decision {
                        Decision::ApproveAmount(n) => println!(
                            "[restarting send_payment, approved, with the amount replaced: {n} instead of {}]",
                            c.amount
                        ),
                        _ => println!("[restarting send_payment, approved: it runs again and pays]"),
                    }
                    answers_given.push(part);
                }
                Reply::Respond(part) => {
                    println!("[responding in send_payment's place: declined, nothing is paid]");
                    answers_given.push(part);
                }
            }
        }
        response = streamed("the model", approval::resume(ai, &response, answers_given))
            .await
            .map_err(|e| backend.explain(e))?;
        show_streamed_turn(&response);
    }

    println!("\nBalance: {} euros", bank.balance());
    let payments = bank.payments();
    if payments.is_empty() {
        println!("Payments: none");
    }
    for p in payments {
        println!(
            "Payment {}: {} euros to {} for \"{}\", approved by {}",
            p.receipt, p.payment.amount, p.payment.to, p.payment.memo, p.approved_by
        );
    }
    if response.finish_reason() == Some(FinishReason::Interrupted) {
        println!(
            "Stopping after {} round(s): the model keeps asking to pay (small models tend to).",
            args.rounds
        );
    }
    Ok(())
}
