//! [`Retry`]: tries a failed model call again, with exponential backoff and jitter, on the
//! statuses that are worth it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hooks, Middleware, ModelCall, ModelNext};
use crate::error::GenkitError;
use crate::status::Status;
use crate::wire::ModelResponse;

/// Genkit's retryable statuses.
const DEFAULT_STATUSES: [Status; 5] = [
    Status::Unavailable,
    Status::DeadlineExceeded,
    Status::ResourceExhausted,
    Status::Aborted,
    Status::Internal,
];

/// How [`Retry`] retries; every field is optional, with Genkit's defaults. Field names as
/// Genkit JS and Go write them (`maxRetries`), Python's (`max_retries`) accepted too.
///
/// ```
/// use genkit_core::middleware::RetryConfig;
/// let c: RetryConfig = serde_json::from_value(serde_json::json!({"max_retries": 1, "noJitter": true}))?;
/// assert_eq!(c.max_retries, Some(1));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt (default 3).
    #[serde(
        default,
        alias = "max_retries",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_retries: Option<u32>,
    /// The statuses that are retried (default UNAVAILABLE, DEADLINE_EXCEEDED,
    /// RESOURCE_EXHAUSTED, ABORTED, INTERNAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Status>>,
    /// The wait before the first retry, in milliseconds (default 1000).
    #[serde(
        default,
        alias = "initial_delay_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub initial_delay_ms: Option<u64>,
    /// The longest wait, in milliseconds (default 60000).
    #[serde(
        default,
        alias = "max_delay_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_delay_ms: Option<u64>,
    /// The factor the wait grows by after each retry (default 2).
    #[serde(
        default,
        alias = "backoff_factor",
        skip_serializing_if = "Option::is_none"
    )]
    pub backoff_factor: Option<f64>,
    /// No random extra wait (default: jitter on, as Genkit's).
    #[serde(default, alias = "no_jitter", skip_serializing_if = "Option::is_none")]
    pub no_jitter: Option<bool>,
}

impl RetryConfig {
    /// Retries after the first attempt.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// The statuses that are retried.
    #[must_use]
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = Status>) -> Self {
        self.statuses = Some(statuses.into_iter().collect());
        self
    }

    /// The wait before the first retry.
    #[must_use]
    pub fn initial_delay(mut self, wait: Duration) -> Self {
        self.initial_delay_ms = Some(wait.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    /// The longest wait.
    #[must_use]
    pub fn max_delay(mut self, wait: Duration) -> Self {
        self.max_delay_ms = Some(wait.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    /// The factor the wait grows by.
    #[must_use]
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = Some(factor);
        self
    }

    /// Turns the jitter off (`false`) or on.
    #[must_use]
    pub fn jitter(mut self, on: bool) -> Self {
        self.no_jitter = Some(!on);
        self
    }
}

/// Retries a model call that failed with a retryable status (Genkit's `retry`): up to 3
/// retries, waiting 1 s, then 2 s, 4 s, ... (at most 60 s), plus up to `2^attempt` s of
/// jitter.
///
/// - A provider's `Retry-After` ([`GenkitError::retry_after`]) is a floor on the wait; one
///   longer than the longest wait ends the retries with the error at once.
/// - A call that already streamed chunks to the consumer is never repeated (its chunks cannot
///   be taken back): its error is returned. Genkit JS repeats it, and the consumer sees the
///   chunks twice.
/// - A panic (a bug, not a transient failure) is never retried.
/// - The wait is a timer in the call's future: dropping the call stops it.
///
/// ```
/// use std::time::Duration;
/// use genkit_core::middleware::{Retry, RetryConfig};
/// let retry = Retry::new(RetryConfig::default().max_retries(2).initial_delay(Duration::from_millis(200)));
/// # let _ = retry;
/// ```
#[derive(Debug, Clone)]
pub struct Retry {
    max_retries: u32,
    statuses: Vec<Status>,
    initial: Duration,
    max: Duration,
    factor: f64,
    jitter: bool,
}

impl Retry {
    /// A retry middleware with `config` (defaults for what it leaves out).
    pub fn new(config: RetryConfig) -> Self {
        let factor = config.backoff_factor.filter(|f| f.is_finite() && *f > 0.0);
        Self {
            max_retries: config.max_retries.unwrap_or(3),
            statuses: config.statuses.unwrap_or_else(|| DEFAULT_STATUSES.to_vec()),
            initial: Duration::from_millis(config.initial_delay_ms.unwrap_or(1000)),
            max: Duration::from_millis(config.max_delay_ms.filter(|m| *m > 0).unwrap_or(60_000)),
            factor: factor.unwrap_or(2.0),
            jitter: !config.no_jitter.unwrap_or(false),
        }
    }

    fn retryable(&self, e: &GenkitError) -> bool {
        let panicked = matches!(
            e,
            GenkitError::ActionPanicked { .. } | GenkitError::MiddlewarePanicked { .. }
        );
        !panicked && self.statuses.contains(&e.status())
    }

    /// The wait before retry `attempt` (0-based) after `error`; `None` when the provider asks
    /// for longer than the longest wait.
    fn wait(&self, attempt: u32, delay: Duration, error: &GenkitError) -> Option<Duration> {
        let mut wait = delay;
        if self.jitter {
            let span = 2f64
                .powi(i32::try_from(attempt).unwrap_or(i32::MAX))
                .min(3600.0);
            wait += Duration::from_secs_f64(span * random_unit());
        }
        wait = wait.min(self.max);
        match error.retry_after() {
            Some(after) if after > self.max => None,
            Some(after) => Some(wait.max(after)),
            None => Some(wait),
        }
    }
}

/// A number in [0, 1), random enough for jitter.
fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Middleware for Retry {
    fn name(&self) -> &str {
        "retry"
    }

    fn hooks(&self) -> Hooks {
        Hooks::MODEL
    }

    fn model<'a>(
        &'a self,
        call: ModelCall<'a>,
        next: ModelNext<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        Box::pin(async move {
            let mut delay = self.initial;
            let mut attempt = 0u32;
            loop {
                let sent = call.ctx.chunks_sent();
                let error = match next.run(call.with_request(call.request)).await {
                    Ok(response) => return Ok(response),
                    Err(e) => e,
                };
                if attempt >= self.max_retries || !self.retryable(&error) {
                    return Err(error);
                }
                if call.ctx.chunks_sent() > sent {
                    tracing::warn!(model = call.model_name(), error = %error,
                        "not retrying: the failed call already streamed chunks");
                    return Err(error);
                }
                let Some(wait) = self.wait(attempt, delay, &error) else {
                    tracing::warn!(model = call.model_name(), error = %error,
                        "not retrying: the provider asks to wait longer than the longest wait");
                    return Err(error);
                };
                tracing::warn!(
                    model = call.model_name(),
                    attempt = attempt + 1,
                    max_retries = self.max_retries,
                    delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "retrying the model call"
                );
                tokio::time::sleep(wait).await;
                delay = delay.mul_f64(self.factor).min(self.max);
                attempt += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genkit_defaults() {
        let r = Retry::new(RetryConfig::default());
        assert_eq!(r.max_retries, 3);
        assert_eq!(r.statuses, DEFAULT_STATUSES.to_vec());
        assert_eq!(r.initial, Duration::from_secs(1));
        assert_eq!(r.max, Duration::from_secs(60));
        assert_eq!(r.factor, 2.0);
        assert!(r.jitter);
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let r = Retry::new(RetryConfig::default());
        let e = GenkitError::with_status(Status::Unavailable, "x");
        for attempt in 0..4 {
            let w = r.wait(attempt, Duration::from_secs(1), &e).unwrap();
            assert!(w >= Duration::from_secs(1));
            assert!(w < Duration::from_secs(1 + (1 << attempt)), "{w:?}");
        }
        let values: std::collections::HashSet<u64> = (0..20)
            .map(|_| r.wait(0, Duration::ZERO, &e).unwrap().as_nanos() as u64)
            .collect();
        assert!(values.len() > 10, "jitter is not random: {values:?}");
    }

    #[test]
    fn retry_after_is_a_floor_and_too_long_a_wait_gives_up() {
        let r = Retry::new(
            RetryConfig::default()
                .jitter(false)
                .max_delay(Duration::from_secs(10)),
        );
        let e = GenkitError::model("m", Status::ResourceExhausted, "slow")
            .with_retry_after(Duration::from_secs(7));
        assert_eq!(
            r.wait(0, Duration::from_secs(1), &e),
            Some(Duration::from_secs(7))
        );
        let e = e.with_retry_after(Duration::from_secs(11));
        assert_eq!(r.wait(0, Duration::from_secs(1), &e), None);
    }

    #[test]
    fn panics_are_not_retried() {
        let r = Retry::new(RetryConfig::default());
        let e = GenkitError::ActionPanicked {
            key: "/model/m".into(),
            message: "boom".into(),
        };
        assert_eq!(e.status(), Status::Internal);
        assert!(!r.retryable(&e));
        assert!(r.retryable(&GenkitError::internal("flaky")));
        assert!(!r.retryable(&GenkitError::invalid_argument("bad")));
    }
}
