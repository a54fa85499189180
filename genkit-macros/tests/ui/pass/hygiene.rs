//! The generated code holds up when the user's module shadows common names.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

use genkit_core::{tool, ToolContext, ToolResult};

struct Box;
struct Option;
struct Some;
struct Vec;
struct Arc;
struct OnceLock;
struct Deref;
struct TOOL;
mod core {}
mod std {}
mod serde {}
mod serde_json {}
mod schemars {}
mod futures {}

/// Tools named like what the macro generates.
#[tool]
async fn call(input: String, ctx: ToolContext) -> ToolResult<String> {
    let _ = ctx;
    Ok(input)
}

/// Named like a trait method.
#[tool]
async fn action(input: String) -> ToolResult<String> {
    Ok(input)
}

/// Parameters named like the generated ones.
#[tool]
async fn deref(__input: u32, __ctx: ToolContext) -> ToolResult<u32> {
    let _ = __ctx;
    Ok(__input)
}

fn main() {
    let _ = (call, action, deref);
}
