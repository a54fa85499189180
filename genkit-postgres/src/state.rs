//! How a session state is stored: a checkpoint (the whole state) every so many versions, and
//! JSON Patch diffs against the previous version in between, so a turn writes what it added,
//! not the history. State rows are never updated: a snapshot that changes gets a new version,
//! so a diff always applies to exactly the state it was computed from.

use genkit_core::{Messages, SessionState};
use serde_json::{Map, Value};

use crate::patch;

/// A stored state version as a save needs it: its row id, its depth in the chain (0 for a
/// checkpoint), and the state, held as what a diff against it needs: the messages typed and
/// shared with the session that holds them (a turn's new messages are found by position, see
/// [`Messages::shared_len`]), everything else as JSON.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub id: i64,
    pub depth: i32,
    /// The state as JSON, without its `messages`.
    pub rest: Value,
    /// The state's messages (`None`: the state has no `messages` key).
    pub messages: Option<Messages>,
    /// About the serialized size of the whole state (see `approx_size`).
    pub size: usize,
}

impl Version {
    /// The version of `state` (the whole state as JSON), stored as row `id` at `depth`.
    pub fn from_value(id: i64, depth: i32, mut value: Value, messages: Option<Messages>) -> Self {
        let size = approx_size(&value);
        if let Value::Object(m) = &mut value {
            m.remove("messages");
        }
        Self {
            id,
            depth,
            rest: value,
            messages,
            size,
        }
    }
}

/// Rebuilds a state from its chain (`(depth, body)` rows, checkpoint first). `Err` names what
/// is wrong: the chain is broken or a patch does not apply.
pub(crate) fn rebuild(chain: Vec<(i32, Value)>) -> Result<(i32, Value), String> {
    let mut rows = chain.into_iter();
    let Some((0, mut value)) = rows.next() else {
        return Err("the state's chain does not start at a checkpoint".into());
    };
    let mut depth = 0;
    for (d, body) in rows {
        if d != depth + 1 {
            return Err(format!("the state's chain jumps from depth {depth} to {d}"));
        }
        patch::apply(&mut value, &body).map_err(|e| format!("patch at depth {d}: {e}"))?;
        depth = d;
    }
    Ok((depth, value))
}

/// What a save writes for a new state, given the version it continues (`base`: the
/// snapshot's own previous state, or its parent's).
#[derive(Debug)]
pub(crate) enum Write {
    /// The state did not change: keep pointing at this version.
    Same(i64),
    /// A new row: `base_id` and `depth` (none and 0 for a checkpoint) and its body: a patch
    /// against the base, or the whole state for a checkpoint.
    New {
        base_id: Option<i64>,
        depth: i32,
        body: Value,
    },
}

/// A save's plan: what to write, and the new state's version but for its row id (known once
/// written).
#[derive(Debug)]
pub(crate) struct Planned {
    pub write: Write,
    pub depth: i32,
    pub rest: Value,
    pub messages: Option<Messages>,
    pub size: usize,
}

impl Planned {
    /// The version this plan makes, stored as row `id`.
    pub fn into_version(self, id: i64) -> Version {
        Version {
            id,
            depth: self.depth,
            rest: self.rest,
            messages: self.messages,
            size: self.size,
        }
    }
}

/// Chooses between reusing, a diff and a checkpoint. A diff is written when the chain stays
/// under `checkpoint_every` versions and the patch is smaller than half the state; otherwise
/// a checkpoint, so a read never applies more than `checkpoint_every - 1` patches.
///
/// The work is proportional to what changed, not to the history: the rest of the state is
/// diffed as JSON, and of the messages only those past the part `next` shares with the base
/// are compared and serialized.
pub(crate) fn plan(
    base: Option<&Version>,
    next: &SessionState,
    checkpoint_every: i32,
) -> Result<Planned, serde_json::Error> {
    let rest = serde_json::to_value(SessionState {
        session_id: next.session_id.clone(),
        messages: None,
        custom: next.custom.clone(),
        artifacts: next.artifacts.clone(),
    })?;
    let messages = next.messages.clone();
    let checkpoint = |rest: Value, messages: Option<Messages>| {
        let mut whole = rest.clone();
        if let (Value::Object(m), Some(list)) = (&mut whole, &messages) {
            m.insert("messages".into(), serde_json::to_value(list)?);
        }
        Ok(Planned {
            size: approx_size(&whole),
            write: Write::New {
                base_id: None,
                depth: 0,
                body: whole,
            },
            depth: 0,
            rest,
            messages,
        })
    };
    let Some(base) = base else {
        return checkpoint(rest, messages);
    };
    let mut ops = patch::diff(&base.rest, &rest);
    let rest_change = ops.iter().map(approx_size).sum::<usize>();
    let change = message_ops(base.messages.as_ref(), messages.as_ref())?;
    if ops.is_empty() && change.ops.is_empty() {
        return Ok(Planned {
            write: Write::Same(base.id),
            depth: base.depth,
            rest,
            messages,
            size: base.size,
        });
    }
    ops.extend(change.ops);
    // the state's size changes by what is written and dropped (within the factor
    // `approx_size` allows)
    let written = change.written + rest_change;
    let size = (base.size + written)
        .saturating_sub(change.dropped)
        .max(approx_size(&rest));
    if base.depth + 1 < checkpoint_every && written * 2 < size {
        return Ok(Planned {
            write: Write::New {
                base_id: Some(base.id),
                depth: base.depth + 1,
                body: Value::Array(ops),
            },
            depth: base.depth + 1,
            rest,
            messages,
            size,
        });
    }
    checkpoint(rest, messages)
}

/// What turns one list of messages into another.
struct MessageChange {
    /// JSON Patch operations, paths under `/messages`.
    ops: Vec<Value>,
    /// About the size of the messages they write, and of those they replace or remove.
    written: usize,
    dropped: usize,
}

/// The operations that turn the messages `from` into `to`. Messages both hold in the same
/// slots are skipped unread; the others are compared, and serialized only where they differ.
fn message_ops(
    from: Option<&Messages>,
    to: Option<&Messages>,
) -> Result<MessageChange, serde_json::Error> {
    let size_of = |m: &genkit_core::Message| serde_json::to_value(m).map(|v| approx_size(&v));
    let op = |kind: &str, path: String, value: Option<Value>| {
        let mut m = Map::new();
        m.insert("op".into(), Value::from(kind));
        m.insert("path".into(), Value::from(path));
        if let Some(v) = value {
            m.insert("value".into(), v);
        }
        Value::Object(m)
    };
    let mut change = MessageChange {
        ops: Vec::new(),
        written: 0,
        dropped: 0,
    };
    let (from, to) = match (from, to) {
        (None, None) => return Ok(change),
        (Some(from), None) => {
            change.ops.push(op("remove", "/messages".into(), None));
            change.dropped = approx_size(&serde_json::to_value(from)?);
            return Ok(change);
        }
        (None, Some(to)) => {
            let value = serde_json::to_value(to)?;
            change.written = approx_size(&value);
            change.ops.push(op("add", "/messages".into(), Some(value)));
            return Ok(change);
        }
        (Some(from), Some(to)) => (from, to),
    };
    let common = from.len().min(to.len());
    for i in Messages::shared_len(from, to)..common {
        if from[i] != to[i] {
            let value = serde_json::to_value(&to[i])?;
            change.written += approx_size(&value);
            change.dropped += size_of(&from[i])?;
            change
                .ops
                .push(op("replace", format!("/messages/{i}"), Some(value)));
        }
    }
    for (i, m) in to.iter().enumerate().skip(common) {
        let value = serde_json::to_value(m)?;
        change.written += approx_size(&value);
        change
            .ops
            .push(op("add", format!("/messages/{i}"), Some(value)));
    }
    // from the end, so each index is still valid when its turn comes
    for i in (common..from.len()).rev() {
        change.dropped += size_of(&from[i])?;
        change
            .ops
            .push(op("remove", format!("/messages/{i}"), None));
    }
    Ok(change)
}

/// The serialized size of `v`, within a small factor, without serializing it.
fn approx_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_size(x) + 1).sum::<usize>(),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, x)| k.len() + 4 + approx_size(x))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_core::Message;
    use serde_json::json;

    fn state(messages: &Messages) -> SessionState {
        SessionState {
            session_id: Some("s".into()),
            messages: Some(messages.clone()),
            custom: Some(json!({"turns": messages.len()})),
            artifacts: None,
        }
    }

    /// Stores `next` the way the store does: a row per version, rebuilt from its chain.
    struct Rows(Vec<(Option<i64>, i32, Value)>);

    impl Rows {
        fn save(&mut self, base: Option<&Version>, next: &SessionState, every: i32) -> Version {
            let planned = plan(base, next, every).unwrap();
            let (base_id, depth, body) = match &planned.write {
                Write::Same(_) => unreachable!("the state changed"),
                Write::New {
                    base_id,
                    depth,
                    body,
                } => (*base_id, *depth, body.clone()),
            };
            self.0.push((base_id, depth, body));
            let id = self.0.len() as i64;
            // rebuild from the stored rows, as the chain query returns them
            let mut chain = Vec::new();
            let mut at = Some(id);
            while let Some(i) = at {
                let (b, d, body) = self.0[(i - 1) as usize].clone();
                chain.push((d, body));
                at = b;
            }
            chain.reverse();
            let (d, value) = rebuild(chain).unwrap();
            assert_eq!(d, depth);
            assert_eq!(
                value,
                serde_json::to_value(next).unwrap(),
                "rebuilt exactly"
            );
            planned.into_version(id)
        }
    }

    #[test]
    fn a_growing_history_is_diffs_between_checkpoints_and_rebuilds_exactly() {
        let every = 4;
        let mut rows = Rows(Vec::new());
        let mut history: Messages = (0..30)
            .map(|i| Message::user(format!("message {i} with some words")))
            .collect();
        let mut current: Option<Version> = None;
        for n in 1..=12 {
            for i in 0..3 {
                history.push(Message::model(format!("turn {n}, part {i}")));
            }
            let next = state(&history);
            let version = rows.save(current.as_ref(), &next, every);
            let (_, depth, body) = rows.0.last().unwrap().clone();
            assert!(depth < every);
            if n > 1 && depth == 0 {
                assert_eq!(
                    (n - 1) % every as usize,
                    0,
                    "a checkpoint only when the chain is full"
                );
            }
            if depth > 0 {
                // the turn's three messages and the custom state, not the history
                let ops = body.as_array().unwrap();
                assert_eq!(ops.len(), 4, "{body}");
                assert!(ops[1..].iter().all(|o| o["op"] == "add"));
            }
            current = Some(version);
        }
        let again = plan(current.as_ref(), &state(&history), every).unwrap();
        assert!(matches!(again.write, Write::Same(12)));
    }

    #[test]
    fn a_message_changed_in_place_is_one_replace() {
        let mut rows = Rows(Vec::new());
        let mut history: Messages = (0..20).map(|i| Message::user(format!("m{i}"))).collect();
        let base = rows.save(None, &state(&history), 16);
        // a resume marks the interrupted message: a shared history is copied for the change
        *history.get_mut(19).unwrap() = Message::model("changed");
        history.push(Message::user("answer"));
        let next = rows.save(Some(&base), &state(&history), 16);
        let (_, depth, body) = rows.0.last().unwrap().clone();
        assert_eq!(depth, 1);
        let ops: Vec<_> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["op"].as_str().unwrap(), o["path"].as_str().unwrap()))
            .collect();
        assert_eq!(
            ops,
            [
                ("replace", "/custom/turns"),
                ("replace", "/messages/19"),
                ("add", "/messages/20")
            ]
        );
        // and back to fewer messages, and to none
        history.truncate(5);
        let shorter = rows.save(Some(&next), &state(&history), 16);
        let mut none = state(&history);
        none.messages = None;
        rows.save(Some(&shorter), &none, 16);
    }

    #[test]
    fn broken_chains_are_refused() {
        assert!(rebuild(vec![]).is_err());
        assert!(rebuild(vec![(1, json!([]))]).is_err());
        assert!(rebuild(vec![(0, json!({})), (2, json!([]))]).is_err());
        assert!(rebuild(vec![
            (0, json!({})),
            (1, json!([{"op": "remove", "path": "/x"}]))
        ])
        .is_err());
    }

    #[test]
    fn a_rewrite_of_everything_is_a_checkpoint_not_a_bigger_patch() {
        let mut rows = Rows(Vec::new());
        let history: Messages = (0..5).map(|i| Message::user(format!("m{i}"))).collect();
        let base = rows.save(None, &state(&history), 16);
        let other: Messages = (0..5)
            .map(|i| Message::model(format!("other {i}")))
            .collect();
        rows.save(Some(&base), &state(&other), 16);
        let (base_id, depth, _) = rows.0.last().unwrap().clone();
        assert_eq!((base_id, depth), (None, 0));
    }
}
