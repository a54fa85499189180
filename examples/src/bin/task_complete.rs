//! Leaving an autonomous task: the model works through several tools on its own and ends by
//! calling `done`, whose input is the typed result.
//!
//! ```sh
//! cargo run -p examples --bin task_complete -- --scripted
//! cargo run -p examples --bin task_complete -- --task "Find the warehouse that can deliver 10 teapots to Lyon soonest." --scripted
//! OPENAI_API_KEY=sk-... cargo run -p examples --bin task_complete
//! ```
//!
//! The logic lives in `examples::task_complete`; this file is the terminal around it.

use anyhow::{bail, Result};
use clap::Parser;
use examples::console::{clip, streamed, tool_steps};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::task_complete::{self, Outcome};

/// An autonomous task: the model works through its tools and ends by calling `done`.
#[derive(Debug, Parser)]
#[command(name = "task_complete", after_help = model_choice::MODEL_HELP)]
struct Args {
    /// The task
    #[arg(long, value_name = "TEXT", default_value = task_complete::TASK)]
    task: String,
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let Args {
        task,
        model: model_args,
    } = Args::parse();
    let backend = Backend::connect(&model_args, task_complete::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("Model: {}", backend.describe());
    println!("[you] {task}");
    println!(
        "(the model now works on its own: one generate call, up to {} tool rounds, \
         until it calls done)\n",
        task_complete::MAX_TURNS
    );
    let run = task_complete::run_with(&backend.ai, &backend.model, &task, |call| {
        streamed("the model", call)
    })
    .await
    .map_err(|e| backend.explain(e))?;

    let steps = tool_steps(run.response.messages());
    for step in &steps {
        println!("[tool] {}", clip(step, 300));
    }
    let model_turns = run
        .response
        .messages()
        .iter()
        .filter(|m| m.role == genkit_core::Role::Model)
        .count();
    println!(
        "\n({} tool calls in {model_turns} model turns)",
        steps.len()
    );
    match run.outcome {
        Outcome::Done(plan) => {
            println!("\nDone. The result, read from the input of `done` as a ShippingPlan:");
            println!("  warehouse: {}", plan.warehouse);
            println!("  days:      {}", plan.days);
            println!("  reason:    {}", plan.reason);
            Ok(())
        }
        Outcome::Answered(text) => bail!(
            "the model answered without calling done, even after a reminder: {}",
            clip(&text, 300)
        ),
    }
}
