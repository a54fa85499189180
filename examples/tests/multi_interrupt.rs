//! The `multi_interrupt` example: two interrupts and two normal tools in one turn; one
//! interrupt answered by respond, the other by restart; the normal tools' outputs replayed.

mod common;

use common::run;
use examples::multi_interrupt::{self, ask_user, book_table, Booking, BookingCheck, Question};
use genkit_core::prelude::*;
use genkit_core::protocol;
use genkit_core::testing::ProgrammableModel;
use serde_json::json;

const MULTI_INTERRUPT: &str = env!("CARGO_BIN_EXE_multi_interrupt");

async fn interrupted() -> (Genkit, ProgrammableModel, GenerateResponse) {
    let model = multi_interrupt::scripted_model();
    let ai = Genkit::builder().model(model.clone()).build().unwrap();
    let response = multi_interrupt::start(&ai, "scripted", multi_interrupt::PROMPT)
        .await
        .unwrap();
    (ai, model, response)
}

#[tokio::test]
async fn one_turn_pauses_on_two_interrupts_and_keeps_two_outputs_pending() {
    let (_, model, r) = interrupted().await;
    assert_eq!(r.finish_reason(), Some(FinishReason::Interrupted));
    assert_eq!(model.requests().len(), 1);

    // The interrupts, in request order.
    let names: Vec<&str> = r.interrupts().iter().map(Interrupt::name).collect();
    assert_eq!(names, ["ask_user", "book_table"]);
    let q: Question = r.interrupts()[0].input().unwrap();
    assert!(q.question.contains("How many people"));
    let check: BookingCheck = book_table.payload(&r.interrupts()[1]).unwrap();
    assert_eq!(check.summary, "Book Chez Nous for 2 on Friday at 20:00?");
    // Reading one tool's payload through another tool is caught.
    assert!(matches!(
        book_table.payload(&r.interrupts()[0]),
        Err(GenkitError::InterruptMismatch { .. })
    ));

    // The normal tools ran; their outputs wait on their requests.
    let pending = multi_interrupt::pending_outputs(&r);
    let pending_names: Vec<&str> = pending.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(pending_names, ["weather", "opening_hours"]);
    assert_eq!(pending[0].1["rain_percent"], 70);
}

#[tokio::test]
async fn respond_and_restart_together_resume_with_every_result_in_request_order() {
    let (ai, model, r) = interrupted().await;
    let [question, booking] = r.interrupts() else {
        panic!()
    };
    let answer = ask_user.respond(question, "4".to_string()).unwrap();
    let approve = book_table.restart(booking, true, None).unwrap();
    let done = multi_interrupt::resume(&ai, "scripted", &r, vec![answer], vec![approve])
        .await
        .unwrap();
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
    assert_eq!(
        model.requests().len(),
        2,
        "the resume called the model once"
    );

    let sent = model.last_request().unwrap().messages;
    let results = &sent.last().unwrap().content;
    let names: Vec<&str> = results
        .iter()
        .map(|p| p.as_tool_response().unwrap().name.as_str())
        .collect();
    assert_eq!(
        names,
        ["weather", "opening_hours", "ask_user", "book_table"]
    );
    // Replayed from the pending outputs, not run again.
    for replayed in &results[..2] {
        assert_eq!(
            replayed.metadata_value(protocol::SOURCE),
            Some(&json!("pending"))
        );
    }
    // The user's answer, marked as the application's.
    assert_eq!(
        results[2].as_tool_response().unwrap().output,
        Some(json!("4"))
    );
    assert!(results[2]
        .metadata_value(protocol::INTERRUPT_RESPONSE)
        .is_some());
    // The restarted tool ran and booked.
    let booked = results[3]
        .as_tool_response()
        .unwrap()
        .output
        .clone()
        .unwrap();
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["code"], "CHE-22000");
    // No request in the history is still marked as an interrupt.
    let requests = &sent[sent.len() - 2];
    assert!(requests
        .content
        .iter()
        .all(|p| p.metadata_value(protocol::INTERRUPT).is_none()));
}

#[tokio::test]
async fn a_restart_with_a_replaced_input_books_for_the_new_party() {
    let (ai, model, r) = interrupted().await;
    let [question, booking] = r.interrupts() else {
        panic!()
    };
    let mut bigger: Booking = booking.input().unwrap();
    bigger.people = 4;
    let answer = ask_user.respond(question, "4".to_string()).unwrap();
    let restart = book_table.restart(booking, true, Some(bigger)).unwrap();
    multi_interrupt::resume(&ai, "scripted", &r, vec![answer], vec![restart])
        .await
        .unwrap();
    let sent = model.last_request().unwrap().messages;
    let booked = sent.last().unwrap().content[3]
        .as_tool_response()
        .unwrap()
        .output
        .clone()
        .unwrap();
    assert_eq!(booked["booking"]["people"], 4);
    let amended = sent[sent.len() - 2].content[3].as_tool_request().unwrap();
    assert_eq!(amended.input.as_ref().unwrap()["people"], 4);
}

#[tokio::test]
async fn both_interrupts_can_be_answered_by_respond() {
    let (ai, model, r) = interrupted().await;
    let [question, booking] = r.interrupts() else {
        panic!()
    };
    let answers = vec![
        ask_user.respond(question, "just me".to_string()).unwrap(),
        book_table
            .respond(
                booking,
                multi_interrupt::BookingResult::NotBooked {
                    reason: "no".into(),
                },
            )
            .unwrap(),
    ];
    let done = multi_interrupt::resume(&ai, "scripted", &r, answers, vec![])
        .await
        .unwrap();
    assert!(done.text().contains("I did not book"), "{}", done.text());
    let sent = model.last_request().unwrap().messages;
    let not_booked = &sent.last().unwrap().content[3];
    assert_eq!(
        not_booked.as_tool_response().unwrap().output,
        Some(json!({"status": "not_booked", "reason": "no"}))
    );
}

#[tokio::test]
async fn leaving_one_interrupt_unanswered_is_an_error() {
    let (ai, model, r) = interrupted().await;
    let answer = ask_user
        .respond(&r.interrupts()[0], "4".to_string())
        .unwrap();
    let err = multi_interrupt::resume(&ai, "scripted", &r, vec![answer], vec![])
        .await
        .unwrap_err();
    let GenkitError::UnresolvedToolRequest { request, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.name, "book_table");
    assert_eq!(model.requests().len(), 1, "the model is not called");
}

#[tokio::test]
async fn answering_a_request_that_ran_is_an_error() {
    // weather finished in the interrupted turn: its output is already known.
    let (ai, _, r) = interrupted().await;
    let [question, booking] = r.interrupts() else {
        panic!()
    };
    let weather_request = r.message().unwrap().content[0]
        .as_tool_request()
        .unwrap()
        .clone();
    let stray = Part::tool_response(ToolResponse::new(
        "weather",
        weather_request.ref_.clone(),
        json!({"city": "Lyon", "day": "Friday", "summary": "sun", "rain_percent": 0}),
    ));
    let answer = ask_user.respond(question, "4".to_string()).unwrap();
    let restart = book_table.restart(booking, true, None).unwrap();
    let err = multi_interrupt::resume(&ai, "scripted", &r, vec![answer, stray], vec![restart])
        .await
        .unwrap_err();
    // weather's request is resolved by its pending output, so the stray answer matches
    // nothing that is still pending.
    let GenkitError::UnmatchedResume { kind, request, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*kind, request.name.as_str()), ("respond", "weather"));
}

#[test]
fn the_program_responds_to_one_interrupt_and_restarts_the_other() {
    let r = run(
        MULTI_INTERRUPT,
        &["--scripted", "--answer", "4", "--booking", "yes"],
    );
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(
        out.contains("The model called 4 tool(s) in one turn"),
        "{out}"
    );
    assert!(
        out.contains("2 finished and wait in the history as pending outputs; 2 paused the loop."),
        "{out}"
    );
    assert_eq!(out.matches(" (pending)").count(), 2, "{out}");
    assert!(out.contains("[responding to ask_user"), "{out}");
    assert!(out.contains("[restarting book_table"), "{out}");
    assert!(
        out.contains("[resuming: 1 response(s), 1 restart(s), 2 pending output(s) replayed]"),
        "{out}"
    );
    assert!(out.contains("[model] answered (stop)"), "{out}");
    assert!(out.contains("(code CHE-22000)"), "{out}");
}

#[test]
fn the_program_books_for_another_party_size() {
    let r = run(
        MULTI_INTERRUPT,
        &["--scripted", "--answer", "4", "--booking", "4"],
    );
    assert!(r.ok, "{}", r.dump());
    assert!(
        r.stdout.contains("with its input replaced: 4 people"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("booked for 4 on Friday"), "{}", r.stdout);
}
