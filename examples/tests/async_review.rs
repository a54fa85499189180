//! The `async_review` example: a conversation paused in one process and resumed in another,
//! with nothing but the agent's file session store in between.

mod common;

use common::{live_server, run, temp_path};
use examples::async_review::{self, request_review, Decision, Refund};
use genkit_core::prelude::*;
use genkit_core::protocol;
use genkit_core::session::FileSessionStore;
use genkit_core::AgentFinishReason;
use serde_json::{json, Value};

const ASYNC_REVIEW: &str = env!("CARGO_BIN_EXE_async_review");

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The session's latest snapshot as a plain JSON file (what Genkit JS's file store reads).
fn latest_file(store: &std::path::Path, session: &str) -> Value {
    let pointer = read_json(&store.join(format!("global/.pointers/{session}.json")));
    let id = pointer["currentSnapshotId"].as_str().unwrap().to_owned();
    read_json(&store.join(format!("global/{id}.json")))
}

#[test]
fn two_processes_share_nothing_but_the_session_store() {
    let store = temp_path("review-store");
    let store_arg = store.to_str().unwrap();

    // Process 1: the model looks the order up and asks for a review; the turn is stored; exit.
    let first = run(
        ASYNC_REVIEW,
        &[
            "start",
            "--scripted",
            "--session",
            "rev-1",
            "--store",
            store_arg,
        ],
    );
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
        first
            .stdout
            .contains("Stored the interrupted turn as snapshot"),
        "{}",
        first.stdout
    );

    // The store wrote it, in Genkit's file-store layout: the snapshot is completed and
    // interrupted, its last message the model's request_review call marked as an interrupt.
    let snap = latest_file(&store, "rev-1");
    assert_eq!(snap["sessionId"], "rev-1");
    assert_eq!(snap["status"], "completed");
    assert_eq!(snap["finishReason"], "interrupted");
    let messages = snap["state"]["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "tool", "model"]);
    let call = &messages[3]["content"][0];
    assert_eq!(call["toolRequest"]["name"], "request_review");
    assert_eq!(
        call["toolRequest"]["input"]["amount"], 35,
        "the order's price"
    );
    assert_eq!(call["metadata"][protocol::INTERRUPT], true);
    let interrupted_id = snap["snapshotId"].as_str().unwrap().to_owned();

    // Process 2, from another directory: load the session by id, answer, resume.
    let second = std::process::Command::new(ASYNC_REVIEW)
        .args(["decide", "--approve", "--note", "broken in transit"])
        .args(["--scripted", "--session", "rev-1", "--store", store_arg])
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
    assert!(stdout.contains("Loaded session rev-1"), "{stdout}");
    assert!(
        stdout.contains("refund 35 euros for order A-1001"),
        "{stdout}"
    );
    assert!(stdout.contains("[model] answered (stop)"), "{stdout}");
    assert!(stdout.contains("approved (broken in transit)"), "{stdout}");
    // the decided turn shows its own steps (the review answered now), not the first turn's
    assert!(stdout.contains("[tool] request_review "), "{stdout}");
    assert!(!stdout.contains("[tool] lookup_order"), "{stdout}");

    // the decided turn continues the interrupted one, which stays on record
    let done = latest_file(&store, "rev-1");
    assert_eq!(done["parentId"], json!(interrupted_id));
    assert_eq!(done["finishReason"], "stop");
    let tool = &done["state"]["messages"][4]["content"][0]["toolResponse"];
    assert_eq!(
        tool["output"],
        json!({"approved": true, "note": "broken in transit"})
    );

    // Process 3: the review was decided; deciding again is refused, nothing is paid twice.
    let again = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--reject",
            "--scripted",
            "--session",
            "rev-1",
            "--store",
            store_arg,
        ],
    );
    assert!(!again.ok);
    assert!(
        again.stderr.contains("waits on no review"),
        "{}",
        again.dump()
    );
    assert_eq!(
        latest_file(&store, "rev-1")["snapshotId"],
        done["snapshotId"]
    );
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn a_rejection_reaches_the_model_too() {
    let store = temp_path("review-reject");
    let store_arg = store.to_str().unwrap();
    let first = run(
        ASYNC_REVIEW,
        &[
            "start",
            "--scripted",
            "--session",
            "r",
            "--store",
            store_arg,
        ],
    );
    assert!(first.ok, "{}", first.dump());
    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--reject",
            "--note",
            "past the deadline",
            "--scripted",
            "--session",
            "r",
            "--store",
            store_arg,
        ],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout
            .contains("declined your refund (past the deadline)"),
        "{}",
        r.stdout
    );
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn start_without_a_session_id_prints_a_new_one_to_decide_with() {
    let store = temp_path("review-new-id");
    let store_arg = store.to_str().unwrap();
    let first = run(ASYNC_REVIEW, &["start", "--scripted", "--store", store_arg]);
    assert!(first.ok, "{}", first.dump());
    let session = first
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Session: "))
        .unwrap()
        .to_owned();
    assert!(
        first.stdout.contains(&format!("--session {session}")),
        "tells the next command: {}",
        first.stdout
    );
    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--scripted",
            "--session",
            &session,
            "--store",
            store_arg,
        ],
    );
    assert!(r.ok, "{}", r.dump());
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn deciding_an_unknown_session_says_what_to_do() {
    let store = temp_path("review-missing");
    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--scripted",
            "--session",
            "nobody",
            "--store",
            store.to_str().unwrap(),
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
fn deciding_needs_a_decision_and_a_session() {
    let r = run(ASYNC_REVIEW, &["decide", "--scripted", "--session", "s"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("--approve or --reject"), "{}", r.dump());
    let r = run(ASYNC_REVIEW, &["decide", "--approve", "--scripted"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("--session ID"), "{}", r.dump());
}

#[tokio::test]
async fn a_session_paused_by_the_library_resumes_in_the_program() {
    // This process pauses; the program resumes. They share the directory only.
    let store = temp_path("review-from-library");
    let ai = Genkit::builder()
        .model(async_review::scripted_model())
        .build()
        .unwrap();
    let agent = async_review::agent("scripted", FileSessionStore::new(&store));
    let paused = async_review::start(&ai, &agent, "lib-1", "My order A-1002 never arrived.")
        .await
        .unwrap();
    assert_eq!(
        paused.finish_reason(),
        Some(&AgentFinishReason::Interrupted)
    );
    drop((ai, agent));

    let r = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--note",
            "lost",
            "--scripted",
            "--session",
            "lib-1",
            "--store",
            store.to_str().unwrap(),
        ],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout.contains("refund 60 euros for order A-1002"),
        "{}",
        r.stdout
    );
    std::fs::remove_dir_all(&store).unwrap();
}

#[tokio::test]
async fn the_resumed_model_call_carries_the_stored_history_and_the_decision() {
    let store = temp_path("review-history");
    let model = async_review::scripted_model();
    let ai = Genkit::builder().model(model.clone()).build().unwrap();
    let agent = async_review::agent("scripted", FileSessionStore::new(&store));
    let paused = async_review::start(&ai, &agent, "h-1", async_review::COMPLAINT)
        .await
        .unwrap();
    let stored = paused.messages().to_vec();

    let [pending] = async_review::pending(&agent, "h-1")
        .await
        .unwrap()
        .try_into()
        .unwrap_or_else(|p: Vec<_>| panic!("one pending review, got {}", p.len()));
    let refund: Refund = pending.input().unwrap();
    assert_eq!((refund.order_id.as_str(), refund.amount), ("A-1001", 35));

    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let done = async_review::decide(&ai, &agent, "h-1", &decision)
        .await
        .unwrap();
    assert_eq!(done.finish_reason(), Some(&AgentFinishReason::Stop));
    assert!(async_review::pending(&agent, "h-1")
        .await
        .unwrap()
        .is_empty());

    let sent = model.last_request().unwrap().messages;
    // the system prompt, the stored history, the answer
    assert_eq!(sent.len(), 1 + stored.len() + 1);
    assert_eq!(sent[3], stored[2], "the first process's lookup, unchanged");
    let answer = sent.last().unwrap().content[0].as_tool_response().unwrap();
    assert_eq!(answer.name, request_review::NAME);
    assert_eq!(answer.ref_.as_deref(), pending.ref_());
    assert_eq!(answer.output, Some(json!({"approved": true, "note": "ok"})));
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn async_review_against_the_local_model() {
    if !live_server("async_review_against_the_local_model") {
        return;
    }
    let store = temp_path("live-review");
    let store_arg = store.to_str().unwrap();
    let first = run(
        ASYNC_REVIEW,
        &[
            "start",
            "--local",
            "--session",
            "live-1",
            "--store",
            store_arg,
        ],
    );
    assert!(first.ok, "{}", first.dump());
    // Qwen2.5 0.5B at temperature 0 asks for the review straight away.
    assert!(
        first.stdout.contains("[model] called request_review"),
        "{}",
        first.dump()
    );
    let snap = latest_file(&store, "live-1");
    assert_eq!(snap["finishReason"], "interrupted", "{snap:#}");

    let second = run(
        ASYNC_REVIEW,
        &[
            "decide",
            "--approve",
            "--note",
            "fine",
            "--local",
            "--session",
            "live-1",
            "--store",
            store_arg,
        ],
    );
    assert!(second.ok, "{}", second.dump());
    let out = &second.stdout;
    assert!(out.contains("Loaded session live-1"), "{out}");
    assert!(
        out.contains("[model] "),
        "the model was called again:\n{out}"
    );
    // whatever the small model says next, the decision is in the stored history
    let snap = latest_file(&store, "live-1");
    let answered = snap["state"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| {
            m["role"] == "tool"
                && m["content"].as_array().unwrap().iter().any(|p| {
                    p["toolResponse"]["output"] == json!({"approved": true, "note": "fine"})
                })
        });
    assert!(answered, "the decision is in the history: {snap:#}");
    std::fs::remove_dir_all(&store).unwrap();
}
