//! The `trivia` example: its library with the scripted model, the program with the scripted
//! model, and the program against the local model server (`GENKIT_LLM_URL`, as for
//! genkit-openai's live tests; skipped with a message without it, a failure with
//! `GENKIT_REQUIRE_LLM=1`).

mod common;

use common::{live_server, run};
use examples::trivia::{self, ask_question, Questions};
use genkit_core::prelude::*;
use genkit_core::{protocol, testing::ProgrammableModel};
use serde_json::json;

const TRIVIA: &str = env!("CARGO_BIN_EXE_trivia");

fn scripted() -> (Genkit, ProgrammableModel) {
    let model = trivia::scripted_model();
    let ai = Genkit::builder().model(model.clone()).build().unwrap();
    (ai, model)
}

#[test]
fn ask_question_is_an_interrupt_only_tool_with_the_seed_schema() {
    let definition = ask_question.definition();
    assert_eq!(definition.name, "ask_question");
    assert_eq!(
        definition.description,
        "Use this to ask the user a clarifying question"
    );
    let input = definition.input_schema.as_ref().unwrap();
    for field in ["question", "choices", "allow_other"] {
        assert!(input["properties"].get(field).is_some(), "{input}");
    }
    assert_eq!(definition.output_schema.as_ref().unwrap()["type"], "string");
}

#[tokio::test]
async fn the_question_pauses_the_loop_and_the_answer_reaches_the_model() {
    let (ai, model) = scripted();
    let interrupted = trivia::start(&ai, "scripted").await.unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(model.requests().len(), 1, "the model is not called again");
    let [interrupt] = interrupted.interrupts() else {
        panic!("one interrupt: {:?}", interrupted.interrupts())
    };
    assert_eq!(interrupt.name(), "ask_question");
    let q: Questions = interrupt.input().unwrap();
    assert_eq!(q, trivia::scripted_question());

    let answer = ask_question
        .respond(interrupt, trivia::choose(&q, "2"))
        .unwrap();
    let done = trivia::resume(&ai, "scripted", &interrupted, vec![answer])
        .await
        .unwrap();
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));

    // The model got the whole history back (after the system prompt), ending in the answer,
    // and no tools to ask again with.
    let last = model.last_request().unwrap();
    assert_eq!(last.tool_choice, Some(ToolChoice::None));
    let sent = last.messages;
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(sent[0].role, Role::System);
    let reply = &sent[3].content[0];
    let response = reply.as_tool_response().unwrap();
    assert_eq!(response.name, "ask_question");
    assert_eq!(response.ref_.as_deref(), interrupt.ref_());
    assert_eq!(response.output, Some(json!("Die Hard")));
    let first = &model.requests()[0];
    assert_eq!(
        first.tool_choice,
        Some(ToolChoice::Required),
        "the first turn must ask"
    );
    assert!(reply.metadata_value(protocol::INTERRUPT_RESPONSE).is_some());
    // and the answered request is marked resolved, not interrupted
    let request = &sent[2].content[0];
    assert!(request.metadata_value(protocol::INTERRUPT).is_none());
    assert!(request
        .metadata_value(protocol::RESOLVED_INTERRUPT)
        .is_some());
}

#[tokio::test]
async fn a_resume_without_the_answer_is_rejected() {
    let (ai, _model) = scripted();
    let interrupted = trivia::start(&ai, "scripted").await.unwrap();
    let err = trivia::resume(&ai, "scripted", &interrupted, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::UnresolvedToolRequest { ref request, .. } if request.name == "ask_question"),
        "{err:?}"
    );
}

#[test]
fn the_program_plays_a_round_with_the_scripted_model() {
    let r = run(TRIVIA, &["--scripted", "--answer", "3"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(out.contains("[model] called ask_question"), "{out}");
    assert!(out.contains("Question 1: "), "{out}");
    assert!(out.contains("  3. Predator"), "{out}");
    assert!(out.contains("Your answer: 3"), "{out}");
    assert!(out.contains("[resuming with your answer]"), "{out}");
    // the scripted model judges the answer it received: the third choice, not the text "3"
    assert!(out.contains("you said Predator"), "{out}");
    assert!(out.contains("[model] answered (stop)"), "{out}");
}

#[test]
fn the_program_needs_an_answer_when_stdin_is_closed() {
    let r = run(TRIVIA, &["--scripted"]);
    assert!(!r.ok, "{}", r.dump());
    assert!(r.stderr.contains("stdin closed"), "{}", r.dump());
}

#[test]
fn trivia_runs_end_to_end_with_answers_from_the_command_line() {
    if !live_server("trivia_runs_end_to_end_with_answers_from_the_command_line") {
        return;
    }
    // One round: two model calls keep the test short on a loaded CI machine.
    let r = run(TRIVIA, &["--local", "--answer", "1", "--rounds", "1"]);
    assert!(r.ok, "{}", r.dump());
    let stdout = &r.stdout;
    // Structure, not wording: a question with choices, an answer, a resumed call.
    assert!(stdout.contains("[model] called ask_question"), "{stdout}");
    assert!(stdout.contains("Question 1: "), "{stdout}");
    assert!(stdout.contains("  1. "), "{stdout}");
    assert!(stdout.contains("Your answer: 1"), "{stdout}");
    assert!(stdout.contains("[resuming with your answer]"), "{stdout}");
    let model_turns = stdout.matches("[model] ").count();
    assert!(
        model_turns >= 2,
        "the model was called again after the answer:\n{stdout}"
    );
}

#[test]
fn trivia_explains_a_missing_local_server() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("address").port()
    };
    let out = std::process::Command::new(TRIVIA)
        .args(["--local", "--answer", "1"])
        .env("GENKIT_LLM_URL", format!("http://127.0.0.1:{port}/v1"))
        .output()
        .expect("the demo runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scripts/local-llm start"), "{stderr}");
}
