//! What the example tests share: running an example program, and the live-server switch.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The outcome of one run of an example program.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn dump(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

fn collect(out: Output) -> Run {
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the program at `exe` (an `env!("CARGO_BIN_EXE_...")`) with `args`, stdin closed,
/// never against OpenAI.
///
/// A live run talks to the examples' own default model when `scripts/test` serves it
/// (`GENKIT_EXAMPLES_LLM_URL` and `GENKIT_EXAMPLES_LLM_MODEL`: the 1.5B, what a user of the
/// examples gets), and otherwise to the server of `GENKIT_LLM_URL`.
pub fn run(exe: &str, args: &[&str]) -> Run {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null());
    for (from, to) in [
        ("GENKIT_EXAMPLES_LLM_URL", "GENKIT_LLM_URL"),
        ("GENKIT_EXAMPLES_LLM_MODEL", "GENKIT_LLM_MODEL"),
    ] {
        if let Some(value) = std::env::var_os(from).filter(|v| !v.is_empty()) {
            command.env(to, value);
        }
    }
    collect(command.output().expect("the example runs"))
}

/// A path in the temp directory no other test uses.
pub fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "genkit-examples-{}-{nanos}-{name}",
        std::process::id()
    ))
}

/// True when a live model server is configured (`GENKIT_LLM_URL`). Otherwise says the test
/// is skipped, past the harness's capture so that the skip is visible, and returns false;
/// with `GENKIT_REQUIRE_LLM=1` a missing server fails the test instead.
pub fn live_server(test: &str) -> bool {
    if std::env::var("GENKIT_LLM_URL").is_ok_and(|u| !u.is_empty()) {
        return true;
    }
    assert!(
        std::env::var("GENKIT_REQUIRE_LLM").as_deref() != Ok("1"),
        "GENKIT_REQUIRE_LLM=1 but GENKIT_LLM_URL is not set"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test} needs a model server; set GENKIT_LLM_URL \
         (scripts/local-llm start && eval \"$(scripts/local-llm env)\")"
    );
    false
}
