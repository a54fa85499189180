//! A resume whose restarted tool interrupts again keeps the answers given so far as pending
//! outputs ("nothing the app sent is lost"): the answer's metadata must survive too.

mod support;

use genkit_core::prelude::*;
use genkit_core::{protocol, tool_response_with_metadata, IntoTool};
use serde_json::json;
use support::*;

#[tokio::test]
async fn answer_metadata_survives_a_resume_that_interrupts_again() {
    let ask = ask_question();
    let (ai, model) = instance(vec![ask.clone().into_tool()]);
    model.push_response(calls(&[
        ("ask_question", Some("q1"), questions()),
        ("ask_question", Some("q2"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("quiz me twice")
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(r.interrupts().len(), 2);

    // answer q1 with metadata; restart q2, which interrupts again
    let first =
        tool_response_with_metadata(&r.interrupts()[0], "Up", json!({"by": "alice"})).unwrap();
    let restart = ask.restart(&r.interrupts()[1], (), None).unwrap();
    let again = ai
        .generate()
        .messages(r.messages())
        .tool_responses([first])
        .tool_restarts([restart])
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(again.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(again.interrupts().len(), 1);

    model.push_response(answer("ok"));
    let second = tool_response(&again.interrupts()[0], "Heat").unwrap();
    ai.generate()
        .messages(again.messages())
        .tool_responses([second])
        .tools(["ask_question"])
        .await
        .unwrap();

    let tool_message = &model.last_request().unwrap().messages[2];
    let q1 = &tool_message.content[0];
    assert_eq!(q1.as_tool_response().unwrap().output, Some(json!("Up")));
    assert_eq!(
        q1.metadata_value(protocol::INTERRUPT_RESPONSE),
        Some(&json!({"by": "alice"})),
        "the first answer's metadata reached the model: {q1:?}"
    );
}
