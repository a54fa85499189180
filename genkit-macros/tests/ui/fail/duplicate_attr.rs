use genkit_core::prelude::*;

/// Look up the weather in a city.
#[tool(name = "weather", description = "Weather", name = "forecast")]
async fn weather(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

fn main() {}
