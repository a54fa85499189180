//! `generate`: one call that runs the whole tool loop, pauses on interrupts, and resumes.

mod action;
mod carry;
mod engine;
pub(crate) mod instrument;
mod response;
mod resume;
mod stream;
mod tool_calls;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use futures::future::Either;
use futures::FutureExt;
use serde::Serialize;
use serde_json::Value;

pub(crate) use action::GenerateAction;
pub use engine::DEFAULT_MAX_TURNS;
pub(crate) use engine::{run, Call};
pub use response::GenerateResponse;
pub use stream::GenerateStream;
pub use tool_calls::ToolErrorMode;

use crate::context::ActionContext;
use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::middleware::Middleware;
use crate::output::OutputFormat;
use crate::run::ChunkSink;
use crate::schema::{type_schema, TypeSchema};
use crate::tool::{IntoTool, ToolAction};
use crate::wire::{
    DocumentData, GenerateActionOptions, GenerateActionOutputConfig, JsonMap, Message,
    MiddlewareRef, Part, ResumeOptions, Role, ToolChoice,
};

impl From<&Message> for Message {
    fn from(m: &Message) -> Self {
        m.clone()
    }
}

impl From<&Arc<Message>> for Message {
    fn from(m: &Arc<Message>) -> Self {
        Message::clone(m)
    }
}

/// Builds a generate call; `.await` it to run.
///
/// ```
/// # use genkit_core::{prelude::*, testing::EchoModel};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
/// let response = ai.generate().system("Be brief.").prompt("Hello").await?;
/// assert_eq!(response.finish_reason(), Some(FinishReason::Stop));
/// assert!(response.text().contains("Hello"));
/// # Ok(()) }
/// ```
#[must_use = "a generate call does nothing until awaited"]
pub struct GenerateBuilder(Box<Choices>);

/// What a [`GenerateBuilder`] holds, boxed: every builder method takes and returns the
/// builder by value, and each of those moves would otherwise copy all of it.
struct Choices {
    ai: Genkit,
    options: GenerateActionOptions,
    system: Option<Vec<Part>>,
    prompt: Option<Vec<Part>>,
    extra_tools: Vec<Arc<ToolAction>>,
    context: ActionContext,
    tool_errors: ToolErrorMode,
    /// The schema and validator of `.output::<T>()`, built once per type.
    output_type: Option<Arc<TypeSchema>>,
    /// Middleware given by value or by name (resolved when given), in the order given (after
    /// the options' `use`): the call's chain as it will run, with no copy.
    layers: Vec<Arc<dyn Middleware>>,
    /// The ones given by name, for the wire form ([`to_options`](Self::to_options)).
    named: Vec<MiddlewareRef>,
    error: Option<GenkitError>,
}

impl std::fmt::Debug for GenerateBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateBuilder")
            .field("options", &self.0.options)
            .finish_non_exhaustive()
    }
}

impl GenerateBuilder {
    pub(crate) fn new(ai: Genkit) -> Self {
        Self(Box::new(Choices {
            ai,
            options: GenerateActionOptions::default(),
            system: None,
            prompt: None,
            extra_tools: Vec::new(),
            context: ActionContext::default(),
            tool_errors: ToolErrorMode::default(),
            output_type: None,
            layers: Vec::new(),
            named: Vec::new(),
            error: None,
        }))
    }

    fn json_or_defer(&mut self, what: &str, value: impl Serialize) -> Option<Value> {
        match serde_json::to_value(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.error.get_or_insert(GenkitError::json(what, e));
                None
            }
        }
    }

    fn resume_mut(&mut self) -> &mut ResumeOptions {
        self.0
            .options
            .resume
            .get_or_insert_with(ResumeOptions::default)
    }

    /// Starts from wire options (for example a `/util/generate` input).
    pub fn options(mut self, options: GenerateActionOptions) -> Self {
        self.0.options = options;
        self.0.output_type = None;
        self
    }

    /// The model, by name (`openai/gpt-4o-mini`); the instance's default otherwise.
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.0.options.model = Some(name.into());
        self
    }

    /// A user message with this text, after any `messages`.
    pub fn prompt(mut self, text: impl Into<String>) -> Self {
        self.0.prompt = Some(vec![Part::text(text)]);
        self
    }

    /// A user message with these parts (text, media, ...), after any `messages`.
    pub fn prompt_parts(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.0.prompt = Some(parts.into_iter().collect());
        self
    }

    /// A system message, placed first.
    pub fn system(mut self, text: impl Into<String>) -> Self {
        self.0.system = Some(vec![Part::text(text)]);
        self
    }

    /// The conversation so far, for example an interrupted response's
    /// [`messages`](GenerateResponse::messages).
    pub fn messages<M: Into<Message>>(mut self, messages: impl IntoIterator<Item = M>) -> Self {
        self.0.options.messages = messages.into_iter().map(Into::into).collect();
        self
    }

    /// Registered tools the model may call, by name.
    pub fn tools<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.0
            .options
            .tools
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// A tool the model may call, by value (it need not be registered).
    pub fn tool(mut self, tool: impl IntoTool) -> Self {
        let tool = tool.into_tool();
        let names = self.0.options.tools.get_or_insert_with(Vec::new);
        if !names.iter().any(|n| n == tool.name()) {
            names.push(tool.name().to_owned());
        }
        self.0.extra_tools.push(tool);
        self
    }

    /// Whether the model may (`Auto`), must (`Required`) or must not (`None`) call tools.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.0.options.tool_choice = Some(choice);
        self
    }

    /// Model configuration (`temperature`, ...), any serializable value.
    pub fn config(mut self, config: impl Serialize) -> Self {
        self.0.options.config = self.json_or_defer("config", config);
        self
    }

    /// Maximum tool rounds before the call fails (default 5).
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.0.options.max_turns = Some(turns);
        self
    }

    /// Return the model's tool requests instead of running them.
    pub fn return_tool_requests(mut self, yes: bool) -> Self {
        self.0.options.return_tool_requests = Some(yes);
        self
    }

    /// Context documents.
    pub fn docs(mut self, docs: impl IntoIterator<Item = DocumentData>) -> Self {
        self.0.options.docs = Some(docs.into_iter().collect());
        self
    }

    /// Answers to interrupts, built with `respond` or [`tool_response`](crate::tool_response).
    pub fn tool_responses(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.resume_mut()
            .respond
            .get_or_insert_with(Vec::new)
            .extend(parts);
        self
    }

    /// Restarts of interrupted requests, built with `restart` or
    /// [`tool_restart`](crate::tool_restart).
    pub fn tool_restarts(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.resume_mut()
            .restart
            .get_or_insert_with(Vec::new)
            .extend(parts);
        self
    }

    /// Metadata recorded as `resumed` on the tool message a resume appends.
    pub fn resume_metadata(mut self, metadata: impl Serialize) -> Self {
        if let Some(v) = self.json_or_defer("resume metadata", metadata) {
            match v {
                Value::Object(map) => self.resume_mut().metadata = Some(map),
                other => {
                    let mut map = JsonMap::new();
                    map.insert("value".to_owned(), other);
                    self.resume_mut().metadata = Some(map);
                }
            }
        }
        self
    }

    /// The caller's context (auth, ...), visible to models and tools.
    pub fn context(mut self, context: ActionContext) -> Self {
        self.0.context = context;
        self
    }

    fn output_mut(&mut self) -> &mut GenerateActionOutputConfig {
        self.0
            .options
            .output
            .get_or_insert_with(GenerateActionOutputConfig::default)
    }

    /// Asks for structured output of type `T`: its JSON schema is sent to the model (natively
    /// when the model supports constrained output, as instructions otherwise), the final answer
    /// is validated against it, and [`GenerateResponse::output`] reads it back as `T`.
    ///
    /// ```
    /// # use genkit_core::{prelude::*, testing::ProgrammableModel};
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Movie { title: String, year: u16 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// # let model = ProgrammableModel::new("m");
    /// # model.push_response(ModelResponse::new(Message::model(r#"{"title": "Alien", "year": 1979}"#), FinishReason::Stop));
    /// # let ai = Genkit::builder().model(model).default_model("m").build()?;
    /// let response = ai.generate().prompt("A sci-fi classic?").output::<Movie>().await?;
    /// let movie: Movie = response.output()?;
    /// assert_eq!(movie.year, 1979);
    /// # Ok(()) }
    /// ```
    ///
    /// The schema is derived and its validator compiled once per type, then shared by every call.
    pub fn output<T: schemars::JsonSchema + 'static>(mut self) -> Self {
        let typed = type_schema::<T>();
        self.output_mut().json_schema = Some(typed.schema.clone());
        self.0.output_type = Some(typed);
        self
    }

    /// Asks for structured output following a JSON schema given at run time.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_mut().json_schema = Some(schema);
        self.0.output_type = None;
        self
    }

    /// The output format (JSON by default when a schema is given).
    pub fn output_format(mut self, format: OutputFormat) -> Self {
        self.output_mut().format = Some(format.as_str().to_owned());
        self
    }

    /// Turns the format instructions added to the prompt on (`true`) or off (`false`).
    pub fn output_instructions(mut self, enabled: bool) -> Self {
        self.output_mut().instructions = Some(Value::Bool(enabled));
        self
    }

    /// Replaces the format instructions added to the prompt with `text`.
    pub fn output_instructions_text(mut self, text: impl Into<String>) -> Self {
        self.output_mut().instructions = Some(Value::String(text.into()));
        self
    }

    /// Whether to use the model's constrained decoding when it has one (default: yes).
    pub fn output_constrained(mut self, constrained: bool) -> Self {
        self.output_mut().constrained = Some(constrained);
        self
    }

    /// What happens when the model calls an unknown tool or sends invalid arguments.
    pub fn tool_errors(mut self, mode: ToolErrorMode) -> Self {
        self.0.tool_errors = mode;
        self
    }

    /// Wraps the call in `middleware` (see [`Middleware`]). Middleware added by
    /// [`middleware`](Self::middleware) and [`use_`](Self::use_) run in the order given, after
    /// the `use` list of the [`options`](Self::options); the first is the outermost.
    ///
    /// ```
    /// use genkit_core::middleware::{Retry, RetryConfig};
    /// # use genkit_core::{prelude::*, testing::EchoModel};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// # let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
    /// let response = ai.generate().prompt("hi").middleware(Retry::new(RetryConfig::default())).await?;
    /// # assert!(response.text().contains("hi"));
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn middleware(self, middleware: impl Middleware) -> Self {
        self.middleware_arc(Arc::new(middleware))
    }

    /// Wraps the call in a middleware already shared (an `Arc`).
    #[inline]
    pub fn middleware_arc(mut self, middleware: Arc<dyn Middleware>) -> Self {
        self.0.layers.push(middleware);
        self
    }

    /// Wraps the call in the middleware registered under `reference.name`, configured with
    /// `reference.config` (Genkit's `use`); an unknown name fails the call with
    /// [`GenkitError::MiddlewareNotFound`].
    ///
    /// ```
    /// # use genkit_core::{prelude::*, testing::EchoModel, MiddlewareRef};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// # let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
    /// let retry = MiddlewareRef::new("retry").with_config(serde_json::json!({"maxRetries": 2}));
    /// ai.generate().prompt("hi").use_(retry).await?;
    /// let unknown = ai.generate().prompt("hi").use_(MiddlewareRef::new("nope")).await;
    /// assert!(matches!(unknown, Err(GenkitError::MiddlewareNotFound { .. })));
    /// # Ok(()) }
    /// ```
    pub fn use_(mut self, reference: MiddlewareRef) -> Self {
        match self.0.ai.resolve_middleware(&reference) {
            Ok(m) => self.0.layers.push(m),
            Err(e) => {
                self.0.error.get_or_insert(e);
            }
        }
        self.0.named.push(reference);
        self
    }

    /// The call in Genkit's wire shape (the `/util/generate` input), with system and prompt
    /// folded into the messages. Middleware given by name is in `use`; middleware given by
    /// value has no wire form and is left out.
    pub fn to_options(&self) -> GenerateActionOptions {
        let mut options = self.0.options.clone();
        fold_messages(&mut options, self.0.system.clone(), self.0.prompt.clone());
        if !self.0.named.is_empty() {
            options
                .use_
                .get_or_insert_with(Vec::new)
                .extend(self.0.named.iter().cloned());
        }
        options
    }

    /// Runs the call streaming: chunks as they arrive, then the response. Dropping the
    /// stream cancels the call (model request and running tools).
    pub fn stream(self) -> GenerateStream {
        // a format that does not parse fails the call itself, with its error
        let format = self
            .0
            .options
            .output
            .as_ref()
            .and_then(|o| OutputFormat::requested(o).ok().flatten());
        GenerateStream::new(format, move |sink| {
            let carried = self.carried();
            self.into_run(Some(sink))
                .map(move |r| r.map(|r| r.carrying(carried)))
        })
    }

    /// The engine's future for this call (set up before it is polled: see `engine::run`), or
    /// the builder's error, ready.
    pub(crate) fn into_run(
        self,
        chunks: Option<ChunkSink>,
    ) -> impl Future<Output = Result<GenerateResponse, GenkitError>> + Send + 'static {
        match self.into_call(chunks) {
            Ok((ai, call)) => Either::Left(run(ai, call)),
            Err(e) => Either::Right(std::future::ready(Err(e))),
        }
    }

    pub(crate) fn into_call(
        self,
        chunks: Option<ChunkSink>,
    ) -> Result<(Genkit, Call), GenkitError> {
        if let Some(e) = self.0.error {
            return Err(e);
        }
        let mut options = self.0.options;
        fold_messages(&mut options, self.0.system, self.0.prompt);
        let middleware = match options.use_.as_deref() {
            None | Some([]) => self.0.layers,
            Some(references) => {
                let mut middleware = Vec::with_capacity(references.len() + self.0.layers.len());
                for reference in references {
                    middleware.push(self.0.ai.resolve_middleware(reference)?);
                }
                middleware.extend(self.0.layers);
                middleware
            }
        };
        Ok((
            self.0.ai,
            Call {
                options,
                extra_tools: self.0.extra_tools,
                middleware,
                context: self.0.context,
                tool_errors: self.0.tool_errors,
                output_validator: self.0.output_type.map(|t| t.validator.clone()),
                chunks,
            },
        ))
    }
}

/// Genkit's order: system first, then the history, then the prompt as a user message.
fn fold_messages(
    options: &mut GenerateActionOptions,
    system: Option<Vec<Part>>,
    prompt: Option<Vec<Part>>,
) {
    if let Some(parts) = system {
        options
            .messages
            .prepend(&[Arc::new(Message::new(Role::System, parts))]);
    }
    if let Some(parts) = prompt {
        options.messages.push(Message::new(Role::User, parts));
    }
}

impl IntoFuture for GenerateBuilder {
    type Output = Result<GenerateResponse, GenkitError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        let carried = self.carried();
        Box::pin(
            self.into_run(None)
                .map(move |r| r.map(|r| r.carrying(carried))),
        )
    }
}
