//! Fuzzing resume resolution with proptest: arbitrary interrupted model messages (tool requests
//! with random, duplicate or missing refs, some with `pendingOutput`, some `interrupt`) resumed
//! with arbitrary respond and restart parts (some matching, some not, some duplicated).
//!
//! Property: the resume either fails with a typed resume error before the model is called, or
//! the model gets a history whose last (tool) message answers every tool request of the model
//! message exactly once, with the same (name, ref), in request order, and nothing the
//! application sent is lost; or a restarted tool interrupts again, in which case answering the
//! new interrupts completes the resume with every earlier answer kept.
//!
//! Cases per property: 256 by default; `PROPTEST_CASES=N` runs more.

use std::sync::LazyLock;

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{protocol, IntoTool, JsonMap, ModelRequest, ToolAction};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // shrunk failing cases are saved here and replayed first on every run: commit them
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/fuzz_resume.txt"
        )))),
        max_shrink_iters: 4_000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Tools: a normal one, an interrupt-only one, one that interrupts unless restarted; `ghost` is
// named by requests but not registered.

#[derive(Debug, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Word {
    word: String,
}

static TOOLS: LazyLock<Vec<std::sync::Arc<ToolAction>>> = LazyLock::new(|| {
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

const NAMES: [&str; 4] = ["lookup", "ask", "approve", "ghost"];
const REFS: [Option<&str>; 6] = [None, Some("a"), Some("b"), Some("c"), Some("d"), Some("e")];

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
        builder = builder.tool(std::sync::Arc::clone(t));
    }
    (builder.build().unwrap(), model)
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

// ---------------------------------------------------------------------------------------------
// Specs of the generated inputs

#[derive(Debug, Clone, Copy)]
enum Input {
    Valid,
    /// Fails the schema (`word` missing).
    Invalid,
    /// Valid JSON sent as a string, as some models do.
    Stringified,
    /// No `input` at all.
    Missing,
}

fn input_value(kind: Input) -> Option<Value> {
    match kind {
        Input::Valid => Some(json!({"word": "four"})),
        Input::Invalid => Some(json!({"nope": 1})),
        Input::Stringified => Some(json!(r#"{"word":"xy"}"#)),
        Input::Missing => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Meta {
    None,
    InterruptTrue,
    InterruptPayload,
    Pending,
    PendingWithContent,
    PendingInvalid,
    Resolved,
}

impl Meta {
    fn has_pending(self) -> bool {
        matches!(
            self,
            Meta::Pending | Meta::PendingWithContent | Meta::PendingInvalid
        )
    }
}

#[derive(Debug, Clone)]
struct RequestSpec {
    name: &'static str,
    ref_: Option<&'static str>,
    input: Input,
    meta: Meta,
    text_before: bool,
}

/// Which request an answer is for: one of the message's (by index, wrapped), or any (name, ref).
#[derive(Debug, Clone, Copy)]
enum Target {
    Request(usize),
    Other(&'static str, Option<&'static str>),
}

#[derive(Debug, Clone)]
struct RespondSpec {
    target: Target,
    valid_output: bool,
    with_metadata: bool,
    /// A text part where a toolResponse part belongs.
    wrong_kind: bool,
}

#[derive(Debug, Clone)]
struct RestartSpec {
    target: Target,
    new_input: Option<Input>,
    resumed_object: bool,
    /// A toolResponse part where a toolRequest part belongs.
    wrong_kind: bool,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => Just(Input::Valid),
        1 => Just(Input::Invalid),
        1 => Just(Input::Stringified),
        1 => Just(Input::Missing),
    ]
}

fn meta() -> impl Strategy<Value = Meta> {
    prop_oneof![
        2 => Just(Meta::None),
        3 => Just(Meta::InterruptTrue),
        2 => Just(Meta::InterruptPayload),
        3 => Just(Meta::Pending),
        1 => Just(Meta::PendingWithContent),
        1 => Just(Meta::PendingInvalid),
        1 => Just(Meta::Resolved),
    ]
}

fn request_spec() -> impl Strategy<Value = RequestSpec> {
    (
        prop::sample::select(&NAMES[..]),
        prop::sample::select(&REFS[..]),
        input(),
        meta(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, ref_, input, meta, text_before)| RequestSpec {
            name,
            ref_,
            input,
            meta,
            text_before,
        })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        5 => any::<usize>().prop_map(Target::Request),
        1 => (prop::sample::select(&NAMES[..]), prop::sample::select(&REFS[..]))
            .prop_map(|(n, r)| Target::Other(n, r)),
    ]
}

fn respond_spec() -> impl Strategy<Value = RespondSpec> {
    (
        target(),
        prop::bool::weighted(0.9),
        any::<bool>(),
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |(target, valid_output, with_metadata, wrong_kind)| RespondSpec {
                target,
                valid_output,
                with_metadata,
                wrong_kind,
            },
        )
}

fn restart_spec() -> impl Strategy<Value = RestartSpec> {
    (
        target(),
        prop::option::weighted(0.3, input()),
        any::<bool>(),
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |(target, new_input, resumed_object, wrong_kind)| RestartSpec {
                target,
                new_input,
                resumed_object,
                wrong_kind,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Building the history and the answers

fn model_message(requests: &[RequestSpec]) -> Message {
    let mut content = Vec::new();
    for r in requests {
        if r.text_before {
            content.push(Part::text("thinking aloud"));
        }
        let mut part = Part::tool_request(ToolRequest {
            ref_: r.ref_.map(str::to_owned),
            name: r.name.to_owned(),
            input: input_value(r.input),
            partial: None,
        });
        match r.meta {
            Meta::None => {}
            Meta::InterruptTrue => part.set_metadata(protocol::INTERRUPT, json!(true)),
            Meta::InterruptPayload => {
                part.set_metadata(protocol::INTERRUPT, json!({"why": r.name}))
            }
            Meta::Pending => part.set_metadata(protocol::PENDING_OUTPUT, valid_output(r.name)),
            Meta::PendingWithContent => {
                part.set_metadata(protocol::PENDING_OUTPUT, valid_output(r.name));
                part.set_metadata(protocol::PENDING_CONTENT, json!([{"text": "extra"}]));
            }
            Meta::PendingInvalid => {
                part.set_metadata(protocol::PENDING_OUTPUT, invalid_output(r.name))
            }
            Meta::Resolved => part.set_metadata(protocol::RESOLVED_INTERRUPT, json!(true)),
        }
        content.push(part);
    }
    Message::new(Role::Model, content)
}

fn resolve(target: Target, requests: &[RequestSpec]) -> (&'static str, Option<&'static str>) {
    match target {
        Target::Request(i) => {
            let r = &requests[i % requests.len()];
            (r.name, r.ref_)
        }
        Target::Other(n, r) => (n, r),
    }
}

fn respond_part(spec: &RespondSpec, requests: &[RequestSpec]) -> Part {
    if spec.wrong_kind {
        return Part::text("not an answer");
    }
    let (name, ref_) = resolve(spec.target, requests);
    let output = if spec.valid_output {
        valid_output(name)
    } else {
        invalid_output(name)
    };
    let mut part = Part::tool_response(ToolResponse::new(name, ref_.map(str::to_owned), output));
    if spec.with_metadata {
        part.set_metadata(protocol::INTERRUPT_RESPONSE, json!({"by": "fuzz"}));
    }
    part
}

fn restart_part(spec: &RestartSpec, requests: &[RequestSpec]) -> Part {
    let (name, ref_) = resolve(spec.target, requests);
    if spec.wrong_kind {
        return Part::tool_response(ToolResponse::new(name, ref_.map(str::to_owned), json!(1)));
    }
    let original = match spec.target {
        Target::Request(i) => input_value(requests[i % requests.len()].input),
        Target::Other(..) => Some(json!({"word": "other"})),
    };
    let mut metadata = JsonMap::new();
    metadata.insert(
        protocol::RESUMED.to_owned(),
        if spec.resumed_object {
            json!({"approved": true})
        } else {
            json!(true)
        },
    );
    let input = match spec.new_input {
        Some(kind) => {
            metadata.insert(
                protocol::REPLACED_INPUT.to_owned(),
                original.unwrap_or(Value::Null),
            );
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

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
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

// ---------------------------------------------------------------------------------------------
// The checks

/// The errors a resume may end in; anything else is a bug.
fn is_resume_error(e: &GenkitError) -> bool {
    matches!(
        e,
        GenkitError::UnmatchedResume { .. }
            | GenkitError::DuplicateResume { .. }
            | GenkitError::UnresolvedToolRequest { .. }
            | GenkitError::ToolOutputInvalid { .. }
            | GenkitError::ToolInputInvalid { .. }
            | GenkitError::ToolNotFound { .. }
            | GenkitError::RestartInputChanged { .. }
            | GenkitError::MalformedResume { .. }
    )
}

/// The request the model got after a successful resume answers every tool request of
/// `original` exactly once, by (name, ref), in order; every respond part and pending output is
/// in it.
fn check_model_request(
    sent: &ModelRequest,
    original: &Message,
    answers: &[Part],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(sent.messages.len(), 3, "user, model, tool");
    let revised = &sent.messages[1];
    let tool = &sent.messages[2];
    prop_assert_eq!(revised.role, Role::Model);
    prop_assert_eq!(tool.role, Role::Tool);
    let requested = ids(original);
    prop_assert_eq!(ids(revised), requested.clone(), "requests kept, in order");
    prop_assert_eq!(
        tool.content.len(),
        tool.tool_responses().count(),
        "only tool responses"
    );
    let answered: Vec<Id> = tool
        .tool_responses()
        .map(|r| (r.name.clone(), r.ref_.clone()))
        .collect();
    prop_assert_eq!(
        answered,
        requested,
        "one response per request, by (name, ref), in order"
    );
    let responses: Vec<&ToolResponse> = tool.tool_responses().collect();
    for (i, part) in original
        .content
        .iter()
        .filter(|p| p.as_tool_request().is_some())
        .enumerate()
    {
        if let Some(pending) = part.metadata_value(protocol::PENDING_OUTPUT) {
            prop_assert_eq!(
                responses[i].output.as_ref(),
                Some(pending),
                "pending replayed"
            );
        }
        let revised_part = revised
            .content
            .iter()
            .filter(|p| p.as_tool_request().is_some())
            .nth(i)
            .unwrap();
        prop_assert!(
            revised_part
                .metadata_value(protocol::PENDING_OUTPUT)
                .is_none(),
            "no pending output left on the request the model sees"
        );
    }
    for answer in answers {
        let a = answer.as_tool_response().unwrap();
        prop_assert!(
            responses
                .iter()
                .any(|r| r.name == a.name && r.ref_ == a.ref_ && r.output == a.output),
            "the answer {:?} reached the model",
            a
        );
    }
    Ok(())
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Error,
    Answered,
    InterruptedAgain,
}

/// Runs one generated case and checks the property.
fn check_case(
    requests: &[RequestSpec],
    responds: &[RespondSpec],
    restarts: &[RestartSpec],
) -> Result<Outcome, TestCaseError> {
    let (ai, model) = instance();
    let original = model_message(requests);
    let history = vec![Message::user("go"), original.clone()];
    let respond: Vec<Part> = responds.iter().map(|s| respond_part(s, requests)).collect();
    let restart: Vec<Part> = restarts.iter().map(|s| restart_part(s, requests)).collect();

    let result = block_on(resume(&ai, &history, respond.clone(), restart.clone()));
    match result {
        Err(e) => {
            prop_assert!(is_resume_error(&e), "unexpected error: {:?}", e);
            prop_assert!(model.requests().is_empty(), "model called despite {}", e);
            Ok(Outcome::Error)
        }
        Ok(r) if model.requests().is_empty() => {
            // a restarted tool interrupted again: the model message is revised in place
            prop_assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
            prop_assert_eq!(r.messages().len(), 2);
            let revised = &r.messages()[1];
            prop_assert_eq!(ids(revised), ids(&original));
            for part in revised
                .content
                .iter()
                .filter(|p| p.as_tool_request().is_some())
            {
                prop_assert!(
                    part.metadata_value(protocol::INTERRUPT).is_some()
                        || part.metadata_value(protocol::PENDING_OUTPUT).is_some(),
                    "every request is either paused again or keeps its answer: {:?}",
                    part
                );
            }
            prop_assert!(!r.interrupts().is_empty());
            for i in r.interrupts() {
                prop_assert_eq!(
                    i.name(),
                    "ask",
                    "only the interrupt-only tool pauses a restart"
                );
            }
            // answering the new interrupts completes the resume, with the first answers kept
            let again: Vec<Part> = r
                .interrupts()
                .iter()
                .map(|i| tool_response(i, valid_output(i.name())).unwrap())
                .collect();
            let done = block_on(resume(&ai, r.messages(), again.clone(), vec![]))
                .map_err(|e| TestCaseError::fail(format!("second resume failed: {e:?}")))?;
            prop_assert_eq!(done.text(), "done");
            let kept: Vec<Part> = respond.into_iter().chain(again).collect();
            check_model_request(&model.last_request().unwrap(), &original, &kept)?;
            Ok(Outcome::InterruptedAgain)
        }
        Ok(r) => {
            prop_assert_eq!(model.requests().len(), 1);
            prop_assert_eq!(r.text(), "done");
            let sent = model.last_request().unwrap();
            check_model_request(&sent, &original, &respond)?;
            prop_assert_eq!(
                &r.messages()[..3],
                &sent.messages[..],
                "the history returned is the one the model saw"
            );
            Ok(Outcome::Answered)
        }
    }
}

/// What a case does about one request of the message.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Respond {
        valid: bool,
        with_metadata: bool,
    },
    Restart {
        new_input: Option<Input>,
        resumed_object: bool,
    },
    Skip,
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        12 => (prop::bool::weighted(0.95), any::<bool>())
            .prop_map(|(valid, with_metadata)| Plan::Respond { valid, with_metadata }),
        6 => (prop::option::weighted(0.3, input()), any::<bool>())
            .prop_map(|(new_input, resumed_object)| Plan::Restart { new_input, resumed_object }),
        1 => Just(Plan::Skip),
    ]
}

type Case = (Vec<RequestSpec>, Vec<RespondSpec>, Vec<RestartSpec>);

/// A case: one planned answer per request (a pending request is mostly left alone), plus now and
/// then stray, duplicated or malformed answers, in shuffled order.
fn any_case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(request_spec(), 1..6),
        prop::collection::vec(plan(), 6),
        prop::collection::vec(prop::bool::weighted(0.1), 6),
        prop::collection::vec(respond_spec(), 0..3),
        prop::collection::vec(restart_spec(), 0..2),
        prop::bool::weighted(0.25),
    )
        .prop_flat_map(
            |(requests, plans, answer_pending, extra_respond, extra_restart, noise)| {
                let mut responds = Vec::new();
                let mut restarts = Vec::new();
                for (i, r) in requests.iter().enumerate() {
                    if r.meta.has_pending() && !answer_pending[i] {
                        continue;
                    }
                    match plans[i] {
                        Plan::Respond {
                            valid,
                            with_metadata,
                        } => responds.push(RespondSpec {
                            target: Target::Request(i),
                            valid_output: valid,
                            with_metadata,
                            wrong_kind: false,
                        }),
                        Plan::Restart {
                            new_input,
                            resumed_object,
                        } => restarts.push(RestartSpec {
                            target: Target::Request(i),
                            new_input,
                            resumed_object,
                            wrong_kind: false,
                        }),
                        Plan::Skip => {}
                    }
                }
                if noise {
                    responds.extend(extra_respond);
                    restarts.extend(extra_restart);
                }
                (
                    Just(requests),
                    Just(responds).prop_shuffle(),
                    Just(restarts).prop_shuffle(),
                )
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// Any mix of requests and answers: a typed error or a fully answered history.
    #[test]
    fn resume_gives_a_typed_error_or_exactly_one_response_per_request(
        (requests, responds, restarts) in any_case()
    ) {
        check_case(&requests, &responds, &restarts)?;
    }

    /// Distinct (name, ref) per request and one correct answer for each request without a
    /// pending output: the resume must succeed (no spurious error).
    #[test]
    fn a_complete_set_of_valid_answers_always_resumes(
        requests in prop::collection::vec(request_spec(), 1..6),
        use_restart in prop::collection::vec(any::<bool>(), 6),
    ) {
        let mut seen = std::collections::HashSet::new();
        let requests: Vec<RequestSpec> = requests
            .into_iter()
            .filter(|r| seen.insert((r.name, r.ref_)))
            .map(|mut r| {
                // valid inputs, valid pending outputs
                r.input = Input::Valid;
                if matches!(r.meta, Meta::PendingInvalid) {
                    r.meta = Meta::Pending;
                }
                // an answer for a tool the call does not have is an error: `ghost` requests
                // can only be resolved by their pending output
                if r.name == "ghost" && !r.meta.has_pending() {
                    r.meta = Meta::Pending;
                }
                r
            })
            .collect();
        let mut responds = Vec::new();
        let mut restarts = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            if r.meta.has_pending() {
                continue;
            }
            // restart what can be re-run without interrupting; answer the rest
            if use_restart[i] && matches!(r.name, "lookup" | "approve") {
                restarts.push(RestartSpec {
                    target: Target::Request(i),
                    new_input: None,
                    resumed_object: false,
                    wrong_kind: false,
                });
            } else {
                responds.push(RespondSpec {
                    target: Target::Request(i),
                    valid_output: true,
                    with_metadata: true,
                    wrong_kind: false,
                });
            }
        }
        let (ai, model) = instance();
        let original = model_message(&requests);
        let respond: Vec<Part> = responds.iter().map(|s| respond_part(s, &requests)).collect();
        let restart: Vec<Part> = restarts.iter().map(|s| restart_part(s, &requests)).collect();
        let r = block_on(resume(&ai, &[Message::user("go"), original.clone()], respond.clone(), restart))
            .map_err(|e| TestCaseError::fail(format!("a complete, valid resume failed: {e:?}")))?;
        prop_assert_eq!(r.text(), "done");
        check_model_request(&model.last_request().unwrap(), &original, &respond)?;
    }
}

/// A shrunk case the fuzzer finds often: two requests sharing (name, ref), both answered. The
/// property holds for it: a typed error, or a correct pairing, never a lost or crossed answer.
#[test]
fn duplicate_refs_give_a_typed_error_or_exactly_one_response_per_request() {
    let request = RequestSpec {
        name: "ask",
        ref_: Some("a"),
        input: Input::Valid,
        meta: Meta::InterruptTrue,
        text_before: false,
    };
    let respond = RespondSpec {
        target: Target::Request(0),
        valid_output: true,
        with_metadata: false,
        wrong_kind: false,
    };
    for answers in 0..3 {
        check_case(
            &vec![request.clone(); 2],
            &vec![respond.clone(); answers],
            &[],
        )
        .unwrap();
    }
}

/// The generator reaches every outcome often enough for the property to mean something.
#[test]
fn generated_cases_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut tally = std::collections::HashMap::new();
    for _ in 0..400 {
        let (requests, responds, restarts) = any_case().new_tree(&mut runner).unwrap().current();
        let outcome = check_case(&requests, &responds, &restarts).unwrap();
        *tally.entry(outcome).or_insert(0usize) += 1;
    }
    eprintln!("outcomes of 400 cases: {tally:?}");
    for outcome in [Outcome::Error, Outcome::Answered, Outcome::InterruptedAgain] {
        assert!(
            tally.get(&outcome).copied().unwrap_or(0) >= 4,
            "{outcome:?}: {tally:?}"
        );
    }
}
