//! Rendering a `.prompt` file with three partials and a 20-message history: the template is
//! compiled once (when the library loads); each iteration renders messages only
//! (`template_render`), or the Genkit generate options with input validation and the tool
//! check (`genkit_options`). Genkit JS on the same file: see bench/README.md.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use genkit_core::testing::EchoModel;
use genkit_core::{ActionContext, Genkit, Message};
use genkit_dotprompt::{DataArgument, GenkitBuilderPromptExt, PromptLibrary};
use serde_json::{json, Value};

fn history() -> Vec<Message> {
    (0..20)
        .map(|i| {
            if i % 2 == 0 {
                Message::user(format!(
                    "Question {i}: what about the part where the loop pauses?"
                ))
            } else {
                Message::model(format!(
                    "Answer {i}: the interrupt hands control back to the app."
                ))
            }
        })
        .collect()
}

fn input() -> Value {
    json!({"user": "Ada", "topic": "tool interrupts", "items": ["pausing", "answering", "resuming"]})
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/prompts");
    let library = PromptLibrary::load_dir(&dir).expect("bench prompts load");
    let prompt = library.get("bench").expect("bench prompt").clone();
    let history = history();
    let mut context = serde_json::Map::new();
    context.insert("state".into(), json!({"level": "beginner"}));
    let data = DataArgument {
        input: Some(input()),
        messages: Some(history.clone()),
        context: Some(context),
        ..Default::default()
    };
    let rendered = prompt.template().render(&data).expect("renders");
    assert_eq!(rendered.messages.len(), 22);

    let mut g = c.benchmark_group("dotprompt");
    g.bench_function("template_render", |b| {
        b.iter(|| prompt.template().render(std::hint::black_box(&data)))
    });
    let ai = Genkit::builder()
        .model(EchoModel::new("bench-model"))
        .prompts(&library)
        .build()
        .expect("instance");
    let input = input();
    let state = json!({"level": "beginner"});
    let ctx = ActionContext::new();
    g.bench_function("genkit_options", |b| {
        b.iter(|| prompt.render(&ai, &input, Some(&history), &ctx, Some(&state)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
