//! Tools: typed functions the model can call, and interrupts that pause the loop.
//!
//! Two layers: [`ToolAction`] is the untyped action (schemas compiled, the one primitive every
//! path runs a tool through, [`ToolAction::call`], with one outcome type, [`ToolOutcome`]);
//! [`Tool<I, O>`] is the typed layer over it, with its name, description and JSON schemas
//! derived once from `I` and `O`. The `#[tool]` attribute generates exactly a `Tool<I, O>`; the
//! constructors are for tools built without the macro.

mod action;
mod context;
mod error;
mod interrupt;
pub(crate) mod macro_support;
mod restart;
mod state;
mod typed;
mod typed_context;

pub use action::{ToolAction, ToolOutcome, ToolOutput};
pub use context::ToolContext;
pub use error::{ToolError, ToolResult};
pub use interrupt::{tool_response, tool_response_with_metadata, tool_restart, Interrupt};
pub use restart::Restart;
pub(crate) use state::States;
pub use state::{State, StateKey};
pub(crate) use typed::{check_owner, decode_input, typed_action, typed_runner};
pub use typed::{IntoTool, Tool, TypedTool};
pub use typed_context::TypedToolContext;

/// Tool names model APIs accept: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
