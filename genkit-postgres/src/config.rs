//! [`PostgresStoreBuilder`]: the store's options, and starting it.

use std::str::FromStr;
use std::time::Duration;

use crate::error::PostgresError;
use crate::retry::RetryPolicy;
use crate::store::PostgresSessionStore;

/// Options of a [`PostgresSessionStore`]; [`connect`](Self::connect) starts it.
///
/// ```no_run
/// use std::time::Duration;
/// use genkit_postgres::{PostgresSessionStore, RetryPolicy};
/// # async fn run() -> Result<(), genkit_postgres::PostgresError> {
/// let store = PostgresSessionStore::builder("postgres://app@db.internal/app")
///     .schema("genkit")                          // tables live here; created by the migrations
///     .pool_size(16)                             // connections of this process
///     .statement_timeout(Duration::from_secs(5)) // no statement (lock waits included) runs longer
///     .retries(RetryPolicy::default())           // dropped connections, restarts, serialization failures
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PostgresStoreBuilder {
    pub(crate) url: String,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) pool_wait: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) checkpoint_every: i32,
    pub(crate) poll_interval: Duration,
    pub(crate) safety_poll: Duration,
    pub(crate) run_migrations: bool,
    pub(crate) application_name: String,
}

impl PostgresStoreBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            schema: "genkit".to_owned(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            pool_wait: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            checkpoint_every: 16,
            poll_interval: Duration::from_millis(500),
            safety_poll: Duration::from_secs(5),
            run_migrations: true,
            application_name: "genkit-rs".to_owned(),
        }
    }

    /// The schema of the store's tables (default `genkit`): 1 to 48 lower-case letters, digits
    /// and `_`. Created by the migrations when missing. Two schemas are two separate stores in
    /// one database.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How many connections this process keeps at most (default 16). Each store call holds one
    /// for its transaction; the status listener has one of its own.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long to wait for a new connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a call waits for a free pooled connection before failing `UNAVAILABLE`
    /// (default 10 s).
    pub fn pool_wait_timeout(mut self, timeout: Duration) -> Self {
        self.pool_wait = timeout;
        self
    }

    /// The server-side `statement_timeout` of every connection (default 30 s). A save waiting
    /// on another save of the same snapshot counts too: it fails `DEADLINE_EXCEEDED` after it.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Retries of retryable failures (default [`RetryPolicy::default`]).
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// A whole state is written every `n` versions of a state chain, diffs in between
    /// (default 16; 1 writes every state whole). A read applies at most `n - 1` patches.
    pub fn checkpoint_every(mut self, n: u32) -> Self {
        self.checkpoint_every = i32::try_from(n.max(1)).unwrap_or(i32::MAX);
        self
    }

    /// How often a status subscription reads the database while the LISTEN connection is down
    /// (default 500 ms). While it is up, changes arrive by NOTIFY at once, and a subscription
    /// still reads every 5 s in case a notification was lost.
    pub fn watch_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Whether [`connect`](Self::connect) runs the migrations (default true). Off, it only
    /// checks the version and fails [`PostgresError::SchemaOutdated`] when they are needed:
    /// for deployments that migrate by hand (see [`migrations`](crate::migrations)).
    pub fn run_migrations(mut self, run: bool) -> Self {
        self.run_migrations = run;
        self
    }

    /// The `application_name` the server shows in `pg_stat_activity` (default `genkit-rs`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Connects (failing [`PostgresError::Unreachable`] when no connection can be made),
    /// runs or checks the migrations, and answers the store.
    pub async fn connect(self) -> Result<PostgresSessionStore, PostgresError> {
        PostgresSessionStore::start(self).await
    }

    /// The driver's configuration: the URL plus this builder's timeouts.
    pub(crate) fn pg_config(&self) -> Result<tokio_postgres::Config, PostgresError> {
        let mut config = tokio_postgres::Config::from_str(&self.url).map_err(|e| {
            PostgresError::InvalidConfig(format!("the connection URL does not parse: {e}"))
        })?;
        let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
        let mut options = config.get_options().unwrap_or_default().to_owned();
        // an idle transaction left by a crashed caller must not hold a snapshot's lock forever
        options.push_str(&format!(
            " -c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            ms(self.statement_timeout),
            ms(self.statement_timeout.saturating_mul(2))
        ));
        config.options(options.trim());
        config.connect_timeout(self.connect_timeout);
        config.application_name(&self.application_name);
        // a half-open TCP connection (a machine gone) is found out, not waited on forever
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        Ok(config)
    }
}
