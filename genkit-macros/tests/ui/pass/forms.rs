//! Every accepted signature, with no warning.
#![deny(warnings)]

use genkit_core::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, JsonSchema)]
struct City {
    name: String,
}

/// Input and context.
#[tool]
async fn with_context(city: City, ctx: ToolContext) -> ToolResult<String> {
    Ok(format!("{} from {}", city.name, ctx.tool_name()))
}

/// Context first: the order is free.
#[tool]
async fn context_first(mut ctx: ToolContext, city: City) -> ToolResult<String> {
    ctx = ctx.clone();
    Ok(format!("{} from {}", city.name, ctx.tool_name()))
}

/// Input only.
#[tool]
async fn input_only(city: City) -> ToolResult<String> {
    Ok(city.name)
}

/// No input: the model sends `{}`.
#[tool]
async fn no_input() -> ToolResult<u32> {
    Ok(7)
}

/// No input, with the context.
#[tool]
async fn context_only(ctx: ToolContext) -> ToolResult<bool> {
    Ok(ctx.is_resumed())
}

/// `()` as the input, written out.
#[tool]
async fn unit_input(_: (), _ctx: ToolContext) -> ToolResult<u32> {
    Ok(7)
}

/// A plain function.
#[tool]
fn plain(n: i64) -> ToolResult<i64> {
    Ok(n * 2)
}

/// `Result<O, anyhow::Error>`, and `?` on any error.
#[tool]
async fn with_anyhow(text: String) -> anyhow::Result<u64> {
    Ok(text.parse::<u64>()?)
}

/// `Result<O, E>` with a standard error type.
#[tool]
async fn with_std_error(text: String) -> Result<u64, std::num::ParseIntError> {
    text.parse()
}

/// `Result<O, String>`.
#[tool]
async fn with_string_error(text: String) -> Result<u64, String> {
    text.parse().map_err(|e| format!("not a number: {e}"))
}

/// The full path of `ToolResult` and `ToolContext`.
#[tool]
async fn full_paths(
    city: City,
    ctx: genkit_core::ToolContext,
) -> genkit_core::ToolResult<Vec<String>> {
    Ok(vec![city.name, ctx.tool_name().to_owned()])
}

/// A raw identifier: the tool is named `type`.
#[tool]
async fn r#type(text: String) -> ToolResult<String> {
    Ok(text)
}

/// Patterns in parameters, inner attributes, and other attributes on the function.
#[tool(name = "destructure")]
#[allow(clippy::needless_return)]
#[must_use]
async fn destructure(City { name }: City, _: ToolContext) -> ToolResult<String> {
    #![allow(unused_mut)]
    let mut name = name;
    return Ok(name);
}

mod public {
    use genkit_core::prelude::*;

    /// A public tool, used from another module.
    #[tool]
    pub async fn shout(text: String) -> ToolResult<String> {
        Ok(text.to_uppercase())
    }

    /// Visible in the crate only.
    #[tool]
    pub(crate) fn whisper(text: String) -> ToolResult<String> {
        Ok(text.to_lowercase())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), GenkitError> {
    let ai = Genkit::builder()
        .tool(with_context)
        .tool(context_first)
        .tool(input_only)
        .tool(no_input)
        .tool(context_only)
        .tool(unit_input)
        .tool(plain)
        .tool(with_anyhow)
        .tool(with_std_error)
        .tool(with_string_error)
        .tool(full_paths)
        .tool(r#type)
        .tool(destructure)
        .tool(public::shout)
        .tool(public::whisper)
        .build()?;
    let _ = ai;
    assert_eq!(r#type.name(), "type");
    assert_eq!(destructure::NAME, "destructure");
    assert_eq!(plain::call(21).ok(), Some(42));
    assert_eq!(
        public::shout::call("hi".into()).await.ok(),
        Some("HI".to_string())
    );
    assert_eq!(no_input::call().await.ok(), Some(7));
    let ctx = ToolContext::new("with_context");
    let city = City {
        name: "Oslo".into(),
    };
    assert_eq!(
        with_context::call(city, ctx).await.ok().as_deref(),
        Some("Oslo from with_context")
    );
    assert!(with_anyhow::call("x".into()).await.is_err());
    Ok(())
}
