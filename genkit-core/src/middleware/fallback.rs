//! [`Fallback`]: when the model fails with a listed status, the same request goes to other
//! models, in order.

use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Hooks, Middleware, ModelCall, ModelNext};
use crate::error::GenkitError;
use crate::model::Model;
use crate::status::Status;
use crate::wire::{ModelRequest, ModelResponse};

/// Genkit's fallback statuses.
const DEFAULT_STATUSES: [Status; 7] = [
    Status::Unavailable,
    Status::DeadlineExceeded,
    Status::ResourceExhausted,
    Status::Aborted,
    Status::Internal,
    Status::NotFound,
    Status::Unimplemented,
];

/// A model to fall back to: a name (as Python writes it), or a name with its own config (as
/// JS and Go do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FallbackModel {
    /// The model's name.
    Name(String),
    /// The model's name and config.
    Ref {
        /// The model's name.
        name: String,
        /// Its config; see [`FallbackConfig::isolate_config`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Value>,
    },
}

impl FallbackModel {
    /// The model's name.
    pub fn name(&self) -> &str {
        match self {
            FallbackModel::Name(n) | FallbackModel::Ref { name: n, .. } => n,
        }
    }

    fn config(&self) -> Option<&Value> {
        match self {
            FallbackModel::Name(_) => None,
            FallbackModel::Ref { config, .. } => config.as_ref(),
        }
    }
}

impl From<&str> for FallbackModel {
    fn from(name: &str) -> Self {
        FallbackModel::Name(name.to_owned())
    }
}

impl From<String> for FallbackModel {
    fn from(name: String) -> Self {
        FallbackModel::Name(name)
    }
}

/// What [`Fallback`] falls back to, and when.
///
/// ```
/// use genkit_core::middleware::FallbackConfig;
/// let c: FallbackConfig = serde_json::from_value(serde_json::json!({
///     "models": ["backup", {"name": "other", "config": {"temperature": 0}}],
///     "isolateConfig": true
/// }))?;
/// assert_eq!(c.models[1].name(), "other");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FallbackConfig {
    /// The models to try, in order, after the call's model failed.
    #[serde(default)]
    pub models: Vec<FallbackModel>,
    /// The statuses that move on to the next model (default UNAVAILABLE, DEADLINE_EXCEEDED,
    /// RESOURCE_EXHAUSTED, ABORTED, INTERNAL, NOT_FOUND, UNIMPLEMENTED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Status>>,
    /// `true`: a fallback model gets only its own config. `false` (the default, as Genkit
    /// JS): its own config when it has one, the request's otherwise.
    #[serde(
        default,
        alias = "isolate_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub isolate_config: Option<bool>,
}

impl FallbackConfig {
    /// Falls back to `models`, in order.
    pub fn new<M: Into<FallbackModel>>(models: impl IntoIterator<Item = M>) -> Self {
        Self {
            models: models.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The statuses that move on to the next model.
    #[must_use]
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = Status>) -> Self {
        self.statuses = Some(statuses.into_iter().collect());
        self
    }

    /// Whether a fallback model gets only its own config.
    #[must_use]
    pub fn isolate_config(mut self, yes: bool) -> Self {
        self.isolate_config = Some(yes);
        self
    }
}

/// Falls back to other models when the call's model fails with a listed status (Genkit's
/// `fallback`).
///
/// - Every model of the list must exist: an unknown one fails the call with
///   [`GenkitError::ModelNotFound`] before the first model is called, so a misconfigured
///   fallback shows on the first call, not in the first outage. An empty list falls back to
///   nothing: the model's error is returned as it is.
/// - A failure whose status is not listed ends the sequence with that error.
/// - The middleware after this one in the `use` list wrap each fallback model too (with
///   `use [fallback, retry]`, each model is retried before the next is tried).
/// - A call that already streamed chunks to the consumer is not handed to another model.
///
/// ```
/// use genkit_core::middleware::{Fallback, FallbackConfig};
/// let fallback = Fallback::new(FallbackConfig::new(["backup-model"]));
/// # let _ = fallback;
/// ```
#[derive(Debug, Clone)]
pub struct Fallback {
    models: Vec<FallbackModel>,
    statuses: Vec<Status>,
    isolate: bool,
}

impl Fallback {
    /// A fallback middleware with `config`.
    pub fn new(config: FallbackConfig) -> Self {
        Self {
            models: config.models,
            statuses: config.statuses.unwrap_or_else(|| DEFAULT_STATUSES.to_vec()),
            isolate: config.isolate_config.unwrap_or(false),
        }
    }

    fn handled(&self, e: &GenkitError) -> bool {
        !matches!(
            e,
            GenkitError::ActionPanicked { .. } | GenkitError::MiddlewarePanicked { .. }
        ) && self.statuses.contains(&e.status())
    }
}

impl Middleware for Fallback {
    fn name(&self) -> &str {
        "fallback"
    }

    fn hooks(&self) -> Hooks {
        Hooks::MODEL
    }

    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let models: Vec<(&FallbackModel, Arc<dyn Model>)> = self
                .models
                .iter()
                .map(|m| call.genkit().lookup_model(m.name()).map(|model| (m, model)))
                .collect::<Result<_, _>>()?;
            let sent = call.ctx.chunks_sent();
            let mut error = match next.run(call.with_request(call.request)).await {
                Ok(response) => return Ok(response),
                Err(e) => e,
            };
            for (target, model) in models {
                if !self.handled(&error) || call.ctx.chunks_sent() > sent {
                    return Err(error);
                }
                tracing::warn!(from = call.model_name(), to = target.name(), error = %error,
                    "model call failed, falling back");
                let config = match (target.config(), self.isolate) {
                    (Some(own), _) => Some(own.clone()),
                    (None, true) => None,
                    (None, false) => call.request.config.clone(),
                };
                let request = ModelRequest {
                    config,
                    ..call.request.clone()
                };
                match next
                    .run_on(model.as_ref(), call.with_request(&request))
                    .await
                {
                    Ok(response) => return Ok(response),
                    Err(e) => error = e,
                }
            }
            Err(error)
        })
    }
}
