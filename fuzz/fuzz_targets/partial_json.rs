//! The partial JSON parser behind `output_so_far()` (`genkit_core::parse_partial`) on any text.
//!
//! Checked:
//! - no panic, no stack overflow, no hang, on any text and on every prefix of it;
//! - complete JSON reads as serde_json reads it: the partial view of a finished answer is the
//!   final answer;
//! - `OutputFormat::parse_partial_text` (what a stream shows for each output format) never
//!   panics.
//!
//! The parser runs on a thread with a 256 KiB stack. In an application it runs inside a
//! `generate` future on a tokio worker (2 MiB, with the engine's frames below it), and a model
//! controls how deep the text nests; the small stack lets libFuzzer's short inputs show a depth
//! problem that would take a much longer answer on a worker.
#![no_main]

use genkit_core::{parse_partial, OutputFormat};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const STACK: usize = 256 * 1024;

fn check(text: &str) {
    let partial = parse_partial(text);
    if let Ok(complete) = serde_json::from_str::<Value>(text) {
        // KNOWN, not fixed yet: a surrogate pair written as two `\u` escapes (how
        // ASCII-only JSON writers spell characters outside the BMP) reads as two U+FFFD. The
        // ignored test `a_surrogate_pair_escape_reads_as_one_character` in
        // genkit-core/tests/fuzz_findings.rs holds it; remove this skip with the fix.
        if !has_surrogate_escape(text) {
            assert_eq!(
                partial.as_ref(),
                Some(&complete),
                "complete JSON reads differently when parsed as partial: {text:?}"
            );
        }
    }
    // every prefix at a char boundary (bounded: at most 64 of them)
    let step = (text.len() / 64).max(1);
    let mut at = 0;
    while at < text.len() {
        if text.is_char_boundary(at) {
            let _ = parse_partial(&text[..at]);
        }
        at += step;
    }
    for format in [
        OutputFormat::Json,
        OutputFormat::Array,
        OutputFormat::Jsonl,
        OutputFormat::Text,
        OutputFormat::Enum,
    ] {
        let _ = format.parse_partial_text(text);
    }
}

/// Whether `text` has a `\uD800`..`\uDFFF` escape.
fn has_surrogate_escape(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| {
        w[0] == b'u'
            && matches!(w[1], b'd' | b'D')
            && matches!(w[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    }) && text.contains("\\u")
}

fuzz_target!(
    init: genkit_fuzz::catch_stack_overflows(),
    |bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes).into_owned();
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let _alt = genkit_fuzz::alternate_stack();
            check(&text)
        })
        .expect("a thread")
        .join()
        .expect("the check ran");
});
