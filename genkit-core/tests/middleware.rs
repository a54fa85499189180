//! Middleware around the generate loop: order, the three hooks, short circuits, tools added by
//! a middleware, resolution by name, panics, `next` called twice or never.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use genkit_core::middleware::{
    GenerateNext, Hooks, Iteration, Middleware, MiddlewareDefinition, ModelCall, ModelNext,
    ToolCall, ToolNext,
};
use genkit_core::prelude::*;
use genkit_core::{IntoTool, MiddlewareRef, Status, ToolOutcome, ToolOutput};
use serde_json::json;
use support::*;

type Log = Arc<Mutex<Vec<String>>>;

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Logs entering and leaving each of its hooks.
struct Recorder {
    name: &'static str,
    log: Log,
}

impl Recorder {
    fn push(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }
}

impl Middleware for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    fn generate<'a>(
        &'a self,
        iteration: Iteration,
        next: GenerateNext<'a>,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        Box::pin(async move {
            self.push(format!("{}>generate{}", self.name, iteration.turn));
            let r = next.run(iteration).await;
            self.push(format!("{}<generate", self.name));
            r
        })
    }

    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            self.push(format!("{}>model", self.name));
            let r = next.run(call).await;
            self.push(format!("{}<model", self.name));
            r
        })
    }

    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            self.push(format!("{}>tool:{}", self.name, call.tool().name()));
            let r = next.run(call).await;
            self.push(format!("{}<tool", self.name));
            r
        })
    }
}

/// A [`Recorder`] that implements all three hooks but declares only some.
struct Declared(Recorder, Hooks);

impl Middleware for Declared {
    fn name(&self) -> &str {
        self.0.name
    }

    fn hooks(&self) -> Hooks {
        self.1
    }

    fn generate<'a>(
        &'a self,
        iteration: Iteration,
        next: GenerateNext<'a>,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        self.0.generate(iteration, next)
    }

    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        self.0.model(call, next)
    }

    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        self.0.tool(call, next)
    }
}

#[tokio::test]
async fn a_middleware_is_called_only_for_the_hooks_it_declares() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    model.push_response(answer("4"));
    let log = Log::default();
    let recorder = |name| Recorder {
        name,
        log: log.clone(),
    };
    let r = ai
        .generate()
        .prompt("len?")
        .tools(["lookup"])
        .middleware(Declared(recorder("m"), Hooks::MODEL))
        .middleware(Declared(recorder("t"), Hooks::TOOL))
        .middleware(Declared(recorder("g"), Hooks::GENERATE))
        .middleware(Declared(recorder("none"), Hooks::NONE))
        .await
        .unwrap();
    assert_eq!(r.text(), "4");
    assert_eq!(
        entries(&log),
        [
            "g>generate0",
            "m>model",
            "m<model",
            "t>tool:lookup",
            "t<tool",
            "g>generate1",
            "m>model",
            "m<model",
            "g<generate",
            "g<generate",
        ]
    );
}

#[tokio::test]
async fn a_middleware_of_no_hooks_still_adds_its_tools() {
    struct OnlyTools;
    impl Middleware for OnlyTools {
        fn name(&self) -> &str {
            "onlyTools"
        }
        fn hooks(&self) -> Hooks {
            Hooks::NONE
        }
        fn tools(&self) -> Vec<Arc<genkit_core::ToolAction>> {
            vec![lookup_tool()]
        }
    }
    let (ai, model) = instance(vec![]);
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    model.push_response(answer("4"));
    let r = ai
        .generate()
        .prompt("len?")
        .tools(["lookup"])
        .middleware(OnlyTools)
        .await
        .unwrap();
    assert_eq!(r.text(), "4");
    assert!(r
        .messages()
        .iter()
        .any(|m| m.content.iter().any(|p| p.as_tool_response().is_some())));
}

#[tokio::test]
async fn the_first_middleware_is_the_outermost_and_generate_wraps_every_later_iteration() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    model.push_response(answer("4"));
    let log = Log::default();
    let r = ai
        .generate()
        .prompt("len?")
        .tools(["lookup"])
        .middleware(Recorder {
            name: "a",
            log: log.clone(),
        })
        .middleware(Recorder {
            name: "b",
            log: log.clone(),
        })
        .await
        .unwrap();
    assert_eq!(r.text(), "4");
    assert_eq!(
        entries(&log),
        [
            "a>generate0",
            "b>generate0",
            "a>model",
            "b>model",
            "b<model",
            "a<model",
            "a>tool:lookup",
            "b>tool:lookup",
            "b<tool",
            "a<tool",
            // the next iteration runs inside the first one's `next`
            "a>generate1",
            "b>generate1",
            "a>model",
            "b>model",
            "b<model",
            "a<model",
            "b<generate",
            "a<generate",
            "b<generate",
            "a<generate",
        ]
    );
}

/// Answers every model call itself.
struct Cached(Arc<AtomicUsize>);
impl Middleware for Cached {
    fn name(&self) -> &str {
        "cached"
    }
    fn model<'a>(
        &'a self,
        _call: ModelCall<'a>,
        _next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(answer("from cache")) })
    }
}

#[tokio::test]
async fn a_model_hook_that_never_calls_next_answers_for_the_model() {
    let (ai, model) = instance(vec![]);
    let hits = Arc::new(AtomicUsize::new(0));
    let r = ai
        .generate()
        .prompt("hi")
        .middleware(Cached(hits.clone()))
        .await
        .unwrap();
    assert_eq!(r.text(), "from cache");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(model.requests().is_empty(), "the model was called");
}

/// Calls `next` twice and keeps the second answer.
struct Twice;
impl Middleware for Twice {
    fn name(&self) -> &str {
        "twice"
    }
    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let _first = next.run(call.with_request(call.request)).await?;
            next.run(call).await
        })
    }
}

#[tokio::test]
async fn a_model_hook_may_call_next_twice() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer("first"));
    model.push_response(answer("second"));
    let r = ai.generate().prompt("hi").middleware(Twice).await.unwrap();
    assert_eq!(r.text(), "second");
    assert_eq!(model.requests().len(), 2);
}

/// Stops the loop before the model is called when the history is long enough.
struct StopAfter(usize);
impl Middleware for StopAfter {
    fn name(&self) -> &str {
        "stop-after"
    }
    fn generate<'a>(
        &'a self,
        iteration: Iteration,
        next: GenerateNext<'a>,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        Box::pin(async move {
            if iteration.request.messages.len() >= self.0 {
                return Ok(iteration.stop(FinishReason::Length, "history too long"));
            }
            next.run(iteration).await
        })
    }
}

#[tokio::test]
async fn a_generate_hook_that_never_calls_next_ends_the_call_with_its_response() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l"), json!({"word": "four"}))]));
    model.push_response(answer("never"));
    // user, model, tool: stop before the second model call
    let r = ai
        .generate()
        .prompt("len?")
        .tools(["lookup"])
        .middleware(StopAfter(3))
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Length));
    assert_eq!(r.finish_message(), Some("history too long"));
    assert_eq!(r.messages().len(), 3);
    assert_eq!(r.messages()[2].role, Role::Tool);
    assert!(r.message().is_none());
    assert_eq!(model.requests().len(), 1);
    assert_eq!(model.remaining(), 1);
}

/// Waits until `n` tool hooks are inside at once: only concurrent hooks get past it.
struct Rendezvous(Arc<tokio::sync::Barrier>);
impl Middleware for Rendezvous {
    fn name(&self) -> &str {
        "rendezvous"
    }
    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            self.0.wait().await;
            next.run(call).await
        })
    }
}

#[tokio::test]
async fn tool_hooks_of_one_turn_run_concurrently() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[
        ("lookup", Some("a"), json!({"word": "one"})),
        ("lookup", Some("b"), json!({"word": "three"})),
    ]));
    model.push_response(answer("done"));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        ai.generate()
            .prompt("len?")
            .tools(["lookup"])
            .middleware(Rendezvous(barrier)),
    )
    .await
    .expect("the tool hooks did not run concurrently")
    .unwrap();
    assert_eq!(r.text(), "done");
    let tool_message = &model.requests()[1].messages[2];
    let outputs: Vec<_> = tool_message
        .content
        .iter()
        .filter_map(|p| p.as_tool_response())
        .map(|t| t.output.clone())
        .collect();
    assert_eq!(outputs, [Some(json!(3)), Some(json!(5))]);
}

/// Adds a `clock` tool to every call.
struct WithClock;
impl Middleware for WithClock {
    fn name(&self) -> &str {
        "with-clock"
    }
    fn tools(&self) -> Vec<Arc<genkit_core::ToolAction>> {
        let clock = Tool::new("clock", "The time", |_: (), _ctx: ToolContext| async move {
            ToolResult::Ok("12:00".to_string())
        });
        vec![clock.into_tool()]
    }
}

#[tokio::test]
async fn a_middleware_adds_tools_the_model_sees_and_calls() {
    let (ai, model) = instance(vec![]);
    model.push_response(calls(&[("clock", Some("c"), json!({}))]));
    model.push_response(answer("noon"));
    let r = ai
        .generate()
        .prompt("time?")
        .middleware(WithClock)
        .await
        .unwrap();
    assert_eq!(r.text(), "noon");
    let first = &model.requests()[0];
    let names: Vec<_> = first
        .tools
        .iter()
        .flatten()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["clock"]);
    let answered = model.requests()[1].messages[2].content[0]
        .as_tool_response()
        .unwrap()
        .output
        .clone();
    assert_eq!(answered, Some(json!("12:00")));
    // a tool of the same name given by the call is a conflict, not a silent replacement
    let other = Tool::new("clock", "another", |_: (), _ctx: ToolContext| async move {
        ToolResult::Ok(0)
    });
    let e = ai
        .generate()
        .prompt("time?")
        .tool(other)
        .middleware(WithClock)
        .await
        .unwrap_err();
    assert!(matches!(e, GenkitError::DuplicateTool { .. }), "{e:?}");
}

/// Panics in the hook named by `hook`.
struct Panics(&'static str);
impl Middleware for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    fn generate<'a>(
        &'a self,
        iteration: Iteration,
        next: GenerateNext<'a>,
    ) -> BoxFuture<'a, Result<GenerateResponse, GenkitError>> {
        if self.0 == "generate" {
            panic!("generate hook broke");
        }
        next.run(iteration)
    }
    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            if self.0 == "model" {
                panic!("model hook broke");
            }
            next.run(call).await
        })
    }
    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            if self.0 == "tool" && call.ctx.request_ref() == Some("bad") {
                panic!("tool hook broke");
            }
            next.run(call).await
        })
    }
}

#[tokio::test]
async fn a_panicking_hook_is_a_typed_error_and_the_instance_lives_on() {
    let (count, runs) = counting_tool();
    let (ai, model) = instance(vec![count]);
    for hook in ["generate", "model"] {
        model.push_response(answer("unused"));
        let e = ai
            .generate()
            .prompt("hi")
            .middleware(Panics(hook))
            .await
            .unwrap_err();
        match &e {
            GenkitError::MiddlewarePanicked {
                middleware,
                hook: h,
                message,
                ..
            } => {
                assert_eq!(middleware, "panics");
                assert_eq!(*h, hook);
                assert!(message.contains("broke"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.status(), Status::Internal);
        model.clear_script();
    }
    // a tool hook panicking for one request: the sibling still ran, the call fails typed
    model.push_response(calls(&[
        ("count", Some("good"), json!({})),
        ("count", Some("bad"), json!({})),
    ]));
    let e = ai
        .generate()
        .prompt("count")
        .tools(["count"])
        .middleware(Panics("tool"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GenkitError::MiddlewarePanicked { hook: "tool", .. }),
        "{e:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // the loop and the instance are intact
    model.push_response(answer("fine"));
    assert_eq!(ai.generate().prompt("hi").await.unwrap().text(), "fine");
}

/// A model that panics.
struct PanickingModel;
impl Model for PanickingModel {
    fn name(&self) -> &str {
        "boom"
    }
    fn generate<'a>(
        &'a self,
        _request: &'a ModelRequest,
        _ctx: genkit_core::ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async { panic!("the model itself broke") })
    }
}
use genkit_core::{Model, ModelRequest};

#[tokio::test]
async fn a_panicking_model_is_not_blamed_on_the_middleware_around_it() {
    let ai = Genkit::builder().model(PanickingModel).build().unwrap();
    let log = Log::default();
    let e = ai
        .generate()
        .model("boom")
        .prompt("hi")
        .middleware(Recorder {
            name: "a",
            log: log.clone(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GenkitError::ActionPanicked { key, .. } if key == "/model/boom"),
        "{e:?}"
    );
    assert!(entries(&log).contains(&"a<model".to_string()));
}

/// Prefixes answers with its configured tag; counts instances.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct TagConfig {
    tag: String,
}

struct Tag(String);
impl Middleware for Tag {
    fn name(&self) -> &str {
        "tag"
    }
    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let mut r = next.run(call).await?;
            r.message = r
                .message
                .map(|m| Message::model(format!("{}{}", self.0, m.text())));
            Ok(r)
        })
    }
}

fn tagged_instance() -> (Genkit, genkit_core::testing::ProgrammableModel) {
    let model = genkit_core::testing::ProgrammableModel::new("pm");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("pm")
        .define_middleware(MiddlewareDefinition::new(
            "tag",
            "Prefixes answers",
            |c: TagConfig| Tag(c.tag),
        ))
        .build()
        .unwrap();
    (ai, model)
}

#[tokio::test]
async fn use_resolves_registered_middleware_by_name_with_typed_config() {
    let (ai, model) = tagged_instance();
    model.push_response(answer("x"));
    model.push_response(answer("y"));
    // through the builder, in order with values: tag("1") outside tag("2")
    let r = ai
        .generate()
        .prompt("hi")
        .use_(MiddlewareRef::new("tag").with_config(json!({"tag": "1"})))
        .use_(MiddlewareRef::new("tag").with_config(json!({"tag": "2"})))
        .await
        .unwrap();
    assert_eq!(r.text(), "12x");
    // and through the wire: `/util/generate` with a `use` list
    let out = ai
        .run_action(
            "/util/generate",
            json!({
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "use": [{"name": "tag", "config": {"tag": "w:"}}]
            }),
            ActionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(out["message"]["content"][0]["text"], "w:y");
}

#[tokio::test]
async fn an_unknown_name_is_not_found_and_a_bad_config_is_invalid() {
    let (ai, model) = tagged_instance();
    let e = ai
        .generate()
        .prompt("hi")
        .use_(MiddlewareRef::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.to_string().contains("'nope'"), "{e}");
    assert!(
        e.to_string().contains("tag"),
        "lists the registered ones: {e}"
    );
    let e = ai
        .run_action(
            "/util/generate",
            json!({"messages": [], "use": [{"name": "nope"}]}),
            ActionContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    // the config must fit the schema: `tag` is required and a string
    for config in [None, Some(json!({"tag": 3}))] {
        let mut r = MiddlewareRef::new("tag");
        r.config = config;
        let e = ai.generate().prompt("hi").use_(r).await.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    }
    assert!(
        model.requests().is_empty(),
        "the model ran for a bad use list"
    );
}

#[tokio::test]
async fn builtins_answer_to_the_names_of_every_sdk() {
    let (ai, _model) = tagged_instance();
    for (name, canonical) in [
        ("retry", "retry"),
        ("genkit-middleware/retry", "retry"),
        ("fallback", "fallback"),
        ("genkit-middleware/fallback", "fallback"),
        ("toolApproval", "toolApproval"),
        ("tool_approval", "toolApproval"),
        ("genkit-middleware/toolApproval", "toolApproval"),
    ] {
        let m = ai.resolve_middleware(&MiddlewareRef::new(name)).unwrap();
        assert_eq!(m.name(), canonical);
    }
    let names: Vec<_> = ai
        .registry()
        .middleware_descs()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["fallback", "retry", "tag", "toolApproval"]);
}

#[tokio::test]
async fn an_application_definition_replaces_a_builtin_of_the_same_name_and_duplicates_fail() {
    let model = genkit_core::testing::ProgrammableModel::new("pm");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("pm")
        .define_middleware(MiddlewareDefinition::new(
            "retry",
            "mine",
            |c: TagConfig| Tag(c.tag),
        ))
        .build()
        .unwrap();
    model.push_response(answer("x"));
    let r = ai
        .generate()
        .prompt("hi")
        .use_(MiddlewareRef::new("retry").with_config(json!({"tag": "mine:"})))
        .await
        .unwrap();
    assert_eq!(r.text(), "mine:x");
    let e = Genkit::builder()
        .define_middleware(MiddlewareDefinition::new("t", "a", |c: TagConfig| {
            Tag(c.tag)
        }))
        .define_middleware(MiddlewareDefinition::new("t", "b", |c: TagConfig| {
            Tag(c.tag)
        }))
        .build()
        .unwrap_err();
    assert_eq!(e.status(), Status::AlreadyExists);
}

#[tokio::test]
async fn to_options_carries_named_middleware_on_the_wire() {
    let (ai, _model) = tagged_instance();
    let options = ai
        .generate()
        .prompt("hi")
        .middleware(WithClock)
        .use_(MiddlewareRef::new("tag").with_config(json!({"tag": "1"})))
        .to_options();
    assert_eq!(
        serde_json::to_value(&options.use_).unwrap(),
        json!([{"name": "tag", "config": {"tag": "1"}}])
    );
}

/// Answers the tool itself.
struct FakeTool;
impl Middleware for FakeTool {
    fn name(&self) -> &str {
        "fake"
    }
    fn tool<'a>(&'a self, _call: ToolCall<'a>, _next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async { ToolOutcome::Output(ToolOutput::new(json!(42))) })
    }
}

#[tokio::test]
async fn a_tool_hook_that_never_calls_next_answers_for_the_tool() {
    let (count, runs) = counting_tool();
    let (ai, model) = instance(vec![count]);
    model.push_response(calls(&[("count", Some("c"), json!({}))]));
    model.push_response(answer("ok"));
    ai.generate()
        .prompt("count")
        .tools(["count"])
        .middleware(FakeTool)
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let out = &model.requests()[1].messages[2].content[0];
    assert_eq!(out.as_tool_response().unwrap().output, Some(json!(42)));
}

#[tokio::test]
async fn an_invalid_tool_input_never_reaches_the_tool_hooks() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l"), json!({"nope": 1}))]));
    let log = Log::default();
    let e = ai
        .generate()
        .prompt("len?")
        .tools(["lookup"])
        .middleware(Recorder {
            name: "a",
            log: log.clone(),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, GenkitError::ToolInputInvalid { .. }), "{e:?}");
    assert!(
        !entries(&log).iter().any(|e| e.contains("tool")),
        "{:?}",
        entries(&log)
    );
}

#[tokio::test]
async fn an_agent_built_with_middleware_runs_it_around_every_turn() {
    use genkit_core::agent::{Agent, PromptSpec};
    use genkit_core::testing::ProgrammableModel;
    let log = Log::default();
    let model = ProgrammableModel::new("pm");
    let agent: Agent = Agent::prompt("helper", PromptSpec::new().model("pm"))
        .middleware(Declared(
            Recorder {
                name: "agent",
                log: log.clone(),
            },
            Hooks::MODEL,
        ))
        .build();
    let ai = Genkit::builder()
        .model(model.clone())
        .agent(agent.clone())
        .build()
        .unwrap();
    model.push_response(answer("one"));
    model.push_response(answer("two"));
    let mut chat = agent.chat(&ai);
    chat.send("first").await.unwrap();
    chat.send("second").await.unwrap();
    assert_eq!(
        entries(&log),
        ["agent>model", "agent<model", "agent>model", "agent<model"]
    );
}
