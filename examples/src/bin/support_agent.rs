//! A support agent with typed custom state (a [`Ticket`]) and a supervisor's approval
//! interrupt, its sessions in the file store.
//!
//! ```sh
//! cargo run -p examples --bin support_agent -- --scripted --approve
//! cargo run -p examples --bin support_agent -- --scripted        # asks the supervisor on stdin
//! ```
//!
//! The logic lives in `examples::support_agent`; this file is the terminal around it.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;
use examples::console::{streamed_turn, Answers};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::support_agent::{self, Refund, Ticket};
use genkit_core::agent::{AgentResponse, ChatRef};
use genkit_core::prelude::*;
use genkit_core::session::FileSessionStore;
use genkit_core::AgentFinishReason;

const DEFAULT_MESSAGE: &str = "My order #42 arrived broken, I want my 30 euros back.";
const DEFAULT_STORE: &str = "support-sessions";

/// A support agent with typed state and a supervisor's approval, its sessions in files.
#[derive(Debug, Parser)]
#[command(name = "support_agent", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// What the customer writes
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_MESSAGE)]
    message: String,
    /// The supervisor approves a refund (default: asked on stdin)
    #[arg(long, conflicts_with = "decline")]
    approve: bool,
    /// The supervisor declines a refund
    #[arg(long)]
    decline: bool,
    /// The file session store
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STORE)]
    store: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
}

impl Args {
    /// The supervisor's answers given on the command line.
    fn answers(&self) -> Vec<String> {
        match (self.approve, self.decline) {
            (true, _) => vec!["y".into()],
            (_, true) => vec!["n".into()],
            _ => Vec::new(),
        }
    }
}

/// How the turn ended (the agent's answer too, unless it was streamed to the terminal
/// already) and the ticket.
fn show(response: &AgentResponse<Ticket>, text_shown: bool) -> Result<()> {
    match response.finish_reason() {
        Some(AgentFinishReason::Interrupted) => {}
        Some(AgentFinishReason::Failed) => {
            let e = response.error();
            bail!(
                "the turn failed: {}",
                e.map_or("no error recorded", |e| e.message.as_str())
            );
        }
        _ if text_shown => {}
        _ => println!("[agent] {}", response.text()),
    }
    if let Some(ticket) = response.custom()? {
        println!(
            "[ticket] turns {}, refunds approved {}, declined {}",
            ticket.turns, ticket.refunds_approved, ticket.refunds_declined
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let backend = Backend::connect(&args.model, support_agent::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("Model: {}", backend.describe());
    let (agent, approve) = support_agent::agent(&backend.model, FileSessionStore::new(&args.store));
    let ai = backend.ai.clone();
    let mut answers = Answers::new(args.answers());

    println!("[customer] {}", args.message);
    let mut chat = agent.chat(&ai);
    let (mut response, text_shown) =
        streamed_turn("the agent", chat.send_stream(args.message.as_str()))
            .await
            .map_err(|e| backend.explain(e))?;
    show(&response, text_shown)?;
    while response.finish_reason() == Some(&AgentFinishReason::Interrupted) {
        let snapshot = response.snapshot_id().unwrap_or_default().to_owned();
        println!("[agent] paused for a supervisor; stored as snapshot {snapshot}");
        // the supervisor's side: load the conversation by snapshot id, as another process would
        let mut supervisor = agent
            .load_chat(&ai, ChatRef::Snapshot(snapshot.clone()))
            .await?;
        let mut replies = Vec::new();
        for interrupt in response.interrupts() {
            let refund: Refund = interrupt.input()?;
            let answer = answers.next(&format!(
                "[supervisor] refund {} euros for order {}? [y/n]",
                refund.amount, refund.order
            ))?;
            replies.push(approve.respond(&interrupt, answer.starts_with('y'))?);
        }
        let (resumed, text_shown) = streamed_turn("the agent", supervisor.resume_stream(replies))
            .await
            .map_err(|e| backend.explain(e))?;
        response = resumed;
        show(&response, text_shown)?;
    }
    Ok(())
}
