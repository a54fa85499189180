//! PostgreSQL session store for genkit-rs agents: sessions live in a database every worker
//! reaches, so a conversation one machine paused is resumed by whichever machine the next
//! request lands on.
//!
//! ```no_run
//! use genkit_core::agent::{Agent, PromptSpec};
//! use genkit_postgres::PostgresSessionStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresSessionStore::connect(std::env::var("DATABASE_URL")?).await?;
//! let agent: Agent = Agent::prompt("support", PromptSpec::new().model("openai/gpt-4o-mini"))
//!     .store(store)
//!     .build();
//! # let _ = agent; Ok(()) }
//! ```
//!
//! [`PostgresSessionStore`] implements genkit-core's
//! [`SessionStore`](genkit_core::session::SessionStore) and passes its conformance suite
//! against a real server. What it does on top of the contract:
//!
//! | concern | how |
//! |---|---|
//! | schema | versioned [`migrations`] run on start under an advisory lock; a newer version than this code knows is [`PostgresError::SchemaTooNew`] |
//! | concurrent saves | one transaction per save holding `pg_advisory_xact_lock` for the snapshot: the mutator runs once per save |
//! | large sessions | a checkpoint every 16 state versions, JSON Patch diffs in between; a read is one query |
//! | JSON | `json`, not `jsonb` (which refuses U+0000 in tool output) |
//! | other processes' changes | `LISTEN/NOTIFY`, polling while the listening connection is down |
//! | tenants | the [`StoreScope`](genkit_core::session::StoreScope) of each call is a key column |
//! | operations | pool size, statement timeout, bounded retries with backoff ([`RetryPolicy`]), typed errors ([`PostgresError`]) |
//!
//! ## Why tokio-postgres and deadpool
//!
//! The driver is `tokio-postgres` with the `deadpool-postgres` pool rather than `sqlx`: the
//! store runs a handful of fixed statements, so sqlx's compile-time checking and query macros
//! buy nothing here, while its build (macros, several runtimes and databases behind features)
//! costs a multiple of tokio-postgres's on a small machine. tokio-postgres is the most used
//! async PostgreSQL driver, pipelines statements on one connection (a save sends its lock and
//! its read together), and exposes `LISTEN/NOTIFY` directly. TLS is optional: the `tls`
//! feature adds rustls (ring, the platform's certificate verifier); without it a URL with
//! `sslmode=require` is refused at start instead of failing later.
//!
//! ## Tables
//!
//! In the configured schema (`genkit` by default): `snapshots` (one row per snapshot: key
//! columns, status and times for lookups, the snapshot without its state as `header json`,
//! and a reference to its state), `states` (never updated: a checkpoint or a patch against its
//! base), `resume_claims` (which snapshot consumed an interrupted one: a claim is one insert),
//! and `schema_version`. See `docs/agents.md`, "Running on many machines", for sizing
//! and operations.

#![deny(missing_docs)]

mod config;
mod connect;
mod error;
mod migrate;
mod patch;
mod recent;
mod retry;
mod sql;
mod state;
mod store;
mod watch;

pub use config::PostgresStoreBuilder;
pub use error::{postgres_error, PostgresError};
pub use migrate::{migrations, Migration, SCHEMA_VERSION};
pub use retry::RetryPolicy;
pub use store::PostgresSessionStore;
