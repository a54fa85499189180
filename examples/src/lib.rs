//! Shared pieces of the genkit-rs examples.
