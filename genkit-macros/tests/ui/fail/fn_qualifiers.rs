use genkit_core::prelude::*;

/// `unsafe`
#[tool]
unsafe fn danger(input: String) -> ToolResult<String> {
    Ok(input)
}

/// `const`
#[tool]
const fn fixed(input: u32) -> ToolResult<u32> {
    Ok(input)
}

/// `extern "C"`
#[tool]
extern "C" fn foreign(input: u32) -> ToolResult<u32> {
    Ok(input)
}

fn main() {}
