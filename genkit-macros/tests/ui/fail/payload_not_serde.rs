use genkit_core::prelude::*;

/// Not serializable.
struct Approval {
    amount: u64,
}

/// Transfer money.
#[tool(interrupt = Approval)]
async fn transfer(amount: u64, ctx: ToolContext) -> ToolResult<String> {
    if !ctx.is_resumed() {
        return ctx.interrupt(Approval { amount });
    }
    Ok(format!("sent {amount}"))
}

fn main() {}
