//! [`RetryPolicy`]: when and how long to wait before trying a failed call again.
//!
//! Only rate limits (429), server errors (5xx) and failed connections are retried, and only
//! before a response body has been read: a stream that broke off midway is never replayed.

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
        // without any retry coming back immediately. (Through f64 seconds, which cannot hold
        // every Duration: one too large for it keeps the full backoff.)
        let jittered =
            Duration::try_from_secs_f64(backoff.as_secs_f64() * (0.5 + 0.5 * random_fraction()));
        Some(jittered.map_or(backoff, |d| d.min(backoff)))
    }
}

/// A number in `[0, 1)` from the OS generator (one system call per retry, which waits far
/// longer anyway); 1 when the OS has none, so the full backoff applies.
fn random_fraction() -> f64 {
    match getrandom::u64() {
        Ok(bits) => (bits >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    }
}

/// The server's requested wait: `retry-after-ms` (OpenAI) or `Retry-After`, in seconds
/// (fractions accepted) or as an HTTP-date. A value that is not a wait (negative, NaN,
/// unparsable) is ignored, and the backoff applies; one too large for a [`Duration`]
/// saturates at [`Duration::MAX`] (the policy then refuses to wait that long); a date in the
/// past means "now".
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| Some(headers.get(name)?.to_str().ok()?.trim().to_owned());
    let seconds = |text: &str, scale: f64| {
        let value = text.parse::<f64>().ok()?;
        if value.is_nan() || value < 0.0 {
            return None;
        }
        Some(Duration::try_from_secs_f64(value * scale).unwrap_or(Duration::MAX))
    };
    if let Some(wait) = text("retry-after-ms").and_then(|t| seconds(&t, 0.001)) {
        return Some(wait);
    }
    let value = text("retry-after")?;
    seconds(&value, 1.0).or_else(|| {
        let at = httpdate::parse_http_date(&value).ok()?;
        Some(
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    })
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
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        h.insert("retry-after-ms", HeaderValue::from_static("-1"));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }

    fn one(name: &'static str, value: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        retry_after(&h)
    }

    #[test]
    fn retry_after_huge_negative_nan_and_fractional_values_never_panic() {
        for name in ["retry-after", "retry-after-ms"] {
            for huge in ["99999999999999999999", "1e300", "inf", "+Infinity", "2e19"] {
                // saturated (seconds) or merely enormous (milliseconds): never waited for
                let wait = one(name, huge).unwrap();
                assert!(
                    wait >= Duration::from_secs(1 << 40),
                    "{name}: {huge}: {wait:?}"
                );
                assert_eq!(RetryPolicy::default().delay(1, Some(wait)), None);
            }
            assert_eq!(one("retry-after", "1e300"), Some(Duration::MAX));
            for junk in ["-1", "-0.5", "-1e300", "NaN", "-inf", "", "soon", "1,5"] {
                assert_eq!(one(name, junk), None, "{name}: {junk}");
            }
        }
        assert_eq!(one("retry-after", "0.25"), Some(Duration::from_millis(250)));
        assert_eq!(
            one("retry-after-ms", "1.5"),
            Some(Duration::from_micros(1500))
        );
        assert_eq!(one("retry-after", "1e-300"), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_http_date_is_the_wait_until_then() {
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        let wait = one("retry-after", &httpdate::fmt_http_date(later)).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            one("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(
            one("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")
                .map(|d| d > Duration::from_secs(1 << 30)),
            Some(true)
        );
    }

    #[test]
    fn retry_after_huge_value_is_never_waited_for() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(Duration::MAX)), None);
        assert_eq!(
            p.delay(1, Some(p.max_retry_after())),
            Some(p.max_retry_after())
        );
    }

    #[test]
    fn extreme_policy_values_never_panic() {
        let extremes = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_secs(u64::MAX / 2),
            Duration::MAX,
        ];
        for initial in extremes {
            for max in extremes {
                for retries in [0, 1, 31, 32, 33, u32::MAX] {
                    let p = RetryPolicy::default()
                        .with_max_retries(retries)
                        .with_initial_backoff(initial)
                        .with_max_backoff(max)
                        .with_max_retry_after(max);
                    for retry in [0, 1, 2, 32, 33, 64, u32::MAX - 1, u32::MAX] {
                        if let Some(d) = p.delay(retry, None) {
                            assert!(d <= max, "{d:?} > {max:?}");
                        }
                        let _ = p.delay(retry, Some(Duration::MAX));
                        let _ = p.delay(retry, Some(initial));
                    }
                }
            }
        }
    }
}
