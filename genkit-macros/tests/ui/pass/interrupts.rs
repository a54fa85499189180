//! Typed interrupts: `interrupt = P` with a body, and interrupt-only tools.
#![deny(warnings)]

use genkit_core::prelude::*;
use genkit_core::TypedToolContext;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, JsonSchema, Clone)]
struct Transfer {
    to: String,
    amount: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Approval {
    amount: u64,
}

/// The body's `ctx` takes an `Approval`, and only that.
#[tool(interrupt = Approval)]
async fn transfer(input: Transfer, ctx: ToolContext) -> ToolResult<String> {
    if !ctx.is_resumed() {
        return ctx.interrupt(Approval {
            amount: input.amount,
        });
    }
    // the context is still a `ToolContext` underneath
    let plain: &ToolContext = &ctx;
    let typed: &TypedToolContext<Approval> = &ctx;
    let _ = (plain, typed);
    Ok(format!("sent {} to {}", input.amount, input.to))
}

/// `mut ctx` and a context passed on.
#[tool(interrupt = Approval)]
async fn transfer_helper(input: Transfer, mut ctx: ToolContext) -> ToolResult<String> {
    ctx = ctx.clone();
    check(input.amount, &ctx)
}

fn check(amount: u64, ctx: &TypedToolContext<Approval>) -> ToolResult<String> {
    if amount > 100 {
        return ctx.interrupt(Approval { amount });
    }
    Ok("ok".into())
}

fn approval(t: &Transfer) -> Approval {
    Approval { amount: t.amount }
}

/// Interrupt-only, payload computed by a function.
#[tool(interrupt = Approval, payload = approval)]
fn confirm(input: Transfer) -> bool;

/// Interrupt-only, payload computed by a closure.
#[tool(interrupt = Approval, payload = |t: &Transfer| Approval { amount: t.amount * 2 })]
async fn confirm_double(input: Transfer) -> bool;

/// Interrupt-only, no payload (it is `true`), the answer in a `ToolResult`.
#[tool]
fn ask(question: String) -> ToolResult<String>;

/// Interrupt-only, no input.
#[tool]
fn done() -> bool;

fn answers(interrupt: &Interrupt) -> Result<Vec<Part>, GenkitError> {
    let payload: Approval = transfer.payload(interrupt)?;
    let confirmed: Approval = confirm.payload(interrupt)?;
    let _ = (payload, confirmed);
    Ok(vec![
        transfer.respond(interrupt, "sent".to_string())?,
        transfer.restart(interrupt, true, None)?,
        confirm.respond(interrupt, true)?,
        confirm_double.respond(interrupt, false)?,
        ask.respond(interrupt, "yes".to_string())?,
        done.respond(interrupt, true)?,
    ])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), GenkitError> {
    let t = Transfer {
        to: "Ann".into(),
        amount: 500,
    };
    let error = transfer::call(t.clone(), ToolContext::new("transfer"))
        .await
        .unwrap_err();
    assert_eq!(
        error.interrupt_payload(),
        Some(&serde_json::json!({"amount": 500}))
    );
    let error = transfer_helper::call(t, ToolContext::new("transfer_helper"))
        .await
        .unwrap_err();
    assert!(error.is_interrupt());
    let ai = Genkit::builder()
        .tool(transfer)
        .tool(transfer_helper)
        .tool(confirm)
        .tool(confirm_double)
        .tool(ask)
        .tool(done)
        .build()?;
    let _ = (ai, answers);
    Ok(())
}
