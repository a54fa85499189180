//! `#[tool]` tools run through the generate engine, with a scripted model: the seed's
//! `ask_question`, a normal tool, an approval tool that uses `ctx.is_resumed()`, and an
//! interrupt-only tool.

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const MODEL: &str = "scripted";

/// A model that first asks for `requests` (name, ref, input), then answers `text`.
fn scripted(requests: &[(&str, &str, Value)], text: &str) -> ProgrammableModel {
    let model = ProgrammableModel::new(MODEL);
    let parts = requests
        .iter()
        .map(|(name, ref_, input)| {
            Part::tool_request(ToolRequest::new(*name, Some((*ref_).into()), input.clone()))
        })
        .collect();
    model.push_response(ModelResponse::new(
        Message::new(Role::Model, parts),
        FinishReason::Stop,
    ));
    model.push_response(ModelResponse::new(Message::model(text), FinishReason::Stop));
    model
}

/// The outputs of the tool responses the model got in its last request, by name.
fn tool_outputs(model: &ProgrammableModel) -> Vec<(String, Value)> {
    let request = model.last_request().expect("the model was called");
    let last = request.messages.last().expect("a message");
    last.tool_responses()
        .map(|r| (r.name.clone(), r.output.clone().unwrap_or(Value::Null)))
        .collect()
}

// --- the seed's ask_question ---------------------------------------------------------------

#[derive(Deserialize, Serialize, JsonSchema, Debug, PartialEq)]
struct Questions {
    /// the choices to display to the user
    choices: Vec<String>,
    /// when true, allow write-ins
    allow_other: bool,
}

/// Use this to ask the user a clarifying question
#[tool]
async fn ask_question(input: Questions, ctx: ToolContext) -> ToolResult<String> {
    let _ = input;
    ctx.interrupt(())
}

#[tokio::test]
async fn seed_ask_question_interrupts_and_resumes_with_a_typed_answer() -> anyhow::Result<()> {
    let question = json!({"choices": ["Alien", "Heat", "b"], "allow_other": false});
    let model = scripted(&[("ask_question", "q1", question)], "Correct!");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .tool(ask_question)
        .build()?;

    let interrupted = ai
        .generate()
        .prompt("Ask me a movie trivia question.")
        .tools(["ask_question"])
        .await?;
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let interrupt = &interrupted.interrupts()[0];
    let q: Questions = interrupt.input()?;
    assert_eq!(q.choices, ["Alien", "Heat", "b"]);
    assert_eq!(interrupt.payload_value(), &json!(true));

    let response = ai
        .generate()
        .messages(interrupted.messages())
        .tool_responses([ask_question.respond(interrupt, "b".to_string())?])
        .tools(["ask_question"])
        .await?;
    assert_eq!(response.text(), "Correct!");
    assert_eq!(tool_outputs(&model), [("ask_question".into(), json!("b"))]);
    Ok(())
}

#[tokio::test]
async fn the_function_stays_callable() {
    let input = Questions {
        choices: vec!["a".into()],
        allow_other: true,
    };
    let result = ask_question::call(input, ToolContext::new(ask_question::NAME)).await;
    let error = result.expect_err("ask_question always interrupts");
    assert!(error.is_interrupt());
}

// --- a normal tool -------------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
struct City {
    /// the city name
    name: String,
}

#[derive(Serialize, JsonSchema)]
struct Forecast {
    city: String,
    celsius: i32,
}

/// Get the weather forecast for a city.
#[tool]
async fn weather(city: City) -> ToolResult<Forecast> {
    if city.name.is_empty() {
        return Err(ToolError::msg("which city?"));
    }
    Ok(Forecast {
        city: city.name,
        celsius: 21,
    })
}

/// Add two numbers given as text.
#[tool]
fn add(numbers: (String, String)) -> anyhow::Result<i64> {
    let (a, b) = numbers;
    Ok(a.trim().parse::<i64>()? + b.trim().parse::<i64>()?)
}

#[tokio::test]
async fn a_normal_tool_runs_and_its_output_goes_back_to_the_model() -> anyhow::Result<()> {
    let model = scripted(
        &[
            ("weather", "w1", json!({"name": "Paris"})),
            ("add", "a1", json!(["40", " 2"])),
        ],
        "21 degrees, and 42",
    );
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .build()?;
    // passed by value, not registered
    let response = ai
        .generate()
        .prompt("Weather in Paris? And 40 + 2?")
        .tool(weather)
        .tool(add)
        .await?;
    assert_eq!(response.finish_reason(), Some(FinishReason::Stop));
    assert_eq!(response.text(), "21 degrees, and 42");
    assert_eq!(
        tool_outputs(&model),
        [
            ("weather".into(), json!({"city": "Paris", "celsius": 21})),
            ("add".into(), json!(42)),
        ]
    );
    // the model saw both definitions
    let first = &model.requests()[0];
    let names: Vec<&str> = first.tools().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["weather", "add"]);
    Ok(())
}

#[tokio::test]
async fn a_failing_tool_and_a_bad_input_are_typed_errors() -> anyhow::Result<()> {
    let model = scripted(&[("add", "a1", json!(["forty", "2"]))], "unused");
    let ai = Genkit::builder()
        .model(model)
        .default_model(MODEL)
        .build()?;
    let error = ai.generate().prompt("40 + 2?").tool(add).await.unwrap_err();
    assert!(
        matches!(&error, GenkitError::ToolFailed { source, .. } if source.to_string().contains("invalid digit")),
        "{error:?}"
    );

    let model = scripted(&[("weather", "w1", json!({"town": "Paris"}))], "unused");
    let ai = Genkit::builder()
        .model(model)
        .default_model(MODEL)
        .build()?;
    let error = ai
        .generate()
        .prompt("weather?")
        .tool(weather)
        .await
        .unwrap_err();
    assert!(
        matches!(error, GenkitError::ToolInputInvalid { .. }),
        "{error:?}"
    );
    Ok(())
}

// --- an approval tool: interrupts unless resumed ---------------------------------------------

#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug, PartialEq)]
struct Transfer {
    /// who receives the money
    to: String,
    /// in cents
    amount: u64,
}

/// What the user is asked to approve.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Approval {
    message: String,
}

/// What the application says when it restarts the tool.
#[derive(Serialize, Deserialize)]
struct Decision {
    approved: bool,
}

/// Send money; transfers above 100.00 need the user's approval.
#[tool(interrupt = Approval)]
async fn transfer(input: Transfer, ctx: ToolContext) -> ToolResult<String> {
    if input.amount > 10_000 && !ctx.is_resumed() {
        return ctx.interrupt(Approval {
            message: format!("Send {} to {}?", input.amount, input.to),
        });
    }
    if let Some(Decision { approved: false }) = ctx.resumed()? {
        return Ok("cancelled".into());
    }
    let original: Option<Transfer> = ctx.original_input()?;
    Ok(match original {
        Some(o) => format!(
            "sent {} to {} (instead of {})",
            input.amount, input.to, o.amount
        ),
        None => format!("sent {} to {}", input.amount, input.to),
    })
}

#[tokio::test]
async fn an_approval_tool_interrupts_then_runs_when_restarted() -> anyhow::Result<()> {
    let big = json!({"to": "Ann", "amount": 50_000});
    let model = scripted(&[("transfer", "t1", big)], "Done.");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .tool(transfer)
        .build()?;

    let interrupted = ai
        .generate()
        .prompt("Send Ann 500")
        .tools(["transfer"])
        .await?;
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let interrupt = &interrupted.interrupts()[0];
    assert_eq!(
        transfer.payload(interrupt)?,
        Approval {
            message: "Send 50000 to Ann?".into()
        }
    );

    let restart = transfer.restart(interrupt, Decision { approved: true }, None)?;
    let response = ai
        .generate()
        .messages(interrupted.messages())
        .tool_restarts([restart])
        .tools(["transfer"])
        .await?;
    assert_eq!(response.text(), "Done.");
    assert_eq!(
        tool_outputs(&model),
        [("transfer".into(), json!("sent 50000 to Ann"))]
    );
    Ok(())
}

#[tokio::test]
async fn an_approval_tool_restarted_with_a_new_input() -> anyhow::Result<()> {
    let big = json!({"to": "Ann", "amount": 50_000});
    let model = scripted(&[("transfer", "t1", big)], "Done.");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .tool(transfer)
        .build()?;
    let interrupted = ai
        .generate()
        .prompt("Send Ann 500")
        .tools(["transfer"])
        .await?;
    let interrupt = &interrupted.interrupts()[0];
    let smaller = Transfer {
        to: "Ann".into(),
        amount: 20_000,
    };
    let restart = transfer.restart(interrupt, Decision { approved: true }, Some(smaller))?;
    ai.generate()
        .messages(interrupted.messages())
        .tool_restarts([restart])
        .tools(["transfer"])
        .await?;
    assert_eq!(
        tool_outputs(&model),
        [(
            "transfer".into(),
            json!("sent 20000 to Ann (instead of 50000)")
        )]
    );
    Ok(())
}

#[tokio::test]
async fn an_approval_tool_called_directly() {
    let small = Transfer {
        to: "Bo".into(),
        amount: 100,
    };
    let ctx = ToolContext::new(transfer::NAME);
    let sent = transfer::call(small.clone(), ctx)
        .await
        .expect("no approval needed");
    assert_eq!(sent, "sent 100 to Bo");

    let big = Transfer {
        amount: 50_000,
        ..small
    };
    let error = transfer::call(big.clone(), ToolContext::new(transfer::NAME))
        .await
        .expect_err("needs approval");
    assert_eq!(
        error.interrupt_payload(),
        Some(&json!({"message": "Send 50000 to Bo?"}))
    );
    let ctx = ToolContext::new(transfer::NAME).with_resumed(json!({"approved": false}));
    assert_eq!(
        transfer::call(big, ctx).await.expect("resumed"),
        "cancelled"
    );
}

// --- interrupt-only tools ------------------------------------------------------------------

/// What the user confirms.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Confirmation {
    question: String,
}

// (not `transfer`: that name is the `transfer` tool, a unit struct, in this module)
fn confirmation(t: &Transfer) -> Confirmation {
    Confirmation {
        question: format!("Really send {} to {}?", t.amount, t.to),
    }
}

/// Ask the user to confirm a transfer before making it.
#[tool(interrupt = Confirmation, payload = confirmation)]
fn confirm_transfer(input: Transfer) -> bool;

/// Call this when the task is complete.
#[tool]
async fn done(summary: String) -> String;

#[tokio::test]
async fn an_interrupt_only_tool_pauses_with_its_payload_and_takes_a_typed_answer(
) -> anyhow::Result<()> {
    let input = json!({"to": "Cy", "amount": 700});
    let model = scripted(&[("confirm_transfer", "c1", input)], "Confirmed.");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .tool(confirm_transfer)
        .build()?;
    let interrupted = ai
        .generate()
        .prompt("Send Cy 7")
        .tools(["confirm_transfer"])
        .await?;
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let interrupt = &interrupted.interrupts()[0];
    let payload = confirm_transfer.payload(interrupt)?;
    assert_eq!(payload.question, "Really send 700 to Cy?");
    let t: Transfer = interrupt.input()?;
    assert_eq!(t.amount, 700);

    let response = ai
        .generate()
        .messages(interrupted.messages())
        .tool_responses([confirm_transfer.respond(interrupt, true)?])
        .tools(["confirm_transfer"])
        .await?;
    assert_eq!(response.text(), "Confirmed.");
    assert_eq!(
        tool_outputs(&model),
        [("confirm_transfer".into(), json!(true))]
    );
    Ok(())
}

#[tokio::test]
async fn an_interrupt_only_tool_without_payload_interrupts_with_true() -> anyhow::Result<()> {
    let model = scripted(&[("done", "d1", json!("all files renamed"))], "Bye.");
    let ai = Genkit::builder()
        .model(model)
        .default_model(MODEL)
        .build()?;
    let interrupted = ai.generate().prompt("Rename the files").tool(done).await?;
    let interrupt = &interrupted.interrupts()[0];
    assert_eq!(interrupt.payload_value(), &json!(true));
    assert_eq!(interrupt.input::<String>()?, "all files renamed");
    // an answer to another tool's interrupt is refused
    assert!(matches!(
        confirm_transfer.respond(interrupt, true),
        Err(GenkitError::InterruptMismatch { .. })
    ));
    assert!(done.respond(interrupt, "ok".to_string()).is_ok());
    Ok(())
}

// --- application state, carried-over resumes, named restarts -------------------------------

/// A ledger shared by the application and its tool.
#[derive(Clone, Default)]
struct Ledger(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Ledger {
    fn entries(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Send money and record it; the user approves every transfer first.
#[tool(interrupt = Approval)]
async fn pay(
    input: Transfer,
    ctx: ToolContext,
    State(ledger): State<Ledger>,
) -> ToolResult<String> {
    if !ctx.is_resumed() {
        return ctx.interrupt(Approval {
            message: format!("Send {} to {}?", input.amount, input.to),
        });
    }
    let entry = format!("{} to {}", input.amount, input.to);
    ledger
        .0
        .lock()
        .map_err(|_| ToolError::msg("poisoned"))?
        .push(entry.clone());
    Ok(entry)
}

#[tokio::test]
async fn a_tool_with_state_runs_in_the_loop_and_a_resume_carries_the_call_over(
) -> anyhow::Result<()> {
    let model = scripted(
        &[("pay", "p1", json!({"to": "Ann", "amount": 40}))],
        "Paid.",
    );
    let ledger = Ledger::default();
    let ai = Genkit::builder()
        .model(model.clone())
        .state(ledger.clone())
        .build()?;

    let config = GenerationCommonConfig::new()
        .temperature(0.0)
        .max_output_tokens(64);
    let interrupted = ai
        .generate()
        .model(MODEL)
        .prompt("Pay Ann 40")
        .tool(pay)
        .config(config)
        .await?;
    assert!(
        ledger.entries().is_empty(),
        "nothing is paid before the approval"
    );
    let interrupt = &interrupted.interrupts()[0];

    // no model, tool or config given again: the resume carries them over
    let approve = pay
        .approve(interrupt)
        .resumed(Decision { approved: true })
        .into_part()?;
    let response = ai.resume(&interrupted).answers([approve]).await?;
    assert_eq!(response.text(), "Paid.");
    assert_eq!(ledger.entries(), ["40 to Ann"]);
    let last = model.last_request().expect("the model was called");
    assert_eq!(
        last.config,
        Some(json!({"temperature": 0.0, "maxOutputTokens": 64}))
    );
    assert_eq!(last.tools().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_tool_given_to_one_call_without_its_state_fails_before_the_model_is_called() {
    let model = scripted(&[], "unused");
    let ai = Genkit::builder().model(model.clone()).build().unwrap();
    let err = ai
        .generate()
        .model(MODEL)
        .prompt("Pay")
        .tool(pay)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GenkitError::MissingState { tool, state, .. } if tool == "pay" && state.ends_with("Ledger")),
        "{err}"
    );
    assert_eq!(err.status(), genkit_core::Status::FailedPrecondition);
    assert!(model.last_request().is_none(), "the model was not called");
}

#[tokio::test]
async fn approve_with_an_input_replaces_it_and_answers_route_by_kind() -> anyhow::Result<()> {
    let model = scripted(
        &[
            ("pay", "a", json!({"to": "Ann", "amount": 40})),
            ("pay", "b", json!({"to": "Bob", "amount": 90})),
        ],
        "Done.",
    );
    let ledger = Ledger::default();
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model(MODEL)
        .state(ledger.clone())
        .tool(pay)
        .build()?;
    let interrupted = ai.generate().prompt("Pay both").tools(["pay"]).await?;
    let [a, b] = interrupted.interrupts() else {
        panic!("two interrupts expected")
    };
    let less = pay
        .approve(a)
        .with_input(Transfer {
            to: "Ann".into(),
            amount: 25,
        })
        .into_part()?;
    let no = pay.respond(b, "declined".to_string())?;
    // one restart, one respond, in one list
    let response = ai.resume(&interrupted).answers([no, less]).await?;
    assert_eq!(response.text(), "Done.");
    assert_eq!(ledger.entries(), ["25 to Ann"]);
    // an approval of another tool's interrupt is refused
    assert!(transfer.approve(a).into_part().is_err());
    Ok(())
}
