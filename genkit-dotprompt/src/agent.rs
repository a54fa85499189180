//! Prompt agents defined by a `.prompt` file: each turn renders the named prompt over the
//! session's history, placed where the template says `{{history}}` (before the last user
//! message without one), as Genkit's named-prompt agents do. A turn that resumes (the history
//! ends in the model's pending tool requests) keeps only what the template puts before and in
//! the history, so the answers follow the requests.

use futures::future::BoxFuture;
use genkit_core::agent::{Agent, AgentBuilder, PromptRenderer};
use genkit_core::{ActionContext, GenerateActionOptions, Genkit, GenkitError, Messages, Role};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::executable::GenkitPromptExt;

/// Renders a registered prompt for a prompt agent's turn.
///
/// ```
/// use genkit_core::agent::Agent;
/// use genkit_dotprompt::DotpromptRenderer;
/// let agent: Agent = Agent::from_prompt("helper", DotpromptRenderer::new("helper")).build();
/// assert_eq!(agent.name(), "helper");
/// ```
#[derive(Debug, Clone)]
pub struct DotpromptRenderer {
    prompt: String,
    input: Value,
}

impl DotpromptRenderer {
    /// Renders the prompt registered as `prompt`, with no input variables.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            input: Value::Object(Default::default()),
        }
    }

    /// The input variables every turn renders with.
    #[must_use]
    pub fn input(mut self, input: Value) -> Self {
        self.input = input;
        self
    }
}

impl PromptRenderer for DotpromptRenderer {
    fn name(&self) -> &str {
        &self.prompt
    }

    fn render<'a>(
        &'a self,
        ai: &'a Genkit,
        history: Messages,
    ) -> BoxFuture<'a, Result<GenerateActionOptions, GenkitError>> {
        Box::pin(async move {
            let prompt = ai.prompt_definition(&self.prompt)?;
            let resuming = history
                .last()
                .is_some_and(|m| m.role == Role::Model && m.has_tool_requests());
            // the renderer reads plain messages (a template sees them as `@messages`)
            let plain: Vec<genkit_core::Message> = history.iter().cloned().collect();
            let mut options =
                prompt.render(ai, &self.input, Some(&plain), &ActionContext::new(), None)?;
            if resuming {
                // a conversation waiting on tool answers continues where it stopped: what the
                // template adds after the history would come between the requests and answers
                if let Some(last) = options
                    .messages
                    .iter()
                    .rposition(|m| Some(m) == history.last())
                {
                    options.messages.truncate(last + 1);
                }
            }
            Ok(options)
        })
    }
}

/// An agent named `name` whose turns render the prompt registered as `prompt`.
pub fn prompt_agent<S>(name: impl Into<String>, prompt: impl Into<String>) -> AgentBuilder<S>
where
    S: Serialize + DeserializeOwned + schemars::JsonSchema + Send + 'static,
{
    Agent::from_prompt(name, DotpromptRenderer::new(prompt))
}
