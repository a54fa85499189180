use genkit_core::prelude::*;

/// Two inputs: the model sends one JSON object, so a tool takes one input.
#[tool]
async fn weather(city: String, days: u32, ctx: ToolContext) -> ToolResult<String> {
    let _ = ctx;
    Ok(format!("sunny in {city} for {days} days"))
}

fn main() {
    // the function is still there, and the tool value too: no other error
    let _ = weather::call(String::new(), 1, ToolContext::new("weather"));
    let _ = Genkit::builder().tool(weather);
}
