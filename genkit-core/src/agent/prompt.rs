//! Prompt agents: each turn renders generate options for the history and runs the tool loop.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::runner::{SessionRunner, TurnResult};
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::wire::{
    AgentFinishReason, AgentResult, AgentStreamChunk, GenerateActionOptions,
    GenerateActionOutputConfig, GenerateResponseChunk, Message, Messages, Part, ResumeOptions,
    Role,
};

/// Marks the messages a render added around the history, so they are not stored.
const PREAMBLE: &str = "agentPreamble";
/// Marks history messages while a renderer places them.
const HISTORY: &str = "_genkit_history";

/// Renders a prompt agent's generate options for one turn.
///
/// The renderer gets the history (each message tagged, so anything it adds around it is told
/// apart and not stored) and returns the options: model, config, tools, and the messages with
/// the history placed where the prompt wants it. A dotprompt plugs in here.
pub trait PromptRenderer: Send + Sync + 'static {
    /// What the prompt is called (for errors).
    fn name(&self) -> &str;

    /// The options for a turn over `history` (shared with the session: cloning it or
    /// placing it in the options copies nothing).
    fn render<'a>(
        &'a self,
        ai: &'a Genkit,
        history: Messages,
    ) -> BoxFuture<'a, Result<GenerateActionOptions, GenkitError>>;

    /// True when `render` returns the history untouched, last, after whatever it adds (as
    /// [`PromptSpec`] does): the agent then tells the two apart by position and does not tag
    /// every history message. The default, false, is always correct.
    fn history_last(&self) -> bool {
        false
    }
}

/// A prompt agent's generate options: model, system prompt, tools, config, tool-round limit,
/// output. The history follows the system prompt.
///
/// ```
/// use genkit_core::agent::PromptSpec;
/// let spec = PromptSpec::new().model("pm").system("Be brief.").tools(["lookup"]).max_turns(3);
/// assert_eq!(spec.options().model.as_deref(), Some("pm"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PromptSpec {
    options: GenerateActionOptions,
    /// Built once: every turn puts this same message before the history.
    system: Option<Arc<Message>>,
}

impl PromptSpec {
    /// Empty options (the instance's default model, no tools).
    pub fn new() -> Self {
        Self::default()
    }

    /// The model, by name.
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.options.model = Some(name.into());
        self
    }

    /// The system prompt.
    pub fn system(mut self, text: impl Into<String>) -> Self {
        self.system = Some(Arc::new(Message::system(text.into())));
        self
    }

    /// Tools, by name.
    pub fn tools<T: Into<String>>(mut self, names: impl IntoIterator<Item = T>) -> Self {
        self.options.tools = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Model config (`temperature`, ...).
    pub fn config(mut self, config: Value) -> Self {
        self.options.config = Some(config);
        self
    }

    /// The limit on tool rounds per turn.
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.options.max_turns = Some(turns);
        self
    }

    /// Structured output.
    pub fn output(mut self, output: GenerateActionOutputConfig) -> Self {
        self.options.output = Some(output);
        self
    }

    /// Wraps every turn's generate call in the middleware registered under `reference.name`
    /// (Genkit's `use`; first given, outermost). An unknown name fails the turn with
    /// [`GenkitError::MiddlewareNotFound`].
    ///
    /// ```
    /// use genkit_core::agent::PromptSpec;
    /// use genkit_core::MiddlewareRef;
    /// let spec = PromptSpec::new().use_(MiddlewareRef::new("retry"));
    /// assert_eq!(spec.options().use_.as_ref().map(Vec::len), Some(1));
    /// ```
    pub fn use_(mut self, reference: crate::wire::MiddlewareRef) -> Self {
        self.options
            .use_
            .get_or_insert_with(Vec::new)
            .push(reference);
        self
    }

    /// The options as they stand (without history).
    pub fn options(&self) -> &GenerateActionOptions {
        &self.options
    }
}

impl PromptRenderer for PromptSpec {
    fn name(&self) -> &str {
        "inline prompt"
    }

    fn history_last(&self) -> bool {
        true
    }

    fn render<'a>(
        &'a self,
        _ai: &'a Genkit,
        history: Messages,
    ) -> BoxFuture<'a, Result<GenerateActionOptions, GenkitError>> {
        Box::pin(async move {
            let mut options = self.options.clone();
            options.messages = history;
            if let Some(system) = &self.system {
                // no copy when the history comes from the last turn, which dropped this same
                // message from the front of its rendered history (see `prompt_body`)
                options.messages.prepend(std::slice::from_ref(system));
            }
            Ok(options)
        })
    }
}

fn tag(message: &mut Message, key: &str) {
    message
        .metadata
        .get_or_insert_with(Default::default)
        .insert(key.to_owned(), Value::Bool(true));
}

fn untag(message: &mut Message, key: &str) -> bool {
    let Some(meta) = message.metadata.as_mut() else {
        return false;
    };
    let had = meta.remove(key).is_some();
    if meta.is_empty() {
        message.metadata = None;
    }
    had
}

fn is_tagged(message: &Message, key: &str) -> bool {
    message
        .metadata
        .as_ref()
        .is_some_and(|m| m.contains_key(key))
}

/// The body of every prompt agent.
pub(crate) async fn prompt_body<S>(
    sess: SessionRunner<S>,
    renderer: Arc<dyn PromptRenderer>,
) -> Result<AgentResult, GenkitError>
where
    S: Serialize + DeserializeOwned,
{
    let turn_sess = sess.clone();
    sess.run(move |input, _turn| {
        let sess = turn_sess.clone();
        let renderer = Arc::clone(&renderer);
        async move {
            let ai = sess.genkit().clone();
            let by_position = renderer.history_last();
            let mut history = sess.history();
            let history_len = history.len();
            if !by_position {
                history.for_each_mut(|m| tag(m, HISTORY));
            }
            let mut options = renderer.render(&ai, history).await?;
            // how many messages the render put before the history (by-position renderers)
            let mut preamble = 0;
            if by_position {
                preamble = options.messages.len().saturating_sub(history_len);
            } else {
                options.messages.for_each_mut(|m| {
                    if !untag(m, HISTORY) {
                        tag(m, PREAMBLE);
                    }
                });
            }
            if let Some(resume) = input.resume {
                options.resume = Some(ResumeOptions {
                    respond: resume.respond.filter(|v| !v.is_empty()),
                    restart: resume.restart.filter(|v| !v.is_empty()),
                    metadata: None,
                });
            }
            let mut call = ai
                .generate()
                .options(options)
                .context(sess.context().clone());
            for m in sess.middleware() {
                call = call.middleware_arc(Arc::clone(m));
            }
            // the aggregated repeat of an interrupted message is announced below instead
            let response = sess.generate(call).await?;
            if let Some(usage) = response.total_usage() {
                sess.record_usage(usage.clone());
            }
            let finish = response
                .finish_reason()
                .map(|f| AgentFinishReason::from_wire(f.as_str()));
            let requests: Vec<Part> = match (&finish, response.message()) {
                (Some(AgentFinishReason::Interrupted), Some(m)) => m
                    .content
                    .iter()
                    .filter(|p| p.as_tool_request().is_some())
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            // the history moves into the session (no copy)
            let mut kept = response.into_messages();
            if by_position {
                kept.drop_first(preamble);
            } else {
                kept.retain(|m| !is_tagged(m, PREAMBLE));
            }
            sess.set_history(kept);
            if !requests.is_empty() {
                sess.send_chunk(AgentStreamChunk {
                    model_chunk: Some(GenerateResponseChunk {
                        role: Some(Role::Tool),
                        content: requests,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
            Ok(TurnResult {
                finish_reason: finish,
            })
        }
    })
    .await?;
    let finish = super::runner::lock(&sess.shared.book).last_finish.clone();
    Ok(AgentResult {
        message: sess.history().last().cloned(),
        artifacts: Some(sess.artifacts()).filter(|a| !a.is_empty()),
        finish_reason: finish,
    })
}
