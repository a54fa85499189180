use genkit_core::prelude::*;

/// The output derives `Serialize` but not `JsonSchema`.
#[derive(serde::Serialize)]
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
