//! Several interrupts in one turn, next to normal tools, answered in different ways.
//!
//! Asked to plan a dinner, the model calls four tools in one turn:
//!
//! | tool | kind | what happens |
//! |---|---|---|
//! | `weather` | normal | runs; its output waits in the history as a *pending output* |
//! | `opening_hours` | normal | runs; pending output too |
//! | `ask_user` | interrupt-only | pauses: the application **responds** with the user's answer |
//! | `book_table` | interrupts unless restarted | pauses with a [`BookingCheck`]: the application **restarts** it once the user agrees (or responds with a refusal) |
//!
//! The response is interrupted with two interrupts. On resume, genkit-rs replays the pending
//! outputs (the normal tools do not run again), runs the restarted `book_table`, adds the
//! user's answer, and calls the model with all four results, in request order.
//!
//! ```
//! use examples::multi_interrupt::{self, ask_user, book_table, BookingCheck};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().model(multi_interrupt::scripted_model()).build()?;
//! let interrupted = multi_interrupt::start(&ai, "scripted", multi_interrupt::PROMPT).await?;
//! let [question, booking] = interrupted.interrupts() else { panic!("two interrupts") };
//! assert_eq!(multi_interrupt::pending_outputs(&interrupted).len(), 2);
//!
//! let check: BookingCheck = book_table.payload(booking)?;
//! assert_eq!(check.restaurant, "Chez Nous");
//! let answer = ask_user.respond(question, "Four of us".to_string())?;
//! let approve = book_table.restart(booking, true, None)?;
//! let done = multi_interrupt::resume(&ai, "scripted", &interrupted, vec![answer], vec![approve]).await?;
//! assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
//! # Ok(()) }
//! ```

use genkit_core::prelude::*;
use genkit_core::protocol;
use genkit_core::testing::ProgrammableModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model_choice::steady_config;
use crate::scripted::{calls, last_outputs, reply};

/// What the user asks for in the program, unless told otherwise.
pub const PROMPT: &str = "Plan dinner with friends in Lyon on Friday: book a table at Chez \
    Nous at 20:00, ask me anything you need to know, and tell me if I need an umbrella.";

/// The system prompt.
pub const SYSTEM: &str = "You are a personal assistant. Call several tools at once when \
    you can: weather, opening_hours, ask_user (for anything only the user knows) and \
    book_table.";

/// A city and a day: the input of `weather`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Where {
    /// the city
    pub city: String,
    /// the day, like "Friday"
    pub day: String,
}

/// The forecast: the output of `weather`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Forecast {
    /// the city
    pub city: String,
    /// the day
    pub day: String,
    /// the weather in a few words
    pub summary: String,
    /// the chance of rain, in percent
    pub rain_percent: u8,
}

/// Give the weather forecast for a city on a day.
#[tool]
pub fn weather(place: Where) -> ToolResult<Forecast> {
    let rain_percent = match place.day.to_lowercase().as_str() {
        "friday" | "saturday" => 70,
        _ => 10,
    };
    Ok(Forecast {
        summary: if rain_percent > 50 {
            "showers in the evening, 14 C".into()
        } else {
            "dry, 18 C".into()
        },
        city: place.city,
        day: place.day,
        rain_percent,
    })
}

/// A restaurant: the input of `opening_hours`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Restaurant {
    /// the restaurant's name
    pub restaurant: String,
}

/// Give a restaurant's opening hours.
#[tool]
pub fn opening_hours(place: Restaurant) -> ToolResult<String> {
    Ok(format!(
        "{}: 19:00-23:30, closed on Mondays",
        place.restaurant
    ))
}

/// A question for the user: the input of `ask_user`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Question {
    /// the question to ask
    pub question: String,
}

/// Ask the user something only they know. The answer is the user's reply.
#[tool]
pub fn ask_user(question: Question) -> String;

/// A table to book: the input of `book_table`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Booking {
    /// the restaurant's name
    pub restaurant: String,
    /// the day, like "Friday"
    pub day: String,
    /// the time, like "20:00"
    pub time: String,
    /// how many people
    pub people: u32,
}

/// What `book_table` tells the model: its output.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BookingResult {
    /// The table is booked.
    Booked {
        /// the confirmation code
        code: String,
        /// the booking that was made
        booking: Booking,
    },
    /// Nothing was booked.
    NotBooked {
        /// why not
        reason: String,
    },
}

/// What `book_table` asks the user before booking: its interrupt payload.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct BookingCheck {
    /// the restaurant
    pub restaurant: String,
    /// a sentence to show the user
    pub summary: String,
}

/// Book a table at a restaurant. The user confirms first.
#[tool(interrupt = BookingCheck)]
pub async fn book_table(booking: Booking, ctx: ToolContext) -> ToolResult<BookingResult> {
    if !ctx.is_resumed() {
        return ctx.interrupt(BookingCheck {
            restaurant: booking.restaurant.clone(),
            summary: format!(
                "Book {} for {} on {} at {}?",
                booking.restaurant, booking.people, booking.day, booking.time
            ),
        });
    }
    // Restarted: the user agreed. A real tool would call the restaurant's API here.
    let code = format!(
        "{}-{}{}",
        booking
            .restaurant
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(3)
            .collect::<String>()
            .to_uppercase(),
        booking.people,
        booking.time.replace(':', "")
    );
    Ok(BookingResult::Booked { code, booking })
}

/// Asks the model to plan the evening; it should call all four tools in one turn.
pub fn start(ai: &Genkit, model: &str, prompt: &str) -> GenerateBuilder {
    ai.generate()
        .model(model)
        .system(SYSTEM)
        .prompt(prompt)
        .tool(weather)
        .tool(opening_hours)
        .tool(ask_user)
        .tool(book_table)
        .config(steady_config(512))
}

/// Resumes with the answers: respond parts (answers given in a tool's place) and restart
/// parts (tools to run again).
///
/// A restart is the user's approval of a booking, and the restarted `book_table` books. The
/// model's turn after that offers no tools, so it reports the booking instead of calling
/// `book_table` again: one approval books once, whatever the model does next.
pub fn resume(
    ai: &Genkit,
    model: &str,
    interrupted: &GenerateResponse,
    responses: Vec<Part>,
    restarts: Vec<Part>,
) -> GenerateBuilder {
    let approved = !restarts.is_empty();
    let call = ai
        .generate()
        .model(model)
        .messages(interrupted.messages())
        .tool_responses(responses)
        .tool_restarts(restarts)
        .tool(weather)
        .tool(opening_hours)
        .tool(ask_user)
        .tool(book_table)
        .config(steady_config(512));
    if approved {
        call.tool_choice(ToolChoice::None)
    } else {
        call
    }
}

/// The outputs of the tools that finished in the interrupted turn, by tool name, in request
/// order. They are kept on the model's tool requests (metadata `pendingOutput`) until the
/// resume replays them.
pub fn pending_outputs(interrupted: &GenerateResponse) -> Vec<(String, Value)> {
    interrupted
        .message()
        .into_iter()
        .flat_map(|m| &m.content)
        .filter_map(|part| {
            let output = part.metadata_value(protocol::PENDING_OUTPUT)?;
            Some((part.as_tool_request()?.name.clone(), output.clone()))
        })
        .collect()
}

/// The four calls the scripted model makes first.
fn first_turn() -> ModelResponse {
    calls([
        (
            weather::NAME,
            json!(Where {
                city: "Lyon".into(),
                day: "Friday".into()
            }),
        ),
        (
            opening_hours::NAME,
            json!(Restaurant {
                restaurant: "Chez Nous".into()
            }),
        ),
        (
            ask_user::NAME,
            json!(Question {
                question: "How many people are coming, you included?".into()
            }),
        ),
        (
            book_table::NAME,
            json!(Booking {
                restaurant: "Chez Nous".into(),
                day: "Friday".into(),
                time: "20:00".into(),
                people: 2,
            }),
        ),
    ])
}

/// A model that plays the scenario without a server: four calls in its first turn, then a
/// summary built from the four results.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.set_handler(|request| {
        let outputs = last_outputs(request);
        if outputs.is_empty() {
            return Ok(first_turn());
        }
        let bad = |e| GenkitError::json("a tool output", e);
        let mut summary = Vec::new();
        if let Some(booked) = outputs.get(book_table::NAME) {
            summary.push(match BookingResult::deserialize(booked).map_err(bad)? {
                BookingResult::Booked { code, booking } => format!(
                    "Your table at {} is booked for {} on {} at {} (code {code}).",
                    booking.restaurant, booking.people, booking.day, booking.time
                ),
                BookingResult::NotBooked { reason } => format!("I did not book: {reason}."),
            });
        }
        if let Some(answer) = outputs.get(ask_user::NAME) {
            summary.push(format!("You told me: {}.", answer.as_str().unwrap_or("?")));
        }
        if let Some(forecast) = outputs.get(weather::NAME) {
            let f = Forecast::deserialize(forecast).map_err(bad)?;
            summary.push(format!(
                "{}: {}, so {}.",
                f.day,
                f.summary,
                if f.rain_percent > 50 {
                    "take an umbrella"
                } else {
                    "no umbrella needed"
                }
            ));
        }
        Ok(reply(summary.join(" ")))
    });
    model
}
