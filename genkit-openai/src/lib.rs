//! Work in progress: the OpenAI-compatible plugin (issue 4).
#![deny(missing_docs)]
