//! `crate = "..."`: `genkit_core` under another name, as after a rename in Cargo.toml
//! (`genkit = { package = "genkit-core", .. }`). Every path the macro generates starts with
//! the given one.
#![deny(warnings)]

extern crate genkit_core as genkit;

mod tools {
    use genkit::{ToolContext, ToolResult};

    /// Ask the user a question.
    #[genkit::tool(crate = "genkit")]
    pub async fn ask(question: String, ctx: ToolContext) -> ToolResult<String> {
        let _ = question;
        ctx.interrupt(())
    }

    /// Unquoted, and absolute.
    #[genkit::tool(crate = ::genkit, interrupt = u32)]
    pub async fn count(n: u32, ctx: ToolContext) -> ToolResult<u32> {
        ctx.interrupt(n)
    }

    /// Interrupt-only.
    #[genkit::tool(crate = "genkit")]
    pub fn confirm(question: String) -> bool;
}

fn main() -> Result<(), genkit::GenkitError> {
    use genkit::TypedTool;
    let ai = genkit::Genkit::builder()
        .tool(tools::ask)
        .tool(tools::count)
        .tool(tools::confirm)
        .build()?;
    let _ = ai;
    assert_eq!(tools::ask.action().name(), "ask");
    Ok(())
}
