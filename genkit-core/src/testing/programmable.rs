//! [`ProgrammableModel`]: a model that plays back scripted responses and records requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;

use crate::error::GenkitError;
use crate::model::{Model, ModelContext};
use crate::status::Status;
use crate::wire::{GenerateResponseChunk, ModelInfo, ModelRequest, ModelResponse, ModelSupports};

/// One scripted turn: the chunks to stream, then the response.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    /// Chunks streamed before the response (only when the caller streams).
    pub chunks: Vec<GenerateResponseChunk>,
    /// The response.
    pub response: ModelResponse,
}

type Handler = Arc<dyn Fn(&ModelRequest) -> Result<ModelResponse, GenkitError> + Send + Sync>;

#[derive(Default)]
struct State {
    script: VecDeque<Scripted>,
    handler: Option<Handler>,
    requests: Vec<ModelRequest>,
}

/// A model for tests: answers each call with the next scripted response (or a handler), and
/// records every request it got. Clones share the script and the record.
///
/// ```
/// # use genkit_core::{prelude::*, testing::ProgrammableModel};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let model = ProgrammableModel::new("pm");
/// model.push_response(ModelResponse::new(Message::model("hi there"), FinishReason::Stop));
/// let ai = Genkit::builder().model(model.clone()).build()?;
/// let r = ai.generate().model("pm").prompt("hi").await?;
/// assert_eq!(r.text(), "hi there");
/// assert_eq!(model.requests().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProgrammableModel {
    name: Arc<str>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ProgrammableModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgrammableModel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ProgrammableModel {
    /// A programmable model registered as `name`, with an empty script.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Arc::from(name.into()),
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // a panic elsewhere while holding the lock leaves the data usable
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a response to the script.
    pub fn push_response(&self, response: ModelResponse) -> &Self {
        self.push(Scripted {
            chunks: Vec::new(),
            response,
        })
    }

    /// Appends a scripted turn (chunks and response).
    pub fn push(&self, turn: Scripted) -> &Self {
        self.state().script.push_back(turn);
        self
    }

    /// Drops what is left of the script (a spec step's unused responses must not answer the next
    /// step).
    pub fn clear_script(&self) -> &Self {
        self.state().script.clear();
        self
    }

    /// Answers calls the script does not cover with `handler`.
    pub fn set_handler(
        &self,
        handler: impl Fn(&ModelRequest) -> Result<ModelResponse, GenkitError> + Send + Sync + 'static,
    ) -> &Self {
        self.state().handler = Some(Arc::new(handler));
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.state().requests.clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<ModelRequest> {
        self.state().requests.last().cloned()
    }

    /// How many scripted turns are left.
    pub fn remaining(&self) -> usize {
        self.state().script.len()
    }
}

impl Model for ProgrammableModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: Some("Programmable model".to_owned()),
            supports: Some(ModelSupports {
                multiturn: Some(true),
                tools: Some(true),
                system_role: Some(true),
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
        let next = {
            let mut state = self.state();
            state.requests.push(request.clone());
            match state.script.pop_front() {
                Some(turn) => Ok(turn),
                None => match &state.handler {
                    Some(h) => h(request).map(|response| Scripted {
                        chunks: Vec::new(),
                        response,
                    }),
                    None => Err(GenkitError::with_status(
                        Status::FailedPrecondition,
                        format!(
                            "programmable model '{}' has no scripted response left",
                            self.name
                        ),
                    )),
                },
            }
        };
        Box::pin(async move {
            let turn = next?;
            if ctx.is_streaming() {
                for chunk in turn.chunks {
                    ctx.send_chunk(chunk).await;
                }
            }
            Ok(turn.response)
        })
    }
}
