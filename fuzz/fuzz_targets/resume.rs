//! Resume resolution through the public API: an interrupted history and respond/restart parts
//! derived from the input (with `arbitrary`), resumed by
//! `ai.generate().messages(..).tool_responses(..).tool_restarts(..)` on a `Genkit` whose model is a
//! `ProgrammableModel`. The coverage-guided twin of `genkit-core/tests/fuzz_resume.rs`.
//!
//! The model message holds tool requests of a normal tool (`lookup`), an interrupt-only tool
//! (`ask`), one that interrupts unless restarted (`approve`) and one not passed to the call
//! (`ghost`), with refs from a small set (so duplicates and near-misses are common), inputs valid,
//! invalid, stringified or missing, and interrupt or pending-output metadata. The answers target
//! those requests or others, valid or not, duplicated or of the wrong kind.
//!
//! Checked, for every input:
//! - no panic, no hang (each case is one resume, plus at most one follow-up; libFuzzer's
//!   `-timeout` catches a loop);
//! - a failed resume is a typed resume error, and the model was not called;
//! - a resume that reached the model sent it the history with every tool request of the model
//!   message answered exactly once, by (name, ref), in order, every answer the application gave
//!   and every pending output among them, no pending output left on a request, and the
//!   response's history is the one the model saw;
//! - a resume that ended without the model (a restarted tool interrupted again) kept every
//!   request, each paused again or holding its answer, and answering the new interrupts
//!   completes it.
//!
//! Sealed histories have their own target, `resume_sealed`.
#![no_main]

use std::sync::{Arc, LazyLock};

use arbitrary::Arbitrary;
use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{protocol, IntoTool, JsonMap, ModelRequest, ToolAction};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Word {
    word: String,
}

static TOOLS: LazyLock<Vec<Arc<ToolAction>>> = LazyLock::new(|| {
    let lookup = Tool::new(
        "lookup",
        "Length of a word",
        |w: Word, _ctx: ToolContext| async move { ToolResult::Ok(w.word.len()) },
    );
    let ask: Tool<Word, String> = Tool::interrupt("ask", "Asks the user");
    let approve = Tool::new(
        "approve",
        "Needs approval",
        |w: Word, ctx: ToolContext| async move {
            if ctx.is_resumed() {
                ToolResult::Ok(format!("approved {}", w.word))
            } else {
                ctx.interrupt(json!({ "approve": w.word }))
            }
        },
    );
    vec![lookup.into_tool(), ask.into_tool(), approve.into_tool()]
});

/// One runtime for all inputs (a case never leaves work behind on it).
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

fn instance() -> (Genkit, ProgrammableModel) {
    let model = ProgrammableModel::new("pm");
    model.set_handler(|_req: &ModelRequest| {
        Ok(ModelResponse::new(
            Message::model("done"),
            FinishReason::Stop,
        ))
    });
    let mut builder = Genkit::builder().model(model.clone()).default_model("pm");
    for t in TOOLS.iter() {
        builder = builder.tool(Arc::clone(t));
    }
    // the sealed variant is its own target: resume_sealed.rs
    (builder.build().expect("the instance builds"), model)
}

const NAMES: [&str; 4] = ["lookup", "ask", "approve", "ghost"];
const REFS: [Option<&str>; 5] = [None, Some("a"), Some("b"), Some("c"), Some("")];

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Input {
    Valid,
    /// Fails the schema (`word` missing).
    Invalid,
    /// Valid JSON sent as a string, as some models do.
    Stringified,
    /// No `input` at all.
    Missing,
    Null,
}

fn input_value(kind: Input) -> Option<Value> {
    match kind {
        Input::Valid => Some(json!({"word": "four"})),
        Input::Invalid => Some(json!({"nope": 1})),
        Input::Stringified => Some(json!(r#"{"word":"xy"}"#)),
        Input::Missing => None,
        Input::Null => Some(Value::Null),
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Meta {
    None,
    InterruptTrue,
    InterruptPayload,
    Pending,
    PendingWithContent,
    PendingInvalid,
    Resolved,
}

#[derive(Debug, Clone, Arbitrary)]
struct Request {
    name: u8,
    ref_: u8,
    input: Input,
    meta: Meta,
    text_before: bool,
}

impl Request {
    fn name(&self) -> &'static str {
        NAMES[usize::from(self.name) % NAMES.len()]
    }
    fn ref_(&self) -> Option<&'static str> {
        REFS[usize::from(self.ref_) % REFS.len()]
    }
}

/// Which request an answer is for: one of the message's (by index, wrapped), or any (name, ref).
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Target {
    Request(u8),
    Other(u8, u8),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Output {
    Valid,
    Invalid,
    Null,
    Number(i32),
}

#[derive(Debug, Clone, Arbitrary)]
struct Respond {
    target: Target,
    output: Output,
    with_metadata: bool,
    /// A text part where a toolResponse part belongs.
    wrong_kind: bool,
}

#[derive(Debug, Clone, Arbitrary)]
struct Restart {
    target: Target,
    /// Some: the input is replaced (declared with `replacedInput` unless `undeclared`).
    new_input: Option<Input>,
    undeclared: bool,
    resumed: Resumed,
    /// A toolResponse part where a toolRequest part belongs.
    wrong_kind: bool,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Resumed {
    True,
    Object,
    Absent,
    False,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Earlier {
    System,
    User,
    Model,
}

#[derive(Debug, Arbitrary)]
struct Case {
    /// Text messages before the user's question.
    earlier: Vec<Earlier>,
    requests: Vec<Request>,
    responds: Vec<Respond>,
    restarts: Vec<Restart>,
}

/// Keeps cases small: the property is about the mix, not the size.
const MAX_REQUESTS: usize = 8;
const MAX_ANSWERS: usize = 10;

fn model_message(requests: &[Request]) -> Message {
    let mut content = Vec::new();
    for r in requests {
        if r.text_before {
            content.push(Part::text("thinking aloud"));
        }
        let mut part = Part::tool_request(ToolRequest {
            ref_: r.ref_().map(str::to_owned),
            name: r.name().to_owned(),
            input: input_value(r.input),
            partial: None,
        });
        match r.meta {
            Meta::None => {}
            Meta::InterruptTrue => part.set_metadata(protocol::INTERRUPT, json!(true)),
            Meta::InterruptPayload => {
                part.set_metadata(protocol::INTERRUPT, json!({"why": r.name()}))
            }
            Meta::Pending => part.set_metadata(protocol::PENDING_OUTPUT, valid_output(r.name())),
            Meta::PendingWithContent => {
                part.set_metadata(protocol::PENDING_OUTPUT, valid_output(r.name()));
                part.set_metadata(protocol::PENDING_CONTENT, json!([{"text": "extra"}]));
            }
            Meta::PendingInvalid => {
                part.set_metadata(protocol::PENDING_OUTPUT, invalid_output(r.name()))
            }
            Meta::Resolved => part.set_metadata(protocol::RESOLVED_INTERRUPT, json!(true)),
        }
        content.push(part);
    }
    Message::new(Role::Model, content)
}

fn valid_output(name: &str) -> Value {
    match name {
        "lookup" => json!(3),
        _ => json!("yes"),
    }
}

fn invalid_output(name: &str) -> Value {
    match name {
        "lookup" => json!("three"),
        _ => json!(7),
    }
}

fn resolve(target: Target, requests: &[Request]) -> (&'static str, Option<&'static str>, usize) {
    match target {
        Target::Request(i) => {
            let at = usize::from(i) % requests.len();
            let r = &requests[at];
            (r.name(), r.ref_(), at)
        }
        Target::Other(n, r) => (
            NAMES[usize::from(n) % NAMES.len()],
            REFS[usize::from(r) % REFS.len()],
            usize::MAX,
        ),
    }
}

fn respond_part(spec: &Respond, requests: &[Request]) -> Part {
    if spec.wrong_kind {
        return Part::text("not an answer");
    }
    let (name, ref_, _) = resolve(spec.target, requests);
    let output = match spec.output {
        Output::Valid => valid_output(name),
        Output::Invalid => invalid_output(name),
        Output::Null => Value::Null,
        Output::Number(n) => json!(n),
    };
    let mut part = Part::tool_response(ToolResponse::new(name, ref_.map(str::to_owned), output));
    if spec.with_metadata {
        part.set_metadata(protocol::INTERRUPT_RESPONSE, json!({"by": "fuzz"}));
    }
    part
}

fn restart_part(spec: &Restart, requests: &[Request]) -> Part {
    let (name, ref_, at) = resolve(spec.target, requests);
    if spec.wrong_kind {
        return Part::tool_response(ToolResponse::new(name, ref_.map(str::to_owned), json!(1)));
    }
    let original = match requests.get(at) {
        Some(r) => input_value(r.input),
        None => Some(json!({"word": "other"})),
    };
    let mut metadata = JsonMap::new();
    match spec.resumed {
        Resumed::True => {
            metadata.insert(protocol::RESUMED.to_owned(), json!(true));
        }
        Resumed::Object => {
            metadata.insert(protocol::RESUMED.to_owned(), json!({"approved": true}));
        }
        Resumed::False => {
            metadata.insert(protocol::RESUMED.to_owned(), json!(false));
        }
        Resumed::Absent => {}
    }
    let input = match spec.new_input {
        Some(kind) => {
            if !spec.undeclared {
                metadata.insert(
                    protocol::REPLACED_INPUT.to_owned(),
                    original.unwrap_or(Value::Null),
                );
            }
            input_value(kind)
        }
        None => original,
    };
    Part::tool_request(ToolRequest {
        ref_: ref_.map(str::to_owned),
        name: name.to_owned(),
        input,
        partial: None,
    })
    .with_metadata(metadata)
}

type Id = (String, Option<String>);

fn ids(message: &Message) -> Vec<Id> {
    message
        .tool_requests()
        .map(|r| (r.name.clone(), r.ref_.clone()))
        .collect()
}

async fn resume<M: Into<Message>>(
    ai: &Genkit,
    history: impl IntoIterator<Item = M>,
    respond: Vec<Part>,
    restart: Vec<Part>,
) -> Result<GenerateResponse, GenkitError> {
    ai.generate()
        .messages(history)
        .tool_responses(respond)
        .tool_restarts(restart)
        .tools(["lookup", "ask", "approve"])
        .await
}

/// The errors a resume may end in: the caller's mistake (invalid argument, unknown tool, a
/// precondition, a refused history), by status, so that new resume errors count without a change
/// here. A model or tool failure, an internal error or a panic is a bug.
fn is_resume_error(e: &GenkitError) -> bool {
    use genkit_core::Status;
    !matches!(e, GenkitError::Model { .. } | GenkitError::Other { .. })
        && matches!(
            e.status(),
            Status::InvalidArgument
                | Status::NotFound
                | Status::FailedPrecondition
                | Status::PermissionDenied
        )
}

/// The request the model got answers every tool request of `original` exactly once, by
/// (name, ref), in order; every answer and pending output is in it.
fn check_model_request(
    sent: &ModelRequest,
    prefix: &[Message],
    original: &Message,
    answers: &[Part],
) {
    let n = prefix.len();
    assert_eq!(
        sent.messages.len(),
        n + 2,
        "the history, then the tool message"
    );
    assert_eq!(&sent.messages[..n], prefix, "earlier messages kept");
    let revised = &sent.messages[n];
    let tool = &sent.messages[n + 1];
    assert_eq!(revised.role, Role::Model);
    assert_eq!(tool.role, Role::Tool);
    let requested = ids(original);
    assert_eq!(ids(revised), requested, "requests kept, in order");
    assert_eq!(
        tool.content.len(),
        tool.tool_responses().count(),
        "only tool responses"
    );
    let answered: Vec<Id> = tool
        .tool_responses()
        .map(|r| (r.name.clone(), r.ref_.clone()))
        .collect();
    assert_eq!(
        answered, requested,
        "one response per request, by (name, ref), in order"
    );
    let responses: Vec<&ToolResponse> = tool.tool_responses().collect();
    let revised_requests: Vec<&Part> = revised
        .content
        .iter()
        .filter(|p| p.as_tool_request().is_some())
        .collect();
    for (i, part) in original
        .content
        .iter()
        .filter(|p| p.as_tool_request().is_some())
        .enumerate()
    {
        if let Some(pending) = part.metadata_value(protocol::PENDING_OUTPUT) {
            assert_eq!(
                responses[i].output.as_ref(),
                Some(pending),
                "pending replayed"
            );
        }
        assert!(
            revised_requests[i]
                .metadata_value(protocol::PENDING_OUTPUT)
                .is_none(),
            "no pending output left on the request the model sees"
        );
    }
    for answer in answers {
        let a = answer
            .as_tool_response()
            .expect("an accepted answer is a tool response");
        assert!(
            responses
                .iter()
                .any(|r| r.name == a.name && r.ref_ == a.ref_ && r.output == a.output),
            "the answer {a:?} reached the model"
        );
    }
}

fn run(case: Case) {
    let mut requests = case.requests;
    requests.truncate(MAX_REQUESTS);
    if requests.is_empty() {
        return;
    }
    let (ai, model) = instance();
    let original = model_message(&requests);
    let mut history: Vec<Message> = case
        .earlier
        .iter()
        .take(3)
        .map(|e| match e {
            Earlier::System => Message::system("be brief"),
            Earlier::User => Message::user("earlier"),
            Earlier::Model => Message::model("earlier answer"),
        })
        .collect();
    history.push(Message::user("go"));
    history.push(original.clone());
    let respond: Vec<Part> = case
        .responds
        .iter()
        .take(MAX_ANSWERS)
        .map(|s| respond_part(s, &requests))
        .collect();
    let restart: Vec<Part> = case
        .restarts
        .iter()
        .take(MAX_ANSWERS)
        .map(|s| restart_part(s, &requests))
        .collect();

    let result = RUNTIME.block_on(resume(&ai, &history, respond.clone(), restart.clone()));
    let prefix = &history[..history.len() - 1];
    match result {
        Err(e) => {
            assert!(is_resume_error(&e), "not a resume error: {e:?}");
            assert!(model.requests().is_empty(), "model called despite {e}");
        }
        Ok(r) if model.requests().is_empty() => {
            // a restarted tool interrupted again: the model message is revised in place
            assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
            assert_eq!(r.messages().len(), history.len());
            let revised = &r.messages()[history.len() - 1];
            assert_eq!(ids(revised), ids(&original), "requests kept, in order");
            for part in revised
                .content
                .iter()
                .filter(|p| p.as_tool_request().is_some())
            {
                assert!(
                    part.metadata_value(protocol::INTERRUPT).is_some()
                        || part.metadata_value(protocol::PENDING_OUTPUT).is_some(),
                    "every request is either paused again or keeps its answer: {part:?}"
                );
            }
            assert!(!r.interrupts().is_empty(), "interrupted, so interrupts");
            let again: Vec<Part> = r
                .interrupts()
                .iter()
                .map(|i| tool_response(i, valid_output(i.name())).expect("an answer"))
                .collect();
            let done = RUNTIME
                .block_on(resume(&ai, r.messages(), again.clone(), vec![]))
                .unwrap_or_else(|e| panic!("answering the new interrupts failed: {e:?}"));
            assert_eq!(done.text(), "done");
            let kept: Vec<Part> = respond.into_iter().chain(again).collect();
            let sent = model.last_request().expect("the model was called");
            check_model_request(&sent, prefix, &original, &kept);
        }
        Ok(r) => {
            assert_eq!(model.requests().len(), 1, "one model call");
            assert_eq!(r.text(), "done");
            let sent = model.last_request().expect("the model was called");
            check_model_request(&sent, prefix, &original, &respond);
            assert_eq!(
                &r.messages()[..sent.messages.len()],
                &sent.messages[..],
                "the history returned is the one the model saw"
            );
        }
    }
}

fuzz_target!(
    init: genkit_fuzz::catch_stack_overflows(),
    |case: Case| run(case));
