//! The `async_review` example: a conversation paused in one process and resumed in another,
//! with nothing but a JSON file in between.

mod common;

use common::{live_server, run, temp_path};
use examples::async_review::{self, request_review, Decision, Refund};
use genkit_core::prelude::*;
use genkit_core::protocol;
use serde_json::{json, Value};

const ASYNC_REVIEW: &str = env!("CARGO_BIN_EXE_async_review");

/// The saved file, read as plain JSON: what another runtime would see.
fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn two_processes_share_nothing_but_the_file() {
    let dir = temp_path("review-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("review.json");
    let state_arg = state.to_str().unwrap();

    // Process 1: the model looks the order up and asks for a review; the program saves and
    // exits.
    let first = run(ASYNC_REVIEW, &["start", "--scripted", "--state", state_arg]);
    assert!(first.ok, "{}", first.dump());
    assert!(
        first
            .stdout
            .contains("[tool] lookup_order {\"order_id\":\"A-1001\"}"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("[model] called request_review"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("Saved the paused conversation"),
        "{}",
        first.stdout
    );

    // The file is Genkit's wire format: a JSON array of messages, the last one the model's,
    // its request_review call marked as an interrupt.
    let saved = read_json(&state);
    let messages = saved.as_array().expect("an array of messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "model", "tool", "model"]);
    let call = &messages[4]["content"][0];
    assert_eq!(call["toolRequest"]["name"], "request_review");
    assert_eq!(
        call["toolRequest"]["input"]["amount"], 35,
        "the order's price"
    );
    assert_eq!(call["metadata"][protocol::INTERRUPT], true);

    // Process 2, started from another directory: the decision resumes the conversation.
    let second = std::process::Command::new(ASYNC_REVIEW)
        .args([
            "decide",
            "--approve",
            "--note",
            "broken in transit",
            "--scripted",
        ])
        .args(["--state", state_arg])
        .current_dir(std::env::temp_dir())
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        stdout.contains("Loaded the paused conversation (5 messages)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("refund 35 euros for order A-1001"),
        "{stdout}"
    );
    // The scripted model words its answer from the decision it received.
    assert!(stdout.contains("[model] answered (stop)"), "{stdout}");
    assert!(stdout.contains("approved (broken in transit)"), "{stdout}");
    assert!(!state.exists(), "a finished review removes its file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rejection_reaches_the_model_too() {
    let state = temp_path("review-reject.json");
    let state_arg = state.to_str().unwrap();
    assert!(run(ASYNC_REVIEW, &["start", "--scripted", "--state", state_arg]).ok);
    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--reject",
            "--note",
            "past the deadline",
            "--scripted",
            "--state",
            state_arg,
        ],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout
            .contains("declined your refund (past the deadline)"),
        "{}",
        r.stdout
    );
}

#[test]
fn deciding_without_a_saved_conversation_says_what_to_do() {
    let state = temp_path("missing.json");
    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--scripted",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("run `async_review start` first"),
        "{}",
        r.dump()
    );
}

#[test]
fn deciding_needs_a_decision() {
    let r = run(ASYNC_REVIEW, &["decide", "--scripted"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("--approve or --reject"), "{}", r.dump());
}

#[tokio::test]
async fn a_file_saved_by_the_library_resumes_in_the_program() {
    // This process pauses; the program resumes. Neither knows the other.
    let ai = Genkit::builder()
        .model(async_review::scripted_model())
        .build()
        .unwrap();
    let complaint = "My order A-1002 never arrived.";
    let interrupted = async_review::start(&ai, "scripted", complaint)
        .await
        .unwrap();
    let state = temp_path("from-library.json");
    async_review::save(&state, interrupted.messages()).unwrap();

    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--note",
            "lost",
            "--scripted",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout.contains("refund 60 euros for order A-1002"),
        "{}",
        r.stdout
    );
    assert!(!state.exists());
}

#[tokio::test]
async fn the_resumed_model_call_carries_the_whole_history_and_the_decision() {
    let model = async_review::scripted_model();
    let ai = Genkit::builder().model(model.clone()).build().unwrap();
    let interrupted = async_review::start(&ai, "scripted", async_review::COMPLAINT)
        .await
        .unwrap();
    let saved = serde_json::to_string(interrupted.messages()).unwrap();

    let messages: Vec<Message> = serde_json::from_str(&saved).unwrap();
    let [pending] = async_review::pending(&messages)
        .try_into()
        .unwrap_or_else(|p: Vec<_>| panic!("one pending review, got {}", p.len()));
    let refund: Refund = pending.input().unwrap();
    assert_eq!((refund.order_id.as_str(), refund.amount), ("A-1001", 35));

    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let done = async_review::decide(&ai, "scripted", messages.clone(), &decision)
        .await
        .unwrap();
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
    assert!(async_review::pending(done.messages()).is_empty());

    let sent = model.last_request().unwrap().messages;
    assert_eq!(
        sent.len(),
        messages.len() + 1,
        "the history, plus the answer"
    );
    // The lookup from the first process is still there, unchanged.
    assert_eq!(sent[3], messages[3]);
    let answer = sent.last().unwrap().content[0].as_tool_response().unwrap();
    assert_eq!(answer.name, request_review::NAME);
    assert_eq!(answer.ref_.as_deref(), pending.ref_());
    assert_eq!(answer.output, Some(json!({"approved": true, "note": "ok"})));
}

#[test]
fn pending_is_empty_for_a_finished_conversation() {
    let messages = vec![Message::user("hi"), Message::model("hello")];
    assert!(async_review::pending(&messages).is_empty());
}

#[test]
fn async_review_against_the_local_model() {
    if !live_server("async_review_against_the_local_model") {
        return;
    }
    let state = temp_path("live-review.json");
    let state_arg = state.to_str().unwrap();
    let first = run(ASYNC_REVIEW, &["start", "--local", "--state", state_arg]);
    assert!(first.ok, "{}", first.dump());
    // Qwen2.5 0.5B at temperature 0 asks for the review straight away.
    assert!(
        first.stdout.contains("[model] called request_review"),
        "{}",
        first.dump()
    );
    let saved = read_json(&state);
    let last = saved.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "model");
    assert!(last["content"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["metadata"][protocol::INTERRUPT].is_boolean()));

    let second = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--note",
            "fine",
            "--local",
            "--state",
            state_arg,
        ],
    );
    assert!(second.ok, "{}", second.dump());
    let out = &second.stdout;
    assert!(out.contains("Loaded the paused conversation"), "{out}");
    assert!(
        out.contains("[model] "),
        "the model was called again:\n{out}"
    );
    if out.contains("Done; removed") {
        assert!(!state.exists());
    } else {
        // The small model asked again: the file now holds the decision and the new request.
        assert!(out.contains("asked for another review"), "{out}");
        let saved = read_json(&state);
        let answered = saved.as_array().unwrap().iter().any(|m| {
            m["role"] == "tool"
                && m["content"][0]["toolResponse"]["output"]
                    == json!({"approved": true, "note": "fine"})
        });
        assert!(answered, "the decision is in the history: {saved:#}");
        std::fs::remove_file(&state).unwrap();
    }
}
