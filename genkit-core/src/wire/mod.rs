//! Genkit's wire types, serialized exactly as `genkit-schema.json` describes them.
//!
//! A history written by Genkit JS, Go or Python deserializes into these types and serializes
//! back to the same JSON, so a generation interrupted in one runtime can be resumed in another.

mod agent;
mod chunk;
mod config;
mod message;
mod messages;
mod middleware;
mod model_info;
mod nullable;
mod options;
mod part;
mod request;
mod response;
mod shared_vec;

pub use agent::{
    AgentAbortRequest, AgentAbortResponse, AgentFinishReason, AgentInit, AgentInput, AgentMetadata,
    AgentOutput, AgentResult, AgentResume, AgentStateManagement, AgentStreamChunk, Artifact,
    GetSnapshotRequest, JsonPatch, JsonPatchOp, JsonPatchOperation, RuntimeError, SessionSnapshot,
    SessionState, SnapshotStatus, TurnEnd,
};
pub use chunk::GenerateResponseChunk;
pub use config::GenerationCommonConfig;
pub use message::{Message, Role};
pub use messages::Messages;
pub use middleware::{MiddlewareDesc, MiddlewareRef};
pub use model_info::{ModelInfo, ModelSupports};
pub use options::{GenerateActionOptions, GenerateActionOutputConfig, ResumeOptions};
pub use part::{JsonMap, Media, Part, PartKind, Resource, ToolRequest, ToolResponse};
pub use request::{DocumentData, ModelRequest, OutputConfig, ToolChoice, ToolDefinition};
pub use response::{FinishReason, GenerationUsage, ModelResponse};
