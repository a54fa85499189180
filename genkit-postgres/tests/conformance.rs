//! genkit-core's session store conformance suite, unchanged, against a real PostgreSQL: each
//! case in a schema of its own, every `open` a new store (a new pool: as another process).
//! Without `GENKIT_PG_URL` each case prints `SKIPPED` and passes; `scripts/test` sets the URL and
//! `GENKIT_REQUIRE_PG=1`, so there they run or fail.

mod common;

use futures::future::BoxFuture;
use genkit_core::session::{SessionStoreError, StoreScope};
use genkit_core::testing::session_store::StoreHarness;
use genkit_core::Status;
use genkit_postgres::PostgresSessionStore;

struct Pg {
    url: Option<String>,
}

impl Pg {
    fn from_env() -> Self {
        Pg {
            url: std::env::var(common::URL_VAR)
                .ok()
                .filter(|u| !u.is_empty()),
        }
    }
}

/// One case's data: the server and a schema of its own.
struct Backing {
    url: String,
    schema: String,
}

impl StoreHarness for Pg {
    type Store = PostgresSessionStore;
    type Backing = Backing;

    fn skip_reason(&self) -> Option<String> {
        let required = std::env::var_os(common::REQUIRE_VAR).is_some();
        (self.url.is_none() && !required).then(|| {
            format!(
                "set {} to a PostgreSQL server (`scripts/postgres start`, then `eval \"$(scripts/postgres env)\"`)",
                common::URL_VAR
            )
        })
    }

    fn setup(&self) -> BoxFuture<'_, Result<Self::Backing, SessionStoreError>> {
        Box::pin(async move {
            let url = self.url.clone().ok_or_else(|| SessionStoreError::Backend {
                status: Status::FailedPrecondition,
                message: format!(
                    "{} is set but {} is not",
                    common::REQUIRE_VAR,
                    common::URL_VAR
                ),
                source: None,
            })?;
            Ok(Backing {
                url,
                schema: common::fresh_schema("conf"),
            })
        })
    }

    fn open<'a>(
        &'a self,
        b: &'a Self::Backing,
    ) -> BoxFuture<'a, Result<Self::Store, SessionStoreError>> {
        Box::pin(async move { Ok(common::builder(&b.url, &b.schema).connect().await?) })
    }

    /// Replaces the stored header with JSON of another shape (the column is `json`, so the
    /// server itself refuses text that is not JSON at all).
    fn corrupt<'a>(
        &'a self,
        b: &'a Self::Backing,
        scope: &'a StoreScope,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, SessionStoreError>> {
        Box::pin(async move {
            let client = common::raw(&b.url).await;
            let n = client
                .execute(
                    &format!(
                        "UPDATE \"{}\".snapshots SET header = '{{\"createdAt\": 42, \"status\": [1]}}' \
                         WHERE scope = $1 AND snapshot_id = $2",
                        b.schema
                    ),
                    &[&scope.as_str(), &id],
                )
                .await
                .map_err(|e| SessionStoreError::Backend {
                    status: Status::Internal,
                    message: e.to_string(),
                    source: None,
                })?;
            Ok(n == 1)
        })
    }

    fn teardown(&self, b: Self::Backing) -> BoxFuture<'_, ()> {
        Box::pin(async move { common::drop_schema(&b.url, &b.schema).await })
    }
}

genkit_core::session_store_conformance!(postgres, crate::Pg::from_env());
