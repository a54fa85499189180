//! The interrupt protocol: the metadata keys Genkit runtimes put on parts, so a history paused
//! by one runtime resumes in another.
//!
//! | key | on | meaning |
//! |---|---|---|
//! | [`INTERRUPT`] | model's toolRequest part | this request paused; value = payload object or `true` |
//! | [`PENDING_OUTPUT`] | model's toolRequest part | a sibling tool that finished in the interrupted turn; its output |
//! | [`RESOLVED_INTERRUPT`] | model's toolRequest part | set on resume; takes the old `interrupt` value |
//! | [`INTERRUPT_RESPONSE`] | toolResponse part | an answer built by a respond helper (`true` or metadata) |
//! | [`SOURCE`] = `"pending"` | toolResponse part | replayed from `pendingOutput` |
//! | [`RESUMED`] | restart toolRequest part, and the tool message a resume appends | restart metadata |
//! | [`REPLACED_INPUT`] | restart toolRequest part | the original input when a restart replaced it |
//! | [`PENDING_CONTENT`] | model's toolRequest part | genkit-rs only: multipart content of a pending output |
//! | [`SEAL`] | interrupted model message | genkit-rs only: HMAC over the history up to it (see [`HistorySeal`](crate::HistorySeal)) |
//! | [`BOUND_TO`] | respond and restart parts | genkit-rs only: the interrupt an answer was built for |
//! | [`STATE_SEAL`] | last message of a client-held agent state | genkit-rs only: HMAC over the state's messages |
//!
//! A restart part without [`RESUMED`] re-runs the tool as *not* resumed, as in Genkit JS: the
//! tool's `is_resumed()` is false. The restart helpers always set it (`true` at least).
//!
//! Other runtimes ignore the genkit-rs-only keys and keep them where they keep metadata.

use crate::wire::Part;

/// Marks a tool request that paused the loop.
pub const INTERRUPT: &str = "interrupt";
/// Output of a sibling tool that finished in an interrupted turn.
pub const PENDING_OUTPUT: &str = "pendingOutput";
/// Multipart content of a pending output (genkit-rs; other runtimes ignore it).
pub const PENDING_CONTENT: &str = "pendingContent";
/// The old `interrupt` value, once the request has been answered.
pub const RESOLVED_INTERRUPT: &str = "resolvedInterrupt";
/// Marks a tool response supplied by the application.
pub const INTERRUPT_RESPONSE: &str = "interruptResponse";
/// `"pending"` on a tool response replayed from `pendingOutput`.
pub const SOURCE: &str = "source";
/// Restart metadata; on the tool message, the resume's metadata.
pub const RESUMED: &str = "resumed";
/// The original input of a restarted request whose input was replaced.
pub const REPLACED_INPUT: &str = "replacedInput";

/// The seal of an interrupted model message (message metadata), when the instance seals
/// histories.
pub const SEAL: &str = "genkitRsSeal";
/// On an answer (respond or restart part): the digest of the interrupt it was built for.
pub const BOUND_TO: &str = "genkitRsBoundTo";
/// The seal of a client-held agent state (metadata of its last message), when the instance
/// seals histories (see [`HistorySeal::seal_agent_state`](crate::HistorySeal::seal_agent_state)).
pub const STATE_SEAL: &str = "genkitRsStateSeal";

/// Keys only the engine may write. Coming from a model, they would forge protocol state.
const ENGINE_KEYS: [&str; 9] = [
    INTERRUPT,
    PENDING_OUTPUT,
    PENDING_CONTENT,
    RESOLVED_INTERRUPT,
    RESUMED,
    REPLACED_INPUT,
    SEAL,
    BOUND_TO,
    STATE_SEAL,
];

/// Removes engine-only metadata from parts a model produced, so a model cannot forge an
/// interrupt, a pending output or a restart. Returns how many keys were removed.
pub fn strip_engine_metadata(parts: &mut [Part]) -> usize {
    let mut removed = 0;
    for part in parts {
        if part.metadata.is_none() {
            continue;
        }
        for key in ENGINE_KEYS {
            if part.take_metadata(key).is_some() {
                removed += 1;
            }
        }
    }
    removed
}
