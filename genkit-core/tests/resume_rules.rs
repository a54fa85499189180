//! Resume rules (DESIGN.md 6.3), one test per rule, including where genkit-rs is stricter than
//! Genkit's SDKs.

mod support;

use std::sync::Arc;

use genkit_core::prelude::*;
use genkit_core::{
    protocol, tool_response_with_metadata, IntoTool, Status, ToolAction, ToolOutput,
};
use serde_json::{json, Value};
use support::*;

/// Runs a turn that interrupts on `ask_question` (ref `q`), with a `lookup` sibling (ref `l`).
async fn interrupted(
    ai: &Genkit,
    model: &genkit_core::testing::ProgrammableModel,
    with_sibling: bool,
) -> GenerateResponse {
    let mut requests = vec![("ask_question", Some("q"), questions())];
    if with_sibling {
        requests.insert(0, ("lookup", Some("l"), json!({"word": "four"})));
    }
    model.push_response(calls(&requests));
    let r = ai
        .generate()
        .prompt("quiz me")
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    r
}

fn tools() -> Vec<Arc<ToolAction>> {
    vec![ask_tool(), lookup_tool()]
}

#[tokio::test]
async fn respond_resolves_the_interrupt_and_calls_the_model_with_the_answer() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let q: Questions = r.interrupts()[0].input().unwrap();
    assert_eq!(q.choices[1], "Heat");

    model.push_response(answer("Right!"));
    let answer_part = ask_question()
        .respond(&r.interrupts()[0], "Heat".into())
        .unwrap();
    let done = ai
        .generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_eq!(done.text(), "Right!");

    let sent = model.last_request().unwrap().messages;
    let request_part = &sent[1].content[0];
    assert_eq!(request_part.metadata_value(protocol::INTERRUPT), None);
    assert_eq!(
        request_part.metadata_value(protocol::RESOLVED_INTERRUPT),
        Some(&json!(true))
    );
    let tool_msg = &sent[2];
    assert_eq!(tool_msg.role, Role::Tool);
    assert_eq!(
        tool_msg.metadata.as_ref().unwrap()[protocol::RESUMED],
        json!(true)
    );
    let resp = &tool_msg.content[0];
    assert_eq!(resp.as_tool_response().unwrap().output, Some(json!("Heat")));
    assert_eq!(
        resp.metadata_value(protocol::INTERRUPT_RESPONSE),
        Some(&json!(true))
    );
}

#[tokio::test]
async fn resume_metadata_is_recorded_on_the_tool_message() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    model.push_response(answer("ok"));
    let answer_part =
        tool_response_with_metadata(&r.interrupts()[0], "Up", json!({"by": "alice"})).unwrap();
    ai.generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .resume_metadata(json!({"ticket": 7}))
        .tools(["ask_question"])
        .await
        .unwrap();
    let tool_msg = &model.last_request().unwrap().messages[2];
    assert_eq!(
        tool_msg.metadata.as_ref().unwrap()[protocol::RESUMED],
        json!({"ticket": 7})
    );
    assert_eq!(
        tool_msg.content[0].metadata_value(protocol::INTERRUPT_RESPONSE),
        Some(&json!({"by": "alice"}))
    );
}

#[tokio::test]
async fn pending_output_is_replayed_with_source_pending() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, true).await;
    model.push_response(answer("ok"));
    let answer_part = tool_response(&r.interrupts()[0], "Up").unwrap();
    ai.generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    let sent = model.last_request().unwrap().messages;
    assert_eq!(
        sent[1].content[0].metadata, None,
        "pendingOutput is removed from the request"
    );
    let replay = &sent[2].content[0];
    assert_eq!(replay.as_tool_response().unwrap().output, Some(json!(4)));
    assert_eq!(
        replay.metadata_value(protocol::SOURCE),
        Some(&json!("pending"))
    );
    assert_eq!(
        sent[2].content[1].as_tool_response().unwrap().output,
        Some(json!("Up"))
    );
}

#[tokio::test]
async fn resume_requires_a_model_message_with_tool_requests_last() {
    let (ai, model) = instance(tools());
    model.push_response(answer("never"));
    for history in [
        vec![Message::user("hi")],
        vec![Message::user("hi"), Message::model("plain text")],
        vec![],
    ] {
        let err = ai
            .generate()
            .messages(history)
            .tool_responses([Part::tool_response(ToolResponse::new(
                "ask_question",
                None,
                json!("x"),
            ))])
            .tools(["ask_question"])
            .await
            .unwrap_err();
        assert!(
            matches!(err, GenkitError::ResumePrecondition { .. }),
            "{err:?}"
        );
        assert_eq!(err.status(), Status::FailedPrecondition);
    }
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn an_interrupt_left_unanswered_is_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let err = ai
        .generate()
        .messages(r.messages())
        .resume_metadata(json!({}))
        .tools(["ask_question"])
        .await
        .unwrap_err();
    let GenkitError::UnresolvedToolRequest { request, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (request.name.as_str(), request.ref_.as_deref()),
        ("ask_question", Some("q"))
    );
}

#[tokio::test]
async fn unmatched_respond_is_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let good = tool_response(&r.interrupts()[0], "Up").unwrap();
    let stray = Part::tool_response(ToolResponse::new(
        "ask_question",
        Some("other".into()),
        json!("Heat"),
    ));
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([good, stray])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    let GenkitError::UnmatchedResume {
        kind,
        request,
        pending,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*kind, "respond");
    assert_eq!(request.ref_.as_deref(), Some("other"));
    assert_eq!(pending, &["'ask_question' (call q)"]);
}

#[tokio::test]
async fn a_resume_part_of_the_wrong_kind_is_a_typed_error() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let calls_before = model.requests().len();
    // a tool request where a tool response belongs, and the other way round
    let request_part = r.interrupts()[0].to_part();
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([request_part])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GenkitError::MalformedResume {
                kind: "respond",
                expected: "toolResponse",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Status::InvalidArgument);
    let response_part = tool_response(&r.interrupts()[0], "Up").unwrap();
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([response_part])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GenkitError::MalformedResume {
                kind: "restart",
                expected: "toolRequest",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        model.requests().len(),
        calls_before,
        "the model was not called"
    );
}

#[tokio::test]
async fn unmatched_restart_is_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let good = tool_response(&r.interrupts()[0], "Up").unwrap();
    let stray = Part::tool_request(ToolRequest::new(
        "lookup",
        Some("zzz".into()),
        json!({"word": "a"}),
    ));
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([good])
        .tool_restarts([stray])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GenkitError::UnmatchedResume {
                kind: "restart",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_answer_for_a_request_with_pending_output_is_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, true).await;
    let good = tool_response(&r.interrupts()[0], "Up").unwrap();
    let overwrite = Part::tool_response(ToolResponse::new("lookup", Some("l".into()), json!(99)));
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([good, overwrite])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::UnmatchedResume { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn two_answers_for_one_request_are_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let a = tool_response(&r.interrupts()[0], "Up").unwrap();
    let b = genkit_core::tool_restart(&r.interrupts()[0], (), None).unwrap();
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([a.clone(), a.clone()])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::DuplicateResume { .. }),
        "{err:?}"
    );
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([a])
        .tool_restarts([b])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::DuplicateResume { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_respond_output_failing_the_output_schema_is_rejected() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let wrong = tool_response(&r.interrupts()[0], json!({"not": "a string"})).unwrap();
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_responses([wrong])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    let GenkitError::ToolOutputInvalid { request, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.ref_.as_deref(), Some("q"));
}

#[tokio::test]
async fn typed_respond_rejects_another_tools_interrupt() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let err = typed_lookup().respond(&r.interrupts()[0], 3).unwrap_err();
    assert!(
        matches!(err, GenkitError::InterruptMismatch { .. }),
        "{err:?}"
    );
}

/// An approval tool: interrupts until restarted with `{"approved": true}`, gives up when
/// restarted with `{"refused": true}`.
fn transfer() -> Tool<Value, String> {
    Tool::new(
        "transfer",
        "Send money",
        |input: Value, ctx: ToolContext| async move {
            #[derive(serde::Deserialize)]
            struct Approval {
                #[serde(default)]
                approved: bool,
                #[serde(default)]
                refused: bool,
            }
            match ctx.resumed::<Approval>()? {
                Some(a) if a.refused => Ok("refused".to_owned()),
                None
                | Some(Approval {
                    approved: false, ..
                }) => ctx.interrupt(json!({"confirm": input["amount"]})),
                Some(_) => {
                    let original: Option<Value> = ctx.original_input()?;
                    Ok(format!(
                        "sent {} (asked for {})",
                        input["amount"],
                        original.map_or(input["amount"].clone(), |o| o["amount"].clone())
                    ))
                }
            }
        },
    )
}

#[tokio::test]
async fn restart_reruns_the_tool_with_resumed_metadata() {
    let t = transfer();
    let (ai, model) = instance(vec![t.clone().into_tool()]);
    model.push_response(calls(&[("transfer", Some("t"), json!({"amount": 100}))]));
    let r = ai
        .generate()
        .prompt("pay")
        .tools(["transfer"])
        .await
        .unwrap();
    assert_eq!(r.interrupts()[0].payload_value(), &json!({"confirm": 100}));

    model.push_response(answer("paid"));
    let restart = t
        .restart(&r.interrupts()[0], json!({"approved": true}), None)
        .unwrap();
    let done = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tools(["transfer"])
        .await
        .unwrap();
    assert_eq!(done.text(), "paid");
    let sent = model.last_request().unwrap().messages;
    assert_eq!(
        sent[1].content[0].metadata_value(protocol::RESOLVED_INTERRUPT),
        Some(&json!({"confirm": 100}))
    );
    let out = sent[2].content[0]
        .as_tool_response()
        .unwrap()
        .output
        .clone();
    assert_eq!(out, Some(json!("sent 100 (asked for 100)")));
}

#[tokio::test]
async fn replaced_input_amends_the_history() {
    let t = transfer();
    let (ai, model) = instance(vec![t.clone().into_tool()]);
    model.push_response(calls(&[("transfer", Some("t"), json!({"amount": 100}))]));
    let r = ai
        .generate()
        .prompt("pay")
        .tools(["transfer"])
        .await
        .unwrap();
    model.push_response(answer("paid"));
    let restart = t
        .restart(
            &r.interrupts()[0],
            json!({"approved": true}),
            Some(json!({"amount": 50})),
        )
        .unwrap();
    ai.generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tools(["transfer"])
        .await
        .unwrap();
    let sent = model.last_request().unwrap().messages;
    let req = &sent[1].content[0];
    assert_eq!(
        req.as_tool_request().unwrap().input,
        Some(json!({"amount": 50})),
        "the model sees what ran"
    );
    assert_eq!(
        req.metadata_value(protocol::REPLACED_INPUT),
        Some(&json!({"amount": 100}))
    );
    let out = sent[2].content[0]
        .as_tool_response()
        .unwrap()
        .output
        .clone();
    assert_eq!(
        out,
        Some(json!("sent 50 (asked for 100)")),
        "the tool saw the original input"
    );
}

#[tokio::test]
async fn restart_input_is_validated() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    let restart = genkit_core::tool_restart(
        &r.interrupts()[0],
        (),
        Some(json!({"choices": "not a list"})),
    )
    .unwrap();
    let err = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tools(["ask_question"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::ToolInputInvalid { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn restart_may_interrupt_again() {
    let t = transfer();
    let (ai, model) = instance(vec![t.clone().into_tool(), ask_tool()]);
    model.push_response(calls(&[
        ("transfer", Some("t"), json!({"amount": 100})),
        ("ask_question", Some("q"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("pay")
        .tools(["transfer", "ask_question"])
        .await
        .unwrap();
    assert_eq!(r.interrupts().len(), 2);

    // restarted without approval, the tool asks again
    let restart = t
        .restart(&r.interrupts()[0], json!({"approved": false}), None)
        .unwrap();
    let answered = tool_response(&r.interrupts()[1], "Up").unwrap();
    let r2 = ai
        .generate()
        .messages(r.messages())
        .tool_restarts([restart])
        .tool_responses([answered])
        .tools(["transfer", "ask_question"])
        .await
        .unwrap();
    assert_eq!(r2.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(
        model.requests().len(),
        1,
        "the model is not called while interrupted"
    );
    assert_eq!(r2.interrupts().len(), 1);
    assert_eq!(r2.interrupts()[0].name(), "transfer");
    assert_eq!(
        r2.messages().len(),
        2,
        "history consistent: no tool message"
    );
    // the answer already given is kept as a pending output, so nothing is lost
    let asked = &r2.message().unwrap().content[1];
    assert_eq!(
        asked.metadata_value(protocol::PENDING_OUTPUT),
        Some(&json!("Up"))
    );

    // a second resume finishes the job
    model.push_response(answer("all done"));
    let approve = t
        .restart(&r2.interrupts()[0], json!({"approved": true}), None)
        .unwrap();
    let r3 = ai
        .generate()
        .messages(r2.messages())
        .tool_restarts([approve])
        .tools(["transfer", "ask_question"])
        .await
        .unwrap();
    assert_eq!(r3.text(), "all done");
    let tool_msg = &model.last_request().unwrap().messages[2];
    let outputs: Vec<_> = tool_msg
        .tool_responses()
        .map(|r| r.output.clone().unwrap())
        .collect();
    assert_eq!(outputs, [json!("sent 100 (asked for 100)"), json!("Up")]);
}

#[tokio::test]
async fn a_resume_consumes_no_turn() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, false).await;
    model.push_response(calls(&[("lookup", Some("l2"), json!({"word": "ab"}))]));
    model.push_response(answer("ok"));
    let answer_part = tool_response(&r.interrupts()[0], "Up").unwrap();
    let done = ai
        .generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .tools(["ask_question", "lookup"])
        .max_turns(1)
        .await
        .unwrap();
    assert_eq!(done.text(), "ok");
}

#[tokio::test]
async fn pending_outputs_keep_multipart_content() {
    let pic = genkit_core::Tool::dynamic_multipart(
        "pic",
        "picture",
        json!({"type": "object"}),
        None,
        |_, _ctx| async {
            ToolResult::Ok(ToolOutput {
                output: json!("a cat"),
                content: Some(vec![Part::media("https://x/cat.png", None)]),
            })
        },
    )
    .unwrap();
    let (ai, model) = instance(vec![pic.into_tool(), ask_tool()]);
    model.push_response(calls(&[
        ("pic", Some("p"), json!({})),
        ("ask_question", Some("q"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["pic", "ask_question"])
        .await
        .unwrap();
    model.push_response(answer("ok"));
    let answer_part = tool_response(&r.interrupts()[0], "Up").unwrap();
    ai.generate()
        .messages(r.messages())
        .tool_responses([answer_part])
        .tools(["pic", "ask_question"])
        .await
        .unwrap();
    let replay = model.last_request().unwrap().messages[2].content[0]
        .as_tool_response()
        .unwrap()
        .clone();
    assert_eq!(replay.output, Some(json!("a cat")));
    assert_eq!(
        replay.content,
        Some(vec![Part::media("https://x/cat.png", None)])
    );
}

#[tokio::test]
async fn a_persisted_history_resumes_in_a_fresh_instance() {
    let (ai, model) = instance(tools());
    let r = interrupted(&ai, &model, true).await;
    let saved = serde_json::to_string(r.messages()).unwrap();
    let interrupt = serde_json::to_string(&r.interrupts()[0].to_part()).unwrap();
    drop((ai, model, r));

    let (ai, model) = instance(tools());
    let messages: Vec<Message> = serde_json::from_str(&saved).unwrap();
    let part: Part = serde_json::from_str(&interrupt).unwrap();
    let pending = genkit_core::Interrupt::from_part(part).unwrap();
    model.push_response(answer("resumed elsewhere"));
    let done = ai
        .generate()
        .messages(messages)
        .tool_responses([ask_question().respond(&pending, "Alien".into()).unwrap()])
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_eq!(done.text(), "resumed elsewhere");
}
