//! Cost of sealed histories: sealing an interrupted message and verifying the history on
//! resume, for a 20- and a 200-message conversation (each tool round: a model message with a
//! tool request, a tool message with its answer, a user message of ~100 characters).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use genkit_core::prelude::*;
use genkit_core::HistorySeal;
use serde_json::json;

fn history(len: usize) -> Vec<Message> {
    let mut messages = Vec::with_capacity(len);
    let mut i = 0;
    while messages.len() + 1 < len {
        match messages.len() % 3 {
            0 => messages.push(Message::user(format!(
                "Question {i}: what is the weather in Paris and in Berlin, and should I pack an umbrella?"
            ))),
            1 => messages.push(Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "weather",
                    Some(format!("call_{i}")),
                    json!({"city": "Paris", "unit": "celsius", "days": 3}),
                ))],
            )),
            _ => {
                messages.push(Message::new(
                    Role::Tool,
                    vec![Part::tool_response(ToolResponse::new(
                        "weather",
                        Some(format!("call_{i}")),
                        json!({"forecast": ["rain", "sun", "clouds"], "high": 21.5, "low": 12}),
                    ))],
                ));
                i += 1;
            }
        }
    }
    let mut ask = Part::tool_request(ToolRequest::new(
        "approve",
        Some("approve_1".into()),
        json!({"amount": 40, "to": "Bob"}),
    ));
    ask.set_metadata("interrupt", json!({"confirm": "Send 40 euros to Bob?"}));
    messages.push(Message::new(Role::Model, vec![ask]));
    messages
}

fn seal_bench(c: &mut Criterion) {
    let seal = HistorySeal::new("k1", [7u8; 32]).expect("key");
    let mut group = c.benchmark_group("seal");
    for len in [20usize, 200] {
        let mut messages = history(len);
        let bytes = serde_json::to_vec(&messages).expect("json").len() as u64;
        group.throughput(Throughput::Bytes(bytes));
        group.bench_with_input(BenchmarkId::new("seal", len), &len, |b, _| {
            let (last, before) = messages.split_last_mut().expect("non-empty");
            b.iter(|| seal.seal(before, last).expect("sealed"));
        });
        let (last, before) = messages.split_last_mut().expect("non-empty");
        seal.seal(before, last).expect("sealed");
        group.bench_with_input(BenchmarkId::new("verify", len), &len, |b, _| {
            b.iter(|| seal.verify(&messages).expect("verifies"));
        });
        let mut tampered = messages.clone();
        tampered[len / 2].content.push(Part::text("x"));
        group.bench_with_input(BenchmarkId::new("verify_tampered", len), &len, |b, _| {
            b.iter(|| seal.verify(&tampered).expect_err("tampered"));
        });
    }
    group.finish();
}

criterion_group!(benches, seal_bench);
criterion_main!(benches);
