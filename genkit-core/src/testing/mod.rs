//! Test models, as Genkit ships them: a programmable model and an echo model.
//!
//! Use them to test an application's tools, interrupts and resume logic without a network.

mod echo;
mod programmable;
pub mod session_store;

pub use echo::EchoModel;
pub use programmable::{ProgrammableModel, Scripted};

/// Runs the action under `key` the way a streaming caller does, handing each JSON chunk to
/// `on_chunk` (what spec harnesses need until the run context takes a chunk sink directly).
pub async fn run_action_streaming(
    ai: &crate::Genkit,
    key: &str,
    input: serde_json::Value,
    context: crate::ActionContext,
    on_chunk: impl Fn(serde_json::Value) + Send + Sync + 'static,
) -> Result<serde_json::Value, crate::GenkitError> {
    let action = ai
        .registry()
        .action(key)
        .ok_or_else(|| crate::GenkitError::ActionNotFound {
            key: key.to_owned(),
        })?
        .clone();
    let on_chunk = std::sync::Arc::new(on_chunk);
    let sink: crate::flow::scope::JsonSink = std::sync::Arc::new(move |v| {
        on_chunk(v);
        Box::pin(async {})
    });
    let scope = crate::flow::scope::Scope {
        genkit: Some(ai.clone()),
        chunks: Some(sink),
    };
    crate::flow::scope::Scoped::new(scope, action.run_json(input, context)).await
}
