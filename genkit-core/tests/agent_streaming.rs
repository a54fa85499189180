//! A prompt agent streams its model calls exactly when someone reads the turn: a plain `send`
//! calls the model unstreamed, `send_stream` and `resume_stream` stream it and forward the
//! model's chunks; the answer is the same either way.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::StreamExt;
use genkit_core::agent::{Agent, PromptSpec};
use genkit_core::session::InMemorySessionStore;
use genkit_core::{
    AgentStreamChunk, FinishReason, GenerateResponseChunk, Genkit, GenkitError, Message, Model,
    ModelContext, ModelRequest, ModelResponse, Part, Role, Tool, ToolRequest, TypedTool,
};
use serde_json::json;

/// Asks `approve` when the last message is the user's "pay"; otherwise answers "done",
/// sending it as a chunk first when streaming. Records whether each call streamed.
#[derive(Clone, Default)]
struct Recorder {
    streamed: Arc<Mutex<Vec<bool>>>,
}

impl Recorder {
    fn calls(&self) -> Vec<bool> {
        self.streamed.lock().unwrap().clone()
    }
}

impl Model for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn generate<'a>(
        &'a self,
        req: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            self.streamed.lock().unwrap().push(ctx.is_streaming());
            let last = req.messages.last();
            if last.is_some_and(|m| m.role == Role::User && m.text() == "pay") {
                let call =
                    Part::tool_request(ToolRequest::new("approve", Some("a1".into()), json!({})));
                return Ok(ModelResponse::new(
                    Message::new(Role::Model, vec![call]),
                    FinishReason::Stop,
                ));
            }
            ctx.send_chunk(GenerateResponseChunk {
                content: vec![Part::text("done")],
                ..Default::default()
            })
            .await;
            Ok(ModelResponse::new(
                Message::model("done"),
                FinishReason::Stop,
            ))
        })
    }
}

fn fixture() -> (Genkit, Agent, Recorder, Tool<serde_json::Value, bool>) {
    let model = Recorder::default();
    let approve: Tool<serde_json::Value, bool> = Tool::interrupt("approve", "asks a human");
    let agent: Agent = Agent::prompt(
        "pay",
        PromptSpec::new().model("recorder").tools(["approve"]),
    )
    .store(InMemorySessionStore::new())
    .build();
    let ai = Genkit::builder()
        .model(model.clone())
        .tool(approve.clone())
        .agent(agent.clone())
        .build()
        .unwrap();
    (ai, agent, model, approve)
}

fn model_text(chunks: &[AgentStreamChunk]) -> String {
    chunks
        .iter()
        .filter_map(|c| c.model_chunk.as_ref())
        .map(GenerateResponseChunk::text)
        .collect()
}

#[tokio::test]
async fn a_plain_send_calls_the_model_unstreamed() {
    let (ai, agent, model, _) = fixture();
    let r = agent.chat(&ai).send("hello").await.unwrap();
    assert_eq!(r.text(), "done");
    assert_eq!(model.calls(), [false]);
}

#[tokio::test]
async fn send_stream_streams_the_model_call_and_forwards_its_chunks() {
    let (ai, agent, model, _) = fixture();
    let mut chat = agent.chat(&ai);
    let mut turn = chat.send_stream("hello");
    let mut chunks = Vec::new();
    while let Some(c) = turn.next().await {
        chunks.push(c);
    }
    let r = turn.response().await.unwrap();
    assert_eq!(r.text(), "done");
    assert_eq!(model.calls(), [true]);
    assert_eq!(model_text(&chunks), "done");
    assert!(chunks.last().is_some_and(|c| c.turn_end.is_some()));
}

#[tokio::test]
async fn resume_stream_streams_the_resumed_turn() {
    let (ai, agent, model, approve) = fixture();
    let mut chat = agent.chat(&ai);
    let paused = chat.send("pay").await.unwrap();
    let interrupt = paused.interrupts().remove(0);
    let answer = approve.respond(&interrupt, true).unwrap();
    let mut turn = chat.resume_stream([answer]);
    let mut chunks = Vec::new();
    while let Some(c) = turn.next().await {
        chunks.push(c);
    }
    let done = turn.response().await.unwrap();
    assert_eq!(done.text(), "done");
    // the interrupted turn was a plain send, the resumed one streamed
    assert_eq!(model.calls(), [false, true]);
    assert_eq!(model_text(&chunks), "done");
    // the answer went to the model as the tool's response
    let history = done.messages();
    let tool = history
        .iter()
        .find(|m| m.role == Role::Tool)
        .expect("the tool message");
    assert_eq!(
        tool.content[0]
            .as_tool_response()
            .and_then(|r| r.output.clone()),
        Some(json!(true))
    );
}
