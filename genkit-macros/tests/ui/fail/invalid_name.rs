use genkit_core::prelude::*;

/// A space is not allowed in a tool name.
#[tool(name = "get weather")]
async fn weather(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

/// Neither is a dot.
#[tool(name = "weather.v2")]
async fn weather_v2(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

/// Nor more than 64 characters.
#[tool]
async fn look_up_the_weather_forecast_for_the_next_few_days_in_a_given_city(
    city: String,
) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

/// Nor an empty name.
#[tool(name = "")]
async fn nameless(city: String) -> ToolResult<String> {
    Ok(city)
}

fn main() {}
