use genkit_core::prelude::*;

/// Generic over the input.
#[tool]
async fn echo<T: serde::de::DeserializeOwned>(input: T) -> ToolResult<String> {
    let _ = input;
    Ok(String::new())
}

/// `impl Trait` input.
#[tool]
async fn show(input: impl std::fmt::Display) -> ToolResult<String> {
    Ok(input.to_string())
}

/// Generic over a lifetime.
#[tool]
async fn first<'a>(input: String) -> ToolResult<String>
where
    'a: 'static,
{
    Ok(input)
}

fn main() {}
