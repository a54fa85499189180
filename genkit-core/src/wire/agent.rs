//! Agents and sessions on the wire: [`AgentInput`], [`AgentInit`], [`AgentOutput`],
//! [`AgentStreamChunk`], [`SessionState`], [`SessionSnapshot`] and the types they are made of.
//!
//! Each type serializes to the shape of its `$defs` entry in Genkit's `genkit-schema.json`:
//! camelCase keys, optional fields omitted when absent. The schema closes these objects
//! (`additionalProperties: false`), so unknown keys are ignored on read rather than kept. The
//! string enums ([`SnapshotStatus`], [`AgentFinishReason`], [`AgentStateManagement`],
//! [`JsonPatchOp`]) keep a value they do not know in an `Unrecognized` variant, so a snapshot written by
//! a newer Genkit still reads and writes back unchanged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::chunk::GenerateResponseChunk;
use super::message::Message;
use super::messages::Messages;
use super::nullable::present;
use super::part::{JsonMap, Part};

/// A string enum of the schema with a catch-all `Unrecognized(String)` for values this version does
/// not know.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of genkit-rs does not know, kept verbatim.
            Unrecognized(String),
        }

        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unrecognized(s) => s.as_str(),
                }
            }

            /// The value for a wire name; unknown names become `Unrecognized`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unrecognized(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from_wire(&s))
            }
        }
    };
}

open_enum! {
    /// The lifecycle of a stored snapshot.
    ///
    /// `Pending` is a detached turn still running (it refreshes `heartbeatAt`); the others are
    /// final. `Expired` is never written: a reader reports a pending snapshot whose heartbeat went
    /// stale as expired (see [`SessionSnapshot::effective_status`]).
    /// A snapshot without a status is `Completed`.
    SnapshotStatus {
        /// A detached turn is still running.
        Pending => "pending",
        /// The turn ended (normally, or interrupted by a tool); resumable.
        Completed => "completed",
        /// The turn was aborted.
        Aborted => "aborted",
        /// The turn failed; `error` says why.
        Failed => "failed",
        /// A pending snapshot whose worker stopped sending heartbeats (computed on read).
        Expired => "expired",
    }
}

open_enum! {
    /// Why an agent turn (or detached invocation) ended.
    AgentFinishReason {
        /// The model finished its answer.
        Stop => "stop",
        /// The model hit its output limit.
        Length => "length",
        /// A safety filter stopped the model.
        Blocked => "blocked",
        /// A tool interrupted the turn; resume it with answers.
        Interrupted => "interrupted",
        /// Another reason.
        Other => "other",
        /// The reason is not known.
        Unknown => "unknown",
        /// The turn was aborted.
        Aborted => "aborted",
        /// The turn goes on in the background (detach).
        Detached => "detached",
        /// The turn failed.
        Failed => "failed",
    }
}

open_enum! {
    /// Who holds an agent's state between turns.
    AgentStateManagement {
        /// A session store on the server; clients send snapshot or session ids.
        Server => "server",
        /// The client; the whole state round-trips in `init.state`.
        Client => "client",
    }
}

open_enum! {
    /// The operation of a [`JsonPatchOperation`] (RFC 6902).
    JsonPatchOp {
        /// Add a value.
        Add => "add",
        /// Remove a value.
        Remove => "remove",
        /// Replace a value.
        Replace => "replace",
        /// Move a value from `from` to `path`.
        Move => "move",
        /// Copy a value from `from` to `path`.
        Copy => "copy",
        /// Check a value.
        Test => "test",
    }
}

/// A failure in the shape every Genkit runtime reports it (`RuntimeError` in the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeError {
    /// The Genkit status name, like `"FAILED_PRECONDITION"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What went wrong.
    pub message: String,
    /// Free-form detail.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub details: Option<Value>,
}

impl RuntimeError {
    /// An error with a status and a message.
    pub fn new(status: crate::Status, message: impl Into<String>) -> Self {
        Self {
            status: Some(status.name().to_owned()),
            message: message.into(),
            details: None,
        }
    }
}

/// A named collection of parts an agent produced (a document, a plan, an image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// The artifact's name; an artifact with the name of an earlier one replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The content.
    pub parts: Vec<Part>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl Artifact {
    /// A named artifact with the given parts.
    pub fn new(name: impl Into<String>, parts: Vec<Part>) -> Self {
        Self {
            name: Some(name.into()),
            parts,
            metadata: None,
        }
    }
}

/// One RFC 6902 operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonPatchOperation {
    /// The operation.
    pub op: JsonPatchOp,
    /// JSON Pointer (RFC 6901) to the target; `""` is the whole document.
    pub path: String,
    /// JSON Pointer to the source, for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The operand of `add`, `replace` and `test`; an explicit `null` is kept apart from none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Value>,
}

/// An RFC 6902 JSON Patch: operations applied in order. Streamed as `customPatch` when an
/// agent's custom state changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonPatch(pub Vec<JsonPatchOperation>);

/// The portable state of a conversation: what a client-managed agent round-trips and what a
/// snapshot stores.
///
/// ```
/// use genkit_core::{Message, SessionState};
/// let state = SessionState { messages: Some(vec![Message::user("hi")].into()), ..Default::default() };
/// assert_eq!(state.messages().len(), 1);
/// assert_eq!(serde_json::to_value(&state).unwrap()["messages"][0]["role"], "user");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    /// The session this state belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The conversation history (user and model turns, tool messages), shared between the
    /// states and snapshots that hold it (cloning a state does not copy it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Messages>,
    /// The agent's custom state, any JSON.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub custom: Option<Value>,
    /// Artifacts produced so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
}

impl SessionState {
    /// The messages, empty when there are none.
    pub fn messages(&self) -> &super::Messages {
        static NONE: super::Messages = super::Messages::new();
        self.messages.as_ref().unwrap_or(&NONE)
    }

    /// The artifacts, empty when there are none.
    pub fn artifacts(&self) -> &[Artifact] {
        self.artifacts.as_deref().unwrap_or_default()
    }
}

/// A stored point of a conversation: one turn's outcome, with its lineage and lifecycle.
///
/// Snapshots form parent chains (`parentId`); two snapshots with one parent are a branch. The
/// timestamps are RFC 3339 strings, written by the caller of
/// [`SessionStore::save_snapshot`](crate::session::SessionStore::save_snapshot) (stores keep
/// `createdAt` from the first save and persist the others verbatim), so a heartbeat can refresh
/// `heartbeatAt` without moving `updatedAt`.
///
/// ```
/// use genkit_core::{SessionSnapshot, SnapshotStatus};
/// let json = r#"{"snapshotId":"s1","sessionId":"c1","createdAt":"2026-01-02T03:04:05.000Z"}"#;
/// let snap: SessionSnapshot = serde_json::from_str(json).unwrap();
/// assert_eq!(snap.status(), SnapshotStatus::Completed); // no status means completed
/// assert_eq!(serde_json::to_string(&snap).unwrap(), json);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSnapshot {
    /// This snapshot's id (a UUID when a store made it).
    pub snapshot_id: String,
    /// The session (conversation) it belongs to; a snapshot never changes session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The snapshot this one continues; none for a session's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// When the snapshot was created (RFC 3339). "Latest" means greatest `createdAt`.
    pub created_at: String,
    /// When its state was last written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The last heartbeat of a detached turn still running (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<String>,
    /// The lifecycle status; none means completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
    /// Why the turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
    /// Why a failed snapshot failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuntimeError>,
    /// The conversation state at this point (none on a pending snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
}

/// The input of an agent turn: a message, or answers to the interrupts of the snapshot it
/// continues, optionally detached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInput {
    /// Run the turn in the background and answer at once with a pending snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach: Option<bool>,
    /// A new message from the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Answers to pending interrupts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<AgentResume>,
}

/// Answers to the interrupts of an interrupted snapshot: tool responses, or tool requests to
/// run again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentResume {
    /// Tool response parts answering interrupted requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Vec<Part>>,
    /// Tool request parts to re-run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Vec<Part>>,
}

/// How a conversation starts: from a snapshot, from a session's latest snapshot, or from state
/// the client holds. Empty starts a new session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInit {
    /// Continue this session (its latest snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Continue from this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Client-managed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
}

/// What an agent invocation returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentOutput {
    /// The session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The snapshot the turn was saved as (server-managed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// The state (client-managed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
    /// The last message of the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Why the turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
    /// The error of a failed turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuntimeError>,
}

/// The result of a custom agent's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResult {
    /// The last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
}

/// The end of one turn in an agent's stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnEnd {
    /// The snapshot the turn was saved as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Why the turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
}

/// One item of an agent's stream: a model chunk, a custom-state patch, an artifact, or the end of
/// a turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStreamChunk {
    /// A chunk of the model's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_chunk: Option<GenerateResponseChunk>,
    /// A change of the custom state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_patch: Option<JsonPatch>,
    /// A new or replaced artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_end: Option<TurnEnd>,
}

/// The input of `/agent-snapshot/<name>`: a snapshot id, or a session id for its latest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetSnapshotRequest {
    /// The snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// The session, for its latest snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The input of `/agent-abort/<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentAbortRequest {
    /// The pending snapshot of the detached run to abort.
    pub snapshot_id: String,
}

/// The answer of `/agent-abort/<name>`: the snapshot's status after the abort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentAbortResponse {
    /// The snapshot.
    pub snapshot_id: String,
    /// Its status now (`aborted`, or the final status it had already reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
}

/// `metadata.agent` of an agent action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMetadata {
    /// Who holds the state.
    pub state_management: AgentStateManagement,
    /// Whether detached runs can be aborted (the store has a status subscription).
    pub abortable: bool,
    /// The JSON schema of the custom state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_schema: Option<JsonMap>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_status_and_finish_reason_survive_a_round_trip() {
        let snap: SessionSnapshot = serde_json::from_value(json!({
            "snapshotId": "a", "createdAt": "x", "status": "paused", "finishReason": "handoff"
        }))
        .unwrap();
        assert_eq!(
            snap.status,
            Some(SnapshotStatus::Unrecognized("paused".into()))
        );
        assert_eq!(
            snap.finish_reason,
            Some(AgentFinishReason::Unrecognized("handoff".into()))
        );
        let back = serde_json::to_value(&snap).unwrap();
        assert_eq!(back["status"], "paused");
        assert_eq!(back["finishReason"], "handoff");
    }

    #[test]
    fn finish_reason_other_is_the_wire_value_other() {
        assert_eq!(
            AgentFinishReason::from_wire("other"),
            AgentFinishReason::Other
        );
        assert_eq!(AgentFinishReason::Other.as_str(), "other");
    }

    #[test]
    fn json_patch_keeps_an_explicit_null_operand() {
        let patch: JsonPatch = serde_json::from_value(json!([
            {"op": "replace", "path": "/a", "value": null},
            {"op": "remove", "path": "/b"}
        ]))
        .unwrap();
        assert_eq!(patch.0[0].value, Some(Value::Null));
        assert_eq!(patch.0[1].value, None);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([{"op": "replace", "path": "/a", "value": null}, {"op": "remove", "path": "/b"}])
        );
    }
}
