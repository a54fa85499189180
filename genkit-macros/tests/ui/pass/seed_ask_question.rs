//! The seed's `ask_question`, as the issue writes it.
#![deny(warnings)]

use genkit_core::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, JsonSchema)]
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

fn answer(interrupt: &Interrupt) -> Result<Vec<Part>, GenkitError> {
    let question: Questions = interrupt.input()?;
    let respond = ask_question.respond(interrupt, question.choices[0].clone())?;
    let restart = ask_question.restart(
        interrupt,
        (),
        Some(Questions {
            choices: vec!["a".into()],
            allow_other: true,
        }),
    )?;
    Ok(vec![respond, restart])
}

fn main() -> Result<(), GenkitError> {
    let ai = Genkit::builder().tool(ask_question).build()?;
    let by_name = ai.generate().tools(["ask_question"]);
    let by_value = ai.generate().tool(ask_question);
    let _ = (by_name, by_value, answer);
    assert_eq!(ask_question.name(), "ask_question");
    assert_eq!(ask_question::NAME, "ask_question");
    Ok(())
}
