//! Cost of one session-store save (a new turn snapshot) and one "latest of a session" lookup, in
//! the in-memory and the file store, with a fresh session and with 50 prior turns in the state
//! (100 messages), the shape `agent_turn` will put on a store. The file store is measured with
//! fsync on (the default: the cost is the disk's flush) and off (the store's own overhead).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use genkit_core::session::{
    FileSessionStore, InMemorySessionStore, SessionStore, SnapshotFilter, StoreScope,
};
use genkit_core::{Message, SessionSnapshot, SessionState};

fn turn_with_history(prior_turns: usize) -> SessionSnapshot {
    let mut messages = Vec::with_capacity(prior_turns * 2 + 2);
    for i in 0..=prior_turns {
        messages.push(Message::user(format!(
            "question {i}: what is the weather like in Paris today?"
        )));
        messages.push(Message::model(format!(
            "answer {i}: sunny, 21 degrees, light wind from the west."
        )));
    }
    SessionSnapshot::new_turn(
        "bench-session",
        None,
        SessionState {
            messages: Some(messages.into()),
            ..Default::default()
        },
    )
}

fn bench_store<S: SessionStore>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &S,
) {
    let scope = StoreScope::global();
    let mut group = c.benchmark_group(format!("session_store/{name}"));
    for history in [0usize, 50] {
        let snap = turn_with_history(history);
        group.bench_with_input(BenchmarkId::new("save_turn", history), &snap, |b, snap| {
            b.to_async(rt).iter(|| async {
                store
                    .save_snapshot(&scope, None, &|_| Ok(Some(snap.clone())))
                    .await
                    .unwrap()
            })
        });
    }
    group.bench_function("get_latest", |b| {
        b.to_async(rt).iter(|| async {
            store
                .get_latest_snapshot(&scope, "bench-session", &SnapshotFilter::any())
                .await
                .unwrap()
        })
    });
    group.finish();
}

fn session_stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    bench_store(c, &rt, "memory", &InMemorySessionStore::new());
    let dir = std::env::temp_dir().join(format!("genkit-rs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    bench_store(
        c,
        &rt,
        "file_fsync",
        &FileSessionStore::new(dir.join("fsync")),
    );
    bench_store(
        c,
        &rt,
        "file_no_fsync",
        &FileSessionStore::builder(dir.join("no-fsync"))
            .fsync(false)
            .build(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    targets = session_stores
}
criterion_main!(benches);
