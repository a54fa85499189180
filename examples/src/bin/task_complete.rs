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

use anyhow::{bail, Context, Result};
use examples::console::{clip, tool_steps};
use examples::model_choice::{self, Backend, ModelArgs};
use examples::task_complete::{self, Outcome};

fn usage() -> String {
    format!(
        "usage: task_complete [--task TEXT] [--scripted | --local] [--model NAME]

  --task TEXT    the task (default: \"{}\")
{}",
        task_complete::TASK,
        model_choice::USAGE
    )
}

fn parse_args() -> Result<(String, ModelArgs)> {
    let mut task = task_complete::TASK.to_owned();
    let mut model = ModelArgs::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if model
            .parse_flag(&arg, &mut it)
            .map_err(anyhow::Error::msg)?
        {
            continue;
        }
        match arg.as_str() {
            "--task" => task = it.next().context("--task needs a value")?,
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n\n{}", usage()),
        }
    }
    Ok((task, model))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let (task, model_args) = parse_args()?;
    let backend = Backend::connect(&model_args, task_complete::scripted_model)
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("Model: {}", backend.describe());
    println!("[you] {task}");
    println!(
        "(the model now works on its own: one generate call, up to {} tool rounds, \
         until it calls done)\n",
        task_complete::MAX_TURNS
    );
    let run = task_complete::run(&backend.ai, &backend.model, &task)
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
