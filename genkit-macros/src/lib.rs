//! The `#[tool]` attribute of genkit-rs: a plain Rust function becomes a tool the model can
//! call, with JSON schemas derived from its types and typed answers to its interrupts.
//!
//! Use it through `genkit-core`, which re-exports it (feature `macros`, on by default):
//! `use genkit_core::prelude::*;` brings `tool` into scope. Everything is documented on the
//! attribute: see [`macro@tool`].
//!
//! ```
//! use genkit_core::prelude::*;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Word {
//!     /// the word to reverse
//!     word: String,
//! }
//!
//! /// Look up how a word is spelled backwards.
//! #[tool]
//! async fn reverse(input: Word) -> ToolResult<String> {
//!     Ok(input.word.chars().rev().collect())
//! }
//!
//! # fn main() -> Result<(), GenkitError> {
//! let ai = Genkit::builder().tool(reverse).build()?;
//! # let _ = ai;
//! # Ok(()) }
//! ```
//!
//! The crate is cut the way `thiserror`'s and `clap`'s derives are: `ast` parses the item,
//! `attr` the arguments, `model` checks every rule into a validated model (collecting all the
//! errors), `expand` generates the tool, and `dummy` the stubs emitted beside the errors of a
//! rejected function, so that one mistake gives one error.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod ast;
mod attr;
mod doc;
mod dummy;
mod errors;
mod expand;
mod model;
mod tool;

use proc_macro::TokenStream;

/// Turns a function into a tool: a value the model can call, with typed interrupts.
///
/// ```
/// use genkit_core::prelude::*;
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize, JsonSchema)]
/// struct Questions {
///     /// the choices to display to the user
///     choices: Vec<String>,
///     /// when true, allow write-ins
///     allow_other: bool,
/// }
///
/// /// Use this to ask the user a clarifying question
/// #[tool]
/// async fn ask_question(input: Questions, ctx: ToolContext) -> ToolResult<String> {
///     ctx.interrupt(())
/// }
/// # let _ = ask_question;
/// ```
///
/// `ask_question` is now a tool, used by name and by value:
/// `Genkit::builder().tool(ask_question)` registers it, `.tools(["ask_question"])` or
/// `.tool(ask_question)` offers it to the model on a generate call. When it interrupts,
/// `ask_question.respond(&interrupt, "b".to_string())?` answers in its output type (another
/// type does not compile), `ask_question.approve(&interrupt).with_input(new_input).into_part()?`
/// re-runs it (optionally with a new input of its input type), and `interrupt.input::<Questions>()?` reads
/// what the model asked. A whole round trip, with a scripted model standing in for a real one:
///
/// ```
/// # use genkit_core::prelude::*;
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Deserialize, Serialize, JsonSchema)]
/// # struct Questions { choices: Vec<String>, allow_other: bool }
/// # /// Use this to ask the user a clarifying question
/// # #[tool]
/// # async fn ask_question(input: Questions, ctx: ToolContext) -> ToolResult<String> {
/// #     ctx.interrupt(())
/// # }
/// use genkit_core::testing::ProgrammableModel;
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), GenkitError> {
/// let model = ProgrammableModel::new("scripted");
/// let asks = json!({"choices": ["Alien", "Heat"], "allow_other": false});
/// let request = ToolRequest::new("ask_question", Some("q1".into()), asks);
/// model.push_response(ModelResponse::new(
///     Message::new(Role::Model, vec![Part::tool_request(request)]),
///     FinishReason::Stop,
/// ));
/// model.push_response(ModelResponse::new(Message::model("Correct!"), FinishReason::Stop));
///
/// let ai = Genkit::builder().model(model).default_model("scripted").tool(ask_question).build()?;
/// let interrupted = ai.generate().prompt("Ask me a movie trivia question.").tools(["ask_question"]).await?;
/// assert_eq!(interrupted.finish_reason(), Some(FinishReason::Interrupted));
///
/// let interrupt = &interrupted.interrupts()[0];
/// let question: Questions = interrupt.input()?;
/// let answer = ask_question.respond(interrupt, question.choices[0].clone())?;
/// // the resume carries the model and tools of the interrupted call over
/// let response = ai.resume(&interrupted).answers([answer]).await?;
/// assert_eq!(response.text(), "Correct!");
/// # Ok(()) }
/// ```
///
/// # The function
///
/// - **Parameters**: one input, of a type implementing `serde::Deserialize` and
///   `schemars::JsonSchema` (the model sends one JSON object: bundle several values in a
///   struct), optionally a `ToolContext`, by value, and any number of application states
///   `State<S>` (see below), in any order. The context and states are recognized by their
///   types' names, `ToolContext` and `State`. A function without an input parameter is a
///   tool without input: its input type is `()`, and its input schema an empty object.
/// - **The input is best a struct**: its field names and doc comments tell the model what to
///   send. A `String` or `u64` input compiles, and its schema is not an object; OpenAI
///   documents function parameters as an object schema, so the OpenAI plugin sends such a
///   tool's parameters wrapped (`{"input": ..}`) and unwraps the model's calls.
/// - **Return type**: `ToolResult<O>`, or any `Result<O, E>` whose error `?` would convert
///   into a `ToolError`: any `std::error::Error + Send + Sync + 'static`, `anyhow::Error`
///   (`anyhow::Result<O>` works), `String`, `&'static str`. `O` implements
///   `serde::Serialize` and `schemars::JsonSchema`. An interrupt is a `ToolError`
///   (`ctx.interrupt(..)` returns one), so a tool that interrupts returns `ToolResult<O>`.
/// - **`async fn` or `fn`**: a plain function runs on the async executor when the tool is
///   called, so it must not block (use `tokio::task::spawn_blocking` in an `async fn` for
///   that). The future of an `async fn` must be `Send`: tools of one turn run concurrently,
///   on any thread.
/// - Not `const`, `unsafe`, `extern`, generic (no type, lifetime or `impl Trait`
///   parameters: the schemas are derived from concrete types), nor a method (`self`).
///
/// The doc comment is the description the model reads, as rustdoc shows it: the lines of a
/// paragraph are joined with a space, paragraphs are separated by a blank line, and list
/// items and code blocks keep their line breaks. Doc comments on the fields of the input and
/// output types become the descriptions in their schemas (schemars does this). A tool needs
/// a description: a doc comment, or `description = "..."`.
///
/// # Application state: `State<S>`
///
/// A tool that needs the application's state (a database pool, a client, an account) takes
/// it as a `State<S>` parameter, as an axum handler does; the instance is given the value
/// with `Genkit::builder().state(value)` and clones it for every call. The instance checks
/// every registered tool's states when it is built, and a tool given to one generate call
/// before the model is called: a missing state is `GenkitError::MissingState`, not a
/// failure in the middle of the loop. `S` is `Clone + Send + Sync + 'static`.
///
/// ```
/// use genkit_core::prelude::*;
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Clone, Default)]
/// struct Bank(Arc<Mutex<u64>>);
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Deposit {
///     /// the amount, in euros
///     amount: u64,
/// }
///
/// /// Deposit money; returns the new balance.
/// #[tool]
/// async fn deposit(input: Deposit, State(bank): State<Bank>) -> ToolResult<u64> {
///     let mut balance = bank.0.lock().map_err(|_| ToolError::msg("poisoned"))?;
///     *balance += input.amount;
///     Ok(*balance)
/// }
///
/// # fn main() -> Result<(), GenkitError> {
/// let bank = Bank::default();
/// let ai = Genkit::builder().state(bank.clone()).tool(deposit).build()?;
/// # let _ = ai;
/// # Ok(()) }
/// ```
///
/// In a unit test, give the state by hand: `deposit::call(input, State(bank))`, or
/// `ToolContext::new(deposit::NAME).with_state(bank)` for a call through the tool.
///
/// # Attribute arguments
///
/// | argument | meaning |
/// |---|---|
/// | `name = "..."` | the tool name, instead of the function name (a raw `r#type` gives `type`); must match `^[a-zA-Z0-9_-]{1,64}$`, what model APIs accept |
/// | `description = "..."` | the description, instead of the doc comment (which still documents the Rust item) |
/// | `interrupt = Type` | the type of the tool's interrupt payload: the body's `ctx.interrupt(..)` takes only a `Type`, and `tool.payload(&interrupt)` reads it back as one; `Type` implements `Serialize` and `Deserialize` |
/// | `payload = expr` | for an interrupt-only tool with `interrupt = Type`: a `fn(&Input) -> Type` (a function path or a non-capturing closure) computing the payload from the input |
/// | `crate = "path"` | where `genkit_core` is, when the dependency is renamed or re-exported, like serde's `crate` (default `::genkit_core`) |
///
/// # Typed interrupts: `interrupt = P`
///
/// With `interrupt = P`, the body's context is a `TypedToolContext<P>` (the macro rebinds the
/// context parameter): `ctx.interrupt(payload)` accepts a `P` only, and everything else of
/// `ToolContext` is reached through `Deref` (`ctx.is_resumed()`, `ctx.resumed::<T>()`,
/// `&ctx` as a `&ToolContext`). The generated `payload(&interrupt)` method reads the payload
/// back as a `P`, checking that the interrupt is this tool's. An approval tool:
///
/// ```
/// use genkit_core::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Approval {
///     message: String,
/// }
///
/// #[derive(Deserialize, schemars::JsonSchema)]
/// struct Send {
///     /// the amount, in euros
///     amount: u64,
/// }
///
/// /// Send money to someone; amounts above 100 need the user's approval.
/// #[tool(interrupt = Approval)]
/// async fn send_money(input: Send, ctx: ToolContext) -> ToolResult<String> {
///     let amount = input.amount;
///     if amount > 100 && !ctx.is_resumed() {
///         // pause the loop; the application restarts the tool once the user approved
///         return ctx.interrupt(Approval { message: format!("Send {amount}?") });
///     }
///     Ok(format!("sent {amount}"))
/// }
///
/// fn on_interrupt(interrupt: &Interrupt) -> Result<Part, GenkitError> {
///     let approval: Approval = send_money.payload(interrupt)?;
///     println!("{}", approval.message);
///     // the user said yes: run the tool again, now resumed
///     send_money.approve(interrupt).into_part()
/// }
/// # let _ = on_interrupt;
/// ```
///
/// # Interrupt-only tools: a function without a body
///
/// A tool whose only job is to pause the loop and hand a question to the application (what
/// Genkit calls `defineInterrupt`) is declared by its signature alone, ended by `;`:
///
/// ```
/// use genkit_core::prelude::*;
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize, JsonSchema)]
/// struct Transfer {
///     to: String,
///     amount: u64,
/// }
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// struct Answer {
///     approved: bool,
/// }
///
/// /// Ask the user to confirm a transfer.
/// #[tool]
/// fn confirm(transfer: Transfer) -> Answer;
///
/// #[derive(Serialize, Deserialize)]
/// struct Prompt {
///     text: String,
/// }
///
/// fn prompt(t: &Transfer) -> Prompt {
///     Prompt { text: format!("Send {} to {}?", t.amount, t.to) }
/// }
///
/// /// Ask the user to confirm a transfer, with a prompt to show.
/// #[tool(interrupt = Prompt, payload = prompt)]
/// fn confirm_with_prompt(transfer: Transfer) -> Answer;
///
/// fn answer(interrupt: &Interrupt) -> Result<Part, GenkitError> {
///     let shown = confirm_with_prompt.payload(interrupt)?.text;
///     let _ = shown;
///     confirm_with_prompt.respond(interrupt, Answer { approved: true })
/// }
/// # let _ = (confirm, answer);
/// ```
///
/// The input type is what the model sends, the return type (`-> Answer`, or
/// `-> ToolResult<Answer>`) is the answer the application gives with `respond`, and is the
/// tool's output schema. The payload is `true`, or with `interrupt = P` and `payload = f`,
/// `f(&input)`. `async` is allowed and changes nothing; a context parameter is not.
///
/// Why this form: a function without a body is valid Rust *syntax*. rustc parses it, and
/// rejects it only after macro expansion (which is why `#[cfg(any())] fn f();` compiles), so
/// an attribute can give it a meaning. It states exactly what an interrupt is (typed input,
/// typed answer, no code), where an empty body `{}` would read as a function returning
/// nothing, a body of `ctx.interrupt(())` is boilerplate that never varies, and a declarative
/// `interrupt! { .. }` macro would not look like the function it stands for (nor format
/// with rustfmt).
///
/// # What it generates
///
/// For `async fn ask_question(input: Questions, ctx: ToolContext) -> ToolResult<String>`:
///
/// ```text
/// #[derive(Clone, Copy, Debug)]
/// struct ask_question;                      // the tool: a value and a type, same visibility
///
/// impl ask_question {
///     pub const NAME: &'static str = "ask_question";
///     pub async fn call(input: Questions, ctx: ToolContext) -> ToolResult<String> { .. }
///     // with `interrupt = P`:
///     pub fn payload(&self, interrupt: &Interrupt) -> Result<P, GenkitError> { .. }
/// }
/// impl Deref for ask_question { type Target = Tool<Questions, String>; .. }
/// impl TypedTool for ask_question { type Input = Questions; type Output = String; .. }
/// ```
///
/// - The **tool** is built once, on first use (a `std::sync::OnceLock` holding a
///   `genkit_core::Tool<I, O>`), schemas included; `Deref` exposes it
///   (`ask_question.definition()`, `ask_question.name()`).
/// - **`TypedTool`** gives the typed `respond`, `respond_with_metadata` and `restart` (import
///   the trait, or `genkit_core::prelude::*`), and makes the tool an `IntoTool`, accepted by
///   `.tool(..)`.
/// - **`call`** is the function as written (with the same parameters, in the same order),
///   for unit tests: `ask_question::call(input, ToolContext::new(ask_question::NAME)).await`.
///   An interrupt-only tool has no `call`.
/// - The function's doc comment documents the struct; its other attributes (`#[allow]`,
///   `#[tracing::instrument]`, ...) go on `call`, and `#[cfg]` on everything.
///
/// Since the tool is a unit struct, its name is taken in the module's value namespace, as a
/// function's is, with one difference: a `let` binding or parameter of the same name in that
/// module reads as the struct (`let ask_question = ..` does not compile there). Name the
/// binding otherwise. For the same reason the body calls itself recursively as
/// `ask_question::call(..)`.
///
/// Generated code reaches its dependencies through `genkit_core` only: a crate using
/// `#[tool]` needs `genkit-core`, plus `serde` and `schemars` for their derives. Under
/// another name, say so:
///
/// ```
/// extern crate genkit_core as genkit; // as `genkit = { package = "genkit-core" }` would
///
/// /// Say hello.
/// #[genkit::tool(crate = "genkit")]
/// async fn hello() -> genkit::ToolResult<String> {
///     Ok("hello".into())
/// }
/// # fn main() { let _ = hello; }
/// ```
///
/// # Unit tests
///
/// ```
/// use genkit_core::prelude::*;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Send {
///     amount: u64,
/// }
///
/// /// Send money; amounts above 100 need approval.
/// #[tool]
/// async fn send_money(input: Send, ctx: ToolContext) -> ToolResult<String> {
///     if input.amount > 100 && !ctx.is_resumed() {
///         return ctx.interrupt(serde_json::json!({ "amount": input.amount }));
///     }
///     Ok(format!("sent {}", input.amount))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ctx = ToolContext::new(send_money::NAME);
/// assert!(send_money::call(Send { amount: 500 }, ctx).await.unwrap_err().is_interrupt());
///
/// let resumed = ToolContext::new(send_money::NAME).with_resumed(true.into());
/// assert_eq!(send_money::call(Send { amount: 500 }, resumed).await.unwrap(), "sent 500");
/// # }
/// ```
///
/// # Compile errors
///
/// Each mistake is reported on the code that makes it, all of them in one build, and the
/// tool is still generated (or stubbed), so the code using it reports nothing more: an
/// unknown or repeated argument, a name model APIs reject, a missing description, a
/// parameter too many, `self`, generics, `const`/`unsafe`/`extern`, a return type that is
/// not a `Result`, an error type `?` would not convert, an input type without
/// `Deserialize`/`JsonSchema`, an output type without `Serialize`/`JsonSchema`, a payload
/// type without `Serialize`/`Deserialize`, a state type that is not `Clone + Send + Sync`, a
/// future that is not `Send`, and the
/// inconsistent uses of `interrupt` and `payload`.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::tool(args.into(), item.into()).into()
}
