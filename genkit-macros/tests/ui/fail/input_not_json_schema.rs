use genkit_core::prelude::*;

/// The input derives `Deserialize` but not `JsonSchema`.
#[derive(serde::Deserialize)]
struct City {
    name: String,
}

/// Look up the weather in a city.
#[tool]
async fn weather(city: City) -> ToolResult<String> {
    Ok(format!("sunny in {}", city.name))
}

fn main() {}
