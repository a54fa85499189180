use genkit_core::prelude::*;

struct Weather;

impl Weather {
    /// A method cannot be a tool.
    #[tool]
    async fn lookup(&self, city: String) -> ToolResult<String> {
        Ok(format!("sunny in {city}"))
    }
}

fn main() {
    // the method is still there: no other error
    let _ = Weather.lookup(String::new());
}
