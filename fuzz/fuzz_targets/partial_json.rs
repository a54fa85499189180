//! The partial JSON parser behind `output_so_far()` (`genkit_core::parse_partial`) on any text.
//!
//! Checked:
//! - no panic, no stack overflow, no hang, on any text and on prefixes of it;
//! - complete JSON reads as serde_json reads it: the partial view of a finished answer is the
//!   final answer;
//! - `OutputFormat::parse_partial_text` (what a stream shows for each output format) never
//!   panics.
//!
//! `parse_partial` runs on a thread with a 64 KiB stack. In an application it runs inside a
//! `generate` future on a tokio worker (2 MiB, with the engine's frames below it), and the model
//! decides how deep the text nests; the small stack makes a depth problem show within
//! libFuzzer's input lengths (a few hundred levels instead of thousands). serde_json's 128
//! levels fit in it with room to spare.
#![no_main]

use genkit_core::{parse_partial, OutputFormat};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const STACK: usize = 64 * 1024;

/// What `parse_partial` gives for the whole text and for up to 64 prefixes of it.
fn partial_views(text: String) -> Option<Value> {
    let step = (text.len() / 64).max(1);
    let mut at = 0;
    while at < text.len() {
        if text.is_char_boundary(at) {
            let _ = parse_partial(&text[..at]);
        }
        at += step;
    }
    parse_partial(&text)
}

fuzz_target!(
    init: genkit_fuzz::catch_stack_overflows(),
    |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let partial = {
            let text = text.clone();
            std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || {
                    let _alt = genkit_fuzz::alternate_stack();
                    partial_views(text)
                })
                .expect("a thread")
                .join()
                .expect("the parser ran")
        };
        if let Ok(complete) = serde_json::from_str::<Value>(&text) {
            assert_eq!(
                partial.as_ref(),
                Some(&complete),
                "complete JSON reads differently when parsed as partial: {text:?}"
            );
        }
        for format in [
            OutputFormat::Json,
            OutputFormat::Array,
            OutputFormat::Jsonl,
            OutputFormat::Text,
            OutputFormat::Enum,
        ] {
            let _ = format.parse_partial_text(&text);
        }
    }
);
