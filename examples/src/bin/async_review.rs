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
use clap::{Parser, Subcommand};
use examples::async_review::{self, request_review, Decision, Refund};
use examples::console::{streamed_turn, tool_steps};
use examples::model_choice::{self, Backend, ModelArgs};
use genkit_core::agent::{Agent, AgentResponse};
use genkit_core::prelude::*;
use genkit_core::session::FileSessionStore;
use genkit_core::AgentFinishReason;

const DEFAULT_STORE: &str = "review-sessions";

/// A refund that waits for a reviewer, across processes: `start` stores the interrupted turn,
/// `decide` (any process, any time later) loads the session and resumes it.
#[derive(Debug, Parser)]
#[command(name = "async_review", after_help = model_choice::MODEL_HELP)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// The conversation (start: default a new id, printed; decide: required)
    #[arg(long, global = true, value_name = "ID")]
    session: Option<String>,
    /// The file session store
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_STORE)]
    store: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hand a customer's complaint to the agent; when the model asks for a review, the turn
    /// is stored as an interrupted snapshot and the program exits
    Start {
        /// The customer's message
        #[arg(long, value_name = "TEXT", default_value = async_review::COMPLAINT)]
        complaint: String,
    },
    /// Load the session from the store, answer the review, resume
    Decide {
        /// Approve the refund
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        /// Reject the refund
        #[arg(long)]
        reject: bool,
        /// The reviewer's note
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
}

fn parse_args() -> Result<Args> {
    let args = Args::parse();
    if let Command::Decide {
        approve, reject, ..
    } = &args.command
    {
        if !approve && !reject {
            bail!("decide needs --approve or --reject");
        }
        if args.session.is_none() {
            bail!("decide needs --session ID (the id `async_review start` printed)");
        }
    }
    Ok(args)
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

/// What the turn did: the tool calls that ran (in the messages from `from` on: this turn's,
/// not the whole session's), and how the model ended (its answer's text too, unless it was
/// streamed to the terminal already).
fn show_turn(response: &AgentResponse, text_shown: bool, from: usize) {
    let messages = response.messages();
    for step in tool_steps(&messages[from.min(messages.len())..]) {
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
        reason if text_shown => println!(
            "[model] answered ({})",
            reason.map_or("none", AgentFinishReason::as_str)
        ),
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
            let before = async_review::history_len(&agent, &session).await?;
            let mut chat = async_review::session_chat(ai, &agent, &session).await?;
            let (response, text_shown) =
                streamed_turn("the model", chat.send_stream(complaint.as_str()))
                    .await
                    .map_err(|e| backend.explain(e))?;
            show_turn(&response, text_shown, before);
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
        Command::Decide { approve, note, .. } => {
            let decision = &Decision {
                approved: *approve,
                note: note.clone(),
            };
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
            let answers = async_review::answers(&agent, &session, decision).await?;
            // from the interrupted message on: the review call answered now, then what followed
            let before = async_review::history_len(&agent, &session).await?;
            let mut chat = async_review::session_chat(ai, &agent, &session).await?;
            let (response, text_shown) = streamed_turn("the model", chat.resume_stream(answers))
                .await
                .map_err(|e| backend.explain(e))?;
            show_turn(&response, text_shown, before.saturating_sub(1));
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
