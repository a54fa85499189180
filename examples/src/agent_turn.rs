//! The model call of a custom agent's turn, streamed to whoever reads the turn.

use futures::StreamExt;
use genkit_core::agent::SessionRunner;
use genkit_core::{AgentStreamChunk, GenerateBuilder, GenerateResponse, GenkitError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::unstreamed_retry::UnstreamedRetry;

/// Runs `call` for a turn of `sess`: streamed when someone reads the turn's chunks
/// (`chat.send_stream`, `chat.resume_stream`), each model chunk forwarded as the turn's own,
/// through [`UnstreamedRetry`] (the local server sometimes fails a streamed call before any
/// text); a plain call otherwise.
///
/// ```
/// use examples::agent_turn::generate;
/// use genkit_core::agent::{Agent, SessionRunner};
/// use genkit_core::prelude::*;
/// use genkit_core::testing::EchoModel;
/// use genkit_core::AgentResult;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let agent: Agent = Agent::custom("echo", |sess: SessionRunner| async move {
///     let turn_sess = sess.clone();
///     sess.run(move |_input, _turn| {
///         let sess = turn_sess.clone();
///         async move {
///             let call = sess.genkit().generate().model("echo").messages(sess.messages());
///             let response = generate(&sess, call).await?;
///             sess.set_messages(response.messages().to_vec());
///             Ok(Default::default())
///         }
///     })
///     .await?;
///     Ok(AgentResult { message: sess.messages().last().cloned(), ..Default::default() })
/// })
/// .build();
/// let ai = Genkit::builder().model(EchoModel::new("echo")).agent(agent.clone()).build()?;
/// let response = agent.chat(&ai).send("hello").await?;
/// assert!(response.text().contains("hello"));
/// # Ok(()) }
/// ```
pub async fn generate<S>(
    sess: &SessionRunner<S>,
    call: GenerateBuilder,
) -> Result<GenerateResponse, GenkitError>
where
    S: Serialize + DeserializeOwned,
{
    if !sess.streams() {
        return call.await;
    }
    let mut stream = call.middleware(UnstreamedRetry).stream();
    while let Some(chunk) = stream.next().await {
        // the aggregated repeat of an interrupted message, as prompt agents do, is left out
        if chunk.aggregated == Some(true) {
            continue;
        }
        sess.send_chunk(AgentStreamChunk {
            model_chunk: Some(chunk),
            ..Default::default()
        });
    }
    stream.response().await
}
