//! `.prompt` files in a Genkit instance: loaded from tests/prompts/, registered as prompt
//! actions, run through `ai.prompt(..)`, interrupted and resumed, honouring the front
//! matter's `maxTurns`, `toolChoice`, `returnToolRequests` and `use`; and prompt agents.

use std::path::Path;

use genkit_core::agent::Agent;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{
    prelude::*, ActionContext, GenerateActionOptions, MiddlewareRef, ModelRequest, Status,
    ToolChoice,
};
use genkit_dotprompt::{
    prompt_agent, DotpromptError, GenkitBuilderPromptExt, GenkitPromptExt, PromptLibrary,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Questions {
    question: String,
    choices: Vec<String>,
}

#[derive(Serialize)]
struct TriviaInput {
    topic: String,
}

fn library() -> PromptLibrary {
    PromptLibrary::load_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/prompts"))
        .expect("tests/prompts loads")
}

fn ask_question() -> Tool<Questions, String> {
    Tool::interrupt(
        "ask_question",
        "Use this to ask the user a clarifying question",
    )
}

fn lookup() -> Tool<Value, String> {
    Tool::new(
        "lookup",
        "looks things up",
        |_: Value, _ctx: ToolContext| async move { Ok("found it".to_owned()) },
    )
}

fn call(name: &str, r: &str, input: Value) -> ModelResponse {
    ModelResponse::new(
        Message::new(
            Role::Model,
            vec![Part::tool_request(ToolRequest::new(
                name,
                Some(r.into()),
                input,
            ))],
        ),
        FinishReason::Stop,
    )
}

fn instance(model: &ProgrammableModel, library: &PromptLibrary) -> Genkit {
    Genkit::builder()
        .model(model.clone())
        .tool(ask_question())
        .tool(lookup())
        .prompts(library)
        .build()
        .expect("instance builds")
}

fn roles(request: &ModelRequest) -> Vec<Role> {
    request.messages.iter().map(|m| m.role).collect()
}

#[test]
fn a_directory_loads_prompts_variants_partials_and_subdirectories() {
    let lib = library();
    assert_eq!(
        lib.names(),
        [
            "greet",
            "greet.formal",
            "loop",
            "pick",
            "support/helper",
            "trivia"
        ]
    );
    let formal = lib.get("greet.formal").unwrap();
    assert_eq!(
        (formal.base_name(), formal.variant()),
        ("greet", Some("formal"))
    );
    // `_rules.prompt` is a partial, not a prompt
    assert!(lib.get("_rules").is_none() && lib.get("rules").is_none());
    assert!(lib.environment().has_partial("rules"));
}

#[tokio::test]
async fn prompts_are_registered_as_prompt_and_executable_prompt_actions() {
    let model = ProgrammableModel::new("scripted");
    let ai = instance(&model, &library());
    let keys: Vec<String> = ai.list_actions().into_iter().map(|d| d.key).collect();
    for key in [
        "/prompt/trivia",
        "/executable-prompt/trivia",
        "/prompt/greet.formal",
        "/executable-prompt/support/helper",
    ] {
        assert!(
            keys.contains(&key.to_owned()),
            "{key} missing from {keys:?}"
        );
    }
    let desc = ai.action("/prompt/trivia").unwrap().descriptor().clone();
    assert_eq!(desc.metadata["type"], "prompt");
    assert_eq!(desc.metadata["prompt"]["name"], "trivia");
    assert_eq!(desc.metadata["prompt"]["model"], "scripted");
    assert!(desc.metadata["prompt"]["template"]
        .as_str()
        .unwrap()
        .contains("{{> rules}}"));
    assert_eq!(
        desc.input_schema.as_ref().unwrap()["properties"]["topic"]["type"],
        json!(["string", "null"])
    );
    let variant = ai
        .action("/prompt/greet.formal")
        .unwrap()
        .descriptor()
        .clone();
    assert_eq!(variant.metadata["prompt"]["variant"], "formal");

    // /prompt renders the model request, tools as definitions
    let request = ai
        .run_action(
            "/prompt/trivia",
            json!({"topic": "space"}),
            ActionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(request["messages"][0]["role"], "system");
    assert!(request["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Ask one question at a time"));
    assert_eq!(
        request["messages"][1]["content"][0]["text"],
        "Ask me a space trivia question."
    );
    assert_eq!(request["tools"][0]["name"], "ask_question");
    assert_eq!(request["config"]["temperature"], 0);
    // /executable-prompt renders the generate options
    let options = ai
        .run_action("/executable-prompt/trivia", json!({}), ActionContext::new())
        .await
        .unwrap();
    let options: GenerateActionOptions = serde_json::from_value(options).unwrap();
    assert_eq!(options.model.as_deref(), Some("scripted"));
    assert_eq!(
        options.tools.as_deref(),
        Some(&["ask_question".to_owned()][..])
    );
    assert_eq!(options.max_turns, Some(3));
    // the front matter's default topic
    assert_eq!(
        options.messages[1].text(),
        "Ask me a movie trivia question."
    );
    // those options run as they are through /util/generate
    model.push_response(ModelResponse::new(
        Message::model("Which film...?"),
        FinishReason::Stop,
    ));
    let ran = ai
        .run_action(
            "/util/generate",
            serde_json::to_value(&options).unwrap(),
            ActionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(ran["message"]["content"][0]["text"], "Which film...?");
}

#[tokio::test]
async fn trivia_through_a_prompt_is_interrupted_and_resumed_without_a_second_user_message() {
    let model = ProgrammableModel::new("scripted");
    let q = Questions {
        question: "Which film has the line \"I'll be back\"?".into(),
        choices: vec!["The Terminator".into(), "Die Hard".into()],
    };
    model.push_response(call("ask_question", "q1", json!(q)));
    model.push_response(ModelResponse::new(
        Message::model("Correct!"),
        FinishReason::Stop,
    ));
    let ai = instance(&model, &library());
    let trivia = ai.prompt::<TriviaInput, Value>("trivia").unwrap();

    let input = TriviaInput {
        topic: "movie".into(),
    };
    let interrupted = trivia.generate(input).await.unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let asked: Questions = interrupted.interrupts()[0].input().unwrap();
    assert_eq!(asked, q);
    assert_eq!(roles(&model.requests()[0]), [Role::System, Role::User]);

    let answer = ask_question()
        .respond(&interrupted.interrupts()[0], "The Terminator".to_owned())
        .unwrap();
    let resumed = trivia
        .generate(TriviaInput {
            topic: "movie".into(),
        })
        .messages(interrupted.messages())
        .tool_responses([answer])
        .await
        .unwrap();
    assert_eq!(resumed.finish_reason(), Some(FinishReason::Stop));
    assert_eq!(resumed.text(), "Correct!");
    // the model saw the conversation once: system, user, its request, the answer
    let second = &model.requests()[1];
    assert_eq!(
        roles(second),
        [Role::System, Role::User, Role::Model, Role::Tool]
    );
    assert_eq!(
        second
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .count(),
        1,
        "the rendered user message is not appended again on resume"
    );
    assert_eq!(
        second.messages[3].tool_responses().next().unwrap().output,
        Some(json!("The Terminator"))
    );
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn streaming_a_prompt_emits_the_interrupt_and_ends_with_the_response() {
    use futures::StreamExt;
    let model = ProgrammableModel::new("scripted");
    model.push_response(call(
        "ask_question",
        "q1",
        json!({"question": "?", "choices": ["a"]}),
    ));
    let ai = instance(&model, &library());
    let trivia = ai.prompt::<Value, Value>("trivia").unwrap();
    let mut stream = trivia.stream(json!({})).unwrap();
    let mut chunks = 0;
    while stream.next().await.is_some() {
        chunks += 1;
    }
    assert!(chunks > 0);
    let response = stream.response().await.unwrap();
    assert_eq!(response.finish_reason(), Some(FinishReason::Interrupted));
}

#[tokio::test]
async fn max_turns_in_the_front_matter_is_honoured() {
    let model = ProgrammableModel::new("scripted");
    for i in 0..3 {
        model.push_response(call("lookup", &format!("r{i}"), json!({})));
    }
    let ai = instance(&model, &library());
    let err = ai
        .prompt::<Value, Value>("loop")
        .unwrap()
        .generate(json!({"what": "x"}))
        .await
        .unwrap_err();
    match err {
        DotpromptError::Genkit(GenkitError::MaxTurnsExceeded { max_turns, .. }) => {
            assert_eq!(max_turns, 1)
        }
        other => panic!("expected MaxTurnsExceeded, got {other}"),
    }
    // one tool round ran, then the limit stopped the loop
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn tool_choice_return_tool_requests_and_use_come_from_the_front_matter() {
    let model = ProgrammableModel::new("scripted");
    model.push_response(call("lookup", "r1", json!({})));
    let ai = instance(&model, &library());
    let pick = ai.prompt::<Value, Value>("pick").unwrap();
    let options = pick.render(json!({"what": "x"})).unwrap();
    assert_eq!(options.tool_choice, Some(ToolChoice::Required));
    assert_eq!(options.return_tool_requests, Some(true));
    assert_eq!(
        options.use_,
        Some(vec![
            MiddlewareRef::new("retry"),
            MiddlewareRef::new("fallback").with_config(json!({"models": ["backup"]}))
        ])
    );
    // `use` is carried in the options as typed references; resolving them by name is the
    // middleware registry's part (tested there), so this run goes without
    let mut options_without_use = options.clone();
    options_without_use.use_ = None;
    let response = ai.generate().options(options_without_use).await.unwrap();
    assert_eq!(
        model.last_request().unwrap().tool_choice,
        Some(ToolChoice::Required)
    );
    // the request came back instead of running the tool
    assert_eq!(response.tool_requests().len(), 1);
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn typed_output_and_context_variables() {
    #[derive(Debug, Deserialize)]
    struct Greeting {
        greeting: String,
    }
    let model = ProgrammableModel::new("scripted");
    model.push_response(ModelResponse::new(
        Message::model(r#"{"greeting": "Hello, Ada!"}"#),
        FinishReason::Stop,
    ));
    let ai = instance(&model, &library());
    let greet = ai.prompt::<Value, Greeting>("greet").unwrap();
    let response = greet.generate(json!({"name": "Ada"})).await.unwrap();
    assert_eq!(response.output().unwrap().greeting, "Hello, Ada!");
    let sent = model.last_request().unwrap();
    assert_eq!(
        sent.output.unwrap().schema.unwrap()["required"],
        json!(["greeting"])
    );

    // @auth from the caller's context
    model.push_response(ModelResponse::new(Message::model("ok"), FinishReason::Stop));
    let formal = ai.prompt::<Value, Value>("greet.formal").unwrap();
    formal
        .generate(json!({"name": "Ada"}))
        .context(ActionContext::new().with("auth", json!({"title": "Countess"})))
        .await
        .unwrap();
    assert_eq!(
        model.last_request().unwrap().messages[0].text(),
        "Greet Ada formally. Countess"
    );
}

#[tokio::test]
async fn an_unknown_prompt_is_not_found() {
    let model = ProgrammableModel::new("scripted");
    let ai = instance(&model, &library());
    let err = ai.prompt::<Value, Value>("nope").unwrap_err();
    assert_eq!(err.status(), Status::NotFound);
    assert!(matches!(err, DotpromptError::PromptNotFound { .. }));
}

#[tokio::test]
async fn a_prompt_agent_places_the_history_and_resumes() {
    let model = ProgrammableModel::new("scripted");
    let ai_model = model.clone();
    let agent: Agent = prompt_agent("helper", "support/helper").build();
    let lib = library();
    let ai = Genkit::builder()
        .model(ai_model)
        .tool(ask_question())
        .prompts(&lib)
        .agent(agent.clone())
        .build()
        .unwrap();
    model.push_response(ModelResponse::new(
        Message::model("Use the blue cable."),
        FinishReason::Stop,
    ));
    let mut chat = agent.chat(&ai);
    let first = chat.send("My router will not start.").await.unwrap();
    assert_eq!(first.text(), "Use the blue cable.");
    let sent = model.last_request().unwrap();
    assert_eq!(roles(&sent), [Role::System, Role::User, Role::User]);
    assert!(sent.messages[0]
        .text()
        .starts_with("You help with  questions."));
    assert_eq!(sent.messages[1].text(), "My router will not start.");
    assert_eq!(sent.messages[2].text(), "(answer briefly)");
    // the second turn: the history grew, the template's messages are not stored
    model.push_response(ModelResponse::new(
        Message::model("Then the red one."),
        FinishReason::Stop,
    ));
    chat.send("It is blue already.").await.unwrap();
    let sent = model.last_request().unwrap();
    assert_eq!(
        roles(&sent),
        [
            Role::System,
            Role::User,
            Role::Model,
            Role::User,
            Role::User
        ]
    );
    assert_eq!(sent.messages[2].text(), "Use the blue cable.");
}

#[tokio::test]
async fn a_prompt_agent_interrupted_by_a_tool_resumes_through_the_prompt() {
    let lib = PromptLibrary::new()
        .with_source(
            "quiz",
            "---\nmodel: scripted\ntools: [ask_question]\n---\n{{role \"system\"}}Quiz me.\n{{history}}\n{{role \"user\"}}(one question)",
        )
        .unwrap();
    let model = ProgrammableModel::new("scripted");
    let agent: Agent = prompt_agent("quiz", "quiz").build();
    let ai = Genkit::builder()
        .model(model.clone())
        .tool(ask_question())
        .prompts(&lib)
        .agent(agent.clone())
        .build()
        .unwrap();
    model.push_response(call(
        "ask_question",
        "q1",
        json!({"question": "?", "choices": ["a", "b"]}),
    ));
    model.push_response(ModelResponse::new(
        Message::model("Right."),
        FinishReason::Stop,
    ));
    let mut chat = agent.chat(&ai);
    let paused = chat.send("go").await.unwrap();
    let interrupts = paused.interrupts();
    assert_eq!(interrupts.len(), 1);
    let answer = ask_question()
        .respond(&interrupts[0], "a".to_owned())
        .unwrap();
    let done = chat.resume([answer]).await.unwrap();
    assert_eq!(done.text(), "Right.");
    let sent = model.last_request().unwrap();
    // system, the user's message, the request, the answer: no template message in between
    assert_eq!(
        roles(&sent),
        [Role::System, Role::User, Role::Model, Role::Tool]
    );
}

#[tokio::test]
async fn the_use_list_of_the_front_matter_runs_its_middleware() {
    // `pick` uses `retry`, then `fallback` to `backup`: the prompt's own model is down, so the
    // answer can only come from the fallback named in the front matter
    let down = ProgrammableModel::new("scripted");
    down.set_handler(|_| Err(GenkitError::with_status(Status::Unavailable, "down")));
    let backup = ProgrammableModel::new("backup");
    backup.push_response(call("lookup", "r1", json!({})));
    let ai = Genkit::builder()
        .model(down.clone())
        .model(backup.clone())
        .tool(lookup())
        .prompts(&library())
        .build()
        .expect("instance builds");
    let response = ai
        .prompt::<Value, Value>("pick")
        .unwrap()
        .generate(json!({"what": "x"}))
        .await
        .expect("the fallback answers");
    assert_eq!(response.tool_requests().len(), 1);
    assert_eq!(down.requests().len(), 1);
    assert_eq!(backup.requests().len(), 1);
    assert_eq!(
        backup.last_request().unwrap().tool_choice,
        Some(ToolChoice::Required)
    );
}
