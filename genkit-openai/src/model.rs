//! [`OpenAIModel`]: one model id on one server, as a Genkit [`Model`].

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{
    GenerateResponseChunk, GenkitError, Model, ModelContext, ModelInfo, ModelRequest,
    ModelResponse, ModelSupports, Part,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{ApiErrorBody, OpenAIError};
use crate::request;
use crate::response;
use crate::sse::{SseError, SseEvent, SseParser};
use crate::stream::{ChatCompletionChunk, StreamAccumulator};

/// A model served by an OpenAI-compatible server, named `<plugin>/<model id>`.
///
/// The plugin creates these on demand for any name; create one directly to register it
/// yourself or to call it without a Genkit instance:
///
/// ```
/// use genkit_core::{Message, Model, ModelRequest};
/// use genkit_openai::OpenAI;
///
/// let openai = OpenAI::builder().api_key("sk-...").build()?;
/// let model = openai.model("gpt-4o-mini");
/// assert_eq!(model.name(), "openai/gpt-4o-mini");
///
/// let request = ModelRequest { messages: vec![Message::user("Hi")].into(), ..Default::default() };
/// let body = model.request_body(&request, false)?;
/// assert_eq!(body["model"], "gpt-4o-mini");
/// assert_eq!(body["messages"][0]["content"], "Hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OpenAIModel {
    name: String,
    id: String,
    client: Arc<Client>,
}

impl fmt::Debug for OpenAIModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAIModel")
            .field("name", &self.name)
            .field("endpoint", &self.client.endpoint().as_str())
            .finish_non_exhaustive()
    }
}

/// What to do after one stream event.
#[derive(PartialEq, Eq)]
enum Flow {
    More,
    Done,
}

fn cut(e: SseError) -> OpenAIError {
    match e {
        SseError::Truncated(_) => OpenAIError::stream_cut(e.to_string(), None),
        SseError::LineTooLong(_) => OpenAIError::invalid_response(e.to_string(), String::new()),
    }
}

/// The error with `body` attached where the conversion had none at hand.
fn with_body(e: OpenAIError, body: &[u8]) -> OpenAIError {
    match e {
        OpenAIError::InvalidResponse { reason, body: b } if b.is_empty() => {
            OpenAIError::invalid_response(reason, String::from_utf8_lossy(body))
        }
        other => other,
    }
}

impl OpenAIModel {
    pub(crate) fn new(plugin: &str, id: String, client: Arc<Client>) -> Self {
        Self {
            name: format!("{plugin}/{id}"),
            id,
            client,
        }
    }

    /// The model id sent to the server (`gpt-4o-mini`), without the plugin prefix.
    ///
    /// ```
    /// let local = genkit_openai::OpenAI::builder().name("local").build()?;
    /// assert_eq!(local.model("qwen2.5-coder-0.5b").id(), "qwen2.5-coder-0.5b");
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The exact JSON body this model POSTs for `request`: for logging, debugging and tests.
    ///
    /// ```
    /// # use genkit_core::{Message, ModelRequest};
    /// let model = genkit_openai::OpenAI::builder().build()?.model("gpt-4o-mini");
    /// let request = ModelRequest { messages: vec![Message::user("Hi")].into(), ..Default::default() };
    /// let body = model.request_body(&request, true)?;
    /// assert_eq!(body["stream_options"]["include_usage"], true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_body(&self, request: &ModelRequest, stream: bool) -> Result<Value, GenkitError> {
        request::build(&self.id, request, stream, self.client.max_tokens_field)
            .map_err(|e| e.into_genkit(&self.name))
    }

    fn body_bytes(&self, request: &ModelRequest, stream: bool) -> Result<Vec<u8>, OpenAIError> {
        let body = request::build(&self.id, request, stream, self.client.max_tokens_field)?;
        serde_json::to_vec(&body).map_err(|e| OpenAIError::UnsupportedRequest(e.to_string()))
    }

    /// The call, by the mode the caller asked for. Its errors are not sanitized yet.
    async fn run(
        &self,
        request: &ModelRequest,
        ctx: &ModelContext,
    ) -> Result<ModelResponse, OpenAIError> {
        let deadline = self.client.deadline_from_now();
        let mut response = if ctx.is_streaming() {
            self.streamed(request, ctx, deadline).await?
        } else {
            self.once(request, deadline).await?
        };
        request::unwrap_inputs(&mut response, request);
        Ok(response)
    }

    async fn once(
        &self,
        request: &ModelRequest,
        deadline: Instant,
    ) -> Result<ModelResponse, OpenAIError> {
        let body = self
            .client
            .complete(self.body_bytes(request, false)?, deadline)
            .await?;
        let completion = response::parse(&body)?;
        response::to_model_response(completion).map_err(|e| with_body(e, &body))
    }

    async fn streamed(
        &self,
        request: &ModelRequest,
        ctx: &ModelContext,
        deadline: Instant,
    ) -> Result<ModelResponse, OpenAIError> {
        let response = self
            .client
            .open_stream(self.body_bytes(request, true)?, deadline)
            .await?;
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let mut http = self.client.body(response, deadline);
        if is_json {
            // A server that ignores `stream: true` answers with one JSON body.
            let mut body = Vec::new();
            while let Some(bytes) = http.next_chunk().await? {
                body.extend_from_slice(bytes.as_ref());
            }
            let completion = response::parse(&body)?;
            let response =
                response::to_model_response(completion).map_err(|e| with_body(e, &body))?;
            if let Some(message) = &response.message {
                ctx.send_chunk(GenerateResponseChunk::new(message.content.clone()))
                    .await;
            }
            return Ok(response);
        }

        let mut parser = SseParser::new();
        let mut acc = StreamAccumulator::new();
        let mut done = false;
        'read: while let Some(bytes) = http.next_chunk().await? {
            for event in parser.push(bytes.as_ref()).map_err(cut)? {
                if self.event(event, &mut acc, ctx).await? == Flow::Done {
                    done = true;
                    break 'read;
                }
            }
        }
        if !done {
            if let Some(event) = parser.finish().map_err(cut)? {
                self.event(event, &mut acc, ctx).await?;
            } else if !acc.finished() {
                return Err(OpenAIError::StreamIncomplete);
            } else {
                tracing::debug!(model = %self.name, "stream ended without [DONE] after the finish reason");
            }
        }
        // Dropping the response closes the connection if the server still sends anything.
        drop(http);

        if let Some(text) = acc.take_held_text() {
            ctx.send_chunk(GenerateResponseChunk::new(vec![text])).await;
        }
        let response = response::to_model_response(acc.into_completion())?;
        let tool_requests: Vec<Part> = response
            .message
            .iter()
            .flat_map(|m| m.content.iter())
            .filter(|p| p.as_tool_request().is_some())
            .cloned()
            .collect();
        if !tool_requests.is_empty() {
            ctx.send_chunk(GenerateResponseChunk::new(tool_requests))
                .await;
        }
        Ok(response)
    }

    /// Handles one stream event: `[DONE]`, an error event, or a chunk whose deltas go to the
    /// caller.
    async fn event(
        &self,
        event: SseEvent,
        acc: &mut StreamAccumulator,
        ctx: &ModelContext,
    ) -> Result<Flow, OpenAIError> {
        if event.data == "[DONE]" {
            return Ok(Flow::Done);
        }
        // The common case, a chunk, parsed straight into its type: the fields not used are
        // skipped without building a JSON tree. Anything else takes the path below, which
        // tells errors apart.
        if event.event.as_deref() != Some("error") {
            if let Ok(chunk) = serde_json::from_str::<ChatCompletionChunk>(&event.data) {
                if !chunk.has_error {
                    let parts = acc.push(chunk);
                    if !parts.is_empty() {
                        ctx.send_chunk(GenerateResponseChunk::new(parts)).await;
                    }
                    return Ok(Flow::More);
                }
            }
        }
        let invalid = |reason: String| OpenAIError::invalid_response(reason, event.data.as_str());
        let value: Value = serde_json::from_str(&event.data)
            .map_err(|e| invalid(format!("a stream event is not JSON: {e}")))?;
        if value.get("error").is_some() || event.event.as_deref() == Some("error") {
            let error = ApiErrorBody::parse(&event.data)
                .unwrap_or_else(|| ApiErrorBody::message_only(event.data.clone()));
            return Err(OpenAIError::StreamApi(Box::new(error)));
        }
        let chunk: ChatCompletionChunk = serde_json::from_value(value)
            .map_err(|e| invalid(format!("not a chat completion chunk: {e}")))?;
        let parts = acc.push(chunk);
        if !parts.is_empty() {
            ctx.send_chunk(GenerateResponseChunk::new(parts)).await;
        }
        Ok(Flow::More)
    }
}

impl Model for OpenAIModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: Some(format!("OpenAI-compatible {}", self.id)),
            supports: Some(ModelSupports {
                multiturn: Some(true),
                media: Some(true),
                tools: Some(true),
                system_role: Some(true),
                output: Some(vec!["text".to_owned(), "json".to_owned()]),
                // `response_format: json_schema`, which OpenAI and llama.cpp both enforce
                constrained: Some("all".to_owned()),
                tool_choice: Some(true),
                ..ModelSupports::default()
            }),
            ..ModelInfo::default()
        }
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let streaming = ctx.is_streaming();
            // The one place every error leaves the plugin: sanitized before it is logged.
            let result = self
                .run(request, &ctx)
                .await
                .map_err(|e| self.client.sanitize(e));
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            match result {
                Ok(mut response) => {
                    tracing::debug!(model = %self.name, streaming, elapsed_ms, "model call done");
                    response.latency_ms = Some(elapsed_ms);
                    Ok(response)
                }
                Err(e) => {
                    tracing::debug!(model = %self.name, streaming, elapsed_ms, error = %crate::error::error_chain(&e), "model call failed");
                    Err(e.into_genkit(&self.name))
                }
            }
        })
    }
}
