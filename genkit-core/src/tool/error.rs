//! [`ToolError`] and [`ToolResult`]: how a tool body fails, or interrupts.

use std::fmt;

use serde_json::Value;

use crate::error::BoxError;

/// What a tool body returns: its output, or a [`ToolError`].
pub type ToolResult<T> = Result<T, ToolError>;

pub(crate) enum ToolErrorKind {
    /// `ctx.interrupt(..)`: not a failure, the loop pauses.
    Interrupt(Value),
    /// The tool failed.
    Failed(BoxError),
}

/// The error of a tool body: a failure, or an interrupt raised by
/// [`ToolContext::interrupt`](crate::ToolContext::interrupt).
///
/// `?` converts anything `anyhow` would take (every `std::error::Error + Send + Sync`, `String`,
/// `&str`, and `anyhow::Error` itself) into a `ToolError`:
///
/// ```
/// use genkit_core::ToolResult;
/// fn parse(s: &str) -> ToolResult<u32> {
///     Ok(s.parse::<u32>()?)
/// }
/// assert!(parse("x").is_err());
/// ```
pub struct ToolError(pub(crate) ToolErrorKind);

impl ToolError {
    /// A failure with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        ToolError(ToolErrorKind::Failed(message.to_string().into()))
    }

    pub(crate) fn interrupt(payload: Value) -> Self {
        ToolError(ToolErrorKind::Interrupt(payload))
    }

    /// True when this is an interrupt rather than a failure.
    pub fn is_interrupt(&self) -> bool {
        matches!(self.0, ToolErrorKind::Interrupt(_))
    }

    /// The interrupt payload, when this is an interrupt.
    pub fn interrupt_payload(&self) -> Option<&Value> {
        match &self.0 {
            ToolErrorKind::Interrupt(v) => Some(v),
            ToolErrorKind::Failed(_) => None,
        }
    }
}

impl<E: Into<BoxError>> From<E> for ToolError {
    fn from(error: E) -> Self {
        ToolError(ToolErrorKind::Failed(error.into()))
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ToolErrorKind::Interrupt(v) => f.debug_tuple("Interrupt").field(v).finish(),
            ToolErrorKind::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ToolErrorKind::Interrupt(v) => write!(f, "tool interrupted with {v}"),
            ToolErrorKind::Failed(e) => fmt::Display::fmt(e, f),
        }
    }
}
