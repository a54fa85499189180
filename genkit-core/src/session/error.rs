//! [`SessionStoreError`]: how a session store fails, each with a Genkit [`Status`].

use std::path::PathBuf;

use crate::error::{BoxError, GenkitError};
use crate::status::Status;

/// Every way a [`SessionStore`](super::SessionStore) call can fail.
///
/// Match on the variant for the detail, or call [`status`](SessionStoreError::status) for the
/// Genkit status it maps to. A snapshot that does not exist is not an error of the getters
/// (they answer `None`); [`NotFound`](SessionStoreError::NotFound) is for callers that need one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionStoreError {
    /// An id that cannot name a snapshot, session or tenant (empty, a path, control characters).
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        /// `"snapshot id"`, `"session id"` or `"scope"`.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why.
        reason: &'static str,
    },

    /// A snapshot the mutator returned that a store cannot persist (no session id, a timestamp
    /// that is not RFC 3339).
    #[error("snapshot {snapshot_id:?} cannot be saved: {reason}")]
    InvalidSnapshot {
        /// The snapshot.
        snapshot_id: String,
        /// Why.
        reason: String,
    },

    /// The snapshot does not exist.
    #[error("snapshot {snapshot_id:?} not found")]
    NotFound {
        /// The missing snapshot.
        snapshot_id: String,
    },

    /// The snapshot is not in a state that allows the operation (a mutator refused: say, a
    /// completion arriving after an abort).
    #[error("snapshot {snapshot_id:?}: {message}")]
    FailedPrecondition {
        /// The snapshot.
        snapshot_id: String,
        /// What is wrong.
        message: String,
    },

    /// A save lost a race too many times (optimistic stores); retrying may succeed.
    #[error("snapshot {snapshot_id:?}: concurrent writers kept conflicting ({attempts} attempts)")]
    Conflict {
        /// The snapshot.
        snapshot_id: String,
        /// How many times the mutator ran.
        attempts: u32,
    },

    /// Stored data that does not parse: a truncated or edited file, a row of another schema.
    /// Names where it is; other snapshots are unaffected.
    #[error("stored snapshot data at {location} is corrupted: {reason}")]
    Corrupted {
        /// The file (or row) holding it.
        location: String,
        /// The parser's message.
        reason: String,
    },

    /// A file system operation failed.
    #[error("{operation} {path:?} failed")]
    Io {
        /// What was being done (`"read"`, `"rename"`, `"lock"`, ...).
        operation: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },

    /// A snapshot that does not serialize (custom state with a non-string map key, say).
    #[error("snapshot {snapshot_id:?} does not serialize")]
    Serialize {
        /// The snapshot.
        snapshot_id: String,
        /// The serde error.
        source: serde_json::Error,
    },

    /// The store does not offer this optional capability.
    #[error("this session store does not support {0}")]
    Unsupported(&'static str),

    /// A failure of a store's backend (a database), with the status it maps to.
    #[error("{message}")]
    Backend {
        /// The status (`UNAVAILABLE` for a lost connection, ...).
        status: Status,
        /// What went wrong.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl SessionStoreError {
    /// The Genkit status this error maps to.
    ///
    /// I/O failures are `UNAVAILABLE` (retryable: a full disk, a lost mount) except a permission
    /// problem (`PERMISSION_DENIED`); corrupted data is `DATA_LOSS`.
    pub fn status(&self) -> Status {
        use SessionStoreError::*;
        match self {
            InvalidId { .. } | InvalidSnapshot { .. } => Status::InvalidArgument,
            NotFound { .. } => Status::NotFound,
            FailedPrecondition { .. } => Status::FailedPrecondition,
            Conflict { .. } => Status::Aborted,
            Corrupted { .. } => Status::DataLoss,
            Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                Status::PermissionDenied
            }
            Io { .. } => Status::Unavailable,
            Serialize { .. } => Status::Internal,
            Unsupported(_) => Status::Unimplemented,
            Backend { status, .. } => *status,
        }
    }

    /// A refusal from a mutator: the snapshot is not in a state that allows the write.
    pub fn precondition(snapshot_id: impl Into<String>, message: impl Into<String>) -> Self {
        SessionStoreError::FailedPrecondition {
            snapshot_id: snapshot_id.into(),
            message: message.into(),
        }
    }

    #[cfg_attr(not(feature = "file-store"), allow(dead_code))]
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        SessionStoreError::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

impl From<SessionStoreError> for GenkitError {
    fn from(e: SessionStoreError) -> Self {
        GenkitError::Other {
            status: e.status(),
            message: crate::error::with_causes(e.to_string(), std::error::Error::source(&e)),
        }
    }
}
