//! `/util/generate`: a generate call in Genkit's wire shape, as an ordinary registry action.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::error::GenkitError;
use crate::run::stream::forward_json;
use crate::run::RunContext;
use crate::wire::GenerateActionOptions;

/// Takes [`GenerateActionOptions`], answers the response in wire shape; a streaming caller gets
/// the chunks as JSON.
pub(crate) struct GenerateAction {
    descriptor: ActionDescriptor,
}

impl GenerateAction {
    pub(crate) fn new() -> Self {
        Self {
            descriptor: ActionDescriptor::new(ActionKind::Util, "generate"),
        }
    }
}

impl Action for GenerateAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        Box::pin(async move {
            let options: GenerateActionOptions = serde_json::from_value(input)
                .map_err(|e| GenkitError::json("generate options", e))?;
            let (genkit, run) = ctx.into_parts();
            let builder = genkit
                .generate()
                .options(options)
                .context(run.context().clone());
            let response = match run.chunks() {
                None => builder.await?,
                Some(out) => forward_json(out, |sink| builder.into_run(Some(sink))).await?,
            };
            serde_json::to_value(response.to_wire())
                .map_err(|e| GenkitError::json("generate response", e))
        })
    }

    fn traces_itself(&self) -> bool {
        true
    }
}
