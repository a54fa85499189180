use genkit_core::prelude::*;

/// No `Result`.
#[tool]
async fn weather(city: String) -> String {
    format!("sunny in {city}")
}

/// No return type at all.
#[tool]
async fn log(line: String) {
    println!("{line}");
}

fn main() {}
