//! [`Message`] and [`Role`].

use serde::{Deserialize, Serialize};

use super::part::{JsonMap, Part, PartKind, ToolRequest, ToolResponse};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The application's user.
    User,
    /// The model.
    Model,
    /// Tool results sent back to the model.
    Tool,
}

impl Role {
    /// The wire name (`"model"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Model => "model",
            Role::Tool => "tool",
        }
    }
}

/// One turn of a conversation. A history of messages is all the state a paused generation needs.
///
/// ```
/// use genkit_core::{Message, Role};
/// let m = Message::user("Ask me a movie trivia question.");
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.text(), "Ask me a movie trivia question.");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The author.
    pub role: Role,
    /// The parts, in order.
    pub content: Vec<Part>,
    /// Free-form metadata (for example `resumed` on a tool message built by a resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl Message {
    /// A message with the given role and parts.
    pub fn new(role: Role, content: Vec<Part>) -> Self {
        Self {
            role,
            content,
            metadata: None,
        }
    }

    /// A user message with one text part.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, vec![Part::text(text)])
    }

    /// A system message with one text part.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, vec![Part::text(text)])
    }

    /// A model message with one text part.
    pub fn model(text: impl Into<String>) -> Self {
        Self::new(Role::Model, vec![Part::text(text)])
    }

    /// The concatenated text of all text parts.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.content {
            if let PartKind::Text(t) = &p.kind {
                out.push_str(t);
            }
        }
        out
    }

    /// The tool requests, in order.
    pub fn tool_requests(&self) -> impl Iterator<Item = &ToolRequest> {
        self.content.iter().filter_map(Part::as_tool_request)
    }

    /// The tool responses, in order.
    pub fn tool_responses(&self) -> impl Iterator<Item = &ToolResponse> {
        self.content.iter().filter_map(Part::as_tool_response)
    }

    /// True when any part is a tool request.
    pub fn has_tool_requests(&self) -> bool {
        self.content.iter().any(|p| p.as_tool_request().is_some())
    }
}
