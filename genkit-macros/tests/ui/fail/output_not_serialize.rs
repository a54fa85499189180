use genkit_core::prelude::*;

/// The output derives `JsonSchema` but not `Serialize`.
#[derive(schemars::JsonSchema)]
struct Forecast {
    summary: String,
}

/// Look up the weather in a city.
#[tool]
async fn weather(city: String) -> ToolResult<Forecast> {
    Ok(Forecast {
        summary: format!("sunny in {city}"),
    })
}

fn main() {}
