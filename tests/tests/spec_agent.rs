//! Genkit's cross-language spec of the Agent API (`tests/data/genkit/specs/agent.yaml`), run the
//! way Genkit's harnesses run it (`docs/agents-conformance-testing.md` and the JS harness):
//!
//! - a programmable model `programmableModel`; each `send` step programs it with its
//!   `modelResponses` (and `streamChunks`), call `i` getting entry `i`;
//! - tools `testTool` (returns `"tool called"`), `interruptTool` (`{query}` -> `{answer}`, an
//!   interrupt) and `restartTool` (`{action}` -> `{result}`, interrupts unless restarted);
//! - five prompt agents and seven custom agents, named and behaving as the spec header says,
//!   the server-managed ones each with an in-memory store;
//! - every case on a fresh instance; each `send` runs one invocation through the agent's
//!   registered `/agent/<name>` action with the step's init and inputs, collecting chunks;
//! - matching as the JS harness matches: `stateContains` and `message` by subset (ordered
//!   subsequences for arrays), chunks in order and of equal count (turnEnd by key and
//!   finishReason, the others by subset), `{{name}}` captures substituted everywhere.
//!
//! One case per `#[tokio::test]` would hide the count; this runs all 39 in one test, prints
//! each case's pass or failure and the total, and fails if any case fails.

mod genkit_data;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use genkit_core::agent::{Agent, PromptSpec, SessionRunner, TurnResult};
use genkit_core::session::InMemorySessionStore;
use genkit_core::testing::{ProgrammableModel, Scripted};
use genkit_core::{
    ActionContext, AgentResult, Artifact, GenerateResponseChunk, Genkit, Message, ModelResponse,
    Part, Tool, ToolContext, ToolResult,
};
use serde_json::{json, Value};

const SPEC: &str = "specs/agent.yaml";

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Query {
    query: String,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Answer {
    answer: String,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct ActionIn {
    action: String,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct ActionOut {
    result: String,
}

/// The loose custom state of the custom-state agents (`counter`, `status`).
type Custom = serde_json::Map<String, Value>;

fn prompt(name: &str, tools: &[&str], store: bool) -> Agent<Custom> {
    let mut spec = PromptSpec::new()
        .model("programmableModel")
        .config(json!({"temperature": 1}));
    if !tools.is_empty() {
        spec = spec.tools(tools.iter().copied());
    }
    let b = Agent::prompt(name, spec);
    if store {
        b.store(InMemorySessionStore::new()).build()
    } else {
        b.build()
    }
}

fn done() -> AgentResult {
    AgentResult {
        message: Some(Message::model("done")),
        ..Default::default()
    }
}

fn counter_agent(name: &str, store: bool) -> Agent<Custom> {
    let b = Agent::custom(name, |sess: SessionRunner<Custom>| async move {
        let s = sess.clone();
        sess.run(move |_input, _turn| {
            let s = s.clone();
            async move {
                s.update_custom(|prev| {
                    let n = prev
                        .as_ref()
                        .and_then(|p| p.get("counter"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    let mut next = Custom::new();
                    next.insert("counter".into(), json!(n + 1));
                    next
                })?;
                Ok(TurnResult::default())
            }
        })
        .await?;
        Ok(done())
    });
    if store {
        b.store(InMemorySessionStore::new()).build()
    } else {
        b.build()
    }
}

fn agents() -> Vec<Agent<Custom>> {
    let blocking = Agent::custom(
        "customAgentBlocking",
        |sess: SessionRunner<Custom>| async move {
            sess.run(|_input, turn| async move {
                turn.abort.aborted().await;
                Ok(TurnResult::default())
            })
            .await?;
            Ok(AgentResult {
                message: Some(Message::model("unblocked")),
                ..Default::default()
            })
        },
    )
    .store(InMemorySessionStore::new())
    .build();
    let failing = Agent::custom(
        "customAgentFailing",
        |sess: SessionRunner<Custom>| async move {
            sess.run(|_input, _turn| async move {
                Err::<TurnResult, _>(genkit_core::GenkitError::internal("intentional failure"))
            })
            .await?;
            Ok(AgentResult {
                message: Some(Message::model("unreachable")),
                ..Default::default()
            })
        },
    )
    .store(InMemorySessionStore::new())
    .build();
    let artifacts = Agent::custom(
        "customAgentWithArtifacts",
        |sess: SessionRunner<Custom>| async move {
            let s = sess.clone();
            sess.run(move |_input, _turn| {
                let s = s.clone();
                async move {
                    s.add_artifacts([Artifact::new("doc1", vec![Part::text("v1")])]);
                    s.add_artifacts([Artifact::new("doc1", vec![Part::text("v2")])]);
                    s.add_artifacts([Artifact::new("doc2", vec![Part::text("other")])]);
                    Ok(TurnResult::default())
                }
            })
            .await?;
            Ok(AgentResult {
                artifacts: Some(sess.artifacts()),
                ..done()
            })
        },
    )
    .build();
    let multi = Agent::custom(
        "customAgentWithMultiCustomState",
        |sess: SessionRunner<Custom>| async move {
            let s = sess.clone();
            sess.run(move |_input, _turn| {
                let s = s.clone();
                async move {
                    s.update_custom(|_| {
                        let mut c = Custom::new();
                        c.insert("counter".into(), json!(1));
                        c.insert("status".into(), json!("working"));
                        c
                    })?;
                    s.update_custom(|prev| {
                        let mut c = prev.unwrap_or_default();
                        c.insert("counter".into(), json!(2));
                        c
                    })?;
                    s.update_custom(|prev| {
                        let mut c = prev.unwrap_or_default();
                        c.insert("status".into(), json!("done"));
                        c
                    })?;
                    Ok(TurnResult::default())
                }
            })
            .await?;
            Ok(done())
        },
    )
    .build();
    let artifacts_store = Agent::custom(
        "customAgentWithArtifactsStore",
        |sess: SessionRunner<Custom>| async move {
            let s = sess.clone();
            sess.run(move |_input, _turn| {
                let s = s.clone();
                async move {
                    let n = s.artifacts().len() + 1;
                    s.add_artifacts([Artifact::new(
                        format!("doc{n}"),
                        vec![Part::text(format!("content{n}"))],
                    )]);
                    Ok(TurnResult::default())
                }
            })
            .await?;
            Ok(AgentResult {
                artifacts: Some(sess.artifacts()),
                ..done()
            })
        },
    )
    .store(InMemorySessionStore::new())
    .build();
    vec![
        prompt("promptAgent", &[], false),
        prompt("promptAgentWithStore", &[], true),
        prompt("promptAgentWithTools", &["testTool"], false),
        prompt("promptAgentWithInterrupt", &["interruptTool"], true),
        prompt("promptAgentWithRestartTool", &["restartTool"], true),
        blocking,
        failing,
        artifacts,
        counter_agent("customAgentWithCustomState", false),
        multi,
        artifacts_store,
        counter_agent("customAgentWithCustomStateStore", true),
    ]
}

struct Harness {
    ai: Genkit,
    model: ProgrammableModel,
    agents: HashMap<String, Agent<Custom>>,
}

fn harness() -> Harness {
    let model = ProgrammableModel::new("programmableModel");
    let test_tool = Tool::dynamic(
        "testTool",
        "A simple test tool",
        json!({"type": "object"}),
        None,
        |_input: Value, _ctx: ToolContext| async { ToolResult::Ok(json!("tool called")) },
    )
    .expect("testTool");
    let interrupt_tool: Tool<Query, Answer> = Tool::interrupt("interruptTool", "An interrupt tool");
    let restart_tool: Tool<ActionIn, ActionOut> = Tool::new(
        "restartTool",
        "A tool that requires confirmation before executing",
        |input: ActionIn, ctx: ToolContext| async move {
            if !ctx.is_resumed() {
                return ctx.interrupt(json!({"requiresConfirmation": true}));
            }
            Ok(ActionOut {
                result: format!("confirmed: {}", input.action),
            })
        },
    );
    let mut builder = Genkit::builder()
        .model(model.clone())
        .tool(test_tool)
        .tool(interrupt_tool)
        .tool(restart_tool);
    let mut by_name = HashMap::new();
    for agent in agents() {
        by_name.insert(agent.name().to_owned(), agent.clone());
        builder = builder.agent(agent);
    }
    Harness {
        ai: builder.build().expect("instance"),
        model,
        agents: by_name,
    }
}

// ---------------------------------------------------------------------------------------------
// templates and matching
// ---------------------------------------------------------------------------------------------

fn resolve(value: &Value, captures: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
                if !name.contains('{') {
                    return captures
                        .get(name)
                        .cloned()
                        .ok_or_else(|| format!("template '{{{{{name}}}}}' not captured"));
                }
            }
            Value::String(s.clone())
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| resolve(v, captures))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, v) in o {
                out.insert(k.clone(), resolve(v, captures)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The JS harness's `assertContains`: objects by their expected keys, arrays as ordered
/// subsequences, scalars equal; `null` expected matches anything.
fn contains(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match expected {
        Value::Null => Ok(()),
        Value::Array(want) => {
            let Value::Array(got) = actual else {
                return Err(format!("{path}: expected an array, got {actual}"));
            };
            let mut at = 0;
            for (i, w) in want.iter().enumerate() {
                loop {
                    if at >= got.len() {
                        return Err(format!("{path}[{i}]: {w} not found in order in {actual}"));
                    }
                    at += 1;
                    if contains(&got[at - 1], w, path).is_ok() {
                        break;
                    }
                }
            }
            Ok(())
        }
        Value::Object(want) => {
            let Value::Object(got) = actual else {
                return Err(format!("{path}: expected an object, got {actual}"));
            };
            for (k, w) in want {
                contains(
                    got.get(k).unwrap_or(&Value::Null),
                    w,
                    &format!("{path}.{k}"),
                )
                .map_err(|e| {
                    if got.contains_key(k) || w.is_null() {
                        e
                    } else {
                        format!("{path}.{k}: missing")
                    }
                })?;
            }
            Ok(())
        }
        scalar => {
            if actual == scalar {
                Ok(())
            } else {
                Err(format!("{path}: expected {scalar}, got {actual}"))
            }
        }
    }
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

fn non_empty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

fn check_chunks(got: &[Value], want: &[Value]) -> Result<(), String> {
    check(got.len() == want.len(), || {
        format!(
            "expected {} chunks, got {}: {}",
            want.len(),
            got.len(),
            Value::Array(got.to_vec())
        )
    })?;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if let Some(te) = w.get("turnEnd") {
            check(g.get("turnEnd").is_some(), || {
                format!("chunk {i}: expected turnEnd, got {g}")
            })?;
            if let Some(fr) = te.get("finishReason") {
                check(&g["turnEnd"]["finishReason"] == fr, || {
                    format!(
                        "chunk {i}: turnEnd.finishReason {} != {fr}",
                        g["turnEnd"]["finishReason"]
                    )
                })?;
            }
        } else {
            for key in ["modelChunk", "artifact", "customPatch"] {
                if let Some(wv) = w.get(key) {
                    check(g.get(key).is_some(), || {
                        format!("chunk {i}: expected {key}, got {g}")
                    })?;
                    contains(&g[key], wv, &format!("chunk[{i}].{key}"))?;
                }
            }
        }
    }
    Ok(())
}

fn check_error(got: &Value, want: &Value, what: &str) -> Result<(), String> {
    check(got.is_object(), || {
        format!("{what}: expected an error, got {got}")
    })?;
    if let Some(s) = want.get("status") {
        check(&got["status"] == s, || {
            format!("{what}.status: expected {s}, got {}", got["status"])
        })?;
    }
    if let Some(m) = want.get("message").and_then(Value::as_str) {
        check(
            got["message"].as_str().is_some_and(|g| g.contains(m)),
            || {
                format!(
                    "{what}.message: expected to contain {m:?}, got {}",
                    got["message"]
                )
            },
        )?;
    }
    Ok(())
}

fn check_snapshot(snap: &Value, want: &Value) -> Result<(), String> {
    if let Some(p) = want.get("parentId") {
        check(&snap["parentId"] == p, || {
            format!("parentId: expected {p}, got {}", snap["parentId"])
        })?;
    }
    if let Some(s) = want.get("status") {
        check(&snap["status"] == s, || {
            format!("status: expected {s}, got {}", snap["status"])
        })?;
    }
    if let Some(f) = want.get("finishReason") {
        check(&snap["finishReason"] == f, || {
            format!("finishReason: expected {f}, got {}", snap["finishReason"])
        })?;
    }
    if want["hasSessionId"] == json!(true) {
        check(non_empty_str(&snap["state"]["sessionId"]), || {
            format!("no state.sessionId in {snap}")
        })?;
    }
    if let Some(sc) = want.get("stateContains") {
        contains(&snap["state"], sc, "snapshot.state")?;
    }
    if let Some(ec) = want.get("errorContains") {
        check(snap["error"].is_object(), || {
            "expected snapshot.error".to_owned()
        })?;
        contains(&snap["error"], ec, "snapshot.error")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// steps
// ---------------------------------------------------------------------------------------------

async fn send(
    h: &Harness,
    agent: &str,
    step: &Value,
    captures: &mut HashMap<String, Value>,
) -> Result<(), String> {
    let step = resolve(step, captures)?;
    h.model.clear_script();
    let responses = step["modelResponses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let chunks = step["streamChunks"].as_array().cloned().unwrap_or_default();
    for (i, r) in responses.into_iter().enumerate() {
        let response: ModelResponse =
            serde_json::from_value(r).map_err(|e| format!("modelResponses[{i}]: {e}"))?;
        let chunks: Vec<GenerateResponseChunk> = match chunks.get(i) {
            Some(c) => {
                serde_json::from_value(c.clone()).map_err(|e| format!("streamChunks[{i}]: {e}"))?
            }
            None => Vec::new(),
        };
        h.model.push(Scripted { chunks, response });
    }
    let input = json!({
        "init": step.get("init").cloned().unwrap_or(json!({})),
        "inputs": step.get("inputs").cloned().unwrap_or(json!([])),
    });
    let got_chunks: Arc<Mutex<Vec<Value>>> = Arc::default();
    let result = genkit_core::testing::run_action_streaming(
        &h.ai,
        &format!("/agent/{agent}"),
        input,
        ActionContext::new(),
        {
            let got = Arc::clone(&got_chunks);
            move |c| got.lock().unwrap().push(c)
        },
    )
    .await;
    let chunks = got_chunks.lock().unwrap().clone();

    if let Some(want) = step.get("expectError") {
        let err = match result {
            Err(e) => e,
            Ok(out) => return Err(format!("expected the turn to throw, it answered {out}")),
        };
        let got = json!({"status": err.status().name(), "message": err.to_string()});
        return check_error(&got, want, "thrown error");
    }
    let output = result.map_err(|e| format!("the turn threw: {e} ({})", e.status().name()))?;
    if let Some(want) = step.get("expectChunks").and_then(Value::as_array) {
        check_chunks(&chunks, want)?;
    }
    if let Some(want) = step.get("expectOutput") {
        if let Some(m) = want.get("message") {
            contains(&output["message"], m, "output.message")?;
        }
        if want["hasSnapshotId"] == json!(true) {
            check(non_empty_str(&output["snapshotId"]), || {
                format!("no snapshotId in {output}")
            })?;
        }
        if want["hasSessionId"] == json!(true) {
            check(non_empty_str(&output["state"]["sessionId"]), || {
                format!("no state.sessionId in {output}")
            })?;
        }
        if let Some(sc) = want.get("stateContains") {
            check(output["state"].is_object(), || {
                format!("no state in {output}")
            })?;
            contains(&output["state"], sc, "output.state")?;
        }
        if let Some(arts) = want.get("artifactsContain").and_then(Value::as_array) {
            let got = output["artifacts"].as_array().cloned().unwrap_or_default();
            for a in arts {
                let found = got.iter().find(|g| g["name"] == a["name"]).ok_or_else(|| {
                    format!(
                        "artifact {} not in output {}",
                        a["name"], output["artifacts"]
                    )
                })?;
                contains(found, a, "artifact")?;
            }
        }
        if let Some(f) = want.get("finishReason") {
            check(&output["finishReason"] == f, || {
                format!("finishReason: expected {f}, got {}", output["finishReason"])
            })?;
        }
        if let Some(ec) = want.get("errorContains") {
            check_error(&output["error"], ec, "output.error")?;
        }
    }
    if let Some(name) = step.get("captureSnapshotId").and_then(Value::as_str) {
        check(non_empty_str(&output["snapshotId"]), || {
            format!("capture {name}: no snapshotId in {output}")
        })?;
        captures.insert(name.to_owned(), output["snapshotId"].clone());
    }
    if let Some(name) = step.get("captureState").and_then(Value::as_str) {
        check(output["state"].is_object(), || {
            format!("capture {name}: no state")
        })?;
        captures.insert(name.to_owned(), output["state"].clone());
    }
    if let Some(name) = step.get("captureSessionId").and_then(Value::as_str) {
        check(non_empty_str(&output["state"]["sessionId"]), || {
            format!("capture {name}: no sessionId")
        })?;
        captures.insert(name.to_owned(), output["state"]["sessionId"].clone());
    }
    Ok(())
}

async fn get_snapshot(
    h: &Harness,
    agent: &str,
    request: Value,
) -> Result<Value, genkit_core::GenkitError> {
    h.ai.run_action(
        &format!("/agent-snapshot/{agent}"),
        request,
        ActionContext::new(),
    )
    .await
}

async fn step(
    h: &Harness,
    agent: &str,
    step: &Value,
    captures: &mut HashMap<String, Value>,
) -> Result<(), String> {
    match step["type"].as_str() {
        Some("send") => send(h, agent, step, captures).await,
        Some("getSnapshotData") => {
            let step = resolve(step, captures)?;
            let mut req = serde_json::Map::new();
            for key in ["snapshotId", "sessionId"] {
                if let Some(v) = step.get(key) {
                    req.insert(key.to_owned(), v.clone());
                }
            }
            let got = get_snapshot(h, agent, Value::Object(req)).await;
            if let Some(want) = step.get("expectError").and_then(Value::as_str) {
                return match got {
                    Err(e) => check(e.to_string().contains(want), || {
                        format!("error {e} lacks {want:?}")
                    }),
                    Ok(s) => Err(format!("expected an error, got {s}")),
                };
            }
            let snap = got.map_err(|e| format!("getSnapshotData: {e}"))?;
            check_snapshot(&snap, step.get("expectSnapshot").unwrap_or(&Value::Null))
        }
        Some("abort") => {
            let step = resolve(step, captures)?;
            let got =
                h.ai.run_action(
                    &format!("/agent-abort/{agent}"),
                    json!({"snapshotId": step["snapshotId"]}),
                    ActionContext::new(),
                )
                .await
                .map_err(|e| format!("abort: {e}"))?;
            if let Some(want) = step.as_object().and_then(|o| o.get("expectPreviousStatus")) {
                let got = got.get("status").cloned().unwrap_or(Value::Null);
                check(&got == want, || {
                    format!("previous status: expected {want}, got {got}")
                })?;
            }
            Ok(())
        }
        Some("waitUntilCompleted") => {
            let step = resolve(step, captures)?;
            let timeout = Duration::from_millis(step["timeoutMs"].as_u64().unwrap_or(5000));
            let start = Instant::now();
            let mut snap = Value::Null;
            while start.elapsed() < timeout {
                if let Ok(s) =
                    get_snapshot(h, agent, json!({"snapshotId": step["snapshotId"]})).await
                {
                    snap = s;
                    if matches!(
                        snap["status"].as_str(),
                        Some("completed" | "failed" | "aborted")
                    ) {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            check(
                matches!(
                    snap["status"].as_str(),
                    Some("completed" | "failed" | "aborted")
                ),
                || format!("snapshot not final within {timeout:?}: {snap}"),
            )?;
            check_snapshot(&snap, step.get("expectSnapshot").unwrap_or(&Value::Null))
        }
        other => Err(format!("unknown step type {other:?}")),
    }
}

async fn run_case(case: &Value) -> Result<(), String> {
    let h = harness();
    let agent = case["agent"].as_str().ok_or("no agent")?;
    if !h.agents.contains_key(agent) {
        return Err(format!("unknown agent {agent}"));
    }
    let mut captures = HashMap::new();
    for (i, s) in case["steps"]
        .as_array()
        .ok_or("no steps")?
        .iter()
        .enumerate()
    {
        step(&h, agent, s, &mut captures)
            .await
            .map_err(|e| format!("step[{i}] ({}): {e}", s["type"].as_str().unwrap_or("?")))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_yaml_conformance() {
    let spec = genkit_data::yaml(SPEC);
    let cases = spec["tests"].as_array().expect("`tests` list").clone();
    let mut failed = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        let outcome = tokio::time::timeout(Duration::from_secs(20), run_case(case))
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
        match outcome {
            Ok(()) => println!("PASS {name}"),
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed.push(name);
            }
        }
    }
    println!(
        "agent.yaml: {}/{} passed",
        cases.len() - failed.len(),
        cases.len()
    );
    assert!(failed.is_empty(), "failing cases: {failed:?}");
    assert_eq!(cases.len(), 39, "agent.yaml should have 39 cases");
}
