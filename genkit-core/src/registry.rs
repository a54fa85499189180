//! [`Registry`]: every action of a Genkit instance, by key (`/kind/name`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::action::{Action, ActionDescriptor};
use crate::error::GenkitError;
use crate::model::{Model, ModelAction};
use crate::tool::{is_valid_tool_name, IntoTool, ToolAction};

/// The actions of a Genkit instance. Filled while building, read-only afterwards.
#[derive(Default)]
pub struct Registry {
    actions: HashMap<String, Arc<dyn Action>>,
    tools: HashMap<String, Arc<ToolAction>>,
    models: HashMap<String, Arc<dyn Model>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.actions.keys().collect();
        keys.sort();
        f.debug_struct("Registry").field("actions", &keys).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, action: Arc<dyn Action>) -> Result<(), GenkitError> {
        let key = action.descriptor().key.clone();
        if self.actions.contains_key(&key) {
            return Err(GenkitError::DuplicateAction { key });
        }
        self.actions.insert(key, action);
        Ok(())
    }

    /// Registers a tool as `/tool/<name>`.
    pub fn register_tool(&mut self, tool: impl IntoTool) -> Result<(), GenkitError> {
        let tool = tool.into_tool();
        if !is_valid_tool_name(tool.name()) {
            return Err(GenkitError::InvalidToolName {
                name: tool.name().to_owned(),
            });
        }
        self.insert(Arc::clone(&tool) as Arc<dyn Action>)?;
        self.tools.insert(tool.name().to_owned(), tool);
        Ok(())
    }

    /// Registers a model as `/model/<name>`.
    pub fn register_model(&mut self, model: Arc<dyn Model>) -> Result<(), GenkitError> {
        self.insert(Arc::new(ModelAction::new(Arc::clone(&model))))?;
        self.models.insert(model.name().to_owned(), model);
        Ok(())
    }

    /// Registers any other action under its descriptor's key.
    pub fn register_action(&mut self, action: Arc<dyn Action>) -> Result<(), GenkitError> {
        self.insert(action)
    }

    /// The tool called `name`.
    pub fn tool(&self, name: &str) -> Option<&Arc<ToolAction>> {
        self.tools.get(name)
    }

    /// Names of every registered tool, sorted.
    pub fn tool_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tools.keys().cloned().collect();
        names.sort();
        names
    }

    /// Every registered tool, in no particular order.
    pub(crate) fn tools(&self) -> impl Iterator<Item = &Arc<ToolAction>> {
        self.tools.values()
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&Arc<dyn Model>> {
        self.models.get(name)
    }

    /// The action under `key` (`/tool/ask_question`).
    pub fn action(&self, key: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(key)
    }

    /// Descriptors of every action, sorted by key.
    pub fn descriptors(&self) -> Vec<ActionDescriptor> {
        let mut out: Vec<ActionDescriptor> = self
            .actions
            .values()
            .map(|a| a.descriptor().clone())
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}
