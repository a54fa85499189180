//! [`PromptDefinition`]: a compiled `.prompt` file as Genkit runs it: rendered to
//! [`GenerateActionOptions`], its input checked against its schema, its tools against the
//! registry.

use std::fmt;

use genkit_core::schema::Validator;
use genkit_core::MiddlewareRef;
use genkit_core::{
    ActionContext, GenerateActionOptions, GenerateActionOutputConfig, Genkit, JsonMap, Message,
    ModelRequest, OutputConfig, ToolChoice,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::dotprompt::{PromptTemplate, RenderData};
use crate::error::DotpromptError;
use crate::messages::{is_history, is_pending_part};

/// The generate options a prompt's front matter sets besides its messages, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptOptions {
    /// `model:`
    pub model: Option<String>,
    /// `config:`
    pub config: Option<Value>,
    /// `tools:`
    pub tools: Vec<String>,
    /// `toolChoice:` (`auto`, `required`, `none`)
    pub tool_choice: Option<ToolChoice>,
    /// `maxTurns:`
    pub max_turns: Option<u32>,
    /// `returnToolRequests:`
    pub return_tool_requests: Option<bool>,
    /// `use:` middleware references (names, or `{name, config}`), resolved by name when the
    /// prompt runs.
    pub use_: Option<Vec<MiddlewareRef>>,
    /// `output:` format and JSON schema.
    pub output: Option<GenerateActionOutputConfig>,
}

/// A prompt loaded for Genkit: its registry name (`name` or `name.variant`, prefixed by its
/// subdirectory), the compiled template, and the options its front matter sets.
#[derive(Clone)]
pub struct PromptDefinition {
    name: String,
    base_name: String,
    variant: Option<String>,
    template: PromptTemplate,
    options: PromptOptions,
    input_validator: Option<Validator>,
}

impl fmt::Debug for PromptDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptDefinition")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn raw_typed<T: DeserializeOwned>(
    template: &PromptTemplate,
    key: &str,
    want: &str,
) -> Result<Option<T>, DotpromptError> {
    let Some(v) = template.parsed().metadata.raw_value(key) else {
        return Ok(None);
    };
    if v.is_null() {
        return Ok(None);
    }
    serde_json::from_value(v.clone())
        .map(Some)
        .map_err(|e| DotpromptError::FrontMatter {
            at: template.parsed().source.key_position(key),
            message: format!("'{key}' must be {want}: {e}"),
        })
}

impl PromptDefinition {
    /// A prompt called `name` (and `variant`) from a compiled template: reads `maxTurns`,
    /// `toolChoice`, `returnToolRequests` and `use` from the front matter and compiles the
    /// input schema's validator once.
    pub fn new(
        name: impl Into<String>,
        variant: Option<String>,
        template: PromptTemplate,
    ) -> Result<Self, DotpromptError> {
        let base_name = name.into();
        let meta = template.metadata();
        let bad_use = || DotpromptError::FrontMatter {
            at: template.parsed().source.key_position("use"),
            message: "'use' must be a list of middleware names or {name, config}".into(),
        };
        let items: Option<Vec<Value>> = match template.parsed().metadata.raw_value("use") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(one @ (Value::String(_) | Value::Object(_))) => Some(vec![one.clone()]),
            Some(_) => return Err(bad_use()),
        };
        let use_ = match items {
            None => None,
            Some(items) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(name) => Ok(MiddlewareRef::new(name)),
                        object @ Value::Object(_) => {
                            serde_json::from_value(object).map_err(|_| bad_use())
                        }
                        _ => Err(bad_use()),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let mut tools = meta.tools.clone().unwrap_or_default();
        for def in meta.tool_defs.iter().flatten() {
            if let Some(n) = def.get("name").and_then(Value::as_str) {
                tools.push(n.to_owned());
            }
        }
        let output = meta.output.as_ref().map(|o| GenerateActionOutputConfig {
            format: o.format.clone(),
            json_schema: o.schema.clone(),
            ..Default::default()
        });
        let options = PromptOptions {
            model: meta.model.clone(),
            config: (!meta.config.is_empty()).then(|| Value::Object(meta.config.clone())),
            tools,
            tool_choice: raw_typed(&template, "toolChoice", "auto, required or none")?,
            max_turns: raw_typed(&template, "maxTurns", "a whole number")?,
            return_tool_requests: raw_typed(&template, "returnToolRequests", "true or false")?,
            use_,
            output,
        };
        let input_validator = match meta.input.as_ref().and_then(|i| i.schema.as_ref()) {
            Some(schema) => Some(Validator::compile("prompt input", schema).map_err(|e| {
                DotpromptError::Schema {
                    at: template.parsed().source.key_position("input"),
                    message: e.to_string(),
                }
            })?),
            None => None,
        };
        let name = match &variant {
            Some(v) => format!("{base_name}.{v}"),
            None => base_name.clone(),
        };
        Ok(Self {
            name,
            base_name,
            variant,
            template,
            options,
            input_validator,
        })
    }

    /// The registry name: `name`, or `name.variant`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name without the variant.
    pub fn base_name(&self) -> &str {
        &self.base_name
    }

    /// The variant, if this is one.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// The compiled template.
    pub fn template(&self) -> &PromptTemplate {
        &self.template
    }

    /// The options its front matter sets.
    pub fn options(&self) -> &PromptOptions {
        &self.options
    }

    /// The JSON schema of its input, if it has one.
    pub fn input_schema(&self) -> Option<&Value> {
        self.template
            .metadata()
            .input
            .as_ref()
            .and_then(|i| i.schema.as_ref())
    }

    /// The JSON schema of its output, if it has one.
    pub fn output_schema(&self) -> Option<&Value> {
        self.template
            .metadata()
            .output
            .as_ref()
            .and_then(|o| o.schema.as_ref())
    }

    /// Fails with [`DotpromptError::UnknownTool`] (naming the tool's place in the front
    /// matter) for a tool `ai` does not have.
    pub fn check_tools(&self, ai: &Genkit) -> Result<(), DotpromptError> {
        for name in &self.options.tools {
            if ai.registry().tool(name).is_none() {
                return Err(DotpromptError::UnknownTool {
                    at: self.template.parsed().source.item_position("tools", name),
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The input with the front matter's defaults under it, checked against the input schema.
    pub fn check_input(&self, input: &Value) -> Result<Value, DotpromptError> {
        let defaults = self
            .template
            .parsed()
            .metadata
            .input
            .as_ref()
            .and_then(|i| i.default.clone());
        let merged = match (defaults, input) {
            (Some(Value::Object(mut d)), Value::Object(given)) => {
                d.extend(given.clone());
                Value::Object(d)
            }
            (Some(d), Value::Null) => d,
            (_, given) => given.clone(),
        };
        if let Some(v) = &self.input_validator {
            v.check(&merged)
                .map_err(|violations| DotpromptError::InvalidInput {
                    at: self.template.parsed().source.key_position("input"),
                    violations,
                })?;
        }
        Ok(merged)
    }

    /// The generate options without messages: what a resume through this prompt uses.
    pub fn base_options(&self) -> GenerateActionOptions {
        let o = &self.options;
        GenerateActionOptions {
            model: o.model.clone(),
            tools: (!o.tools.is_empty()).then(|| o.tools.clone()),
            tool_choice: o.tool_choice,
            config: o.config.clone(),
            output: o.output.clone(),
            return_tool_requests: o.return_tool_requests,
            max_turns: o.max_turns,
            use_: o.use_.clone(),
            ..Default::default()
        }
    }

    /// Renders the messages for `input`, the conversation so far in `history` (placed by
    /// `{{history}}`, or before the last user message), `@`-variables from `context` (and
    /// `@state` from `state`), into generate options. History messages come back exactly as
    /// given (not re-tagged), so a sealed or tagged history stays intact.
    pub fn render(
        &self,
        ai: &Genkit,
        input: &Value,
        history: Option<&[Message]>,
        context: &ActionContext,
        state: Option<&Value>,
    ) -> Result<GenerateActionOptions, DotpromptError> {
        let input = self.check_input(input)?;
        self.check_tools(ai)?;
        let with_state;
        let ctx: &JsonMap = match state {
            Some(s) => {
                let mut c = context.as_map().clone();
                c.insert("state".into(), s.clone());
                with_state = c;
                &with_state
            }
            None => context.as_map(),
        };
        let rendered = self.template.render_messages(RenderData {
            input: Some(input),
            extra_defaults: None,
            messages: history,
            docs: None,
            context: Some(ctx),
        })?;
        let mut originals = history.unwrap_or_default().iter();
        let messages: Vec<Message> = rendered
            .into_iter()
            .filter_map(|m| {
                if is_history(&m) {
                    if let Some(orig) = originals.next() {
                        return Some(orig.clone());
                    }
                }
                let mut m = m;
                m.content.retain(|p| !is_pending_part(p));
                (!m.content.is_empty()).then_some(m)
            })
            .collect();
        let mut options = self.base_options();
        options.messages = messages.into();
        Ok(options)
    }

    /// What the model would be sent for `input`: Genkit's `GenerateRequest` (tools as their
    /// definitions), the output of `/prompt/<name>`.
    pub fn render_request(
        &self,
        ai: &Genkit,
        input: &Value,
        context: &ActionContext,
    ) -> Result<ModelRequest, DotpromptError> {
        let options = self.render(ai, input, None, context, None)?;
        let tools = options.tools.as_ref().map(|names| {
            names
                .iter()
                .filter_map(|n| ai.registry().tool(n).map(|t| t.definition().clone()))
                .collect()
        });
        let output = options.output.as_ref().map(|o| OutputConfig {
            format: o.format.clone(),
            schema: o.json_schema.as_ref().and_then(Value::as_object).cloned(),
            constrained: o.constrained,
            content_type: o.content_type.clone(),
        });
        let request = ModelRequest {
            messages: options.messages,
            config: options.config,
            tools,
            tool_choice: options.tool_choice,
            output,
            ..Default::default()
        };
        Ok(request)
    }
}
