//! [`PostgresError`]: how the store fails on the database side, each with a Genkit status.

use genkit_core::session::SessionStoreError;
use genkit_core::Status;
use tokio_postgres::error::SqlState;

/// A failure of the PostgreSQL side of the store.
///
/// Store calls answer [`SessionStoreError`]; a database failure arrives there as
/// [`SessionStoreError::Backend`] with this error as its `source` (downcast it for the
/// detail) and [`status`](Self::status) as its status. [`is_retryable`](Self::is_retryable)
/// says whether trying again later may succeed (the server restarting, a dropped connection):
/// those map to `UNAVAILABLE`.
///
/// ```
/// use genkit_core::Status;
/// use genkit_postgres::PostgresError;
/// let e = PostgresError::SchemaTooNew { schema: "genkit".into(), found: 9, known: 1 };
/// assert_eq!(e.status(), Status::FailedPrecondition);
/// assert!(!e.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The connection URL or an option is not usable.
    #[error("invalid PostgreSQL store configuration: {0}")]
    InvalidConfig(String),

    /// No connection could be made when the store started (wrong host or port, server down,
    /// authentication refused). Names the target without the password.
    #[error("cannot reach PostgreSQL at {target}")]
    Unreachable {
        /// `host:port/database` as configured.
        target: String,
        /// What the connection attempt answered.
        #[source]
        source: Box<PostgresError>,
    },

    /// The database holds a schema version this code does not know: a newer genkit-postgres
    /// migrated it. Upgrade this process rather than guess at the newer layout.
    #[error(
        "schema {schema:?} is at version {found}, newer than the {known} this genkit-postgres knows: upgrade it"
    )]
    SchemaTooNew {
        /// The schema.
        schema: String,
        /// The version found.
        found: i32,
        /// The newest version this code knows.
        known: i32,
    },

    /// Migrations are off ([`run_migrations(false)`](crate::PostgresStoreBuilder::run_migrations))
    /// and the schema is not at the version this code needs.
    #[error("schema {schema:?} is at version {found}, this genkit-postgres needs {wanted}: run the migrations")]
    SchemaOutdated {
        /// The schema.
        schema: String,
        /// The version found (0: no schema).
        found: i32,
        /// The version needed.
        wanted: i32,
    },

    /// A statement failed on the server or the connection.
    #[error("PostgreSQL {operation} failed")]
    Database {
        /// What was being done (`"save snapshot"`, `"migrate"`, ...).
        operation: &'static str,
        /// The driver's error (with the SQLSTATE when the server answered).
        #[source]
        source: tokio_postgres::Error,
    },

    /// No pooled connection was had in time, or the pool could not make one.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),

    /// A retryable failure outlived the retries of the [`RetryPolicy`](crate::RetryPolicy).
    #[error("PostgreSQL {operation} failed {attempts} times: {last}")]
    RetriesExhausted {
        /// What was being done.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<PostgresError>,
    },
}

impl PostgresError {
    /// The Genkit status: `UNAVAILABLE` for what may pass (a lost connection, the server
    /// starting or shutting down, too many connections), `ABORTED` for a serialization failure
    /// or deadlock, `DEADLINE_EXCEEDED` for the statement timeout, `FAILED_PRECONDITION` for a
    /// schema of another version, `INVALID_ARGUMENT` for configuration, `INTERNAL` otherwise.
    pub fn status(&self) -> Status {
        match self {
            PostgresError::InvalidConfig(_) => Status::InvalidArgument,
            PostgresError::Unreachable { .. } | PostgresError::Pool(_) => Status::Unavailable,
            PostgresError::SchemaTooNew { .. } | PostgresError::SchemaOutdated { .. } => {
                Status::FailedPrecondition
            }
            PostgresError::Database { source, .. } => driver_status(source),
            PostgresError::RetriesExhausted { last, .. } => last.status(),
        }
    }

    /// Whether the same call may succeed later: the connection dropped, the server is
    /// restarting or out of connections, a serialization failure or deadlock.
    pub fn is_retryable(&self) -> bool {
        match self {
            PostgresError::Unreachable { .. } | PostgresError::Pool(_) => true,
            PostgresError::Database { source, .. } => driver_retryable(source),
            PostgresError::RetriesExhausted { last, .. } => last.is_retryable(),
            _ => false,
        }
    }

    /// The SQLSTATE the server answered with, if it answered.
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            PostgresError::Database { source, .. } => source.code().map(SqlState::code),
            PostgresError::RetriesExhausted { last, .. } => last.sql_state(),
            PostgresError::Unreachable { source, .. } => source.sql_state(),
            _ => None,
        }
    }

    pub(crate) fn db(operation: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| PostgresError::Database { operation, source }
    }
}

/// SQLSTATEs after which a new attempt may succeed.
fn retryable_state(code: &SqlState) -> bool {
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::CONNECTION_EXCEPTION,
        SqlState::CONNECTION_DOES_NOT_EXIST,
        SqlState::CONNECTION_FAILURE,
        SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        SqlState::SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
        SqlState::TRANSACTION_RESOLUTION_UNKNOWN,
    ]
    .contains(code)
}

fn driver_retryable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => retryable_state(code),
        // no SQLSTATE: the connection closed, an I/O error, a timeout connecting
        None => e.is_closed() || e.as_db_error().is_none(),
    }
}

fn driver_status(e: &tokio_postgres::Error) -> Status {
    match e.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Status::Aborted
        }
        Some(c) if *c == SqlState::QUERY_CANCELED => Status::DeadlineExceeded,
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE || *c == SqlState::INVALID_PASSWORD => {
            Status::PermissionDenied
        }
        Some(c) if retryable_state(c) => Status::Unavailable,
        Some(_) => Status::Internal,
        None if driver_retryable(e) => Status::Unavailable,
        None => Status::Internal,
    }
}

impl From<PostgresError> for SessionStoreError {
    fn from(e: PostgresError) -> Self {
        // the detail is the source's: the message does not repeat it
        SessionStoreError::Backend {
            status: e.status(),
            message: "the PostgreSQL session store failed".to_owned(),
            source: Some(Box::new(e)),
        }
    }
}

impl From<PostgresError> for genkit_core::GenkitError {
    fn from(e: PostgresError) -> Self {
        SessionStoreError::from(e).into()
    }
}

/// The [`PostgresError`] behind a store error, if it came from the database.
///
/// ```
/// use genkit_core::session::SessionStoreError;
/// use genkit_postgres::{postgres_error, PostgresError};
/// let e: SessionStoreError = PostgresError::Pool("timed out".into()).into();
/// assert!(postgres_error(&e).is_some_and(PostgresError::is_retryable));
/// ```
pub fn postgres_error(e: &SessionStoreError) -> Option<&PostgresError> {
    match e {
        SessionStoreError::Backend {
            source: Some(source),
            ..
        } => source.downcast_ref::<PostgresError>(),
        _ => None,
    }
}
