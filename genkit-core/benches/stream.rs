//! Streaming and structured output: the cost per chunk of the stream path (model -> engine ->
//! bounded queue -> consumer), and parsing a 10 KB structured answer.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures::future::BoxFuture;
use futures::StreamExt;
use genkit_core::prelude::*;
use genkit_core::{GenerateResponseChunk, Model, ModelContext, ModelRequest, OutputFormat};
use serde_json::{json, Value};

const CHUNKS: usize = 1_000;

/// Streams `CHUNKS` one-word chunks, then answers.
struct Chunky;

impl Model for Chunky {
    fn name(&self) -> &str {
        "chunky"
    }

    fn generate<'a>(
        &'a self,
        _req: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            for _ in 0..CHUNKS {
                ctx.send_chunk(GenerateResponseChunk::new(vec![Part::text("word ")]))
                    .await;
            }
            Ok(ModelResponse::new(
                Message::model("done"),
                FinishReason::Stop,
            ))
        })
    }
}

/// A JSON object of about 10 KB: a catalogue of films.
fn ten_kb() -> String {
    let films: Vec<Value> = (0..120)
        .map(|i| json!({"title": format!("Film number {i}"), "year": 1950 + i, "tags": ["drama", "classic"], "rating": 4.5}))
        .collect();
    let text = json!({"catalogue": films}).to_string();
    assert!((9_000..12_000).contains(&text.len()), "{}", text.len());
    text
}

fn stream(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ai = Genkit::builder()
        .model(Chunky)
        .default_model("chunky")
        .build()
        .expect("instance");
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(CHUNKS as u64));
    g.bench_function("chunks_1000", |b| {
        b.to_async(&rt).iter(|| async {
            let mut s = ai.generate().prompt("go").stream();
            let mut n = 0;
            while s.next().await.is_some() {
                n += 1;
            }
            assert_eq!(n, CHUNKS);
        })
    });
    g.finish();

    let text = ten_kb();
    let mut g = c.benchmark_group("output");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse_json_10kb", |b| {
        b.iter(|| OutputFormat::Json.parse_text(&text).expect("parses"))
    });
    g.bench_function("parse_partial_10kb", |b| {
        b.iter_batched(
            || &text[..text.len() - 7],
            |t| OutputFormat::Json.parse_partial_text(t).expect("parses"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, stream);
criterion_main!(benches);
