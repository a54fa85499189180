use genkit_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct Approval {
    amount: u64,
}

fn approval(amount: &u64) -> Approval {
    Approval { amount: *amount }
}

/// A payload type without `payload`: how would the payload be computed?
#[tool(interrupt = Approval)]
fn confirm(amount: u64) -> bool;

/// `payload` without its type.
#[tool(payload = approval)]
fn confirm_untyped(amount: u64) -> bool;

/// `payload` on a tool with a body.
#[tool(interrupt = Approval, payload = approval)]
async fn transfer(amount: u64, ctx: ToolContext) -> ToolResult<String> {
    let _ = ctx;
    Ok(format!("sent {amount}"))
}

/// No context without a body.
#[tool]
fn ask(question: String, ctx: ToolContext) -> String;

/// An answer type is required.
#[tool]
fn done(summary: String);

/// A payload function of the wrong type.
#[tool(interrupt = Approval, payload = |amount: &u32| Approval { amount: u64::from(*amount) })]
fn confirm_u64(amount: u64) -> bool;

fn main() {}
