//! Test models, as Genkit ships them: a programmable model and an echo model.
//!
//! Use them to test an application's tools, interrupts and resume logic without a network.

mod echo;
mod programmable;
pub mod session_store;

pub use echo::EchoModel;
pub use programmable::{ProgrammableModel, Scripted};

/// Runs the action under `key` the way a streaming caller does, through the dispatcher, handing
/// each JSON chunk to `on_chunk` in order.
pub async fn run_action_streaming(
    ai: &crate::Genkit,
    key: &str,
    input: serde_json::Value,
    context: crate::ActionContext,
    on_chunk: impl Fn(serde_json::Value) + Send + Sync + 'static,
) -> Result<serde_json::Value, crate::GenkitError> {
    let (sink, mut rx) = crate::ChunkSink::channel(16);
    let options = crate::RunOptions::new(context).with_chunks(sink);
    let run = ai.run_action(key, input, options);
    let drain = async move {
        while let Some(v) = rx.recv().await {
            on_chunk(v);
        }
    };
    let (result, ()) = futures::join!(run, drain);
    result
}
