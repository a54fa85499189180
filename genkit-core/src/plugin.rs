//! [`Plugin`]: how a package (a model provider, ...) adds actions to a Genkit instance.

use std::sync::Arc;

use crate::error::GenkitError;
use crate::model::Model;
use crate::registry::Registry;

/// A bundle of actions registered under a name prefix (`openai/...`).
///
/// `init` registers what is known up front; `resolve_model` provides models on demand, so a
/// plugin can accept any model name its API serves.
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name: the prefix of the models it provides.
    fn name(&self) -> &str;

    /// Registers the plugin's actions.
    fn init(&self, registry: &mut Registry) -> Result<(), GenkitError> {
        let _ = registry;
        Ok(())
    }

    /// Provides model `name` (without the plugin prefix) on first use, if the plugin serves it.
    fn resolve_model(&self, name: &str) -> Option<Arc<dyn Model>> {
        let _ = name;
        None
    }
}
