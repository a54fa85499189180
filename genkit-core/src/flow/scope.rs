//! The run scope: which Genkit instance runs an action, and where its stream chunks go.
//!
//! [`Action::run_json`](crate::Action::run_json) only takes JSON and a context, so a flow run
//! through the registry finds its Genkit instance (and, when the caller streams, its chunk sink)
//! here. The scope is set for the duration of each poll of a [`Scoped`] future, the way
//! `tracing::Instrumented` enters its span, so it follows the future across threads.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::genkit::Genkit;

/// Where a streaming caller wants an action's chunks, as JSON. The future completes once the
/// consumer has room.
pub(crate) type JsonSink = Arc<dyn Fn(Value) -> BoxFuture<'static, ()> + Send + Sync>;

/// What an action run through the registry may need beyond its input.
#[derive(Clone, Default)]
pub(crate) struct Scope {
    /// The instance running the action.
    pub genkit: Option<Genkit>,
    /// The caller's chunk sink, for the outermost action only.
    pub chunks: Option<JsonSink>,
}

thread_local! {
    static CURRENT: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// The scope of the future being polled on this thread.
pub(crate) fn current() -> Scope {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_default()
}

/// A future polled inside a scope.
pub(crate) struct Scoped<'a, T> {
    scope: Scope,
    future: BoxFuture<'a, T>,
}

impl<'a, T> Scoped<'a, T> {
    pub(crate) fn new(scope: Scope, future: impl Future<Output = T> + Send + 'a) -> Self {
        Self {
            scope,
            future: Box::pin(future),
        }
    }
}

/// Puts the previous scope back, even if the poll panics.
struct Restore(Option<Scope>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl<T> Future for Scoped<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let previous = CURRENT.with(|c| c.replace(Some(this.scope.clone())));
        let _restore = Restore(previous);
        this.future.as_mut().poll(cx)
    }
}

/// Runs `future` with `genkit` as the running instance and no chunk sink: what
/// [`Genkit::run_action`] wraps every action in.
pub(crate) fn with_genkit<'a, T>(
    genkit: &Genkit,
    future: impl Future<Output = T> + Send + 'a,
) -> Scoped<'a, T> {
    Scoped::new(
        Scope {
            genkit: Some(genkit.clone()),
            chunks: None,
        },
        future,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::EchoModel;

    #[tokio::test]
    async fn the_scope_is_visible_inside_and_restored_after() {
        let ai = Genkit::builder()
            .model(EchoModel::new("echo"))
            .build()
            .unwrap();
        assert!(current().genkit.is_none());
        let seen = with_genkit(&ai, async {
            tokio::task::yield_now().await;
            current().genkit.is_some()
        })
        .await;
        assert!(seen);
        assert!(current().genkit.is_none());
    }
}
