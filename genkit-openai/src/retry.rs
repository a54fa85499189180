//! [`RetryPolicy`]: when and how long to wait before trying a failed call again.
//!
//! Only rate limits (429), server errors (5xx) and failed connections are retried, and only
//! before a response body has been read: a stream that broke off midway is never replayed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::header::HeaderMap;

/// How often and how patiently failed calls are retried: exponential backoff with jitter, or
/// the server's `Retry-After` when it sends one.
///
/// ```
/// use std::time::Duration;
/// use genkit_openai::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_retries(4)
///     .with_initial_backoff(Duration::from_millis(250));
/// assert_eq!(policy.max_retries(), 4);
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Two retries (three attempts), backoff from 500 ms up to 8 s, `Retry-After` honoured up
    /// to 60 s.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// ```
    /// assert_eq!(genkit_openai::RetryPolicy::none().max_retries(), 0);
    /// ```
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt (so `n + 1` attempts in all).
    ///
    /// ```
    /// assert_eq!(genkit_openai::RetryPolicy::default().with_max_retries(5).max_retries(), 5);
    /// ```
    #[must_use]
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The wait before the first retry; it doubles on each further retry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = genkit_openai::RetryPolicy::default().with_initial_backoff(Duration::from_secs(1));
    /// assert_eq!(p.initial_backoff(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The longest computed backoff.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = genkit_openai::RetryPolicy::default().with_max_backoff(Duration::from_secs(2));
    /// assert_eq!(p.max_backoff(), Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The longest `Retry-After` worth waiting for; a server asking for more gets its error
    /// returned at once instead of a call that hangs for minutes.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = genkit_openai::RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
    /// assert_eq!(p.max_retry_after(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn with_max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Retries after the first attempt.
    ///
    /// ```
    /// assert_eq!(genkit_openai::RetryPolicy::default().max_retries(), 2);
    /// ```
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before the first retry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(genkit_openai::RetryPolicy::default().initial_backoff(), Duration::from_millis(500));
    /// ```
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest computed backoff.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(genkit_openai::RetryPolicy::default().max_backoff(), Duration::from_secs(8));
    /// ```
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest `Retry-After` honoured.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(genkit_openai::RetryPolicy::default().max_retry_after(), Duration::from_secs(60));
    /// ```
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The wait before retry number `retry` (1-based), or `None` to give up. A server's
    /// `Retry-After` wins over the computed backoff.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let factor = 2u32.saturating_pow(retry - 1);
        let backoff = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        // "Equal jitter": half fixed, half random, so clients that failed together spread out
        // without any retry coming back immediately.
        Some(backoff.mul_f64(0.5 + 0.5 * random_fraction()))
    }
}

/// A number in `[0, 1)`. `RandomState` is seeded randomly per instance; good enough for jitter
/// and saves a dependency.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The server's requested wait: `retry-after-ms` (OpenAI) or `Retry-After` in seconds. An
/// HTTP-date `Retry-After` is ignored (the backoff applies).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = |name: &str, scale: f64| {
        let value = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value * scale))
    };
    seconds("retry-after-ms", 0.001).or_else(|| seconds("retry-after", 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default()
            .with_max_retries(10)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(700));
        for (retry, full) in [(1, 100), (2, 200), (3, 400), (4, 700), (9, 700)] {
            let d = p.delay(retry, None).unwrap();
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default().with_max_retries(2);
        assert!(p.delay(2, None).is_some());
        assert!(p.delay(3, None).is_none());
        assert!(RetryPolicy::none().delay(1, None).is_none());
    }

    #[test]
    fn retry_after_wins_up_to_its_cap() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(6))), None);
    }

    #[test]
    fn jitter_varies() {
        let p = RetryPolicy::default().with_initial_backoff(Duration::from_secs(1));
        let delays: std::collections::HashSet<Duration> =
            (0..20).filter_map(|_| p.delay(1, None)).collect();
        assert!(delays.len() > 1);
    }

    #[test]
    fn parses_retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        h.insert("retry-after-ms", HeaderValue::from_static("-1"));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }
}
