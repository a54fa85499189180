//! [`ExecutablePrompt`]: `ai.prompt("name")`, a registered prompt typed by its input and
//! output: `generate(input)`, `stream`, `render`, and resume through the prompt.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use genkit_core::{
    ActionContext, GenerateActionOptions, GenerateBuilder, GenerateResponse, GenerateStream,
    Genkit, GenkitError, Message, Part, ResumeOptions, ToolErrorMode,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::action::PromptAction;
use crate::definition::PromptDefinition;
use crate::error::DotpromptError;

/// Finds registered prompts on a [`Genkit`] instance.
pub trait GenkitPromptExt {
    /// The prompt registered as `name` (`name.variant` for a variant), typed by its input `I`
    /// and output `O` (`serde_json::Value` for either when untyped).
    fn prompt<I, O>(&self, name: &str) -> Result<ExecutablePrompt<I, O>, DotpromptError>;

    /// The prompt definition registered as `name`.
    fn prompt_definition(&self, name: &str) -> Result<Arc<PromptDefinition>, DotpromptError>;
}

impl GenkitPromptExt for Genkit {
    fn prompt<I, O>(&self, name: &str) -> Result<ExecutablePrompt<I, O>, DotpromptError> {
        Ok(ExecutablePrompt {
            ai: self.clone(),
            prompt: self.prompt_definition(name)?,
            types: PhantomData,
        })
    }

    fn prompt_definition(&self, name: &str) -> Result<Arc<PromptDefinition>, DotpromptError> {
        self.action(&format!("/prompt/{name}"))
            .as_deref()
            .and_then(|a| a.as_any())
            .and_then(|a| a.downcast_ref::<PromptAction>())
            .map(|a| Arc::clone(a.prompt()))
            .ok_or_else(|| DotpromptError::PromptNotFound {
                name: name.to_owned(),
            })
    }
}

/// A registered prompt: input `I` rendered through its template, output read as `O`.
///
/// ```
/// use genkit_core::{prelude::*, testing::EchoModel};
/// use genkit_dotprompt::{GenkitBuilderPromptExt, GenkitPromptExt, PromptLibrary};
/// use serde_json::{json, Value};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), genkit_dotprompt::DotpromptError> {
/// let library = PromptLibrary::new().with_source("greet", "---\nmodel: echo\n---\nSay hello to {{name}}.")?;
/// let ai = Genkit::builder().model(EchoModel::new("echo")).prompts(&library).build()?;
///
/// let greet = ai.prompt::<Value, Value>("greet")?;
/// let options = greet.render(json!({"name": "Ada"}))?;
/// assert_eq!(options.messages[0].text(), "Say hello to Ada.");
/// let response = greet.generate(json!({"name": "Ada"})).await?;
/// assert!(response.text().contains("Say hello to Ada."));
/// # Ok(()) }
/// ```
pub struct ExecutablePrompt<I = Value, O = Value> {
    ai: Genkit,
    prompt: Arc<PromptDefinition>,
    types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for ExecutablePrompt<I, O> {
    fn clone(&self) -> Self {
        Self {
            ai: self.ai.clone(),
            prompt: Arc::clone(&self.prompt),
            types: PhantomData,
        }
    }
}

impl<I, O> std::fmt::Debug for ExecutablePrompt<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutablePrompt")
            .field("name", &self.prompt.name())
            .finish_non_exhaustive()
    }
}

fn to_json<T: Serialize>(input: &T) -> Result<Value, DotpromptError> {
    serde_json::to_value(input).map_err(|e| GenkitError::json("prompt input", e).into())
}

impl<I: Serialize, O: DeserializeOwned> ExecutablePrompt<I, O> {
    /// The prompt's definition.
    pub fn definition(&self) -> &Arc<PromptDefinition> {
        &self.prompt
    }

    /// The generate options `input` renders to (messages, model, config, tools, output).
    pub fn render(&self, input: I) -> Result<GenerateActionOptions, DotpromptError> {
        self.prompt.render(
            &self.ai,
            &to_json(&input)?,
            None,
            &ActionContext::new(),
            None,
        )
    }

    /// A generate call of this prompt on `input`; `.await` it, or [`stream`](PromptCall::stream).
    pub fn generate(&self, input: I) -> PromptCall<O> {
        PromptCall {
            ai: self.ai.clone(),
            prompt: Arc::clone(&self.prompt),
            input: to_json(&input),
            history: None,
            respond: Vec::new(),
            restart: Vec::new(),
            context: ActionContext::new(),
            state: None,
            config: None,
            model: None,
            tool_errors: None,
            types: PhantomData,
        }
    }

    /// Streams a generate call of this prompt on `input`.
    pub fn stream(&self, input: I) -> Result<GenerateStream, DotpromptError> {
        self.generate(input).stream()
    }
}

/// One generate call through a prompt. Besides the input: the conversation so far
/// ([`messages`](Self::messages), placed by `{{history}}`), and for a resume the answers
/// ([`tool_responses`](Self::tool_responses), [`tool_restarts`](Self::tool_restarts)).
///
/// A resume continues the conversation it is given, whose first turn the prompt rendered
/// already: the template is not rendered again and no user message is appended (Genkit JS
/// appends the rendered message again and fails with `FAILED_PRECONDITION`).
#[must_use = "a prompt call does nothing until awaited"]
pub struct PromptCall<O = Value> {
    ai: Genkit,
    prompt: Arc<PromptDefinition>,
    input: Result<Value, DotpromptError>,
    history: Option<Vec<Message>>,
    respond: Vec<Part>,
    restart: Vec<Part>,
    context: ActionContext,
    state: Option<Value>,
    config: Option<Value>,
    model: Option<String>,
    tool_errors: Option<ToolErrorMode>,
    types: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for PromptCall<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptCall")
            .field("prompt", &self.prompt.name())
            .finish_non_exhaustive()
    }
}

impl<O: DeserializeOwned> PromptCall<O> {
    /// The conversation so far; on a resume, the interrupted response's messages.
    pub fn messages<M: Into<Message>>(mut self, messages: impl IntoIterator<Item = M>) -> Self {
        self.history = Some(messages.into_iter().map(Into::into).collect());
        self
    }

    /// Answers to interrupts (a resume).
    pub fn tool_responses(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.respond.extend(parts);
        self
    }

    /// Restarts of interrupted requests (a resume).
    pub fn tool_restarts(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.restart.extend(parts);
        self
    }

    /// The caller's context: visible to tools and models, and to the template as `@key`
    /// (`@auth`, ...).
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = context;
        self
    }

    /// The template's `@state`.
    pub fn state(mut self, state: impl Serialize) -> Self {
        self.state = serde_json::to_value(state).ok();
        self
    }

    /// Config laid over the front matter's, key by key.
    pub fn config(mut self, config: impl Serialize) -> Self {
        self.config = serde_json::to_value(config).ok();
        self
    }

    /// Another model than the front matter's.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// What happens when the model calls an unknown tool or sends invalid arguments.
    pub fn tool_errors(mut self, mode: ToolErrorMode) -> Self {
        self.tool_errors = Some(mode);
        self
    }

    /// The generate options this call runs with.
    pub fn to_options(&self) -> Result<GenerateActionOptions, DotpromptError> {
        let resuming = !self.respond.is_empty() || !self.restart.is_empty();
        let mut options = match (&self.history, resuming) {
            (Some(history), true) => {
                // the conversation carries the rendered prompt already
                self.prompt.check_tools(&self.ai)?;
                let mut o = self.prompt.base_options();
                o.messages = history.clone().into();
                o
            }
            (history, _) => {
                let input = self.input.as_ref().map_err(clone_error)?;
                self.prompt.render(
                    &self.ai,
                    input,
                    history.as_deref(),
                    &self.context,
                    self.state.as_ref(),
                )?
            }
        };
        if resuming {
            options.resume = Some(ResumeOptions {
                respond: Some(self.respond.clone()).filter(|v| !v.is_empty()),
                restart: Some(self.restart.clone()).filter(|v| !v.is_empty()),
                metadata: None,
            });
        }
        if let Some(model) = &self.model {
            options.model = Some(model.clone());
        }
        if let Some(Value::Object(extra)) = &self.config {
            let mut merged = match options.config.take() {
                Some(Value::Object(m)) => m,
                _ => Default::default(),
            };
            merged.extend(extra.clone());
            options.config = Some(Value::Object(merged));
        }
        Ok(options)
    }

    fn into_builder(self) -> Result<GenerateBuilder, DotpromptError> {
        let options = self.to_options()?;
        let mut builder = self.ai.generate().options(options).context(self.context);
        if let Some(mode) = self.tool_errors {
            builder = builder.tool_errors(mode);
        }
        Ok(builder)
    }

    /// Runs the call streaming; rendering errors come back here, the model's in the stream.
    pub fn stream(self) -> Result<GenerateStream, DotpromptError> {
        Ok(self.into_builder()?.stream())
    }
}

fn clone_error(e: &DotpromptError) -> DotpromptError {
    match e {
        DotpromptError::Genkit(g) => {
            DotpromptError::Genkit(GenkitError::with_status(g.status(), g.to_string()))
        }
        other => {
            DotpromptError::Genkit(GenkitError::with_status(other.status(), other.to_string()))
        }
    }
}

impl<O: DeserializeOwned + Send + 'static> IntoFuture for PromptCall<O> {
    type Output = Result<PromptResponse<O>, DotpromptError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        let builder = self.into_builder();
        Box::pin(async move {
            let response = builder?.await?;
            Ok(PromptResponse {
                response,
                output: PhantomData,
            })
        })
    }
}

/// A prompt's response: a [`GenerateResponse`] (it derefs to one) whose
/// [`output`](Self::output) reads as the prompt's output type.
pub struct PromptResponse<O = Value> {
    response: GenerateResponse,
    output: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for PromptResponse<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.response.fmt(f)
    }
}

impl<O: DeserializeOwned> PromptResponse<O> {
    /// The structured output as `O`.
    pub fn output(&self) -> Result<O, GenkitError> {
        self.response.output::<O>()
    }

    /// The response itself.
    pub fn into_inner(self) -> GenerateResponse {
        self.response
    }
}

impl<O> Deref for PromptResponse<O> {
    type Target = GenerateResponse;
    fn deref(&self) -> &GenerateResponse {
        &self.response
    }
}
