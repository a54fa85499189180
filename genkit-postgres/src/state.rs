//! How a session state is stored: a checkpoint (the whole state) every so many versions, and
//! JSON Patch diffs against the previous version in between, so a turn writes what it added,
//! not the history. State rows are never updated: a snapshot that changes gets a new version,
//! so a diff always applies to exactly the state it was computed from.

use serde_json::Value;

use crate::patch;

/// A stored state version as a save needs it: its row id, its depth in the chain (0 for a
/// checkpoint) and its value.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub id: i64,
    pub depth: i32,
    pub value: Value,
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

/// What a save writes for a new state `next`, given the version it continues (`base`: the
/// snapshot's own previous state, or its parent's).
#[derive(Debug)]
pub(crate) enum Write {
    /// The state did not change: keep pointing at this version.
    Same(i64),
    /// A new row: `base_id` and `depth` (none and 0 for a checkpoint) and its body: a patch,
    /// or `None` for the whole state (a checkpoint).
    New {
        base_id: Option<i64>,
        depth: i32,
        patch: Option<Value>,
    },
}

/// Chooses between reusing, a diff and a checkpoint. A diff is written when the chain stays
/// under `checkpoint_every` versions and the patch is smaller than half the state; otherwise
/// a checkpoint, so a read never applies more than `checkpoint_every - 1` patches.
pub(crate) fn plan(base: Option<&Version>, next: &Value, checkpoint_every: i32) -> Write {
    let checkpoint = Write::New {
        base_id: None,
        depth: 0,
        patch: None,
    };
    let Some(base) = base else {
        return checkpoint;
    };
    if base.value == *next {
        return Write::Same(base.id);
    }
    if base.depth + 1 < checkpoint_every {
        let ops = patch::diff(&base.value, next);
        let patch = Value::Array(ops);
        if approx_size(&patch) * 2 < approx_size(next) {
            return Write::New {
                base_id: Some(base.id),
                depth: base.depth + 1,
                patch: Some(patch),
            };
        }
    }
    checkpoint
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
    use serde_json::json;

    fn history(n: usize) -> Value {
        json!({"messages": (0..n).map(|i| json!({"role": "user", "content": [{"text": format!("message {i} with some words")}]})).collect::<Vec<_>>()})
    }

    #[test]
    fn a_growing_history_is_diffs_between_checkpoints_and_rebuilds_exactly() {
        let every = 4;
        let mut rows: Vec<(i64, Option<i64>, i32, Value)> = Vec::new();
        let mut current: Option<Version> = None;
        for n in 1..=12 {
            let next = history(30 + n * 3);
            let id = rows.len() as i64 + 1;
            let (base_id, depth, body) = match plan(current.as_ref(), &next, every) {
                Write::Same(_) => unreachable!("the state changed"),
                Write::New {
                    base_id,
                    depth,
                    patch,
                } => (base_id, depth, patch.unwrap_or_else(|| next.clone())),
            };
            assert!(depth < every);
            if n > 1 && depth == 0 {
                assert_eq!(
                    (n - 1) % every as usize,
                    0,
                    "a checkpoint only when the chain is full"
                );
            }
            rows.push((id, base_id, depth, body));
            // rebuild from the stored rows, as the chain query returns them
            let mut chain = Vec::new();
            let mut at = Some(id);
            while let Some(i) = at {
                let (_, b, d, body) = rows[(i - 1) as usize].clone();
                chain.push((d, body));
                at = b;
            }
            chain.reverse();
            let (d, value) = rebuild(chain).unwrap();
            assert_eq!((d, &value), (depth, &next));
            current = Some(Version { id, depth, value });
        }
        assert!(matches!(
            plan(current.as_ref(), &history(66), every),
            Write::Same(12)
        ));
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
        let base = Version {
            id: 7,
            depth: 1,
            value: json!({"messages": ["a", "b", "c"]}),
        };
        match plan(Some(&base), &json!({"other": "entirely"}), 16) {
            Write::New {
                base_id: None,
                depth: 0,
                ..
            } => {}
            other => panic!("{other:?}"),
        }
    }
}
