//! The `distributed_review` example, run as a user runs it: two worker processes and a reviewer
//! CLI, each a separate process, on one PostgreSQL database (`GENKIT_PG_URL`; without it the test
//! prints `SKIPPED`, and `scripts/test` sets `GENKIT_REQUIRE_PG=1` so there it fails instead).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_distributed_review");

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(schema: &str, args: &[&str]) -> Out {
    let out = Command::new(BIN)
        .args(["--schema", schema])
        .args(args)
        .output()
        .expect("run distributed_review");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `key=value` of a line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

#[test]
fn two_workers_pause_and_a_reviewer_on_another_process_decides() {
    if std::env::var("GENKIT_PG_URL").is_err() {
        assert!(
            std::env::var_os("GENKIT_REQUIRE_PG").is_none(),
            "GENKIT_REQUIRE_PG is set but GENKIT_PG_URL is not: eval \"$(scripts/postgres env)\""
        );
        eprintln!("SKIPPED two_workers_pause_and_a_reviewer_decides: set GENKIT_PG_URL (scripts/postgres start; eval \"$(scripts/postgres env)\")");
        return;
    }
    let schema = format!("ex_review_{}", std::process::id());

    // two workers at once, each a process that exits once its turn paused
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            run(
                &schema,
                &[
                    "--tenant",
                    "acme",
                    "--name",
                    "A",
                    "worker",
                    "Order 41 arrived broken, 30 euros back please",
                ],
            )
        });
        let b = s.spawn(|| {
            run(
                &schema,
                &[
                    "--tenant",
                    "acme",
                    "--name",
                    "B",
                    "worker",
                    "Order 42 never came, refund 55 euros",
                ],
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(
        a.ok && b.ok,
        "{}{}{}{}",
        a.stdout,
        a.stderr,
        b.stdout,
        b.stderr
    );
    let snap_a = field(&a.stdout, "snapshot").to_owned();
    let snap_b = field(&b.stdout, "snapshot").to_owned();
    assert_eq!(field(&a.stdout, "amount"), "30");
    // another tenant's review is not acme's business
    let other = run(
        &schema,
        &[
            "--tenant",
            "globex",
            "--name",
            "C",
            "worker",
            "Order 7, 99 euros",
        ],
    );
    assert!(other.ok, "{}", other.stderr);

    let listed = run(&schema, &["--tenant", "acme", "reviewer", "list"]);
    assert!(listed.ok, "{}", listed.stderr);
    let reviews: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| l.starts_with("review "))
        .collect();
    assert_eq!(reviews.len(), 2, "{}", listed.stdout);
    assert!(reviews
        .iter()
        .any(|l| field(l, "snapshot") == snap_a && field(l, "taken_by") == "A"));
    assert!(reviews.iter().any(|l| field(l, "snapshot") == snap_b
        && field(l, "taken_by") == "B"
        && field(l, "amount") == "55"));

    let approved = run(
        &schema,
        &[
            "--tenant",
            "acme",
            "reviewer",
            "approve",
            &snap_a,
            "damaged in transit",
        ],
    );
    assert!(approved.ok, "{}", approved.stderr);
    assert!(
        approved
            .stdout
            .contains("customer: Good news: your refund is approved (damaged in transit)."),
        "{}",
        approved.stdout
    );
    let declined = run(
        &schema,
        &[
            "--tenant",
            "acme",
            "reviewer",
            "decline",
            &snap_b,
            "no proof of loss",
        ],
    );
    assert!(declined.ok, "{}", declined.stderr);
    assert!(
        declined
            .stdout
            .contains("customer: Sorry, your refund was declined (no proof of loss)."),
        "{}",
        declined.stdout
    );

    // an answer is given once: a second decision on the same review is refused
    let again = run(
        &schema,
        &[
            "--tenant",
            "acme",
            "reviewer",
            "decline",
            &snap_a,
            "changed my mind",
        ],
    );
    assert!(
        !again.ok,
        "a second decision was accepted: {}",
        again.stdout
    );
    assert!(again.stderr.contains("already resumed"), "{}", again.stderr);
    let after = run(&schema, &["--tenant", "acme", "reviewer", "list"]);
    assert!(
        after.stdout.contains("no reviews waiting"),
        "{}",
        after.stdout
    );
    let theirs = run(&schema, &["--tenant", "globex", "reviewer", "list"]);
    assert_eq!(
        theirs
            .stdout
            .lines()
            .filter(|l| l.starts_with("review "))
            .count(),
        1,
        "{}",
        theirs.stdout
    );

    let _ = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres"))
        .args([
            "psql",
            "-qc",
            &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
        ])
        .output();
}
