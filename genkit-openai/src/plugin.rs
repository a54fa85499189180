//! [`OpenAI`]: the plugin. Provides `<name>/<model>` for any model id the server serves.

use std::fmt;
use std::sync::Arc;

use genkit_core::{Model, Plugin};

use crate::client::Client;
use crate::config::OpenAIBuilder;
use crate::error::OpenAIError;
use crate::model::OpenAIModel;

/// The OpenAI-compatible plugin. Models are resolved on first use, so any model id works:
/// `openai/gpt-4o-mini`, `openai/o3`, or `local/qwen2.5-coder-0.5b` for an instance named
/// `local`.
///
/// ```
/// use genkit_core::Genkit;
/// use genkit_openai::OpenAI;
///
/// let ai = Genkit::builder()
///     .plugin(OpenAI::builder().api_key("sk-...").build()?)
///     .plugin(OpenAI::builder().name("local").base_url("http://127.0.0.1:18080/v1").build()?)
///     .default_model("openai/gpt-4o-mini")
///     .build()?;
/// assert_eq!(ai.lookup_model("local/qwen2.5-coder-0.5b")?.name(), "local/qwen2.5-coder-0.5b");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct OpenAI {
    name: String,
    client: Arc<Client>,
}

impl fmt::Debug for OpenAI {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAI")
            .field("name", &self.name)
            .field("client", &self.client)
            .finish()
    }
}

impl OpenAI {
    pub(crate) fn new(name: String, client: Client) -> Self {
        Self {
            name,
            client: Arc::new(client),
        }
    }

    /// Starts configuring a plugin explicitly (defaults: name `openai`, OpenAI's base URL, no
    /// key).
    ///
    /// ```
    /// let plugin = genkit_openai::OpenAI::builder().api_key("sk-...").build()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn builder() -> OpenAIBuilder {
        OpenAIBuilder::new()
    }

    /// The plugin as OpenAI's official clients configure themselves: `OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`. Use
    /// [`OpenAIBuilder::from_env`] to change anything else.
    ///
    /// ```
    /// let plugin = genkit_openai::OpenAI::from_env()?;
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn from_env() -> Result<Self, OpenAIError> {
        OpenAIBuilder::from_env().build()
    }

    /// The model `id` on this plugin's server, named `<plugin>/<id>`.
    ///
    /// ```
    /// use genkit_core::Model;
    /// let openai = genkit_openai::OpenAI::builder().build()?;
    /// assert_eq!(openai.model("gpt-4o-mini").name(), "openai/gpt-4o-mini");
    /// # Ok::<(), genkit_openai::OpenAIError>(())
    /// ```
    pub fn model(&self, id: impl Into<String>) -> OpenAIModel {
        OpenAIModel::new(&self.name, id.into(), Arc::clone(&self.client))
    }
}

impl Plugin for OpenAI {
    fn name(&self) -> &str {
        &self.name
    }

    fn resolve_model(&self, name: &str) -> Option<Arc<dyn Model>> {
        if name.is_empty() {
            return None;
        }
        Some(Arc::new(self.model(name)))
    }
}

impl OpenAIBuilder {
    /// Builds the plugin. Fails on an invalid base URL, plugin name or header.
    ///
    /// ```
    /// assert!(genkit_openai::OpenAI::builder().base_url("not a url").build().is_err());
    /// ```
    pub fn build(self) -> Result<OpenAI, OpenAIError> {
        if self.name.is_empty() || self.name.contains('/') {
            return Err(OpenAIError::Config(format!(
                "plugin name '{}' must be non-empty and contain no '/'",
                self.name
            )));
        }
        let client = Client::new(&self)?;
        Ok(OpenAI::new(self.name, client))
    }
}
