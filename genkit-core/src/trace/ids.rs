//! Trace and span ids: lowercase hex, 32 and 16 digits, as Genkit and OpenTelemetry use.

use rand::RngExt;

/// A random, non-zero value (OpenTelemetry reads an all-zero id as "no id"). Ids only need to
/// be unique, not secret; the per-thread generator is seeded from the OS once, so an id costs
/// no system call.
fn nonzero<T: Default + PartialEq>(mut draw: impl FnMut() -> T) -> T {
    loop {
        let v = draw();
        if v != T::default() {
            return v;
        }
    }
}

/// A new trace id: 32 lowercase hex digits.
pub(crate) fn new_trace_id() -> String {
    let mut rng = rand::rng();
    format!("{:032x}", nonzero(|| rng.random::<u128>()))
}

/// A new span id: 16 lowercase hex digits.
pub(crate) fn new_span_id() -> String {
    let mut rng = rand::rng();
    format!("{:016x}", nonzero(|| rng.random::<u64>()))
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
