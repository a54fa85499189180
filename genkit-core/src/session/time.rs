//! Timestamps as snapshots carry them (RFC 3339 strings) and the [`Clock`] that makes them.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    let micros = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let secs = (micros / 1_000_000) as i64;
    let frac = (micros % 1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 timestamp (any fraction length, `Z` or a `±hh:mm` offset), as Genkit JS
/// (`toISOString`) and Go (`time.Time`, whose zero value is year 1) write them. `None` for
/// anything else.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH.checked_add(Duration::new(secs, nanos as u32)),
        Err(_) => UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(nanos)),
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
