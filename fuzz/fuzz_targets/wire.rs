//! Genkit's wire types from arbitrary bytes: `Part`, `Message`, `GenerateActionOptions`,
//! `ModelRequest`, `ModelResponse`, `GenerateResponseChunk` and `GenerateResponse` (the seed
//! corpus is `genkit-core/tests/corpus/*.json`).
//!
//! Checked, for every type:
//! - no panic, no stack overflow, no hang;
//! - a `Value` and its text are accepted or rejected alike, to equal values;
//! - what deserializes serializes, and reads back to an equal value that serializes to the same
//!   JSON (through text and through `Value`). `GenerateResponse` normalizes on its first
//!   serialization (it adds what Genkit always writes), so it is stable from the second one on;
//!   its accessors never panic.
#![no_main]

use std::fmt::Debug;

use genkit_core::{
    GenerateActionOptions, GenerateResponse, GenerateResponseChunk, Message, ModelRequest,
    ModelResponse, Part,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn stable<T>(t: &T)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let v = serde_json::to_value(t).expect("serializes to a value");
    let back: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("own value rejected: {e}: {v}"));
    assert_eq!(&back, t, "round trip through Value: {v}");
    assert_eq!(serde_json::to_value(&back).expect("serializes"), v);
    let text = serde_json::to_string(t).expect("serializes to text");
    let back: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("own text rejected: {e}: {text}"));
    assert_eq!(&back, t, "round trip through text: {text}");
}

fn one<T>(bytes: &[u8], value: Option<&Value>)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let from_bytes = serde_json::from_slice::<T>(bytes).ok();
    if let Some(t) = &from_bytes {
        stable(t);
    }
    if let Some(v) = value {
        // (compared with the value's own text: raw bytes may repeat a key, which a `Value` drops)
        let from_value = serde_json::from_value::<T>(v.clone()).ok();
        let from_text = serde_json::from_str::<T>(&v.to_string()).ok();
        assert_eq!(
            from_value,
            from_text,
            "{}: a value and its text read differently: {v}",
            std::any::type_name::<T>()
        );
    }
}

fn poke(r: &GenerateResponse) {
    let _ = r.text();
    for i in r.interrupts() {
        let _ = i.to_part();
    }
    let _ = r.tool_requests();
    let _ = r.request();
    let _ = r.output_value();
    let _ = r.finish_reason();
    let _ = r.to_wire();
}

fn generate_response(bytes: &[u8]) {
    let Ok(r) = serde_json::from_slice::<GenerateResponse>(bytes) else {
        return;
    };
    poke(&r);
    let v = serde_json::to_value(&r).expect("serializes");
    let r2: GenerateResponse = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("own output rejected: {e}: {v}"));
    poke(&r2);
    assert_eq!(r2.messages(), r.messages(), "messages survive a round trip");
    assert_eq!(
        r2.interrupts(),
        r.interrupts(),
        "interrupts survive a round trip"
    );
    stable(&r2);
}

fuzz_target!(
    init: genkit_fuzz::catch_stack_overflows(),
    |bytes: &[u8]| {
    let value = serde_json::from_slice::<Value>(bytes).ok();
    let value = value.as_ref();
    one::<Part>(bytes, value);
    one::<Message>(bytes, value);
    one::<GenerateActionOptions>(bytes, value);
    one::<ModelRequest>(bytes, value);
    one::<ModelResponse>(bytes, value);
    one::<GenerateResponseChunk>(bytes, value);
    generate_response(bytes);
});
