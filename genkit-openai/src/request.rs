//! Genkit's [`ModelRequest`] → a chat completions request body.
//!
//! Only keys that are set are sent (no `null`s), tool-call `arguments` are JSON strings, and the
//! assistant message keeps its text beside its `tool_calls`: what OpenAI's official clients
//! send, and what every compatible server accepts.

use genkit_core::{
    DocumentData, JsonMap, Media, Message, ModelRequest, OutputConfig, Part, PartKind, Role,
    ToolChoice, ToolDefinition, ToolRequest, ToolResponse,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::OpenAIError;

/// Which request key carries Genkit's `maxOutputTokens`.
///
/// OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models reject the
/// old name); some compatible servers only know `max_tokens`.
///
/// ```
/// use genkit_openai::{MaxTokensField, OpenAI};
/// let deepseek = OpenAI::builder()
///     .name("deepseek")
///     .base_url("https://api.deepseek.com/v1")
///     .max_tokens_field(MaxTokensField::MaxTokens)
///     .build()?;
/// # Ok::<(), genkit_openai::OpenAIError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaxTokensField {
    /// `max_completion_tokens` (OpenAI's current name; llama.cpp and vLLM take it too).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens` (the older name).
    MaxTokens,
}

impl MaxTokensField {
    pub(crate) fn key(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }
}

/// Keys only the plugin sets: a config passthrough must not change how the answer is read.
const RESERVED: &[&str] = &["model", "messages", "stream", "stream_options", "tools"];

/// One chat message, tagged by `role`.
#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum ChatMessage {
    System {
        content: String,
    },
    User {
        content: UserContent,
    },
    Assistant {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        tool_call_id: String,
        content: String,
    },
}

/// A user message's content: a plain string when it is one piece of text.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum UserContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentPart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize)]
struct ImageUrl {
    url: String,
}

#[derive(Debug, Serialize)]
struct ToolCall {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall,
}

#[derive(Debug, Serialize)]
struct FunctionCall {
    name: String,
    arguments: String,
}

/// The id tying a tool call to its result: the Genkit `ref`, or the tool name for histories
/// written without refs (the engine always sets them).
fn call_id(ref_: &Option<String>, name: &str) -> String {
    ref_.clone().unwrap_or_else(|| name.to_owned())
}

fn unsupported(role: Role, what: &str) -> OpenAIError {
    OpenAIError::UnsupportedRequest(format!("a {} message cannot hold {what}", role.as_str()))
}

fn to_json_text(value: &Value) -> String {
    // Serializing a `Value` cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn media_part(media: &Media) -> Result<ContentPart, OpenAIError> {
    let is_image = match &media.content_type {
        Some(t) => t.starts_with("image/"),
        None => !media.url.starts_with("data:") || media.url.starts_with("data:image/"),
    };
    if !is_image {
        return Err(OpenAIError::UnsupportedRequest(format!(
            "media of type '{}': only images can be sent as image_url parts",
            media.content_type.as_deref().unwrap_or("unknown")
        )));
    }
    Ok(ContentPart::ImageUrl {
        image_url: ImageUrl {
            url: media.url.clone(),
        },
    })
}

fn user_message(message: &Message, context: Option<&str>) -> Result<ChatMessage, OpenAIError> {
    let mut parts = Vec::with_capacity(message.content.len() + 1);
    for part in &message.content {
        match &part.kind {
            PartKind::Text(text) => parts.push(ContentPart::Text { text: text.clone() }),
            PartKind::Media(media) => parts.push(media_part(media)?),
            PartKind::Data(data) => parts.push(ContentPart::Text {
                text: to_json_text(data),
            }),
            PartKind::ToolRequest(_) => return Err(unsupported(Role::User, "tool requests")),
            PartKind::ToolResponse(_) => return Err(unsupported(Role::User, "tool responses")),
            PartKind::Resource(r) => {
                return Err(unsupported(Role::User, &format!("resource '{}'", r.uri)))
            }
            // Reasoning and plugin-specific parts mean nothing to another model.
            _ => {}
        }
    }
    if let Some(context) = context {
        parts.push(ContentPart::Text {
            text: context.to_owned(),
        });
    }
    let content = match parts.as_slice() {
        [ContentPart::Text { text }] => UserContent::Text(text.clone()),
        _ => UserContent::Parts(parts),
    };
    Ok(ChatMessage::User { content })
}

/// A tool request's arguments as the JSON string the API wants. Always valid JSON: raw
/// arguments a model once sent as invalid JSON (kept as a string input) go back quoted, since
/// some servers parse `arguments` and reject the whole request otherwise.
fn arguments(request: &ToolRequest, wrapped: &[&str]) -> String {
    match &request.input {
        _ if wrapped.contains(&request.name.as_str()) => {
            let mut object = Map::new();
            let input = request.input.clone().unwrap_or(Value::Null);
            object.insert(WRAPPED_INPUT.to_owned(), input);
            to_json_text(&Value::Object(object))
        }
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v) => to_json_text(v),
    }
}

/// The property that carries a tool input which is not a JSON object (a string, a number,
/// an array): OpenAI documents a function's `parameters` as an object schema, so such a
/// tool's schema is sent wrapped, `{"input": <schema>}`, its past calls are sent wrapped, and
/// the model's calls are unwrapped again before Genkit sees them.
pub(crate) const WRAPPED_INPUT: &str = "input";

/// True when a tool's input schema is not an object schema (and so is sent wrapped).
fn needs_wrapping(schema: Option<&Value>) -> bool {
    matches!(schema.and_then(|s| s.get("type")), Some(t) if t != "object")
}

/// The tools of `request` whose input is sent wrapped.
pub(crate) fn wrapped_tools(request: &ModelRequest) -> Vec<&str> {
    request
        .tools()
        .iter()
        .filter(|t| needs_wrapping(t.input_schema.as_deref()))
        .map(|t| t.name.as_str())
        .collect()
}

/// Unwraps the inputs of the model's calls of wrapped tools (see [`WRAPPED_INPUT`]). A call
/// that is not `{"input": ..}` is left as the model sent it, for the tool's schema to reject.
pub(crate) fn unwrap_inputs(response: &mut genkit_core::ModelResponse, request: &ModelRequest) {
    let wrapped = wrapped_tools(request);
    if wrapped.is_empty() {
        return;
    }
    for part in response
        .message
        .iter_mut()
        .flat_map(|m| m.content.iter_mut())
    {
        let Some(call) = part.as_tool_request_mut() else {
            continue;
        };
        if !wrapped.contains(&call.name.as_str()) {
            continue;
        }
        if let Some(Value::Object(object)) = &mut call.input {
            if object.len() == 1 {
                if let Some(inner) = object.remove(WRAPPED_INPUT) {
                    call.input = Some(inner);
                }
            }
        }
    }
}

fn assistant_message(message: &Message, wrapped: &[&str]) -> Result<ChatMessage, OpenAIError> {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for part in &message.content {
        match &part.kind {
            PartKind::Text(t) => text.push_str(t),
            PartKind::ToolRequest(r) => tool_calls.push(ToolCall {
                id: call_id(&r.ref_, &r.name),
                kind: "function",
                function: FunctionCall {
                    name: r.name.clone(),
                    arguments: arguments(r, wrapped),
                },
            }),
            PartKind::Media(_) => return Err(unsupported(Role::Model, "media")),
            PartKind::ToolResponse(_) => return Err(unsupported(Role::Model, "tool responses")),
            _ => {}
        }
    }
    // Without tool calls, `content` is required; beside them it is sent only when set.
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    Ok(ChatMessage::Assistant {
        content,
        tool_calls,
    })
}

/// A string output is sent as it is (as Genkit's OpenAI plugins send it): quoted, a small
/// model reads it as JSON to echo back. Any other output is sent as JSON text.
fn tool_result_content(response: &ToolResponse) -> String {
    match &response.output {
        Some(Value::String(text)) => text.clone(),
        Some(output) => to_json_text(output),
        None => response
            .content
            .iter()
            .flatten()
            .filter_map(Part::as_text)
            .collect(),
    }
}

/// One `tool` message per tool response.
fn tool_messages(message: &Message, out: &mut Vec<ChatMessage>) -> Result<(), OpenAIError> {
    for part in &message.content {
        match &part.kind {
            PartKind::ToolResponse(r) => out.push(ChatMessage::Tool {
                tool_call_id: call_id(&r.ref_, &r.name),
                content: tool_result_content(r),
            }),
            PartKind::Text(_) | PartKind::Custom | PartKind::Reasoning(_) => {}
            _ => return Err(unsupported(Role::Tool, "anything but tool responses")),
        }
    }
    Ok(())
}

/// Context documents as Genkit's default context prompt, appended to the last user message.
fn docs_context(docs: &[DocumentData]) -> Option<String> {
    if docs.is_empty() {
        return None;
    }
    let mut out = String::from("\n\nUse the following information to complete your task:\n\n");
    for (i, doc) in docs.iter().enumerate() {
        let text: String = doc.content.iter().filter_map(Part::as_text).collect();
        out.push_str(&format!("- [{i}]: {text}\n"));
    }
    out.push('\n');
    Some(out)
}

fn messages(request: &ModelRequest) -> Result<Vec<ChatMessage>, OpenAIError> {
    let context = request.docs.as_deref().and_then(docs_context);
    let last_user = request.messages.iter().rposition(|m| m.role == Role::User);
    let mut out = Vec::with_capacity(request.messages.len());
    let wrapped = wrapped_tools(request);
    for (i, message) in request.messages.iter().enumerate() {
        match message.role {
            // System prompts are text; other parts are left out.
            Role::System => out.push(ChatMessage::System {
                content: message.text(),
            }),
            Role::User => {
                let context = context.as_deref().filter(|_| Some(i) == last_user);
                out.push(user_message(message, context)?);
            }
            Role::Model => out.push(assistant_message(message, &wrapped)?),
            Role::Tool => tool_messages(message, &mut out)?,
        }
    }
    Ok(out)
}

/// A tool's JSON schema as `parameters`: without `$schema`, which some servers reject, and
/// without `title`s, which the APIs ignore but a small model reads: given an input struct
/// titled `Flight`, Qwen2.5-Coder-0.5B called a tool named `Flight`.
fn parameters(schema: Option<&Value>) -> Value {
    match schema {
        Some(Value::Object(map)) if needs_wrapping(schema) => {
            let mut map = map.clone();
            strip_annotations(&mut map);
            json!({
                "type": "object",
                "properties": {WRAPPED_INPUT: Value::Object(map)},
                "required": [WRAPPED_INPUT],
            })
        }
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            strip_annotations(&mut map);
            Value::Object(map)
        }
        Some(other) => other.clone(),
        None => json!({"type": "object", "properties": {}}),
    }
}

fn tool(definition: &ToolDefinition) -> Value {
    let mut function = Map::new();
    function.insert("name".into(), Value::String(definition.name.clone()));
    if !definition.description.is_empty() {
        function.insert(
            "description".into(),
            Value::String(definition.description.clone()),
        );
    }
    function.insert(
        "parameters".into(),
        parameters(definition.input_schema.as_deref()),
    );
    json!({"type": "function", "function": function})
}

fn tool_choice(choice: ToolChoice) -> Value {
    Value::String(
        match choice {
            ToolChoice::Auto => "auto",
            ToolChoice::Required => "required",
            ToolChoice::None => "none",
        }
        .to_owned(),
    )
}

/// Genkit's common config keys and their chat completions names.
fn config_key(key: &str, max_tokens: MaxTokensField) -> &str {
    match key {
        "maxOutputTokens" => max_tokens.key(),
        "topP" => "top_p",
        "topK" => "top_k",
        "stopSequences" => "stop",
        "frequencyPenalty" => "frequency_penalty",
        "presencePenalty" => "presence_penalty",
        "parallelToolCalls" => "parallel_tool_calls",
        other => other,
    }
}

/// The config object, with Genkit's names mapped and `null`s dropped. `version` (Genkit's
/// model-version override) is returned apart.
fn config(
    config: Option<&Value>,
    max_tokens: MaxTokensField,
) -> Result<(Map<String, Value>, Option<String>), OpenAIError> {
    let mut out = Map::new();
    let mut version = None;
    let map = match config {
        None | Some(Value::Null) => return Ok((out, version)),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(OpenAIError::UnsupportedRequest(format!(
                "config must be a JSON object, got {other}"
            )))
        }
    };
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        if key == "version" {
            version = value.as_str().map(str::to_owned);
            continue;
        }
        let key = config_key(key, max_tokens);
        if RESERVED.contains(&key) {
            tracing::debug!(key, "config key ignored: the plugin sets it");
            continue;
        }
        out.insert(key.to_owned(), value.clone());
    }
    Ok((out, version))
}

/// A schema name the API accepts (`^[a-zA-Z0-9_-]{1,64}$`): the schema's title, or `output`.
fn schema_name(schema: &JsonMap) -> String {
    schema
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| genkit_core::is_valid_tool_name(t))
        .unwrap_or("output")
        .to_owned()
}

/// `schema` made nullable, for a property strict mode forces to be present.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            map.insert("type".into(), json!([t, "null"]));
            Value::Object(map)
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(Value::String("null".into()));
            }
            Value::Object(map)
        }
        _ => json!({"anyOf": [Value::Object(map), {"type": "null"}]}),
    }
}

/// Removes `$schema` and `title` from a schema and from every schema inside it (not from the
/// property names of `properties`, where `title` may be a field).
fn strip_annotations(schema: &mut JsonMap) {
    schema.remove("$schema");
    schema.remove("title");
    for (key, value) in schema.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "patternProperties" | "$defs" | "definitions", Value::Object(map)) => {
                for sub in map.values_mut() {
                    if let Value::Object(sub) = sub {
                        strip_annotations(sub);
                    }
                }
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => {
                for sub in list {
                    if let Value::Object(sub) = sub {
                        strip_annotations(sub);
                    }
                }
            }
            ("items" | "additionalProperties" | "not", Value::Object(sub)) => {
                strip_annotations(sub)
            }
            _ => {}
        }
    }
}

/// The schema in the form OpenAI's strict mode needs: every object closed
/// (`additionalProperties: false`) with all its properties required (optional ones become
/// nullable instead). `None` when that would change what the schema accepts: free-form
/// objects and maps cannot be strict.
pub(crate) fn strict_schema(schema: &Value) -> Option<Value> {
    let Value::Object(map) = schema else {
        return Some(schema.clone());
    };
    let mut out = map.clone();
    out.remove("$schema");
    let is_object = match out.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => out.contains_key("properties"),
    };
    if is_object {
        match out.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return None,
        }
        let Some(Value::Object(props)) = out.get("properties") else {
            return None;
        };
        let required: Vec<String> = match out.get("required") {
            Some(Value::Array(r)) => r
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let mut strict_props = Map::new();
        for (name, prop) in props {
            let prop = strict_schema(prop)?;
            let prop = if required.contains(name) {
                prop
            } else {
                nullable(prop)
            };
            strict_props.insert(name.clone(), prop);
        }
        let all: Vec<Value> = strict_props.keys().cloned().map(Value::String).collect();
        out.insert("properties".into(), Value::Object(strict_props));
        out.insert("required".into(), Value::Array(all));
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["items", "not"] {
        if let Some(sub) = out.get(key) {
            let sub = strict_schema(sub)?;
            out.insert(key.into(), sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(subs)) = out.get(key) {
            let subs = subs.iter().map(strict_schema).collect::<Option<Vec<_>>>()?;
            out.insert(key.into(), Value::Array(subs));
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = out.get(key) {
            let mut strict_defs = Map::new();
            for (name, def) in defs {
                strict_defs.insert(name.clone(), strict_schema(def)?);
            }
            out.insert(key.into(), Value::Object(strict_defs));
        }
    }
    Some(Value::Object(out))
}

/// `response_format` for structured output: a JSON schema (strict where the schema allows),
/// or plain JSON mode without one. Nothing when the caller turned constrained output off.
fn response_format(output: &OutputConfig) -> Option<Value> {
    if output.format.as_deref() != Some("json") || output.constrained == Some(false) {
        return None;
    }
    let Some(schema) = &output.schema else {
        return Some(json!({"type": "json_object"}));
    };
    let schema_value = Value::Object(schema.clone());
    let json_schema = match strict_schema(&schema_value) {
        Some(strict) => json!({"name": schema_name(schema), "schema": strict, "strict": true}),
        None => {
            let mut loose = schema.clone();
            loose.remove("$schema");
            json!({"name": schema_name(schema), "schema": loose})
        }
    };
    Some(json!({"type": "json_schema", "json_schema": json_schema}))
}

/// The request body for `model`, streamed or not.
pub(crate) fn build(
    model: &str,
    request: &ModelRequest,
    stream: bool,
    max_tokens: MaxTokensField,
) -> Result<Value, OpenAIError> {
    let (params, version) = config(request.config.as_ref(), max_tokens)?;
    let messages = serde_json::to_value(messages(request)?)
        .map_err(|e| OpenAIError::UnsupportedRequest(e.to_string()))?;
    let mut body = Map::new();
    body.insert(
        "model".into(),
        Value::String(version.unwrap_or_else(|| model.to_owned())),
    );
    body.insert("messages".into(), messages);
    // `tool_choice: none` sends no tools: the model may not call them either way, and
    // llama.cpp's server would still list them in the prompt, where small models read them as
    // an invitation and write calls out as text.
    let tools = match request.tool_choice {
        Some(ToolChoice::None) => &[],
        _ => request.tools(),
    };
    if !tools.is_empty() {
        body.insert(
            "tools".into(),
            Value::Array(tools.iter().map(tool).collect()),
        );
        if let Some(choice) = request.tool_choice {
            body.insert("tool_choice".into(), tool_choice(choice));
        }
    }
    if let Some(format) = request.output.as_ref().and_then(response_format) {
        body.insert("response_format".into(), format);
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    for (key, value) in params {
        // Tool settings without tools are rejected by OpenAI.
        if tools.is_empty() && (key == "tool_choice" || key == "parallel_tool_calls") {
            continue;
        }
        // What the request itself says wins over the config passthrough.
        body.entry(key).or_insert(value);
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_core::{ToolRequest, ToolResponse};

    fn ask_question() -> ToolDefinition {
        ToolDefinition {
            name: "ask_question".into(),
            key: None,
            description: "Use this to ask the user a clarifying question".into(),
            input_schema: Some(std::sync::Arc::new(json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"choices": {"type": "array", "items": {"type": "string"}}},
                "required": ["choices"]
            }))),
            output_schema: None,
            metadata: None,
        }
    }

    fn body(request: &ModelRequest) -> Value {
        build("m", request, false, MaxTokensField::default()).unwrap()
    }

    #[test]
    fn plain_prompt_sends_only_what_is_set() {
        let r = ModelRequest {
            messages: vec![Message::system("Be brief."), Message::user("Hello")].into(),
            tools: Some(vec![]),
            output: Some(OutputConfig::default()),
            ..ModelRequest::default()
        };
        assert_eq!(
            body(&r),
            json!({"model": "m", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hello"}
            ]})
        );
    }

    #[test]
    fn tool_round_trip_maps_refs_arguments_and_results() {
        let request = ToolRequest::new(
            "ask_question",
            Some("call_1".into()),
            json!({"choices": ["a"]}),
        );
        let raw = ToolRequest::new("ask_question", Some("call_2".into()), json!("{oops"));
        let r = ModelRequest {
            messages: vec![
                Message::user("Ask me."),
                Message::new(
                    Role::Model,
                    vec![
                        Part::text("Let me ask."),
                        Part::tool_request(request),
                        Part::tool_request(raw),
                    ],
                ),
                Message::new(
                    Role::Tool,
                    vec![
                        Part::tool_response(ToolResponse::new(
                            "ask_question",
                            Some("call_1".into()),
                            json!("b"),
                        )),
                        Part::tool_response(ToolResponse::new(
                            "ask_question",
                            Some("call_2".into()),
                            json!({"error": "bad input"}),
                        )),
                    ],
                ),
            ]
            .into(),
            tools: Some(vec![ask_question()]),
            tool_choice: Some(ToolChoice::Required),
            ..ModelRequest::default()
        };
        let b = body(&r);
        assert_eq!(
            b["messages"][1],
            json!({"role": "assistant", "content": "Let me ask.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "ask_question", "arguments": "{\"choices\":[\"a\"]}"}},
                {"id": "call_2", "type": "function", "function": {"name": "ask_question", "arguments": "\"{oops\""}}
            ]})
        );
        assert_eq!(
            b["messages"][2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "b"})
        );
        assert_eq!(
            b["messages"][3],
            json!({"role": "tool", "tool_call_id": "call_2", "content": "{\"error\":\"bad input\"}"})
        );
        assert_eq!(b["tool_choice"], "required");
        let params = &b["tools"][0]["function"]["parameters"];
        assert!(params.get("$schema").is_none());
        assert_eq!(params["required"], json!(["choices"]));
    }

    #[test]
    fn a_tool_input_that_is_not_an_object_travels_wrapped() {
        let word = ToolDefinition {
            name: "reverse".into(),
            key: None,
            description: "Reverse a word".into(),
            input_schema: Some(std::sync::Arc::new(
                json!({"$schema": "x", "type": "string"}),
            )),
            output_schema: None,
            metadata: None,
        };
        let past = ToolRequest::new("reverse", Some("c1".into()), json!("abc"));
        let asked = ToolRequest::new("ask_question", Some("c2".into()), json!({"choices": []}));
        let r = ModelRequest {
            messages: vec![
                Message::user("hi"),
                Message::new(
                    Role::Model,
                    vec![Part::tool_request(past), Part::tool_request(asked)],
                ),
            ]
            .into(),
            tools: Some(vec![word, ask_question()]),
            ..ModelRequest::default()
        };
        let b = body(&r);
        assert_eq!(
            b["tools"][0]["function"]["parameters"],
            json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})
        );
        assert_eq!(b["tools"][1]["function"]["parameters"]["type"], "object");
        let calls = &b["messages"][1]["tool_calls"];
        assert_eq!(calls[0]["function"]["arguments"], r#"{"input":"abc"}"#);
        assert_eq!(calls[1]["function"]["arguments"], r#"{"choices":[]}"#);

        // the model's calls come back unwrapped; another tool's and a malformed call are left
        let mut response = genkit_core::ModelResponse::new(
            Message::new(
                Role::Model,
                vec![
                    Part::tool_request(ToolRequest::new("reverse", None, json!({"input": "xyz"}))),
                    Part::tool_request(ToolRequest::new("reverse", None, json!({"word": "xyz"}))),
                    Part::tool_request(ToolRequest::new("ask_question", None, json!({"input": 1}))),
                ],
            ),
            genkit_core::FinishReason::Stop,
        );
        unwrap_inputs(&mut response, &r);
        let inputs: Vec<Value> = response
            .message
            .unwrap()
            .tool_requests()
            .map(|t| t.input.clone().unwrap())
            .collect();
        assert_eq!(
            inputs,
            [json!("xyz"), json!({"word": "xyz"}), json!({"input": 1})]
        );
    }

    #[test]
    fn typed_config_maps_like_the_untyped_one() {
        let config = crate::OpenAIConfig::new()
            .temperature(0.0)
            .max_output_tokens(7)
            .stop_sequences(["\n"])
            .seed(42)
            .with("cache_prompt", true);
        let r = ModelRequest {
            messages: vec![Message::user("hi")].into(),
            config: Some(serde_json::to_value(config).unwrap()),
            ..ModelRequest::default()
        };
        let b = body(&r);
        assert_eq!(b["temperature"], 0.0);
        assert_eq!(b["max_completion_tokens"], 7);
        assert_eq!(b["stop"], json!(["\n"]));
        assert_eq!(b["seed"], 42);
        assert_eq!(b["cache_prompt"], true);
    }

    #[test]
    fn assistant_with_only_tool_calls_has_no_content_key() {
        let r = ModelRequest {
            messages: vec![Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest {
                    ref_: None,
                    name: "t".into(),
                    input: None,
                    partial: None,
                })],
            )]
            .into(),
            ..ModelRequest::default()
        };
        assert_eq!(
            body(&r)["messages"][0],
            json!({"role": "assistant", "tool_calls": [
                {"id": "t", "type": "function", "function": {"name": "t", "arguments": "{}"}}
            ]})
        );
    }

    #[test]
    fn config_maps_genkit_names_and_passes_the_rest_through() {
        let r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            config: Some(json!({
                "temperature": 0, "maxOutputTokens": 5, "topP": 0.9, "topK": 3,
                "stopSequences": ["\n"], "seed": 42, "user": "u1", "logprobs": null,
                "stream": true, "model": "other", "version": "m-2024", "parallelToolCalls": false
            })),
            ..ModelRequest::default()
        };
        let b = body(&r);
        assert_eq!(
            b,
            json!({"model": "m-2024", "messages": [{"role": "user", "content": "x"}],
                "temperature": 0, "max_completion_tokens": 5, "top_p": 0.9, "top_k": 3,
                "stop": ["\n"], "seed": 42, "user": "u1"})
        );
        let old = build("m", &r, false, MaxTokensField::MaxTokens).unwrap();
        assert_eq!(old["max_tokens"], 5);
        assert!(old.get("max_completion_tokens").is_none());
        let bad = ModelRequest {
            config: Some(json!(3)),
            ..r
        };
        assert!(build("m", &bad, false, MaxTokensField::default()).is_err());
    }

    #[test]
    fn tool_parameters_lose_titles_but_not_a_field_named_title() {
        let definition = ToolDefinition {
            name: "book".into(),
            key: None,
            description: "Book a flight".into(),
            input_schema: Some(std::sync::Arc::new(json!({
                "$schema": "x", "title": "Flight", "type": "object",
                "properties": {
                    "title": {"type": "string", "title": "Title"},
                    "legs": {"type": "array", "items": {"$ref": "#/$defs/Leg"}},
                    "seat": {"anyOf": [{"title": "Window", "type": "string"}, {"type": "null"}]}
                },
                "$defs": {"Leg": {"title": "Leg", "type": "object", "properties": {"to": {"type": "string"}}}}
            }))),
            output_schema: None,
            metadata: None,
        };
        let p = tool(&definition)["function"]["parameters"].clone();
        assert_eq!(
            p,
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "legs": {"type": "array", "items": {"$ref": "#/$defs/Leg"}},
                    "seat": {"anyOf": [{"type": "string"}, {"type": "null"}]}
                },
                "$defs": {"Leg": {"type": "object", "properties": {"to": {"type": "string"}}}}
            })
        );
    }

    #[test]
    fn tool_settings_need_tools() {
        let mut r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            tool_choice: Some(ToolChoice::None),
            config: Some(json!({"parallel_tool_calls": false})),
            ..ModelRequest::default()
        };
        let b = body(&r);
        assert!(b.get("tool_choice").is_none() && b.get("parallel_tool_calls").is_none());
        // `none` sends no tools at all (nor the settings that need them)
        r.tools = Some(vec![ask_question()]);
        let b = body(&r);
        assert!(
            b.get("tools").is_none() && b.get("tool_choice").is_none(),
            "{b}"
        );
        assert!(b.get("parallel_tool_calls").is_none());
        r.tool_choice = Some(ToolChoice::Auto);
        let b = body(&r);
        assert_eq!(b["tool_choice"], "auto");
        assert_eq!(b["parallel_tool_calls"], false);
        assert_eq!(b["tools"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn streaming_asks_for_usage() {
        let r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            ..ModelRequest::default()
        };
        let b = build("m", &r, true, MaxTokensField::default()).unwrap();
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"], json!({"include_usage": true}));
    }

    #[test]
    fn media_becomes_image_url_parts() {
        let r = ModelRequest {
            messages: vec![Message::new(
                Role::User,
                vec![
                    Part::text("What is this?"),
                    Part::media("https://example.com/cat.png", Some("image/png".into())),
                ],
            )]
            .into(),
            ..ModelRequest::default()
        };
        assert_eq!(
            body(&r)["messages"][0]["content"],
            json!([{"type": "text", "text": "What is this?"},
                   {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
        );
        let audio = ModelRequest {
            messages: vec![Message::new(
                Role::User,
                vec![Part::media("data:audio/wav;base64,AAAA", None)],
            )]
            .into(),
            ..ModelRequest::default()
        };
        let e = build("m", &audio, false, MaxTokensField::default()).unwrap_err();
        assert!(e.to_string().contains("only images"), "{e}");
    }

    #[test]
    fn docs_go_into_the_last_user_message() {
        let r = ModelRequest {
            messages: vec![Message::user("Q?")].into(),
            docs: Some(vec![DocumentData {
                content: vec![Part::text("fact one")],
                metadata: None,
            }]),
            ..ModelRequest::default()
        };
        let content = &body(&r)["messages"][0]["content"];
        assert_eq!(content[0]["text"], "Q?");
        assert!(content[1]["text"]
            .as_str()
            .unwrap()
            .contains("- [0]: fact one"));
    }

    #[test]
    fn structured_output_uses_a_strict_json_schema() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Answer",
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "note": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}}
            },
            "required": ["answer", "items"]
        });
        let r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            output: Some(OutputConfig {
                format: Some("json".into()),
                schema: schema.as_object().cloned(),
                ..OutputConfig::default()
            }),
            ..ModelRequest::default()
        };
        let format = &body(&r)["response_format"];
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["json_schema"]["name"], "Answer");
        assert_eq!(format["json_schema"]["strict"], true);
        let s = &format["json_schema"]["schema"];
        assert!(s.get("$schema").is_none());
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], json!(["answer", "items", "note"]));
        assert_eq!(s["properties"]["note"]["type"], json!(["string", "null"]));
        assert_eq!(s["properties"]["items"]["items"]["required"], json!(["x"]));
        assert_eq!(
            s["properties"]["items"]["items"]["properties"]["x"]["type"],
            json!(["integer", "null"])
        );
    }

    #[test]
    fn maps_cannot_be_strict() {
        let map = json!({"type": "object", "additionalProperties": {"type": "integer"}});
        assert_eq!(strict_schema(&map), None);
        let r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            output: Some(OutputConfig {
                format: Some("json".into()),
                schema: map.as_object().cloned(),
                ..OutputConfig::default()
            }),
            ..ModelRequest::default()
        };
        let format = &body(&r)["response_format"];
        assert!(format["json_schema"].get("strict").is_none());
        assert_eq!(format["json_schema"]["schema"], map);
    }

    #[test]
    fn json_without_schema_is_json_mode_and_unconstrained_is_nothing() {
        let mut r = ModelRequest {
            messages: vec![Message::user("x")].into(),
            output: Some(OutputConfig {
                format: Some("json".into()),
                ..OutputConfig::default()
            }),
            ..ModelRequest::default()
        };
        assert_eq!(body(&r)["response_format"], json!({"type": "json_object"}));
        if let Some(o) = r.output.as_mut() {
            o.constrained = Some(false);
        }
        assert!(body(&r).get("response_format").is_none());
    }
}
