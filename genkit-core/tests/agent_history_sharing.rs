//! A conversation that goes on shares one history storage across its turns, the store's
//! snapshots and the generate calls: a turn appends to the history in place instead of copying
//! it (docs/architecture.md, "One history, many holders"). A copy per turn would make a turn's
//! cost grow with the conversation's length; only the storage's growth (capacity doubling) and
//! branches may copy.

use std::sync::Arc;

use genkit_core::agent::{Agent, ChatRef, PromptSpec};
use genkit_core::session::{
    InMemorySessionStore, SessionStore, SnapshotFilter, SnapshotMutator, StoreFuture, StoreScope,
};
use genkit_core::testing::ProgrammableModel;
use genkit_core::{
    ActionContext, AgentFinishReason, FinishReason, Genkit, Message, Messages, ModelResponse, Role,
    SessionSnapshot, SessionState,
};

fn text(t: &str) -> ModelResponse {
    ModelResponse::new(Message::model(t), FinishReason::Stop)
}

fn fixture() -> (Genkit, ProgrammableModel, Agent) {
    let model = ProgrammableModel::new("pm");
    let agent: Agent = Agent::prompt(
        "chatty",
        // a system message: rendered before the history every turn
        PromptSpec::new().model("pm").system("Be brief."),
    )
    .shared_store(Arc::new(InMemorySessionStore::new()))
    .build();
    let ai = Genkit::builder()
        .model(model.clone())
        .agent(agent.clone())
        .build()
        .unwrap();
    (ai, model, agent)
}

#[tokio::test]
async fn turns_of_one_conversation_append_to_one_shared_history() {
    let (ai, model, agent) = fixture();
    let mut chat = agent.chat(&ai);
    let turns = 40;
    let mut previous: Option<Messages> = None;
    let mut copies = 0;
    for i in 0..turns {
        model.push_response(text(&format!("answer {i}")));
        let r = chat.send(format!("question {i}")).await.unwrap();
        let now = r.state().messages.clone().unwrap();
        assert_eq!(now.len(), 2 * (i + 1), "the system message is not stored");
        assert_eq!(now[0].role, Role::User);
        if let Some(before) = &previous {
            if Messages::shared_len(before, &now) != before.len() {
                copies += 1;
            }
        }
        // the stored snapshot holds the same history, not a copy of it
        let stored = agent
            .snapshot(&ChatRef::Snapshot(r.snapshot_id().unwrap().to_owned()))
            .await
            .unwrap()
            .unwrap();
        let stored = stored.state.unwrap().messages.unwrap();
        assert_eq!(Messages::shared_len(&stored, &now), now.len());
        previous = Some(now);
    }
    // the storage doubles when full: a few copies over 80 messages, not one per turn
    assert!(copies <= 6, "{copies} of {turns} turns copied the history");

    // what the model was sent each turn: the system message, then the history, in order
    let sent = model.last_request().unwrap().messages;
    assert_eq!(sent[0].role, Role::System);
    assert_eq!(sent[0].text(), "Be brief.");
    assert_eq!(sent.len(), 2 * turns);
    assert_eq!(
        sent.last().unwrap().text(),
        format!("question {}", turns - 1)
    );
}

#[tokio::test]
async fn a_branch_from_an_old_snapshot_sees_only_its_own_history() {
    let (ai, model, agent) = fixture();
    let mut chat = agent.chat(&ai);
    model.push_response(text("one"));
    let first = chat.send("first").await.unwrap();
    let fork_point = first.snapshot_id().unwrap().to_owned();
    model.push_response(text("two"));
    chat.send("second").await.unwrap();

    // the storage's next slots are taken by the main line: the branch copies, and neither
    // line sees the other's messages
    let mut branch = agent
        .load_chat(&ai, ChatRef::Snapshot(fork_point))
        .await
        .unwrap();
    model.push_response(text("other two"));
    let b = branch.send("another second").await.unwrap();
    let texts: Vec<String> = b.messages().iter().map(Message::text).collect();
    assert_eq!(texts, ["first", "one", "another second", "other two"]);
    model.push_response(text("three"));
    let main = chat.send("third").await.unwrap();
    let texts: Vec<String> = main.messages().iter().map(Message::text).collect();
    assert_eq!(texts, ["first", "one", "second", "two", "third", "three"]);
}

/// Counts the snapshot reads that reach the store.
struct CountingStore {
    inner: InMemorySessionStore,
    reads: std::sync::atomic::AtomicUsize,
}

impl SessionStore for CountingStore {
    fn get_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: &'a str,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get_snapshot(scope, snapshot_id)
    }

    fn get_latest_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        session_id: &'a str,
        filter: &'a SnapshotFilter,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        self.inner.get_latest_snapshot(scope, session_id, filter)
    }

    fn save_snapshot<'a>(
        &'a self,
        scope: &'a StoreScope,
        snapshot_id: Option<&'a str>,
        mutator: &'a SnapshotMutator<'a>,
    ) -> StoreFuture<'a, Option<SessionSnapshot>> {
        self.inner.save_snapshot(scope, snapshot_id, mutator)
    }
}

#[tokio::test]
async fn a_loaded_chat_continues_from_the_snapshot_it_read_without_reading_it_again() {
    let model = ProgrammableModel::new("pm");
    let store = Arc::new(CountingStore {
        inner: InMemorySessionStore::new(),
        reads: Default::default(),
    });
    let agent: Agent = Agent::prompt("chatty", PromptSpec::new().model("pm"))
        .shared_store(store.clone())
        .build();
    let ai = Genkit::builder()
        .model(model.clone())
        .agent(agent.clone())
        .build()
        .unwrap();
    model.push_response(text("one"));
    let first = agent.chat(&ai).send("first").await.unwrap();
    let id = first.snapshot_id().unwrap().to_owned();

    let reads = || store.reads.load(std::sync::atomic::Ordering::SeqCst);
    let before = reads();
    let mut later = agent.load_chat(&ai, ChatRef::Snapshot(id)).await.unwrap();
    model.push_response(text("two"));
    let second = later.send("second").await.unwrap();
    assert_eq!(reads() - before, 1, "one read, by load_chat");
    let texts: Vec<String> = second.messages().iter().map(Message::text).collect();
    assert_eq!(texts, ["first", "one", "second", "two"]);
    // the turn after reads nothing either: it continues from the snapshot it saved
    model.push_response(text("three"));
    later.send("third").await.unwrap();
    assert_eq!(reads() - before, 1, "no read for a turn after a turn");
    assert_eq!(model.requests()[2].messages.len(), 5);
    // and so does a chat that started fresh, interrupted or not
    let before = reads();
    let mut fresh = agent.chat(&ai);
    for (i, answer) in ["a", "b", "c"].into_iter().enumerate() {
        model.push_response(text(answer));
        let r = fresh.send(format!("turn {i}")).await.unwrap();
        assert_eq!(r.messages().len(), 2 * (i + 1));
    }
    model.push_response(text("streamed"));
    let streamed = fresh.send_stream("turn 3").response().await.unwrap();
    assert_eq!(streamed.messages().len(), 8);
    model.push_response(text("after the stream"));
    fresh.send("turn 4").await.unwrap();
    assert_eq!(reads(), before, "a chat's own turns are never read back");
}

#[tokio::test]
async fn a_snapshot_loaded_without_a_context_is_not_used_under_another_tenants_context() {
    let model = ProgrammableModel::new("pm");
    let store = Arc::new(InMemorySessionStore::new());
    let agent: Agent = Agent::prompt("scoped", PromptSpec::new().model("pm"))
        .shared_store(store.clone())
        .scope_from_context(|ctx| {
            let uid = ctx
                .get("auth")
                .and_then(|a| a["uid"].as_str())
                .unwrap_or("anonymous");
            Ok(StoreScope::new(format!("users/{uid}"))?)
        })
        .build();
    let ai = Genkit::builder()
        .model(model.clone())
        .agent(agent.clone())
        .build()
        .unwrap();
    // a conversation in the global scope, which a chat without a context reads
    let state = SessionState {
        messages: Some(vec![Message::user("the global secret")].into()),
        ..Default::default()
    };
    let mut snapshot = SessionSnapshot::new_turn("global-chat", None, state);
    snapshot.snapshot_id = "global-1".into();
    let id = snapshot.snapshot_id.clone();
    store
        .create_snapshot(&StoreScope::global(), snapshot)
        .await
        .unwrap()
        .unwrap();
    let loaded = agent
        .load_chat(&ai, ChatRef::Snapshot(id.clone()))
        .await
        .unwrap();
    // the same chat under mallory's context: her scope has no such snapshot
    let mut as_mallory = loaded
        .with_context(ActionContext::new().with("auth", serde_json::json!({"uid": "mallory"})));
    model.push_response(text("leaked?"));
    let r = as_mallory.send("what was said?").await.unwrap();
    assert_eq!(r.finish_reason(), Some(&AgentFinishReason::Failed));
    assert_eq!(
        r.error().and_then(|e| e.status.as_deref()),
        Some("NOT_FOUND"),
        "{:?}",
        r.error()
    );
    assert!(
        model.requests().is_empty(),
        "the model saw another scope's history"
    );
}
