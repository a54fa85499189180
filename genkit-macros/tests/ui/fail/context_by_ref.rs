use genkit_core::prelude::*;

/// Look up the weather in a city.
#[tool]
async fn weather(city: String, ctx: &ToolContext) -> ToolResult<String> {
    let _ = ctx;
    Ok(format!("sunny in {city}"))
}

fn main() {}
