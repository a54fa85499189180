//! `State<S>` parameters: application state, given to the instance, checked when it is built.
use std::sync::{Arc, Mutex};

use genkit_core::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Default)]
struct Bank(Arc<Mutex<u64>>);

#[derive(Clone)]
struct Fee(u64);

#[derive(Deserialize, JsonSchema)]
struct Deposit {
    amount: u64,
}

/// Deposit money; returns the balance.
#[tool]
async fn deposit(input: Deposit, State(bank): State<Bank>, fee: State<Fee>) -> ToolResult<u64> {
    let mut total = bank.0.lock().map_err(|_| ToolError::msg("poisoned"))?;
    *total += input.amount - fee.0 .0;
    Ok(*total)
}

/// Read the balance, in any parameter order, with a context.
#[tool]
fn balance(ctx: ToolContext, bank: State<Bank>) -> ToolResult<u64> {
    let _ = ctx.tool_name();
    Ok(*bank.0 .0.lock().map_err(|_| ToolError::msg("poisoned"))?)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Ask {
    amount: u64,
}

/// Withdraw, after the user approved.
#[tool(interrupt = Ask)]
async fn withdraw(input: Deposit, ctx: ToolContext, State(bank): State<Bank>) -> ToolResult<u64> {
    if !ctx.is_resumed() {
        return ctx.interrupt(Ask { amount: input.amount });
    }
    let mut total = bank.0.lock().map_err(|_| ToolError::msg("poisoned"))?;
    *total -= input.amount;
    Ok(*total)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bank = Bank::default();
    // the function as written, with its state given by hand
    let total = deposit::call(Deposit { amount: 10 }, State(bank.clone()), State(Fee(1)))
        .await
        .unwrap();
    assert_eq!(total, 9);
    assert_eq!(deposit.needs_state().len(), 2);
    assert_eq!(balance.needs_state().len(), 1);

    // the instance checks every registered tool's states when it is built
    let err = Genkit::builder().state(bank.clone()).tool(deposit).build().unwrap_err();
    assert!(matches!(err, GenkitError::MissingState { ref tool, ref state, .. }
        if tool == "deposit" && state.ends_with("Fee")), "{err}");
    let ai = Genkit::builder()
        .state(bank.clone())
        .state(Fee(2))
        .tool(deposit)
        .tool(balance)
        .tool(withdraw)
        .build()
        .unwrap();

    // a direct call through the tool's action gets the state from its context
    let ctx = ToolContext::new(deposit::NAME).with_state(bank.clone()).with_state(Fee(0));
    let out = deposit.action().call(serde_json::json!({"amount": 5}), ctx).await;
    assert!(matches!(out, genkit_core::ToolOutcome::Output(o) if o.output == 14));
    // without it, the call fails and says which state is missing
    let out = deposit.action().call(serde_json::json!({"amount": 5}), ToolContext::new(deposit::NAME)).await;
    assert!(matches!(out, genkit_core::ToolOutcome::Failed(ref e) if e.full_message().contains("Bank")), "{out:?}");
    let _ = ai;
}
