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
mod plugin;
mod request;
mod response;
mod retry;
mod sse;
mod stream;

pub use config::{MaxTokensField, OpenAIBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT};
pub use error::{ApiErrorBody, OpenAIError};
pub use model::OpenAIModel;
pub use plugin::OpenAI;
pub use retry::RetryPolicy;
