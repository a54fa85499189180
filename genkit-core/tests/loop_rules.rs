//! The generate loop's rules (DESIGN.md 6.2), one test per rule, over the programmable model.

mod support;

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use genkit_core::{protocol, IntoTool, Status, ToolErrorMode, ToolOutput};
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn plain_answer_is_returned_as_is() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer("hello"));
    let r = ai.generate().prompt("hi").await.unwrap();
    assert_eq!(r.text(), "hello");
    assert_eq!(r.finish_reason(), Some(FinishReason::Stop));
    assert_eq!(r.messages().len(), 2);
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn tool_round_trip_appends_model_and_tool_messages() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("r1"), json!({"word": "abc"}))]));
    model.push_response(answer("done"));
    let r = ai.generate().prompt("hi").tools(["lookup"]).await.unwrap();
    assert_eq!(r.text(), "done");
    let second = &model.requests()[1];
    let roles: Vec<Role> = second.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Model, Role::Tool]);
    let resp = second.messages[2].content[0].as_tool_response().unwrap();
    assert_eq!(
        (resp.name.as_str(), resp.ref_.as_deref()),
        ("lookup", Some("r1"))
    );
    assert_eq!(resp.output, Some(json!(3)));
    assert_eq!(
        r.messages().len(),
        4,
        "history holds prompt, request, tool answers and the answer"
    );
}

#[tokio::test]
async fn answers_are_ordered_by_request_not_by_completion() {
    let slow = Tool::new("slow", "waits", |ms: u64, _ctx: ToolContext| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ToolResult::Ok(ms)
    });
    let (ai, model) = instance(vec![slow.into_tool()]);
    model.push_response(calls(&[
        ("slow", Some("a"), json!(60)),
        ("slow", Some("b"), json!(1)),
        ("slow", Some("c"), json!(30)),
    ]));
    model.push_response(answer("ok"));
    ai.generate().prompt("go").tools(["slow"]).await.unwrap();
    let tool_msg = &model.requests()[1].messages[2];
    let refs: Vec<_> = tool_msg
        .tool_responses()
        .map(|r| r.ref_.clone().unwrap())
        .collect();
    assert_eq!(refs, ["a", "b", "c"]);
}

#[tokio::test]
async fn tools_of_one_turn_run_concurrently() {
    // Each call waits until both are running: a sequential loop would never finish.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let meet = Tool::new(
        "meet",
        "waits for the other",
        move |_: (), _ctx: ToolContext| {
            let barrier = Arc::clone(&barrier);
            async move {
                barrier.wait().await;
                ToolResult::Ok(true)
            }
        },
    );
    let (ai, model) = instance(vec![meet.into_tool()]);
    model.push_response(calls(&[
        ("meet", Some("1"), json!({})),
        ("meet", Some("2"), json!({})),
    ]));
    model.push_response(answer("met"));
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        ai.generate().prompt("x").tools(["meet"]).into_future(),
    )
    .await
    .expect("tools ran one after the other")
    .unwrap();
    assert_eq!(r.text(), "met");
}

#[tokio::test]
async fn return_tool_requests_skips_running_tools() {
    let (ai, model) = instance(vec![counting_tool().0]);
    model.push_response(calls(&[("count", Some("1"), json!({}))]));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["count"])
        .return_tool_requests(true)
        .await
        .unwrap();
    assert_eq!(r.tool_requests().len(), 1);
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn max_turns_exceeded_is_an_error_carrying_the_last_response() {
    let (tool, runs) = counting_tool();
    let (ai, model) = instance(vec![tool]);
    for i in 0..3 {
        model.push_response(calls(&[("count", Some(&i.to_string()), json!({}))]));
    }
    let err = ai
        .generate()
        .prompt("x")
        .tools(["count"])
        .max_turns(2)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::Aborted);
    let GenkitError::MaxTurnsExceeded {
        max_turns,
        response,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*max_turns, 2);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "two rounds ran, the third was refused"
    );
    assert_eq!(response.tool_requests()[0].ref_.as_deref(), Some("2"));
}

#[tokio::test]
async fn default_max_turns_is_five() {
    let (tool, runs) = counting_tool();
    let (ai, model) = instance(vec![tool]);
    model.set_handler(|_| Ok(calls(&[("count", Some("x"), json!({}))])));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["count"])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        GenkitError::MaxTurnsExceeded { max_turns: 5, .. }
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn interrupt_returns_at_once_without_calling_the_model_again() {
    let (ai, model) = instance(vec![ask_tool()]);
    model.push_response(calls(&[("ask_question", Some("q"), questions())]));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["ask_question"])
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(model.requests().len(), 1);
    assert_eq!(r.interrupts().len(), 1);
    assert_eq!(r.interrupts()[0].name(), "ask_question");
    assert_eq!(r.interrupts()[0].ref_(), Some("q"));
    assert_eq!(r.interrupts()[0].payload_value(), &json!(true));
    let roles: Vec<Role> = r.messages().iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Model],
        "no tool message is appended on interrupt"
    );
}

#[tokio::test]
async fn mixed_turn_keeps_sibling_output_as_pending() {
    let (ai, model) = instance(vec![ask_tool(), lookup_tool()]);
    model.push_response(calls(&[
        ("lookup", Some("l"), json!({"word": "four"})),
        ("ask_question", Some("q"), questions()),
    ]));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["ask_question", "lookup"])
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    let parts = &r.message().unwrap().content;
    assert_eq!(
        parts[0].metadata_value(protocol::PENDING_OUTPUT),
        Some(&json!(4))
    );
    assert_eq!(parts[0].metadata_value(protocol::INTERRUPT), None);
    assert_eq!(
        parts[1].metadata_value(protocol::INTERRUPT),
        Some(&json!(true))
    );
    assert_eq!(
        r.interrupts().len(),
        1,
        "only the paused request is an interrupt"
    );
}

#[tokio::test]
async fn interrupt_payload_is_kept_on_the_request() {
    let ask = Tool::<Value, String>::interrupt_with(
        "confirm",
        "confirm",
        |input: &Value| json!({"amount": input["amount"]}),
    );
    let (ai, model) = instance(vec![ask.into_tool()]);
    model.push_response(calls(&[("confirm", Some("c"), json!({"amount": 5}))]));
    let r = ai.generate().prompt("x").tools(["confirm"]).await.unwrap();
    #[derive(serde::Deserialize)]
    struct Payload {
        amount: u32,
    }
    assert_eq!(r.interrupts()[0].payload::<Payload>().unwrap().amount, 5);
}

#[tokio::test]
async fn tool_input_is_validated_before_the_tool_runs() {
    let (tool, runs) = counting_tool();
    let (ai, model) = instance(vec![tool, lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l1"), json!({"word": 12}))]));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["lookup", "count"])
        .await
        .unwrap_err();
    let GenkitError::ToolInputInvalid {
        request,
        violations,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(request.name, "lookup");
    assert_eq!(request.ref_.as_deref(), Some("l1"));
    assert!(violations[0].contains("/word"), "{violations:?}");
    assert!(err.to_string().contains("'lookup' (call l1)"), "{err}");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(err.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn unknown_tool_requested_by_the_model_is_a_typed_error() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("What is the best movie?", Some("x"), json!({}))]));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .await
        .unwrap_err();
    let GenkitError::ToolNotFound {
        request, available, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(request.name, "What is the best movie?");
    assert_eq!(available, &["lookup"]);
    assert_eq!(err.status(), Status::NotFound);
}

#[tokio::test]
async fn model_mistakes_can_be_returned_to_the_model() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[
        ("nope", Some("a"), json!({})),
        ("lookup", Some("b"), json!({"word": 1})),
    ]));
    model.push_response(calls(&[("lookup", Some("c"), json!({"word": "ok"}))]));
    model.push_response(answer("fixed"));
    let r = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .tool_errors(ToolErrorMode::ReturnToModel)
        .await
        .unwrap();
    assert_eq!(r.text(), "fixed");
    let tool_msg = &model.requests()[1].messages[2];
    let outputs: Vec<&Value> = tool_msg
        .tool_responses()
        .map(|r| r.output.as_ref().unwrap())
        .collect();
    assert!(outputs[0]["error"]
        .as_str()
        .unwrap()
        .contains("'nope' (call a) not found"));
    assert!(outputs[1]["error"]
        .as_str()
        .unwrap()
        .contains("input schema"));
}

#[tokio::test]
async fn model_mistakes_returned_to_the_model_count_against_max_turns() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.set_handler(|_| Ok(calls(&[("nope", Some("a"), json!({}))])));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .max_turns(2)
        .tool_errors(ToolErrorMode::ReturnToModel)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenkitError::MaxTurnsExceeded { max_turns: 2, .. }),
        "{err:?}"
    );
    assert_eq!(model.requests().len(), 3);
}

#[tokio::test]
async fn tool_arguments_that_are_not_json_are_a_typed_error() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("l"), json!("{\"word\": \"ab"))]));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["lookup"])
        .await
        .unwrap_err();
    let GenkitError::ToolInputNotJson { request, raw, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.name, "lookup");
    assert_eq!(raw, "{\"word\": \"ab");
}

#[tokio::test]
async fn arguments_sent_as_a_json_string_are_parsed() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[(
        "lookup",
        Some("l"),
        json!("{\"word\": \"abcd\"}"),
    )]));
    model.push_response(answer("ok"));
    ai.generate().prompt("x").tools(["lookup"]).await.unwrap();
    let out = model.requests()[1].messages[2]
        .tool_responses()
        .next()
        .unwrap()
        .output
        .clone();
    assert_eq!(out, Some(json!(4)));
}

#[tokio::test]
async fn two_tools_with_the_same_name_are_rejected() {
    let a = Tool::new("same", "a", |_: (), _ctx: ToolContext| async {
        ToolResult::Ok(1)
    });
    let b = Tool::new("same", "b", |_: (), _ctx: ToolContext| async {
        ToolResult::Ok(2)
    });
    let err = Genkit::builder()
        .tool(a.clone())
        .tool(b.clone())
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, GenkitError::DuplicateAction { key, .. } if key == "/tool/same"),
        "{err:?}"
    );

    let (ai, model) = instance(vec![a.into_tool()]);
    model.push_response(answer("never"));
    let err = ai
        .generate()
        .prompt("x")
        .tools(["same"])
        .tool(b)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GenkitError::DuplicateTool { name, .. } if name == "same"),
        "{err:?}"
    );
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn a_tool_name_model_apis_reject_is_refused_at_registration() {
    let bad = Tool::new("ask question", "x", |_: (), _ctx: ToolContext| async {
        ToolResult::Ok(1)
    });
    let err = Genkit::builder().tool(bad).build().unwrap_err();
    assert!(
        matches!(err, GenkitError::InvalidToolName { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_panicking_tool_becomes_an_error() {
    let boom = Tool::new("boom", "panics", |_: (), _ctx: ToolContext| async {
        if true {
            panic!("kaboom");
        }
        ToolResult::Ok(0)
    });
    let (ai, model) = instance(vec![boom.into_tool()]);
    model.push_response(calls(&[("boom", Some("b"), json!({}))]));
    let err = ai.generate().prompt("x").tools(["boom"]).await.unwrap_err();
    let GenkitError::ToolPanicked {
        request, message, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(request.name, "boom");
    assert_eq!(message, "kaboom");
}

#[tokio::test]
async fn a_failing_tool_is_a_typed_error_keeping_its_source() {
    let fail = Tool::new("fail", "fails", |s: String, _ctx: ToolContext| async move {
        let n: u32 = s.parse()?;
        ToolResult::Ok(n)
    });
    let (ai, model) = instance(vec![fail.into_tool()]);
    model.push_response(calls(&[("fail", Some("f"), json!("x"))]));
    let err = ai.generate().prompt("x").tools(["fail"]).await.unwrap_err();
    let GenkitError::ToolFailed { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(source.downcast_ref::<std::num::ParseIntError>().is_some());
}

#[tokio::test]
async fn a_response_without_a_message_is_an_error() {
    let (ai, model) = instance(vec![]);
    model.push_response(ModelResponse {
        finish_reason: Some(FinishReason::Other),
        ..ModelResponse::default()
    });
    let err = ai.generate().prompt("x").await.unwrap_err();
    assert!(
        matches!(&err, GenkitError::MissingMessage { model, finish, .. } if model == "pm" && finish == "other"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_blocked_finish_reason_is_an_error_carrying_the_response() {
    let (ai, model) = instance(vec![]);
    let mut blocked = answer("");
    blocked.finish_reason = Some(FinishReason::Blocked);
    blocked.finish_message = Some("safety".into());
    model.push_response(blocked);
    let err = ai.generate().prompt("x").await.unwrap_err();
    assert!(err.to_string().contains("safety"), "{err}");
    assert_eq!(
        err.response().unwrap().finish_reason(),
        Some(FinishReason::Blocked)
    );
}

#[tokio::test]
async fn model_cannot_forge_interrupt_metadata() {
    let (tool, runs) = counting_tool();
    let (ai, model) = instance(vec![tool]);
    let mut forged = calls(&[("count", Some("1"), json!({}))]);
    let part = &mut forged.message.as_mut().unwrap().content[0];
    part.set_metadata(protocol::INTERRUPT, json!(true));
    part.set_metadata(protocol::PENDING_OUTPUT, json!("fake"));
    part.set_metadata(protocol::RESUMED, json!(true));
    part.set_metadata("harmless", json!(1));
    model.push_response(forged);
    model.push_response(answer("ok"));
    let r = ai.generate().prompt("x").tools(["count"]).await.unwrap();
    assert_eq!(
        r.finish_reason(),
        Some(FinishReason::Stop),
        "the forged interrupt did not pause the loop"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the tool really ran");
    let request_part = &model.requests()[1].messages[1].content[0];
    let metadata = request_part.metadata.as_ref().unwrap();
    assert_eq!(metadata.keys().collect::<Vec<_>>(), ["harmless"]);
}

#[tokio::test]
async fn tool_requests_without_ref_get_one() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[
        ("lookup", None, json!({"word": "a"})),
        ("lookup", None, json!({"word": "bb"})),
    ]));
    model.push_response(answer("ok"));
    ai.generate().prompt("x").tools(["lookup"]).await.unwrap();
    let second = &model.requests()[1];
    let req_refs: Vec<_> = second.messages[1]
        .tool_requests()
        .map(|r| r.ref_.clone().unwrap())
        .collect();
    let resp_refs: Vec<_> = second.messages[2]
        .tool_responses()
        .map(|r| r.ref_.clone().unwrap())
        .collect();
    assert_eq!(req_refs.len(), 2);
    assert_ne!(req_refs[0], req_refs[1]);
    assert_eq!(req_refs, resp_refs);
}

#[tokio::test]
async fn caller_context_reaches_tools_and_models() {
    let whoami = Tool::new("whoami", "who", |_: (), ctx: ToolContext| async move {
        ToolResult::Ok(ctx.context().get("auth").cloned().unwrap_or_default())
    });
    let (ai, model) = instance(vec![whoami.into_tool()]);
    model.push_response(calls(&[("whoami", Some("w"), json!({}))]));
    model.push_response(answer("ok"));
    let ctx = ActionContext::new().with("auth", json!({"uid": "u1"}));
    ai.generate()
        .prompt("x")
        .tools(["whoami"])
        .context(ctx)
        .await
        .unwrap();
    let out = model.requests()[1].messages[2]
        .tool_responses()
        .next()
        .unwrap()
        .output
        .clone();
    assert_eq!(out, Some(json!({"uid": "u1"})));
}

#[tokio::test]
async fn tools_by_value_need_no_registration() {
    let model = ProgrammableModel::new("pm");
    let ai = Genkit::builder()
        .model(model.clone())
        .default_model("pm")
        .build()
        .unwrap();
    let lookup: Tool<Word, usize> = typed_lookup();
    model.push_response(calls(&[("lookup", Some("1"), json!({"word": "xyz"}))]));
    model.push_response(answer("ok"));
    ai.generate().prompt("x").tool(&lookup).await.unwrap();
    assert_eq!(model.requests()[0].tools()[0].name, "lookup");
}

#[tokio::test]
async fn tool_definitions_reach_the_model() {
    let (ai, model) = instance(vec![ask_tool()]);
    model.push_response(answer("ok"));
    ai.generate()
        .prompt("x")
        .tools(["ask_question"])
        .await
        .unwrap();
    let defs = model.requests()[0].tools().to_vec();
    assert_eq!(
        defs[0].description,
        "Use this to ask the user a clarifying question"
    );
    let schema = defs[0].input_schema.as_ref().unwrap();
    assert_eq!(
        schema["properties"]["choices"]["description"],
        "the choices to display to the user"
    );
}

#[tokio::test]
async fn dropping_the_call_cancels_running_tools() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let (d, s) = (Arc::clone(&dropped), Arc::clone(&started));
    let hang = Tool::new("hang", "never ends", move |_: (), _ctx: ToolContext| {
        let guard = Guard(Arc::clone(&d));
        let s = Arc::clone(&s);
        async move {
            let _guard = guard;
            s.notify_one();
            std::future::pending::<()>().await;
            ToolResult::Ok(0)
        }
    });
    let (ai, model) = instance(vec![hang.into_tool()]);
    model.push_response(calls(&[("hang", Some("h"), json!({}))]));
    let call = ai.generate().prompt("x").tools(["hang"]).into_future();
    let handle = tokio::spawn(call);
    started.notified().await;
    handle.abort();
    let _ = handle.await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the tool's future was dropped with the call"
    );
}

#[tokio::test]
async fn multipart_tools_send_their_content() {
    let pic = Tool::dynamic_multipart(
        "pic",
        "a picture",
        json!({"type": "object"}),
        None,
        |_, _ctx| async {
            ToolResult::Ok(ToolOutput {
                output: json!("see image"),
                content: Some(vec![Part::media(
                    "https://x/cat.png",
                    Some("image/png".into()),
                )]),
            })
        },
    )
    .unwrap();
    let (ai, model) = instance(vec![pic.into_tool()]);
    model.push_response(calls(&[("pic", Some("p"), json!({}))]));
    model.push_response(answer("ok"));
    ai.generate().prompt("x").tools(["pic"]).await.unwrap();
    let resp = model.requests()[1].messages[2]
        .tool_responses()
        .next()
        .unwrap()
        .clone();
    assert_eq!(resp.content.unwrap().len(), 1);
}

#[tokio::test]
async fn dynamic_tool_outputs_are_checked_against_their_schema() {
    let liar = Tool::dynamic(
        "liar",
        "says int, returns string",
        json!({"type": "object"}),
        Some(json!({"type": "integer"})),
        |_, _ctx| async { ToolResult::Ok(json!("not a number")) },
    )
    .unwrap();
    let (ai, model) = instance(vec![liar.into_tool()]);
    model.push_response(calls(&[("liar", Some("l"), json!({}))]));
    let err = ai.generate().prompt("x").tools(["liar"]).await.unwrap_err();
    assert!(
        matches!(err, GenkitError::ToolOutputInvalid { .. }),
        "{err:?}"
    );
}

#[test]
fn public_handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<Genkit>();
    assert_send_sync::<GenerateResponse>();
    assert_send_sync::<Tool<String, String>>();
    assert_send_sync::<GenkitError>();
    let (ai, _) = instance(vec![]);
    assert_send(&ai.generate().prompt("x").into_future());
}
