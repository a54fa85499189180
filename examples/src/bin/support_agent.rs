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

use anyhow::{bail, Context, Result};
use examples::console::Answers;
use examples::model_choice::{self, Backend, ModelArgs};
use examples::support_agent::{self, Refund, Ticket};
use genkit_core::agent::{AgentResponse, ChatRef};
use genkit_core::prelude::*;
use genkit_core::session::FileSessionStore;
use genkit_core::AgentFinishReason;

const DEFAULT_MESSAGE: &str = "My order #42 arrived broken, I want my 30 euros back.";
const DEFAULT_STORE: &str = "support-sessions";

struct Args {
    message: String,
    store: PathBuf,
    answers: Vec<String>,
    model: ModelArgs,
}

fn usage() -> String {
    format!(
        "usage: support_agent [--message TEXT] [--approve | --decline] [--store DIR] [model flags]

  --message TEXT     what the customer writes (default: \"{DEFAULT_MESSAGE}\")
  --approve, --decline
                     the supervisor's answer to a refund (default: asked on stdin)
  --store DIR        the file session store (default {DEFAULT_STORE})

model flags:
{}",
        model_choice::USAGE
    )
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        message: DEFAULT_MESSAGE.to_owned(),
        store: PathBuf::from(DEFAULT_STORE),
        answers: Vec::new(),
        model: ModelArgs::default(),
    };
    while let Some(arg) = it.next() {
        if args
            .model
            .parse_flag(&arg, &mut it)
            .map_err(anyhow::Error::msg)?
        {
            continue;
        }
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            "--message" => args.message = value("--message")?,
            "--store" => args.store = value("--store")?.into(),
            "--approve" => args.answers.push("y".into()),
            "--decline" => args.answers.push("n".into()),
            other => bail!("unknown argument '{other}'\n\n{}", usage()),
        }
    }
    Ok(args)
}

fn show(response: &AgentResponse<Ticket>) -> Result<()> {
    match response.finish_reason() {
        Some(AgentFinishReason::Interrupted) => {}
        Some(AgentFinishReason::Failed) => {
            let e = response.error();
            bail!(
                "the turn failed: {}",
                e.map_or("no error recorded", |e| e.message.as_str())
            );
        }
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
    let args = parse_args()?;
    let backend = Backend::connect(&args.model, support_agent::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("Model: {}", backend.describe());
    let (agent, approve) = support_agent::agent(&backend.model, FileSessionStore::new(&args.store));
    let ai = backend.ai.clone();
    let mut answers = Answers::new(args.answers.clone());

    println!("[customer] {}", args.message);
    let mut chat = agent.chat(&ai);
    let mut response = chat
        .send(args.message.as_str())
        .await
        .map_err(|e| backend.explain(e))?;
    show(&response)?;
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
        response = supervisor
            .resume(replies)
            .await
            .map_err(|e| backend.explain(e))?;
        show(&response)?;
    }
    Ok(())
}
