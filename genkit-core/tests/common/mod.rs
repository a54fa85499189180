//! Shared pieces of the dev-runtime and flow-server tests.

#![allow(dead_code)]

pub mod http;

use std::time::Duration;

use genkit_core::flow::{define_flow, FlowContext};
use genkit_core::testing::ProgrammableModel;
use genkit_core::{
    FinishReason, GenerationUsage, Genkit, GenkitError, Message, ModelRequest, ModelResponse, Part,
    Role, Status, Tool, ToolContext, ToolRequest, ToolResult,
};
use serde_json::{json, Value};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Greeting {
    pub name: String,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct City {
    pub city: String,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Weather {
    pub city: String,
    #[serde(rename = "tempC")]
    pub temp_c: f64,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Question {
    pub question: String,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Answer {
    pub answer: bool,
}

/// Genkit's "canned/echo" test model: a tool result becomes "tool NAME said: OUTPUT"; a prompt
/// with "interrupt" asks `askUser`; with `getWeather` offered, it asks for the prompt's city.
pub fn canned_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("canned/echo");
    model.set_handler(|request: &ModelRequest| {
        let ask = |name: &str, input: Value| {
            Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    name,
                    Some("call-1".into()),
                    input,
                ))],
            )
        };
        let offered = |name: &str| request.tools().iter().any(|t| t.name == name);
        let message = match request.messages.last() {
            Some(m) if m.role == Role::Tool => {
                let r = m.content.iter().find_map(|p| p.as_tool_response());
                let said = r
                    .map(|r| {
                        format!(
                            "tool {} said: {}",
                            r.name,
                            r.output.clone().unwrap_or(Value::Null)
                        )
                    })
                    .unwrap_or_default();
                Message::model(said)
            }
            Some(m) if m.text().contains("interrupt") && offered("askUser") => {
                ask("askUser", json!({"question": "Proceed?"}))
            }
            Some(m) if offered("getWeather") => ask("getWeather", json!({"city": m.text()})),
            Some(m) => Message::model(format!("Echo: {}", m.text())),
            None => Message::model("Echo: "),
        };
        Ok(ModelResponse::new(message, FinishReason::Stop))
    });
    model
}

/// The model of Genkit's reflection API spec: answers with its request as JSON.
pub fn reflector_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("customReflector");
    model.set_handler(|request: &ModelRequest| {
        let input: usize = request.messages.iter().map(|m| m.text().len()).sum();
        let echoed = serde_json::to_value(request).unwrap().to_string();
        let mut response = ModelResponse::new(Message::model(echoed.clone()), FinishReason::Stop);
        response.usage = Some(GenerationUsage {
            input_characters: Some(input as u64),
            output_characters: Some(echoed.len() as u64),
            ..GenerationUsage::default()
        });
        Ok(response)
    });
    model
}

/// The app the tests drive, close to the Genkit JS app the reference captures come from.
pub fn app() -> Genkit {
    let get_weather = Tool::new(
        "getWeather",
        "Returns the weather for a city",
        |input: City, _ctx: ToolContext| async move {
            ToolResult::Ok(Weather {
                city: input.city,
                temp_c: 21.0,
            })
        },
    );
    let ask_user: Tool<Question, Answer> =
        Tool::interrupt("askUser", "Ask the user a yes/no question");
    let greet = define_flow(
        "greet",
        |input: Greeting, ctx: FlowContext<String>| async move {
            ctx.send_chunk("hello ".into()).await;
            ctx.send_chunk(input.name.clone()).await;
            Ok(format!("Hello, {}!", input.name))
        },
    );
    let weather = define_flow("weatherFlow", |city: String, ctx: FlowContext| async move {
        let r = ctx
            .genkit()
            .generate()
            .prompt(city)
            .tools(["getWeather"])
            .await?;
        Ok(r.text())
    });
    let interrupt = define_flow(
        "interruptFlow",
        |input: String, ctx: FlowContext| async move {
            let r = ctx
                .genkit()
                .generate()
                .prompt(format!("interrupt {input}"))
                .tools(["askUser"])
                .await?;
            let interrupts: Vec<Value> = r
                .interrupts()
                .iter()
                .map(|i| serde_json::to_value(i.to_part()).unwrap())
                .collect();
            Ok(
                json!({"finishReason": r.finish_reason().map(|f| f.as_str().to_owned()), "interrupts": interrupts}),
            )
        },
    );
    let fail = define_flow("failFlow", |input: String, _ctx: FlowContext| async move {
        Err::<(), _>(GenkitError::with_status(
            Status::Internal,
            format!("boom: {input}"),
        ))
    });
    let slow = define_flow("slowFlow", |ms: u64, _ctx: FlowContext| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(format!("done after {ms}"))
    });
    let steps = define_flow("steps", |word: String, ctx: FlowContext| async move {
        let upper = ctx.run("upper", async { Ok(word.to_uppercase()) }).await?;
        ctx.run("excite", async { Ok(format!("{upper}!")) }).await
    });
    let streamy = define_flow(
        "streamy",
        |count: u32, ctx: FlowContext<Value>| async move {
            for i in 0..count {
                ctx.send_chunk(json!({ "count": i })).await;
            }
            Ok(format!("done {count}, streamed: {count} times"))
        },
    );
    Genkit::builder()
        .model(canned_model())
        .model(reflector_model())
        .default_model("canned/echo")
        .tool(get_weather)
        .tool(ask_user)
        .flow(greet)
        .flow(weather)
        .flow(interrupt)
        .flow(fail)
        .flow(slow)
        .flow(steps)
        .flow(streamy)
        .build()
        .unwrap()
}

/// True when `expected` is contained in `actual`: objects key by key (extra keys allowed),
/// everything else equal.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| contains(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| contains(x, y))
        }
        _ => actual == expected,
    }
}
