//! The OpenAI plugin's streaming path: the SSE parser and the stream accumulator.
//!
//! The input is the raw `text/event-stream` body (the seed corpus is the recorded `.sse`
//! fixtures). Checked:
//! - no panic, no hang (libFuzzer's `-timeout`), bounded memory (`-rss_limit_mb`);
//! - cuts do not matter: the body fed whole, byte by byte (short bodies) and in pieces of
//!   input-chosen sizes gives the same events and the same end;
//! - the events up to `[DONE]` run through the accumulator: whatever response it builds says
//!   what was streamed (its text and reasoning are exactly the streamed deltas, joined) and
//!   survives a wire round trip;
//! - the body as a non-streamed completion converts or fails with a typed error.
#![no_main]

use genkit_core::{ModelResponse, PartKind};
use genkit_openai::__fuzz::{accumulate, completion, sse_events};
use libfuzzer_sys::fuzz_target;

/// Piece sizes from a small generator seeded by the body itself, so that each input always
/// gets the same cuts (a crash reproduces) and different inputs different ones.
fn cuts(body: &[u8]) -> Vec<&[u8]> {
    let mut state = body.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let mut pieces = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // mostly short pieces (cuts inside line breaks, fields, UTF-8 characters), some long
        let max = if state % 8 == 0 { 512 } else { 7 };
        let n = ((state >> 8) % max + 1) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

fuzz_target!(
    init: genkit_fuzz::catch_stack_overflows(),
    |body: &[u8]| {
    let whole = sse_events(&[body]);
    let pieces = cuts(body);
    assert_eq!(sse_events(&pieces), whole, "cut into {} pieces", pieces.len());
    if body.len() <= 2048 {
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(sse_events(&bytes), whole, "fed byte by byte");
    }
    // with an empty piece first and in between
    assert_eq!(sse_events(&[b"", body, b""]), whole, "empty reads");

    let (events, end) = whole;
    // the streaming path stops at `[DONE]`, wherever it comes
    let data: Vec<&str> = events
        .iter()
        .chain(end.as_ref().ok().and_then(Option::as_ref))
        .map(|(_, data)| data.as_str())
        .take_while(|data| *data != "[DONE]")
        .collect();
    let (streamed, _finished, response) = accumulate(&data);
    if let Ok(response) = response {
        let message = response.message.as_ref().expect("a response has a message");
        let streamed_text: String = streamed
            .iter()
            .filter_map(|p| match &p.kind {
                PartKind::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(message.text(), streamed_text, "text is the streamed deltas");
        let reasoning = |parts: &mut dyn Iterator<Item = &genkit_core::Part>| -> String {
            parts
                .filter_map(|p| match &p.kind {
                    PartKind::Reasoning(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            reasoning(&mut message.content.iter()),
            reasoning(&mut streamed.iter()),
            "reasoning is the streamed deltas"
        );
        assert!(
            streamed
                .iter()
                .all(|p| matches!(p.kind, PartKind::Text(_) | PartKind::Reasoning(_))),
            "only text and reasoning stream before the end"
        );
        round_trip(&response);
    }

    if let Ok(response) = completion(body) {
        round_trip(&response);
    }
});

/// What the plugin hands the engine is a valid wire response.
fn round_trip(response: &ModelResponse) {
    let json = serde_json::to_string(response).expect("a response serializes");
    let back: ModelResponse = serde_json::from_str(&json).expect("own output deserializes");
    assert_eq!(&back, response, "wire round trip: {json}");
}
