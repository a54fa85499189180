//! The panic guard: a run that panics becomes a typed error, never a dropped connection.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use futures::FutureExt;

/// Runs `start` and the future it returns, catching a panic in either: in the synchronous part
/// of a closure (before its future exists) as much as in a poll. `Err` holds the panic message.
///
/// Nothing the guarded code shared is observed afterwards except through its own
/// synchronisation, hence `AssertUnwindSafe`.
pub(crate) async fn guarded<F, Fut>(start: F) -> Result<Fut::Output, String>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let future = match catch_unwind(AssertUnwindSafe(start)) {
        Ok(future) => future,
        Err(panic) => return Err(panic_message(panic.as_ref())),
    };
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|panic| panic_message(panic.as_ref()))
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_before_the_future_exists_is_caught() {
        let r: Result<(), String> = guarded(|| -> std::future::Ready<()> { panic!("sync") }).await;
        assert_eq!(r.unwrap_err(), "sync");
    }

    #[tokio::test]
    async fn a_panic_while_polling_is_caught() {
        let r = guarded(|| async {
            tokio::task::yield_now().await;
            panic!("{}", format!("async {}", 1));
        })
        .await;
        assert_eq!(r.unwrap_err(), "async 1");
    }
}
