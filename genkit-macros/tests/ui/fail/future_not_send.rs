use genkit_core::prelude::*;
use std::rc::Rc;

async fn fetch() {}

/// An `Rc` held across an `.await` makes the future not `Send`.
#[tool]
async fn weather(city: String) -> ToolResult<String> {
    let cached = Rc::new(city);
    fetch().await;
    Ok(format!("sunny in {cached}"))
}

fn main() {}
