//! The file store's own behaviour (the conformance suite runs in `session_stores.rs`): Genkit
//! JS's and Go's file layout, read and written both ways; the file layout; a corrupt pointer; two
//! processes writing one directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use genkit_core::session::{FileSessionStore, SessionStore, SnapshotFilter, StoreScope};
use genkit_core::{Message, SessionSnapshot, SessionState, SnapshotStatus};
use serde_json::{json, Value};

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "genkit-rs-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const JS_SESSION: &str = "js-session-1";
const JS_FIRST: &str = "7c39dc5c-4213-4a7e-9306-fb5612a91020";
const JS_SECOND: &str = "95534839-5d6d-4b23-af5c-f280a9f54685";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fixture_copy() -> PathBuf {
    let dir = temp_dir("js-fixture");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/genkit-js-file-store"),
        &dir,
    );
    dir
}

fn child_turn(session: &str, parent: &str, text: &str) -> SessionSnapshot {
    SessionSnapshot::new_turn(
        session,
        Some(parent.to_owned()),
        SessionState {
            messages: Some(vec![Message::user(text)].into()),
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn a_directory_written_by_genkit_js_reads_back_and_continues() {
    let dir = fixture_copy();
    let store = FileSessionStore::new(&dir);
    let scope = StoreScope::global();

    let first = store.get_snapshot(&scope, JS_FIRST).await.unwrap().unwrap();
    assert_eq!(first.session_id.as_deref(), Some(JS_SESSION));
    let state = first.state.as_ref().unwrap();
    assert_eq!(state.messages()[0].text(), "hi from js \u{0} nul");
    assert_eq!(state.custom, Some(json!({"cart": ["apple"]})));
    assert_eq!(state.artifacts()[0].name.as_deref(), Some("plan"));
    // JS writes no snapshotId into the file (it is the file name); the store fills it in.
    assert_eq!(first.snapshot_id, JS_FIRST);

    // JS's pointer has no currentCreatedAt; it still resolves the latest.
    let latest = store
        .get_latest_snapshot(&scope, JS_SESSION, &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.snapshot_id, JS_SECOND);
    assert_eq!(latest.parent_id.as_deref(), Some(JS_FIRST));
    assert_eq!(
        latest.finish_reason.as_ref().map(|r| r.as_str()),
        Some("interrupted")
    );
    let request = latest.state.as_ref().unwrap().messages()[1].content[0]
        .as_tool_request()
        .unwrap()
        .clone();
    assert_eq!(request.name, "approve");

    // Continue the JS session from Rust: the pointer moves to the new turn.
    let next = store
        .save_snapshot(&scope, None, &|_| {
            Ok(Some(child_turn(JS_SESSION, JS_SECOND, "approved")))
        })
        .await
        .unwrap()
        .unwrap();
    let again = FileSessionStore::new(&dir)
        .get_latest_snapshot(&scope, JS_SESSION, &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.snapshot_id, next.snapshot_id);
    let pointer: Value = serde_json::from_slice(
        &std::fs::read(dir.join("global/.pointers/js-session-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pointer["currentSnapshotId"], json!(next.snapshot_id));
    assert_eq!(pointer["currentCreatedAt"], json!(next.created_at));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_snapshot_in_genkit_go_form_reads_back_and_takes_a_heartbeat() {
    // As Genkit Go's localstore writes it (go/ai/exp/localstore/file.go): nanosecond times with an
    // offset, a zero updatedAt, a pointer with currentCreatedAt.
    let dir = temp_dir("go-form");
    let global = dir.join("global");
    std::fs::create_dir_all(global.join(".pointers")).unwrap();
    std::fs::write(
        global.join("go-snap-1.json"),
        r#"{
  "createdAt": "2026-02-01T05:00:00.123456789-05:00",
  "heartbeatAt": "2026-02-01T05:00:30.5-05:00",
  "sessionId": "go-session",
  "snapshotId": "go-snap-1",
  "status": "pending",
  "updatedAt": "0001-01-01T00:00:00Z"
}"#,
    )
    .unwrap();
    std::fs::write(
        global.join(".pointers/go-session.json"),
        r#"{"currentSnapshotId":"go-snap-1","currentCreatedAt":"2026-02-01T05:00:00.123456789-05:00","updatedAt":"2026-02-01T10:00:00Z"}"#,
    )
    .unwrap();
    let store = FileSessionStore::new(&dir);
    let scope = StoreScope::global();
    let snap = store
        .get_latest_snapshot(&scope, "go-session", &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.status, Some(SnapshotStatus::Pending));
    let beat_at = genkit_core::session::parse_timestamp("2026-02-01T10:00:30.5Z").unwrap();
    assert_eq!(snap.effective_status(beat_at), SnapshotStatus::Pending);
    assert_eq!(
        snap.effective_status(beat_at + std::time::Duration::from_secs(61)),
        SnapshotStatus::Expired
    );
    // A heartbeat written from Rust keeps Go's fields as they were.
    let beat = genkit_core::session::format_timestamp(beat_at);
    let beaten = store
        .save_snapshot(&scope, Some("go-snap-1"), &|c| {
            Ok(c.map(|c| SessionSnapshot {
                heartbeat_at: Some(beat.clone()),
                ..c.clone()
            }))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(beaten.updated_at.as_deref(), Some("0001-01-01T00:00:00Z"));
    assert_eq!(beaten.created_at, "2026-02-01T05:00:00.123456789-05:00");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn files_are_in_genkit_layout_and_no_temp_file_is_left() {
    let dir = temp_dir("layout");
    let store = FileSessionStore::new(&dir);
    let scope = StoreScope::new("tenant-a").unwrap();
    let first = store
        .save_snapshot(&scope, None, &|_| {
            Ok(Some(SessionSnapshot::new_turn(
                "sess-x",
                None,
                SessionState::default(),
            )))
        })
        .await
        .unwrap()
        .unwrap();
    let tenant = dir.join("tenant-a");
    let mut names: Vec<String> = std::fs::read_dir(&tenant)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ".lock".to_owned(),
            ".pointers".into(),
            format!("{}.json", first.snapshot_id)
        ]
    );
    let text = std::fs::read_to_string(tenant.join(format!("{}.json", first.snapshot_id))).unwrap();
    assert!(text.starts_with("{\n  \"snapshotId\""), "{text}");
    let pointer: Value =
        serde_json::from_slice(&std::fs::read(tenant.join(".pointers/sess-x.json")).unwrap())
            .unwrap();
    assert_eq!(pointer["currentSnapshotId"], json!(first.snapshot_id));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_lost_or_corrupt_pointer_falls_back_to_the_scan() {
    let dir = temp_dir("pointer");
    let store = FileSessionStore::new(&dir);
    let scope = StoreScope::global();
    let mut parent: Option<String> = None;
    for i in 0..3 {
        let s = store
            .save_snapshot(&scope, None, &|_| {
                let mut t =
                    SessionSnapshot::new_turn("sess-p", parent.clone(), SessionState::default());
                t.created_at = format!("2026-01-01T00:00:0{i}Z");
                Ok(Some(t))
            })
            .await
            .unwrap()
            .unwrap();
        parent = Some(s.snapshot_id);
    }
    let pointer = dir.join("global/.pointers/sess-p.json");
    std::fs::write(&pointer, "{ half a poin").unwrap();
    let latest = store
        .get_latest_snapshot(&scope, "sess-p", &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(latest.snapshot_id.clone()), parent);
    // The scan repaired it.
    let repaired: Value = serde_json::from_slice(&std::fs::read(&pointer).unwrap()).unwrap();
    assert_eq!(repaired["currentSnapshotId"], json!(latest.snapshot_id));
    std::fs::remove_file(&pointer).unwrap();
    let latest = store
        .get_latest_snapshot(&scope, "sess-p", &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(latest.snapshot_id), parent);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The child side of `two_processes_writing_one_directory_lose_nothing`: increments the shared
/// counter `GENKIT_STORE_CHILD_SAVES` times. Does nothing unless run as that child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_counter_writer() {
    let (Ok(dir), Ok(saves), Ok(tag)) = (
        std::env::var("GENKIT_STORE_CHILD_DIR"),
        std::env::var("GENKIT_STORE_CHILD_SAVES"),
        std::env::var("GENKIT_STORE_CHILD_TAG"),
    ) else {
        return;
    };
    let saves: usize = saves.parse().unwrap();
    let store = FileSessionStore::new(dir);
    bump_counter(&store, &tag, saves).await;
}

async fn bump_counter(store: &FileSessionStore, tag: &str, saves: usize) {
    let scope = StoreScope::global();
    for i in 0..saves {
        let mark = format!("{tag}-{i}");
        store
            .save_snapshot(&scope, Some("counter"), &|cur| {
                let mut next = cur.cloned().unwrap_or_else(|| {
                    SessionSnapshot::new_turn("sess-count", None, SessionState::default())
                });
                let state = next.state.get_or_insert_with(Default::default);
                let custom = state.custom.get_or_insert_with(|| json!({"marks": []}));
                if let Some(marks) = custom["marks"].as_array_mut() {
                    marks.push(json!(mark.clone()));
                }
                Ok(Some(next))
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_one_directory_lose_nothing() {
    const SAVES: usize = 60;
    let dir = temp_dir("two-processes");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let spawn = |tag: &str| {
        std::process::Command::new(&exe)
            .args([
                "--exact",
                "child_process_counter_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GENKIT_STORE_CHILD_DIR", &dir)
            .env("GENKIT_STORE_CHILD_SAVES", SAVES.to_string())
            .env("GENKIT_STORE_CHILD_TAG", tag)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut children = [spawn("child-a"), spawn("child-b")];
    // This process writes too, at the same time.
    bump_counter(&FileSessionStore::new(&dir), "parent", SAVES).await;
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
    let counter = FileSessionStore::new(&dir)
        .get_snapshot(&StoreScope::global(), "counter")
        .await
        .unwrap()
        .unwrap();
    let marks = counter.state.unwrap().custom.unwrap()["marks"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        marks,
        3 * SAVES,
        "read-modify-writes of three processes were lost"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Genkit JS itself reads what genkit-rs wrote. Needs a directory with `node_modules/genkit`
/// 1.42.0 in `GENKIT_JS_DIR` (and `node`; `scripts/genkit-js` installs it). Without it, a plain
/// `cargo test` says so and checks nothing; under `GENKIT_REQUIRE_JS=1` (what `scripts/test` sets)
/// it fails instead.
#[tokio::test]
async fn genkit_js_reads_what_genkit_rs_wrote() {
    let Ok(js_dir) = std::env::var("GENKIT_JS_DIR") else {
        assert!(
            std::env::var_os("GENKIT_REQUIRE_JS").is_none(),
            "GENKIT_REQUIRE_JS is set but GENKIT_JS_DIR is not: run `eval \"$(scripts/genkit-js env)\"`"
        );
        eprintln!("SKIPPED genkit_js_reads_what_genkit_rs_wrote: set GENKIT_JS_DIR to a directory with node_modules/genkit 1.42.0");
        return;
    };
    let dir = temp_dir("rs-for-js");
    let store = FileSessionStore::new(&dir);
    let scope = StoreScope::global();
    let first = store
        .save_snapshot(&scope, None, &|_| {
            let mut s = SessionSnapshot::new_turn(
                "rs-session",
                None,
                SessionState {
                    messages: Some(
                        vec![Message::user("nul \u{0} here"), Message::model("ok")].into(),
                    ),
                    custom: Some(json!({"n": 1})),
                    ..Default::default()
                },
            );
            s.created_at = "2026-03-01T00:00:00.000001Z".into();
            Ok(Some(s))
        })
        .await
        .unwrap()
        .unwrap();
    let second = store
        .save_snapshot(&scope, None, &|_| {
            let mut s = child_turn("rs-session", &first.snapshot_id, "more");
            s.created_at = "2026-03-01T00:00:00.000002Z".into();
            Ok(Some(s))
        })
        .await
        .unwrap()
        .unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/genkit_js_file_store.mjs");
    let local = Path::new(&js_dir).join("genkit_js_file_store.mjs");
    std::fs::copy(script, &local).unwrap();
    let out = std::process::Command::new("node")
        .arg(&local)
        .args([
            "read",
            dir.to_str().unwrap(),
            "rs-session",
            &first.snapshot_id,
        ])
        .current_dir(&js_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["bySnapshot"], serde_json::to_value(&first).unwrap());
    assert_eq!(read["latest"], serde_json::to_value(&second).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}
