//! [`GenerateResponse`]: what a generate call returns, with the full history to persist.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

use super::carry::Carried;

use crate::error::GenkitError;
use crate::output::OutputFormat;
use crate::tool::Interrupt;
use crate::wire::{
    FinishReason, GenerationUsage, Message, Messages, ModelRequest, ModelResponse, ToolRequest,
};

/// The result of a generate call.
///
/// [`messages`](Self::messages) is the whole conversation, ending in the response message: it is
/// all the state a paused generation needs. Persist it, and pass it back with answers to resume.
#[derive(Clone)]
pub struct GenerateResponse(Box<Parts>);

/// What a [`GenerateResponse`] holds, boxed: a response passes through several layers (the
/// engine, middleware, the builder's future) by value, and each move would otherwise copy
/// all of it.
#[derive(Debug, Clone)]
struct Parts {
    /// Full history; the last message is the response message when `has_message`.
    history: Messages,
    has_message: bool,
    /// The last model request, its messages moved into `history`.
    request: Option<ModelRequest>,
    /// The rest of the model's response (message and request live above).
    response: Meta,
    /// Built on first use: a paused generation held in memory pays for it only when read.
    interrupts: OnceLock<Vec<Interrupt>>,
    /// How `output()` parses the text: the requested format, JSON otherwise.
    format: Option<OutputFormat>,
    /// The final answer parsed (and validated) by the engine, kept so it is parsed once.
    // boxed: `None` in a paused generation, which is held by the thousands (the memory bench)
    output: Option<Box<Value>>,
    /// Usage summed over every model call of the generation (the tool loop's rounds).
    total_usage: Option<Box<GenerationUsage>>,
    /// How the call was made, for [`Genkit::resume`](crate::Genkit::resume); in memory only.
    carried: Option<Carried>,
}

impl GenerateResponse {
    /// Assembles a response from the last request (if the model was called), the history
    /// ending in the (revised) response message, and the model's response.
    pub(crate) fn assemble(
        request: Option<ModelRequest>,
        history: Messages,
        response: ModelResponse,
    ) -> Self {
        Self::build(request, history, true, response)
    }

    /// A response that ends the call without a new message (a middleware stopped the loop).
    pub(crate) fn without_message(
        request: Option<ModelRequest>,
        history: Messages,
        response: ModelResponse,
    ) -> Self {
        Self::build(request, history, false, response)
    }

    fn build(
        request: Option<ModelRequest>,
        history: Messages,
        has_message: bool,
        response: ModelResponse,
    ) -> Self {
        let response = Meta::from(response);
        // a request holding nothing but the history is the history alone (see `to_wire`)
        let request = request
            .map(|mut r| {
                r.messages = Messages::new();
                r
            })
            .filter(|r| *r != ModelRequest::default());
        Self(Box::new(Parts {
            history,
            has_message,
            request,
            response,
            interrupts: OnceLock::new(),
            format: None,
            output: None,
            total_usage: None,
            carried: None,
        }))
    }

    /// Reads a response in Genkit's wire shape (for example from a JS runtime's
    /// `/util/generate`). The history is the request's messages plus the message.
    pub fn from_wire(mut wire: ModelResponse) -> Self {
        let mut request = wire.request.take();
        let mut history = request
            .as_mut()
            .map(|r| std::mem::take(&mut r.messages))
            .unwrap_or_default();
        let has_message = match wire.message.take() {
            Some(m) => {
                history.push(m);
                true
            }
            None => false,
        };
        Self::build(request, history, has_message, wire)
    }

    /// The response in Genkit's wire shape (`GenerateResponse` in genkit-schema.json), with the
    /// request that produced it.
    pub fn to_wire(&self) -> ModelResponse {
        let mut wire = self.0.response.to_wire();
        wire.message = self.message().cloned();
        let n = self.0.history.len() - usize::from(self.0.has_message);
        // without a model call (a resume whose restart interrupted again) the request still
        // carries the history, so the response reads back whole
        wire.request = match (&self.0.request, n) {
            (Some(r), _) => Some(r.clone()),
            (None, 0) => None,
            (None, _) => Some(ModelRequest::default()),
        }
        .map(|mut r| {
            let mut history = self.0.history.clone();
            history.truncate(n);
            r.messages = history;
            r
        });
        if wire.usage.is_none() {
            wire.usage = Some(GenerationUsage::default());
        }
        if wire.custom.is_none() {
            wire.custom = Some(serde_json::Value::Object(Default::default()));
        }
        wire
    }

    /// The response message.
    pub fn message(&self) -> Option<&Message> {
        self.0.history.last().filter(|_| self.0.has_message)
    }

    /// The whole conversation, ending in the response message.
    pub fn messages(&self) -> &Messages {
        &self.0.history
    }

    /// The whole conversation, by value (shared with whoever else holds it: no copy).
    pub fn into_messages(self) -> Messages {
        self.0.history
    }

    /// The text of the response message.
    pub fn text(&self) -> String {
        self.message().map(Message::text).unwrap_or_default()
    }

    /// Why generation stopped; [`FinishReason::Interrupted`] when tools paused the loop.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.0.response.finish_reason.clone()
    }

    /// Detail on the finish reason.
    pub fn finish_message(&self) -> Option<&str> {
        self.0.response.finish_message.as_deref()
    }

    /// True when tools paused the loop: answer [`interrupts`](Self::interrupts) and resume.
    pub fn is_interrupted(&self) -> bool {
        self.0.response.finish_reason == Some(FinishReason::Interrupted)
    }

    /// The paused tool requests, in request order; empty unless interrupted.
    pub fn interrupts(&self) -> &[Interrupt] {
        self.0.interrupts.get_or_init(|| {
            let interrupted = self.0.response.finish_reason == Some(FinishReason::Interrupted);
            match self.message() {
                Some(m) if interrupted => Interrupt::all_in_message(m),
                _ => Vec::new(),
            }
        })
    }

    /// The tool requests of the response message.
    pub fn tool_requests(&self) -> Vec<&ToolRequest> {
        self.message()
            .map(|m| m.tool_requests().collect())
            .unwrap_or_default()
    }

    /// Token usage of the last model call.
    pub fn usage(&self) -> Option<&GenerationUsage> {
        self.0.response.usage.as_deref()
    }

    /// Token usage summed over every model call of this generation (each round of the tool
    /// loop); `None` when no call reported usage. [`usage`](Self::usage) is the last call's.
    ///
    /// ```
    /// # use genkit_core::{Genkit, GenerationUsage, Message, ModelResponse, FinishReason};
    /// # use genkit_core::testing::ProgrammableModel;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), genkit_core::GenkitError> {
    /// let model = ProgrammableModel::new("pm");
    /// let mut answer = ModelResponse::new(Message::model("hi"), FinishReason::Stop);
    /// answer.usage = Some(GenerationUsage { input_tokens: Some(3), ..Default::default() });
    /// model.push_response(answer);
    /// let ai = Genkit::builder().model(model).build()?;
    /// let r = ai.generate().model("pm").prompt("hello").await?;
    /// assert_eq!(r.total_usage().and_then(|u| u.input_tokens), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn total_usage(&self) -> Option<&GenerationUsage> {
        self.0.total_usage.as_deref()
    }

    pub(crate) fn with_total_usage(mut self, total: Option<GenerationUsage>) -> Self {
        self.0.total_usage = total.map(Box::new);
        self
    }

    /// Plugin-specific data of the last model call.
    pub fn custom(&self) -> Option<&serde_json::Value> {
        self.0.response.custom.as_deref()
    }

    /// The provider's raw response of the last model call.
    pub fn raw(&self) -> Option<&serde_json::Value> {
        self.0.response.raw.as_deref()
    }

    /// The last request sent to the model, if the model was called.
    pub fn request(&self) -> Option<ModelRequest> {
        self.0.request.as_ref()?;
        self.to_wire().request
    }

    pub(crate) fn carrying(mut self, carried: Carried) -> Self {
        self.0.carried = Some(carried);
        self
    }

    pub(super) fn carried(&self) -> Option<&Carried> {
        self.0.carried.as_ref()
    }

    pub(crate) fn with_format(mut self, format: Option<OutputFormat>) -> Self {
        self.0.format = format;
        self
    }

    pub(crate) fn with_output(mut self, output: Value) -> Self {
        self.0.output = Some(Box::new(output));
        self
    }

    /// The structured output as JSON, parsed from the text by the requested format (JSON when
    /// none was requested).
    pub fn output_value(&self) -> Result<Value, GenkitError> {
        if let Some(parsed) = &self.0.output {
            return Ok(Value::clone(parsed));
        }
        let text = self.text();
        self.0
            .format
            .unwrap_or(OutputFormat::Json)
            .parse_text(&text)
            .map_err(|reason| GenkitError::OutputInvalid {
                reason,
                violations: Vec::new(),
                response: Box::new(self.clone()),
            })
    }

    /// The structured output as `T` (see [`output`](crate::GenerateBuilder::output)). The error
    /// keeps the response, raw text included, when the answer does not conform.
    pub fn output<T: DeserializeOwned>(&self) -> Result<T, GenkitError> {
        let parsed;
        let value = match self.0.output.as_deref() {
            Some(kept) => kept,
            None => {
                parsed = self.output_value()?;
                &parsed
            }
        };
        T::deserialize(value).map_err(|e| GenkitError::OutputInvalid {
            reason: format!("the answer does not fit the Rust type: {e}"),
            violations: Vec::new(),
            response: Box::new(self.clone()),
        })
    }
}

/// A [`ModelResponse`] without its message and request, compact: a paused generation may be held
/// in memory for a long time, by the thousands.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    finish_reason: Option<FinishReason>,
    /// The engine's own finish messages are constants, kept without an allocation.
    finish_message: Option<Cow<'static, str>>,
    latency_ms: Option<f64>,
    usage: Option<Box<GenerationUsage>>,
    // boxed: rarely set, and a paused generation holds the rest (see the memory bench)
    custom: Option<Box<Value>>,
    raw: Option<Box<Value>>,
    operation: Option<Box<Value>>,
    // a pointer, not a vector's three words: almost always `None`, and held by the thousands
    #[allow(clippy::box_collection)]
    candidates: Option<Box<Vec<Value>>>,
}

/// A finish message as kept: the engine's constants borrowed, anything else owned.
fn finish_message(text: String) -> Cow<'static, str> {
    match super::engine::FINISH_MESSAGES
        .iter()
        .find(|m| **m == text.as_str())
    {
        Some(constant) => Cow::Borrowed(constant),
        None => Cow::Owned(text),
    }
}

impl From<ModelResponse> for Meta {
    fn from(r: ModelResponse) -> Self {
        Self {
            finish_reason: r.finish_reason,
            finish_message: r.finish_message.map(finish_message),
            latency_ms: r.latency_ms,
            usage: r.usage.map(Box::new),
            custom: r.custom.map(Box::new),
            raw: r.raw.map(Box::new),
            operation: r.operation.map(Box::new),
            candidates: r.candidates.map(Box::new),
        }
    }
}

impl Meta {
    fn to_wire(&self) -> ModelResponse {
        ModelResponse {
            message: None,
            finish_reason: self.finish_reason.clone(),
            finish_message: self.finish_message.as_deref().map(str::to_owned),
            latency_ms: self.latency_ms,
            usage: self.usage.as_deref().cloned(),
            custom: self.custom.as_deref().cloned(),
            raw: self.raw.as_deref().cloned(),
            request: None,
            operation: self.operation.as_deref().cloned(),
            candidates: self.candidates.as_deref().cloned(),
        }
    }
}

impl std::fmt::Debug for GenerateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.0;
        f.debug_struct("GenerateResponse")
            .field("history", &p.history)
            .field("has_message", &p.has_message)
            .field("request", &p.request)
            .field("response", &p.response)
            .field("format", &p.format)
            .field("output", &p.output)
            .field("total_usage", &p.total_usage)
            .finish_non_exhaustive()
    }
}

impl PartialEq for GenerateResponse {
    fn eq(&self, other: &Self) -> bool {
        // `interrupts` is derived from the rest
        self.0.history == other.0.history
            && self.0.has_message == other.0.has_message
            && self.0.request == other.0.request
            && self.0.response == other.0.response
            && self.0.format == other.0.format
    }
}

impl Serialize for GenerateResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for GenerateResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ModelResponse::deserialize(deserializer).map(Self::from_wire)
    }
}
