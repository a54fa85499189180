//! The execution seam: everything that runs (a tool, a model, a flow, `/util/generate`) is an
//! [`Action`](crate::Action) run with an explicit [`RunContext`] through one dispatcher,
//! [`Genkit::run_action`](crate::Genkit::run_action).
//!
//! - [`RunContext`]: what every run gets besides its input: the instance running it, the
//!   caller's context, the chunk sink when the caller streams, and a cancellation signal.
//! - [`RunOptions`]: what a caller of the dispatcher chooses (the same, minus the instance).
//! - [`ChunkSink`]: the one sink type, a bounded channel whose `send().await` is the
//!   backpressure; the stream driver behind `GenerateStream` and `FlowStream` reads it.
//! - [`Cancellation`]: how a caller asks a run to stop (dropping the run's future always does).

mod cancel;
pub(crate) mod guard;
mod sink;
pub(crate) mod stream;

use serde_json::Value;

pub use cancel::Cancellation;
pub use sink::ChunkSink;
pub(crate) use sink::Stamped;

use crate::context::ActionContext;
use crate::genkit::Genkit;

/// What a caller of [`Genkit::run_action`](crate::Genkit::run_action) chooses about a run: the
/// caller's context, where stream chunks go, and its cancellation signal.
///
/// An [`ActionContext`] converts into options with no sink and no cancellation.
///
/// ```
/// use genkit_core::{ActionContext, Cancellation, ChunkSink, RunOptions};
/// let (sink, _chunks) = ChunkSink::channel(16);
/// let options = RunOptions::new(ActionContext::new())
///     .with_chunks(sink)
///     .with_cancellation(Cancellation::new());
/// assert!(options.chunks().is_some());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RunOptions {
    context: ActionContext,
    chunks: Option<ChunkSink<Value>>,
    cancel: Cancellation,
    init: Option<Value>,
}

impl RunOptions {
    /// Options with the caller's `context`, no sink, no cancellation.
    pub fn new(context: ActionContext) -> Self {
        Self {
            context,
            ..Self::default()
        }
    }

    /// Streams the run's chunks, as JSON, into `sink`.
    pub fn with_chunks(mut self, sink: ChunkSink<Value>) -> Self {
        self.chunks = Some(sink);
        self
    }

    /// Streams into `sink` when there is one.
    pub fn with_optional_chunks(mut self, sink: Option<ChunkSink<Value>>) -> Self {
        self.chunks = sink;
        self
    }

    /// The signal the run watches.
    pub fn with_cancellation(mut self, cancel: Cancellation) -> Self {
        self.cancel = cancel;
        self
    }

    /// The session init of a bidi action (an agent's `AgentInit`), given apart from the
    /// input, as Genkit's `runAction` and served requests carry it (`{"data": .., "init": ..}`).
    pub fn with_init(mut self, init: Value) -> Self {
        self.init = Some(init);
        self
    }

    /// The caller's context.
    pub fn context(&self) -> &ActionContext {
        &self.context
    }

    /// The session init, when the caller gave one.
    pub fn init(&self) -> Option<&Value> {
        self.init.as_ref()
    }

    /// The sink, when the caller streams.
    pub fn chunks(&self) -> Option<&ChunkSink<Value>> {
        self.chunks.as_ref()
    }
}

impl From<ActionContext> for RunOptions {
    fn from(context: ActionContext) -> Self {
        Self::new(context)
    }
}

/// What every action run gets besides its input: the instance running it, the caller's context,
/// the chunk sink when the caller streams, and cancellation.
///
/// Built by the dispatcher ([`Genkit::run_action`](crate::Genkit::run_action)) for each run; a
/// nested run (a flow calling another action) gets its own, without the outer sink, so it never
/// streams into the outer caller.
#[derive(Debug, Clone)]
pub struct RunContext {
    genkit: Genkit,
    options: RunOptions,
}

impl RunContext {
    /// The context of a run of `genkit` with `options`.
    pub fn new(genkit: &Genkit, options: RunOptions) -> Self {
        Self {
            genkit: genkit.clone(),
            options,
        }
    }

    /// The instance running the action.
    pub fn genkit(&self) -> &Genkit {
        &self.genkit
    }

    /// The caller's context (auth and the like).
    pub fn context(&self) -> &ActionContext {
        &self.options.context
    }

    /// The sink, when the caller streams.
    pub fn chunks(&self) -> Option<&ChunkSink<Value>> {
        self.options.chunks.as_ref()
    }

    /// The session init the caller gave apart from the input (an agent's `AgentInit`).
    pub fn init(&self) -> Option<&Value> {
        self.options.init.as_ref()
    }

    /// True when the caller streams.
    pub fn is_streaming(&self) -> bool {
        self.options.chunks.is_some()
    }

    /// Sends a chunk to a streaming caller, waiting while it is behind; does nothing otherwise.
    pub async fn send_chunk(&self, chunk: Value) {
        if let Some(sink) = &self.options.chunks {
            sink.send(chunk).await;
        }
    }

    /// The caller's cancellation signal.
    pub fn cancellation(&self) -> &Cancellation {
        &self.options.cancel
    }

    /// The instance and the options, apart.
    pub fn into_parts(self) -> (Genkit, RunOptions) {
        (self.genkit, self.options)
    }
}
