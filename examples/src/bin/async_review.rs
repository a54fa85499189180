//! Async processing across processes: a refund waits for a reviewer, in the agent's session
//! store.
//!
//! ```sh
//! # 1. the customer writes; the model asks for a review; the turn is stored; the process exits
//! cargo run -p examples --bin async_review -- start --scripted --session order-a1001
//! # 2. later, any process: load the session by id, answer the review, resume
//! cargo run -p examples --bin async_review -- decide --approve --note "broken in transit" --session order-a1001 --scripted
//! ```
//!
//! Drop `--scripted` to use the local model (or OpenAI with `OPENAI_API_KEY`). The logic lives
//! in `examples::async_review`; this file is the terminal around it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use examples::async_review::{self, request_review, Decision, Refund};
use examples::console::tool_steps;
use examples::model_choice::{self, Backend, ModelArgs};
use genkit_core::agent::{Agent, AgentResponse};
use genkit_core::prelude::*;
use genkit_core::session::FileSessionStore;
use genkit_core::AgentFinishReason;

const DEFAULT_STORE: &str = "review-sessions";

enum Command {
    Start { complaint: String },
    Decide(Decision),
}

struct Args {
    command: Command,
    store: PathBuf,
    session: Option<String>,
    model: ModelArgs,
}

fn usage() -> String {
    format!(
        "usage: async_review start [--complaint TEXT] [--session ID] [--store DIR] [model flags]
       async_review decide (--approve | --reject) [--note TEXT] --session ID [--store DIR] [model flags]

  start              hand a customer's complaint to the agent; when the model asks for a
                     review, the turn is stored as an interrupted snapshot and the program exits
  decide             load the session from the store, answer the review, resume
  --complaint TEXT   the customer's message (default: \"{}\")
  --approve, --reject, --note TEXT
                     the reviewer's decision and note
  --session ID       the conversation (start: default a new id, printed)
  --store DIR        the file session store (default {DEFAULT_STORE})

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
    let mut store = PathBuf::from(DEFAULT_STORE);
    let mut session = None;
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
            "--store" => store = value("--store")?.into(),
            "--session" => session = Some(value("--session")?),
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
            if session.is_none() {
                bail!("decide needs --session ID (the id `async_review start` printed)");
            }
            Command::Decide(Decision { approved, note })
        }
        other => bail!("expected `start` or `decide`, got '{other}'\n\n{}", usage()),
    };
    Ok(Args {
        command,
        store,
        session,
        model,
    })
}

/// Prints the reviews a conversation waits on; returns how many.
fn show_pending(pending: &[Interrupt]) -> Result<usize> {
    for interrupt in pending {
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

/// What the turn did: the tool calls that ran, and how the model ended.
fn show_turn(response: &AgentResponse) {
    for step in tool_steps(response.messages()) {
        println!("[tool] {step}");
    }
    match response.finish_reason() {
        Some(AgentFinishReason::Interrupted) => {
            let names: Vec<String> = response
                .interrupts()
                .iter()
                .map(|i| i.name().to_owned())
                .collect();
            println!("[model] called {}", names.join(", "));
        }
        Some(AgentFinishReason::Failed) => {
            if let Some(e) = response.error() {
                println!(
                    "[agent] the turn failed ({}): {}",
                    e.status.as_deref().unwrap_or("UNKNOWN"),
                    e.message
                );
            }
        }
        reason => println!(
            "[model] answered ({}): {}",
            reason.map_or("none", AgentFinishReason::as_str),
            response.text()
        ),
    }
}

fn explain_next(args: &Args, session: &str) {
    let (store, flags) = (args.store.display(), args.model.to_flags());
    println!("\nWhen the reviewer has decided, run one of:");
    println!(
        "  async_review decide --approve --note \"...\" --session {session} --store {store}{flags}"
    );
    println!(
        "  async_review decide --reject --note \"...\" --session {session} --store {store}{flags}"
    );
}

fn stored_at(response: &AgentResponse) -> String {
    format!(
        "snapshot {} of session {}",
        response.snapshot_id().unwrap_or("-"),
        response.session_id().unwrap_or("-")
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let backend = Backend::connect(&args.model, async_review::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    let (ai, model) = (&backend.ai, backend.model.as_str());
    println!("Model: {}", backend.describe());
    println!("Store: {} (one JSON file per turn)", args.store.display());
    let agent: Agent = async_review::agent(model, FileSessionStore::new(&args.store));

    match &args.command {
        Command::Start { complaint } => {
            let session = args
                .session
                .clone()
                .unwrap_or_else(|| format!("review-{}", genkit_core::session::new_snapshot_id()));
            println!("Session: {session}");
            println!("[customer] {complaint}");
            let response = async_review::start(ai, &agent, &session, complaint)
                .await
                .map_err(|e| backend.explain(e))?;
            show_turn(&response);
            if response.finish_reason() == Some(&AgentFinishReason::Failed) {
                bail!("the turn failed; it is stored as {}", stored_at(&response));
            }
            if response.finish_reason() != Some(&AgentFinishReason::Interrupted) {
                println!("\nThe model did not ask for a review; nothing waits.");
                return Ok(());
            }
            println!();
            show_pending(&response.interrupts())?;
            println!(
                "\nStored the interrupted turn as {}.\n\
                 The store is all the state: this process exits now, and any later process \
                 can resume the session by its id.",
                stored_at(&response)
            );
            explain_next(&args, &session);
        }
        Command::Decide(decision) => {
            let session = args.session.clone().unwrap_or_default();
            let pending = async_review::pending(&agent, &session)
                .await
                .with_context(|| {
                    format!(
                        "no review session '{session}' in {} (run `async_review start` first)",
                        args.store.display()
                    )
                })?;
            println!("Loaded session {session} from {}.", args.store.display());
            if show_pending(&pending)? == 0 {
                bail!(
                    "session {session} waits on no review (it was decided already, or never asked)"
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
            let response = async_review::decide(ai, &agent, &session, decision)
                .await
                .map_err(|e| backend.explain(e))?;
            show_turn(&response);
            match response.finish_reason() {
                Some(AgentFinishReason::Interrupted) => {
                    println!(
                        "\nThe model asked for another review; stored as {}.",
                        stored_at(&response)
                    );
                    explain_next(&args, &session);
                }
                Some(AgentFinishReason::Failed) => {
                    bail!(
                        "the resumed turn failed; it is stored as {}",
                        stored_at(&response)
                    )
                }
                _ => println!("\nDone; the decided turn is {}.", stored_at(&response)),
            }
        }
    }
    Ok(())
}
