//! Runs the `trivia` demo non-interactively against the local model server
//! (`GENKIT_LLM_URL`, as for genkit-openai's live tests; skipped with a message without it,
//! a failure with `GENKIT_REQUIRE_LLM=1`).

use std::io::Write;
use std::process::Command;

#[test]
fn trivia_runs_end_to_end_with_answers_from_the_command_line() {
    if std::env::var("GENKIT_LLM_URL").map_or(true, |u| u.is_empty()) {
        assert!(
            std::env::var("GENKIT_REQUIRE_LLM").as_deref() != Ok("1"),
            "GENKIT_REQUIRE_LLM=1 but GENKIT_LLM_URL is not set"
        );
        // Past the harness's capture, so the skip is visible.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: trivia demo test needs a model server; set GENKIT_LLM_URL \
             (scripts/local-llm start && eval \"$(scripts/local-llm env)\")"
        );
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_trivia"))
        // One round: two model calls keep the test short on a loaded CI machine.
        .args(["--local", "--answer", "1", "--rounds", "1"])
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
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
    let out = Command::new(env!("CARGO_BIN_EXE_trivia"))
        .args(["--local", "--answer", "1"])
        .env("GENKIT_LLM_URL", format!("http://127.0.0.1:{port}/v1"))
        .output()
        .expect("the demo runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scripts/local-llm start"), "{stderr}");
}
