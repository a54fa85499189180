use genkit_core::prelude::*;

/// Not `Clone`: the instance could not give each call its own.
struct Bank;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Deposit {
    amount: u64,
}

/// Deposit money.
#[tool]
async fn deposit(input: Deposit, bank: State<Bank>) -> ToolResult<u64> {
    let _ = bank;
    Ok(input.amount)
}

fn main() {
    let _ = Genkit::builder().tool(deposit);
}
