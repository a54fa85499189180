//! Terminal input and output shared by the example programs: answers from flags or stdin, and
//! a short account of what the model did.

use std::io::{self, BufRead, IsTerminal, Write};

use futures::StreamExt;
use genkit_core::agent::{AgentResponse, AgentTurnStream};
use genkit_core::{
    protocol, FinishReason, GenerateBuilder, GenerateResponse, GenerateResponseChunk, GenkitError,
    Message, Role,
};
use serde_json::Value;

use crate::unstreamed_retry::UnstreamedRetry;

/// Answers to the program's questions: the ones given on the command line first (the last
/// one repeats), then lines read from stdin.
///
/// ```
/// # use examples::console::Answers;
/// let mut answers = Answers::new(vec!["yes".into(), "no".into()]);
/// assert_eq!(answers.next("Send it?")?, "yes");
/// assert_eq!(answers.next("Really?")?, "no");
/// assert_eq!(answers.next("And again?")?, "no");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Answers {
    given: Vec<String>,
    next: usize,
}

impl Answers {
    /// Answers given up front; with none, every answer is read from stdin.
    pub fn new(given: Vec<String>) -> Self {
        Self { given, next: 0 }
    }

    /// Prints `prompt`, then returns the next given answer or a line of stdin (trimmed).
    /// Fails when stdin is closed before an answer comes.
    pub fn next(&mut self, prompt: &str) -> io::Result<String> {
        print!("{prompt} ");
        if !self.given.is_empty() {
            let i = self.next.min(self.given.len() - 1);
            self.next += 1;
            let answer = self.given[i].clone();
            println!("{answer}");
            return Ok(answer);
        }
        io::stdout().flush()?;
        let mut line = String::new();
        let stdin = io::stdin();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stdin closed before an answer was given (pass the answers as flags to run \
                 without a terminal; see --help)",
            ));
        }
        if !stdin.is_terminal() {
            // piped input is not echoed
            println!("{}", line.trim());
        }
        Ok(line.trim().to_owned())
    }
}

/// At most `max` characters of `text`, trimmed, with `...` when cut: a small model can
/// ramble up to its token cap, and the gist fits in a few lines.
///
/// ```
/// assert_eq!(examples::console::clip("  abcdef ", 3), "abc...");
/// assert_eq!(examples::console::clip("", 3), "(no text)");
/// ```
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None if text.is_empty() => "(no text)".to_owned(),
        None => text.to_owned(),
    }
}

/// Prints what the model did in the last turn of `response`: the interrupts it hit, or its
/// answer and why it stopped.
pub fn show_turn(response: &GenerateResponse) {
    show(response, false);
}

/// [`show_turn`] for a response of [`streamed`]: on a terminal the answer's text is already
/// on the screen, so only why the model stopped is printed.
pub fn show_streamed_turn(response: &GenerateResponse) {
    show(response, io::stdout().is_terminal());
}

fn show(response: &GenerateResponse, text_shown: bool) {
    match response.finish_reason() {
        Some(FinishReason::Stop | FinishReason::Length) if text_shown => println!(
            "\n[model] answered ({})",
            response
                .finish_reason()
                .as_ref()
                .map_or("unknown", FinishReason::as_str),
        ),
        Some(FinishReason::Interrupted) => {
            for i in response.interrupts() {
                println!(
                    "\n[model] called {} (call id {})",
                    i.name(),
                    i.ref_().unwrap_or("-")
                );
            }
        }
        reason => println!(
            "\n[model] answered ({}): {}",
            reason.as_ref().map_or("unknown", FinishReason::as_str),
            clip(&response.text(), 400)
        ),
    }
    if let Some(u) = response.usage() {
        if let (Some(i), Some(o)) = (u.input_tokens, u.output_tokens) {
            println!("        ({i} tokens in, {o} out)");
        }
    }
}

/// One line per tool call of a conversation, `name input -> output`, in order. A tool
/// that finished in an interrupted turn shows its pending output; an interrupt not answered
/// yet shows as paused.
///
/// ```
/// use genkit_core::prelude::*;
/// use serde_json::json;
///
/// let messages = vec![
///     Message::user("How long is 'tea'?"),
///     Message::new(Role::Model, vec![Part::tool_request(ToolRequest::new("length", Some("0".into()), json!("tea")))]),
///     Message::new(Role::Tool, vec![Part::tool_response(ToolResponse::new("length", Some("0".into()), json!(3)))]),
/// ];
/// assert_eq!(examples::console::tool_steps(&messages), ["length \"tea\" -> 3"]);
/// ```
pub fn tool_steps<M: std::borrow::Borrow<Message>>(messages: &[M]) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, m) in messages.iter().map(std::borrow::Borrow::borrow).enumerate() {
        for part in &m.content {
            let Some(request) = part.as_tool_request() else {
                continue;
            };
            let answered = messages
                .get(i + 1)
                .map(std::borrow::Borrow::<Message>::borrow)
                .filter(|next| next.role == Role::Tool)
                .and_then(|next| {
                    next.tool_responses()
                        .find(|r| r.name == request.name && r.ref_ == request.ref_)
                });
            let output = match (answered, part.metadata_value(protocol::PENDING_OUTPUT)) {
                (Some(r), _) => r.output.clone().unwrap_or(Value::Null).to_string(),
                (None, Some(pending)) => format!("{pending} (pending)"),
                (None, None) => "(paused)".to_owned(),
            };
            let input = request.input.clone().unwrap_or(Value::Null);
            lines.push(format!("{} {input} -> {output}", request.name));
        }
    }
    lines
}

/// A waiting indicator with the elapsed time, on stderr, while a model call runs: only when
/// stderr is a terminal (a pipe or a test gets nothing). Dropping it clears the line.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let waiting = examples::console::Waiting::start("the model");
/// // ... the model call ...
/// drop(waiting);
/// # }
/// ```
#[derive(Debug)]
pub struct Waiting {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Waiting {
    /// Starts the indicator, saying what is awaited (`"waiting for {what}"`).
    pub fn start(what: &str) -> Self {
        if !io::stderr().is_terminal() {
            return Self { task: None };
        }
        let what = what.to_owned();
        let task = tokio::spawn(async move {
            const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
            let started = std::time::Instant::now();
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
            for frame in FRAMES.iter().cycle() {
                tick.tick().await;
                let secs = started.elapsed().as_secs_f32();
                eprint!("\r{frame} waiting for {what}... {secs:.0}s ");
                let _ = io::stderr().flush();
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // clear the indicator's line
            eprint!("\r{:60}\r", "");
            let _ = io::stderr().flush();
        }
    }
}

/// Awaits `call` with a [`Waiting`] indicator for `what` shown meanwhile.
pub async fn waiting_for<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    let _waiting = Waiting::start(what);
    call.await
}

/// Runs `call` streamed and returns its response. On a terminal the model's text is printed
/// as it arrives (each model message on its own `[model]` line), with a [`Waiting`]
/// indicator until the first text comes; elsewhere (a pipe, a test) nothing is printed here
/// and [`show_streamed_turn`] prints the whole answer.
///
/// The call goes through [`UnstreamedRetry`]: a streamed call that the local server fails
/// before any text is asked again without streaming.
///
/// ```
/// use examples::console::{show_streamed_turn, streamed};
/// use genkit_core::prelude::*;
/// use genkit_core::testing::EchoModel;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let ai = Genkit::builder().model(EchoModel::new("echo")).default_model("echo").build()?;
/// let response = streamed("the model", ai.generate().prompt("hello")).await?;
/// show_streamed_turn(&response);
/// assert!(response.text().contains("hello"));
/// # Ok(()) }
/// ```
pub async fn streamed(what: &str, call: GenerateBuilder) -> Result<GenerateResponse, GenkitError> {
    let mut stream = call.middleware(UnstreamedRetry).stream();
    let mut printer = LiveText::start(what);
    while let Some(chunk) = stream.next().await {
        printer.chunk(&chunk);
    }
    let text_shown = printer.finish();
    let response = stream.response().await?;
    // a call answered unstreamed (UnstreamedRetry's second try) sent no chunks: its text is
    // shown here, since show_streamed_turn leaves it out on a terminal
    let text = response.text();
    if io::stdout().is_terminal() && !text_shown && !text.is_empty() {
        println!("\n[model] {}", clip(&text, 400));
    }
    Ok(response)
}

/// [`streamed`] for an agent's turn (`chat.send_stream(..)`, `chat.resume_stream(..)`): on
/// a terminal the model chunks' text is printed as it arrives, with a [`Waiting`] indicator
/// until the first text. Answers the turn's response and whether its text is on the screen
/// (false off a terminal, or when no text came in chunks: the caller prints the answer then).
///
/// ```
/// use examples::console::streamed_turn;
/// use genkit_core::agent::{Agent, PromptSpec};
/// use genkit_core::prelude::*;
/// use genkit_core::testing::EchoModel;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), GenkitError> {
/// let agent: Agent = Agent::prompt("echo", PromptSpec::new().model("echo")).build();
/// let ai = Genkit::builder().model(EchoModel::new("echo")).agent(agent.clone()).build()?;
/// let mut chat = agent.chat(&ai);
/// let (response, shown) = streamed_turn("the agent", chat.send_stream("hello")).await?;
/// assert!(response.text().contains("hello"));
/// assert!(!shown, "a test's stdout is not a terminal");
/// # Ok(()) }
/// ```
pub async fn streamed_turn<S>(
    what: &str,
    mut turn: AgentTurnStream<'_, S>,
) -> Result<(AgentResponse<S>, bool), GenkitError>
where
    S: serde::de::DeserializeOwned + Send + 'static,
{
    let mut printer = LiveText::start(what);
    while let Some(chunk) = turn.next().await {
        if let Some(model) = &chunk.model_chunk {
            printer.chunk(model);
        }
    }
    let text_shown = printer.finish();
    Ok((turn.response().await?, text_shown))
}

/// Prints model chunks' text as it comes, on a terminal only: each model message on its own
/// `[model]` line, the [`Waiting`] indicator until the first text.
struct LiveText {
    live: bool,
    waiting: Option<Waiting>,
    message: Option<Option<u32>>,
}

impl LiveText {
    fn start(what: &str) -> Self {
        Self {
            live: io::stdout().is_terminal(),
            waiting: Some(Waiting::start(what)),
            message: None,
        }
    }

    fn chunk(&mut self, chunk: &GenerateResponseChunk) {
        // the aggregated repeat of an interrupted message adds no text
        if !self.live || chunk.aggregated == Some(true) {
            return;
        }
        let text = chunk.text();
        if text.is_empty() {
            return;
        }
        drop(self.waiting.take());
        if self.message != Some(chunk.index) {
            self.message = Some(chunk.index);
            print!("\n[model] ");
        }
        print!("{text}");
        let _ = io::stdout().flush();
    }

    /// Ends the output; true when some text was printed.
    fn finish(mut self) -> bool {
        drop(self.waiting.take());
        if self.message.is_some() {
            println!();
        }
        self.message.is_some()
    }
}
