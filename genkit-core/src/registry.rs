//! [`Registry`]: every action of a Genkit instance, by key (`/kind/name`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::action::{Action, ActionDescriptor};
use crate::error::GenkitError;
use crate::middleware::MiddlewareDefinition;
use crate::model::{Model, ModelAction};
use crate::tool::{is_valid_tool_name, IntoTool, ToolAction};
use crate::wire::{MiddlewareDesc, MiddlewareRef};

/// The actions of a Genkit instance. Filled while building, read-only afterwards.
#[derive(Default)]
pub struct Registry {
    actions: HashMap<String, Arc<dyn Action>>,
    tools: HashMap<String, Arc<ToolAction>>,
    models: HashMap<String, Arc<dyn Model>>,
    middleware: Vec<Arc<MiddlewareDefinition>>,
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

    /// Registers a middleware, so `use` entries can name it (by its name or an alias). A
    /// name already taken is [`GenkitError::DuplicateAction`] (key `/middleware/<name>`); the
    /// built-ins (`retry`, `fallback`, `toolApproval`) yield to a definition of the same name.
    pub fn register_middleware(
        &mut self,
        definition: MiddlewareDefinition,
    ) -> Result<(), GenkitError> {
        let names = std::iter::once(definition.name())
            .chain(definition.aliases().iter().map(String::as_str));
        for name in names {
            if self.middleware.iter().any(|d| d.answers_to(name)) {
                return Err(GenkitError::DuplicateAction {
                    key: format!("/middleware/{name}"),
                });
            }
        }
        self.middleware.push(Arc::new(definition));
        Ok(())
    }

    /// Adds the built-in middleware whose names are still free.
    pub(crate) fn register_builtin_middleware(&mut self) {
        for definition in crate::middleware::builtins() {
            // a name the application took is the application's
            let _ = self.register_middleware(definition);
        }
    }

    /// A middleware for one call, from the definition `reference` names (name or alias) and
    /// its configuration; [`GenkitError::MiddlewareNotFound`] when none does.
    pub fn resolve_middleware(
        &self,
        reference: &MiddlewareRef,
    ) -> Result<Arc<dyn crate::middleware::Middleware>, GenkitError> {
        crate::middleware::definition::resolve(&self.middleware, reference)
    }

    /// The descriptors of every registered middleware, by name.
    pub fn middleware_descs(&self) -> Vec<MiddlewareDesc> {
        let mut out: Vec<MiddlewareDesc> =
            self.middleware.iter().map(|d| d.desc().clone()).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
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
