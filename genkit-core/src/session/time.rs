//! Timestamps as snapshots carry them (RFC 3339 strings) and the [`Clock`] that makes them.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where "now" comes from: the system clock in production, a [`ManualClock`] in tests (a
/// heartbeat's expiry is a comparison with now, so tests set now instead of sleeping).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use std::time::Duration;
/// use genkit_core::session::{Clock, ManualClock};
/// let clock = ManualClock::at_unix_secs(1_800_000_000);
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(clock.now().duration_since(t0).unwrap(), Duration::from_secs(61));
/// ```
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: SystemTime) -> Self {
        Self(Mutex::new(now))
    }

    /// A clock reading `secs` seconds after the Unix epoch.
    pub fn at_unix_secs(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `t` as RFC 3339 in UTC with microseconds: `2026-12-01T23:00:29.123456Z`.
///
/// Microseconds (not JavaScript's milliseconds) so that two turns saved within one millisecond
/// still order by creation; Genkit JS and Go both parse it.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use genkit_core::session::{format_timestamp, parse_timestamp};
/// let t = UNIX_EPOCH + Duration::from_micros(1_764_630_029_123_456);
/// assert_eq!(format_timestamp(t), "2025-12-01T23:00:29.123456Z");
/// assert_eq!(parse_timestamp("2025-12-01T23:00:29.123456Z"), Some(t));
/// ```
pub fn format_timestamp(t: SystemTime) -> String {
    let at = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// `t` as a UTC calendar time; times outside the calendar's years 1 to 9999 (no clock gives
/// them) read as the epoch rather than panicking.
pub(crate) fn utc(t: SystemTime) -> OffsetDateTime {
    let offset = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => time::Duration::try_from(after).ok(),
        Err(before) => time::Duration::try_from(before.duration()).ok().map(|d| -d),
    };
    offset
        .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Parses an RFC 3339 timestamp (any fraction length, `Z` or a `±hh:mm` offset), as Genkit JS
/// (`toISOString`) and Go (`time.Time`, whose zero value is year 1) write them. `None` for
/// anything else.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_and_go_timestamps_parse_to_the_same_instant() {
        let js = parse_timestamp("2026-03-01T10:00:00.250Z").unwrap();
        let go = parse_timestamp("2026-03-01T05:00:00.25-05:00").unwrap();
        let nano = parse_timestamp("2026-03-01T10:00:00.250000000Z").unwrap();
        assert_eq!(js, go);
        assert_eq!(js, nano);
        assert_eq!(format_timestamp(js), "2026-03-01T10:00:00.250000Z");
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-01-01 00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T25:00:00Z",
            "2026-01-01T00:00:00+0100",
            "yesterday at noon, roughly",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_zero_time_and_pre_epoch_times_parse_in_order() {
        let zero = parse_timestamp("0001-01-01T00:00:00Z").unwrap();
        let before = parse_timestamp("1969-12-31T23:59:59.5Z").unwrap();
        assert!(zero < before && before < UNIX_EPOCH);
        assert_eq!(
            UNIX_EPOCH.duration_since(before).unwrap(),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn formatting_round_trips_across_centuries_and_leap_days() {
        for s in [
            "1970-01-01T00:00:00.000000Z",
            "2000-02-29T12:34:56.789012Z",
            "2100-12-31T23:59:59.999999Z",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(s).unwrap()), s);
        }
    }
}
