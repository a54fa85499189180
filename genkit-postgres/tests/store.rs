//! The store's own behaviour beyond the conformance suite, against a real server: start-up
//! errors, migrations, and how a long session is stored.

mod common;

use std::time::{Duration, Instant};

use genkit_core::session::{SessionStore, SnapshotFilter, StoreScope};
use genkit_core::{Message, SessionSnapshot, SessionState, Status};
use genkit_postgres::{PostgresError, PostgresSessionStore, SCHEMA_VERSION};

#[tokio::test]
async fn an_unreachable_server_is_a_typed_error_at_start_naming_it_without_the_password() {
    // needs no server: nothing listens on port 1
    let started = Instant::now();
    let err = PostgresSessionStore::builder("postgres://app:s3cret@127.0.0.1:1/app")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, PostgresError::Unreachable { .. }), "{err:?}");
    assert_eq!(err.status(), Status::Unavailable);
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1/app"), "{text}");
    assert!(!text.contains("s3cret"), "the password leaked: {text}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let bad = PostgresSessionStore::connect("not a url at all ://")
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Status::InvalidArgument, "{bad}");
    let schema = PostgresSessionStore::builder("postgres://a@127.0.0.1:1/a")
        .schema("Robert'); DROP TABLE students;--")
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(schema, PostgresError::InvalidConfig(_)),
        "{schema:?}"
    );
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn sslmode_require_without_the_tls_feature_is_refused_at_start() {
    let err = PostgresSessionStore::connect("postgres://a@127.0.0.1:1/a?sslmode=require")
        .await
        .unwrap_err();
    assert!(
        matches!(err, PostgresError::InvalidConfig(ref m) if m.contains("tls")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_schema_newer_than_this_code_is_a_typed_error_and_migrations_run_once() {
    let Some(url) = common::url_or_skip("a_schema_newer_than_this_code") else {
        return;
    };
    let schema = common::fresh_schema("migrate");
    // migrations off on an empty schema: told to run them
    let off = common::builder(&url, &schema)
        .run_migrations(false)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(off, PostgresError::SchemaOutdated { found: 0, wanted, .. } if wanted == SCHEMA_VERSION),
        "{off:?}"
    );
    // eight workers starting at once: one migrates, all start
    let starts = (0..8).map(|_| common::builder(&url, &schema).connect());
    for store in futures::future::join_all(starts).await {
        store.expect("a concurrent start");
    }
    let raw = common::raw(&url).await;
    let versions: i64 = raw
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".schema_version"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, i64::from(SCHEMA_VERSION));

    // a newer genkit-postgres migrated it: refuse, do not guess
    raw.execute(
        &format!("INSERT INTO \"{schema}\".schema_version (version, description) VALUES ($1, 'from the future')"),
        &[&(SCHEMA_VERSION + 1)],
    )
    .await
    .unwrap();
    let err = common::builder(&url, &schema).connect().await.unwrap_err();
    assert!(
        matches!(err, PostgresError::SchemaTooNew { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err:?}"
    );
    assert_eq!(err.status(), Status::FailedPrecondition);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn a_version_1_schema_is_migrated_to_the_current_one_keeping_its_snapshots() {
    let Some(url) = common::url_or_skip("a_version_1_schema_is_migrated") else {
        return;
    };
    let schema = common::fresh_schema("upgrade");
    let raw = common::raw(&url).await;
    // the schema as a version 1 store left it, with one snapshot
    let v1 = genkit_postgres::migrations()[0].sql(&schema).unwrap();
    raw.batch_execute(&format!(
        "CREATE SCHEMA \"{schema}\";
         CREATE TABLE \"{schema}\".schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
         {v1}
         INSERT INTO \"{schema}\".schema_version (version, description) VALUES (1, 'v1');"
    ))
    .await
    .unwrap();
    let old = common::builder(&url, &schema)
        .run_migrations(false)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(old, PostgresError::SchemaOutdated { found: 1, wanted, .. } if wanted == SCHEMA_VERSION),
        "{old:?}"
    );
    raw.execute(
        &format!(
            "INSERT INTO \"{schema}\".snapshots (scope, snapshot_id, session_id, created_order, status, header) \
             VALUES ('global', 'asked', 'sess', now(), 'completed', '{{\"snapshotId\":\"asked\",\"sessionId\":\"sess\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"status\":\"completed\"}}')"
        ),
        &[],
    )
    .await
    .unwrap();

    let store = common::builder(&url, &schema).connect().await.unwrap();
    let versions: Vec<i32> = raw
        .query(
            &format!("SELECT version FROM \"{schema}\".schema_version ORDER BY version"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    // version 3 took the foreign keys off the state references
    let foreign_keys: i64 = raw
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = $1::text::regnamespace",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(foreign_keys, 0);
    let scope = StoreScope::global();
    assert!(store.get_snapshot(&scope, "asked").await.unwrap().is_some());
    assert_eq!(
        store.claim_resume(&scope, "asked", "a").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_resume(&scope, "asked", "b")
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
    common::drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn a_long_session_is_stored_as_checkpoints_and_diffs_not_rewritten_per_turn() {
    let Some(url) = common::url_or_skip("a_long_session_is_stored_as_checkpoints_and_diffs") else {
        return;
    };
    let schema = common::fresh_schema("diffs");
    let store = common::builder(&url, &schema)
        .checkpoint_every(16)
        .connect()
        .await
        .unwrap();
    let scope = StoreScope::new("tenant-a").unwrap();
    const TURNS: usize = 200;
    let mut messages: Vec<Message> = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..TURNS {
        messages.push(Message::user(format!(
            "question {i}: {}",
            "words ".repeat(20)
        )));
        messages.push(Message::model(format!(
            "answer {i}: {}",
            "more words ".repeat(20)
        )));
        let snap = SessionSnapshot::new_turn(
            "long",
            parent.clone(),
            SessionState {
                messages: Some(messages.clone().into()),
                ..Default::default()
            },
        );
        let saved = store
            .save_snapshot(&scope, None, &|_| Ok(Some(snap.clone())))
            .await
            .unwrap()
            .unwrap();
        parent = Some(saved.snapshot_id);
    }
    let tip = store
        .get_latest_snapshot(&scope, "long", &SnapshotFilter::any())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tip.state.unwrap().messages(), messages.as_slice());

    let raw = common::raw(&url).await;
    let row = raw
        .query_one(
            &format!(
                "SELECT count(*) FILTER (WHERE depth = 0), count(*), sum(octet_length(body::text))::bigint, \
                 max(depth) FROM \"{schema}\".states"
            ),
            &[],
        )
        .await
        .unwrap();
    let (checkpoints, versions, stored, max_depth): (i64, i64, i64, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let last_state = serde_json::to_vec(&SessionState {
        messages: Some(messages.clone().into()),
        ..Default::default()
    })
    .unwrap()
    .len() as i64;
    eprintln!("{versions} state versions, {checkpoints} checkpoints, {stored} bytes stored; one whole state is {last_state} bytes");
    assert_eq!(versions, TURNS as i64);
    // one per 16 versions, and early ones where a turn is over half the state
    let full_chains = TURNS as i64 / 16;
    assert!(
        (full_chains..=full_chains + 3).contains(&checkpoints),
        "{checkpoints} checkpoints for {TURNS} versions"
    );
    assert!(max_depth < 16);
    // rewriting the history every turn would store ~TURNS/2 whole states
    assert!(
        stored < last_state * 10,
        "{stored} bytes stored for a {last_state}-byte history"
    );
    drop(store);
    common::drop_schema(&url, &schema).await;
}

/// A store keeps the state versions it last read or wrote, to diff a child against its parent
/// without reading the parent back. Another process may have rewritten the parent since: the
/// child must still read back exactly, from either process, and the parent as rewritten.
#[tokio::test]
async fn a_parent_rewritten_by_another_process_still_gives_exact_children() {
    let Some(url) = common::url_or_skip("a_parent_rewritten_by_another_process") else {
        return;
    };
    let schema = common::fresh_schema("recent");
    let a = common::builder(&url, &schema).connect().await.unwrap();
    let b = common::builder(&url, &schema).connect().await.unwrap();
    let scope = StoreScope::global();
    // what is compared: the history (a turn's state also names its session)
    let messages_of = |s: &SessionState| Some(s.messages().to_vec());
    let messages = |s: &SessionSnapshot| s.state.as_ref().and_then(messages_of);
    let state = |texts: &[&str]| SessionState {
        messages: Some(
            texts
                .iter()
                .map(|t| Message::user(*t))
                .collect::<Vec<_>>()
                .into(),
        ),
        ..Default::default()
    };
    let first = SessionSnapshot::new_turn("s", None, state(&["one", "two"]));
    let parent = a
        .save_snapshot(&scope, None, &|_| Ok(Some(first.clone())))
        .await
        .unwrap()
        .unwrap()
        .snapshot_id;
    // b rewrites the parent with another history; a still has the first one in memory
    let rewritten = state(&["one", "two", "three (rewritten by b)"]);
    b.save_snapshot(&scope, Some(&parent), &|current| {
        let mut next = current.cloned().expect("the parent exists");
        next.state = Some(rewritten.clone());
        Ok(Some(next))
    })
    .await
    .unwrap()
    .unwrap();
    // a continues from the parent: its child is diffed against what a saw
    let child_state = state(&["one", "two", "four (the child's)"]);
    let child = SessionSnapshot::new_turn("s", Some(parent.clone()), child_state.clone());
    let child_id = a
        .save_snapshot(&scope, None, &|_| Ok(Some(child.clone())))
        .await
        .unwrap()
        .unwrap()
        .snapshot_id;
    for store in [&a, &b] {
        let read = store
            .get_snapshot(&scope, &child_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(messages(&read), messages_of(&child_state));
        let p = store.get_snapshot(&scope, &parent).await.unwrap().unwrap();
        assert_eq!(messages(&p), messages_of(&rewritten));
    }
    // and a fresh process, with nothing in memory, reads the same
    let c = common::builder(&url, &schema).connect().await.unwrap();
    let read = c.get_snapshot(&scope, &child_id).await.unwrap().unwrap();
    assert_eq!(messages(&read), messages_of(&child_state));
    drop((a, b, c));
    common::drop_schema(&url, &schema).await;
}

/// The state rows have no foreign keys (version 3): a chain broken by hand, a diff's base
/// deleted, must read back as a typed corruption naming the snapshot, never as a wrong state,
/// and must not touch another session's snapshots.
#[tokio::test]
async fn a_state_chain_broken_by_hand_reads_as_corrupted_and_spares_other_sessions() {
    let Some(url) = common::url_or_skip("a_state_chain_broken_by_hand") else {
        return;
    };
    let schema = common::fresh_schema("broken");
    let store = common::builder(&url, &schema).connect().await.unwrap();
    let scope = StoreScope::global();
    let mut ids = Vec::new();
    for session in ["damaged", "intact"] {
        let mut messages = Vec::new();
        let mut parent = None;
        for i in 0..3 {
            messages.push(Message::user(format!("{session} turn {i}")));
            let snap = SessionSnapshot::new_turn(
                session,
                parent.clone(),
                SessionState {
                    messages: Some(messages.clone().into()),
                    ..Default::default()
                },
            );
            let id = store
                .save_snapshot(&scope, None, &|_| Ok(Some(snap.clone())))
                .await
                .unwrap()
                .unwrap()
                .snapshot_id;
            parent = Some(id.clone());
            ids.push((session, id, messages.clone()));
        }
    }
    let raw = common::raw(&url).await;
    // the middle turn's state is the base of the last turn's diff
    let middle = &ids[1].1;
    let deleted = raw
        .execute(
            &format!(
                "DELETE FROM \"{schema}\".states WHERE id = \
                 (SELECT state_id FROM \"{schema}\".snapshots WHERE snapshot_id = $1) AND depth > 0"
            ),
            &[middle],
        )
        .await
        .unwrap();
    assert_eq!(deleted, 1, "the middle turn is stored as a diff");
    // a process with nothing in memory reads from the rows alone
    let fresh = common::builder(&url, &schema).connect().await.unwrap();
    let last = &ids[2].1;
    let err = fresh.get_snapshot(&scope, last).await.unwrap_err();
    assert!(
        matches!(&err, genkit_core::session::SessionStoreError::Corrupted { location, .. } if location.contains(&format!("{last:?}"))),
        "{err:?}"
    );
    for (session, id, messages) in &ids[3..] {
        let read = fresh.get_snapshot(&scope, id).await.unwrap().unwrap();
        assert_eq!(read.session_id.as_deref(), Some(*session));
        assert_eq!(read.state.unwrap().messages(), messages.as_slice());
    }
    drop((store, fresh));
    common::drop_schema(&url, &schema).await;
}
