//! [`Dotprompt`]: the environment prompts compile in (helpers, partials, named schemas, tool
//! definitions), and [`PromptTemplate`]: one compiled prompt, rendered many times.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use genkit_core::Message;
use handlebars::template::Template;
use handlebars::{Context, Handlebars, RenderContext, RenderErrorReason, Renderable, StringOutput};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{DotpromptError, Position};
use crate::helpers::{self, DataHelper, DATA_HELPER};
use crate::messages;
use crate::metadata::{JsonMap, PromptMetadata};
use crate::parse::{parse_document, ParsedPrompt, SourceMap};
use crate::picoschema::{self, SchemaResolver};
use crate::template::{self as tpl, PartialUse};

/// Finds partials the environment does not have, by name (a directory, a database, ...).
pub trait PartialResolver: Send + Sync + 'static {
    /// The partial's source, or `None` when it does not exist.
    fn resolve(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String> + Send + Sync + 'static> PartialResolver for F {
    fn resolve(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// What a render gets besides the template: the input variables, the conversation so far
/// (for `{{history}}`), context documents, and context values read as `@name` (`@state`,
/// `@auth`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataArgument {
    /// The template's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Context documents (`@metadata.docs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Vec<Value>>,
    /// The conversation so far, placed by `{{history}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Values the template reads as `@key` (`{"state": {...}}` is `@state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonMap>,
}

/// A rendered prompt: the resolved metadata (without `input`) and the messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RenderedPrompt {
    /// Model, config, tools, output, ext, ...
    #[serde(flatten)]
    pub metadata: PromptMetadata,
    /// The messages, history placed.
    pub messages: Vec<Message>,
}

pub(crate) struct Env {
    hb: RwLock<Handlebars<'static>>,
    schemas: HashMap<String, Value>,
    tools: HashMap<String, Value>,
    partial_resolver: Option<Arc<dyn PartialResolver>>,
    default_model: Option<String>,
    model_configs: HashMap<String, JsonMap>,
    /// Where each registered partial came from, for errors in it.
    partial_files: RwLock<HashMap<String, Option<std::path::PathBuf>>>,
}

impl Clone for Env {
    fn clone(&self) -> Self {
        Env {
            hb: RwLock::new(self.hb.read().map(|h| h.clone()).unwrap_or_default()),
            schemas: self.schemas.clone(),
            tools: self.tools.clone(),
            partial_resolver: self.partial_resolver.clone(),
            default_model: self.default_model.clone(),
            model_configs: self.model_configs.clone(),
            partial_files: RwLock::new(
                self.partial_files
                    .read()
                    .map(|f| f.clone())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// A Dotprompt environment: the built-in helpers, partials (registered or found by a
/// [`PartialResolver`]), named schemas for Picoschema, tool definitions, a default model.
/// Cheap to clone; compile prompts with [`compile`](Self::compile).
///
/// ```
/// use genkit_dotprompt::{DataArgument, Dotprompt};
/// use serde_json::json;
/// let env = Dotprompt::new().partial("sign", "-- {{name}}")?;
/// let prompt = env.compile("---\nmodel: m\n---\n{{role \"system\"}}Be brief.\n{{role \"user\"}}Hi! {{> sign}}")?;
/// let out = prompt.render(&DataArgument { input: Some(json!({"name": "Ada"})), ..Default::default() })?;
/// assert_eq!(out.metadata.model.as_deref(), Some("m"));
/// assert_eq!(out.messages.len(), 2);
/// assert_eq!(out.messages[1].text(), "Hi! -- Ada");
/// # Ok::<(), genkit_dotprompt::DotpromptError>(())
/// ```
#[derive(Clone)]
pub struct Dotprompt {
    env: Arc<Env>,
}

impl fmt::Debug for Dotprompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dotprompt")
            .field("schemas", &self.env.schemas.keys().collect::<Vec<_>>())
            .field("default_model", &self.env.default_model)
            .finish_non_exhaustive()
    }
}

impl Default for Dotprompt {
    fn default() -> Self {
        Self::new()
    }
}

fn template_error(e: &handlebars::TemplateError, map: &SourceMap) -> DotpromptError {
    let (line, column) = e.pos().map_or((None, None), |(l, c)| (Some(l), Some(c)));
    DotpromptError::TemplateSyntax {
        at: map.template_position(line, column),
        message: e.reason().to_string(),
    }
}

impl Dotprompt {
    /// An environment with the built-in helpers and nothing else.
    pub fn new() -> Self {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut hb);
        Self {
            env: Arc::new(Env {
                hb: RwLock::new(hb),
                schemas: HashMap::new(),
                tools: HashMap::new(),
                partial_resolver: None,
                default_model: None,
                model_configs: HashMap::new(),
                partial_files: RwLock::new(HashMap::new()),
            }),
        }
    }

    fn env_mut(&mut self) -> &mut Env {
        // configured before first use; a shared environment is copied, not changed under others
        Arc::make_mut(&mut self.env)
    }

    /// Adds a named schema, usable as a type in Picoschema (`schema: Movie`).
    #[must_use]
    pub fn schema(mut self, name: impl Into<String>, schema: Value) -> Self {
        self.env_mut().schemas.insert(name.into(), schema);
        self
    }

    /// Adds a tool definition (Genkit's `ToolDefinition` JSON) that front matter can name.
    #[must_use]
    pub fn tool(mut self, definition: Value) -> Self {
        if let Some(name) = definition.get("name").and_then(Value::as_str) {
            let name = name.to_owned();
            self.env_mut().tools.insert(name, definition);
        }
        self
    }

    /// The model for prompts that name none.
    #[must_use]
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.env_mut().default_model = Some(model.into());
        self
    }

    /// Config every prompt for `model` starts from.
    #[must_use]
    pub fn model_config(mut self, model: impl Into<String>, config: JsonMap) -> Self {
        self.env_mut().model_configs.insert(model.into(), config);
        self
    }

    /// Finds partials that are not registered, when a template names them.
    #[must_use]
    pub fn partial_resolver(mut self, resolver: impl PartialResolver) -> Self {
        self.env_mut().partial_resolver = Some(Arc::new(resolver));
        self
    }

    /// Registers a partial (`{{> name}}`).
    pub fn partial(self, name: &str, source: &str) -> Result<Self, DotpromptError> {
        self.define_partial(name, source, None)?;
        Ok(self)
    }

    /// Registers a partial read from `file` (named in its errors); visible to every prompt of
    /// this environment, including ones compiled already.
    pub fn define_partial(
        &self,
        name: &str,
        source: &str,
        file: Option<&Path>,
    ) -> Result<(), DotpromptError> {
        let map = SourceMap {
            file: file.map(Path::to_path_buf),
            front_matter: String::new(),
            front_matter_line: 1,
            template_line: 1,
            template_column: 1,
        };
        let mut hb = self.env.hb.write().map_err(|_| poisoned())?;
        hb.register_partial(name, source)
            .map_err(|e| template_error(&e, &map))?;
        if let Some(mut t) = hb.get_template(name).cloned() {
            tpl::rewrite(&mut t);
            hb.register_template(name, t);
        }
        if let Ok(mut files) = self.env.partial_files.write() {
            files.insert(name.to_owned(), map.file);
        }
        Ok(())
    }

    /// True when a partial called `name` is registered.
    pub fn has_partial(&self, name: &str) -> bool {
        self.env.hb.read().is_ok_and(|hb| hb.has_template(name))
    }

    /// Parses a source (no compilation).
    pub fn parse(&self, source: &str) -> Result<ParsedPrompt, DotpromptError> {
        parse_document(source, None)
    }

    /// Parses and compiles a prompt given as a string.
    pub fn compile(&self, source: &str) -> Result<PromptTemplate, DotpromptError> {
        self.compile_parsed(parse_document(source, None)?)
    }

    /// Reads, parses and compiles a `.prompt` file.
    pub fn compile_file(&self, path: &Path) -> Result<PromptTemplate, DotpromptError> {
        let bytes = std::fs::read(path).map_err(|source| DotpromptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let source = crate::parse::decode(path, bytes)?;
        self.compile_parsed(parse_document(&source, Some(path))?)
    }

    /// Compiles a parsed prompt: partials resolved and checked, the template compiled once,
    /// the metadata resolved (tools, Picoschema, model config) once.
    pub fn compile_parsed(&self, parsed: ParsedPrompt) -> Result<PromptTemplate, DotpromptError> {
        let mut template =
            Template::compile(&parsed.template).map_err(|e| template_error(&e, &parsed.source))?;
        tpl::rewrite(&mut template);
        self.resolve_partials(&template, &parsed.source)?;
        let metadata = self.resolve_metadata(&parsed.metadata, &parsed.source, None)?;
        Ok(PromptTemplate {
            env: self.clone(),
            parsed: Arc::new(parsed),
            template: Arc::new(template),
            metadata_json: Arc::new(metadata_value(&metadata)),
            metadata: Arc::new(metadata),
        })
    }

    /// Resolves the partials `template` uses (recursively, through the resolver), failing on
    /// one that no one has.
    fn resolve_partials(&self, template: &Template, map: &SourceMap) -> Result<(), DotpromptError> {
        let mut pending: Vec<(PartialUse, SourceMap)> = tpl::partials(template)
            .into_iter()
            .map(|u| (u, map.clone()))
            .collect();
        let mut seen: Vec<String> = Vec::new();
        while let Some((usage, at)) = pending.pop() {
            if seen.contains(&usage.name) {
                continue;
            }
            seen.push(usage.name.clone());
            let known = self.has_partial(&usage.name);
            if !known {
                let found = self
                    .env
                    .partial_resolver
                    .as_ref()
                    .and_then(|r| r.resolve(&usage.name));
                match found {
                    Some(source) => self.define_partial(&usage.name, &source, None)?,
                    None => {
                        return Err(DotpromptError::MissingPartial {
                            at: at.template_position(usage.line, usage.column),
                            name: usage.name,
                        })
                    }
                }
            }
            // the partial's own partials
            let inner = self
                .env
                .hb
                .read()
                .ok()
                .and_then(|hb| hb.get_template(&usage.name).map(tpl::partials));
            let file = self
                .env
                .partial_files
                .read()
                .ok()
                .and_then(|f| f.get(&usage.name).cloned())
                .flatten();
            let partial_map = SourceMap {
                file,
                front_matter: String::new(),
                front_matter_line: 1,
                template_line: 1,
                template_column: 1,
            };
            for u in inner.unwrap_or_default() {
                pending.push((u, partial_map.clone()));
            }
        }
        Ok(())
    }

    /// The metadata of a prompt as rendering sees it: model config underneath, `extra` over
    /// it, tools resolved to definitions where known, schemas converted to JSON Schema.
    fn resolve_metadata(
        &self,
        parsed: &PromptMetadata,
        map: &SourceMap,
        extra: Option<&PromptMetadata>,
    ) -> Result<PromptMetadata, DotpromptError> {
        let model = extra
            .and_then(|e| e.model.clone())
            .or_else(|| parsed.model.clone())
            .or_else(|| self.env.default_model.clone());
        let mut out = PromptMetadata::default();
        if let Some(config) = model.as_ref().and_then(|m| self.env.model_configs.get(m)) {
            out.config = config.clone();
        }
        out = out.merged_with(parsed);
        out.ext = parsed.ext.clone();
        out.metadata = parsed.metadata.clone();
        if let Some(extra) = extra {
            out = out.merged_with(extra);
        }
        if let Some(names) = out.tools.take() {
            let mut defs = out.tool_defs.take().unwrap_or_default();
            let mut unregistered = Vec::new();
            for name in names {
                match self.env.tools.get(&name) {
                    Some(def) => defs.push(def.clone()),
                    None => unregistered.push(name),
                }
            }
            out.tools = Some(unregistered);
            out.tool_defs = Some(defs);
        }
        let resolver = |name: &str| self.env.schemas.get(name).cloned();
        let convert = |schema: &Value, key: &str| {
            picoschema::to_json_schema(schema, &resolver as &dyn SchemaResolver).map_err(
                |message| DotpromptError::Schema {
                    at: map.key_position(key),
                    message,
                },
            )
        };
        if let Some(input) = out.input.as_mut() {
            if let Some(schema) = input.schema.take() {
                input.schema = Some(convert(&schema, "input")?).filter(|s| !s.is_null());
            }
        }
        if let Some(output) = out.output.as_mut() {
            if let Some(schema) = output.schema.take() {
                output.schema = Some(convert(&schema, "output")?).filter(|s| !s.is_null());
            }
        }
        Ok(out)
    }
}

fn poisoned() -> DotpromptError {
    DotpromptError::Render {
        at: Position::default(),
        message: "the partial registry was poisoned by a panic".into(),
    }
}

/// One compiled prompt: its template compiled once and its metadata resolved once. Cheap to
/// clone, `Send + Sync`; render it any number of times, from any thread.
#[derive(Clone)]
pub struct PromptTemplate {
    env: Dotprompt,
    parsed: Arc<ParsedPrompt>,
    template: Arc<Template>,
    metadata: Arc<PromptMetadata>,
    /// `@metadata.prompt`: the metadata without `input`, as JSON, built once.
    metadata_json: Arc<Value>,
}

impl fmt::Debug for PromptTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptTemplate")
            .field("file", &self.parsed.source.file)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl PromptTemplate {
    /// The parsed source (front matter as written, template text, positions).
    pub fn parsed(&self) -> &ParsedPrompt {
        &self.parsed
    }

    /// The resolved metadata (input included), as [`render_metadata`](Self::render_metadata)
    /// without options gives it.
    pub fn metadata(&self) -> &PromptMetadata {
        &self.metadata
    }

    /// The environment it was compiled in.
    pub fn environment(&self) -> &Dotprompt {
        &self.env
    }

    /// The metadata with `options` laid over the front matter (model config underneath).
    pub fn render_metadata(
        &self,
        options: Option<&PromptMetadata>,
    ) -> Result<PromptMetadata, DotpromptError> {
        match options {
            None => Ok((*self.metadata).clone()),
            Some(o) => {
                self.env
                    .resolve_metadata(&self.parsed.metadata, &self.parsed.source, Some(o))
            }
        }
    }

    /// Renders with `data`: the metadata (without `input`) and the messages.
    pub fn render(&self, data: &DataArgument) -> Result<RenderedPrompt, DotpromptError> {
        self.render_with(data, None)
    }

    /// Renders with `data`; `options.input.default` supplies variables `data` does not give
    /// (over the front matter's own `input.default`).
    pub fn render_with(
        &self,
        data: &DataArgument,
        options: Option<&PromptMetadata>,
    ) -> Result<RenderedPrompt, DotpromptError> {
        let mut metadata = (*self.metadata).clone();
        metadata.input = None;
        let option_defaults = options
            .and_then(|o| o.input.as_ref())
            .and_then(|i| i.default.clone());
        let messages = self.render_messages(RenderData {
            input: data.input.clone(),
            extra_defaults: option_defaults,
            messages: data.messages.as_deref(),
            docs: data.docs.as_deref(),
            context: data.context.as_ref(),
        })?;
        Ok(RenderedPrompt { messages, metadata })
    }

    /// The messages only: what Genkit's prompt actions need, without copying the metadata.
    pub(crate) fn render_messages(
        &self,
        data: RenderData<'_>,
    ) -> Result<Vec<Message>, DotpromptError> {
        let front_defaults = self.metadata.input.as_ref().and_then(|i| i.default.clone());
        let history = data.messages;
        let input = merge_objects([
            front_defaults,
            data.extra_defaults.clone(),
            data.input.clone(),
        ]);
        let text = self.render_text(input, &data)?;
        Ok(messages::to_messages(&text, history))
    }

    fn render_text(&self, input: Value, data: &RenderData<'_>) -> Result<String, DotpromptError> {
        let hb = self.env.env.hb.read().map_err(|_| poisoned())?;
        let ctx = Context::from(input);
        let mut rc = RenderContext::new(None);
        rc.register_local_helper(
            DATA_HELPER,
            Box::new(DataHelper {
                prompt: &self.metadata_json,
                messages: data.messages,
                docs: data.docs,
                context: data.context,
            }),
        );
        let mut out = StringOutput::new();
        self.template
            .render(&hb, &ctx, &mut rc, &mut out)
            .map_err(|e| self.render_error(&e))?;
        out.into_string().map_err(|e| DotpromptError::Render {
            at: self.parsed.source.template_position(None, None),
            message: e.to_string(),
        })
    }

    fn render_error(&self, e: &handlebars::RenderError) -> DotpromptError {
        let at = self.parsed.source.template_position(e.line_no, e.column_no);
        match e.reason() {
            RenderErrorReason::PartialNotFound(name) => DotpromptError::MissingPartial {
                at,
                name: name.clone(),
            },
            reason => DotpromptError::Render {
                at,
                message: reason.to_string(),
            },
        }
    }
}

/// What one render reads, borrowed: `@` variables are looked up only when the template
/// uses them.
pub(crate) struct RenderData<'a> {
    pub(crate) input: Option<Value>,
    pub(crate) extra_defaults: Option<Value>,
    pub(crate) messages: Option<&'a [Message]>,
    pub(crate) docs: Option<&'a [Value]>,
    pub(crate) context: Option<&'a JsonMap>,
}

fn metadata_value(metadata: &PromptMetadata) -> Value {
    let mut m = metadata.clone();
    m.input = None;
    serde_json::to_value(m).unwrap_or(Value::Null)
}

/// Objects merged left to right (later keys win); a non-object input wins whole.
fn merge_objects<const N: usize>(values: [Option<Value>; N]) -> Value {
    let mut out = JsonMap::new();
    let mut last_other = None;
    for v in values.into_iter().flatten() {
        match v {
            Value::Object(m) => out.extend(m),
            Value::Null => {}
            other => last_other = Some(other),
        }
    }
    match last_other {
        Some(other) if out.is_empty() => other,
        _ => Value::Object(out),
    }
}
