//! The `trivia_prompt` example: the seed scenario from `prompts/trivia.prompt`, interrupted and
//! resumed through the prompt with the scripted model, as a library and as the program.

mod common;

use common::run;
use examples::trivia::{self, ask_question, Questions};
use examples::trivia_prompt;
use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;

const TRIVIA_PROMPT: &str = env!("CARGO_BIN_EXE_trivia_prompt");

fn scripted() -> (Genkit, ProgrammableModel) {
    let model = trivia::scripted_model();
    let library = trivia_prompt::library().unwrap();
    let ai = trivia_prompt::configure(Genkit::builder().model(model.clone()), &library)
        .build()
        .unwrap();
    library.check(&ai).unwrap();
    (ai, model)
}

#[tokio::test]
async fn the_prompt_file_asks_and_the_resume_goes_through_the_prompt() {
    let (ai, model) = scripted();
    let interrupted = trivia_prompt::start(&ai, "scripted", "movie")
        .await
        .unwrap();
    assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
    let first = &model.requests()[0];
    // the prompt file's template, input default, tool and config reached the model
    assert_eq!(first.messages.len(), 1);
    assert_eq!(first.messages[0].text(), trivia::PROMPT);
    assert_eq!(first.tools.as_ref().unwrap()[0].name, "ask_question");
    assert_eq!(first.config.as_ref().unwrap()["maxOutputTokens"], 256);

    let interrupt = &interrupted.interrupts()[0];
    let q: Questions = interrupt.input().unwrap();
    assert_eq!(q, trivia::scripted_question());
    let answer = ask_question
        .respond(interrupt, q.choices[0].clone())
        .unwrap();
    let done = trivia_prompt::resume(&ai, "scripted", &interrupted, vec![answer])
        .await
        .unwrap();
    assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
    assert!(done.text().starts_with("Correct!"), "{}", done.text());
    let second = &model.requests()[1];
    let roles: Vec<Role> = second.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Model, Role::Tool],
        "one user message, then the request and the answer"
    );
}

#[tokio::test]
async fn the_topic_is_the_prompts_input() {
    let (ai, model) = scripted();
    trivia_prompt::start(&ai, "scripted", "space")
        .await
        .unwrap();
    assert_eq!(
        model.requests()[0].messages[0].text(),
        "Ask me a space trivia question."
    );
}

#[test]
fn the_program_plays_a_round_through_the_prompt_with_the_scripted_model() {
    let r = run(TRIVIA_PROMPT, &["--scripted", "--answer", "1"]);
    assert!(r.ok, "{}", r.dump());
    let out = &r.stdout;
    assert!(out.contains("Prompts from "), "{out}");
    assert!(out.contains("trivia"), "{out}");
    assert!(out.contains("[model] called ask_question"), "{out}");
    assert!(out.contains("  1. The Terminator"), "{out}");
    assert!(out.contains("[resuming through the prompt]"), "{out}");
    assert!(out.contains("[model] answered (stop): Correct!"), "{out}");
}
