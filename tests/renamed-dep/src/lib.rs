//! A user crate that depends on `genkit-core` under another name (`genkit`), with serde and
//! schemars only for their derives: `#[tool(crate = "genkit")]` must compile here.

use genkit::prelude::*;

/// What the model asks.
#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
pub struct Questions {
    /// the choices to display to the user
    pub choices: Vec<String>,
}

/// Use this to ask the user a clarifying question
#[genkit::tool(crate = "genkit")]
pub fn ask_question(input: Questions) -> String;

/// Counts the choices.
#[genkit::tool(crate = "genkit")]
pub async fn count_choices(input: Questions) -> ToolResult<usize> {
    Ok(input.choices.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit::testing::ProgrammableModel;

    #[tokio::test]
    async fn tools_from_a_renamed_dependency_run_through_the_engine() {
        let model = ProgrammableModel::new("m");
        let ask = ToolRequest::new(
            "ask_question",
            Some("q".into()),
            serde_json::json!({"choices": ["a", "b"]}),
        );
        model.push_response(ModelResponse::new(
            Message::new(Role::Model, vec![Part::tool_request(ask)]),
            FinishReason::Stop,
        ));
        model.push_response(ModelResponse::new(Message::model("ok"), FinishReason::Stop));
        let ai = Genkit::builder()
            .model(model)
            .default_model("m")
            .tool(ask_question)
            .tool(count_choices)
            .build()
            .unwrap();
        let r = ai
            .generate()
            .prompt("x")
            .tools(["ask_question"])
            .await
            .unwrap();
        assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
        let answer = ask_question
            .respond(&r.interrupts()[0], "b".to_string())
            .unwrap();
        let done = ai
            .generate()
            .messages(r.messages())
            .tool_responses([answer])
            .tools(["ask_question"])
            .await
            .unwrap();
        assert_eq!(done.text(), "ok");
        assert_eq!(count_choices.definition().name, "count_choices");
    }
}
