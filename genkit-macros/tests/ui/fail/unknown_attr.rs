use genkit_core::prelude::*;

/// Look up the weather in a city.
#[tool(nam = "weather", returns(String))]
async fn weather(city: String) -> ToolResult<String> {
    Ok(format!("sunny in {city}"))
}

fn main() {
    // the tool is still generated: no other error
    let _ = Genkit::builder().tool(weather);
}
