//! [`Interrupt`]: a paused tool request, and the helpers that answer it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{GenkitError, RequestId};
use crate::protocol;
use crate::wire::{Message, Part, PartKind, Role, ToolRequest, ToolResponse};

/// A tool request that paused the generate loop, as found on an interrupted response.
///
/// Read what the model asked with [`input`](Interrupt::input), what the tool said with
/// [`payload`](Interrupt::payload), then answer it with [`tool_response`] or [`tool_restart`]
/// (or the typed `respond`/`restart` of the tool itself).
///
/// Read from a sealed message (see [`HistorySeal`](crate::HistorySeal)), it remembers the seal,
/// and the answers built from it are bound to it: a sealed instance rejects them anywhere else.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupt {
    request: ToolRequest,
    metadata: Map<String, Value>,
    /// The binding answers carry, when read from a sealed message.
    binding: Option<String>,
}

impl Interrupt {
    /// Views `part` as an interrupt: it must be a tool request carrying `interrupt` metadata.
    pub fn from_part(part: Part) -> Option<Self> {
        let metadata = part.metadata?;
        if !metadata.contains_key(protocol::INTERRUPT) {
            return None;
        }
        match part.kind {
            PartKind::ToolRequest(request) => Some(Interrupt {
                request,
                metadata,
                binding: None,
            }),
            _ => None,
        }
    }

    fn request(&self) -> &ToolRequest {
        &self.request
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.request().name
    }

    /// The request's `ref`.
    pub fn ref_(&self) -> Option<&str> {
        self.request().ref_.as_deref()
    }

    /// The tool request.
    pub fn tool_request(&self) -> &ToolRequest {
        self.request()
    }

    /// The part's metadata (holds `interrupt`).
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// The whole part, metadata included, as it stands in the history.
    pub fn to_part(&self) -> Part {
        Part::tool_request(self.request.clone()).with_metadata(self.metadata.clone())
    }

    /// The input the model sent, deserialized.
    pub fn input<I: DeserializeOwned>(&self) -> Result<I, GenkitError> {
        let input = self.request().input.as_ref().unwrap_or(&Value::Null);
        I::deserialize(input)
            .map_err(|e| GenkitError::json(format!("input of interrupt {}", self.id()), e))
    }

    /// The interrupt's payload, deserialized. A bare `true` payload deserializes as `null`
    /// (so `()` and `Option<T>` read it).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, GenkitError> {
        let value = match self.payload_value() {
            Value::Bool(true) => &Value::Null,
            v => v,
        };
        T::deserialize(value)
            .map_err(|e| GenkitError::json(format!("payload of interrupt {}", self.id()), e))
    }

    /// The raw payload: an object, or `true`.
    pub fn payload_value(&self) -> &Value {
        self.metadata
            .get(protocol::INTERRUPT)
            .unwrap_or(&Value::Bool(true))
    }

    /// The pending interrupts of a stored history: the interrupted requests of its last
    /// message, in request order. What a process that resumes a saved conversation needs.
    ///
    /// ```
    /// # use genkit_core::{Interrupt, Message, Part, Role, ToolRequest};
    /// let mut asked = Part::tool_request(ToolRequest::new("ask", Some("r1".into()), serde_json::json!({})));
    /// asked.set_metadata("interrupt", true.into());
    /// let history = vec![Message::user("hi"), Message::new(Role::Model, vec![asked])];
    /// let pending = Interrupt::pending_in(&history);
    /// assert_eq!(pending[0].ref_(), Some("r1"));
    /// ```
    pub fn pending_in<M: std::borrow::Borrow<Message>>(messages: &[M]) -> Vec<Interrupt> {
        match messages.last().map(|m| m.borrow()) {
            Some(m) if m.role == Role::Model => Self::all_in_message(m),
            _ => Vec::new(),
        }
    }

    /// The interrupted tool requests of `message`, in order, bound to its seal if it has one.
    pub(crate) fn all_in_message(message: &Message) -> Vec<Interrupt> {
        let mac = crate::seal::seal_mac(message);
        message
            .content
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                let mut interrupt = Self::from_part(p.clone())?;
                interrupt.binding =
                    mac.map(|mac| crate::seal::binding(mac, index, &interrupt.request));
                Some(interrupt)
            })
            .collect()
    }

    /// Marks an answer part as built for this interrupt.
    fn bind(&self, part: &mut Part) {
        if let Some(b) = &self.binding {
            part.set_metadata(protocol::BOUND_TO, Value::String(b.clone()));
        }
    }

    /// The interrupted tool requests among `parts`, in order.
    pub(crate) fn all_in(parts: &[Part]) -> Vec<Interrupt> {
        parts
            .iter()
            .filter_map(|p| Self::from_part(p.clone()))
            .collect()
    }

    pub(crate) fn id(&self) -> RequestId {
        RequestId::new(self.name(), self.ref_().map(str::to_owned))
    }
}

fn to_json(what: &str, value: impl Serialize) -> Result<Value, GenkitError> {
    serde_json::to_value(value).map_err(|e| GenkitError::json(what, e))
}

/// `null` (from `()`) becomes `true`, as Genkit writes a flag without data.
fn flag_or(value: Value) -> Value {
    if value.is_null() {
        Value::Bool(true)
    } else {
        value
    }
}

/// Answers `interrupt` with `output`: the part to pass as a tool response on resume.
///
/// ```
/// # use genkit_core::{tool_response, Interrupt, Part, ToolRequest};
/// # let mut p = Part::tool_request(ToolRequest::new("ask_question", Some("r1".into()), serde_json::json!({})));
/// # p.set_metadata("interrupt", true.into());
/// # let interrupt = Interrupt::from_part(p).unwrap();
/// let answer = tool_response(&interrupt, "b")?;
/// assert_eq!(answer.as_tool_response().unwrap().output, Some("b".into()));
/// # Ok::<(), genkit_core::GenkitError>(())
/// ```
pub fn tool_response(interrupt: &Interrupt, output: impl Serialize) -> Result<Part, GenkitError> {
    tool_response_with_metadata(interrupt, output, ())
}

/// Like [`tool_response`], recording `metadata` as the part's `interruptResponse`.
pub fn tool_response_with_metadata(
    interrupt: &Interrupt,
    output: impl Serialize,
    metadata: impl Serialize,
) -> Result<Part, GenkitError> {
    let output = to_json("tool response output", output)?;
    let metadata = flag_or(to_json("tool response metadata", metadata)?);
    let mut part = Part::tool_response(ToolResponse::new(
        interrupt.name(),
        interrupt.ref_().map(str::to_owned),
        output,
    ));
    part.set_metadata(protocol::INTERRUPT_RESPONSE, metadata);
    interrupt.bind(&mut part);
    Ok(part)
}

/// Re-runs `interrupt`'s tool on resume, with `resumed` as its restart metadata (the tool sees
/// it through [`ToolContext::resumed`](crate::ToolContext::resumed); `()` gives `true`) and,
/// optionally, a replaced input. The original input is kept as `replacedInput`.
pub fn tool_restart(
    interrupt: &Interrupt,
    resumed: impl Serialize,
    new_input: Option<Value>,
) -> Result<Part, GenkitError> {
    let resumed = flag_or(to_json("restart metadata", resumed)?);
    let mut request = interrupt.tool_request().clone();
    let mut metadata = interrupt.metadata().clone();
    if let Some(input) = new_input {
        let original = request.input.replace(input).unwrap_or(Value::Null);
        metadata.insert(protocol::REPLACED_INPUT.to_owned(), original);
    }
    metadata.insert(protocol::RESUMED.to_owned(), resumed);
    let mut part = Part::tool_request(request).with_metadata(metadata);
    interrupt.bind(&mut part);
    Ok(part)
}
