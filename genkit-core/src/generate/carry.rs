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
use crate::wire::{GenerateActionOptions, Messages, Part, PartKind};

/// The settings of a generate call, without its messages and answers, as compact as the call
/// allows: every response holds one, and a paused generation may be held for hours, by the
/// thousands.
#[derive(Debug, Clone)]
pub(crate) struct Carried {
    /// The model the call named (`None`: the instance's default).
    model: Option<String>,
    /// Everything else, when the call set something its response's last model request does
    /// not record; `None` for the common call (a model, tools by name, a config, a tool
    /// choice), which the request gives back whole.
    rest: Option<Arc<Rest>>,
}

#[derive(Debug)]
struct Rest {
    options: GenerateActionOptions,
    extra_tools: Vec<Arc<ToolAction>>,
    context: ActionContext,
    tool_errors: ToolErrorMode,
    output_type: Option<Arc<TypeSchema>>,
}

impl GenerateBuilder {
    /// What a resume of this call's response carries over.
    pub(super) fn carried(&self) -> Carried {
        let b = &self.0;
        let o = &b.options;
        let model = o.model.clone();
        // the last request records the tools (by name), the config and the tool choice as
        // the call gave them, unless middleware could have changed the request, or the call
        // may end without a model request (a restart that interrupts again)
        let recorded = o.docs.is_none()
            && o.resources.is_none()
            && o.output.is_none()
            && o.return_tool_requests.is_none()
            && o.max_turns.is_none()
            && o.use_.as_ref().is_none_or(Vec::is_empty)
            && o.resume
                .as_ref()
                .and_then(|r| r.restart.as_ref())
                .is_none_or(Vec::is_empty)
            && b.extra_tools.is_empty()
            && b.layers.is_empty()
            && b.context.is_empty()
            && b.tool_errors == ToolErrorMode::default()
            && b.output_type.is_none();
        if recorded {
            return Carried { model, rest: None };
        }
        Carried {
            model: None,
            rest: Some(Arc::new(Rest {
                options: GenerateActionOptions {
                    model,
                    docs: o.docs.clone(),
                    messages: Messages::new(),
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
                extra_tools: b.extra_tools.clone(),
                context: b.context.clone(),
                tool_errors: b.tool_errors,
                output_type: b.output_type.clone(),
            })),
        }
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
        let carried = interrupted.carried();
        if let Some(rest) = carried.and_then(|c| c.rest.as_deref()) {
            builder.0.options = rest.options.clone();
            builder.0.extra_tools = rest.extra_tools.clone();
            builder.0.context = rest.context.clone();
            builder.0.tool_errors = rest.tool_errors;
            builder.0.output_type = rest.output_type.clone();
        } else {
            // the common call, or a response read back from storage: what the last request
            // recorded (and the model, when this process made the call)
            builder.0.options.model = carried.and_then(|c| c.model.clone());
            if let Some(request) = interrupted.request() {
                let names: Vec<String> = request.tools().iter().map(|t| t.name.clone()).collect();
                builder.0.options.config = request.config;
                builder.0.options.tool_choice = request.tool_choice;
                if !names.is_empty() {
                    builder.0.options.tools = Some(names);
                }
            }
        }
        builder.messages(interrupted.messages())
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::testing::ProgrammableModel;
    use crate::wire::ToolChoice;
    use serde_json::json;

    fn asking() -> ModelResponse {
        let ask = ToolRequest::new("ask", Some("q".into()), json!({}));
        ModelResponse::new(
            Message::new(Role::Model, vec![Part::tool_request(ask)]),
            FinishReason::Stop,
        )
    }

    fn instance() -> Genkit {
        let model = ProgrammableModel::new("pm");
        model.push_response(asking());
        model.push_response(asking());
        let ask: Tool<(), String> = Tool::interrupt("ask", "Ask the user");
        Genkit::builder()
            .model(model)
            .model(ProgrammableModel::new("other"))
            .default_model("other")
            .tool(ask)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn the_common_call_is_given_back_whole_from_its_last_request() {
        let ai = instance();
        let call = ai
            .generate()
            .model("pm")
            .prompt("hi")
            .tools(["ask"])
            .tool_choice(ToolChoice::Required)
            .config(json!({"temperature": 0.25}));
        let expected = call.to_options();
        let interrupted = call.await.unwrap();
        // nothing beyond the model is kept: the request records the rest
        assert!(interrupted.carried().is_some_and(|c| c.rest.is_none()));
        let resumed = ai.resume(&interrupted).to_options();
        assert_eq!(
            resumed.model.as_deref(),
            Some("pm"),
            "not the default model"
        );
        assert_eq!(resumed.tools, expected.tools);
        assert_eq!(resumed.tool_choice, expected.tool_choice);
        assert_eq!(resumed.config, expected.config);
        assert_eq!(resumed.messages, *interrupted.messages());
    }

    #[tokio::test]
    async fn a_call_with_more_than_its_request_records_keeps_it_all() {
        let ai = instance();
        let context = ActionContext::new().with("auth", json!({"uid": "u1"}));
        let call = ai
            .generate()
            .model("pm")
            .prompt("hi")
            .tools(["ask"])
            .max_turns(2)
            .context(context.clone());
        let interrupted = call.await.unwrap();
        assert!(interrupted.carried().is_some_and(|c| c.rest.is_some()));
        let resumed = ai.resume(&interrupted);
        assert_eq!(resumed.0.context, context);
        let options = resumed.to_options();
        assert_eq!(options.max_turns, Some(2));
        assert_eq!(options.model.as_deref(), Some("pm"));
        assert_eq!(options.tools, Some(vec!["ask".to_owned()]));
    }
}
