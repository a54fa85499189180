//! Agents: named, stateful conversations whose every turn is a snapshot, Genkit's Agent API.
//!
//! An [`Agent<S>`] is typed by its custom state `S` (`()` for none) and defined three ways:
//! [`Agent::prompt`] from generate options, [`Agent::from_prompt`] over a prompt rendered each
//! turn, or [`Agent::custom`] from an async function over a [`SessionRunner`]. With a
//! [`SessionStore`](crate::session::SessionStore) its state lives on the server (each turn a
//! snapshot, clients send ids); without one the client holds it (the whole state round-trips).
//!
//! Stricter than Genkit's agents, on purpose:
//! - resume answers are checked against the history the agent holds, never the client's: an
//!   answer must match a pending request (name and ref) once, a restart must carry the stored
//!   input, and this holds for custom agents too;
//! - a plain message while tool requests are pending is `FAILED_PRECONDITION`, unless the
//!   application abandons them ([`Chat::abandon_and_send`]: each answered with an explicit
//!   cancellation the model reads);
//! - on a sealed instance ([`HistorySeal`](crate::HistorySeal)) client-held state is sealed: a
//!   state whose messages changed (an edited tool input, a forged restart) is refused;
//! - an interrupted snapshot is resumed once (an answer is a side effect): a second resume is
//!   refused naming the snapshot that consumed it, unless the agent opts into
//!   [`branching`](AgentBuilder::branching). Branching from *completed* turns (agent.yaml's
//!   branching case) is always allowed;
//! - a session id whose snapshots are all pending or aborted is an error, not a new session;
//! - a detached turn's pending record holds its input, and its outcome names the right parent;
//! - a failed turn is stored as a failed snapshot at the last turn seam (its input kept in the
//!   error's details) and can be continued.

pub(crate) mod action;
mod chat;
mod definition;
mod error;
mod invoke;
mod patch;
mod prompt;
mod runner;
mod signal;
mod store;
mod validate;

pub use chat::{
    abandoning, AgentResponse, AgentTurnStream, Chat, ChatRef, DetachedTurn, IntoAgentInput,
};
pub use definition::{Agent, AgentBuilder, ClientTransform};
pub use error::AgentError;
pub use prompt::{PromptRenderer, PromptSpec};
pub use runner::{SessionRunner, TurnContext, TurnResult};
pub use signal::AbortSignal;

pub use crate::wire::AgentResult;
