//! Test models, as Genkit ships them: a programmable model and an echo model.
//!
//! Use them to test an application's tools, interrupts and resume logic without a network.

mod echo;
mod programmable;
pub mod session_store;

pub use echo::EchoModel;
pub use programmable::{ProgrammableModel, Scripted};
