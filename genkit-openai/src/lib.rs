//! # genkit-openai
//!
//! The OpenAI-compatible model plugin for genkit-rs: OpenAI itself and every server that speaks
//! the chat completions API (vLLM, llama.cpp, Ollama, LM Studio, Groq, DeepSeek, OpenRouter,
//! Azure-style base URLs).
//!
//! Add the plugin to a [`Genkit`](genkit_core::Genkit) instance and name models
//! `<plugin>/<model>`: any model id the server knows works, nothing is listed up front.
//!
//! ```no_run
//! use genkit_core::prelude::*;
//! use genkit_openai::OpenAI;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Reads OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID if set).
//! let ai = Genkit::builder()
//!     .plugin(OpenAI::from_env()?)
//!     .default_model("openai/gpt-4o-mini")
//!     .build()?;
//! let response = ai.generate().prompt("Say hello in five words.").await?;
//! println!("{}", response.text());
//! # Ok(()) }
//! ```
//!
//! Several instances coexist under different plugin names, for example a local server next to
//! OpenAI:
//!
//! ```
//! use genkit_core::Genkit;
//! use genkit_openai::OpenAI;
//!
//! let local = OpenAI::builder()
//!     .name("local")
//!     .base_url("http://127.0.0.1:18080/v1")
//!     .build()?;
//! let ai = Genkit::builder().plugin(local).build()?;
//! assert!(ai.lookup_model("local/qwen2.5-coder-0.5b").is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Failures come back as [`GenkitError::Model`](genkit_core::GenkitError::Model) with the
//! matching [`Status`](genkit_core::Status); its `source` downcasts to [`OpenAIError`] for the
//! HTTP status and the server's error body.
//!
//! Nothing a server sends can make a call panic, hang or grow without bound: every call has a
//! per-attempt [timeout](OpenAIBuilder::timeout), an overall [deadline](OpenAIBuilder::deadline)
//! and a [size limit](OpenAIBuilder::max_response_bytes), and the API key is scrubbed from
//! every text a server sent before it reaches an error, a log line or a trace.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api_key;
mod client;
mod config;
mod error;
mod model;
mod model_config;
mod plugin;
mod request;
mod response;
mod retry;
mod sse;
mod stream;

pub use config::{
    OpenAIBuilder, DEFAULT_BASE_URL, DEFAULT_DEADLINE, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
};
pub use error::{
    ApiErrorBody, OpenAIError, TransportError, MAX_ERROR_BODY, MAX_REPORTED_RETRY_AFTER,
};
pub use model::OpenAIModel;
pub use model_config::OpenAIConfig;
pub use plugin::OpenAI;
pub use request::MaxTokensField;
pub use retry::RetryPolicy;

/// Entry points for the coverage-guided fuzz targets in `fuzz/`: the private stream parser and
/// accumulator, driven the way the streaming path drives them. Not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz {
    use genkit_core::{ModelResponse, Part};

    /// One event: its `event:` field and its data.
    pub type Event = (Option<String>, String);

    /// Feeds `pieces` to the SSE parser in order, then ends the stream: the events completed
    /// along the way, and what the end gives (an unterminated `[DONE]`, or why the stream was
    /// cut, as text).
    pub fn sse_events(pieces: &[&[u8]]) -> (Vec<Event>, Result<Option<Event>, String>) {
        let mut parser = crate::sse::SseParser::new();
        let mut events = Vec::new();
        for piece in pieces {
            match parser.push(piece) {
                Ok(done) => events.extend(done.into_iter().map(|e| (e.event, e.data))),
                Err(e) => return (events, Err(e.to_string())),
            }
        }
        let end = parser.finish().map(|e| e.map(|e| (e.event, e.data)));
        (events, end.map_err(|e| e.to_string()))
    }

    /// Runs event data through the stream accumulator as the streaming path does (data that is
    /// not a chunk is skipped): the parts streamed to the caller, whether a finish reason came,
    /// and the response the chunks add up to.
    pub fn accumulate(
        data: &[&str],
    ) -> (Vec<Part>, bool, Result<ModelResponse, crate::OpenAIError>) {
        let mut acc = crate::stream::StreamAccumulator::new();
        let mut streamed = Vec::new();
        for d in data {
            if let Ok(chunk) = serde_json::from_str::<crate::stream::ChatCompletionChunk>(d) {
                if !chunk.has_error {
                    streamed.extend(acc.push(chunk));
                }
            }
        }
        streamed.extend(acc.take_held_text());
        let finished = acc.finished();
        let response = crate::response::to_model_response(acc.into_completion());
        (streamed, finished, response)
    }

    /// Converts a non-streamed response body, as a plain call does.
    pub fn completion(body: &[u8]) -> Result<ModelResponse, crate::OpenAIError> {
        crate::response::to_model_response(crate::response::parse(body)?)
    }
}
