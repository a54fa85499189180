//! The database restarted (`pg_ctl restart -m fast`) under load: calls in flight fail with
//! typed, retryable errors (or ride it out, with retries), no committed snapshot is lost, and
//! the pool recovers without restarting the app.
//!
//! Alone in its binary: it restarts the test server, so nothing else may use it meanwhile
//! (cargo runs test binaries one after another). Needs `GENKIT_PG_DIR` (from
//! `scripts/postgres env`) to restart the server `GENKIT_PG_URL` names.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use genkit_core::session::{SessionStore, SessionStoreError, StoreScope};
use genkit_core::{Message, SessionSnapshot, SessionState, Status};
use genkit_postgres::{postgres_error, PostgresSessionStore, RetryPolicy};

fn turn(session: &str, text: &str) -> SessionSnapshot {
    SessionSnapshot::new_turn(
        session,
        None,
        SessionState {
            messages: Some(vec![Message::user(text)].into()),
            ..Default::default()
        },
    )
}

/// What one store's load saw.
#[derive(Default)]
struct Tally {
    /// (snapshot id, its text) of every save that answered Ok.
    committed: Vec<(String, String)>,
    errors: Vec<String>,
}

/// Saves new snapshots from `tasks` tasks until `stop`; every error must be a typed,
/// retryable one.
async fn load(
    store: PostgresSessionStore,
    tag: &'static str,
    tasks: usize,
    stop: Arc<AtomicBool>,
) -> Tally {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (store, stop, tally) = (store.clone(), Arc::clone(&stop), Arc::clone(&tally));
        handles.push(tokio::spawn(async move {
            let scope = StoreScope::global();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let text = format!("{tag} task {t} save {n}");
                let snap = turn(&format!("{tag}-{t}"), &text);
                match store
                    .save_snapshot(&scope, None, &|_| Ok(Some(snap.clone())))
                    .await
                {
                    Ok(Some(s)) => tally.lock().unwrap().committed.push((s.snapshot_id, text)),
                    Ok(None) => panic!("a writing mutator answered None"),
                    Err(e) => {
                        check_typed(&e);
                        tally.lock().unwrap().errors.push(e.to_string());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("a load task panicked");
    }
    Arc::try_unwrap(tally)
        .ok()
        .expect("tasks done")
        .into_inner()
        .unwrap()
}

/// A failure during a restart is a backend error carrying a retryable [`PostgresError`].
fn check_typed(e: &SessionStoreError) {
    let pg = postgres_error(e).unwrap_or_else(|| panic!("not a database error: {e:?}"));
    assert!(
        pg.is_retryable(),
        "a restart gave a non-retryable error: {pg:?}"
    );
    assert_eq!(e.status(), Status::Unavailable, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_under_load_gives_typed_retryable_errors_loses_nothing_and_the_pool_recovers() {
    let Some(url) = common::url_or_skip("a_restart_under_load") else {
        return;
    };
    let Some(dir) = std::env::var_os("GENKIT_PG_DIR") else {
        assert!(
            std::env::var_os(common::REQUIRE_VAR).is_none(),
            "GENKIT_PG_DIR is needed to restart the server: eval \"$(scripts/postgres env)\""
        );
        eprintln!("SKIPPED a_restart_under_load: GENKIT_PG_DIR (scripts/postgres env) names no server to restart");
        return;
    };
    let schema = common::fresh_schema("restart");
    let strict = common::builder(&url, &schema)
        .retries(RetryPolicy::none())
        .connect()
        .await
        .expect("strict store");
    let patient = common::builder(&url, &schema)
        .retries(RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        })
        .connect()
        .await
        .expect("patient store");

    let stop = Arc::new(AtomicBool::new(false));
    let strict_load = tokio::spawn(load(strict.clone(), "strict", 8, Arc::clone(&stop)));
    let patient_load = tokio::spawn(load(patient.clone(), "patient", 8, Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres");
    let restarted = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("restart")
        .env("GENKIT_PG_DIR", &dir)
        .status()
        .await
        .expect("run scripts/postgres restart");
    assert!(restarted.success(), "pg_ctl restart failed");
    let back = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let strict_tally = strict_load.await.unwrap();
    let patient_tally = patient_load.await.unwrap();
    eprintln!(
        "strict: {} committed, {} typed errors; patient: {} committed, {} errors",
        strict_tally.committed.len(),
        strict_tally.errors.len(),
        patient_tally.committed.len(),
        patient_tally.errors.len()
    );
    assert!(
        !strict_tally.errors.is_empty(),
        "the restart hit no call in flight of the store without retries"
    );
    assert!(
        patient_tally.errors.is_empty(),
        "retries did not ride out a restart: {:?}",
        patient_tally.errors
    );

    // the same store objects work again: the pools replaced their dead connections
    let scope = StoreScope::global();
    for store in [&strict, &patient] {
        let mut ok_in_a_row = 0;
        while ok_in_a_row < 10 {
            assert!(
                back.elapsed() < Duration::from_secs(15),
                "the pool did not recover"
            );
            let snap = turn("after", "after the restart");
            match store
                .save_snapshot(&scope, None, &|_| Ok(Some(snap.clone())))
                .await
            {
                Ok(_) => ok_in_a_row += 1,
                Err(e) => {
                    check_typed(&e);
                    ok_in_a_row = 0;
                }
            }
        }
    }

    // nothing that answered Ok was lost: read back through a store started after it all
    let fresh = PostgresSessionStore::builder(&url)
        .schema(&schema)
        .connect()
        .await
        .unwrap();
    for (id, text) in strict_tally
        .committed
        .iter()
        .chain(&patient_tally.committed)
    {
        let s = fresh
            .get_snapshot(&scope, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("committed snapshot {id} was lost"));
        assert_eq!(s.state.unwrap().messages()[0].text(), *text);
    }
    drop((strict, patient, fresh));
    common::drop_schema(&url, &schema).await;
}
