//! [`Cancellation`]: how a caller tells a running action to stop.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

/// A cancellation signal shared by a caller and the action it runs (Genkit's `abortSignal`).
///
/// Dropping a run's future always cancels it; this is for an action that wants to stop
/// cleanly (finish a step, save state) when the caller asks, for example when the Developer
/// UI cancels a run. Cheap to clone; [`Cancellation::never`] allocates nothing.
///
/// ```
/// use genkit_core::Cancellation;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cancel = Cancellation::new();
/// let seen = cancel.clone();
/// cancel.cancel();
/// seen.cancelled().await; // returns at once
/// assert!(seen.is_cancelled());
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Cancellation {
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellation")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Cancellation {
    /// A signal that can be cancelled.
    pub fn new() -> Self {
        Self {
            inner: Some(Arc::default()),
        }
    }

    /// A signal that is never cancelled.
    pub fn never() -> Self {
        Self { inner: None }
    }

    /// Cancels: every [`cancelled`](Self::cancelled) wakes up. Does nothing on
    /// [`never`](Self::never).
    pub fn cancel(&self) {
        if let Some(inner) = &self.inner {
            inner.cancelled.store(true, Ordering::Release);
            inner.notify.notify_waiters();
        }
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.cancelled.load(Ordering::Acquire))
    }

    /// Completes once cancelled (never, for [`never`](Self::never)).
    pub async fn cancelled(&self) {
        let Some(inner) = &self.inner else {
            return std::future::pending().await;
        };
        loop {
            let notified = inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if inner.cancelled.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancelling_wakes_a_waiter() {
        let cancel = Cancellation::new();
        let waiter = {
            let c = cancel.clone();
            tokio::spawn(async move { c.cancelled().await })
        };
        tokio::task::yield_now().await;
        assert!(!cancel.is_cancelled());
        cancel.cancel();
        waiter.await.unwrap();
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn never_is_never_cancelled() {
        let never = Cancellation::never();
        never.cancel();
        assert!(!never.is_cancelled());
    }
}
