//! Sealed histories: an HMAC over a paused conversation, so a client that holds the history
//! cannot change what the model asked or what a tool did before it resumes.
//!
//! A client-held history is not an authorization boundary: whoever can resend it can edit it
//! (inject a tool request the model never made, forge a `pendingOutput`, change an input).
//! With a [`HistorySeal`] on the [`Genkit`](crate::Genkit) instance, every interrupted model
//! message carries a seal (metadata key [`SEAL`](crate::protocol::SEAL)) over the history up to
//! and including it, and a resume verifies it before any tool runs: a changed history is
//! `PERMISSION_DENIED`, naming the first message and part that changed.
//!
//! # The seal
//!
//! ```json
//! {"v": 1, "kid": "2026-12", "mac": "<base64url HMAC-SHA256>", "m": ["<base64url digests>", ...]}
//! ```
//!
//! `mac` is HMAC-SHA256, under the key named `kid`, over this byte string, where `str(x)` is
//! the length of `x` as a big-endian `u64` followed by `x`, and `u64(n)` a big-endian `u64`:
//!
//! ```text
//! str("genkit-rs seal v1") str(kid) u64(message count)
//! for each message:  str(head) u64(part count)
//!   for each part:   str(body) str(metadata)
//! ```
//!
//! `head` is the canonical JSON of `{"role": ..., "metadata": ...}` (the message's metadata
//! without the seal; absent and empty are the same), `body` the canonical JSON of the part
//! without its `metadata`, and `metadata` the canonical JSON of the part's metadata (`{}` when
//! absent). Canonical JSON is JSON without whitespace, object keys sorted by their UTF-8 bytes,
//! strings escaped and numbers written as serde_json writes them: a history reads back from its
//! JSON to the same bytes, in any process. Seals on earlier messages (stale, from an earlier
//! pause) are not covered.
//!
//! `m` holds, per message, the first 8 bytes of the SHA-256 of `head`, then of each part's
//! `body` and `metadata`: not a secret and not trusted, only used to name the place that changed
//! when the MAC does not verify.
//!
//! # Answers bound to their interrupt
//!
//! An [`Interrupt`](crate::Interrupt) read from a sealed message remembers the seal; answers
//! built from it ([`tool_response`](crate::tool_response), [`tool_restart`](crate::tool_restart),
//! a tool's typed `respond`/`restart`) carry [`BOUND_TO`](crate::protocol::BOUND_TO): a digest
//! of the seal's MAC, the request's position and the request itself. A sealed instance rejects
//! a bound answer given to any other interrupt, so answers crossed between two conversations
//! are caught even when their refs coincide. The binding is no secret (it is computed from the
//! history): it stops mix-ups and replays of another conversation's answers; the seal is what
//! stops forgery.
//!
//! # Cost
//!
//! Sealing and verifying write the history once as canonical JSON and hash it twice (HMAC and
//! digests): linear in the history's size, paid once per pause and once per resume.

use std::borrow::Borrow;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::GenkitError;
use crate::protocol;
use crate::wire::{Message, Part, ToolRequest};

type HmacSha256 = Hmac<Sha256>;

const DOMAIN: &[u8] = b"genkit-rs seal v1";
/// The domain of a client-held agent history's seal ([`HistorySeal::seal_agent_state`]).
const STATE_DOMAIN: &[u8] = b"genkit-rs agent state v1";
const BINDING_DOMAIN: &[u8] = b"genkit-rs answer v1";
const VERSION: u64 = 1;
/// Bytes of each locating digest.
const DIGEST_LEN: usize = 8;
const MIN_SECRET_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 64;

struct Key {
    id: String,
    /// HMAC keyed with the secret, cloned for every use (the secret itself is not kept).
    mac: HmacSha256,
}

impl Key {
    fn new(id: String, secret: &[u8]) -> Result<Self, GenkitError> {
        check_key(&id, secret)?;
        let mac = <HmacSha256 as KeyInit>::new_from_slice(secret).map_err(|e| {
            GenkitError::InvalidArgument(format!("seal key '{id}' is not usable: {e}"))
        })?;
        Ok(Self { id, mac })
    }
}

/// The keys that seal and verify histories: one signing key, and any number of keys that only
/// verify (the previous keys, during a rotation). Each key has an id, written into the seal,
/// so verification picks the right one.
///
/// ```
/// use genkit_core::HistorySeal;
/// let seal = HistorySeal::new("2026-12", [7u8; 32])?
///     .also_verify("2026-06", [9u8; 32])?; // seals made before the rotation still resume
/// assert_eq!(seal.key_ids(), ["2026-12", "2026-06"]);
/// # Ok::<(), genkit_core::GenkitError>(())
/// ```
pub struct HistorySeal {
    signing: Key,
    verify_only: Vec<Key>,
}

impl fmt::Debug for HistorySeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never the secrets
        f.debug_struct("HistorySeal")
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

/// Which rule a seal key breaks ([`GenkitError::InvalidSealKey`]).
///
/// ```
/// use genkit_core::{GenkitError, HistorySeal, SealKeyProblem};
/// let err = HistorySeal::new("k1", b"too short").unwrap_err();
/// assert!(matches!(
///     err,
///     GenkitError::InvalidSealKey { problem: SealKeyProblem::SecretTooShort { len: 9, .. }, .. }
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealKeyProblem {
    /// The id is empty or longer than `max` bytes (it is written into every seal).
    #[error("a seal key id has 1 to {max} bytes, got {len}")]
    IdLength {
        /// The id's length in bytes.
        len: usize,
        /// The longest id allowed.
        max: usize,
    },
    /// The secret is shorter than `min` bytes.
    #[error("a seal secret has at least {min} bytes, got {len}")]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
        /// The shortest secret allowed.
        min: usize,
    },
    /// Two keys of one seal share the id, so a seal could not tell which verifies it.
    #[error("the id is given twice")]
    DuplicateId,
}

fn check_key(id: &str, secret: &[u8]) -> Result<(), GenkitError> {
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN {
        return Err(GenkitError::invalid_seal_key(
            id,
            SealKeyProblem::IdLength {
                len: id.len(),
                max: MAX_KEY_ID_LEN,
            },
        ));
    }
    if secret.len() < MIN_SECRET_LEN {
        return Err(GenkitError::invalid_seal_key(
            id,
            SealKeyProblem::SecretTooShort {
                len: secret.len(),
                min: MIN_SECRET_LEN,
            },
        ));
    }
    Ok(())
}

impl HistorySeal {
    /// The shortest secret accepted, in bytes: HMAC-SHA256 wants at least its output size.
    pub const MIN_SECRET_LEN: usize = MIN_SECRET_LEN;

    /// Seals with `secret` under the id `key_id` (and verifies seals made with it). The secret
    /// has at least [`MIN_SECRET_LEN`](Self::MIN_SECRET_LEN) bytes; take it from a secret store, never from code.
    pub fn new(key_id: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, GenkitError> {
        Ok(Self {
            signing: Key::new(key_id.into(), secret.as_ref())?,
            verify_only: Vec::new(),
        })
    }

    /// Also accepts seals made with `secret` under `key_id`, without sealing with it: the old
    /// key while histories sealed before a rotation are still around.
    pub fn also_verify(
        mut self,
        key_id: impl Into<String>,
        secret: impl AsRef<[u8]>,
    ) -> Result<Self, GenkitError> {
        let key = Key::new(key_id.into(), secret.as_ref())?;
        if self.key_ids().contains(&key.id.as_str()) {
            return Err(GenkitError::invalid_seal_key(
                &key.id,
                SealKeyProblem::DuplicateId,
            ));
        }
        self.verify_only.push(key);
        Ok(self)
    }

    /// The key ids, the signing key's first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.signing)
            .chain(&self.verify_only)
            .map(|k| k.id.as_str())
            .collect()
    }

    fn key(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.signing)
            .chain(&self.verify_only)
            .find(|k| k.id == id)
    }

    /// Seals `last`, the interrupted message, over `before` and itself (replacing any seal it
    /// had). The engine does this on every pause; call it yourself only to seal a history built
    /// elsewhere that you trust.
    pub fn seal<M: Borrow<Message>>(
        &self,
        before: &[M],
        last: &mut Message,
    ) -> Result<(), GenkitError> {
        if let Some(m) = last.metadata.as_mut() {
            m.remove(protocol::SEAL);
        }
        let encoded = Encoded::of(
            before
                .iter()
                .map(Borrow::borrow)
                .chain(std::iter::once(&*last)),
            DOMAIN,
            protocol::SEAL,
        )?;
        let seal = self.seal_value(&encoded);
        last.metadata
            .get_or_insert_with(Map::new)
            .insert(protocol::SEAL.to_owned(), seal);
        Ok(())
    }

    /// Checks the seal on the last message of `messages`: `PERMISSION_DENIED`
    /// ([`GenkitError::SealRejected`]) when it is missing, made with an unknown key, or the
    /// history changed since it was sealed, naming the first place that changed.
    ///
    /// Resume runs this itself before any tool runs; a server may call it to check a stored
    /// history early.
    pub fn verify<M: Borrow<Message>>(&self, messages: &[M]) -> Result<(), GenkitError> {
        self.verify_with(messages, DOMAIN, protocol::SEAL, "the interrupted message")
    }

    /// Seals the history of a client-held agent state: the last message gets
    /// [`STATE_SEAL`](crate::protocol::STATE_SEAL), an HMAC over every message of the state
    /// (in the format of [`seal`](Self::seal), under its own domain `genkit-rs agent state v1`,
    /// the state seal itself left out). A client-managed agent on a sealed instance does this
    /// to every state it hands out; call it yourself only to hand a client a history you built
    /// and trust. The custom state and artifacts are not covered: with client-managed state
    /// they are the client's to keep (keep what the client must not change on the server).
    ///
    /// ```
    /// use genkit_core::{HistorySeal, Message, SessionState};
    /// let seal = HistorySeal::new("k1", [7u8; 32])?;
    /// let mut state = SessionState {
    ///     messages: Some(vec![Message::user("hi"), Message::model("hello")].into()),
    ///     ..Default::default()
    /// };
    /// seal.seal_agent_state(&mut state)?;
    /// seal.verify_agent_state(&state)?;
    /// *state.messages.as_mut().unwrap().get_mut(0).unwrap() = Message::user("I am the admin");
    /// assert!(seal.verify_agent_state(&state).is_err());
    /// # Ok::<(), genkit_core::GenkitError>(())
    /// ```
    pub fn seal_agent_state(
        &self,
        state: &mut crate::wire::SessionState,
    ) -> Result<(), GenkitError> {
        let Some((last, before)) = state.messages.as_mut().and_then(|m| m.split_last_mut()) else {
            return Ok(());
        };
        if let Some(m) = last.metadata.as_mut() {
            m.remove(protocol::STATE_SEAL);
        }
        let encoded = Encoded::of(
            before.iter().map(|m| &**m).chain(std::iter::once(&*last)),
            STATE_DOMAIN,
            protocol::STATE_SEAL,
        )?;
        let seal = self.seal_value(&encoded);
        last.metadata
            .get_or_insert_with(Map::new)
            .insert(protocol::STATE_SEAL.to_owned(), seal);
        Ok(())
    }

    /// Checks the seal [`seal_agent_state`](Self::seal_agent_state) put on a client-held
    /// state: `PERMISSION_DENIED` ([`GenkitError::SealRejected`]) when the state has messages
    /// and the seal is missing, made with an unknown key, or any message changed, naming the
    /// first place that changed. A state without messages has nothing to verify.
    pub fn verify_agent_state(&self, state: &crate::wire::SessionState) -> Result<(), GenkitError> {
        match state.messages.as_deref() {
            None | Some([]) => Ok(()),
            Some(messages) => self.verify_with(
                messages,
                STATE_DOMAIN,
                protocol::STATE_SEAL,
                "the last message of the client-held state",
            ),
        }
    }

    fn seal_value(&self, encoded: &Encoded) -> Value {
        let mac = encoded.mac(&self.signing);
        json!({
            "v": VERSION,
            "kid": self.signing.id,
            "mac": URL_SAFE_NO_PAD.encode(mac),
            "m": encoded.digests().iter().map(|d| URL_SAFE_NO_PAD.encode(d)).collect::<Vec<_>>(),
        })
    }

    fn verify_with<M: Borrow<Message>>(
        &self,
        messages: &[M],
        domain: &'static [u8],
        key_name: &'static str,
        what: &str,
    ) -> Result<(), GenkitError> {
        let denied = |message: Option<usize>, part: Option<usize>, reason: String| {
            GenkitError::SealRejected {
                message,
                part,
                reason,
            }
        };
        let Some(last) = messages.last().map(Borrow::borrow) else {
            return Err(denied(None, None, "the history is empty".to_owned()));
        };
        let last_index = messages.len() - 1;
        let Some(seal) = last.metadata.as_ref().and_then(|m| m.get(key_name)) else {
            return Err(denied(
                Some(last_index),
                None,
                format!("{what} carries no seal: this instance resumes sealed histories only"),
            ));
        };
        let seal = SealValue::parse(seal).map_err(|why| {
            denied(
                Some(last_index),
                None,
                format!("the seal is malformed: {why}"),
            )
        })?;
        let Some(key) = self.key(&seal.kid) else {
            return Err(denied(
                Some(last_index),
                None,
                format!(
                    "the seal was made with key '{}', which this instance does not have (it has {})",
                    seal.kid,
                    self.key_ids().join(", ")
                ),
            ));
        };
        let encoded = Encoded::of(messages.iter().map(Borrow::borrow), domain, key_name)?;
        let mut mac = mac_for(key);
        encoded.feed(&mut mac, &seal.kid);
        if mac.verify_slice(&seal.mac).is_ok() {
            return Ok(());
        }
        let (message, part, reason) = encoded.locate(messages, &seal.digests);
        Err(denied(message, part, reason))
    }
}

fn mac_for(key: &Key) -> HmacSha256 {
    key.mac.clone()
}

/// A parsed seal.
struct SealValue {
    kid: String,
    mac: Vec<u8>,
    /// Per message: head digest, then body and metadata digest per part.
    digests: Vec<Vec<u8>>,
}

impl SealValue {
    fn parse(v: &Value) -> Result<Self, String> {
        let o = v.as_object().ok_or("not an object")?;
        if o.get("v").and_then(Value::as_u64) != Some(VERSION) {
            return Err(format!("unknown version {:?}", o.get("v")));
        }
        let kid = o
            .get("kid")
            .and_then(Value::as_str)
            .ok_or("no key id")?
            .to_owned();
        let mac = o
            .get("mac")
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or("no MAC")?;
        // the digests only locate a change: unreadable ones just locate nothing
        let digests = o
            .get("m")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|d| {
                        d.as_str()
                            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { kid, mac, digests })
    }
}

/// One message in canonical form.
struct EncodedMessage {
    head: Vec<u8>,
    /// (body, metadata) per part
    parts: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A history in canonical form: what the MAC covers.
struct Encoded {
    domain: &'static [u8],
    messages: Vec<EncodedMessage>,
}

fn put_len(mac: &mut HmacSha256, n: usize) {
    mac.update(&(n as u64).to_be_bytes());
}

fn put_str(mac: &mut HmacSha256, bytes: &[u8]) {
    put_len(mac, bytes.len());
    mac.update(bytes);
}

fn digest(bytes: &[u8]) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(bytes);
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

impl Encoded {
    /// `exclude`: the metadata key of the seal being made or checked (never covered).
    fn of<'a>(
        messages: impl Iterator<Item = &'a Message>,
        domain: &'static [u8],
        exclude: &str,
    ) -> Result<Self, GenkitError> {
        let messages = messages
            .map(|m| {
                let mut meta = m.metadata.clone().unwrap_or_default();
                meta.remove(exclude);
                let mut head = Map::new();
                head.insert("role".to_owned(), Value::from(m.role.as_str()));
                head.insert("metadata".to_owned(), Value::Object(meta));
                let parts = m
                    .content
                    .iter()
                    .map(encode_part)
                    .collect::<Result<_, _>>()?;
                Ok(EncodedMessage {
                    head: canonical(&Value::Object(head)),
                    parts,
                })
            })
            .collect::<Result<_, GenkitError>>()?;
        Ok(Self { domain, messages })
    }

    fn feed(&self, mac: &mut HmacSha256, kid: &str) {
        put_str(mac, self.domain);
        put_str(mac, kid.as_bytes());
        put_len(mac, self.messages.len());
        for m in &self.messages {
            put_str(mac, &m.head);
            put_len(mac, m.parts.len());
            for (body, meta) in &m.parts {
                put_str(mac, body);
                put_str(mac, meta);
            }
        }
    }

    fn mac(&self, key: &Key) -> Vec<u8> {
        let mut mac = mac_for(key);
        self.feed(&mut mac, &key.id);
        mac.finalize().into_bytes().to_vec()
    }

    fn digests(&self) -> Vec<Vec<u8>> {
        self.messages
            .iter()
            .map(|m| {
                let mut out = Vec::with_capacity(DIGEST_LEN * (1 + 2 * m.parts.len()));
                out.extend_from_slice(&digest(&m.head));
                for (body, meta) in &m.parts {
                    out.extend_from_slice(&digest(body));
                    out.extend_from_slice(&digest(meta));
                }
                out
            })
            .collect()
    }

    /// The first place where `messages` differs from what `sealed` digests describe.
    fn locate<M: Borrow<Message>>(
        &self,
        messages: &[M],
        sealed: &[Vec<u8>],
    ) -> (Option<usize>, Option<usize>, String) {
        let now = self.digests();
        for (i, (found, was)) in now.iter().zip(sealed).enumerate() {
            if found == was {
                continue;
            }
            let message: &Message = messages[i].borrow();
            let role = message.role.as_str();
            let chunk = |d: &[u8], k: usize| {
                d.get(k * DIGEST_LEN..(k + 1) * DIGEST_LEN)
                    .map(<[u8]>::to_vec)
            };
            if chunk(found, 0) != chunk(was, 0) {
                return (
                    Some(i),
                    None,
                    format!("message {i} ({role}): its role or metadata changed"),
                );
            }
            let parts_now = (found.len() / DIGEST_LEN).saturating_sub(1) / 2;
            let parts_was = (was.len() / DIGEST_LEN).saturating_sub(1) / 2;
            for p in 0..parts_now.min(parts_was) {
                let what = describe_part(&message.content[p]);
                if chunk(found, 1 + 2 * p) != chunk(was, 1 + 2 * p) {
                    return (
                        Some(i),
                        Some(p),
                        format!("message {i} ({role}) part {p} ({what}): its content changed"),
                    );
                }
                if chunk(found, 2 + 2 * p) != chunk(was, 2 + 2 * p) {
                    return (
                        Some(i),
                        Some(p),
                        format!(
                            "message {i} ({role}) part {p} ({what}): its metadata changed ({})",
                            protocol_keys(&message.content[p])
                        ),
                    );
                }
            }
            return (
                Some(i),
                Some(parts_now.min(parts_was)),
                format!("message {i} ({role}): sealed with {parts_was} parts, found {parts_now}"),
            );
        }
        if now.len() != sealed.len() {
            let at = now.len().min(sealed.len());
            return (
                Some(at),
                None,
                format!(
                    "sealed with {} messages, found {}: messages were added or removed from message {at} on",
                    sealed.len(),
                    now.len()
                ),
            );
        }
        (
            None,
            None,
            "the seal does not verify: it was made with another secret under this key id, or the seal itself was altered"
                .to_owned(),
        )
    }
}

fn describe_part(part: &Part) -> String {
    match (part.as_tool_request(), part.as_tool_response()) {
        (Some(r), _) => format!("toolRequest {}", request_name(&r.name, r.ref_.as_deref())),
        (_, Some(r)) => format!("toolResponse {}", request_name(&r.name, r.ref_.as_deref())),
        _ if part.as_text().is_some() => "text".to_owned(),
        _ => "part".to_owned(),
    }
}

fn request_name(name: &str, ref_: Option<&str>) -> String {
    match ref_ {
        Some(r) => format!("'{name}' (call {r})"),
        None => format!("'{name}'"),
    }
}

/// The metadata keys of `part`, to say what kind of metadata is there now.
fn protocol_keys(part: &Part) -> String {
    let keys: Vec<&str> = part
        .metadata
        .iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    if keys.is_empty() {
        "now it has none".to_owned()
    } else {
        format!("now: {}", keys.join(", "))
    }
}

fn encode_part(part: &Part) -> Result<(Vec<u8>, Vec<u8>), GenkitError> {
    let mut body = serde_json::to_value(part).map_err(|e| GenkitError::json("sealed part", e))?;
    let meta = match body.as_object_mut().and_then(|o| o.remove("metadata")) {
        Some(m) => m,
        None => Value::Object(Map::new()),
    };
    Ok((canonical(&body), canonical(&meta)))
}

/// The binding an answer to the request at `index` of a message sealed with `mac` carries.
pub(crate) fn binding(seal_mac: &str, index: usize, request: &ToolRequest) -> String {
    let mut h = Sha256::new();
    h.update(BINDING_DOMAIN);
    h.update((seal_mac.len() as u64).to_be_bytes());
    h.update(seal_mac.as_bytes());
    h.update((index as u64).to_be_bytes());
    let body = serde_json::to_value(request)
        .map(|v| canonical(&v))
        .unwrap_or_default();
    h.update((body.len() as u64).to_be_bytes());
    h.update(&body);
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// The MAC string of the seal on `message`, if it has one (not verified).
pub(crate) fn seal_mac(message: &Message) -> Option<&str> {
    message
        .metadata
        .as_ref()?
        .get(protocol::SEAL)?
        .get("mac")?
        .as_str()
}

/// Canonical JSON: no whitespace, object keys sorted by bytes, serde_json's escaping and
/// number format.
pub(crate) fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                if let Some(item) = o.get(k) {
                    write_canonical(item, out);
                }
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // serde_json's escaping of a string cannot fail
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Role;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, 2.5, "x\n"], "a": {"z": null, "é": true} }"#)
                .unwrap();
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            r#"{"a":{"z":null,"é":true},"b":[1,2.5,"x\n"]}"#
        );
    }

    #[test]
    fn canonical_json_is_stable_across_a_text_round_trip() {
        let v: Value = serde_json::from_str(r#"{"n": [1e300, -0.0, 0.1, 18446744073709551615, -9223372036854775808, 1.5e-7], "s": "\u00e9\u2028\ud83d\ude00"}"#).unwrap();
        let once = canonical(&v);
        let back: Value = serde_json::from_slice(&once).unwrap();
        assert_eq!(canonical(&back), once);
    }

    #[test]
    fn short_secrets_and_long_key_ids_are_refused() {
        let problem = |r: Result<HistorySeal, GenkitError>| match r {
            Err(GenkitError::InvalidSealKey { problem, .. }) => problem,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            problem(HistorySeal::new("k", [0u8; 31])),
            SealKeyProblem::SecretTooShort { len: 31, min: 32 }
        );
        assert_eq!(
            problem(HistorySeal::new("", [0u8; 32])),
            SealKeyProblem::IdLength { len: 0, max: 64 }
        );
        assert_eq!(
            problem(HistorySeal::new("k".repeat(65), [0u8; 32])),
            SealKeyProblem::IdLength { len: 65, max: 64 }
        );
        let twice = HistorySeal::new("k", [0u8; 32])
            .unwrap()
            .also_verify("k", [1u8; 32]);
        assert_eq!(problem(twice), SealKeyProblem::DuplicateId);
        let seal = HistorySeal::new("k", [0u8; 32]).unwrap();
        assert!(seal.also_verify("k", [1u8; 32]).is_err());
    }

    #[test]
    fn debug_shows_key_ids_never_secrets() {
        let seal = HistorySeal::new("k1", b"a-very-secret-secret-of-32-bytes!").unwrap();
        let shown = format!("{seal:?}");
        assert!(shown.contains("k1"));
        assert!(!shown.contains("secret-of"));
    }

    #[test]
    fn a_sealed_message_verifies_and_a_changed_one_names_the_part() {
        let seal = HistorySeal::new("k1", [3u8; 32]).unwrap();
        let history = vec![Message::user("hi")];
        let mut last = Message::new(Role::Model, vec![Part::text("a"), Part::text("b")]);
        seal.seal(&history, &mut last).unwrap();
        let mut all = history.clone();
        all.push(last);
        seal.verify(&all).unwrap();
        all[1].content[1] = Part::text("c");
        match seal.verify(&all) {
            Err(GenkitError::SealRejected { message, part, .. }) => {
                assert_eq!((message, part), (Some(1), Some(1)));
            }
            other => panic!("{other:?}"),
        }
    }
}
