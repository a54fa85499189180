//! A chat completion → Genkit's [`ModelResponse`].
//!
//! The types here read OpenAI's shape and the compatible servers' deviations (llama.cpp's
//! `content: ""` beside tool calls, missing `logprobs`/`refusal`, numeric error codes,
//! `reasoning_content`). A streamed response is assembled into the same [`ChatCompletion`]
//! and converted by the same function, so both paths give the same [`ModelResponse`].

use genkit_core::{FinishReason, GenerationUsage, Message, ModelResponse, Part, Role, ToolRequest};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::OpenAIError;

/// A chat completion, non-streamed or assembled from a stream.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChatCompletion {
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// One choice; only the first is used (Genkit has one message per response).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub index: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: AssistantMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// What the model wrote.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AssistantMessage {
    /// A string, `null`, or (some servers) an array of text parts.
    #[serde(default)]
    pub content: Option<Value>,
    /// DeepSeek, vLLM and llama.cpp put reasoning here.
    #[serde(default)]
    pub reasoning_content: Option<String>,
    /// OpenRouter and others use this name.
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCall>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ToolCall {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub function: FunctionCall,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FunctionCall {
    #[serde(default)]
    pub name: Option<String>,
    /// A JSON string per the API; an object from a few servers.
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// Token counts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct Usage {
    #[serde(default, deserialize_with = "count")]
    pub prompt_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub total_tokens: Option<u64>,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct PromptDetails {
    #[serde(default, deserialize_with = "count")]
    pub cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct CompletionDetails {
    #[serde(default, deserialize_with = "count")]
    pub reasoning_tokens: Option<u64>,
}

/// `null` reads as the default, as servers send `null` where OpenAI omits a key.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A token count; a float (`12.0`) or a negative number from an odd server is tolerated.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = Option::<serde_json::Number>::deserialize(d)?;
    Ok(n.and_then(|n| {
        n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
    }))
}

impl Usage {
    pub(crate) fn to_genkit(&self) -> GenerationUsage {
        GenerationUsage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            total_tokens: self.total_tokens,
            thoughts_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens),
            cached_content_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens),
            ..GenerationUsage::default()
        }
    }
}

/// Parses a non-streamed response body; anything else keeps the raw text in the error.
pub(crate) fn parse(body: &[u8]) -> Result<ChatCompletion, OpenAIError> {
    serde_json::from_slice(body).map_err(|e| {
        OpenAIError::invalid_response(
            format!("not a chat completion: {e}"),
            String::from_utf8_lossy(body),
        )
    })
}

/// Tool arguments as JSON. Empty means no arguments; text that is not JSON is kept as a
/// string, so the engine reports it as `ToolInputNotJson` naming the tool.
pub(crate) fn parse_arguments(arguments: Option<Value>) -> Value {
    match arguments {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(raw)) if raw.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(raw)) => serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
        Some(other) => other,
    }
}

fn content_text(content: Option<Value>) -> String {
    match content {
        Some(Value::String(s)) => s,
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn finish(reason: Option<&str>) -> (FinishReason, Option<String>) {
    match reason {
        Some("stop") | Some("tool_calls") | Some("function_call") => (FinishReason::Stop, None),
        Some("length") => (FinishReason::Length, None),
        Some("content_filter") => (
            FinishReason::Blocked,
            Some("stopped by the server's content filter".to_owned()),
        ),
        Some(other) => (
            FinishReason::Other,
            Some(format!("finish reason '{other}'")),
        ),
        None => (FinishReason::Unknown, None),
    }
}

/// The Genkit response for a chat completion: reasoning, then text, then tool requests.
/// Text with no letter or digit (`{`, `"}`, whitespace): beside tool calls it is what
/// llama.cpp's server leaves of a call the model wrapped in extra braces, not an answer. It
/// is dropped there, so the history does not teach the model to write JSON as text.
pub(crate) fn is_json_debris(text: &str) -> bool {
    !text.chars().any(char::is_alphanumeric)
}

pub(crate) fn to_model_response(completion: ChatCompletion) -> Result<ModelResponse, OpenAIError> {
    let usage = completion.usage.as_ref().map(Usage::to_genkit);
    let mut choices = completion.choices;
    let position = choices.iter().position(|c| c.index == 0).unwrap_or(0);
    if choices.is_empty() {
        return Err(OpenAIError::invalid_response(
            "the response has no choices",
            String::new(),
        ));
    }
    let choice = choices.swap_remove(position);
    let message = choice.message;

    let mut content = Vec::new();
    if let Some(reasoning) = message.reasoning_content.or(message.reasoning) {
        if !reasoning.is_empty() {
            content.push(Part::reasoning(reasoning));
        }
    }
    let text = content_text(message.content);
    let debris = !message.tool_calls.is_empty() && is_json_debris(&text);
    if !text.is_empty() && !debris {
        content.push(Part::text(text));
    }
    for call in message.tool_calls {
        let name = call.function.name.unwrap_or_default();
        if name.is_empty() {
            return Err(OpenAIError::invalid_response(
                "a tool call has no function name",
                String::new(),
            ));
        }
        content.push(Part::tool_request(ToolRequest {
            ref_: call.id.filter(|id| !id.is_empty()),
            name,
            input: Some(parse_arguments(call.function.arguments)),
            partial: None,
        }));
    }

    let (mut finish_reason, mut finish_message) = finish(choice.finish_reason.as_deref());
    if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
        finish_reason = FinishReason::Blocked;
        finish_message = Some(refusal);
    }
    Ok(ModelResponse {
        message: Some(Message::new(Role::Model, content)),
        finish_reason: Some(finish_reason),
        finish_message,
        usage,
        ..ModelResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(v: Value) -> ModelResponse {
        to_model_response(serde_json::from_value(v).unwrap()).unwrap()
    }

    #[test]
    fn text_and_usage() {
        let r = convert(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null},
                         "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
                      "prompt_tokens_details": {"cached_tokens": 1},
                      "completion_tokens_details": {"reasoning_tokens": 0}}
        }));
        assert_eq!(r.message.unwrap().content, vec![Part::text("Hi")]);
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        let u = r.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.total_tokens),
            (Some(5), Some(2), Some(7))
        );
        assert_eq!(u.cached_content_tokens, Some(1));
        assert_eq!(u.thoughts_tokens, Some(0));
    }

    #[test]
    fn tool_calls_keep_text_and_ids() {
        let r = convert(json!({
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{\"x\":1}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{not json"}},
                    {"id": "", "type": "function", "function": {"name": "c", "arguments": ""}}
                ]}}]
        }));
        let m = r.message.unwrap();
        assert_eq!(m.content[0], Part::text("Checking."));
        let calls: Vec<&ToolRequest> = m.tool_requests().collect();
        assert_eq!(calls[0].ref_.as_deref(), Some("call_1"));
        assert_eq!(calls[0].input, Some(json!({"x": 1})));
        assert_eq!(calls[1].input, Some(json!("{not json")));
        assert_eq!(calls[2].ref_, None);
        assert_eq!(calls[2].input, Some(json!({})));
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    }

    #[test]
    fn llamacpp_brace_beside_tool_calls_is_dropped_but_kept_alone() {
        let call =
            json!([{"type": "function", "function": {"name": "a", "arguments": "{}"}, "id": "Ks"}]);
        let r = convert(
            json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "{\n", "tool_calls": call}}]}),
        );
        let m = r.message.unwrap();
        assert_eq!(m.content.len(), 1, "{:?}", m.content);
        assert!(m.content[0].as_tool_request().is_some());
        // words beside a call stay, and so does punctuation that is the whole answer
        let r = convert(json!({"choices": [{"index": 0, "message": {
            "role": "assistant", "content": "Checking {", "tool_calls": call}}]}));
        assert_eq!(r.message.unwrap().content[0], Part::text("Checking {"));
        let r = convert(json!({"choices": [{"index": 0, "message": {"content": "?!"}}]}));
        assert_eq!(r.message.unwrap().content, vec![Part::text("?!")]);
    }

    #[test]
    fn llamacpp_empty_content_beside_tool_calls_adds_no_text_part() {
        let r = convert(
            json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "",
            "tool_calls": [{"type": "function", "function": {"name": "a", "arguments": "{}"}, "id": "Ks"}]}}]}),
        );
        let m = r.message.unwrap();
        assert_eq!(m.content.len(), 1);
        assert!(m.content[0].as_tool_request().is_some());
    }

    #[test]
    fn finish_reasons() {
        for (wire, reason) in [
            ("stop", FinishReason::Stop),
            ("tool_calls", FinishReason::Stop),
            ("length", FinishReason::Length),
            ("content_filter", FinishReason::Blocked),
            ("something_new", FinishReason::Other),
        ] {
            let r =
                convert(json!({"choices": [{"finish_reason": wire, "message": {"content": "x"}}]}));
            assert_eq!(r.finish_reason, Some(reason), "{wire}");
        }
        let r = convert(json!({"choices": [{"message": {"content": "x"}}]}));
        assert_eq!(r.finish_reason, Some(FinishReason::Unknown));
    }

    #[test]
    fn refusal_is_blocked_with_the_message() {
        let r = convert(json!({"choices": [{"finish_reason": "stop",
            "message": {"content": null, "refusal": "I can't help with that."}}]}));
        assert_eq!(r.finish_reason, Some(FinishReason::Blocked));
        assert_eq!(r.finish_message.as_deref(), Some("I can't help with that."));
    }

    #[test]
    fn reasoning_content_comes_first() {
        let r = convert(json!({"choices": [{"finish_reason": "stop",
            "message": {"content": "42", "reasoning_content": "Thinking..."}}]}));
        assert_eq!(
            r.message.unwrap().content,
            vec![Part::reasoning("Thinking..."), Part::text("42")]
        );
    }

    #[test]
    fn bodies_that_are_not_completions_keep_the_raw_text() {
        match parse(b"<html>oops</html>") {
            Err(OpenAIError::InvalidResponse { body, .. }) => assert_eq!(body, "<html>oops</html>"),
            other => panic!("{other:?}"),
        }
        let empty = parse(b"{\"choices\": []}").unwrap();
        assert!(to_model_response(empty).is_err());
    }
}
