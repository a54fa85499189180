//! The reviewer console with clients nobody here wrote: Genkit JS's `remoteAgent` against its
//! agent routes, and a real headless Chromium clicking through its page. Each needs its tool
//! (`GENKIT_JS_DIR` from `scripts/genkit-js`; `GENKIT_PLAYWRIGHT_DIR` and `GENKIT_CHROMIUM` from
//! `scripts/browser`); without it a plain `cargo test` says so and checks nothing, and under
//! `GENKIT_REQUIRE_JS=1` / `GENKIT_REQUIRE_BROWSER=1` (what `scripts/test` sets) it fails instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The console program on a free port; killed on drop.
struct Console {
    child: Child,
    url: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Console {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reviewer_console"))
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("the console starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("its URL");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("a URL on the first line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Console { child, url }
}

/// The directory in `var`, or `None` (skip) unless `require` is set.
fn tool_dir(var: &str, require: &str, what: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(d) => Some(PathBuf::from(d)),
        Err(_) => {
            assert!(
                std::env::var_os(require).is_none(),
                "{require} is set but {var} is not: {what}"
            );
            eprintln!("SKIPPED: set {var} ({what})");
            None
        }
    }
}

/// Runs `script` (from tests/js) with node in `dir` (ESM imports resolve from the script's own
/// directory, so it is copied there).
fn node(dir: &Path, script: &str, args: &[&str]) -> String {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js")
        .join(script);
    let local = dir.join(format!("genkit-rs-{script}"));
    std::fs::copy(source, &local).expect("copy the script");
    let out = Command::new("node")
        .arg(&local)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn genkit_js_remote_agent_talks_to_the_rust_agent() {
    let Some(dir) = tool_dir(
        "GENKIT_JS_DIR",
        "GENKIT_REQUIRE_JS",
        "run `eval \"$(scripts/genkit-js env)\"`",
    ) else {
        return;
    };
    let console = start();
    let out = node(&dir, "remote_agent.mjs", &[&console.url]);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).expect("a JSON summary");
    assert_eq!(summary["abort"]["ended"], "aborted");
    assert_eq!(
        summary["detach"]["polled"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "completed"
    );
    assert_ne!(
        summary["interrupt"]["snapshotId"],
        summary["resume"]["snapshotId"]
    );
}

#[test]
fn a_reviewer_approves_in_a_real_browser() {
    let Some(dir) = tool_dir(
        "GENKIT_PLAYWRIGHT_DIR",
        "GENKIT_REQUIRE_BROWSER",
        "run `eval \"$(scripts/browser env)\"`",
    ) else {
        return;
    };
    let chromium = std::env::var("GENKIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    // the screenshot is a CI artifact of the run
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let artifacts = target.join("ci-artifacts");
    std::fs::create_dir_all(&artifacts).expect("the artifacts directory");
    let screenshot = artifacts.join("reviewer-console.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = std::env::temp_dir().join(format!("genkit-rs-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let console = start();
    node(
        &dir,
        "reviewer_console_browser.mjs",
        &[
            &console.url,
            &chromium,
            screenshot.to_str().expect("a UTF-8 path"),
            profile.to_str().expect("a UTF-8 path"),
        ],
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    println!("screenshot: {}", screenshot.display());
    eprintln!(
        "reviewer console screenshot saved at {}",
        screenshot.display()
    );
    let _ = std::fs::remove_dir_all(&profile);
}
