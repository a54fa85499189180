//! Registration: an agent is three actions, `/agent/<name>` (the conversation),
//! `/agent-snapshot/<name>` (read a snapshot) and `/agent-abort/<name>` (abort a detached run),
//! described with `metadata.agent` the way Genkit describes them.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::chat::ChatRef;
use super::definition::Agent;
use super::error::AgentError;
use crate::action::{Action, ActionDescriptor, ActionKind};
use crate::error::GenkitError;
use crate::genkit::GenkitBuilder;
use crate::run::RunContext;
use crate::wire::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentMetadata,
    AgentStateManagement, GetSnapshotRequest, JsonMap,
};

/// What `/agent/<name>` takes as JSON: an init and the inputs of the invocation. A bare
/// `AgentInput` is one input with an empty init; when the caller gives the init apart
/// ([`RunOptions::with_init`](crate::RunOptions::with_init), as Genkit's `runAction` and served
/// requests do), the input is one `AgentInput`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invoke {
    #[serde(default)]
    init: AgentInit,
    #[serde(default)]
    input: Option<AgentInput>,
    #[serde(default)]
    inputs: Option<Vec<AgentInput>>,
}

type Run =
    dyn Fn(Value, RunContext) -> BoxFuture<'static, Result<Value, GenkitError>> + Send + Sync;

struct AgentAction {
    descriptor: ActionDescriptor,
    run: Box<Run>,
}

impl Action for AgentAction {
    fn descriptor(&self) -> &ActionDescriptor {
        &self.descriptor
    }

    fn run_json(&self, input: Value, ctx: RunContext) -> BoxFuture<'_, Result<Value, GenkitError>> {
        (self.run)(input, ctx)
    }
}

fn json<T: serde::Serialize>(what: &str, v: T) -> Result<Value, GenkitError> {
    serde_json::to_value(v).map_err(|e| GenkitError::json(what.to_owned(), e))
}

fn parse<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, GenkitError> {
    serde_json::from_value(v).map_err(|e| GenkitError::json(what.to_owned(), e))
}

/// The invocation of one call: the init given apart with one `AgentInput` as the input, or
/// `{init, input, inputs}`, or a bare `AgentInput`.
fn invocation(input: Value, init: Option<Value>) -> Result<Invoke, GenkitError> {
    if let Some(init) = init {
        let init: AgentInit = if init.is_null() {
            AgentInit::default()
        } else {
            parse("the agent init", init)?
        };
        let input: AgentInput = parse("the agent input", input)?;
        return Ok(Invoke {
            init,
            input: Some(input),
            inputs: None,
        });
    }
    let bare = input.as_object().is_some_and(|o| {
        !o.contains_key("init")
            && !o.contains_key("input")
            && !o.contains_key("inputs")
            && ["message", "resume", "detach"]
                .iter()
                .any(|k| o.contains_key(*k))
    });
    if bare {
        return Ok(Invoke {
            init: AgentInit::default(),
            input: Some(parse("the agent input", input)?),
            inputs: None,
        });
    }
    parse("the agent invocation", input)
}

impl<S> Agent<S>
where
    S: DeserializeOwned + Send + 'static,
{
    /// `metadata.agent` of the agent's actions.
    pub fn metadata(&self) -> AgentMetadata {
        AgentMetadata {
            state_management: if self.is_server_managed() {
                AgentStateManagement::Server
            } else {
                AgentStateManagement::Client
            },
            abortable: self.is_server_managed(),
            state_schema: self
                .inner
                .state_schema
                .as_ref()
                .and_then(|s| s.as_object().cloned()),
        }
    }

    fn descriptor(&self, kind: &str) -> ActionDescriptor {
        let mut d = ActionDescriptor::new(ActionKind::Custom(kind.to_owned()), self.name());
        d.description = self.inner.description.clone();
        let mut metadata = JsonMap::new();
        if let Ok(agent) = serde_json::to_value(self.metadata()) {
            metadata.insert("agent".to_owned(), agent);
        }
        if kind == "agent" {
            // a bidi action (inputs stream in under one init), as Genkit marks it
            metadata.insert("bidi".to_owned(), serde_json::Value::Bool(true));
        }
        d.metadata = metadata;
        d
    }

    /// The agent's three actions, for the registry.
    pub fn actions(&self) -> Vec<Arc<dyn Action>> {
        let agent = self.clone();
        let invoke = AgentAction {
            descriptor: self.descriptor("agent"),
            run: Box::new(move |input, ctx: RunContext| {
                let agent = agent.clone();
                Box::pin(async move {
                    let ai = ctx.genkit().clone();
                    let chunks = ctx.chunks().cloned();
                    let context = ctx.context().clone();
                    let call: Invoke = invocation(input, ctx.init().cloned())?;
                    let mut inputs = call.inputs.unwrap_or_default();
                    inputs.extend(call.input);
                    let (tx, mut rx) = mpsc::unbounded_channel();
                    let forward = async move {
                        while let Some(chunk) = rx.recv().await {
                            if let (Some(sink), Ok(v)) = (&chunks, serde_json::to_value(chunk)) {
                                sink.send(v).await;
                            }
                        }
                    };
                    // wire callers are untrusted: restarts must carry the stored input
                    let run = agent.run_inputs(&ai, call.init, inputs, Some(tx), context, false);
                    let (outcome, ()) = futures::join!(run, forward);
                    json("the agent output", outcome?.output)
                })
            }),
        };
        let agent = self.clone();
        let snapshot = AgentAction {
            descriptor: self.descriptor("agent-snapshot"),
            run: Box::new(move |input, ctx: RunContext| {
                let agent = agent.clone();
                Box::pin(async move {
                    let req: GetSnapshotRequest = parse("the snapshot request", input)?;
                    let lookup = snapshot_lookup(agent.name(), req)?;
                    let target = match &lookup {
                        ChatRef::Snapshot(s) | ChatRef::Session(s) => s.clone(),
                    };
                    match agent.snapshot_for(&lookup, ctx.context()).await? {
                        Some(s) => json("the snapshot", s),
                        None => Err(AgentError::SnapshotNotFound {
                            agent: agent.name().to_owned(),
                            snapshot_id: target,
                        }
                        .into()),
                    }
                })
            }),
        };
        let agent = self.clone();
        let abort = AgentAction {
            descriptor: self.descriptor("agent-abort"),
            run: Box::new(move |input, ctx: RunContext| {
                let agent = agent.clone();
                Box::pin(async move {
                    let req: AgentAbortRequest = parse("the abort request", input)?;
                    let status = agent.abort_for(&req.snapshot_id, ctx.context()).await?;
                    json(
                        "the abort response",
                        AgentAbortResponse {
                            snapshot_id: req.snapshot_id,
                            status,
                        },
                    )
                })
            }),
        };
        vec![Arc::new(invoke), Arc::new(snapshot), Arc::new(abort)]
    }
}

impl GenkitBuilder {
    /// Registers an agent as `/agent/<name>`, `/agent-snapshot/<name>` and
    /// `/agent-abort/<name>`.
    pub fn agent<S>(mut self, agent: Agent<S>) -> Self
    where
        S: DeserializeOwned + Send + 'static,
    {
        for action in agent.actions() {
            self = self.action(action);
        }
        self
    }
}

/// What a snapshot request (`getSnapshot`) names: a snapshot or a session, exactly one.
pub(crate) fn snapshot_lookup(
    agent: &str,
    req: crate::wire::GetSnapshotRequest,
) -> Result<ChatRef, AgentError> {
    match (req.snapshot_id, req.session_id) {
        (Some(id), None) => Ok(ChatRef::Snapshot(id)),
        (None, Some(id)) => Ok(ChatRef::Session(id)),
        _ => Err(AgentError::AmbiguousSnapshotRequest {
            agent: agent.to_owned(),
        }),
    }
}
