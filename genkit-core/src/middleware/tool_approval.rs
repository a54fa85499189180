//! [`ToolApproval`]: a tool outside the allow list interrupts until restarted with approval.

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Hooks, Middleware, ToolCall, ToolNext};
use crate::error::GenkitError;
use crate::tool::{tool_restart, Interrupt, ToolOutcome};
use crate::wire::Part;

/// The tools [`ToolApproval`] lets run without asking. `approved` as Genkit JS writes it;
/// Go's `allowedTools` and Python's `allowed_tools` are accepted too.
///
/// ```
/// use genkit_core::middleware::ToolApprovalConfig;
/// let c: ToolApprovalConfig = serde_json::from_value(serde_json::json!({"allowedTools": ["search"]}))?;
/// assert_eq!(c.approved, ["search"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ToolApprovalConfig {
    /// Tool names that run without approval; every other tool interrupts.
    #[serde(default, alias = "allowedTools", alias = "allowed_tools")]
    pub approved: Vec<String>,
}

impl ToolApprovalConfig {
    /// Lets `tools` run without approval.
    pub fn new<S: Into<String>>(tools: impl IntoIterator<Item = S>) -> Self {
        Self {
            approved: tools.into_iter().map(Into::into).collect(),
        }
    }
}

/// The `resumed` value of a restart that approves a held tool: `{"toolApproved": true}`, as
/// every Genkit SDK writes it.
///
/// ```
/// use genkit_core::middleware::ToolApproved;
/// assert_eq!(serde_json::to_value(ToolApproved::granted())?, serde_json::json!({"toolApproved": true}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolApproved {
    /// True: the tool may run.
    #[serde(rename = "toolApproved", alias = "tool_approved", default)]
    pub tool_approved: bool,
}

impl ToolApproved {
    /// An approval.
    pub fn granted() -> Self {
        Self {
            tool_approved: true,
        }
    }
}

/// Holds every tool outside the allow list for approval (Genkit's `toolApproval`): the tool
/// interrupts with `{"message": "Tool not in approved list: <name>"}` until the application
/// restarts it with [`ToolApproved`] as the `resumed` value ([`ToolApproval::approve`]).
///
/// - An approval covers the input that was held: a restart that replaces the input
///   interrupts again, so nobody approves one call and runs another.
/// - A bare restart (`resumed: true`, or any other value) is not an approval.
/// - With a [`HistorySeal`](crate::HistorySeal) or a server-held agent session, the held
///   request itself cannot be forged: an approval only ever runs what the model asked.
///
/// ```
/// use genkit_core::middleware::{ToolApproval, ToolApprovalConfig};
/// let approval = ToolApproval::new(ToolApprovalConfig::new(["search"]));
/// # let _ = approval;
/// ```
#[derive(Debug, Clone)]
pub struct ToolApproval {
    approved: Vec<String>,
}

impl ToolApproval {
    /// Holds every tool not in `config.approved`.
    pub fn new(config: ToolApprovalConfig) -> Self {
        Self {
            approved: config.approved,
        }
    }

    /// The restart part that approves `interrupt` (pass it to
    /// [`tool_restarts`](crate::GenerateBuilder::tool_restarts)).
    pub fn approve(interrupt: &Interrupt) -> Result<Part, GenkitError> {
        tool_restart(interrupt, ToolApproved::granted(), None)
    }

    fn is_approval(resumed: Option<&Value>) -> bool {
        resumed
            .cloned()
            .and_then(|v| serde_json::from_value::<ToolApproved>(v).ok())
            .is_some_and(|a| a.tool_approved)
    }
}

impl Middleware for ToolApproval {
    fn name(&self) -> &str {
        "toolApproval"
    }

    fn hooks(&self) -> Hooks {
        Hooks::TOOL
    }

    fn tool<'a>(&'a self, call: ToolCall<'a>, next: ToolNext<'a>) -> BoxFuture<'a, ToolOutcome> {
        let name = call.tool().name();
        let approved = self.approved.iter().any(|a| a == name)
            || (Self::is_approval(call.ctx.resumed_value()) && call.ctx.original_input.is_none());
        if approved {
            return next.run(call);
        }
        let payload = json!({ "message": format!("Tool not in approved list: {name}") });
        Box::pin(async move { ToolOutcome::Interrupted(payload) })
    }
}
