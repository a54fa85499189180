//! What the coverage-guided fuzz targets in `fuzz/` found in genkit-core, each as a plain test
//! named for the behaviour (the input minimized, written out as a literal). See
//! `fuzz/README.md` for how a finding becomes one of these.

use genkit_core::{parse_partial, OutputFormat};
use serde_json::{json, Value};

/// `partial_json` target. JSON writers that keep their output ASCII (Python's `json.dumps`, many
/// servers) spell a character outside the Basic Multilingual Plane as a UTF-16 surrogate pair of
/// two `\u` escapes. Complete JSON must read the same through the partial parser as through
/// serde_json: otherwise `output_so_far()` shows `"\u{fffd}\u{fffd}"` where the final output has
/// the emoji.
#[test]
fn a_surrogate_pair_escape_reads_as_one_character() {
    let text = r#"{"text":"emoji \ud83d\ude00!"}"#;
    let complete: Value = serde_json::from_str(text).unwrap();
    assert_eq!(complete, json!({"text": "emoji \u{1f600}!"}));
    assert_eq!(parse_partial(text), Some(complete.clone()));
    assert_eq!(OutputFormat::Json.parse_partial_text(text), Some(complete));
    // still arriving: a pair cut after its first half shows nothing of it yet
    assert_eq!(
        parse_partial(r#"{"text":"emoji \ud83d"#),
        Some(json!({"text": "emoji "}))
    );
}
