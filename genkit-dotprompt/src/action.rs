//! The registry actions of a prompt, as Genkit defines them: `/prompt/<name>` (input: the
//! prompt's input; output: the model request it renders) and `/executable-prompt/<name>`
//! (output: the generate options), both described with `metadata.type = "prompt"` and the
//! prompt's front matter, so the Developer UI lists and runs them.

use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_core::{Action, ActionDescriptor, ActionKind, GenkitError, JsonMap, RunContext};
use serde_json::{json, Value};

use crate::definition::PromptDefinition;

/// Which of the two actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PromptActionKind {
    /// `/prompt/<name>`
    Render,
    /// `/executable-prompt/<name>`
    Executable,
}

pub(crate) struct PromptAction {
    descriptor: ActionDescriptor,
    prompt: Arc<PromptDefinition>,
    kind: PromptActionKind,
}

impl PromptAction {
    pub(crate) fn new(prompt: Arc<PromptDefinition>, kind: PromptActionKind) -> Self {
        let action_kind = match kind {
            PromptActionKind::Render => ActionKind::Custom("prompt".into()),
            PromptActionKind::Executable => ActionKind::Custom("executable-prompt".into()),
        };
        let mut descriptor = ActionDescriptor::new(action_kind, prompt.name());
        descriptor.description = prompt.template().metadata().description.clone();
        descriptor.input_schema = prompt.input_schema().cloned();
        descriptor.metadata = metadata(&prompt);
        Self {
            descriptor,
            prompt,
            kind,
        }
    }

    pub(crate) fn prompt(&self) -> &Arc<PromptDefinition> {
        &self.prompt
    }
}

/// `{type: "prompt", prompt: {...front matter resolved, template, use, toolChoice}}`, as
/// Genkit JS describes a loaded prompt.
fn metadata(p: &PromptDefinition) -> JsonMap {
    let meta = p.template().metadata();
    let mut prompt = match serde_json::to_value(meta) {
        Ok(Value::Object(m)) => m,
        _ => JsonMap::new(),
    };
    prompt.insert("name".into(), Value::from(p.base_name()));
    if let Some(v) = p.variant() {
        prompt.insert("variant".into(), Value::from(v));
    }
    let uses: Vec<Value> = p
        .options()
        .use_
        .iter()
        .flatten()
        .map(|u| serde_json::to_value(u).unwrap_or(Value::Null))
        .collect();
    prompt.insert("use".into(), Value::Array(uses));
    if let Some(tc) = p.options().tool_choice {
        prompt.insert("toolChoice".into(), json!(tc));
    }
    prompt.insert(
        "template".into(),
        Value::from(p.template().parsed().template.clone()),
    );
    let mut out = JsonMap::new();
    if let Some(Value::Object(m)) = p.template().parsed().metadata.raw_value("metadata") {
        out.insert("metadata".into(), Value::Object(m.clone()));
    }
    out.insert("type".into(), Value::from("prompt"));
    out.insert("prompt".into(), Value::Object(prompt));
    out
}

impl Action for PromptAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let (ai, run) = ctx.into_parts();
            let value = match self.kind {
                PromptActionKind::Render => {
                    let request = self.prompt.render_request(&ai, &input, run.context())?;
                    serde_json::to_value(request)
                }
                PromptActionKind::Executable => {
                    let options = self.prompt.render(&ai, &input, None, run.context(), None)?;
                    serde_json::to_value(options)
                }
            };
            value.map_err(|e| GenkitError::json("rendered prompt", e))
        })
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}
