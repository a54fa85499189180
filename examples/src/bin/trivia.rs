//! The seed scenario, against a real model: the model asks a movie trivia question through the
//! `ask_question` interrupt, you answer on stdin (or with `--answer`), and generation resumes
//! with your answer. Further interrupts loop, up to three rounds.
//!
//! ```sh
//! scripts/demo                                  # starts the local model server, then runs this
//! cargo run -p examples --bin trivia            # local server at GENKIT_LLM_URL or 127.0.0.1:18080
//! cargo run -p examples --bin trivia -- --answer "The Matrix"   # non-interactive
//! OPENAI_API_KEY=sk-... cargo run -p examples --bin trivia      # gpt-4o-mini on OpenAI
//! ```

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use genkit_core::{FinishReason, GenerateResponse, Genkit, GenkitError, Status, Tool, TypedTool};
use genkit_openai::OpenAI;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the model sends when it asks.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Questions {
    /// the question to ask
    question: String,
    /// the choices to display to the user
    choices: Vec<String>,
    /// when true, allow write-ins
    allow_other: bool,
}

/// Small models keep asking after every answer; the demo stops after this many rounds.
const MAX_ROUNDS: usize = 3;

const LOCAL_URL: &str = "http://127.0.0.1:18080/v1";
const LOCAL_MODEL: &str = "qwen2.5-coder-0.5b";
const OPENAI_MODEL: &str = "gpt-4o-mini";

const USAGE: &str = "\
usage: trivia [--answer TEXT]... [--local] [--model NAME] [--rounds N]

  --answer TEXT  answer the next question with TEXT instead of reading stdin
                 (repeatable; the last one answers any further questions)
  --local        use the local model server even if OPENAI_API_KEY is set
  --model NAME   the model id (default: gpt-4o-mini on OpenAI, GENKIT_LLM_MODEL or
                 qwen2.5-coder-0.5b locally)
  --rounds N     answer at most N questions (default 3)

Backend: OpenAI when OPENAI_API_KEY is set, otherwise the local server at
GENKIT_LLM_URL (default http://127.0.0.1:18080/v1; start it with scripts/local-llm start).";

#[derive(Debug)]
struct Args {
    answers: Vec<String>,
    local: bool,
    model: Option<String>,
    rounds: usize,
}

fn rounds(value: &str) -> Result<usize> {
    value
        .parse()
        .with_context(|| format!("--rounds needs a number, got '{value}'"))
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        answers: Vec::new(),
        local: false,
        model: None,
        rounds: MAX_ROUNDS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--answer" => args
                .answers
                .push(it.next().context("--answer needs a value")?),
            "--local" => args.local = true,
            "--model" => args.model = Some(it.next().context("--model needs a value")?),
            "--rounds" => args.rounds = rounds(&it.next().context("--rounds needs a value")?)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => match other.split_once('=') {
                Some(("--answer", v)) => args.answers.push(v.to_owned()),
                Some(("--model", v)) => args.model = Some(v.to_owned()),
                Some(("--rounds", v)) => args.rounds = rounds(v)?,
                _ => bail!("unknown argument '{other}'\n\n{USAGE}"),
            },
        }
    }
    Ok(args)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The Genkit instance with the chosen backend, and the full model name.
fn backend(args: &Args) -> Result<(Genkit, String, bool)> {
    let (plugin, model, local) = if env("OPENAI_API_KEY").is_some() && !args.local {
        let model = args
            .model
            .clone()
            .unwrap_or_else(|| OPENAI_MODEL.to_owned());
        (OpenAI::from_env()?, format!("openai/{model}"), false)
    } else {
        let url = env("GENKIT_LLM_URL").unwrap_or_else(|| LOCAL_URL.to_owned());
        let model = args
            .model
            .clone()
            .or_else(|| env("GENKIT_LLM_MODEL"))
            .unwrap_or_else(|| LOCAL_MODEL.to_owned());
        let plugin = OpenAI::builder()
            .name("local")
            .base_url(url)
            .timeout(std::time::Duration::from_secs(180))
            .build()?;
        (plugin, format!("local/{model}"), true)
    };
    let ai = Genkit::builder()
        .plugin(plugin)
        .default_model(&model)
        .build()?;
    Ok((ai, model, local))
}

/// Answers come from `--answer` first (the last one repeats), then from stdin.
struct Answers {
    given: Vec<String>,
    next: usize,
}

impl Answers {
    fn next(&mut self, q: &Questions) -> Result<String> {
        let raw = if self.given.is_empty() {
            print!("Your answer (a number or text): ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            let stdin = std::io::stdin();
            if stdin.lock().read_line(&mut line)? == 0 {
                bail!("stdin closed before an answer was given (pass --answer \"...\" to run without a terminal)");
            }
            if !stdin.is_terminal() {
                println!("{}", line.trim()); // piped input is not echoed
            }
            line.trim().to_owned()
        } else {
            let i = self.next.min(self.given.len() - 1);
            self.next += 1;
            let a = self.given[i].clone();
            println!("Your answer: {a}");
            a
        };
        // "2" picks the second choice.
        Ok(match raw.parse::<usize>() {
            Ok(n) if (1..=q.choices.len()).contains(&n) => q.choices[n - 1].clone(),
            _ => raw,
        })
    }
}

/// Adds the hint a newcomer needs when the local server is not there.
fn explain(e: GenkitError, local: bool) -> anyhow::Error {
    let unreachable = matches!(e.status(), Status::Unavailable | Status::DeadlineExceeded);
    let err = anyhow::Error::new(e);
    if local && unreachable {
        err.context(
            "the local model server did not answer; start it with `scripts/local-llm start` \
             (or run `scripts/demo`, which does)",
        )
    } else {
        err
    }
}

/// Prints what the model did in its last turn.
fn show(response: &GenerateResponse) {
    match response.finish_reason() {
        Some(FinishReason::Interrupted) => {
            for i in response.interrupts() {
                println!(
                    "\n[model] called {} (call id {})",
                    i.name(),
                    i.ref_().unwrap_or("-")
                );
            }
        }
        reason => {
            let text = response.text();
            let text = text.trim();
            // A small model can ramble up to the token cap; the gist fits in a few lines.
            let shown = match text.char_indices().nth(400) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None if text.is_empty() => "(no text)".to_owned(),
                None => text.to_owned(),
            };
            println!(
                "\n[model] answered ({}): {shown}",
                reason.map_or("unknown", FinishReason::as_str)
            );
        }
    }
    if let Some(u) = response.usage() {
        if let (Some(i), Some(o)) = (u.input_tokens, u.output_tokens) {
            println!("        ({i} tokens in, {o} out)");
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let (ai, model, local) = backend(&args)?;
    let ask_question: Tool<Questions, String> = Tool::interrupt(
        "ask_question",
        "Use this to ask the user a clarifying question",
    );
    // Greedy decoding; the cap keeps a rambling small model short.
    let config = json!({"temperature": 0, "maxOutputTokens": 256});
    let mut answers = Answers {
        given: args.answers.clone(),
        next: 0,
    };

    println!("Model: {model}");
    println!("[you] Ask me a movie trivia question.");
    let mut response = ai
        .generate()
        .prompt("Ask me a movie trivia question.")
        .tool(ask_question.clone())
        .config(&config)
        .await
        .map_err(|e| explain(e, local))?;
    show(&response);

    for round in 1..=args.rounds {
        if response.finish_reason() != Some(FinishReason::Interrupted) {
            return Ok(());
        }
        let mut replies = Vec::new();
        for interrupt in response.interrupts() {
            let q: Questions = interrupt.input()?;
            println!("\nQuestion {round}: {}", q.question);
            for (n, choice) in q.choices.iter().enumerate() {
                println!("  {}. {choice}", n + 1);
            }
            if q.allow_other {
                println!("  (or write your own answer)");
            }
            let answer = answers.next(&q)?;
            replies.push(ask_question.respond(interrupt, answer)?);
        }
        println!("\n[resuming with your answer]");
        response = ai
            .generate()
            .messages(response.messages())
            .tool_responses(replies)
            .tool(ask_question.clone())
            .config(&config)
            .await
            .map_err(|e| explain(e, local))?;
        show(&response);
    }
    if response.finish_reason() == Some(FinishReason::Interrupted) {
        println!(
            "\nStopping after {} round(s): the model keeps asking instead of answering \
             (small models tend to).",
            args.rounds
        );
    }
    Ok(())
}
