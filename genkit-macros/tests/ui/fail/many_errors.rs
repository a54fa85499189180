use genkit_core::prelude::*;

#[derive(serde::Deserialize)]
struct City {
    name: String,
}

/// One build reports every mistake: the argument, the name, and the input type.
#[tool(name = "get weather", color = "blue")]
async fn weather(city: City) -> ToolResult<String> {
    Ok(format!("sunny in {}", city.name))
}

/// And those of another tool.
#[tool]
async fn forecast<T>(city: T, days: u32) -> ToolResult<String> {
    let _ = (city, days);
    Ok(String::new())
}

fn main() {
    // nothing cascades into the code that uses the tools
    let _ = Genkit::builder().tool(weather).tool(forecast);
}
