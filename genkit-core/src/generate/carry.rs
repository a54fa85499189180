//! Resuming with the settings of the interrupted call: [`Genkit::resume`] and
//! [`GenerateBuilder::answers`].
//!
//! A response remembers how the call that produced it was made (model, config, tools,
//! tool choice, output, turn limit, tool-error mode, context), in memory, so that the resume
//! needs only the answers. What it remembers is not part of the wire shape: a response read
//! back from storage has only what its last model request recorded (config, tool names, tool
//! choice), and the model and by-value tools are given again.

use std::sync::Arc;

use super::{GenerateBuilder, GenerateResponse, ToolErrorMode};
use crate::context::ActionContext;
use crate::genkit::Genkit;
use crate::schema::TypeSchema;
use crate::tool::ToolAction;
use crate::wire::{GenerateActionOptions, Part, PartKind};

/// The settings of a generate call, without its messages and answers.
#[derive(Debug)]
pub(crate) struct Carried {
    options: GenerateActionOptions,
    extra_tools: Vec<Arc<ToolAction>>,
    context: ActionContext,
    tool_errors: ToolErrorMode,
    output_type: Option<Arc<TypeSchema>>,
}

impl GenerateBuilder {
    /// What a resume of this call's response carries over.
    pub(super) fn carried(&self) -> Arc<Carried> {
        let o = &self.0.options;
        Arc::new(Carried {
            options: GenerateActionOptions {
                model: o.model.clone(),
                docs: o.docs.clone(),
                messages: Vec::new(),
                tools: o.tools.clone(),
                resources: o.resources.clone(),
                tool_choice: o.tool_choice,
                config: o.config.clone(),
                output: o.output.clone(),
                resume: None,
                return_tool_requests: o.return_tool_requests,
                max_turns: o.max_turns,
                step_name: None,
                use_: o.use_.clone(),
            },
            extra_tools: self.0.extra_tools.clone(),
            context: self.0.context.clone(),
            tool_errors: self.0.tool_errors,
            output_type: self.0.output_type.clone(),
        })
    }

    /// Answers to interrupts, respond parts and restart parts together: each goes where its
    /// kind says (a `toolResponse` part answers in the tool's place, a `toolRequest` part
    /// re-runs the tool), as [`tool_responses`](Self::tool_responses) and
    /// [`tool_restarts`](Self::tool_restarts) would take them.
    ///
    /// ```
    /// # use genkit_core::{prelude::*, testing::ProgrammableModel};
    /// # use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// # let model = ProgrammableModel::new("m");
    /// # let ask = |r: &str| Part::tool_request(ToolRequest::new("confirm", Some(r.into()), json!({})));
    /// # model.push_response(ModelResponse::new(Message::new(Role::Model, vec![ask("a"), ask("b")]), FinishReason::Stop));
    /// # model.push_response(ModelResponse::new(Message::model("done"), FinishReason::Stop));
    /// // runs once the user approved it
    /// let confirm = Tool::new("confirm", "Do it, once the user agrees", |_: (), ctx: ToolContext| async move {
    ///     if ctx.is_resumed() { Ok(true) } else { ctx.interrupt(()) }
    /// });
    /// # let ai = Genkit::builder().model(model).default_model("m").build()?;
    /// let interrupted = ai.generate().prompt("Do two things").tool(confirm.clone()).await?;
    /// let [a, b] = interrupted.interrupts() else { panic!() };
    /// let response = ai
    ///     .resume(&interrupted)
    ///     .answers([confirm.respond(a, true)?, confirm.approve(b).into_part()?])
    ///     .await?;
    /// # assert_eq!(response.text(), "done");
    /// # Ok(()) }
    /// ```
    ///
    /// The call is a resume even with no parts: every pending request must then be answered
    /// otherwise (a pending output), or the call fails with
    /// [`UnresolvedToolRequest`](crate::GenkitError::UnresolvedToolRequest).
    pub fn answers(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.resume_mut();
        for part in parts {
            let resume = self.resume_mut();
            let slot = match part.kind {
                PartKind::ToolResponse(_) => &mut resume.respond,
                // a restart; anything else is refused by the resume, as a restart part
                _ => &mut resume.restart,
            };
            slot.get_or_insert_with(Vec::new).push(part);
        }
        self
    }
}

impl Genkit {
    /// A generate call that resumes `interrupted`: its messages, and the model, config,
    /// tools, tool choice, output, turn limit, tool-error mode and context of the call that
    /// returned it. Add the answers ([`answers`](GenerateBuilder::answers)) and await it;
    /// any setting can still be changed on the builder.
    ///
    /// A response read back from storage (deserialized, or [`from_wire`]) does not know its
    /// call: it carries the config, tool names and tool choice its last model request
    /// recorded, and the model, by-value tools and output settings are given again.
    ///
    /// ```
    /// # use genkit_core::{prelude::*, testing::ProgrammableModel};
    /// # use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
    /// # let model = ProgrammableModel::new("scripted");
    /// # model.push_response(ModelResponse::new(Message::new(Role::Model, vec![Part::tool_request(ToolRequest::new("ask", Some("q".into()), json!({})))]), FinishReason::Stop));
    /// # model.push_response(ModelResponse::new(Message::model("Correct!"), FinishReason::Stop));
    /// let ask: Tool<(), String> = Tool::interrupt("ask", "Ask the user");
    /// let ai = Genkit::builder().model(model).build()?;
    /// let interrupted = ai
    ///     .generate()
    ///     .model("scripted")
    ///     .prompt("Quiz me")
    ///     .tool(ask.clone())
    ///     .config(GenerationCommonConfig::new().temperature(0.0))
    ///     .await?;
    /// let answer = ask.respond(&interrupted.interrupts()[0], "b".into())?;
    /// // model, tool and config come from the interrupted call
    /// let response = ai.resume(&interrupted).answers([answer]).await?;
    /// assert_eq!(response.text(), "Correct!");
    /// # Ok(()) }
    /// ```
    ///
    /// [`from_wire`]: GenerateResponse::from_wire
    pub fn resume(&self, interrupted: &GenerateResponse) -> GenerateBuilder {
        let mut builder = self.generate();
        match interrupted.carried() {
            Some(carried) => {
                builder.0.options = carried.options.clone();
                builder.0.extra_tools = carried.extra_tools.clone();
                builder.0.context = carried.context.clone();
                builder.0.tool_errors = carried.tool_errors;
                builder.0.output_type = carried.output_type.clone();
            }
            None => {
                if let Some(request) = interrupted.request() {
                    let names: Vec<String> =
                        request.tools().iter().map(|t| t.name.clone()).collect();
                    builder.0.options.config = request.config;
                    builder.0.options.tool_choice = request.tool_choice;
                    if !names.is_empty() {
                        builder.0.options.tools = Some(names);
                    }
                }
            }
        }
        builder.messages(interrupted.messages())
    }
}
