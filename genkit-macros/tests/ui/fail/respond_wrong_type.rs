use genkit_core::prelude::*;

/// Use this to ask the user a clarifying question
#[tool]
async fn ask_question(question: String, ctx: ToolContext) -> ToolResult<String> {
    let _ = question;
    ctx.interrupt(())
}

fn answer(interrupt: &Interrupt) -> Result<Part, GenkitError> {
    // the answer is a `String`: an integer does not compile
    ask_question.respond(interrupt, 42)
}

fn main() {
    let _ = answer;
}
