//! [`State<S>`]: application state a tool reaches, as an axum handler reaches `State<S>`.
//!
//! The application hands its state to the instance once ([`GenkitBuilder::state`]); a
//! `#[tool]` function that takes a `State<S>` parameter gets a clone of it on every call. A
//! tool declares the states it needs, and the instance checks them when it is built (for
//! tools registered on it) or before the model is called (for tools given to one generate
//! call): a missing state is a [`GenkitError::MissingState`], never a failure mid-loop.
//!
//! [`GenkitBuilder::state`]: crate::GenkitBuilder::state

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::GenkitError;

/// Application state given to a tool: `State(bank): State<Bank>` in a `#[tool]` function's
/// parameters.
///
/// The value is the one given to [`GenkitBuilder::state`](crate::GenkitBuilder::state),
/// cloned for each call, so make it cheap to clone (an `Arc`, a connection pool, a handle).
///
/// ```
/// use genkit_core::prelude::*;
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Clone, Default)]
/// struct Counter(Arc<Mutex<u64>>);
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Add {
///     /// how much to add
///     amount: u64,
/// }
///
/// /// Add to the counter and return the new total.
/// #[tool]
/// async fn add(input: Add, State(counter): State<Counter>) -> ToolResult<u64> {
///     let mut total = counter.0.lock().map_err(|_| ToolError::msg("poisoned"))?;
///     *total += input.amount;
///     Ok(*total)
/// }
///
/// # fn main() -> Result<(), GenkitError> {
/// let counter = Counter::default();
/// let ai = Genkit::builder().state(counter.clone()).tool(add).build()?;
/// # let _ = ai;
/// // without `.state(..)`, the instance is not built:
/// let missing = Genkit::builder().tool(add).build().unwrap_err();
/// assert!(matches!(missing, GenkitError::MissingState { .. }));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<S>(pub S);

impl<S> std::ops::Deref for State<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0
    }
}

/// The type of a state a tool needs: what the instance checks it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateKey {
    id: TypeId,
    name: &'static str,
}

impl StateKey {
    /// The key of state type `S`.
    pub fn of<S: 'static>() -> Self {
        Self {
            id: TypeId::of::<S>(),
            name: std::any::type_name::<S>(),
        }
    }

    /// The type's name, as errors show it.
    pub fn type_name(&self) -> &'static str {
        self.name
    }
}

/// The states of an instance, by type. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct States {
    map: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States")
            .field("count", &self.map.len())
            .finish_non_exhaustive()
    }
}

impl States {
    /// Adds (or replaces) the state of type `S`.
    pub(crate) fn insert<S: Clone + Send + Sync + 'static>(&mut self, value: S) {
        Arc::make_mut(&mut self.map).insert(TypeId::of::<S>(), Arc::new(value));
    }

    pub(crate) fn contains(&self, key: &StateKey) -> bool {
        self.map.contains_key(&key.id)
    }

    /// A clone of the state of type `S`, or the error naming the tool that needed it.
    pub(crate) fn get<S: Clone + 'static>(&self, tool: &str) -> Result<S, GenkitError> {
        self.map
            .get(&TypeId::of::<S>())
            .and_then(|v| v.downcast_ref::<S>())
            .cloned()
            .ok_or_else(|| missing(tool, &StateKey::of::<S>()))
    }

    /// Checks that every state `tool` needs is here.
    pub(crate) fn check(&self, tool: &str, needs: &[StateKey]) -> Result<(), GenkitError> {
        match needs.iter().find(|k| !self.contains(k)) {
            Some(k) => Err(missing(tool, k)),
            None => Ok(()),
        }
    }
}

fn missing(tool: &str, key: &StateKey) -> GenkitError {
    GenkitError::MissingState {
        tool: tool.to_owned(),
        state: key.type_name().to_owned(),
    }
}
