//! The Developer UI runtime over real sockets: reflection API v1 shapes (as captured from
//! Genkit JS), the runtime file, trace export to a telemetry server, cancellation, and Genkit's
//! `reflection_api.yaml` spec.
//!
//! One runtime (and one mock telemetry server) serves every test of this file: the trace
//! exporter is process-wide, as in an app. Each test only looks at its own traces.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use common::http::{self, Telemetry};
use common::{app, contains};
use genkit_core::reflection::{DevOptions, DevRuntime, GENKIT_VERSION};
use serde_json::{json, Value};

struct Harness {
    rt: tokio::runtime::Runtime,
    url: String,
    id: String,
    file: PathBuf,
    project: PathBuf,
    telemetry: Telemetry,
    _runtime: DevRuntime,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let project =
            std::env::temp_dir().join(format!("genkit-rs-dev-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&project).unwrap();
        // a marker file makes this the CLI's project root
        std::fs::write(project.join("package.json"), "{}").unwrap();
        let sub = project.join("crate");
        std::fs::create_dir_all(&sub).unwrap();
        let (telemetry, runtime) = rt.block_on(async {
            let telemetry = Telemetry::start().await;
            let options = DevOptions::default()
                .genkit_env("dev")
                .telemetry_server(telemetry.url.clone())
                .realtime_telemetry(true)
                .project_dir(&sub)
                .exit_on_signal(false);
            let runtime = DevRuntime::start_with(&app(), options)
                .await
                .unwrap()
                .unwrap();
            (telemetry, runtime)
        });
        Harness {
            url: runtime.reflection_url().unwrap().to_owned(),
            id: runtime.id().to_owned(),
            file: runtime.runtime_file().unwrap().to_path_buf(),
            project,
            telemetry,
            rt,
            _runtime: runtime,
        }
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    harness().rt.block_on(f)
}

async fn run_action(body: Value) -> http::Response {
    http::post(&harness().url, "/api/runAction", &body).await
}

async fn stream_action(body: Value) -> http::Response {
    http::post(&harness().url, "/api/runAction?stream=true", &body).await
}

#[test]
fn nothing_starts_outside_dev_mode() {
    let started = block_on(DevRuntime::start_with(
        &app(),
        DevOptions::default().genkit_env("prod"),
    ))
    .unwrap();
    assert!(started.is_none());
    let started = block_on(DevRuntime::start_with(&app(), DevOptions::default())).unwrap();
    assert!(started.is_none());
}

#[test]
fn the_runtime_file_sits_in_the_clis_project_root_and_matches_the_health_check() {
    let h = harness();
    assert_eq!(h.file.parent().unwrap(), h.project.join(".genkit/runtimes"));
    let name = h.file.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with(&format!("{}-", h.id)) && name.ends_with(".json"),
        "{name}"
    );
    let info: Value = serde_json::from_slice(&std::fs::read(&h.file).unwrap()).unwrap();
    assert_eq!(info["id"], h.id.as_str());
    assert_eq!(info["pid"], std::process::id());
    assert_eq!(info["reflectionServerUrl"], h.url.as_str());
    assert_eq!(info["reflectionApiSpecVersion"], 1);
    assert_eq!(info["genkitVersion"], GENKIT_VERSION);
    let ts = info["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
    assert!(
        h.url.starts_with("http://127.0.0.1:31"),
        "loopback, from 3100: {}",
        h.url
    );
    assert_eq!(h.id, format!("{}-{}", std::process::id(), &h.url[17..]));

    block_on(async {
        let ok = http::get(&h.url, &format!("/api/__health?id={}", h.id)).await;
        assert_eq!((ok.status(), ok.body.as_str()), (200, "OK"));
        assert_eq!(ok.header("x-genkit-version"), Some(GENKIT_VERSION));
        let bare = http::get(&h.url, "/api/__health").await;
        assert_eq!(bare.status(), 200);
        let wrong = http::get(&h.url, "/api/__health?id=someone-else").await;
        assert_eq!(
            (wrong.status(), wrong.body.as_str()),
            (503, "Invalid runtime ID")
        );
    });
}

#[test]
fn a_runtime_removes_its_file_when_it_stops() {
    let dir = std::env::temp_dir().join(format!("genkit-rs-dev-stop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    block_on(async {
        let options = DevOptions::default()
            .genkit_env("dev")
            .project_dir(&dir)
            .runtime_id("custom-id")
            .exit_on_signal(false);
        let runtime = DevRuntime::start_with(&app(), options)
            .await
            .unwrap()
            .unwrap();
        let file = runtime.runtime_file().unwrap().to_path_buf();
        assert!(file.exists());
        let url = runtime.reflection_url().unwrap().to_owned();
        // GENKIT_RUNTIME_ID is what the health check answers to (JS gets this wrong)
        let ok = http::get(&url, "/api/__health?id=custom-id").await;
        assert_eq!(ok.status(), 200);
        runtime.shutdown().await;
        assert!(!file.exists());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quitquitquit_ends_wait() {
    let dir = std::env::temp_dir().join(format!("genkit-rs-dev-quit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    block_on(async {
        let options = DevOptions::default()
            .genkit_env("dev")
            .project_dir(&dir)
            .exit_on_signal(false);
        let runtime = DevRuntime::start_with(&app(), options)
            .await
            .unwrap()
            .unwrap();
        let url = runtime.reflection_url().unwrap().to_owned();
        let r = http::post(&url, "/api/__quitquitquit", &json!({})).await;
        assert_eq!(r.status(), 200);
        tokio::time::timeout(Duration::from_secs(5), runtime.wait())
            .await
            .expect("wait returns after quitquitquit");
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_local_json_clients_get_in() {
    let h = harness();
    block_on(async {
        let body = json!({"key": "/flow/greet", "input": {"name": "Ada"}}).to_string();
        // a cross-site "simple" request (no preflight) carries text/plain
        let r = http::request(
            &h.url,
            "POST",
            "/api/runAction",
            &[("content-type", "text/plain")],
            &body,
        )
        .await;
        assert_eq!(r.status(), 403);
        // DNS rebinding: the browser sends the attacker's host name
        let addr = h.url.trim_start_matches("http://");
        let rebound =
            "GET /api/actions HTTP/1.1\r\nhost: evil.example\r\nconnection: close\r\n\r\n";
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, rebound.as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    });
}

#[test]
fn actions_are_described_the_way_genkit_js_describes_them() {
    let actions = block_on(http::get(&harness().url, "/api/actions")).json();
    assert_eq!(
        actions["/flow/greet"],
        json!({
            "key": "/flow/greet", "name": "greet",
            "inputSchema": actions["/flow/greet"]["inputSchema"],
            "outputSchema": {"$schema": "http://json-schema.org/draft-07/schema#", "title": "string", "type": "string"},
        })
    );
    assert_eq!(
        actions["/flow/greet"]["inputSchema"]["required"],
        json!(["name"])
    );
    let tool = &actions["/tool/getWeather"];
    assert_eq!(tool["metadata"], json!({"type": "tool"}));
    assert_eq!(tool["description"], "Returns the weather for a city");
    assert_eq!(tool["inputSchema"]["properties"]["city"]["type"], "string");
    let model = &actions["/model/canned/echo"];
    assert_eq!(model["name"], "canned/echo");
    assert!(model["metadata"]["model"].is_object());
    assert_eq!(actions["/util/generate"]["name"], "generate");
    for (key, a) in actions.as_object().unwrap() {
        assert_eq!(a["key"], key.as_str());
    }
}

#[test]
fn values_and_envs() {
    block_on(async {
        let url = &harness().url;
        assert_eq!(http::get(url, "/api/envs").await.json(), json!(["dev"]));
        let v = http::get(url, "/api/values?type=defaultModel").await;
        assert_eq!((v.status(), v.json()), (200, json!({})));
        // the registered middleware, by name, as MiddlewareDesc (the built-ins here)
        let v = http::get(url, "/api/values?type=middleware").await;
        assert_eq!(v.status(), 200);
        let m = v.json();
        let mut names: Vec<&String> = m.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["fallback", "retry", "toolApproval"]);
        assert_eq!(m["retry"]["name"], "retry");
        assert!(m["retry"]["description"]
            .as_str()
            .unwrap()
            .contains("backoff"));
        assert!(m["retry"]["configSchema"]["properties"]["maxRetries"].is_object());
        assert!(m["toolApproval"]["configSchema"]["properties"]["approved"].is_object());
        let v = http::get(url, "/api/values?type=foo").await;
        assert_eq!(v.status(), 400);
        assert!(v.body.contains("'type' foo is not supported"));
        let v = http::get(url, "/api/values").await;
        assert_eq!(
            (v.status(), v.body.as_str()),
            (400, "Query parameter \"type\" is required.")
        );
        let n = http::post(
            url,
            "/api/notify",
            &json!({"telemetryServerUrl": "http://localhost:1", "reflectionApiSpecVersion": 1}),
        )
        .await;
        assert_eq!((n.status(), n.body.as_str()), (200, "OK"));
    });
}

#[test]
fn run_action_answers_with_result_and_trace_headers() {
    let h = harness();
    let r = block_on(run_action(
        json!({"key": "/flow/greet", "input": {"name": "Ada"}}),
    ));
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let span_id = r.header("x-genkit-span-id").unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(span_id.len(), 16);
    assert_eq!(
        r.json(),
        json!({"result": "Hello, Ada!", "telemetry": {"traceId": trace_id}})
    );

    // the trace reached the telemetry server before the answer (flushed)
    let posts = h.telemetry.posts(&trace_id);
    assert_eq!(posts.last().unwrap()["displayName"], "greet");
    let spans = h.telemetry.spans(&trace_id);
    assert_eq!(spans.len(), 1);
    let root = &spans[0];
    assert_eq!(root["spanId"], span_id.as_str());
    assert!(root.get("parentSpanId").is_none());
    assert_eq!(root["displayName"], "greet");
    assert_eq!(root["instrumentationLibrary"]["name"], "genkit-tracer");
    assert_eq!(root["spanKind"], "INTERNAL");
    assert_eq!(root["status"], json!({"code": 0}));
    assert_eq!(
        root["attributes"],
        json!({
            "genkit:type": "action", "genkit:metadata:subtype": "flow", "genkit:key": "/flow/greet",
            "genkit:name": "greet", "genkit:isRoot": true, "genkit:path": "/{greet,t:flow}",
            "genkit:metadata:context": "{}", "genkit:input": "{\"name\":\"Ada\"}",
            "genkit:output": "\"Hello, Ada!\"", "genkit:state": "success",
        })
    );
    assert!(root["endTime"].as_f64().unwrap() >= root["startTime"].as_f64().unwrap());
}

#[test]
fn context_is_redacted_and_telemetry_labels_copied() {
    let h = harness();
    let r = block_on(run_action(json!({
        "key": "/flow/greet", "input": {"name": "Ada"},
        "context": {"auth": {"uid": "u1"}}, "telemetryLabels": {"label1": "x"},
    })));
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let spans = h.telemetry.spans(&trace_id);
    assert_eq!(
        spans[0]["attributes"]["genkit:metadata:context"],
        "{\"auth\":\"<redacted>\"}"
    );
    assert_eq!(spans[0]["attributes"]["label1"], "x");
}

#[test]
fn streaming_sends_one_json_line_per_chunk_and_a_final_object_without_newline() {
    let r = block_on(stream_action(
        json!({"key": "/flow/greet", "input": {"name": "Ada"}}),
    ));
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let expected = format!(
        "\"hello \"\n\"Ada\"\n{{\"result\":\"Hello, Ada!\",\"telemetry\":{{\"traceId\":\"{trace_id}\"}}}}"
    );
    assert_eq!(r.body, expected);
    assert!(!r.body.ends_with('\n'));
}

#[test]
fn failures_are_200_bodies_with_code_message_and_stack() {
    let h = harness();
    block_on(async {
        let r = run_action(json!({"key": "/flow/failFlow", "input": "x"})).await;
        assert_eq!(r.status(), 200);
        let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
        let body = r.json();
        assert_eq!(body["error"]["code"], 13);
        assert_eq!(body["error"]["message"], "boom: x");
        assert_eq!(body["error"]["details"]["traceId"], trace_id.as_str());
        assert!(body["error"]["details"]["stack"]
            .as_str()
            .unwrap()
            .contains("boom: x"));
        let span = &h.telemetry.spans(&trace_id)[0];
        assert_eq!(
            span["status"],
            json!({"code": 2, "message": "INTERNAL: boom: x"})
        );
        assert_eq!(span["attributes"]["genkit:state"], "error");
        assert_eq!(span["attributes"]["genkit:isFailureSource"], true);
        let event = &span["timeEvents"]["timeEvent"][0]["annotation"];
        assert_eq!(event["description"], "exception");
        assert_eq!(event["attributes"]["exception.type"], "GenkitError");

        // the same error as the last line of a stream
        let s = stream_action(json!({"key": "/flow/failFlow", "input": "x"})).await;
        assert_eq!(s.json()["error"]["message"], "boom: x");

        // input that fails the schema: INVALID_ARGUMENT
        let bad = run_action(json!({"key": "/flow/greet", "input": {"nom": 1}})).await;
        assert_eq!(bad.status(), 200);
        assert_eq!(bad.json()["error"]["code"], 3);
        assert!(bad.json()["error"]["details"]["stack"].is_string());

        // not JSON at all: an error body, no trace
        let junk = http::request(&h.url, "POST", "/api/runAction", &[], "\"Oslo\"").await;
        assert_eq!(junk.status(), 200);
        assert!(junk.header("x-genkit-trace-id").is_none());
        assert_eq!(junk.json()["error"]["code"], 3);
        assert!(junk.json()["error"]["details"]["stack"].is_string());

        // an unknown key: 404 text, as the CLI prints it
        let missing = run_action(json!({"key": "/flow/nope", "input": "x"})).await;
        assert_eq!(
            (missing.status(), missing.body.as_str()),
            (404, "action /flow/nope not found")
        );
    });
}

#[test]
fn a_tool_run_directly_runs_and_an_interrupt_tool_reports_tool_interrupt_error() {
    let h = harness();
    block_on(async {
        let r = run_action(json!({"key": "/tool/getWeather", "input": {"city": "Rome"}})).await;
        assert_eq!(r.json()["result"], json!({"city": "Rome", "tempC": 21.0}));
        let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
        let span = &h.telemetry.spans(&trace_id)[0];
        assert_eq!(
            span["attributes"]["genkit:path"],
            "/{getWeather,t:action,s:tool}"
        );
        assert_eq!(span["attributes"]["genkit:key"], "/tool/getWeather");

        let r = run_action(json!({"key": "/tool/askUser", "input": {"question": "ok?"}})).await;
        let error = &r.json()["error"];
        assert_eq!(error["code"], 13);
        assert!(error["details"]["stack"]
            .as_str()
            .unwrap()
            .starts_with("ToolInterruptError"));
    });
}

#[test]
fn a_model_runs_directly_and_streams() {
    block_on(async {
        let input = json!({"messages": [{"role": "user", "content": [{"text": "Oslo"}]}],
                           "tools": [{"name": "getWeather", "description": "w", "inputSchema": {"type": "object"}}]});
        let r = run_action(json!({"key": "/model/canned/echo", "input": input})).await;
        assert_eq!(
            r.json()["result"]["message"],
            json!({"role": "model", "content": [{"toolRequest": {"name": "getWeather", "ref": "call-1", "input": {"city": "Oslo"}}}]})
        );
    });
}

#[test]
fn a_flow_traces_generate_model_and_tool_spans_with_genkit_paths() {
    let h = harness();
    let r = block_on(run_action(
        json!({"key": "/flow/weatherFlow", "input": "Oslo"}),
    ));
    assert_eq!(
        r.json()["result"],
        "tool getWeather said: {\"city\":\"Oslo\",\"tempC\":21.0}"
    );
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let spans = h.telemetry.spans(&trace_id);
    let path = |s: &Value| s["attributes"]["genkit:path"].as_str().unwrap().to_owned();
    let mut paths: Vec<String> = spans.iter().map(path).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/{weatherFlow,t:flow}",
            "/{weatherFlow,t:flow}/{generate,t:util}",
            "/{weatherFlow,t:flow}/{generate,t:util}/{canned/echo,t:action,s:model}",
            "/{weatherFlow,t:flow}/{generate,t:util}/{canned/echo,t:action,s:model}",
            "/{weatherFlow,t:flow}/{generate,t:util}/{getWeather,t:action,s:tool}",
        ]
    );
    let by_path = |p: &str| spans.iter().find(|s| path(s) == p).unwrap().clone();
    let flow = by_path("/{weatherFlow,t:flow}");
    let generate = by_path("/{weatherFlow,t:flow}/{generate,t:util}");
    let tool = by_path("/{weatherFlow,t:flow}/{generate,t:util}/{getWeather,t:action,s:tool}");
    assert_eq!(generate["parentSpanId"], flow["spanId"]);
    assert_eq!(tool["parentSpanId"], generate["spanId"]);
    assert_eq!(generate["attributes"]["genkit:type"], "util");
    assert!(generate["attributes"].get("genkit:key").is_none());
    assert!(generate["attributes"].get("genkit:isRoot").is_none());
    assert_eq!(tool["attributes"]["genkit:input"], "{\"city\":\"Oslo\"}");
    assert_eq!(
        tool["attributes"]["genkit:output"],
        "{\"city\":\"Oslo\",\"tempC\":21.0}"
    );
    let gen_in: Value =
        serde_json::from_str(generate["attributes"]["genkit:input"].as_str().unwrap()).unwrap();
    assert_eq!(gen_in["tools"], json!(["getWeather"]));
    let gen_out: Value =
        serde_json::from_str(generate["attributes"]["genkit:output"].as_str().unwrap()).unwrap();
    assert_eq!(gen_out["finishReason"], "stop");
    for s in &spans {
        assert_eq!(s["traceId"], trace_id.as_str());
        assert_eq!(s["attributes"]["genkit:state"], "success");
    }
}

#[test]
fn each_working_middleware_hook_is_a_span_inside_the_span_it_wraps() {
    let h = harness();
    let input = json!({
        "model": "canned/echo",
        "messages": [{"role": "user", "content": [{"text": "Oslo"}]}],
        "tools": ["getWeather"],
        "use": [{"name": "retry"}, {"name": "toolApproval"}]
    });
    let r = block_on(run_action(json!({"key": "/util/generate", "input": input})));
    assert_eq!(
        r.json()["result"]["finishReason"],
        "interrupted",
        "{}",
        r.body
    );
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let spans = h.telemetry.spans(&trace_id);
    let path = |s: &Value| s["attributes"]["genkit:path"].as_str().unwrap().to_owned();
    let mut paths: Vec<String> = spans.iter().map(path).collect();
    paths.sort();
    // hooks that only forward (retry's tool hook, toolApproval's model hook) add no span
    assert_eq!(
        paths,
        vec![
            "/{generate,t:util}",
            "/{generate,t:util}/{getWeather,t:action,s:tool}",
            "/{generate,t:util}/{getWeather,t:action,s:tool}/{toolApproval.tool,t:action,s:middleware}",
            "/{generate,t:util}/{retry.model,t:action,s:middleware}",
            "/{generate,t:util}/{retry.model,t:action,s:middleware}/{canned/echo,t:action,s:model}",
        ],
        "{spans:#?}"
    );
    let by_path = |p: &str| spans.iter().find(|s| path(s) == p).unwrap().clone();
    let held = by_path(
        "/{generate,t:util}/{getWeather,t:action,s:tool}/{toolApproval.tool,t:action,s:middleware}",
    );
    // the hook answered without calling next: an interrupt, recorded as Genkit records one
    assert_eq!(held["attributes"]["genkit:state"], "error");
    assert_eq!(
        held["attributes"]["genkit:input"],
        "{\"shortCircuit\":true}"
    );
    assert!(held["attributes"]["genkit:metadata:interrupt"]
        .as_str()
        .unwrap()
        .contains("Tool not in approved list: getWeather"));
    let retry = by_path("/{generate,t:util}/{retry.model,t:action,s:middleware}");
    assert_eq!(retry["attributes"]["genkit:state"], "success");
    assert!(retry["attributes"].get("genkit:input").is_none());
}

#[test]
fn an_interrupted_tool_is_an_error_span_under_a_successful_generate() {
    let h = harness();
    let r = block_on(run_action(
        json!({"key": "/flow/interruptFlow", "input": "now"}),
    ));
    assert_eq!(
        r.json()["result"],
        json!({"finishReason": "interrupted", "interrupts": [{"toolRequest": {"name": "askUser", "ref": "call-1", "input": {"question": "Proceed?"}}, "metadata": {"interrupt": true}}]})
    );
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let spans = h.telemetry.spans(&trace_id);
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s["displayName"] == name)
            .unwrap_or_else(|| panic!("no span {name}"))
            .clone()
    };
    let tool = find("askUser");
    assert_eq!(tool["attributes"]["genkit:state"], "error");
    assert_eq!(tool["attributes"]["genkit:isFailureSource"], true);
    assert_eq!(tool["attributes"]["genkit:metadata:interrupt"], "true");
    assert_eq!(tool["status"], json!({"code": 2, "message": ""}));
    assert_eq!(
        tool["timeEvents"]["timeEvent"][0]["annotation"]["attributes"]["exception.type"],
        "ToolInterruptError"
    );
    assert_eq!(find("generate")["attributes"]["genkit:state"], "success");
    assert_eq!(
        find("interruptFlow")["attributes"]["genkit:state"],
        "success"
    );
    assert!(find("interruptFlow")["attributes"]
        .get("genkit:isFailureSource")
        .is_none());
}

#[test]
fn steps_are_flow_step_spans() {
    let h = harness();
    let r = block_on(run_action(json!({"key": "/flow/steps", "input": "hi"})));
    assert_eq!(r.json()["result"], "HI!");
    let trace_id = r.header("x-genkit-trace-id").unwrap().to_owned();
    let mut paths: Vec<String> = h
        .telemetry
        .spans(&trace_id)
        .iter()
        .map(|s| s["attributes"]["genkit:path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/{steps,t:flow}",
            "/{steps,t:flow}/{excite,t:flowStep}",
            "/{steps,t:flow}/{upper,t:flowStep}"
        ]
    );
}

/// `/util/generate` interrupted, then resumed with an answer, both streamed, as the Developer
/// UI's model runner does (compare `js-reflection-v1-exchanges.jsonl`).
#[test]
fn util_generate_interrupts_then_resumes_through_run_action() {
    block_on(async {
        let question = json!({"model": "canned/echo", "messages": [{"role": "user", "content": [{"text": "interrupt please"}]}], "tools": ["askUser"]});
        let r = stream_action(json!({"key": "/util/generate", "input": question})).await;
        let last: Value = serde_json::from_str(r.body.lines().last().unwrap()).unwrap();
        let result = &last["result"];
        assert_eq!(result["finishReason"], "interrupted");
        assert_eq!(
            result["finishMessage"],
            "One or more tool calls resulted in interrupts."
        );
        let model_message = result["message"].clone();
        assert_eq!(
            model_message,
            json!({"role": "model", "content": [{"toolRequest": {"name": "askUser", "ref": "call-1", "input": {"question": "Proceed?"}}, "metadata": {"interrupt": true}}]})
        );

        let resume = json!({
            "model": "canned/echo",
            "messages": [{"role": "user", "content": [{"text": "interrupt please"}]}, model_message],
            "tools": ["askUser"],
            "resume": {"respond": [{"toolResponse": {"name": "askUser", "ref": "call-1", "output": {"answer": true}}, "metadata": {"interruptResponse": true}}]},
        });
        let r = stream_action(json!({"key": "/util/generate", "input": resume})).await;
        let lines: Vec<Value> = r
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"role": "tool", "index": 0, "content": [{"toolResponse": {"name": "askUser", "ref": "call-1", "output": {"answer": true}}, "metadata": {"interruptResponse": true}}]})
        );
        let result = &lines.last().unwrap()["result"];
        assert_eq!(result["finishReason"], "stop");
        assert_eq!(
            result["message"]["content"][0]["text"],
            "tool askUser said: {\"answer\":true}"
        );
        let history = &result["request"]["messages"];
        assert_eq!(
            history[1]["content"][0]["metadata"],
            json!({"resolvedInterrupt": true})
        );
        assert_eq!(history[2]["metadata"], json!({"resumed": true}));
    });
}

#[test]
fn headers_go_out_when_the_run_starts_and_cancel_stops_it() {
    let h = harness();
    block_on(async {
        let pending = http::open(
            &h.url,
            "POST",
            "/api/runAction",
            &[],
            &json!({"key": "/flow/slowFlow", "input": 30000}).to_string(),
        )
        .await;
        assert!(
            pending.head.elapsed < Duration::from_secs(5),
            "headers before the 30 s flow ends"
        );
        let trace_id = pending.head.header("x-genkit-trace-id").unwrap().to_owned();
        let span_id = pending.head.header("x-genkit-span-id").unwrap().to_owned();

        // realtime telemetry: the running span was posted at its start, with only the early
        // attributes and no end time
        let mut started = None;
        for _ in 0..100 {
            if let Some(p) = h.telemetry.posts(&trace_id).first() {
                started = Some(p.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = started.expect("a start post while the flow runs");
        assert_eq!(started["displayName"], "slowFlow");
        assert_eq!(started["endTime"], 0.0);
        let span = &started["spans"][&span_id];
        assert_eq!(span["endTime"], 0.0);
        assert_eq!(
            span["attributes"],
            json!({"genkit:type": "action", "genkit:metadata:subtype": "flow", "genkit:key": "/flow/slowFlow"})
        );

        let cancel = http::post(&h.url, "/api/cancelAction", &json!({"traceId": trace_id})).await;
        assert_eq!(
            (cancel.status(), cancel.json()),
            (200, json!({"message": "Action cancelled"}))
        );
        let r = tokio::time::timeout(Duration::from_secs(5), pending.finish())
            .await
            .expect("the cancelled run answers at once");
        assert_eq!(r.json()["error"]["code"], 1);
        assert_eq!(r.json()["error"]["message"], "Action was cancelled");

        let again = http::post(&h.url, "/api/cancelAction", &json!({"traceId": trace_id})).await;
        assert_eq!(
            (again.status(), again.json()),
            (
                404,
                json!({"message": "Action not found or already completed"})
            )
        );
        let none = http::post(&h.url, "/api/cancelAction", &json!({})).await;
        assert_eq!(
            (none.status(), none.json()),
            (400, json!({"error": "traceId is required"}))
        );

        // the cancelled flow's span ends in error
        let span = &h.telemetry.spans(&trace_id)[0];
        assert_eq!(span["attributes"]["genkit:state"], "error");
    });
}

/// Genkit's `tests/specs/reflection_api.yaml`, against this runtime.
#[test]
fn reflection_api_spec() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/genkit/specs/reflection_api.yaml"
    );
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tests = spec["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for case in tests {
        let path = case["path"].as_str().unwrap();
        let r = block_on(http::post(&harness().url, path, &case["post"]));
        assert_eq!(r.status(), 200, "{path}: {}", r.body);
        let body = r.json();
        assert!(
            contains(&body, &case["body"]),
            "{path}\nexpected (subset): {}\nactual: {body}",
            case["body"]
        );
        assert_eq!(body["result"], case["body"]["result"], "the result exactly");
    }
}

#[test]
fn a_cross_origin_page_cannot_stop_or_drive_the_runtime() {
    let h = harness();
    block_on(async {
        for origin in [
            "http://evil.example",
            "null",
            "http://localhost.evil.example",
        ] {
            let quit = http::request(
                &h.url,
                "GET",
                "/api/__quitquitquit",
                &[("origin", origin)],
                "",
            )
            .await;
            assert_eq!(quit.status(), 403, "{origin}");
            let run = http::request(
                &h.url,
                "POST",
                "/api/runAction",
                &[("origin", origin)],
                &json!({"key": "/flow/steps", "input": "x"}).to_string(),
            )
            .await;
            assert_eq!(run.status(), 403, "{origin}");
        }
        // still running
        let ok = http::get(&h.url, "/api/__health").await;
        assert_eq!(ok.status(), 200);
    });
}

#[test]
fn the_dev_uis_own_origin_and_requests_without_one_pass() {
    let h = harness();
    block_on(async {
        for headers in [
            vec![],
            vec![("origin", "http://localhost:4000")],
            vec![("origin", "http://127.0.0.1:4000")],
        ] {
            let r = http::request(
                &h.url,
                "POST",
                "/api/runAction",
                &headers,
                &json!({"key": "/flow/steps", "input": "x"}).to_string(),
            )
            .await;
            assert_eq!(r.json()["result"], "X!", "{headers:?}");
        }
    });
}

#[test]
fn every_host_header_must_be_loopback_and_absolute_targets_are_refused() {
    let h = harness();
    block_on(async {
        // a second Host naming another machine (DNS rebinding through a lenient proxy)
        let r = http::request(
            &h.url,
            "GET",
            "/api/__health",
            &[("host", "evil.example")],
            "",
        )
        .await;
        assert_eq!(r.status(), 403);
        let addr = h.url.trim_start_matches("http://").trim_end_matches('/');
        let absolute = format!("http://{addr}/api/__health");
        let r = http::request(&h.url, "GET", &absolute, &[], "").await;
        assert_eq!(r.status(), 403);
        let r = http::request(
            &h.url,
            "GET",
            "http://evil.example/api/__quitquitquit",
            &[],
            "",
        )
        .await;
        assert_eq!(r.status(), 403);
        let ok = http::get(&h.url, "/api/__health").await;
        assert_eq!(ok.status(), 200);
    });
}
