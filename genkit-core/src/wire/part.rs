//! [`Part`]: one piece of a message's content, in Genkit's wire shape.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nullable::present;

/// JSON object used for `metadata` and `custom` fields.
pub type JsonMap = Map<String, Value>;

/// A media reference (image, audio, video, document) by URL or `data:` URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// MIME type of the media, when known (`image/png`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Where the media lives: `https://...` or a `data:` URL.
    pub url: String,
}

/// A reference to a resource by URI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's URI.
    pub uri: String,
}

/// A model's request to call a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRequest {
    /// Identifies this request among the parallel requests of one message;
    /// the matching [`ToolResponse`] carries the same value.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Name of the tool to call.
    pub name: String,
    /// Arguments for the tool, as JSON.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub input: Option<Value>,
    /// Set on streamed chunks while the request is still incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
}

impl ToolRequest {
    /// A request for tool `name` with JSON `input` and an optional `ref`.
    pub fn new(name: impl Into<String>, ref_: Option<String>, input: Value) -> Self {
        Self {
            ref_,
            name: name.into(),
            input: Some(input),
            partial: None,
        }
    }
}

/// The result of a tool call, answering the [`ToolRequest`] with the same name and `ref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResponse {
    /// The `ref` of the request this answers.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Name of the tool that answered.
    pub name: String,
    /// The tool's output, as JSON.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub output: Option<Value>,
    /// Multipart output (text, media, ...) of tools that return content besides `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<Part>>,
}

impl ToolResponse {
    /// A response of tool `name` to request `ref_` with JSON `output`.
    pub fn new(name: impl Into<String>, ref_: Option<String>, output: Value) -> Self {
        Self {
            ref_,
            name: name.into(),
            output: Some(output),
            content: None,
        }
    }
}

/// What a [`Part`] holds. Exactly one of Genkit's part kinds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PartKind {
    /// Plain text.
    Text(String),
    /// A media reference.
    Media(Media),
    /// A tool call requested by the model.
    ToolRequest(ToolRequest),
    /// A tool's answer.
    ToolResponse(ToolResponse),
    /// Arbitrary structured data.
    Data(Value),
    /// Model reasoning ("thinking") text.
    Reasoning(String),
    /// A resource reference.
    Resource(Resource),
    /// A plugin-specific part: its payload lives in [`Part::custom`].
    Custom,
}

/// One piece of a [`Message`](crate::Message)'s content.
///
/// On the wire a part is an object with exactly one of `text`, `media`, `toolRequest`,
/// `toolResponse`, `data`, `reasoning`, `resource` (or only `custom`), plus optional
/// `metadata` and `custom`. Interrupt state lives in `metadata` (see
/// [`protocol`](crate::protocol)).
///
/// ```
/// use genkit_core::Part;
/// let part: Part = serde_json::from_str(r#"{"text":"hi","metadata":{"k":1}}"#).unwrap();
/// assert_eq!(part.as_text(), Some("hi"));
/// assert_eq!(serde_json::to_string(&part).unwrap(), r#"{"text":"hi","metadata":{"k":1}}"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The part's content.
    pub kind: PartKind,
    /// Free-form metadata; Genkit keeps the interrupt protocol here.
    pub metadata: Option<JsonMap>,
    /// Plugin-specific data.
    pub custom: Option<JsonMap>,
}

impl Part {
    fn of(kind: PartKind) -> Self {
        Self {
            kind,
            metadata: None,
            custom: None,
        }
    }

    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::of(PartKind::Text(text.into()))
    }

    /// A media part.
    pub fn media(url: impl Into<String>, content_type: Option<String>) -> Self {
        Self::of(PartKind::Media(Media {
            content_type,
            url: url.into(),
        }))
    }

    /// A data part.
    pub fn data(data: Value) -> Self {
        Self::of(PartKind::Data(data))
    }

    /// A reasoning part.
    pub fn reasoning(text: impl Into<String>) -> Self {
        Self::of(PartKind::Reasoning(text.into()))
    }

    /// A tool-request part.
    pub fn tool_request(request: ToolRequest) -> Self {
        Self::of(PartKind::ToolRequest(request))
    }

    /// A tool-response part.
    pub fn tool_response(response: ToolResponse) -> Self {
        Self::of(PartKind::ToolResponse(response))
    }

    /// Returns this part with `metadata` set.
    #[must_use]
    pub fn with_metadata(mut self, metadata: JsonMap) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The text, if this is a text part.
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            PartKind::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The tool request, if this is a tool-request part.
    pub fn as_tool_request(&self) -> Option<&ToolRequest> {
        match &self.kind {
            PartKind::ToolRequest(r) => Some(r),
            _ => None,
        }
    }

    /// The tool request, mutably, if this is a tool-request part.
    pub fn as_tool_request_mut(&mut self) -> Option<&mut ToolRequest> {
        match &mut self.kind {
            PartKind::ToolRequest(r) => Some(r),
            _ => None,
        }
    }

    /// The tool response, if this is a tool-response part.
    pub fn as_tool_response(&self) -> Option<&ToolResponse> {
        match &self.kind {
            PartKind::ToolResponse(r) => Some(r),
            _ => None,
        }
    }

    /// The value of metadata key `key`, if present.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata.as_ref().and_then(|m| m.get(key))
    }

    /// Sets metadata key `key`, creating the metadata object if needed.
    pub fn set_metadata(&mut self, key: &str, value: Value) {
        self.metadata
            .get_or_insert_with(JsonMap::new)
            .insert(key.to_owned(), value);
    }

    /// Removes metadata key `key` and returns its value. Drops an emptied metadata object.
    pub fn take_metadata(&mut self, key: &str) -> Option<Value> {
        let map = self.metadata.as_mut()?;
        let value = map.remove(key);
        if map.is_empty() {
            self.metadata = None;
        }
        value
    }
}

impl From<&str> for Part {
    fn from(text: &str) -> Self {
        Part::text(text)
    }
}

impl From<String> for Part {
    fn from(text: String) -> Self {
        Part::text(text)
    }
}

impl Serialize for Part {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = usize::from(!matches!(self.kind, PartKind::Custom))
            + usize::from(self.metadata.is_some())
            + usize::from(self.custom.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        match &self.kind {
            PartKind::Text(t) => map.serialize_entry("text", t)?,
            PartKind::Media(m) => map.serialize_entry("media", m)?,
            PartKind::ToolRequest(r) => map.serialize_entry("toolRequest", r)?,
            PartKind::ToolResponse(r) => map.serialize_entry("toolResponse", r)?,
            PartKind::Data(d) => map.serialize_entry("data", d)?,
            PartKind::Reasoning(r) => map.serialize_entry("reasoning", r)?,
            PartKind::Resource(r) => map.serialize_entry("resource", r)?,
            PartKind::Custom => {}
        }
        if let Some(m) = &self.metadata {
            map.serialize_entry("metadata", m)?;
        }
        if let Some(c) = &self.custom {
            map.serialize_entry("custom", c)?;
        }
        map.end()
    }
}

/// Every key a part may have; `data` keeps an explicit `null` apart from absence.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartRepr {
    text: Option<String>,
    media: Option<Media>,
    tool_request: Option<ToolRequest>,
    tool_response: Option<ToolResponse>,
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
    reasoning: Option<String>,
    resource: Option<Resource>,
    metadata: Option<JsonMap>,
    custom: Option<JsonMap>,
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = PartRepr::deserialize(deserializer)?;
        let mut kinds = Vec::with_capacity(1);
        if let Some(t) = r.text {
            kinds.push(("text", PartKind::Text(t)));
        }
        if let Some(m) = r.media {
            kinds.push(("media", PartKind::Media(m)));
        }
        if let Some(t) = r.tool_request {
            kinds.push(("toolRequest", PartKind::ToolRequest(t)));
        }
        if let Some(t) = r.tool_response {
            kinds.push(("toolResponse", PartKind::ToolResponse(t)));
        }
        if let Some(d) = r.data {
            kinds.push(("data", PartKind::Data(d)));
        }
        if let Some(t) = r.reasoning {
            kinds.push(("reasoning", PartKind::Reasoning(t)));
        }
        if let Some(t) = r.resource {
            kinds.push(("resource", PartKind::Resource(t)));
        }
        if kinds.len() > 1 {
            let names: Vec<&str> = kinds.iter().map(|(n, _)| *n).collect();
            return Err(de::Error::custom(format!(
                "a part holds exactly one kind of content, found {}",
                names.join(" and ")
            )));
        }
        let kind = kinds.pop().map_or(PartKind::Custom, |(_, k)| k);
        Ok(Part {
            kind,
            metadata: r.metadata,
            custom: r.custom,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) {
        let part: Part = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&part).unwrap(), v);
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(json!({"text": "hi"}));
        round_trip(json!({"media": {"url": "data:x", "contentType": "image/png"}}));
        round_trip(json!({"toolRequest": {"name": "t", "ref": "1", "input": {"a": 1}}}));
        round_trip(json!({"toolResponse": {"name": "t", "ref": "1", "output": [1]}}));
        round_trip(json!({"data": null}));
        round_trip(json!({"data": {"x": 1}, "custom": {"y": 2}}));
        round_trip(json!({"reasoning": "hmm"}));
        round_trip(json!({"resource": {"uri": "file:///a"}}));
        round_trip(json!({"custom": {"k": "v"}, "metadata": {"m": true}}));
        round_trip(json!({}));
    }

    #[test]
    fn two_kinds_in_one_part_are_rejected() {
        let err = serde_json::from_value::<Part>(json!({"text": "a", "reasoning": "b"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("text and reasoning"), "{err}");
    }

    #[test]
    fn unknown_keys_are_dropped_as_genkit_js_does() {
        let p: Part = serde_json::from_value(json!({"text": "a", "bogus": 1})).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"text": "a"}));
    }

    #[test]
    fn null_input_and_output_survive() {
        round_trip(json!({"toolRequest": {"name": "t", "input": null}}));
        round_trip(json!({"toolResponse": {"name": "t", "ref": "1", "output": null}}));
    }

    #[test]
    fn metadata_helpers_drop_empty_maps() {
        let mut p = Part::text("x");
        p.set_metadata("interrupt", json!(true));
        assert_eq!(p.take_metadata("interrupt"), Some(json!(true)));
        assert!(p.metadata.is_none());
    }
}
