//! Agents served over HTTP (`serve::AgentServer`): one turn per POST, SSE streaming, the
//! getSnapshot and abort routes, auth scoping a session to its user, and the hostile cases:
//! malformed and mistyped bodies, oversize bodies, another user's ids, aborting a finished
//! snapshot, a client vanishing mid-stream, 200 streaming clients at once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::http;
use futures::future::BoxFuture;
use genkit_core::agent::{Agent, PromptSpec};
use genkit_core::serve::{AgentServer, RequestData};
use genkit_core::session::{
    InMemorySessionStore, ListQuery, SessionStore, SnapshotFilter, StoreScope,
};
use genkit_core::{
    ActionContext, FinishReason, GenerateResponseChunk, Genkit, GenkitError, Message, Model,
    ModelContext, ModelRequest, ModelResponse, Part, PartKind, Role, SnapshotStatus, Status, Tool,
    ToolContext, ToolRequest,
};
use serde_json::{json, Value};

/// Echoes the last user message word by word (slowly when it says "slow"); asks `whoami` when
/// told to, and answers with what the tool said.
struct EchoWords;

impl Model for EchoWords {
    fn name(&self) -> &str {
        "test/words"
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let last = request
                .messages
                .last()
                .cloned()
                .unwrap_or_else(|| Message::user(""));
            if last.role == Role::Tool {
                let said: Vec<String> = last
                    .content
                    .iter()
                    .filter_map(|p| match &p.kind {
                        PartKind::ToolResponse(r) => r.output.as_ref().map(Value::to_string),
                        _ => None,
                    })
                    .collect();
                return Ok(ModelResponse::new(
                    Message::model(format!("tool said {}", said.join(","))),
                    FinishReason::Stop,
                ));
            }
            let text = last.text();
            if text.contains("whoami") {
                let ask = ToolRequest::new("whoami", Some("w1".into()), json!({}));
                return Ok(ModelResponse::new(
                    Message::new(Role::Model, vec![Part::tool_request(ask)]),
                    FinishReason::Stop,
                ));
            }
            let answer = format!("echo: {text}");
            let slow = text.contains("slow");
            for word in answer.split_inclusive(' ') {
                ctx.send_chunk(GenerateResponseChunk::new(vec![Part::text(word)]))
                    .await;
                if slow {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }
            Ok(ModelResponse::new(
                Message::model(answer),
                FinishReason::Stop,
            ))
        })
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

struct Fx {
    url: String,
    store: Arc<InMemorySessionStore>,
}

fn scope_of(ctx: &ActionContext) -> Result<StoreScope, GenkitError> {
    let uid = ctx
        .get("auth")
        .and_then(|a| a["uid"].as_str())
        .ok_or_else(|| GenkitError::with_status(Status::Unauthenticated, "no user"))?;
    Ok(StoreScope::new(format!("users/{uid}"))?)
}

/// An agent scoped per user behind a bearer-token context provider, and an unscoped one.
async fn start(limit: Option<usize>) -> Fx {
    let store = Arc::new(InMemorySessionStore::new());
    let whoami: Tool<Nothing, String> = Tool::new(
        "whoami",
        "the signed-in user",
        |_: Nothing, ctx: ToolContext| async move {
            Ok(ctx
                .context()
                .get("auth")
                .map(|a| a["uid"].to_string())
                .unwrap_or_default())
        },
    );
    let chat: Agent = Agent::prompt(
        "chat",
        PromptSpec::new().model("test/words").tools(["whoami"]),
    )
    .shared_store(store.clone())
    .scope_from_context(scope_of)
    .build();
    let open: Agent = Agent::prompt("open", PromptSpec::new().model("test/words"))
        .shared_store(store.clone())
        .build();
    let ai = Genkit::builder()
        .model(EchoWords)
        .tool(whoami)
        .agent(chat.clone())
        .agent(open.clone())
        .build()
        .unwrap();
    let mut server = AgentServer::new(&ai)
        .path_prefix("agents/")
        .context_provider(|req: RequestData| async move {
            match req
                .headers
                .get("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
            {
                Some(uid) if !uid.is_empty() => {
                    Ok(ActionContext::new().with("auth", json!({ "uid": uid })))
                }
                _ => Err(GenkitError::with_status(
                    Status::Unauthenticated,
                    "sign in first",
                )),
            }
        })
        .agent(&chat)
        .agent(&open);
    if let Some(limit) = limit {
        server = server.body_limit(limit);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server.serve(listener));
    Fx { url, store }
}

fn say(text: &str) -> Value {
    json!({"message": {"role": "user", "content": [{"text": text}]}})
}

async fn post_as(fx: &Fx, user: &str, path: &str, body: &str, stream: bool) -> http::Response {
    let auth = format!("Bearer {user}");
    let mut headers = vec![("authorization", auth.as_str())];
    if stream {
        headers.push(("accept", "text/event-stream"));
    }
    http::request(&fx.url, "POST", path, &headers, body).await
}

/// The `data:` / `error:` blocks of an SSE body.
fn blocks(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|b| !b.is_empty())
        .map(|b| {
            let (prefix, json) = b.split_once(": ").unwrap();
            (prefix.to_owned(), serde_json::from_str(json).unwrap())
        })
        .collect()
}

async fn all_snapshots(
    store: &InMemorySessionStore,
    scope: &str,
) -> Vec<genkit_core::SessionSnapshot> {
    let scope = StoreScope::new(scope).unwrap();
    store
        .list_snapshots(&scope, &ListQuery::new(SnapshotFilter::any()))
        .await
        .unwrap()
        .snapshots
}

#[tokio::test]
async fn a_turn_as_json_then_streamed_then_continued() {
    let fx = start(None).await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat",
        &json!({"data": say("hi there")}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body);
    let out = &r.json()["result"];
    assert_eq!(out["message"]["content"][0]["text"], "echo: hi there");
    assert_eq!(out["finishReason"], "stop");
    let snapshot = out["snapshotId"].as_str().unwrap().to_owned();
    assert!(
        out.get("state").is_none(),
        "a server-managed agent sends ids, not state"
    );

    // streamed, continuing from the snapshot
    let body = json!({"data": say("and more"), "init": {"snapshotId": snapshot}}).to_string();
    let r = post_as(&fx, "alice", "/agents/chat", &body, true).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let got = blocks(&r.body);
    let (last_prefix, last) = got.last().unwrap();
    assert_eq!(last_prefix, "data");
    let out = &last["result"];
    assert_eq!(out["message"]["content"][0]["text"], "echo: and more");
    let text: String = got
        .iter()
        .filter_map(|(_, b)| b["message"]["modelChunk"]["content"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: and more");
    let turn_end = got
        .iter()
        .find_map(|(_, b)| b["message"].get("turnEnd"))
        .expect("a turnEnd chunk");
    assert_eq!(turn_end["snapshotId"], out["snapshotId"]);

    // both turns stored, in alice's scope only, the second continuing the first
    let stored = all_snapshots(&fx.store, "users/alice").await;
    assert_eq!(stored.len(), 2);
    let second = stored
        .iter()
        .find(|s| Some(s.snapshot_id.as_str()) == out["snapshotId"].as_str())
        .unwrap();
    assert_eq!(second.parent_id.as_deref(), Some(snapshot.as_str()));
    assert!(all_snapshots(&fx.store, "global").await.is_empty());

    // getSnapshot reads it back
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat/getSnapshot",
        &json!({"data": {"snapshotId": snapshot}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body);
    assert_eq!(r.json()["result"]["snapshotId"], snapshot.as_str());
}

#[tokio::test]
async fn the_context_reaches_tools_and_stores() {
    let fx = start(None).await;
    let r = post_as(
        &fx,
        "bob",
        "/agents/chat",
        &json!({"data": say("whoami")}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body);
    assert_eq!(
        r.json()["result"]["message"]["content"][0]["text"],
        "tool said \"\\\"bob\\\"\""
    );
    assert_eq!(all_snapshots(&fx.store, "users/bob").await.len(), 1);
    // no credentials: refused before anything runs
    let r = http::request(
        &fx.url,
        "POST",
        "/agents/chat",
        &[],
        &json!({"data": say("hi")}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json(),
        json!({"status": "UNAUTHENTICATED", "message": "sign in first"})
    );
}

#[tokio::test]
async fn another_users_session_is_permission_denied_on_every_route() {
    let fx = start(None).await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat",
        &json!({"data": say("secret plans")}).to_string(),
        false,
    )
    .await;
    let out = r.json()["result"].clone();
    let (snapshot, session) = (
        out["snapshotId"].as_str().unwrap(),
        out["sessionId"].as_str().unwrap(),
    );
    let before = all_snapshots(&fx.store, "users/alice").await;

    for init in [
        json!({"snapshotId": snapshot}),
        json!({"sessionId": session}),
    ] {
        for stream in [false, true] {
            let body = json!({"data": say("tell me"), "init": init}).to_string();
            let r = post_as(&fx, "mallory", "/agents/chat", &body, stream).await;
            assert_eq!(r.status(), 403, "{init} stream={stream}: {}", r.body);
            assert_eq!(r.json()["status"], "PERMISSION_DENIED");
            assert!(!r.body.contains("secret"), "{}", r.body);
        }
    }
    for (path, data) in [
        ("/agents/chat/getSnapshot", json!({"snapshotId": snapshot})),
        ("/agents/chat/getSnapshot", json!({"sessionId": session})),
        ("/agents/chat/abort", json!({"snapshotId": snapshot})),
    ] {
        let r = post_as(
            &fx,
            "mallory",
            path,
            &json!({ "data": data }).to_string(),
            false,
        )
        .await;
        assert_eq!(r.status(), 403, "{path} {data}: {}", r.body);
        assert_eq!(r.json()["status"], "PERMISSION_DENIED");
        assert!(!r.body.contains("secret"), "{}", r.body);
    }
    // an id nobody has answers the same (ids reveal nothing)
    let r = post_as(
        &fx,
        "mallory",
        "/agents/chat/getSnapshot",
        &json!({"data": {"snapshotId": "nope"}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 403);
    // nothing of alice's changed, nothing stored for mallory
    assert_eq!(all_snapshots(&fx.store, "users/alice").await, before);
    assert!(all_snapshots(&fx.store, "users/mallory").await.is_empty());
    // alice herself continues
    let body = json!({"data": say("go on"), "init": {"sessionId": session}}).to_string();
    assert_eq!(
        post_as(&fx, "alice", "/agents/chat", &body, false)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_bodies_are_400_in_genkits_shape_and_store_nothing() {
    let fx = start(None).await;
    let cases: Vec<(&str, String)> = vec![
        ("/agents/chat", String::new()),
        ("/agents/chat", "{\"data\": ".to_owned()),
        ("/agents/chat", "[1, 2]".to_owned()),
        ("/agents/chat", "\"hello\"".to_owned()),
        ("/agents/chat", json!({}).to_string()),
        ("/agents/chat", json!({"data": "hello"}).to_string()),
        ("/agents/chat", json!({"data": {}}).to_string()),
        (
            "/agents/chat",
            json!({"data": {"mesage": "typo"}}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": {"message": {"role": 5, "content": []}}}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": {"message": {"role": "user", "content": "hi"}}}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": say("hi"), "init": "s1"}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": say("hi"), "init": {"snapshotId": 7}}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": say("hi"), "init": {"snapshotId": "../../etc/passwd"}}).to_string(),
        ),
        (
            "/agents/chat",
            json!({"data": {"resume": {"respond": [{"text": "not a tool response"}]}}}).to_string(),
        ),
        ("/agents/chat/getSnapshot", "{nope".to_owned()),
        ("/agents/chat/getSnapshot", json!({"data": {}}).to_string()),
        (
            "/agents/chat/getSnapshot",
            json!({"data": {"snapshotId": 1}}).to_string(),
        ),
        (
            "/agents/chat/getSnapshot",
            json!({"data": {"snapshotId": "a", "sessionId": "b"}}).to_string(),
        ),
        ("/agents/chat/getSnapshot", json!({"data": "a"}).to_string()),
        ("/agents/chat/abort", "nope".to_owned()),
        ("/agents/chat/abort", json!({"data": {}}).to_string()),
        (
            "/agents/chat/abort",
            json!({"data": {"snapshotId": ["a"]}}).to_string(),
        ),
        ("/agents/chat/abort", json!({"data": null}).to_string()),
    ];
    for (path, body) in &cases {
        for stream in [false, true] {
            let r = post_as(&fx, "alice", path, body, stream).await;
            assert_eq!(r.status(), 400, "{path} {body} stream={stream}: {}", r.body);
            assert_eq!(
                r.header("content-type"),
                Some("application/json"),
                "{path} {body}"
            );
            let v = r.json();
            assert_eq!(v["status"], "INVALID_ARGUMENT", "{path} {body}: {v}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
            assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
        }
    }
    // client state sent to a server-managed agent: Genkit's own precondition error, still a 400
    let body = json!({"data": say("hi"), "init": {"state": {"messages": []}}}).to_string();
    for stream in [false, true] {
        let r = post_as(&fx, "alice", "/agents/chat", &body, stream).await;
        assert_eq!(r.status(), 400, "{}", r.body);
        assert_eq!(r.json()["status"], "FAILED_PRECONDITION");
    }
    assert!(all_snapshots(&fx.store, "users/alice").await.is_empty());
    assert!(all_snapshots(&fx.store, "global").await.is_empty());
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_it_is_read() {
    let fx = start(Some(4096)).await;
    let big = json!({"data": say(&"x".repeat(5000))}).to_string();
    for path in [
        "/agents/chat",
        "/agents/chat/getSnapshot",
        "/agents/chat/abort",
    ] {
        let r = post_as(&fx, "alice", path, &big, false).await;
        assert_eq!(r.status(), 413, "{path}: {}", r.body);
        assert_eq!(r.json()["status"], "RESOURCE_EXHAUSTED");
    }
    let small = json!({"data": say("fits")}).to_string();
    assert_eq!(
        post_as(&fx, "alice", "/agents/chat", &small, false)
            .await
            .status(),
        200
    );
    assert_eq!(all_snapshots(&fx.store, "users/alice").await.len(), 1);
}

#[tokio::test]
async fn aborting_a_completed_snapshot_answers_its_status_and_changes_nothing() {
    let fx = start(None).await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat",
        &json!({"data": say("done")}).to_string(),
        false,
    )
    .await;
    let id = r.json()["result"]["snapshotId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = all_snapshots(&fx.store, "users/alice").await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat/abort",
        &json!({"data": {"snapshotId": id}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"result": {"snapshotId": id, "status": "completed"}})
    );
    assert_eq!(all_snapshots(&fx.store, "users/alice").await, before);
}

#[tokio::test]
async fn detach_then_poll_then_abort_over_http() {
    let fx = start(None).await;
    let body = json!({"data": {"message": {"role": "user", "content": [{"text": "slow a b c d e f g h"}]}, "detach": true}}).to_string();
    let r = post_as(&fx, "alice", "/agents/chat", &body, false).await;
    assert_eq!(r.status(), 200, "{}", r.body);
    let out = r.json()["result"].clone();
    assert_eq!(out["finishReason"], "detached");
    let id = out["snapshotId"].as_str().unwrap().to_owned();
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat/getSnapshot",
        &json!({"data": {"snapshotId": id}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.json()["result"]["status"], "pending");
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat/abort",
        &json!({"data": {"snapshotId": id}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.json()["result"]["status"], "pending", "the status it had");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/chat/getSnapshot",
        &json!({"data": {"snapshotId": id}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.json()["result"]["status"], "aborted", "{}", r.body);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_leaves_a_whole_stored_turn() {
    let fx = start(None).await;
    let text = "slow one two three four five six";
    let body = json!({"data": say(text)}).to_string();
    let auth = "Bearer alice";
    let pending = http::open(
        &fx.url,
        "POST",
        "/agents/chat",
        &[("authorization", auth), ("accept", "text/event-stream")],
        &body,
    )
    .await;
    assert_eq!(pending.head.status, 200);
    // read nothing more: the socket closes here, a chunk or two into the turn
    drop(pending);
    assert!(
        all_snapshots(&fx.store, "users/alice").await.is_empty(),
        "not yet stored"
    );
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = all_snapshots(&fx.store, "users/alice").await;
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored.len(), 1, "the turn ran on and was stored");
    let s = &stored[0];
    assert_eq!(s.status(), SnapshotStatus::Completed);
    let messages = s.state.as_ref().unwrap().messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[1].text(),
        format!("echo: {text}"),
        "whole, not half-written"
    );
}

#[tokio::test]
async fn two_hundred_streaming_clients_at_once() {
    let fx = start(None).await;
    let fx = Arc::new(fx);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let fx = Arc::clone(&fx);
        tasks.push(tokio::spawn(async move {
            let user = format!("u{}", i % 7);
            let body = json!({"data": say(&format!("client {i} says hi"))}).to_string();
            let r = post_as(&fx, &user, "/agents/chat", &body, true).await;
            assert_eq!(r.status(), 200);
            let got = blocks(&r.body);
            let text: String = got
                .iter()
                .filter_map(|(_, b)| b["message"]["modelChunk"]["content"][0]["text"].as_str())
                .collect();
            assert_eq!(text, format!("echo: client {i} says hi"));
            let out = &got.last().unwrap().1["result"];
            assert_eq!(out["message"]["content"][0]["text"], text.as_str());
            (user, out["snapshotId"].as_str().unwrap().to_owned())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (user, id) = t.await.unwrap();
        let scope = StoreScope::new(format!("users/{user}")).unwrap();
        assert!(fx.store.get_snapshot(&scope, &id).await.unwrap().is_some());
        ids.insert(id);
    }
    assert_eq!(ids.len(), 200);
}

#[tokio::test]
async fn an_unscoped_agent_answers_not_found_for_unknown_ids() {
    let fx = start(None).await;
    let r = post_as(
        &fx,
        "alice",
        "/agents/open/getSnapshot",
        &json!({"data": {"snapshotId": "nope"}}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 404, "{}", r.body);
    assert_eq!(r.json()["status"], "NOT_FOUND");
    let r = post_as(
        &fx,
        "alice",
        "/agents/open",
        &json!({"data": say("hi")}).to_string(),
        false,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(all_snapshots(&fx.store, "global").await.len(), 1);
}
