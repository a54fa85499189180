//! What the tests against a real server share: the server's URL (or a visible skip), a fresh
//! schema per test, a raw connection for what the store does not offer (damage, inspection).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use genkit_postgres::{PostgresSessionStore, PostgresStoreBuilder};

/// The variable holding the test server's URL (`eval "$(scripts/postgres env)"` sets it).
pub const URL_VAR: &str = "GENKIT_PG_URL";
/// Set (by `scripts/test`) when the tests must fail rather than skip without a server.
pub const REQUIRE_VAR: &str = "GENKIT_REQUIRE_PG";

/// The server URL; `None` (after printing why) when the test should skip. Panics when
/// `GENKIT_REQUIRE_PG` is set but there is no URL.
pub fn url_or_skip(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os(REQUIRE_VAR).is_none(),
                "{REQUIRE_VAR} is set but {URL_VAR} is not: run `scripts/postgres start` and `eval \"$(scripts/postgres env)\"`"
            );
            eprintln!(
                "SKIPPED {test}: set {URL_VAR} to a PostgreSQL server (`scripts/postgres start`, then `eval \"$(scripts/postgres env)\"`)"
            );
            None
        }
    }
}

/// A schema name no other test (or run) uses.
pub fn fresh_schema(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{tag}_{}_{}_{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store builder for the tests: small pool, fast polling.
pub fn builder(url: &str, schema: &str) -> PostgresStoreBuilder {
    PostgresSessionStore::builder(url)
        .schema(schema)
        .pool_size(8)
        .watch_poll_interval(Duration::from_millis(50))
        .statement_timeout(Duration::from_secs(20))
}

/// A connection outside any store.
pub async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test server");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Drops a test's schema.
pub async fn drop_schema(url: &str, schema: &str) {
    let client = raw(url).await;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop the test schema");
}
