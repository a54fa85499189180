//! The `support_agent` program: typed custom state and a supervisor's approval interrupt.

mod common;

use common::{run, temp_path};

const SUPPORT_AGENT: &str = env!("CARGO_BIN_EXE_support_agent");

fn snapshot_files(store: &std::path::Path) -> usize {
    std::fs::read_dir(store.join("global"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count()
}

#[test]
fn an_approved_refund_pays_and_the_ticket_counts_it() {
    let store = temp_path("support-approve");
    let r = run(
        SUPPORT_AGENT,
        &[
            "--scripted",
            "--approve",
            "--store",
            store.to_str().unwrap(),
        ],
    );
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(
        out.contains("[ticket] turns 1, refunds approved 0, declined 0"),
        "{out}"
    );
    assert!(
        out.contains("paused for a supervisor; stored as snapshot"),
        "{out}"
    );
    assert!(
        out.contains("refund 30 euros for order 42? [y/n] y"),
        "{out}"
    );
    assert!(out.contains("have been refunded"), "{out}");
    assert!(
        out.contains("[ticket] turns 2, refunds approved 1, declined 0"),
        "{out}"
    );
    assert_eq!(snapshot_files(&store), 2, "one snapshot per turn");
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn the_supervisor_may_answer_on_stdin_and_decline() {
    use std::io::Write;
    let store = temp_path("support-decline");
    let mut child = std::process::Command::new(SUPPORT_AGENT)
        .args(["--scripted", "--store", store.to_str().unwrap()])
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("refunds approved 0, declined 1"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&store).unwrap();
}

#[test]
fn without_an_answer_the_program_says_how_to_give_one() {
    let store = temp_path("support-no-answer");
    let r = run(
        SUPPORT_AGENT,
        &["--scripted", "--store", store.to_str().unwrap()],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("stdin closed before an answer"),
        "{}",
        r.dump()
    );
    let _ = std::fs::remove_dir_all(&store);
}
