//! [`Restart`]: a restart of an interrupted tool, spelled out by name.

use std::marker::PhantomData;

use serde::Serialize;
use serde_json::Value;

use super::action::ToolAction;
use super::interrupt::{tool_restart, Interrupt};
use super::typed::check_owner;
use crate::error::GenkitError;
use crate::wire::Part;

/// A restart being built: the tool runs again on resume, seeing it was resumed. Made by
/// [`TypedTool::approve`](crate::TypedTool::approve); finish with
/// [`into_part`](Self::into_part).
///
/// ```
/// # use genkit_core::prelude::*;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, schemars::JsonSchema)] struct Payment { amount: u64 }
/// # #[derive(Serialize)] struct Approval { by: String }
/// # fn demo(send: &Tool<Payment, String>, interrupt: &Interrupt) -> Result<(), GenkitError> {
/// // run it again, as asked: `ctx.is_resumed()` is true, `ctx.resumed::<bool>()` is `true`
/// let yes = send.approve(interrupt).into_part()?;
/// // with metadata the tool reads back with `ctx.resumed::<Approval>()`
/// let yes = send.approve(interrupt).resumed(Approval { by: "ana".into() }).into_part()?;
/// // approved, but with another input (the model's stays on record as `replacedInput`)
/// let less = send.approve(interrupt).with_input(Payment { amount: 25 }).into_part()?;
/// # let _ = (yes, less); Ok(()) }
/// ```
#[must_use = "a restart does nothing until its part is given to the resume"]
pub struct Restart<'a, I> {
    tool: &'a ToolAction,
    interrupt: &'a Interrupt,
    resumed: Result<Value, GenkitError>,
    input: Option<Result<Value, GenkitError>>,
    _input: PhantomData<fn(I)>,
}

impl<I> std::fmt::Debug for Restart<'_, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restart")
            .field("tool", &self.tool.name())
            .field("interrupt", &self.interrupt.ref_())
            .finish_non_exhaustive()
    }
}

impl<'a, I> Restart<'a, I> {
    pub(crate) fn new(tool: &'a ToolAction, interrupt: &'a Interrupt) -> Self {
        Self {
            tool,
            interrupt,
            resumed: Ok(Value::Bool(true)),
            input: None,
            _input: PhantomData,
        }
    }

    /// The restart metadata the tool reads with `ctx.resumed::<T>()` (default `true`).
    pub fn resumed(mut self, metadata: impl Serialize) -> Self {
        self.resumed =
            serde_json::to_value(metadata).map_err(|e| GenkitError::json("restart metadata", e));
        self
    }

    /// Runs the tool with `input` instead of the model's (which the tool reads with
    /// `ctx.original_input()`, and the history keeps as `replacedInput`).
    pub fn with_input(mut self, input: I) -> Self
    where
        I: Serialize,
    {
        self.input =
            Some(serde_json::to_value(input).map_err(|e| GenkitError::json("restart input", e)));
        self
    }

    /// The restart part, for [`answers`](crate::GenerateBuilder::answers) or
    /// [`tool_restarts`](crate::GenerateBuilder::tool_restarts). Fails when the interrupt is
    /// another tool's, or a value does not serialize.
    pub fn into_part(self) -> Result<Part, GenkitError> {
        check_owner(self.tool, self.interrupt)?;
        let input = self.input.transpose()?;
        tool_restart(self.interrupt, self.resumed?, input)
    }
}
