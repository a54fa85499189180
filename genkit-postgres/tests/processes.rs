//! Several OS processes, one database: what "any machine resumes any conversation" needs.
//!
//! This test binary re-invokes itself as worker processes (the `worker_process` test, which
//! does nothing unless `GENKIT_PG_ROLE` is set). Each worker is a separate process with its own
//! pool, its own `Genkit` instance and its own scripted model (genkit-core's programmable
//! model: engine tests, not a language model). Workers print `@@`-prefixed lines on stdout for
//! the test to read.
//!
//! - four workers share the database: every session is sent and interrupted by one worker and
//!   resumed by the next; every answer lands in its own session, counted and checked;
//! - a worker killed with SIGKILL in the middle of a detached turn: its snapshot reads as
//!   expired once the heartbeat window passes, and another worker continues the session from
//!   the last completed snapshot;
//! - an abort written by this process reaches the detached turn running in a worker within a
//!   second (LISTEN/NOTIFY);
//! - two workers resume one interrupted snapshot at the same moment: both persist, as a branch.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use genkit_core::agent::{Agent, ChatRef, PromptSpec};
use genkit_core::session::{
    set_heartbeat_window, HeartbeatWindow, ListQuery, SessionStore, SnapshotFilter, StoreScope,
};
use genkit_core::testing::ProgrammableModel;
use genkit_core::{
    AgentFinishReason, AgentInit, FinishReason, Genkit, GenkitError, Interrupt, Message,
    ModelRequest, ModelResponse, Part, Role, SnapshotStatus, Tool, ToolContext, ToolRequest,
    TypedTool,
};
use genkit_postgres::PostgresSessionStore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const ROLE: &str = "GENKIT_PG_ROLE";
const WORKER_ID: &str = "GENKIT_PG_WORKER_ID";
const SCHEMA: &str = "GENKIT_PG_SCHEMA";

/// The heartbeat of this binary and its workers: a beat every 200 ms, expired after 1 s.
const WINDOW: HeartbeatWindow = HeartbeatWindow {
    interval: Duration::from_millis(200),
    timeout: Duration::from_secs(1),
};

fn short_heartbeat() {
    set_heartbeat_window(WINDOW).expect("one heartbeat window for the whole test binary");
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Ask {
    /// the number of the session asking
    n: u64,
    /// the worker that asked
    asked_by: String,
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Nothing {}

fn worker_id() -> String {
    std::env::var(WORKER_ID).unwrap_or_else(|_| "test".into())
}

/// The scripted model: `pay N` asks `approve`; an answer to it is acknowledged naming the
/// answer and this worker; `slow` runs `slow_step`; anything else is answered `ok`.
fn model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    let me = worker_id();
    model.set_handler(move |req: &ModelRequest| {
        let last = req.messages.last();
        let reply = |m: Message| Ok(ModelResponse::new(m, FinishReason::Stop));
        if let Some(resp) = last
            .filter(|m| m.role == Role::Tool)
            .and_then(|m| m.content.iter().find_map(Part::as_tool_response))
        {
            let out = resp.output.clone().unwrap_or_default();
            return reply(Message::model(format!(
                "{} answered {out} by {me}",
                resp.name
            )));
        }
        let text = last.map(Message::text).unwrap_or_default();
        if let Some(n) = text.strip_prefix("pay ") {
            let n: u64 = n.trim().parse().unwrap_or(0);
            return reply(Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "approve",
                    Some("a1".into()),
                    json!({"n": n, "asked_by": me}),
                ))],
            ));
        }
        if text == "slow" {
            return reply(Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "slow_step",
                    Some("s1".into()),
                    json!({}),
                ))],
            ));
        }
        reply(Message::model(format!("ok from {me}")))
    });
    model
}

/// Prints `@@STOPPED` when dropped: the slow tool's future was cancelled (an abort).
struct StopMark;

impl Drop for StopMark {
    fn drop(&mut self) {
        println!("@@STOPPED");
    }
}

struct App {
    ai: Genkit,
    agent: Agent,
    approve: Tool<Ask, u64>,
    store: PostgresSessionStore,
}

async fn app(url: &str, schema: &str, branching: bool) -> App {
    let store = common::builder(url, schema)
        .pool_size(6)
        .connect()
        .await
        .expect("store");
    let approve: Tool<Ask, u64> = Tool::interrupt("approve", "asks a reviewer to approve");
    let slow: Tool<Nothing, String> = Tool::new(
        "slow_step",
        "a step that takes an hour",
        |_: Nothing, _ctx: ToolContext| async move {
            let _mark = StopMark;
            println!("@@SLOW");
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok("done".to_owned())
        },
    );
    let agent: Agent = Agent::prompt(
        "reviewed",
        PromptSpec::new()
            .model("scripted")
            .tools(["approve", "slow_step"]),
    )
    .shared_store(Arc::new(store.clone()))
    .branching(branching)
    .build();
    let ai = Genkit::builder()
        .model(model())
        .tool(approve.clone())
        .tool(slow)
        .agent(agent.clone())
        .build()
        .expect("instance");
    App {
        ai,
        agent,
        approve,
        store,
    }
}

fn session_name(i: u64) -> String {
    format!("sess-{i}")
}

// ---------------------------------------------------------------------------------------------
// The worker side

/// A worker process, when run as one (`GENKIT_PG_ROLE` set); otherwise nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    short_heartbeat();
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("worker needs {k}"));
    let url = env(common::URL_VAR);
    let schema = env(SCHEMA);
    let branching = std::env::var_os("GENKIT_PG_BRANCHING").is_some();
    let app = app(&url, &schema, branching).await;
    match role.as_str() {
        "fleet" => fleet_worker(&app, &env).await,
        "detach" => {
            let session = env("GENKIT_PG_SESSION");
            let mut chat = app.agent.chat_with(
                &app.ai,
                AgentInit {
                    session_id: Some(session.clone()),
                    ..Default::default()
                },
            );
            let first = chat.send("hello").await.expect("first turn");
            println!("@@COMPLETED {}", first.snapshot_id().expect("id"));
            let turn = chat.detach("slow").await.expect("detach");
            println!("@@DETACHED {}", turn.snapshot_id());
            // keep running the detached turn until killed
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
        "continue" => {
            let session = env("GENKIT_PG_SESSION");
            let mut chat = app
                .agent
                .load_chat(&app.ai, ChatRef::Session(session))
                .await
                .expect("load the session");
            let r = chat.send("again").await.expect("turn");
            let id = r.snapshot_id().expect("id").to_owned();
            let snap = app
                .agent
                .snapshot(&ChatRef::Snapshot(id.clone()))
                .await
                .expect("read")
                .expect("stored");
            println!(
                "@@CONTINUED {id} {} {}",
                snap.parent_id.unwrap_or_default(),
                r.text()
            );
        }
        "resume" => {
            let snapshot = env("GENKIT_PG_SNAPSHOT");
            let amount: u64 = env("GENKIT_PG_AMOUNT").parse().expect("amount");
            let start_at: u64 = env("GENKIT_PG_START_AT").parse().expect("start");
            let stored = app
                .store
                .get_snapshot(&StoreScope::global(), &snapshot)
                .await
                .expect("read")
                .expect("the interrupted snapshot");
            let interrupt = Interrupt::pending_in(stored.state.as_ref().expect("state").messages())
                .into_iter()
                .next()
                .expect("an interrupt");
            // both workers go at the same moment
            let now = unix_ms();
            if start_at > now {
                tokio::time::sleep(Duration::from_millis(start_at - now)).await;
            }
            let mut chat = app
                .agent
                .load_chat(&app.ai, ChatRef::Snapshot(snapshot))
                .await
                .expect("load");
            let answer = app.approve.respond(&interrupt, amount).expect("respond");
            let done = chat.resume([answer]).await.expect("resume");
            assert_eq!(
                done.finish_reason(),
                Some(&AgentFinishReason::Stop),
                "{:?}",
                done.error()
            );
            println!("@@RESUMED {}", done.snapshot_id().expect("id"));
        }
        other => panic!("unknown role {other}"),
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Sends and interrupts its own sessions, then resumes those the previous worker paused.
async fn fleet_worker(app: &App, env: &dyn Fn(&str) -> String) {
    let me: u64 = env(WORKER_ID).parse().expect("worker id");
    let workers: u64 = env("GENKIT_PG_WORKERS").parse().expect("workers");
    let sessions: u64 = env("GENKIT_PG_SESSIONS").parse().expect("sessions");
    let own: Vec<u64> = (0..sessions).filter(|i| i % workers == me).collect();
    let theirs: Vec<u64> = (0..sessions)
        .filter(|i| (i % workers + 1) % workers == me)
        .collect();
    let sent = futures::stream::iter(own.iter().copied())
        .map(|i| async move {
            let mut chat = app.agent.chat_with(
                &app.ai,
                AgentInit {
                    session_id: Some(session_name(i)),
                    ..Default::default()
                },
            );
            let paused = chat.send(format!("pay {i}")).await?;
            assert_eq!(
                paused.finish_reason(),
                Some(&AgentFinishReason::Interrupted),
                "{:?}",
                paused.error()
            );
            Ok::<(), GenkitError>(())
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for r in &sent {
        r.as_ref().expect("send");
    }
    let scope = StoreScope::global();
    let resumed = futures::stream::iter(theirs.iter().copied())
        .map(|i| {
            let scope = &scope;
            async move {
                let session = session_name(i);
                let deadline = Instant::now() + Duration::from_secs(90);
                // wait for the other worker to have paused it
                let paused = loop {
                    let found = app
                        .store
                        .get_latest_snapshot(
                            scope,
                            &session,
                            &SnapshotFilter::awaiting_answers(SystemTime::now()),
                        )
                        .await
                        .expect("read");
                    if let Some(s) = found {
                        break s;
                    }
                    assert!(Instant::now() < deadline, "{session} was never paused");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                let interrupt =
                    Interrupt::pending_in(paused.state.as_ref().expect("state").messages())
                        .into_iter()
                        .next()
                        .expect("interrupt");
                let mut chat = app
                    .agent
                    .load_chat(&app.ai, ChatRef::Snapshot(paused.snapshot_id.clone()))
                    .await?;
                let done = chat.resume([app.approve.respond(&interrupt, i)?]).await?;
                assert_eq!(
                    done.finish_reason(),
                    Some(&AgentFinishReason::Stop),
                    "{:?}",
                    done.error()
                );
                Ok::<(), GenkitError>(())
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for r in &resumed {
        r.as_ref().expect("resume");
    }
    println!("@@DONE sent={} resumed={}", sent.len(), resumed.len());
}

// ---------------------------------------------------------------------------------------------
// The test side

/// A worker process and its `@@` lines.
struct Worker {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Lines read while waiting for another one.
    seen: Vec<String>,
}

fn spawn(role: &str, url: &str, schema: &str, envs: &[(&str, String)]) -> Worker {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args([
        "--exact",
        "worker_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env(common::URL_VAR, url)
    .env(SCHEMA, schema)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn a worker");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            // the test harness may print "test worker_process ... " before it on one line
            if let Some(at) = line.find("@@") {
                let _ = tx.send(line[at + 2..].to_owned());
            }
        }
    });
    Worker {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Worker {
    /// The next `@@` line starting with `prefix` (its rest), within `wait`.
    async fn expect(&mut self, prefix: &str, wait: Duration) -> String {
        if let Some(at) = self.seen.iter().position(|l| l.starts_with(prefix)) {
            return self.seen.remove(at)[prefix.len()..].trim().to_owned();
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no @@{prefix} from the worker within {wait:?}"))
                .unwrap_or_else(|| panic!("the worker ended before @@{prefix}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
            self.seen.push(line);
        }
    }

    async fn success(mut self) {
        let status = tokio::time::timeout(Duration::from_secs(120), self.child.wait())
            .await
            .expect("the worker did not end")
            .expect("wait");
        assert!(status.success(), "a worker failed: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_pause_and_resume_each_others_sessions_and_nothing_crosses() {
    let Some(url) = common::url_or_skip("four_workers_pause_and_resume_each_others_sessions")
    else {
        return;
    };
    short_heartbeat();
    const WORKERS: u64 = 4;
    let sessions: u64 = std::env::var("GENKIT_PG_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let schema = common::fresh_schema("fleet");
    // migrate once here, so the four starts do not all wait on the migration lock
    let app = app(&url, &schema, false).await;
    let started = Instant::now();
    let workers: Vec<Worker> = (0..WORKERS)
        .map(|w| {
            spawn(
                "fleet",
                &url,
                &schema,
                &[
                    (WORKER_ID, w.to_string()),
                    ("GENKIT_PG_WORKERS", WORKERS.to_string()),
                    ("GENKIT_PG_SESSIONS", sessions.to_string()),
                ],
            )
        })
        .collect();
    let mut done = 0;
    for mut w in workers {
        let line = w.expect("DONE", Duration::from_secs(180)).await;
        done += 1;
        eprintln!("worker: {line}");
        w.success().await;
    }
    assert_eq!(done, WORKERS);
    eprintln!(
        "{sessions} sessions through {WORKERS} workers in {:?}",
        started.elapsed()
    );

    // every session: asked by its worker, answered with its own number by the next one
    let scope = StoreScope::global();
    let mut checked = 0;
    for i in 0..sessions {
        let session = session_name(i);
        let mut q = ListQuery::new(SnapshotFilter::any());
        q.session_id = Some(session.clone());
        let snaps = app
            .store
            .list_snapshots(&scope, &q)
            .await
            .expect("list")
            .snapshots;
        assert_eq!(
            snaps.len(),
            2,
            "{session}: {} snapshots, expected the pause and the answer",
            snaps.len()
        );
        let last = &snaps[0];
        assert_eq!(last.status(), SnapshotStatus::Completed, "{session}");
        assert_eq!(
            last.parent_id.as_deref(),
            Some(snaps[1].snapshot_id.as_str()),
            "{session}"
        );
        let messages = last.state.as_ref().expect("state").messages();
        assert_eq!(messages.len(), 4, "{session}: {messages:?}");
        assert_eq!(messages[0].text(), format!("pay {i}"));
        let asked = messages[1].content[0]
            .as_tool_request()
            .expect("the request");
        let input = asked.input.clone().unwrap_or_default();
        assert_eq!(input["n"], json!(i), "{session}: asked for {input}");
        let pauser = (i % WORKERS).to_string();
        assert_eq!(input["asked_by"], json!(pauser), "{session}");
        let answer = messages[2].content[0]
            .as_tool_response()
            .expect("the answer");
        assert_eq!(
            answer.output,
            Some(json!(i)),
            "{session} got another session's answer"
        );
        let resumer = ((i % WORKERS + 1) % WORKERS).to_string();
        assert_ne!(pauser, resumer);
        assert_eq!(
            messages[3].text(),
            format!("approve answered {i} by {resumer}"),
            "{session}"
        );
        checked += 1;
    }
    assert_eq!(checked, sessions);
    drop(app);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_turn_expires_and_another_continues_from_the_last_completed_turn() {
    let Some(url) = common::url_or_skip("a_worker_killed_mid_turn_expires") else {
        return;
    };
    short_heartbeat();
    let schema = common::fresh_schema("kill");
    let app = app(&url, &schema, false).await;
    let scope = StoreScope::global();
    let session = "sess-killed".to_owned();
    let mut victim = spawn(
        "detach",
        &url,
        &schema,
        &[("GENKIT_PG_SESSION", session.clone())],
    );
    let completed = victim.expect("COMPLETED", Duration::from_secs(30)).await;
    let pending = victim.expect("DETACHED", Duration::from_secs(30)).await;
    victim.expect("SLOW", Duration::from_secs(10)).await;

    // alive: the heartbeat moves
    let beat = |s: Option<genkit_core::SessionSnapshot>| s.and_then(|s| s.heartbeat_at);
    let first = beat(app.store.get_snapshot(&scope, &pending).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = beat(app.store.get_snapshot(&scope, &pending).await.unwrap());
        if now.is_some() && now != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a live worker's heartbeat did not move"
        );
    }

    victim.child.start_kill().expect("SIGKILL");
    victim.child.wait().await.expect("reaped");
    let killed = Instant::now();
    let expired_after = loop {
        let snap = app
            .store
            .get_snapshot(&scope, &pending)
            .await
            .unwrap()
            .expect("still stored");
        match snap.effective_status(SystemTime::now()) {
            SnapshotStatus::Expired => {
                assert_eq!(
                    snap.status,
                    Some(SnapshotStatus::Pending),
                    "expired is computed, never written"
                );
                break killed.elapsed();
            }
            SnapshotStatus::Pending => {}
            other => panic!("a killed worker's turn became {other}"),
        }
        assert!(killed.elapsed() < Duration::from_secs(10), "never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        expired_after <= WINDOW.timeout + WINDOW.interval * 2,
        "expired {expired_after:?} after the kill; the window is {:?}",
        WINDOW.timeout
    );
    // the agent's own view agrees
    let seen = app
        .agent
        .snapshot(&ChatRef::Snapshot(pending.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.status, Some(SnapshotStatus::Expired));

    // another worker continues the session: from the last completed snapshot
    let mut rescuer = spawn(
        "continue",
        &url,
        &schema,
        &[("GENKIT_PG_SESSION", session.clone())],
    );
    let line = rescuer.expect("CONTINUED", Duration::from_secs(30)).await;
    rescuer.success().await;
    let mut parts = line.splitn(3, ' ');
    let (new_id, parent) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    assert_eq!(
        parent, completed,
        "continued from {parent}, not the last completed turn"
    );
    let continued = app
        .store
        .get_snapshot(&scope, &new_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(continued.status(), SnapshotStatus::Completed);
    let texts: Vec<String> = continued
        .state
        .unwrap()
        .messages()
        .iter()
        .map(Message::text)
        .collect();
    assert_eq!(
        texts,
        vec!["hello", "ok from test", "again", "ok from test"]
    );
    let stale = app
        .store
        .get_snapshot(&scope, &pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stale.effective_status(SystemTime::now()),
        SnapshotStatus::Expired
    );
    drop(app);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_from_this_process_stops_a_detached_turn_in_another_within_a_second() {
    let Some(url) = common::url_or_skip("an_abort_from_this_process_stops_a_detached_turn") else {
        return;
    };
    short_heartbeat();
    let schema = common::fresh_schema("abort");
    let app = app(&url, &schema, false).await;
    let mut worker = spawn(
        "detach",
        &url,
        &schema,
        &[("GENKIT_PG_SESSION", "sess-abort".into())],
    );
    worker.expect("COMPLETED", Duration::from_secs(30)).await;
    let pending = worker.expect("DETACHED", Duration::from_secs(30)).await;
    worker.expect("SLOW", Duration::from_secs(10)).await;
    // let the worker's subscription settle on its LISTEN connection
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    assert_eq!(
        app.agent.abort(&pending).await.expect("abort"),
        Some(SnapshotStatus::Pending)
    );
    worker.expect("STOPPED", Duration::from_secs(5)).await;
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "the abort took {took:?} to stop the other process's turn"
    );
    let snap = app
        .store
        .get_snapshot(&StoreScope::global(), &pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.status(), SnapshotStatus::Aborted);
    eprintln!("abort reached the other process's turn in {took:?}");
    drop(worker);
    drop(app);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_resuming_one_snapshot_at_once_both_persist_as_a_branch() {
    let Some(url) = common::url_or_skip("two_processes_resuming_one_snapshot_at_once") else {
        return;
    };
    short_heartbeat();
    let schema = common::fresh_schema("branch");
    let app = app(&url, &schema, true).await;
    let mut chat = app.agent.chat_with(
        &app.ai,
        AgentInit {
            session_id: Some("sess-branch".into()),
            ..Default::default()
        },
    );
    let paused = chat.send("pay 7").await.unwrap();
    let id = paused.snapshot_id().unwrap().to_owned();
    let start_at = (unix_ms() + 1500).to_string();
    let spawn_resume = |amount: u64| {
        spawn(
            "resume",
            &url,
            &schema,
            &[
                ("GENKIT_PG_SNAPSHOT", id.clone()),
                ("GENKIT_PG_AMOUNT", amount.to_string()),
                ("GENKIT_PG_START_AT", start_at.clone()),
                ("GENKIT_PG_BRANCHING", "1".into()),
                (WORKER_ID, format!("w{amount}")),
            ],
        )
    };
    let (mut a, mut b) = (spawn_resume(100), spawn_resume(200));
    let (ra, rb) = futures::join!(
        a.expect("RESUMED", Duration::from_secs(60)),
        b.expect("RESUMED", Duration::from_secs(60))
    );
    a.success().await;
    b.success().await;
    assert_ne!(ra, rb);
    let scope = StoreScope::global();
    for (snap_id, amount) in [(&ra, 100u64), (&rb, 200)] {
        let s = app
            .store
            .get_snapshot(&scope, snap_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            s.parent_id.as_deref(),
            Some(id.as_str()),
            "both continue the interrupted snapshot"
        );
        assert_eq!(s.status(), SnapshotStatus::Completed);
        let m = s.state.unwrap().messages().to_vec();
        assert_eq!(
            m[2].content[0].as_tool_response().unwrap().output,
            Some(json!(amount))
        );
        assert_eq!(
            m[3].text(),
            format!("approve answered {amount} by w{amount}")
        );
    }
    let mut q = ListQuery::new(SnapshotFilter::any());
    q.session_id = Some("sess-branch".into());
    let all = app
        .store
        .list_snapshots(&scope, &q)
        .await
        .unwrap()
        .snapshots;
    assert_eq!(all.len(), 3, "the interrupted snapshot and both branches");
    let latest = app
        .store
        .get_latest_snapshot(&scope, "sess-branch", &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.snapshot_id, all[0].snapshot_id,
        "the newer branch is the latest"
    );
    drop(app);
    common::drop_schema(&url, &schema).await;
}
