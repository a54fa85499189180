//! Refund reviews across machines: worker processes take customers' complaints, the agent
//! pauses on a human review, and a reviewer CLI on another machine answers, all through one
//! PostgreSQL database. No process keeps anything between the steps.
//!
//! ```sh
//! scripts/postgres start && eval "$(scripts/postgres env)"       # a local PostgreSQL
//! cargo run -p examples --features postgres --bin distributed_review -- worker --name A "Order 41 arrived broken, 30 euros back please"
//! cargo run -p examples --features postgres --bin distributed_review -- worker --name B "Order 42 never came, refund 55 euros"
//! cargo run -p examples --features postgres --bin distributed_review -- reviewer list
//! cargo run -p examples --features postgres --bin distributed_review -- reviewer approve <snapshot> "damaged in transit"
//! cargo run -p examples --features postgres --bin distributed_review -- reviewer decline <snapshot> "no proof of loss"
//! ```
//!
//! Options: `--tenant NAME` (default `global`: each tenant sees only its own reviews),
//! `--schema NAME` (default `genkit`). The database URL is `GENKIT_PG_URL` (or `DATABASE_URL`).
//! The model is scripted (deterministic, no server): it asks `approve_refund` with the order
//! and amount it reads in the complaint, and tells the customer the decision.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use genkit_core::agent::{Agent, ChatRef, PromptSpec};
use genkit_core::prelude::*;
use genkit_core::session::{ListQuery, SessionStore, StoreScope};
use genkit_core::testing::ProgrammableModel;
use genkit_core::{AgentFinishReason, TypedTool};
use genkit_postgres::PostgresSessionStore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the model asks a reviewer: the input of `approve_refund`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Refund {
    /// the order number
    order: String,
    /// the amount, in euros
    amount: u64,
    /// the worker that took the complaint
    taken_by: String,
}

/// The reviewer's answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Decision {
    /// whether the refund is approved
    approved: bool,
    /// the note for the customer
    note: String,
}

const SYSTEM: &str = "You handle refund requests. Call approve_refund with the order number \
    and the amount; a human reviewer decides. Then tell the customer the decision.";

/// The numbers in `text`, in order.
fn numbers(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// A model that follows [`SYSTEM`] without a server, deciding from the request alone (so any
/// process's model continues any conversation).
fn scripted_model(worker: &str) -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    let worker = worker.to_owned();
    model.set_handler(move |req| {
        let last = req.messages.last();
        if let Some(answer) = last
            .filter(|m| m.role == Role::Tool)
            .and_then(|m| m.content.iter().find_map(Part::as_tool_response))
        {
            let d: Decision = serde_json::from_value(answer.output.clone().unwrap_or_default())
                .map_err(|e| GenkitError::json("the reviewer's decision", e))?;
            let text = if d.approved {
                format!("Good news: your refund is approved ({}).", d.note)
            } else {
                format!("Sorry, your refund was declined ({}).", d.note)
            };
            return Ok(ModelResponse::new(Message::model(text), FinishReason::Stop));
        }
        let complaint = last.map(Message::text).unwrap_or_default();
        let n = numbers(&complaint);
        let (order, amount) = (
            n.first().copied().unwrap_or(0),
            n.get(1).copied().unwrap_or(0),
        );
        Ok(ModelResponse::new(
            Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "approve_refund",
                    Some("review-1".into()),
                    json!({"order": order.to_string(), "amount": amount, "taken_by": worker}),
                ))],
            ),
            FinishReason::Stop,
        ))
    });
    model
}

struct App {
    ai: Genkit,
    agent: Agent,
    approve: Tool<Refund, Decision>,
    store: PostgresSessionStore,
    scope: StoreScope,
}

async fn app(worker: &str, tenant: &str, schema: &str) -> Result<App> {
    let url = std::env::var("GENKIT_PG_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .context(
            "set GENKIT_PG_URL (or DATABASE_URL) to a PostgreSQL server: scripts/postgres start",
        )?;
    let store = PostgresSessionStore::builder(url)
        .schema(schema)
        .pool_size(4)
        .connect()
        .await?;
    let scope = StoreScope::new(tenant)?;
    let approve: Tool<Refund, Decision> = Tool::interrupt(
        "approve_refund",
        "Asks a human reviewer to approve a refund",
    );
    let agent: Agent = Agent::prompt(
        "refunds",
        PromptSpec::new()
            .model("scripted")
            .system(SYSTEM)
            .tools(["approve_refund"]),
    )
    .shared_store(Arc::new(store.clone()))
    .scope(scope.clone())
    .build();
    let ai = Genkit::builder()
        .model(scripted_model(worker))
        .tool(approve.clone())
        .agent(agent.clone())
        .build()?;
    Ok(App {
        ai,
        agent,
        approve,
        store,
        scope,
    })
}

/// A worker: takes one complaint; the turn pauses on the review and the process exits.
async fn worker(app: &App, complaint: &str) -> Result<()> {
    let mut chat = app.agent.chat(&app.ai);
    let paused = chat.send(complaint).await?;
    if paused.finish_reason() != Some(&AgentFinishReason::Interrupted) {
        bail!("the turn did not pause for a review: {:?}", paused.error());
    }
    let asked: Refund = paused.interrupts()[0].input()?;
    println!(
        "paused session={} snapshot={} order={} amount={}",
        paused.session_id().unwrap_or_default(),
        paused.snapshot_id().unwrap_or_default(),
        asked.order,
        asked.amount
    );
    Ok(())
}

/// Every review waiting in the tenant, newest first.
async fn list(app: &App) -> Result<()> {
    let page = app
        .store
        .list_snapshots(
            &app.scope,
            &ListQuery::pending_interrupts(std::time::SystemTime::now()),
        )
        .await?;
    if page.snapshots.is_empty() {
        println!("no reviews waiting");
    }
    for s in page.snapshots {
        let messages = s
            .state
            .as_ref()
            .map(|st| st.messages().to_vec())
            .unwrap_or_default();
        for interrupt in Interrupt::pending_in(&messages) {
            let r: Refund = interrupt.input()?;
            println!(
                "review snapshot={} session={} order={} amount={} taken_by={}",
                s.snapshot_id,
                s.session_id.as_deref().unwrap_or_default(),
                r.order,
                r.amount,
                r.taken_by
            );
        }
    }
    Ok(())
}

/// The reviewer's decision: resumes the paused turn (this process, whichever it is, runs the
/// rest of it) and prints the customer's answer.
async fn decide(app: &App, snapshot: &str, approved: bool, note: &str) -> Result<()> {
    let mut chat = app
        .agent
        .load_chat(&app.ai, ChatRef::Snapshot(snapshot.to_owned()))
        .await?;
    let stored = app
        .agent
        .snapshot(&ChatRef::Snapshot(snapshot.to_owned()))
        .await?
        .context("no such snapshot")?;
    let messages = stored
        .state
        .map(|s| s.messages().to_vec())
        .unwrap_or_default();
    let interrupt = Interrupt::pending_in(&messages)
        .into_iter()
        .next()
        .context("that snapshot waits for no review")?;
    let decision = Decision {
        approved,
        note: note.to_owned(),
    };
    let done = chat
        .resume([app.approve.respond(&interrupt, decision)?])
        .await?;
    if let Some(e) = done.error() {
        bail!("{}: {}", e.status.as_deref().unwrap_or("ERROR"), e.message);
    }
    println!("customer: {}", done.text());
    println!("done snapshot={}", done.snapshot_id().unwrap_or_default());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str, default: &str| -> String {
        match args.iter().position(|a| a == flag) {
            Some(i) if i + 1 < args.len() => {
                let v = args.remove(i + 1);
                args.remove(i);
                v
            }
            _ => default.to_owned(),
        }
    };
    let tenant = take("--tenant", "global");
    let schema = take("--schema", "genkit");
    let name = take("--name", "reviewer");
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["worker", complaint] => worker(&app(&name, &tenant, &schema).await?, complaint).await,
        ["reviewer", "list"] => list(&app(&name, &tenant, &schema).await?).await,
        ["reviewer", verb @ ("approve" | "decline"), snapshot, note] => {
            let app = app(&name, &tenant, &schema).await?;
            decide(&app, snapshot, *verb == "approve", note).await
        }
        _ => bail!(
            "usage: distributed_review [--tenant T] [--schema S] worker --name NAME \"complaint\" | reviewer list | reviewer approve|decline SNAPSHOT \"note\""
        ),
    }
}
