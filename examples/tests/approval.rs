//! The `approval` example: the payment happens only after the user confirms (restart), for
//! the amount the user set (restart with a replaced input), or not at all (respond).

mod common;

use common::{live_server, run};
use examples::approval::{self, Bank, Confirmation, Decision, Reply};
use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{protocol, Message};
use serde_json::{json, Value};

const APPROVAL: &str = env!("CARGO_BIN_EXE_approval");

struct Setup {
    ai: Genkit,
    model: ProgrammableModel,
    bank: Bank,
}

fn setup(balance: u64) -> Setup {
    let model = approval::scripted_model();
    let bank = Bank::new(balance);
    Setup {
        ai: Genkit::builder()
            .model(model.clone())
            .state(bank.clone())
            .build()
            .unwrap(),
        model,
        bank,
    }
}

/// Runs the scenario up to the interrupt, then answers it with `decision`.
async fn decide(s: &Setup, decision: Decision) -> GenerateResponse {
    let interrupted = approval::start(&s.ai, "scripted", approval::PROMPT)
        .await
        .unwrap();
    let [interrupt] = interrupted.interrupts() else {
        panic!("one interrupt: {:?}", interrupted.interrupts())
    };
    let part = match approval::answer(interrupt, &decision, "tester").unwrap() {
        Reply::Respond(p) | Reply::Restart(p) => p,
    };
    approval::resume(&s.ai, &interrupted, vec![part])
        .await
        .unwrap()
}

/// The tool message the model got last, and the model message before it.
fn last_exchange(model: &ProgrammableModel) -> (Message, Message) {
    let mut sent = model.last_request().unwrap().messages;
    let tool = sent.pop().unwrap();
    let request = sent.pop().unwrap();
    assert_eq!(tool.role, Role::Tool);
    assert_eq!(request.role, Role::Model);
    (request, tool)
}

#[tokio::test]
async fn nothing_is_paid_before_the_user_confirms() {
    let s = setup(500);
    let interrupted = approval::start(&s.ai, "scripted", approval::PROMPT)
        .await
        .unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let [interrupt] = interrupted.interrupts() else {
        panic!("one interrupt")
    };
    assert_eq!(interrupt.name(), "send_payment");
    let asked: Confirmation = interrupt.payload().unwrap();
    assert_eq!(
        asked,
        Confirmation {
            to: "Alice".into(),
            amount: 40,
            memo: "the concert tickets".into(),
            balance_after: 460
        }
    );
    assert!(s.bank.payments().is_empty());
    assert_eq!(s.bank.balance(), 500);
    assert_eq!(s.model.requests().len(), 1);
}

#[tokio::test]
async fn approving_restarts_the_tool_which_pays() {
    let s = setup(500);
    let done = decide(&s, Decision::Approve).await;
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));

    let payments = s.bank.payments();
    assert_eq!(payments.len(), 1, "paid exactly once");
    assert_eq!(payments[0].payment.amount, 40);
    assert_eq!(
        payments[0].approved_by, "tester",
        "the restart metadata reached the tool"
    );
    assert_eq!(s.bank.balance(), 460);

    let (request, tool) = last_exchange(&s.model);
    let output = tool.content[0].as_tool_response().unwrap().output.clone();
    assert_eq!(
        output,
        Some(json!({"status": "sent", "receipt": "R-0001", "to": "Alice", "amount": 40}))
    );
    // The tool produced this output itself: it is not marked as the application's answer.
    assert!(tool.content[0]
        .metadata_value(protocol::INTERRUPT_RESPONSE)
        .is_none());
    assert!(request.content[0]
        .metadata_value(protocol::INTERRUPT)
        .is_none());
}

#[tokio::test]
async fn a_restart_with_a_replaced_input_pays_the_new_amount_and_amends_the_history() {
    let s = setup(500);
    let done = decide(&s, Decision::ApproveAmount(25)).await;
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));

    assert_eq!(s.bank.payments()[0].payment.amount, 25);
    assert_eq!(s.bank.balance(), 475);

    let (request, tool) = last_exchange(&s.model);
    // The model sees the input that really ran...
    let call = request.content[0].as_tool_request().unwrap();
    assert_eq!(call.input.as_ref().unwrap()["amount"], 25);
    // ...and the tool saw the original one, through `ctx.original_input()`.
    let output = tool.content[0].as_tool_response().unwrap().output.clone();
    assert_eq!(output.unwrap()["changed_from"], 40);
    // The final response's history carries the original too, for the record.
    let recorded = done.messages()[2].content[0]
        .metadata_value(protocol::REPLACED_INPUT)
        .cloned();
    assert_eq!(recorded.unwrap()["amount"], 40);
}

#[tokio::test]
async fn declining_responds_in_the_tools_place_and_nothing_is_paid() {
    let s = setup(500);
    let done = decide(&s, Decision::Decline("not today".into())).await;
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
    assert!(s.bank.payments().is_empty());
    assert_eq!(s.bank.balance(), 500);

    let (_, tool) = last_exchange(&s.model);
    let part = &tool.content[0];
    assert_eq!(
        part.as_tool_response().unwrap().output,
        Some(json!({"status": "declined", "reason": "not today"}))
    );
    assert!(part.metadata_value(protocol::INTERRUPT_RESPONSE).is_some());
}

#[tokio::test]
async fn a_payment_the_bank_refuses_is_reported_to_the_model() {
    let s = setup(10);
    decide(&s, Decision::Approve).await;
    assert!(s.bank.payments().is_empty());
    let (_, tool) = last_exchange(&s.model);
    let output = tool.content[0].as_tool_response().unwrap().output.clone();
    assert_eq!(output.unwrap()["status"], "failed");
}

#[tokio::test]
async fn a_wrong_answer_type_is_caught_by_the_schema() {
    // `respond` is typed, so a wrong answer does not compile; an untyped `tool_response`
    // does, and is rejected against the tool's output schema before the model sees it.
    let s = setup(500);
    let interrupted = approval::start(&s.ai, "scripted", approval::PROMPT)
        .await
        .unwrap();
    let wrong = tool_response(&interrupted.interrupts()[0], json!({"status": "maybe"})).unwrap();
    let err = approval::resume(&s.ai, &interrupted, vec![wrong])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::ToolOutputInvalid { .. }),
        "{err:?}"
    );
    assert_eq!(s.model.requests().len(), 1);
}

#[test]
fn the_program_restarts_with_a_replaced_amount() {
    let r = run(APPROVAL, &["--scripted", "--decision", "25"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(out.contains("[model] called send_payment"), "{out}");
    assert!(
        out.contains("send_payment asks: send 40 euros to Alice"),
        "{out}"
    );
    assert!(
        out.contains("with the amount replaced: 25 instead of 40"),
        "{out}"
    );
    assert!(out.contains("Balance: 475 euros"), "{out}");
    assert!(out.contains("Payment R-0001: 25 euros to Alice"), "{out}");
}

#[test]
fn the_program_responds_with_a_refusal() {
    let r = run(APPROVAL, &["--scripted", "--decision", "no"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(out.contains("[responding in send_payment's place"), "{out}");
    assert!(out.contains("Balance: 500 euros"), "{out}");
    assert!(out.contains("Payments: none"), "{out}");
}

#[test]
fn the_program_pays_what_another_prompt_asks_for() {
    let r = run(
        APPROVAL,
        &[
            "--scripted",
            "--prompt",
            "Pay Bob 70 euros for the rent.",
            "--decision",
            "yes",
        ],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout
            .contains("Payment R-0001: 70 euros to Bob for \"the rent\""),
        "{}",
        r.stdout
    );
}

#[test]
fn approval_against_the_local_model() {
    if !live_server("approval_against_the_local_model") {
        return;
    }
    let r = run(APPROVAL, &["--local", "--decision", "yes", "--rounds", "1"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    // Structure: a real model called the tool, the tool asked, the approval restarted it,
    // the tool paid exactly what it had asked about, and the model was called again.
    assert!(out.contains("[model] called send_payment"), "{out}");
    let asked: Value = {
        let line = out
            .lines()
            .find(|l| l.starts_with("send_payment asks: send "))
            .unwrap_or_else(|| panic!("no confirmation shown:\n{out}"));
        let amount = line["send_payment asks: send ".len()..]
            .split(' ')
            .next()
            .unwrap();
        json!(amount.parse::<u64>().unwrap())
    };
    assert!(out.contains("[restarting send_payment, approved"), "{out}");
    assert!(
        out.contains(&format!("Payment R-0001: {asked} euros to ")),
        "the approved payment ran:\n{out}"
    );
    assert!(out.matches("[model] ").count() >= 2, "{out}");
}
