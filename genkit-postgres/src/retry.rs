//! [`RetryPolicy`]: bounded retries with exponential backoff for failures that may pass.

use std::future::Future;
use std::time::Duration;

use genkit_core::session::SessionStoreError;

use crate::error::PostgresError;

/// How often and how patiently a store call is retried after a retryable failure (a dropped
/// connection, the server restarting, a serialization failure). Each call runs in one
/// transaction, so a retry starts over (and a save's mutator runs again on the current value,
/// which the `SessionStore` contract allows: mutators are pure).
///
/// The delay before attempt `n + 1` is `base_delay * 2^(n-1)`, at most `max_delay`, with up to
/// 50% random jitter so that workers that failed together do not retry together.
///
/// ```
/// use std::time::Duration;
/// use genkit_postgres::RetryPolicy;
/// let p = RetryPolicy::default();
/// assert_eq!(p.max_attempts, 5);
/// assert!(RetryPolicy::none().max_attempts == 1);
/// assert!(p.delay(1) <= Duration::from_millis(50) && p.delay(10) <= p.max_delay);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    pub max_attempts: u32,
    /// The delay after the first failure.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 50 ms doubling to at most 2 s: rides out a server restart of a few seconds.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure reaches the caller at once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before the attempt after failed attempt `attempt` (1-based), jitter included.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        // up to half of it taken off at random
        let jitter = jitter_fraction();
        capped.mul_f64(1.0 - 0.5 * jitter)
    }
}

/// A number in [0, 1) that differs between calls and processes.
fn jitter_fraction() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What one attempt of a store call failed with: the database (maybe retryable) or the store's
/// own rules (a mutator's refusal, corrupted data: never retried).
#[derive(Debug)]
pub(crate) enum Failure {
    Db(PostgresError),
    Store(SessionStoreError),
}

impl From<PostgresError> for Failure {
    fn from(e: PostgresError) -> Self {
        Failure::Db(e)
    }
}

impl From<SessionStoreError> for Failure {
    fn from(e: SessionStoreError) -> Self {
        Failure::Store(e)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    operation: &'static str,
    mut attempt: F,
) -> Result<T, SessionStoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let max = policy.max_attempts.max(1);
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Db(e)) if e.is_retryable() && n < max => {
                let wait = policy.delay(n);
                tracing::debug!(target: "genkit_postgres", operation, attempt = n, ?wait, error = %e, "retrying");
                tokio::time::sleep(wait).await;
            }
            Err(Failure::Db(e)) if n > 1 && e.is_retryable() => {
                return Err(PostgresError::RetriesExhausted {
                    operation,
                    attempts: n,
                    last: Box::new(e),
                }
                .into())
            }
            Err(Failure::Db(e)) => return Err(e.into()),
        }
    }
}
