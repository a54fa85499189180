//! A saved response reads back whole: serialized and deserialized, `messages()` (and the finish
//! reason and interrupts) are what they were, for every way a generate call can end.

mod support;

use genkit_core::prelude::*;
use genkit_core::{HistorySeal, IntoTool};
use serde_json::json;
use support::*;

/// Serializes `r` to JSON text and reads it back; checks everything a resume depends on.
fn assert_round_trips(what: &str, r: &GenerateResponse) {
    let text = serde_json::to_string(r).unwrap();
    let back: GenerateResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(back.messages(), r.messages(), "{what}: messages");
    assert_eq!(
        back.finish_reason(),
        r.finish_reason(),
        "{what}: finish reason"
    );
    assert_eq!(
        back.finish_message(),
        r.finish_message(),
        "{what}: finish message"
    );
    assert_eq!(back.interrupts(), r.interrupts(), "{what}: interrupts");
    assert_eq!(back.text(), r.text(), "{what}: text");
    // and once more, from what was read back: a fixed point
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        text,
        "{what}: stable"
    );
}

fn interrupt_tools() -> Vec<std::sync::Arc<genkit_core::ToolAction>> {
    vec![ask_tool(), lookup_tool()]
}

#[tokio::test]
async fn a_finished_call_round_trips() {
    let (ai, model) = instance(interrupt_tools());
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    model.push_response(answer("four letters"));
    let r = ai
        .generate()
        .system("be brief")
        .prompt("x")
        .tools(["lookup"])
        .await
        .unwrap();
    assert_eq!(r.messages().len(), 5);
    assert_round_trips("stop", &r);
}

#[tokio::test]
async fn an_interrupted_call_and_its_resume_round_trip() {
    let (ai, model) = instance(interrupt_tools());
    model.push_response(calls(&[
        ("lookup", Some("l"), json!({"word": "four"})),
        ("ask_question", Some("q"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("quiz")
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    assert_round_trips("interrupted", &r);

    let answer_part = ask_question()
        .respond(&r.interrupts()[0], "Up".into())
        .unwrap();
    model.push_response(answer("right"));
    let done = ai
        .generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_round_trips("resumed, then stop", &done);
}

#[tokio::test]
async fn a_restart_that_interrupts_again_round_trips_with_its_whole_history() {
    let (ai, model) = instance(interrupt_tools());
    model.push_response(calls(&[("ask_question", Some("q"), questions())]));
    let r = ai
        .generate()
        .prompt("quiz")
        .tools(["ask_question"])
        .await
        .unwrap();
    // an interrupt-only tool restarted pauses again; the model is not called
    let restart = tool_restart(&r.interrupts()[0], (), None).unwrap();
    let again = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(again.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(again.messages().len(), 2, "user and model message");
    assert_round_trips("re-interrupted restart", &again);
    assert!(again.request().is_none(), "the model was not called");
    // read back, it still resumes
    let back: GenerateResponse =
        serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap();
    let answer_part = ask_question()
        .respond(&back.interrupts()[0], "Up".into())
        .unwrap();
    model.push_response(answer("right"));
    let done = ai
        .generate()
        .messages(back.messages())
        .tool_responses([answer_part])
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(done.text(), "right");
}

#[tokio::test]
async fn a_sealed_re_interrupted_restart_round_trips_and_still_verifies() {
    let model = genkit_core::testing::ProgrammableModel::new("pm");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("pm")
        .tool(ask_question().into_tool())
        .history_seal(HistorySeal::new("k", [5u8; 32]).unwrap())
        .build()
        .unwrap();
    model.push_response(calls(&[("ask_question", Some("q"), questions())]));
    let r = ai
        .generate()
        .prompt("quiz")
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_round_trips("sealed interrupted", &r);
    let restart = tool_restart(&r.interrupts()[0], (), None).unwrap();
    let again = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_round_trips("sealed re-interrupted", &again);
    let back: GenerateResponse =
        serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap();
    ai.history_seal().unwrap().verify(back.messages()).unwrap();
}

#[tokio::test]
async fn returned_tool_requests_round_trip() {
    let (ai, model) = instance(interrupt_tools());
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .return_tool_requests(true)
        .await
        .unwrap();
    assert_eq!(r.tool_requests().len(), 1);
    assert_round_trips("return_tool_requests", &r);
}

#[tokio::test]
async fn the_responses_errors_carry_round_trip() {
    // max turns
    let (ai, model) = instance(interrupt_tools());
    for _ in 0..3 {
        model.push_response(calls(&[("lookup", None, json!({"word": "four"}))]));
    }
    let e = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .max_turns(1)
        .await
        .unwrap_err();
    assert!(matches!(e, GenkitError::MaxTurnsExceeded { .. }));
    assert_round_trips("max turns", e.response().unwrap());

    // blocked
    let (ai, model) = instance(vec![]);
    model.push_response(ModelResponse::new(
        Message::model("no"),
        FinishReason::Blocked,
    ));
    let e = ai.generate().prompt("x").await.unwrap_err();
    assert!(matches!(e, GenkitError::Blocked { .. }));
    assert_round_trips("blocked", e.response().unwrap());

    // output that does not conform
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Movie {
        year: u16,
    }
    let (ai, model) = instance(vec![]);
    model.push_response(answer("not json"));
    let e = ai
        .generate()
        .prompt("x")
        .output::<Movie>()
        .await
        .unwrap_err();
    assert!(matches!(e, GenkitError::OutputInvalid { .. }));
    assert_round_trips("output invalid", e.response().unwrap());
}

#[tokio::test]
async fn an_unrecognized_finish_reason_from_a_newer_genkit_is_kept_and_written_back() {
    let (ai, model) = instance(vec![]);
    model.push_response(ModelResponse::new(
        Message::model("hi"),
        FinishReason::Unrecognized("paused_for_review".into()),
    ));
    let r = ai.generate().prompt("x").await.unwrap();
    assert_round_trips("unrecognized finish reason", &r);
    let wire = serde_json::to_value(&r).unwrap();
    assert_eq!(wire["finishReason"], json!("paused_for_review"));

    // read from a newer runtime's JSON
    let back: GenerateResponse = serde_json::from_value(json!({
        "message": {"role": "model", "content": [{"text": "hi"}]},
        "finishReason": "detached"
    }))
    .unwrap();
    assert_eq!(
        back.finish_reason(),
        Some(FinishReason::Unrecognized("detached".into()))
    );
    assert_eq!(
        serde_json::to_value(&back).unwrap()["finishReason"],
        json!("detached")
    );
}
