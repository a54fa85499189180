use genkit_core::prelude::*;

#[tool]
async fn weather(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

/// A doc comment, but an empty description overrides it.
#[tool(description = "")]
async fn forecast(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

fn main() {}
