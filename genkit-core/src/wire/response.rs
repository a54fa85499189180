//! What a model answers: [`ModelResponse`], [`FinishReason`], [`GenerationUsage`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::message::Message;
use super::nullable::present;
use super::request::ModelRequest;

/// Why a model (or the generate loop) stopped.
///
/// A value this version does not know (a newer Genkit's) is kept as
/// [`Unrecognized`](FinishReason::Unrecognized) and written back unchanged.
///
/// ```
/// use genkit_core::FinishReason;
/// let r: FinishReason = serde_json::from_str(r#""paused_for_review""#)?;
/// assert_eq!(r, FinishReason::Unrecognized("paused_for_review".into()));
/// assert_eq!(serde_json::to_string(&r)?, r#""paused_for_review""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// Natural end of the answer.
    Stop,
    /// Hit the output token limit.
    Length,
    /// Stopped by a safety filter.
    Blocked,
    /// Cancelled.
    Aborted,
    /// A tool interrupted the loop; resume it with answers.
    Interrupted,
    /// Another reason.
    Other,
    /// The reason is not known.
    Unknown,
    /// A value this version does not know, as it was on the wire.
    Unrecognized(String),
}

impl FinishReason {
    /// The wire name (`"interrupted"`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Blocked => "blocked",
            FinishReason::Aborted => "aborted",
            FinishReason::Interrupted => "interrupted",
            FinishReason::Other => "other",
            FinishReason::Unknown => "unknown",
            FinishReason::Unrecognized(s) => s,
        }
    }

    /// The finish reason a wire name stands for; unknown names are kept.
    pub fn from_wire(name: &str) -> Self {
        match name {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "blocked" => FinishReason::Blocked,
            "aborted" => FinishReason::Aborted,
            "interrupted" => FinishReason::Interrupted,
            "other" => FinishReason::Other,
            "unknown" => FinishReason::Unknown,
            other => FinishReason::Unrecognized(other.to_owned()),
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(FinishReason::from_wire(&name))
    }
}

/// Token and media counts of a model call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the field names say it all
pub struct GenerationUsage {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub input_tokens: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub output_tokens: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub total_tokens: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub input_characters: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub output_characters: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub input_images: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub output_images: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub input_videos: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub output_videos: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub input_audio_files: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub output_audio_files: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub thoughts_tokens: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "count"
    )]
    pub cached_content_tokens: Option<u64>,
    /// Provider-specific counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Map<String, Value>>,
}

impl GenerationUsage {
    /// Adds `other`'s counts to these (a count either side has is kept; provider counters
    /// that are numbers on both sides are summed, others take `other`'s value): the usage of
    /// several model calls as one.
    ///
    /// ```
    /// use genkit_core::GenerationUsage;
    /// let mut total = GenerationUsage { input_tokens: Some(3), ..Default::default() };
    /// total.add(&GenerationUsage { input_tokens: Some(4), output_tokens: Some(1), ..Default::default() });
    /// assert_eq!((total.input_tokens, total.output_tokens), (Some(7), Some(1)));
    /// ```
    pub fn add(&mut self, other: &GenerationUsage) {
        fn sum(a: &mut Option<u64>, b: Option<u64>) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0).saturating_add(b));
            }
        }
        sum(&mut self.input_tokens, other.input_tokens);
        sum(&mut self.output_tokens, other.output_tokens);
        sum(&mut self.total_tokens, other.total_tokens);
        sum(&mut self.input_characters, other.input_characters);
        sum(&mut self.output_characters, other.output_characters);
        sum(&mut self.input_images, other.input_images);
        sum(&mut self.output_images, other.output_images);
        sum(&mut self.input_videos, other.input_videos);
        sum(&mut self.output_videos, other.output_videos);
        sum(&mut self.input_audio_files, other.input_audio_files);
        sum(&mut self.output_audio_files, other.output_audio_files);
        sum(&mut self.thoughts_tokens, other.thoughts_tokens);
        sum(&mut self.cached_content_tokens, other.cached_content_tokens);
        if let Some(theirs) = &other.custom {
            let mine = self.custom.get_or_insert_with(Default::default);
            for (k, v) in theirs {
                let summed = match (mine.get(k).and_then(Value::as_u64), v.as_u64()) {
                    (Some(a), Some(b)) => Value::from(a.saturating_add(b)),
                    _ => match (mine.get(k).and_then(Value::as_f64), v.as_f64()) {
                        (Some(a), Some(b)) if mine.contains_key(k) => {
                            serde_json::Number::from_f64(a + b).map_or(v.clone(), Value::Number)
                        }
                        _ => v.clone(),
                    },
                };
                mine.insert(k.clone(), summed);
            }
        }
    }
}

/// Counts are numbers on the wire; accept an integral float (`12.0`) as well as `12`.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = Option::<serde_json::Number>::deserialize(d)?;
    let Some(n) = n else { return Ok(None) };
    if let Some(u) = n.as_u64() {
        return Ok(Some(u));
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(format!(
            "a usage count must be a non-negative whole number, got {n}"
        ))),
    }
}

/// A model's answer to one [`ModelRequest`]; `GenerateResponse` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelResponse {
    /// The generated message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Human-readable detail on the finish reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
    /// Time the model took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<GenerationUsage>,
    /// Plugin-specific data.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub custom: Option<Value>,
    /// The provider's raw response.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub raw: Option<Value>,
    /// The request that produced this response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ModelRequest>,
    /// A long-running operation, for models that work in the background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Value>,
    /// Legacy multi-candidate responses, kept for round trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<Value>>,
}

impl ModelResponse {
    /// A response holding `message`, finished with `reason`.
    pub fn new(message: Message, reason: FinishReason) -> Self {
        Self {
            message: Some(message),
            finish_reason: Some(reason),
            ..Self::default()
        }
    }
}
