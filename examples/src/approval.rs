//! Human in the loop: a tool that acts only after the user confirms.
//!
//! `send_payment` moves real (well, in-memory) money, so it never pays on the model's word
//! alone. Its first run pauses the loop with a [`Confirmation`] for the user. The application
//! then either
//!
//! - **restarts** the tool with an [`Approval`]: the tool runs again, sees it was resumed,
//!   and pays;
//! - **restarts it with a replaced input**: approved, but for another amount; the tool pays
//!   that amount, and the history is amended so that the model sees what really ran;
//! - or **responds** in the tool's place with [`PaymentResult::Declined`]: the tool never
//!   runs again and nothing is paid.
//!
//! The tool needs the bank, application state: `send_payment` takes it as a
//! [`State<Bank>`](genkit_core::State) parameter, and the instance is given the bank with
//! `Genkit::builder().state(bank)` (the build fails if it is not).
//!
//! One approval pays once. After the user's answer the model only reports: the resume offers
//! no tool call ([`ToolChoice::None`]), so a small model that would call `send_payment` again
//! (and be approved again by a repeated `--decision yes`) cannot pay twice.
//!
//! The approval is only as trustworthy as the history it arrives with: a client that holds the
//! paused conversation could inject a payment request the model never made and restart it
//! "approved". When the history travels through a client, seal it
//! ([`genkit_core::HistorySeal`] on the instance: a changed history is refused before any tool
//! runs), or keep it on the server; see `docs/resume-across-processes.md`, "Who may resume what".
//!
//! ```
//! use examples::approval::{self, send_payment, Approval, Bank, Confirmation};
//! use genkit_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), GenkitError> {
//! let bank = Bank::new(500);
//! let ai = Genkit::builder().model(approval::scripted_model()).state(bank.clone()).build()?;
//!
//! let interrupted = approval::start(&ai, "scripted", approval::PROMPT).await?;
//! let interrupt = &interrupted.interrupts()[0];
//! let asked: Confirmation = interrupt.payload()?;
//! assert_eq!(asked.amount, 40);
//! assert!(bank.payments().is_empty(), "nothing is paid before the user says yes");
//!
//! let approve = send_payment.approve(interrupt).resumed(Approval { approved_by: "me".into() });
//! let done = approval::resume(&ai, &interrupted, vec![approve.into_part()?]).await?;
//! assert_eq!(done.finish_reason(), Some(FinishReason::Stop));
//! assert_eq!(bank.balance(), 460);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};

use genkit_core::prelude::*;
use genkit_core::testing::ProgrammableModel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model_choice::steady_config;
use crate::scripted::{calls, first_prompt, last_outputs, reply};

/// What the user asks for in the program, unless told otherwise.
pub const PROMPT: &str = "Pay Alice 40 euros for the concert tickets.";

/// The system prompt: who the model is and which tool it has.
pub const SYSTEM: &str = "You are a banking assistant. To pay someone, call send_payment \
    with the recipient, the amount in whole euros and a short memo. The tool asks the user \
    to confirm; then report in one sentence what it says, with the amount and the recipient.";

/// A payment to make.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Payment {
    /// who receives the money
    pub to: String,
    /// the amount, in whole euros
    pub amount: u64,
    /// what the payment is for
    pub memo: String,
}

/// What the tool tells the model: its output.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PaymentResult {
    /// The money was sent.
    Sent {
        /// the bank's receipt number
        receipt: String,
        /// who received it
        to: String,
        /// how much was sent
        amount: u64,
        /// the amount the model had asked for, when the user changed it
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changed_from: Option<u64>,
    },
    /// The user said no; nothing was sent.
    Declined {
        /// why, in the user's words
        reason: String,
    },
    /// The bank refused; nothing was sent.
    Failed {
        /// what went wrong
        reason: String,
    },
}

/// The question the tool asks before paying: its interrupt payload.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Confirmation {
    /// who would receive the money
    pub to: String,
    /// how much
    pub amount: u64,
    /// what for
    pub memo: String,
    /// the balance after paying
    pub balance_after: i64,
}

/// What the application passes when it restarts the tool: the restart metadata, which the
/// tool reads with `ctx.resumed::<Approval>()`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Approval {
    /// who approved
    pub approved_by: String,
}

/// A payment the bank made.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The receipt number.
    pub receipt: String,
    /// The payment that ran (after any change the user made).
    pub payment: Payment,
    /// Who approved it.
    pub approved_by: String,
}

#[derive(Debug)]
struct Ledger {
    balance: u64,
    sent: Vec<Sent>,
}

/// An account, in memory: the application state the tool acts on. Clones share it.
#[derive(Debug, Clone)]
pub struct Bank {
    ledger: Arc<Mutex<Ledger>>,
}

impl Bank {
    /// An account holding `balance` euros.
    pub fn new(balance: u64) -> Self {
        Self {
            ledger: Arc::new(Mutex::new(Ledger {
                balance,
                sent: Vec::new(),
            })),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The balance, in euros.
    pub fn balance(&self) -> u64 {
        self.ledger().balance
    }

    /// The payments made so far.
    pub fn payments(&self) -> Vec<Sent> {
        self.ledger().sent.clone()
    }

    fn pay(&self, payment: &Payment, approved_by: &str) -> Result<String, String> {
        let mut ledger = self.ledger();
        if payment.amount > ledger.balance {
            return Err(format!(
                "insufficient funds: the balance is {} euros",
                ledger.balance
            ));
        }
        ledger.balance -= payment.amount;
        let receipt = format!("R-{:04}", ledger.sent.len() + 1);
        ledger.sent.push(Sent {
            receipt: receipt.clone(),
            payment: payment.clone(),
            approved_by: approved_by.to_owned(),
        });
        Ok(receipt)
    }
}

/// Send money from the user's account. The user is asked to confirm first.
// (The doc comment above is what the model reads. The typed context only accepts a
// [`Confirmation`] as the interrupt payload; the bank is the instance's application state.)
#[tool(interrupt = Confirmation)]
pub fn send_payment(
    payment: Payment,
    ctx: ToolContext,
    State(bank): State<Bank>,
) -> ToolResult<PaymentResult> {
    // First run: not resumed. Pause the loop and let the user decide.
    let Some(approval) = ctx.resumed::<Approval>()? else {
        return ctx.interrupt(Confirmation {
            balance_after: bank.balance() as i64 - payment.amount as i64,
            to: payment.to,
            amount: payment.amount,
            memo: payment.memo,
        });
    };
    // Restarted with an approval. If the user changed the input, the original is still
    // known.
    let original: Option<Payment> = ctx.original_input()?;
    Ok(match bank.pay(&payment, &approval.approved_by) {
        Ok(receipt) => PaymentResult::Sent {
            receipt,
            to: payment.to,
            amount: payment.amount,
            changed_from: original.map(|p| p.amount),
        },
        Err(reason) => PaymentResult::Failed { reason },
    })
}

/// What the user decided about one payment.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Pay as asked: restart the tool with an approval.
    Approve,
    /// Pay, but this amount: restart the tool with an approval and a replaced input.
    ApproveAmount(u64),
    /// Do not pay: answer in the tool's place, without running it.
    Decline(String),
}

impl Decision {
    /// Reads what the user typed: `y`/`yes`, `n`/`no` (or anything else starting with `n`,
    /// as the reason), or an amount.
    ///
    /// ```
    /// # use examples::approval::Decision;
    /// assert_eq!(Decision::parse("yes"), Some(Decision::Approve));
    /// assert_eq!(Decision::parse("25"), Some(Decision::ApproveAmount(25)));
    /// assert!(matches!(Decision::parse("no"), Some(Decision::Decline(_))));
    /// assert_eq!(Decision::parse("perhaps"), None);
    /// ```
    pub fn parse(typed: &str) -> Option<Decision> {
        let t = typed.trim();
        let lower = t.to_lowercase();
        if let Ok(amount) = t.parse::<u64>() {
            return Some(Decision::ApproveAmount(amount));
        }
        match lower.as_str() {
            "y" | "yes" | "ok" | "approve" => Some(Decision::Approve),
            "n" | "no" => Some(Decision::Decline("the user said no".into())),
            _ if lower.starts_with("no") => Some(Decision::Decline(t.to_owned())),
            _ => None,
        }
    }
}

/// The answer to one interrupt: a respond part or a restart part.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Goes to `.tool_responses(..)`.
    Respond(Part),
    /// Goes to `.tool_restarts(..)`.
    Restart(Part),
}

/// Turns the user's decision about `interrupt` into the answer for the resume.
pub fn answer(
    interrupt: &Interrupt,
    decision: &Decision,
    user: &str,
) -> Result<Reply, GenkitError> {
    let approval = Approval {
        approved_by: user.to_owned(),
    };
    Ok(match decision {
        Decision::Approve => Reply::Restart(
            send_payment
                .approve(interrupt)
                .resumed(approval)
                .into_part()?,
        ),
        Decision::ApproveAmount(amount) => {
            let mut payment: Payment = interrupt.input()?;
            payment.amount = *amount;
            let restart = send_payment.approve(interrupt).resumed(approval);
            Reply::Restart(restart.with_input(payment).into_part()?)
        }
        Decision::Decline(reason) => Reply::Respond(send_payment.respond(
            interrupt,
            PaymentResult::Declined {
                reason: reason.clone(),
            },
        )?),
    })
}

/// Asks the model to act on `prompt`; it should call `send_payment`, which pauses the loop.
/// The instance must hold the [`Bank`] as its state.
pub fn start(ai: &Genkit, model: &str, prompt: &str) -> GenerateBuilder {
    ai.generate()
        .model(model)
        .system(SYSTEM)
        .prompt(prompt)
        .tool(send_payment)
        // this assistant only makes payments: its first turn is the call (the user approves
        // or declines it)
        .tool_choice(ToolChoice::Required)
        .config(steady_config(256))
}

/// Resumes with the answers (respond and restart parts, one per pending interrupt); model,
/// tool and config carry over from the interrupted call. The model may not call a tool
/// again: it reports what happened, and one approval pays at most once.
pub fn resume(ai: &Genkit, interrupted: &GenerateResponse, answers: Vec<Part>) -> GenerateBuilder {
    ai.resume(interrupted)
        .answers(answers)
        .tool_choice(ToolChoice::None)
}

/// The payment a prompt like [`PROMPT`] asks for: `Pay <name> <amount> ... for <memo>`.
fn payment_in(prompt: &str) -> Payment {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let to = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("pay"))
        .and_then(|i| words.get(i + 1))
        .map_or("Alice", |w| w.trim_matches(|c: char| !c.is_alphanumeric()));
    let amount = words
        .iter()
        .find_map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or(40);
    let memo = prompt
        .split_once(" for ")
        .map_or("payment", |(_, m)| m.trim_end_matches('.'));
    Payment {
        to: to.to_owned(),
        amount,
        memo: memo.to_owned(),
    }
}

/// A model that plays the scenario without a server: it calls `send_payment` with the
/// payment the prompt asks for, then reports what the tool said.
pub fn scripted_model() -> ProgrammableModel {
    let model = ProgrammableModel::new("scripted");
    model.set_handler(|request| {
        let outputs = last_outputs(request);
        let Some(result) = outputs.get("send_payment") else {
            return Ok(calls([(
                "send_payment",
                json!(payment_in(&first_prompt(request))),
            )]));
        };
        let result = PaymentResult::deserialize(result)
            .map_err(|e| GenkitError::json("send_payment output", e))?;
        Ok(reply(match result {
            PaymentResult::Sent {
                receipt,
                to,
                amount,
                changed_from: None,
            } => format!("Done: I sent {amount} euros to {to} (receipt {receipt})."),
            PaymentResult::Sent {
                receipt,
                to,
                amount,
                changed_from: Some(asked),
            } => format!(
                "Done: I sent {amount} euros to {to}, not {asked} as first planned \
                 (receipt {receipt})."
            ),
            PaymentResult::Declined { reason } => {
                format!("OK, I did not send anything ({reason}).")
            }
            PaymentResult::Failed { reason } => format!("The payment failed: {reason}."),
        }))
    });
    model
}
