//! [`GenerateResponseChunk`]: a streamed piece of a response.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::Role;
use super::nullable::present;
use super::part::Part;

/// A piece of a streamed response.
///
/// `index` is the index of the message (within this generate call) the chunk belongs to: the
/// model's chunks of one turn share an index, the tool message after it takes the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerateResponseChunk {
    /// Author of the message this chunk belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Index of the message within this generate call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// New content.
    pub content: Vec<Part>,
    /// Plugin-specific data.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub custom: Option<Value>,
    /// True when `content` repeats everything so far rather than adding to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated: Option<bool>,
}

impl GenerateResponseChunk {
    /// A chunk with the given content and nothing else.
    pub fn new(content: Vec<Part>) -> Self {
        Self {
            content,
            ..Self::default()
        }
    }

    /// The interrupted tool requests this chunk announces (on the aggregated chunk a streaming
    /// generate call sends when a turn pauses); empty otherwise.
    pub fn interrupts(&self) -> Vec<crate::Interrupt> {
        crate::Interrupt::all_in(&self.content)
    }

    /// The concatenated text of the chunk's text parts.
    pub fn text(&self) -> String {
        self.content.iter().filter_map(Part::as_text).collect()
    }
}
