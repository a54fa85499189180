//! Async processing across processes: a refund waits for a reviewer, in a file.
//!
//! ```sh
//! # 1. the customer writes; the model asks for a review; the conversation goes to a file
//! cargo run -p examples --bin async_review -- start --scripted --state review.json
//! # 2. later, any process: the reviewer's decision resumes it
//! cargo run -p examples --bin async_review -- decide --approve --note "broken in transit" --state review.json --scripted
//! ```
//!
//! Drop `--scripted` to use the local model (or OpenAI with `OPENAI_API_KEY`). The logic lives
//! in `examples::async_review`; this file is the terminal around it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use examples::async_review::{self, request_review, Decision, Refund};
use examples::console::{show_turn, tool_steps};
use examples::model_choice::{self, Backend, ModelArgs};
use genkit_core::prelude::*;

const DEFAULT_STATE: &str = "pending-review.json";

enum Command {
    Start { complaint: String },
    Decide(Decision),
}

struct Args {
    command: Command,
    state: PathBuf,
    model: ModelArgs,
}

fn usage() -> String {
    format!(
        "usage: async_review start [--complaint TEXT] [--state FILE] [model flags]
       async_review decide (--approve | --reject) [--note TEXT] [--state FILE] [model flags]

  start              hand a customer's complaint to the model; when it asks for a review,
                     save the conversation to FILE and exit
  decide             load FILE, answer the review with the decision, and resume
  --complaint TEXT   the customer's message (default: \"{}\")
  --approve, --reject, --note TEXT
                     the reviewer's decision and note
  --state FILE       where the paused conversation is kept (default {DEFAULT_STATE})

model flags:
{}",
        async_review::COMPLAINT,
        model_choice::USAGE
    )
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let command = it.next().unwrap_or_default();
    if command == "-h" || command == "--help" {
        println!("{}", usage());
        std::process::exit(0);
    }
    let mut model = ModelArgs::default();
    let mut state = PathBuf::from(DEFAULT_STATE);
    let mut complaint = async_review::COMPLAINT.to_owned();
    let (mut approved, mut note) = (None, String::new());
    while let Some(arg) = it.next() {
        if model
            .parse_flag(&arg, &mut it)
            .map_err(anyhow::Error::msg)?
        {
            continue;
        }
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--state" => state = value("--state")?.into(),
            "--complaint" => complaint = value("--complaint")?,
            "--note" => note = value("--note")?,
            "--approve" => approved = Some(true),
            "--reject" => approved = Some(false),
            other => bail!("unknown argument '{other}'\n\n{}", usage()),
        }
    }
    let command = match command.as_str() {
        "start" => Command::Start { complaint },
        "decide" => {
            let approved = approved.context("decide needs --approve or --reject")?;
            Command::Decide(Decision { approved, note })
        }
        other => bail!("expected `start` or `decide`, got '{other}'\n\n{}", usage()),
    };
    Ok(Args {
        command,
        state,
        model,
    })
}

/// Prints the reviews a conversation waits on; returns how many.
fn show_pending(messages: &[Message]) -> Result<usize> {
    let pending = async_review::pending(messages);
    for interrupt in &pending {
        let refund: Refund = interrupt.input()?;
        println!(
            "Waiting on {} (call id {}): refund {} euros for order {}: \"{}\"",
            interrupt.name(),
            interrupt.ref_().unwrap_or("-"),
            refund.amount,
            refund.order_id,
            refund.reason
        );
    }
    Ok(pending.len())
}

fn explain_next(args: &Args) {
    let (state, flags) = (args.state.display(), args.model.to_flags());
    println!("\nWhen the reviewer has decided, run one of:");
    println!("  async_review decide --approve --note \"...\" --state {state}{flags}");
    println!("  async_review decide --reject --note \"...\" --state {state}{flags}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let backend = Backend::connect(&args.model, async_review::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    println!("Model: {}", backend.describe());

    match &args.command {
        Command::Start { complaint } => {
            println!("[customer] {complaint}");
            let response = async_review::start(ai, model, complaint)
                .await
                .map_err(|e| backend.explain(e))?;
            for step in tool_steps(response.messages()) {
                println!("[tool] {step}");
            }
            show_turn(&response);
            if response.finish_reason() != Some(FinishReason::Interrupted) {
                println!("\nThe model did not ask for a review; nothing to save.");
                return Ok(());
            }
            println!();
            show_pending(response.messages())?;
            async_review::save(&args.state, response.messages())
                .with_context(|| format!("saving {}", args.state.display()))?;
            println!(
                "\nSaved the paused conversation ({} messages) to {}.\n\
                 That file is all the state: this process exits now, and any later process \
                 can resume it.",
                response.messages().len(),
                args.state.display()
            );
            explain_next(&args);
        }
        Command::Decide(decision) => {
            let messages = async_review::load(&args.state).with_context(|| {
                format!(
                    "no paused conversation in {} (run `async_review start` first)",
                    args.state.display()
                )
            })?;
            println!(
                "Loaded the paused conversation ({} messages) from {}.",
                messages.len(),
                args.state.display()
            );
            if show_pending(&messages)? == 0 {
                bail!(
                    "the conversation in {} waits on no review",
                    args.state.display()
                );
            }
            println!(
                "[reviewer] {}: {}",
                if decision.approved {
                    "approved"
                } else {
                    "rejected"
                },
                decision.note
            );
            println!(
                "\n[resuming with the decision, as the answer to {}]",
                request_review::NAME
            );
            let response = async_review::decide(ai, model, messages, decision)
                .await
                .map_err(|e| backend.explain(e))?;
            show_turn(&response);
            if response.finish_reason() == Some(FinishReason::Interrupted) {
                async_review::save(&args.state, response.messages())?;
                println!(
                    "\nThe model asked for another review; saved the conversation to {} again.",
                    args.state.display()
                );
                explain_next(&args);
            } else {
                std::fs::remove_file(&args.state)?;
                println!("\nDone; removed {}.", args.state.display());
            }
        }
    }
    Ok(())
}
