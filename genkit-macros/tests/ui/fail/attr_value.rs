use genkit_core::prelude::*;

/// The name is a string literal, not a path.
#[tool(name = weather)]
async fn weather(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

/// A flag where a value is expected.
#[tool(description)]
async fn forecast(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

fn main() {}
