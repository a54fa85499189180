//! [`EchoModel`]: answers with the text it was sent.

use futures::future::BoxFuture;

use crate::error::GenkitError;
use crate::model::{Model, ModelContext};
use crate::wire::{
    FinishReason, GenerateResponseChunk, Message, ModelInfo, ModelRequest, ModelResponse,
    ModelSupports, Part,
};

/// A model that answers `Echo: ` followed by the text of every message, joined by `", "`,
/// streaming it word by word when asked to.
#[derive(Debug, Clone)]
pub struct EchoModel {
    name: String,
}

impl EchoModel {
    /// An echo model registered as `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

impl Model for EchoModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: Some("Echo".to_owned()),
            supports: Some(ModelSupports {
                multiturn: Some(true),
                tools: Some(true),
                system_role: Some(true),
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
            let texts: Vec<String> = request.messages.iter().map(Message::text).collect();
            let text = format!("Echo: {}", texts.join(", "));
            if ctx.is_streaming() {
                for word in text.split_inclusive(' ') {
                    ctx.send_chunk(GenerateResponseChunk::new(vec![Part::text(word)]))
                        .await;
                }
            }
            Ok(ModelResponse::new(Message::model(text), FinishReason::Stop))
        })
    }
}
