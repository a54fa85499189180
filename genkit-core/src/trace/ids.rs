//! Trace and span ids: lowercase hex, 32 and 16 digits, as Genkit and OpenTelemetry use.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random, non-zero 64-bit value. Ids only need to be unique, not secret: std's randomly
/// keyed hasher over a process-wide counter gives that without another dependency.
fn random_u64() -> u64 {
    loop {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u32(std::process::id());
        let v = hasher.finish();
        if v != 0 {
            return v;
        }
    }
}

/// A new trace id: 32 lowercase hex digits.
pub(crate) fn new_trace_id() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// A new span id: 16 lowercase hex digits.
pub(crate) fn new_span_id() -> String {
    format!("{:016x}", random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_hex_of_the_right_length_and_unique() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let t = new_trace_id();
            assert_eq!(t.len(), 32);
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert!(seen.insert(t));
            let s = new_span_id();
            assert_eq!(s.len(), 16);
            assert!(seen.insert(s));
        }
    }
}
