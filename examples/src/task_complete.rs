//! Leaving an autonomous task: the model works through several tools on its own, and ends
//! the task by calling `done`, an interrupt whose input is the typed result.
//!
//! One `generate` call runs the whole loop: the model lists the warehouses, checks their
//! stock, compares delivery times, as many turns as it needs (up to [`MAX_TURNS`]). When it
//! calls `done`, the loop stops and the application reads the [`ShippingPlan`] from the
//! interrupt's input. Nobody answers `done`: the task is over. A model that answers in prose
//! instead gets one reminder.
//!
//! ```
//! use examples::task_complete::{self, Outcome};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(task_complete::scripted_model()).build()?;
//! let run = task_complete::run(&ai, "scripted", task_complete::TASK).await?;
//! let Outcome::Done(plan) = run.outcome else { panic!("the model gave up") };
//! assert_eq!(plan.warehouse, "Rotterdam");
//! assert_eq!(plan.days, 3);
//! # Ok(()) }
//! ```

use std::future::IntoFuture;
use std::sync::Arc;

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::ToolErrorMode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model_choice::steady_config;
use crate::scripted::{calls, first_prompt, outputs_of};

/// The task the program gives the model, unless told otherwise.
pub const TASK: &str = "Find the warehouse that can deliver 30 kettles to Lyon soonest.";

/// The system prompt: how to work, and how to finish.
pub const SYSTEM: &str = "You plan shipments. Use list_warehouses, check_stock and \
    delivery_days to find the answer. When you have it, call done with the warehouse, the \
    delivery time in days and a one-sentence reason. Always finish by calling done.";

/// What the model is told when it answers in prose instead of calling `done`.
pub const REMINDER: &str = "Call done with your result.";

/// The most tool rounds one run may take.
pub const MAX_TURNS: u32 = 12;

/// List the warehouses the shop ships from.
#[tool]
pub fn list_warehouses() -> ToolResult<Vec<String>> {
    Ok(WAREHOUSES.iter().map(|w| w.name.to_owned()).collect())
}

/// A product in a warehouse: the input of `check_stock`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct StockQuery {
    /// the warehouse's name
    pub warehouse: String,
    /// the product, like "kettle"
    pub product: String,
}

/// How many units a warehouse has: the output of `check_stock`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Stock {
    /// the warehouse's name
    pub warehouse: String,
    /// the product
    pub product: String,
    /// units in stock
    pub units: u32,
}

/// Check how many units of a product a warehouse has in stock.
#[tool]
pub fn check_stock(query: StockQuery) -> ToolResult<Lookup<Stock>> {
    let Some(warehouse) = find(&query.warehouse) else {
        return Ok(Lookup::unknown(&query.warehouse));
    };
    let product = query.product.trim().trim_end_matches('s').to_lowercase();
    let units = warehouse
        .stock
        .iter()
        .find(|(p, _)| *p == product)
        .map_or(0, |(_, n)| *n);
    Ok(Lookup::Found(Stock {
        warehouse: warehouse.name.to_owned(),
        product,
        units,
    }))
}

/// A warehouse and a destination: the input of `delivery_days`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct RouteQuery {
    /// the warehouse's name
    pub warehouse: String,
    /// the destination city
    pub city: String,
}

/// How long a delivery takes: the output of `delivery_days`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Route {
    /// the warehouse's name
    pub warehouse: String,
    /// the destination city
    pub city: String,
    /// days from order to delivery
    pub days: u32,
}

/// Tell how many days a delivery from a warehouse to a city takes.
#[tool]
pub fn delivery_days(query: RouteQuery) -> ToolResult<Lookup<Route>> {
    let Some(warehouse) = find(&query.warehouse) else {
        return Ok(Lookup::unknown(&query.warehouse));
    };
    // Distances are made up; far enough apart to tell the warehouses apart.
    let days = match (warehouse.name, query.city.trim().to_lowercase().as_str()) {
        ("Milan", "lyon") => 2,
        ("Rotterdam", "lyon") => 3,
        ("Valencia", "lyon") => 4,
        _ => 6,
    };
    Ok(Lookup::Found(Route {
        warehouse: warehouse.name.to_owned(),
        city: query.city.trim().to_owned(),
        days,
    }))
}

/// The result of the task: the input of `done`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ShippingPlan {
    /// the warehouse to ship from
    pub warehouse: String,
    /// days until delivery
    pub days: u32,
    /// why this warehouse, in one sentence
    pub reason: String,
}

/// Call this when the task is finished, with the result.
#[tool]
pub fn done(plan: ShippingPlan) -> ();

struct Warehouse {
    name: &'static str,
    stock: &'static [(&'static str, u32)],
}

const WAREHOUSES: &[Warehouse] = &[
    Warehouse {
        name: "Rotterdam",
        stock: &[("kettle", 120), ("teapot", 8)],
    },
    Warehouse {
        name: "Milan",
        stock: &[("kettle", 12), ("teapot", 40)],
    },
    Warehouse {
        name: "Valencia",
        stock: &[("kettle", 45), ("teapot", 0)],
    },
];

fn find(name: &str) -> Option<&'static Warehouse> {
    WAREHOUSES
        .iter()
        .find(|w| w.name.eq_ignore_ascii_case(name.trim()))
}

/// What a lookup tool answers: what it found, or what the model got wrong.
///
/// A mistake the model can fix (a warehouse that does not exist) is an answer, not a
/// [`ToolError`]: a tool error ends the whole `generate` call, an answer lets the model try
/// again. On the wire it is the found object, or `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Lookup<T> {
    /// What was found.
    Found(T),
    /// What went wrong.
    Error {
        /// what went wrong, and how to do better
        error: String,
    },
}

impl<T> Lookup<T> {
    fn unknown(warehouse: &str) -> Self {
        Lookup::Error {
            error: format!("no warehouse '{warehouse}'; call list_warehouses for the names"),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The model called `done`: its result.
    Done(ShippingPlan),
    /// The model answered in prose, even after the reminder.
    Answered(String),
}

/// A finished run: how it ended, and the last response (its messages hold every step).
#[derive(Debug, Clone)]
pub struct Run {
    /// How it ended.
    pub outcome: Outcome,
    /// The last response.
    pub response: GenerateResponse,
}

/// Gives the model `task` and lets it work until it calls `done`.
pub async fn run(ai: &Genkit, model: &str, task: &str) -> Result<Run, GenkitError> {
    run_with(ai, model, task, GenerateBuilder::into_future).await
}

/// [`run`], with each generate call run by `send` (a program streams them to the terminal
/// with [`console::streamed`](crate::console::streamed)).
pub async fn run_with<F, Fut>(
    ai: &Genkit,
    model: &str,
    task: &str,
    mut send: F,
) -> Result<Run, GenkitError>
where
    F: FnMut(GenerateBuilder) -> Fut,
    Fut: std::future::Future<Output = Result<GenerateResponse, GenkitError>>,
{
    let call = |messages: &[Arc<Message>], prompt: &str| {
        ai.generate()
            .model(model)
            .messages(messages)
            .prompt(prompt)
            .tool(list_warehouses)
            .tool(check_stock)
            .tool(delivery_days)
            .tool(done)
            .max_turns(MAX_TURNS)
            // A wrong tool name or argument goes back to the model, which can fix it.
            .tool_errors(ToolErrorMode::ReturnToModel)
            .config(steady_config(512))
    };
    let mut response = send(call(&[Arc::new(Message::system(SYSTEM))], task)).await?;
    for reminded in [false, true] {
        // `done` is the only interrupt: when the loop paused, the task is over.
        if let Some(finished) = response
            .interrupts()
            .iter()
            .find(|i| i.name() == done::NAME)
        {
            let plan: ShippingPlan = finished.input()?;
            return Ok(Run {
                outcome: Outcome::Done(plan),
                response,
            });
        }
        if reminded {
            break;
        }
        // The model answered in prose. Append a reminder to the conversation and go on.
        response = send(call(response.messages(), REMINDER)).await?;
    }
    Ok(Run {
        outcome: Outcome::Answered(response.text()),
        response,
    })
}

/// What a task like [`TASK`] asks for: (units, product, city).
fn goal_in(task: &str) -> (u32, String, String) {
    let words: Vec<&str> = task
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let at = words.iter().position(|w| w.parse::<u32>().is_ok());
    let units = at.and_then(|i| words[i].parse().ok()).unwrap_or(30);
    let product = at
        .and_then(|i| words.get(i + 1))
        .map_or("kettle", |w| w.trim_end_matches('s'));
    let city = words
        .iter()
        .position(|w| *w == "to")
        .and_then(|i| words.get(i + 1))
        .copied()
        .unwrap_or("Lyon");
    (units, product.to_lowercase(), city.to_owned())
}

/// A model that does the task without a server, one step per turn, deciding each step from
/// the tool outputs in the request: the warehouses, then every warehouse's stock (in one
/// turn), then the delivery times of those with enough stock, then `done`.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.set_handler(|request| {
        let bad = |e| GenkitError::json("a tool output", e);
        let (units, product, city) = goal_in(&first_prompt(request));
        let Some(names) = outputs_of(request, list_warehouses::NAME).pop() else {
            return Ok(calls([(list_warehouses::NAME, json!({}))]));
        };
        let names: Vec<String> = serde_json::from_value(names).map_err(bad)?;
        let stocks: Vec<Stock> = outputs_of(request, check_stock::NAME)
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        if stocks.is_empty() {
            return Ok(calls(names.iter().map(|w| {
                let query = json!(StockQuery {
                    warehouse: w.clone(),
                    product: product.clone()
                });
                (check_stock::NAME, query)
            })));
        }
        let routes: Vec<Route> = outputs_of(request, delivery_days::NAME)
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        let enough: Vec<&Stock> = stocks.iter().filter(|s| s.units >= units).collect();
        if routes.is_empty() && !enough.is_empty() {
            return Ok(calls(enough.iter().map(|s| {
                let query = json!(RouteQuery {
                    warehouse: s.warehouse.clone(),
                    city: city.clone()
                });
                (delivery_days::NAME, query)
            })));
        }
        let plan = match routes.iter().min_by_key(|r| r.days) {
            Some(best) => ShippingPlan {
                warehouse: best.warehouse.clone(),
                days: best.days,
                reason: format!(
                    "{} of {} warehouses have {units} {product}s; {} delivers to {city} \
                     soonest.",
                    enough.len(),
                    stocks.len(),
                    best.warehouse
                ),
            },
            None => ShippingPlan {
                warehouse: "none".into(),
                days: 0,
                reason: format!("no warehouse has {units} {product}s"),
            },
        };
        Ok(calls([(done::NAME, json!(plan))]))
    });
    model
}
