//! A genkit-rs app the Genkit CLI and Developer UI can drive: flows (one streaming, one with a
//! tool loop, one that pauses on an interrupt), a tool, an interrupt tool and a scripted model.
//!
//! ```sh
//! cargo build -p examples --features dev --bin devui_app
//! genkit start --noui -- target/debug/devui_app          # reflection API v1, :4000 API
//! genkit flow:run greet '{"name":"Ada"}' --stream         # from another shell
//! genkit flow:run weatherFlow '"Oslo"' -- target/debug/devui_app   # one-shot, reflection v2
//! ```
//!
//! With `DEVUI_APP_FLOW_PORT=3400` the same flows are also served over HTTP (`POST /greet` with
//! `{"data": ...}`), `secureGreet` only for the `Authorization: open sesame` header. Outside dev
//! mode, without a flow server, it runs two flows once and prints what they return.

use std::time::Duration;

use genkit_core::agent::{Agent, PromptSpec};
use genkit_core::flow::{define_flow, Flow, FlowContext};
use genkit_core::reflection::DevRuntime;
use genkit_core::serve::{FlowServer, RequestData};
use genkit_core::session::InMemorySessionStore;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{
    ActionContext, FinishReason, GenerationUsage, Genkit, GenkitError, Message, ModelRequest,
    ModelResponse, Part, Role, Status, Tool, ToolContext, ToolRequest, ToolResult,
};
use genkit_dotprompt::{GenkitBuilderPromptExt, PromptLibrary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The input of `greet`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Greeting {
    /// who to greet
    name: String,
}

/// The input of `getWeather`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct City {
    /// the city
    city: String,
}

/// The output of `getWeather`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Weather {
    city: String,
    #[serde(rename = "tempC")]
    temp_c: f64,
}

/// The input of `askUser`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Question {
    /// a yes/no question for the user
    question: String,
}

/// The user's answer to `askUser`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Answer {
    answer: bool,
}

/// The output of `interruptFlow`: why generation stopped and the pending interrupts.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Paused {
    finish_reason: String,
    interrupts: Vec<Value>,
}

/// A stand-in for a real model, like Genkit's "canned/echo" test model: answers a tool result
/// with "tool NAME said: OUTPUT", asks `askUser` when the prompt says "interrupt", asks
/// `getWeather` for the prompt's city when that tool is offered, and echoes otherwise.
fn canned_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("canned/echo");
    model.set_handler(|request: &ModelRequest| {
        let last = request.messages.last();
        let tool_request = |name: &str, input: Value| {
            Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    name,
                    Some("call-1".to_owned()),
                    input,
                ))],
            )
        };
        let message = match last {
            Some(m) if m.role == Role::Tool => {
                let said = m
                    .content
                    .iter()
                    .find_map(|p| p.as_tool_response())
                    .map(|r| {
                        let output = r.output.clone().unwrap_or(Value::Null);
                        format!("tool {} said: {output}", r.name)
                    })
                    .unwrap_or_default();
                Message::model(said)
            }
            Some(m) => {
                let text = m.text();
                let offered = |name: &str| request.tools().iter().any(|t| t.name == name);
                if text.contains("interrupt") && offered("askUser") {
                    tool_request("askUser", json!({"question": "Proceed?"}))
                } else if offered("getWeather") {
                    tool_request("getWeather", json!({"city": text}))
                } else {
                    Message::model(format!("Echo: {text}"))
                }
            }
            None => Message::model("Echo: "),
        };
        Ok(ModelResponse::new(message, FinishReason::Stop))
    });
    model
}

/// The model of Genkit's reflection API spec: answers with its request as JSON.
fn reflector_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("customReflector");
    model.set_handler(|request: &ModelRequest| {
        let input: usize = request.messages.iter().map(|m| m.text().len()).sum();
        // a `Value` serializes with sorted keys
        let echoed = serde_json::to_value(request)
            .map(|v| v.to_string())
            .map_err(|e| GenkitError::json("request", e))?;
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

/// The app: its Genkit instance, and the two flows the HTTP server gives special treatment.
struct App {
    ai: Genkit,
    greet: Flow<Greeting, String, String>,
    secure_greet: Flow<Greeting, String, String>,
}

fn build() -> Result<App, GenkitError> {
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
            ctx.send_chunk("hello ".to_owned()).await;
            ctx.send_chunk(input.name.clone()).await;
            Ok(format!("Hello, {}!", input.name))
        },
    );
    let secure_greet = define_flow(
        "secureGreet",
        |input: Greeting, ctx: FlowContext<String>| async move {
            let user = ctx
                .context()
                .get("auth")
                .and_then(|a| a["user"].as_str())
                .unwrap_or("nobody")
                .to_owned();
            ctx.send_chunk(user.clone()).await;
            Ok(format!("Hello, {}! (signed in as {user})", input.name))
        },
    );
    let weather_flow = define_flow("weatherFlow", |city: String, ctx: FlowContext| async move {
        let response = ctx
            .genkit()
            .generate()
            .prompt(city)
            .tools(["getWeather"])
            .await?;
        Ok(response.text())
    });
    let interrupt_flow = define_flow(
        "interruptFlow",
        |input: String, ctx: FlowContext| async move {
            let response = ctx
                .genkit()
                .generate()
                .prompt(format!("interrupt {input}"))
                .tools(["askUser"])
                .await?;
            let interrupts = response
                .interrupts()
                .iter()
                .map(|i| serde_json::to_value(i.to_part()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| GenkitError::json("interrupts", e))?;
            Ok(Paused {
                finish_reason: response
                    .finish_reason()
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_default(),
                interrupts,
            })
        },
    );
    let fail_flow = define_flow("failFlow", |input: String, _ctx: FlowContext| async move {
        Err::<(), _>(GenkitError::with_status(
            Status::Internal,
            format!("boom: {input}"),
        ))
    });
    let slow_flow = define_flow("slowFlow", |ms: u64, _ctx: FlowContext| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(format!("done after {ms}"))
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
    let steps = define_flow("steps", |word: String, ctx: FlowContext| async move {
        let upper = ctx.run("upper", async { Ok(word.to_uppercase()) }).await?;
        let excited = ctx.run("excite", async { Ok(format!("{upper}!")) }).await?;
        Ok(excited)
    });

    let prompts = PromptLibrary::load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/devui_prompts"))?;
    let ai = Genkit::builder()
        .prompts(&prompts)
        .model(canned_model())
        .model(reflector_model())
        .default_model("canned/echo")
        .tool(get_weather)
        .tool(ask_user)
        .flow(greet.clone())
        .flow(secure_greet.clone())
        .flow(weather_flow)
        .flow(interrupt_flow)
        .flow(fail_flow)
        .flow(slow_flow)
        .flow(streamy)
        .flow(steps)
        .agent(helpdesk())
        .build()?;
    Ok(App {
        ai,
        greet,
        secure_greet,
    })
}

/// An agent for the Developer UI: the canned model with `askUser` (so "interrupt" pauses a
/// turn), its sessions in memory. Listed as `/agent/helpdesk`, with its snapshot and abort
/// actions.
fn helpdesk() -> Agent {
    Agent::prompt(
        "helpdesk",
        PromptSpec::new().model("canned/echo").tools(["askUser"]),
    )
    .description("Echoes with the canned model; asks the user when told to interrupt")
    .store(InMemorySessionStore::new())
    .build()
}

/// Only the `Authorization: open sesame` header gets in, as Genkit's express example does.
async fn open_sesame(request: RequestData) -> Result<ActionContext, GenkitError> {
    match request.headers.get("authorization").map(String::as_str) {
        Some("open sesame") => Ok(ActionContext::from_json(
            json!({"auth": {"user": "Ali Baba"}}),
        )),
        _ => Err(GenkitError::with_status(
            Status::PermissionDenied,
            "not authorized".to_owned(),
        )),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let App {
        ai,
        greet,
        secure_greet,
    } = build()?;

    let flow_server = match std::env::var("DEVUI_APP_FLOW_PORT") {
        Ok(port) => {
            let listener =
                tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
            eprintln!(
                "devui_app: flow server on http://{}",
                listener.local_addr()?
            );
            let server = FlowServer::new(&ai)
                .flow_with_context(&secure_greet, open_sesame)
                .flow(&greet)
                .all_flows();
            Some(tokio::spawn(server.serve(listener)))
        }
        Err(_) => None,
    };

    match DevRuntime::start(&ai).await? {
        Some(dev) => {
            match dev.reflection_url() {
                Some(url) => eprintln!("devui_app: reflection API v1 on {url} (id {})", dev.id()),
                None => eprintln!("devui_app: reflection API v2 (id {})", dev.id()),
            }
            dev.wait().await;
        }
        None => match flow_server {
            Some(server) => server.await??,
            None => {
                let hello = greet.run(&ai, Greeting { name: "Ada".into() }).await?;
                println!("greet: {hello}");
                let weather = ai
                    .run_action("/flow/weatherFlow", json!("Oslo"), ActionContext::new())
                    .await?;
                println!("weatherFlow: {weather}");
            }
        },
    }
    Ok(())
}
