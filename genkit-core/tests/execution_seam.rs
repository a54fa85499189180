//! The execution seam: one tool primitive on every path, one dispatcher with an explicit run
//! context, one stream driver. Each test is named for the behaviour it guards.

use std::sync::Arc;

use futures::StreamExt;
use genkit_core::flow::{define_flow, FlowContext};
use genkit_core::testing::{EchoModel, ProgrammableModel};
use genkit_core::{
    ActionContext, Cancellation, ChunkSink, FinishReason, Genkit, GenkitError, Message, Model,
    ModelResponse, Part, Plugin, Role, RunOptions, Status, Tool, ToolContext, ToolOutcome,
    ToolRequest, ToolResult, TypedTool,
};
use serde_json::{json, Value};

fn asks_for(tool: &str, input: Value) -> ModelResponse {
    ModelResponse::new(
        Message::new(
            Role::Model,
            vec![Part::tool_request(ToolRequest::new(
                tool,
                Some("r1".into()),
                input,
            ))],
        ),
        FinishReason::Stop,
    )
}

/// Panics in the synchronous part of the closure, before any future exists.
#[allow(clippy::diverging_sub_expression, unreachable_code)]
fn sync_panicky_typed() -> Tool<Value, Value> {
    Tool::new(
        "syncPanicky",
        "Panics before its future exists",
        |_: Value, _ctx: ToolContext| -> std::future::Ready<ToolResult<Value>> {
            panic!("boom before the future")
        },
    )
}

#[allow(clippy::diverging_sub_expression, unreachable_code)]
fn sync_panicky_dynamic() -> Tool<Value, Value> {
    Tool::dynamic(
        "syncPanickyDynamic",
        "Panics before its future exists",
        json!({"type": "object"}),
        None,
        |_: Value, _ctx: ToolContext| -> std::future::Ready<ToolResult<Value>> {
            panic!("boom before the future")
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_tool_panicking_before_its_future_exists_is_a_typed_error_in_generate() {
    for tool in [sync_panicky_typed(), sync_panicky_dynamic()] {
        let model = ProgrammableModel::new("m");
        model.push_response(asks_for(tool.name(), json!({})));
        let ai = Genkit::builder()
            .model(model)
            .default_model("m")
            .build()
            .unwrap();
        let err = ai
            .generate()
            .prompt("go")
            .tool(tool.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, GenkitError::ToolPanicked { request, message, .. }
                if request.name == tool.name() && message == "boom before the future"),
            "{err}"
        );
        // streamed too
        let err = ai
            .generate()
            .prompt("go")
            .tool(tool.clone())
            .stream()
            .response()
            .await;
        assert!(err.is_err());
    }
}

#[tokio::test]
async fn a_panicking_tool_run_through_run_action_is_a_typed_error() {
    let async_panicky = Tool::new("asyncPanicky", "Panics", |_: Value, _: ToolContext| async {
        if true {
            panic!("boom in the future");
        }
        ToolResult::Ok(Value::Null)
    });
    let ai = Genkit::builder()
        .tool(sync_panicky_typed())
        .tool(sync_panicky_dynamic())
        .tool(async_panicky)
        .build()
        .unwrap();
    for key in [
        "/tool/syncPanicky",
        "/tool/syncPanickyDynamic",
        "/tool/asyncPanicky",
    ] {
        let err = ai
            .run_action(key, json!({}), ActionContext::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, GenkitError::ToolPanicked { .. }),
            "{key}: {err}"
        );
        assert_eq!(err.status(), Status::Internal);
    }
}

#[tokio::test]
async fn any_action_panicking_through_the_dispatcher_is_a_typed_error() {
    #[allow(clippy::diverging_sub_expression, unreachable_code)]
    let f = define_flow("panicFlow", |_: (), _ctx: FlowContext| async move {
        panic!("flow boom");
        Ok(())
    });
    let ai = Genkit::builder().flow(f).build().unwrap();
    let err = ai
        .run_action("/flow/panicFlow", Value::Null, ActionContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GenkitError::ActionPanicked { key, message, .. } if key == "/flow/panicFlow" && message == "flow boom"),
        "{err}"
    );
}

#[tokio::test]
async fn every_path_parses_json_string_arguments_and_validates_them_alike() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct In {
        n: u32,
    }
    let double = Tool::new("double", "Doubles", |i: In, _: ToolContext| async move {
        ToolResult::Ok(i.n * 2)
    });
    // direct call through the primitive
    let out = double
        .action()
        .call(json!("{\"n\": 4}"), ToolContext::new("double"))
        .await;
    assert!(matches!(out, ToolOutcome::Output(o) if o.output == 8));
    let out = double
        .action()
        .call(json!("{\"n\": -1}"), ToolContext::new("double"))
        .await;
    assert!(matches!(
        out,
        ToolOutcome::Failed(GenkitError::ToolInputInvalid { .. })
    ));
    // the dispatcher
    let model = ProgrammableModel::new("m");
    model.push_response(asks_for("double", json!("{\"n\": 5}")));
    model.push_response(ModelResponse::new(
        Message::model("done"),
        FinishReason::Stop,
    ));
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("m")
        .tool(double)
        .build()
        .unwrap();
    let out = ai
        .run_action("/tool/double", json!("{\"n\": 6}"), ActionContext::new())
        .await
        .unwrap();
    assert_eq!(out, 12);
    // and the loop
    let r = ai.generate().prompt("go").tools(["double"]).await.unwrap();
    assert_eq!(r.text(), "done");
    let sent = model.last_request().unwrap();
    let answer = sent.messages.last().unwrap().content[0]
        .as_tool_response()
        .unwrap()
        .clone();
    assert_eq!(answer.output, Some(json!(10)));
}

#[tokio::test]
async fn an_interrupt_run_directly_is_a_typed_error_carrying_the_payload() {
    let ask: Tool<String, String> = Tool::interrupt("ask", "Ask");
    let ai = Genkit::builder().tool(ask.clone()).build().unwrap();
    let err = ai
        .run_action("/tool/ask", json!("why?"), ActionContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GenkitError::ToolInterrupted { payload, .. } if *payload == json!(true)),
        "{err}"
    );
    let outcome = ask
        .action()
        .call(json!("why?"), ToolContext::new("ask"))
        .await;
    assert!(matches!(outcome, ToolOutcome::Interrupted(p) if p == json!(true)));
}

#[tokio::test]
async fn util_generate_is_an_ordinary_registry_action_that_streams_through_the_dispatcher() {
    let ai = Genkit::builder()
        .model(EchoModel::new("echo"))
        .build()
        .unwrap();
    assert!(ai.registry().action("/util/generate").is_some());
    assert!(ai.list_actions().iter().any(|d| d.key == "/util/generate"));
    let (sink, mut chunks) = ChunkSink::channel(4);
    let options = json!({"model": "echo", "messages": [{"role": "user", "content": [{"text": "one two three"}]}]});
    let run = ai.run_action(
        "/util/generate",
        options,
        RunOptions::default().with_chunks(sink),
    );
    let collect = async {
        let mut text = String::new();
        while let Some(chunk) = chunks.recv().await {
            assert_eq!(chunk["role"], "model");
            text.push_str(chunk["content"][0]["text"].as_str().unwrap_or_default());
        }
        text
    };
    let (response, streamed) = futures::join!(run, collect);
    let response = response.unwrap();
    assert_eq!(response["finishReason"], "stop");
    assert_eq!(
        streamed,
        response["message"]["content"][0]["text"].as_str().unwrap()
    );
}

struct Provider;
impl Plugin for Provider {
    fn name(&self) -> &str {
        "prov"
    }
    fn resolve_model(&self, name: &str) -> Option<Arc<dyn Model>> {
        (name == "echo").then(|| Arc::new(EchoModel::new("prov/echo")) as Arc<dyn Model>)
    }
}

#[tokio::test]
async fn a_plugin_model_is_an_action_the_dispatcher_finds_by_key() {
    let ai = Genkit::builder().plugin(Provider).build().unwrap();
    let action = ai.action("/model/prov/echo").expect("resolved");
    assert_eq!(action.descriptor().key, "/model/prov/echo");
    let request = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let out = ai
        .run_action("/model/prov/echo", request, ActionContext::new())
        .await
        .unwrap();
    assert_eq!(out["finishReason"], "stop");
    assert!(ai.action("/model/prov/other").is_none());
    let err = ai
        .run_action("/model/prov/other", Value::Null, ActionContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::NotFound);
}

#[tokio::test]
async fn a_flow_gets_its_instance_context_sink_and_cancellation_from_the_run_context() {
    let f = define_flow("who", |_: (), ctx: FlowContext<String>| async move {
        ctx.send_chunk("started".into()).await;
        let user = ctx.context().get("auth").cloned().unwrap_or(Value::Null);
        let models = ctx.genkit().registry().model("echo").is_some();
        Ok(json!({"user": user, "models": models, "cancelled": ctx.cancellation().is_cancelled()}))
    });
    let ai = Genkit::builder()
        .model(EchoModel::new("echo"))
        .flow(f)
        .build()
        .unwrap();
    let (sink, mut chunks) = ChunkSink::channel(4);
    let cancel = Cancellation::new();
    cancel.cancel();
    let options = RunOptions::new(ActionContext::from_json(json!({"auth": "ada"})))
        .with_chunks(sink)
        .with_cancellation(cancel);
    let out = ai
        .run_action("/flow/who", Value::Null, options)
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"user": "ada", "models": true, "cancelled": true})
    );
    assert_eq!(chunks.recv().await, Some(json!("started")));
}

#[tokio::test]
async fn a_slow_stream_consumer_holds_the_producer_back() {
    // the sink's bounded channel is the backpressure: a flow sending more chunks than the
    // channel holds waits for the consumer, nothing is buffered beyond it
    use std::sync::atomic::{AtomicU32, Ordering};
    let sent = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&sent);
    let f = define_flow("many", move |n: u32, ctx: FlowContext<u32>| {
        let counter = Arc::clone(&counter);
        async move {
            for i in 0..n {
                ctx.send_chunk(i).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(n)
        }
    });
    let ai = Genkit::builder().flow(f.clone()).build().unwrap();
    let mut stream = f.stream(&ai, 1000);
    assert_eq!(stream.next().await, Some(0));
    let early = sent.load(Ordering::SeqCst);
    assert!(
        early < 64,
        "the flow ran ahead of its consumer: {early} chunks sent"
    );
    let mut next = 1u32;
    while let Some(i) = stream.next().await {
        assert_eq!(i, next);
        next += 1;
    }
    assert_eq!(next, 1000);
    assert_eq!(stream.output().await.unwrap(), 1000);
}
