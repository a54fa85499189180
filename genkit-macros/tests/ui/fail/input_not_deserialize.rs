use genkit_core::prelude::*;

/// The input derives `JsonSchema` but not `Deserialize`.
#[derive(schemars::JsonSchema)]
struct City {
    name: String,
}

/// Look up the weather in a city.
#[tool]
async fn weather(city: City) -> ToolResult<String> {
    Ok(format!("sunny in {}", city.name))
}

fn main() {}
