//! [`AgentError`]: every way an agent call can be refused, each naming its culprit and mapping
//! to a Genkit [`Status`].

use crate::error::{GenkitError, RequestId};
use crate::status::Status;
use crate::wire::SnapshotStatus;

/// Why an agent refused an init, an input or a lookup.
///
/// Each variant names what was wrong (the snapshot, the session, the tool request) so a caller
/// can tell a hostile or confused client what to fix. [`status`](Self::status) gives the Genkit
/// status it travels as; [`is_init_misuse`](Self::is_init_misuse) says whether Genkit throws it
/// (API misuse) rather than answering with a graceful `finishReason: failed`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// `init.state` sent to an agent whose state lives in a store.
    #[error("Cannot send 'state' to agent '{agent}': this agent uses a server-managed store. Send 'snapshotId' or 'sessionId' instead.")]
    StateSentToServerManaged {
        /// The agent.
        agent: String,
    },

    /// `init.snapshotId` or `init.sessionId` sent to an agent without a store.
    #[error("Cannot use '{field}' with agent '{agent}': this agent has no store configured (client-managed state). Send 'state' instead.")]
    IdSentToClientManaged {
        /// The agent.
        agent: String,
        /// `"snapshotId"` or `"sessionId"`.
        field: &'static str,
    },

    /// An init id that is empty or otherwise unusable.
    #[error("invalid {field} {value:?} for agent '{agent}': {reason}")]
    InvalidId {
        /// The agent.
        agent: String,
        /// `"snapshotId"` or `"sessionId"`.
        field: &'static str,
        /// The value sent.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// A snapshot request (`getSnapshot`) that names both a snapshot and a session, or neither.
    #[error(
        "a snapshot request to agent '{agent}' must give exactly one of snapshotId and sessionId"
    )]
    AmbiguousSnapshotRequest {
        /// The agent.
        agent: String,
    },

    /// The snapshot does not exist.
    #[error("Snapshot {snapshot_id} not found for agent '{agent}'")]
    SnapshotNotFound {
        /// The agent.
        agent: String,
        /// The snapshot asked for.
        snapshot_id: String,
    },

    /// The snapshot belongs to another session than the one named in the init.
    #[error(
        "Snapshot {snapshot_id} does not belong to session {session_id} (it belongs to {actual})"
    )]
    WrongSession {
        /// The snapshot.
        snapshot_id: String,
        /// The session named in the init.
        session_id: String,
        /// The session the snapshot belongs to.
        actual: String,
    },

    /// The snapshot's status does not allow continuing from it.
    #[error("Snapshot {snapshot_id} is not resumable (status: {status}); only completed or failed snapshots can be continued")]
    NotResumable {
        /// The snapshot.
        snapshot_id: String,
        /// Its effective status.
        status: SnapshotStatus,
    },

    /// The session has snapshots, but none a conversation can continue from.
    #[error("Session {session_id} has nothing resumable (its latest snapshot {snapshot_id} is {status}); resume a snapshot by id or start a new session")]
    NothingResumable {
        /// The session.
        session_id: String,
        /// Its latest snapshot.
        snapshot_id: String,
        /// That snapshot's status.
        status: SnapshotStatus,
    },

    /// The interrupted snapshot was already resumed once; an answer is a side effect.
    #[error("Snapshot {snapshot_id} was already resumed by snapshot {consumed_by}; an interrupted snapshot is resumed once (enable branching on the agent to resume it again)")]
    AlreadyResumed {
        /// The interrupted snapshot.
        snapshot_id: String,
        /// The snapshot whose turn consumed its answers.
        consumed_by: String,
    },

    /// A plain message sent while tool requests wait for answers.
    #[error("the conversation has pending tool requests ({}): answer them with resume.respond or resume.restart, or abandon them explicitly", .pending.join(", "))]
    PendingInterrupts {
        /// The pending requests, as `'name' (call ref)`.
        pending: Vec<String>,
    },

    /// A resume with nothing pending to answer.
    #[error("resume sent but the conversation has no pending tool requests")]
    NothingToResume,

    /// A respond or restart naming a tool request the history does not have at all.
    #[error("resume.{kind} references tool {request} which was not found in session history")]
    UnknownToolRequest {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// The request named.
        request: RequestId,
    },

    /// A respond or restart for a request of the history that is not waiting for an answer.
    #[error("resume.{kind} references tool {request} which is not pending (pending: {})", .pending.join(", "))]
    StaleToolRequest {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// The request named.
        request: RequestId,
        /// What is pending.
        pending: Vec<String>,
    },

    /// Two answers for one pending request.
    #[error("resume answers tool request {request} more than once")]
    DuplicateAnswer {
        /// The request.
        request: RequestId,
    },

    /// A restart whose input differs from the stored request's.
    #[error("resume.restart for tool {request} has modified inputs that do not match the original tool request in session history")]
    ModifiedRestartInput {
        /// The request.
        request: RequestId,
    },

    /// A resume part of the wrong kind (a respond that is not a toolResponse, ...).
    #[error("every resume.{kind} part must be a {expected} part")]
    MalformedResume {
        /// `"respond"` or `"restart"`.
        kind: &'static str,
        /// The part kind expected.
        expected: &'static str,
    },

    /// An input with both a message and resume answers.
    #[error("an input carries either a message or resume answers, not both")]
    MessageWithResume,

    /// The custom state does not fit the agent's state type.
    #[error("the custom state of agent '{agent}' does not match its state schema: {reason}")]
    InvalidCustomState {
        /// The agent.
        agent: String,
        /// Why.
        reason: String,
    },

    /// Detach asked of an agent without a store.
    #[error("Detach is only supported when a session store is provided (agent '{agent}')")]
    DetachWithoutStore {
        /// The agent.
        agent: String,
    },

    /// An operation that needs a store, on an agent without one.
    #[error("'{operation}' needs a session store, and agent '{agent}' has none")]
    NoStore {
        /// The agent.
        agent: String,
        /// What was asked.
        operation: &'static str,
    },

    /// A prompt a prompt agent renders is not available.
    #[error("prompt '{prompt}' of agent '{agent}' could not be rendered: {reason}")]
    Prompt {
        /// The agent.
        agent: String,
        /// The prompt.
        prompt: String,
        /// Why.
        reason: String,
    },

    /// The invocation ended without an output (its task was cancelled or panicked).
    #[error("agent '{agent}' stopped without an output: {reason}")]
    Stopped {
        /// The agent.
        agent: String,
        /// Why.
        reason: String,
    },
}

impl AgentError {
    /// The Genkit status this error travels as.
    pub fn status(&self) -> Status {
        use AgentError::*;
        match self {
            StateSentToServerManaged { .. }
            | IdSentToClientManaged { .. }
            | NotResumable { .. }
            | NothingResumable { .. }
            | AlreadyResumed { .. }
            | PendingInterrupts { .. }
            | NothingToResume
            | DetachWithoutStore { .. }
            | NoStore { .. } => Status::FailedPrecondition,
            InvalidId { .. }
            | AmbiguousSnapshotRequest { .. }
            | WrongSession { .. }
            | UnknownToolRequest { .. }
            | StaleToolRequest { .. }
            | DuplicateAnswer { .. }
            | ModifiedRestartInput { .. }
            | MalformedResume { .. }
            | MessageWithResume
            | InvalidCustomState { .. } => Status::InvalidArgument,
            SnapshotNotFound { .. } | Prompt { .. } => Status::NotFound,
            Stopped { .. } => Status::Internal,
        }
    }

    /// Whether Genkit throws this error out of the invocation (API misuse: the init does not
    /// fit the agent) instead of answering with `finishReason: failed`.
    pub fn is_init_misuse(&self) -> bool {
        matches!(
            self,
            AgentError::StateSentToServerManaged { .. }
                | AgentError::IdSentToClientManaged { .. }
                | AgentError::WrongSession { .. }
                | AgentError::InvalidId { .. }
                | AgentError::DetachWithoutStore { .. }
        )
    }
}

impl From<AgentError> for GenkitError {
    fn from(e: AgentError) -> Self {
        GenkitError::Agent(Box::new(e))
    }
}
