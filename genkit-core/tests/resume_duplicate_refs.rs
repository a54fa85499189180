//! A model turn whose interrupting tool requests share a (name, ref) must still be resumable:
//! the engine accepted the turn and reported one interrupt per request, so answering each of
//! them must work.

mod support;

use genkit_core::prelude::*;
use genkit_core::IntoTool;
use support::*;

#[tokio::test]
async fn interrupts_sharing_a_ref_can_each_be_answered() {
    let ask = ask_question();
    let (ai, model) = instance(vec![ask.clone().into_tool()]);
    // a model that reuses a call id (the engine only fills in missing refs)
    model.push_response(calls(&[
        ("ask_question", Some("call_1"), questions()),
        ("ask_question", Some("call_1"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("quiz me twice")
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(r.interrupts().len(), 2);

    let answers: Vec<Part> = ["Up", "Heat"]
        .iter()
        .zip(r.interrupts())
        .map(|(a, i)| ask.respond(i, (*a).to_owned()).unwrap())
        .collect();
    model.push_response(answer("ok"));
    let done = ai
        .generate()
        .messages(r.messages())
        .tool_responses(answers)
        .tools(["ask_question"])
        .await
        .expect("each interrupt answered once");
    assert_eq!(done.text(), "ok");
    let tool_message = &model.last_request().unwrap().messages[2];
    let outputs: Vec<_> = tool_message
        .tool_responses()
        .map(|r| r.output.clone())
        .collect();
    assert_eq!(
        outputs,
        vec![Some("Up".into()), Some("Heat".into())],
        "one answer per request, in request order"
    );
}
