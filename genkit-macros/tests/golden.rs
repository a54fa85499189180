//! Golden tests of the definitions `#[tool]` generates (name, description, input and output
//! JSON schemas), compared exactly with `tests/golden/<tool>.json`.
//!
//! After an intended change, regenerate with
//! `GOLDEN_OVERWRITE=1 cargo test -p genkit-macros --test golden`, and review the diff.
// the types exist for their schemas; their fields are never read
#![allow(dead_code)]

use std::path::PathBuf;

use genkit_core::prelude::*;
use genkit_core::ToolDefinition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn check(definition: &ToolDefinition) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{}.json", definition.name));
    let actual = serde_json::to_string_pretty(definition).expect("a definition is JSON") + "\n";
    if std::env::var_os("GOLDEN_OVERWRITE").is_some() {
        std::fs::write(&path, &actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with GOLDEN_OVERWRITE=1)", path.display()));
    assert_eq!(actual, expected, "{} differs", path.display());
}

// --- the seed's tool: a struct of a vector and a flag, documented fields ------------------

#[derive(Deserialize, JsonSchema)]
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

#[test]
fn golden_ask_question() {
    check(ask_question.definition());
}

// --- nested structs, enums, optional fields, vectors --------------------------------------

/// A seat class.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Class {
    Economy,
    Business,
    First,
}

/// Someone travelling.
#[derive(Deserialize, JsonSchema)]
struct Traveler {
    /// full name, as on the passport
    name: String,
    /// age in years, for fares
    age: u8,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Trip {
    /// IATA code of the departure airport
    from: String,
    /// IATA code of the arrival airport
    to: String,
    /// who travels; at least one
    travelers: Vec<Traveler>,
    class: Class,
    /// ISO date of the return flight, for a round trip
    return_date: Option<String>,
    /// the most to spend, in euros
    #[serde(default)]
    max_price: Option<f64>,
}

/// What was booked.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Booking {
    /// Booked: the confirmation codes, one per flight.
    Confirmed { codes: Vec<String>, class: Class },
    /// Nothing fits.
    Unavailable { reason: String },
}

/// Book flights for a trip.
///
/// Call it once the user has confirmed the travelers and the dates:
/// - one-way when `returnDate` is absent,
/// - round trip otherwise.
#[tool(name = "book-trip")]
async fn book_trip(trip: Trip) -> ToolResult<Booking> {
    let _ = trip;
    Ok(Booking::Unavailable {
        reason: "test".into(),
    })
}

#[test]
fn golden_book_trip() {
    check(book_trip.definition());
}

// --- no input, and an overridden description -----------------------------------------------

/// Not what the model sees.
#[tool(description = "The current time, as an ISO 8601 string")]
fn current_time() -> ToolResult<String> {
    Ok("2025-01-01T00:00:00Z".into())
}

#[test]
fn golden_current_time() {
    check(current_time.definition());
}

// --- an interrupt-only tool: the output schema is the answer's ------------------------------

#[derive(Deserialize, Serialize, JsonSchema)]
struct Transfer {
    /// who receives the money
    to: String,
    /// in cents
    amount: u64,
}

/// The user's answer.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Answer {
    approved: bool,
    /// why not, when refused
    comment: Option<String>,
}

/**
 * Ask the user to approve a transfer.
 * The transfer happens only after approval.
 */
#[tool]
fn approve_transfer(transfer: Transfer) -> Answer;

#[test]
fn golden_approve_transfer() {
    check(approve_transfer.definition());
}
