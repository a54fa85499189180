use genkit_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct Approval {
    amount: u64,
}

/// With `interrupt = Approval`, `ctx.interrupt` takes an `Approval` only.
#[tool(interrupt = Approval)]
async fn transfer(amount: u64, ctx: ToolContext) -> ToolResult<String> {
    if !ctx.is_resumed() {
        return ctx.interrupt(serde_json::json!({ "amount": amount }));
    }
    Ok(format!("sent {amount}"))
}

fn main() {}
