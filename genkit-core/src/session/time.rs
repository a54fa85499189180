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
    let Ok(year) = u32::try_from(at.year()) else {
        // before year 0: the calendar's own rendering, sign included
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond()
        );
    };
    // every save stamps a snapshot, so this is written digit by digit rather than through
    // `format!` (a tenth of the instructions)
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    put_digits(&mut out[0..4], year);
    put_digits(&mut out[5..7], u8::from(at.month()).into());
    put_digits(&mut out[8..10], at.day().into());
    put_digits(&mut out[11..13], at.hour().into());
    put_digits(&mut out[14..16], at.minute().into());
    put_digits(&mut out[17..19], at.second().into());
    put_digits(&mut out[20..26], at.microsecond());
    out.iter().map(|&b| char::from(b)).collect()
}

/// Writes the last `field.len()` decimal digits of `value` into `field`, zero-padded.
fn put_digits(field: &mut [u8], mut value: u32) {
    for slot in field.iter_mut().rev() {
        // `value % 10` is below 10, so the cast keeps it whole
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `t` as a UTC calendar time; times outside the calendar's years 1 to 9999 (no clock gives
/// them) read as the epoch rather than panicking.
fn utc(t: SystemTime) -> OffsetDateTime {
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
    parse_own(s).or_else(|| {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(SystemTime::from)
    })
}

/// The shape [`format_timestamp`] writes (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), parsed without the
/// general RFC 3339 parser: stores read back their own timestamps on every save. `None` for
/// anything else, which the general parser then judges (a leap second included).
fn parse_own(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 27 {
        return None;
    }
    for (i, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        if b[i] != sep {
            return None;
        }
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let small = |from: usize, to: usize| num(from, to).and_then(|n| u8::try_from(n).ok());
    let month = time::Month::try_from(small(5, 7)?).ok()?;
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, small(8, 10)?).ok()?;
    let at = date
        .with_hms_micro(small(11, 13)?, small(14, 16)?, small(17, 19)?, num(20, 26)?)
        .ok()?;
    Some(SystemTime::from(at.assume_utc()))
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
    fn the_own_shape_parses_as_the_general_parser_does() {
        for s in [
            "2026-12-03T08:15:42.123456Z",
            "0001-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "2024-02-29T00:00:00.000001Z",
        ] {
            let general = OffsetDateTime::parse(s, &Rfc3339)
                .map(SystemTime::from)
                .ok();
            assert_eq!(parse_own(s), general, "{s}");
            assert!(general.is_some(), "{s}");
        }
        // wrong in the own shape: refused by both, or left to the general parser
        for s in [
            "2023-02-29T00:00:00.000000Z",
            "2026-13-01T00:00:00.000000Z",
            "2026-12-03T24:00:00.000000Z",
            "2026-12-03T08:15:42.12345xZ",
            "2026-12-03T08:15:42.123456+",
            "+026-12-03T08:15:42.123456Z",
        ] {
            assert_eq!(parse_own(s), None, "{s}");
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
        let leap = "2016-12-31T23:59:60.000000Z";
        assert_eq!(parse_own(leap), None);
        assert_eq!(
            parse_timestamp(leap),
            OffsetDateTime::parse(leap, &Rfc3339)
                .map(SystemTime::from)
                .ok()
        );
    }

    #[test]
    fn formatting_matches_the_calendar_rendering_and_handles_years_before_zero() {
        let t = UNIX_EPOCH + Duration::from_micros(1_764_749_742_000_007);
        assert_eq!(format_timestamp(t), "2025-12-03T08:15:42.000007Z");
        let long_ago = UNIX_EPOCH - Duration::from_secs(62_200_000_000 + 86_400 * 366);
        let s = format_timestamp(long_ago);
        assert!(s.starts_with('-'), "{s}");
        assert_eq!(
            parse_timestamp(&s),
            None,
            "not RFC 3339, never written by a clock"
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
