//! [`HeartbeatWindow`]: how often a detached turn beats and when a silent one reads as expired.
//!
//! One value per process, Genkit's defaults unless set at startup. Every process sharing a
//! store must use the same window (a reader judges a writer's beats by it), which is why it is
//! process-wide rather than per agent: a fleet sets it once from its configuration, and a test
//! that kills a worker sets a short one so expiry shows within seconds.

use std::sync::OnceLock;
use std::time::Duration;

use super::{HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT};

/// The heartbeat of detached turns: a pending snapshot's `heartbeatAt` is refreshed every
/// `interval`; a reader reports a pending snapshot whose heartbeat is older than `timeout` as
/// expired.
///
/// ```
/// use genkit_core::session::{heartbeat_window, HeartbeatWindow};
/// assert_eq!(HeartbeatWindow::default().timeout.as_secs(), 60);
/// // unless the process set another one at startup, this is Genkit's default
/// assert_eq!(heartbeat_window(), HeartbeatWindow::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatWindow {
    /// How often a running detached turn refreshes `heartbeatAt`.
    pub interval: Duration,
    /// How old `heartbeatAt` may get before the snapshot reads as expired.
    pub timeout: Duration,
}

impl Default for HeartbeatWindow {
    /// Genkit's: a beat every 30 s, expired after 60 s (two missed beats).
    fn default() -> Self {
        Self {
            interval: HEARTBEAT_INTERVAL,
            timeout: HEARTBEAT_TIMEOUT,
        }
    }
}

static WINDOW: OnceLock<HeartbeatWindow> = OnceLock::new();

/// The process's heartbeat window: the one [`set_heartbeat_window`] set, else the default.
pub fn heartbeat_window() -> HeartbeatWindow {
    *WINDOW.get_or_init(HeartbeatWindow::default)
}

/// Sets the process's heartbeat window, once, before the first detached turn or expiry check.
///
/// Answers the window in force as the error when another one was set or already used (setting
/// the same one again is fine). The timeout must exceed the interval, or every live turn would
/// read as expired between two beats: such a window is refused the same way.
///
/// ```
/// use std::time::Duration;
/// use genkit_core::session::{heartbeat_window, set_heartbeat_window, HeartbeatWindow};
/// let short = HeartbeatWindow { interval: Duration::from_millis(200), timeout: Duration::from_secs(1) };
/// set_heartbeat_window(short).unwrap();
/// assert_eq!(heartbeat_window(), short);
/// assert!(set_heartbeat_window(HeartbeatWindow::default()).is_err());
/// ```
pub fn set_heartbeat_window(window: HeartbeatWindow) -> Result<(), HeartbeatWindow> {
    if window.timeout <= window.interval {
        return Err(heartbeat_window());
    }
    let current = *WINDOW.get_or_init(|| window);
    if current == window {
        Ok(())
    } else {
        Err(current)
    }
}
