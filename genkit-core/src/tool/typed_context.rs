//! [`TypedToolContext`]: a [`ToolContext`] whose interrupt payload has one type.

use std::ops::Deref;

use serde::Serialize;
use serde_json::Value;

use super::context::ToolContext;
use super::error::{ToolError, ToolResult};

/// Turns a payload into JSON.
pub(crate) type Encode<P> = fn(P) -> Result<Value, serde_json::Error>;

/// A [`ToolContext`] whose [`interrupt`](TypedToolContext::interrupt) takes only a `P`.
///
/// `#[tool(interrupt = P)]` hands the body its context as a `TypedToolContext<P>`, so the
/// compiler checks every payload the tool sends; the application reads it back, typed, with the
/// tool's generated `payload(&interrupt)`. Everything else of [`ToolContext`] is reached
/// through `Deref` (`ctx.is_resumed()`, `ctx.resumed::<T>()`, ...).
///
/// ```
/// use genkit_core::{ToolContext, ToolResult, TypedToolContext};
///
/// #[derive(serde::Serialize)]
/// struct Approval {
///     amount: u64,
/// }
///
/// let ctx = TypedToolContext::<Approval>::new(ToolContext::new("transfer"));
/// assert!(!ctx.is_resumed());
/// let result: ToolResult<String> = ctx.interrupt(Approval { amount: 500 });
/// let error = result.unwrap_err();
/// assert_eq!(error.interrupt_payload(), Some(&serde_json::json!({"amount": 500})));
/// ```
pub struct TypedToolContext<P> {
    inner: ToolContext,
    encode: Encode<P>,
}

impl<P> TypedToolContext<P> {
    /// Wraps `ctx`.
    pub fn new(ctx: ToolContext) -> Self
    where
        P: Serialize,
    {
        Self::with_encoder(ctx, serde_json::to_value::<P>)
    }

    /// Wraps `ctx`, with an encoder checked elsewhere (`#[tool]` checks `P` once, on the
    /// user's span).
    pub(crate) fn with_encoder(ctx: ToolContext, encode: Encode<P>) -> Self {
        Self { inner: ctx, encode }
    }

    /// Pauses the generate loop with `payload`, like [`ToolContext::interrupt`] but typed.
    ///
    /// Always returns `Err`, so it can end a tool body: `return ctx.interrupt(..)`.
    pub fn interrupt<T>(&self, payload: P) -> ToolResult<T> {
        match (self.encode)(payload) {
            Ok(value) => self.inner.interrupt(value),
            Err(e) => Err(ToolError::msg(format!(
                "interrupt payload is not JSON: {e}"
            ))),
        }
    }

    /// The untyped context.
    pub fn into_inner(self) -> ToolContext {
        self.inner
    }
}

impl<P> Deref for TypedToolContext<P> {
    type Target = ToolContext;

    fn deref(&self) -> &ToolContext {
        &self.inner
    }
}

impl<P> Clone for TypedToolContext<P> {
    fn clone(&self) -> Self {
        Self::with_encoder(self.inner.clone(), self.encode)
    }
}

impl<P> std::fmt::Debug for TypedToolContext<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedToolContext")
            .field(&self.inner)
            .finish()
    }
}

impl<P> From<TypedToolContext<P>> for ToolContext {
    fn from(ctx: TypedToolContext<P>) -> Self {
        ctx.inner
    }
}
