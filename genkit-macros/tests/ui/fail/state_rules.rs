use genkit_core::prelude::*;

#[derive(Clone)]
struct Bank;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Deposit {
    amount: u64,
}

/// By reference: the state is given by value.
#[tool]
async fn by_ref(input: Deposit, bank: &State<Bank>) -> ToolResult<u64> {
    let _ = bank;
    Ok(input.amount)
}

/// Without its type.
#[tool]
async fn untyped(input: Deposit, bank: State) -> ToolResult<u64> {
    let _ = bank;
    Ok(input.amount)
}

/// An interrupt-only tool runs no code, so it has no state.
#[tool]
fn confirm(input: Deposit, bank: State<Bank>) -> bool;

fn main() {
    let _ = Genkit::builder().tool(by_ref).tool(untyped).tool(confirm);
}
