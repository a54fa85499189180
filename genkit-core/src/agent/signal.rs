//! [`AbortSignal`]: how a detached run learns it was aborted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Fires once when the run it belongs to is aborted. Cheap to clone; clones share the signal.
///
/// ```
/// use genkit_core::agent::AbortSignal;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let signal = AbortSignal::new();
/// let waiter = signal.clone();
/// signal.abort();
/// waiter.aborted().await; // returns at once: already fired
/// assert!(waiter.is_aborted());
/// # }
/// ```
#[derive(Clone, Default, Debug)]
pub struct AbortSignal {
    inner: Arc<Inner>,
}

#[derive(Default, Debug)]
struct Inner {
    fired: AtomicBool,
    notify: Notify,
}

impl AbortSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal (again is a no-op).
    pub fn abort(&self) {
        self.inner.fired.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether it fired.
    pub fn is_aborted(&self) -> bool {
        self.inner.fired.load(Ordering::SeqCst)
    }

    /// Completes when the signal fires (at once if it has).
    pub async fn aborted(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}
