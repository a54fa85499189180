//! The `task_complete` example: an autonomous loop over several tools that ends when the model
//! calls the `done` interrupt, whose input is the typed result.

mod common;

use common::run;
use examples::scripted::{calls, reply};
use examples::task_complete::{self, done, Outcome, ShippingPlan};
use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use serde_json::json;

const TASK_COMPLETE: &str = env!("CARGO_BIN_EXE_task_complete");

fn instance(model: &ProgrammableModel) -> Genkit {
    Genkit::builder().model(model.clone()).build().unwrap()
}

/// The output of the first tool response the model got last.
fn last_tool_output(model: &ProgrammableModel) -> serde_json::Value {
    let request = model.last_request().unwrap();
    let message = request.messages.last().unwrap();
    assert_eq!(message.role, Role::Tool);
    message.content[0]
        .as_tool_response()
        .unwrap()
        .output
        .clone()
        .unwrap()
}

/// The tool names the model called, turn by turn.
fn turns(messages: &[std::sync::Arc<Message>]) -> Vec<Vec<String>> {
    messages
        .iter()
        .filter(|m| m.role == Role::Model)
        .map(|m| m.tool_requests().map(|r| r.name.clone()).collect())
        .collect()
}

#[tokio::test]
async fn the_loop_runs_until_done_and_returns_the_typed_result() {
    let model = task_complete::scripted_model();
    let run = task_complete::run(&instance(&model), "scripted", task_complete::TASK)
        .await
        .unwrap();
    // The scripted model derives the plan from the tool outputs it received.
    assert_eq!(
        run.outcome,
        Outcome::Done(ShippingPlan {
            warehouse: "Rotterdam".into(),
            days: 3,
            reason: "2 of 3 warehouses have 30 kettles; Rotterdam delivers to Lyon soonest.".into(),
        })
    );
    // One generate call, four model turns: the tools ran in between without the application.
    assert_eq!(model.requests().len(), 4);
    assert_eq!(
        turns(run.response.messages()),
        [
            vec!["list_warehouses"],
            vec!["check_stock", "check_stock", "check_stock"],
            vec!["delivery_days", "delivery_days"],
            vec!["done"],
        ]
    );
    // `done` paused the loop and nobody answered it: it is the last message's interrupt.
    assert_eq!(
        run.response.finish_reason(),
        Some(FinishReason::Interrupted)
    );
    assert_eq!(run.response.interrupts()[0].name(), done::NAME);
    assert_eq!(run.response.messages().last().unwrap().role, Role::Model);
}

#[tokio::test]
async fn another_task_gives_another_result() {
    let model = task_complete::scripted_model();
    let task = "Find the warehouse that can deliver 10 teapots to Lyon soonest.";
    let run = task_complete::run(&instance(&model), "scripted", task)
        .await
        .unwrap();
    let Outcome::Done(plan) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!((plan.warehouse.as_str(), plan.days), ("Milan", 2));
}

#[tokio::test]
async fn a_model_that_answers_in_prose_is_reminded_once() {
    let model = ProgrammableModel::new("m");
    model.push_response(reply("Rotterdam, I think."));
    model.push_response(calls([(
        "done",
        json!({"warehouse": "Rotterdam", "days": 3, "reason": "it has stock"}),
    )]));
    let run = task_complete::run(&instance(&model), "m", task_complete::TASK)
        .await
        .unwrap();
    assert!(matches!(run.outcome, Outcome::Done(ref p) if p.warehouse == "Rotterdam"));
    let second = &model.requests()[1];
    let reminder = second.messages.last().unwrap();
    assert_eq!(reminder.role, Role::User);
    assert_eq!(reminder.text(), task_complete::REMINDER);
    // The prose answer stays in the history, before the reminder.
    assert_eq!(
        second.messages[second.messages.len() - 2].text(),
        "Rotterdam, I think."
    );
}

#[tokio::test]
async fn a_model_that_never_calls_done_ends_with_its_answer() {
    let model = ProgrammableModel::new("m");
    model.push_response(reply("I cannot do that."));
    model.push_response(reply("Still no."));
    let run = task_complete::run(&instance(&model), "m", task_complete::TASK)
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Answered("Still no.".into()));
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn a_call_that_fails_the_schema_goes_back_to_the_model() {
    let model = ProgrammableModel::new("m");
    // No product: the input does not match check_stock's schema, and the tool does not run.
    model.push_response(calls([("check_stock", json!({"warehouse": "Milan"}))]));
    model.push_response(calls([(
        "done",
        json!({"warehouse": "Rotterdam", "days": 3, "reason": "after a retry"}),
    )]));
    let run = task_complete::run(&instance(&model), "m", task_complete::TASK)
        .await
        .unwrap();
    assert!(matches!(run.outcome, Outcome::Done(_)), "{:?}", run.outcome);
    let output = last_tool_output(&model);
    assert!(
        output["error"].as_str().unwrap().contains("product"),
        "{output}"
    );
}

#[tokio::test]
async fn an_unknown_warehouse_is_an_answer_the_model_can_act_on() {
    let model = ProgrammableModel::new("m");
    model.push_response(calls([(
        "check_stock",
        json!({"warehouse": "Oslo", "product": "kettle"}),
    )]));
    model.push_response(calls([(
        "done",
        json!({"warehouse": "Milan", "days": 2, "reason": "corrected"}),
    )]));
    let run = task_complete::run(&instance(&model), "m", task_complete::TASK)
        .await
        .unwrap();
    assert!(matches!(run.outcome, Outcome::Done(_)), "{:?}", run.outcome);
    let output = last_tool_output(&model);
    assert_eq!(
        output,
        json!({"error": "no warehouse 'Oslo'; call list_warehouses for the names"})
    );
}

#[tokio::test]
async fn done_with_an_invalid_result_is_returned_to_the_model_too() {
    let model = ProgrammableModel::new("m");
    model.push_response(calls([("done", json!({"warehouse": "Rotterdam"}))]));
    model.push_response(calls([(
        "done",
        json!({"warehouse": "Rotterdam", "days": 3, "reason": "complete now"}),
    )]));
    let run = task_complete::run(&instance(&model), "m", task_complete::TASK)
        .await
        .unwrap();
    let Outcome::Done(plan) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(plan.reason, "complete now");
    assert_eq!(model.requests().len(), 2);
}

#[test]
fn the_program_prints_the_steps_and_the_result() {
    let r = run(TASK_COMPLETE, &["--scripted"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert_eq!(out.matches("[tool] check_stock ").count(), 3, "{out}");
    assert!(out.contains("[tool] done "), "{out}");
    assert!(out.contains("(7 tool calls in 4 model turns)"), "{out}");
    assert!(out.contains("  warehouse: Rotterdam"), "{out}");
    assert!(out.contains("  days:      3"), "{out}");
}
