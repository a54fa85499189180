//! Which model an example talks to, chosen the same way by every example program.
//!
//! | flag / environment | model |
//! |---|---|
//! | `--scripted` | a [`ProgrammableModel`] that plays the example's scenario: no network, no key |
//! | `--local`, or no `OPENAI_API_KEY` | the local llama.cpp server at `GENKIT_LLM_URL`, model `GENKIT_LLM_MODEL` (default `qwen2.5-coder-1.5b`, served at `http://127.0.0.1:18081/v1`; `qwen2.5-coder-0.5b` is at `:18080`) |
//! | `OPENAI_API_KEY` set | OpenAI, `gpt-4o-mini` |
//!
//! `--model NAME` picks another model id on the chosen server. Start the local server with
//! `scripts/local-llm start` (see `scripts/README.md`).
//!
//! ```
//! use examples::model_choice::{Backend, Kind, ModelArgs};
//! use genkit_core::testing::ProgrammableModel;
//!
//! let args = ModelArgs { scripted: true, ..ModelArgs::default() };
//! let backend = Backend::connect(&args, || ProgrammableModel::new("scripted"))?;
//! assert_eq!(backend.kind, Kind::Scripted);
//! assert_eq!(backend.model, "scripted");
//! # Ok::<(), genkit_core::BoxError>(())
//! ```

use std::fmt;
use std::time::Duration;

use genkit_core::testing::ProgrammableModel;
use genkit_core::{BoxError, Genkit, GenkitBuilder, GenkitError, Status};
use genkit_openai::{OpenAI, OpenAIConfig};

/// Where `scripts/local-llm start --model qwen2.5-coder-1.5b` serves [`LOCAL_MODEL`].
pub const LOCAL_URL: &str = "http://127.0.0.1:18081/v1";
/// The local model the examples use by default: Qwen2.5-Coder-1.5B, which passed the
/// examples' rules far more often than the 0.5B (the table in `bench/models/README.md`).
pub const LOCAL_MODEL: &str = "qwen2.5-coder-1.5b";
/// Where `scripts/local-llm start` serves the smaller `qwen2.5-coder-0.5b` (what the test
/// suite uses: faster, and the tests check mechanics, not answers).
pub const SMALL_LOCAL_URL: &str = "http://127.0.0.1:18080/v1";

/// The local server's address for model `id` when `GENKIT_LLM_URL` does not say: each model
/// of `scripts/local-llm` has its own port.
fn local_url(id: &str) -> &'static str {
    if id == "qwen2.5-coder-0.5b" {
        SMALL_LOCAL_URL
    } else {
        LOCAL_URL
    }
}
/// The OpenAI model used when `OPENAI_API_KEY` is set.
pub const OPENAI_MODEL: &str = "gpt-4o-mini";

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The example's scripted model, in process.
    Scripted,
    /// The local OpenAI-compatible server (llama.cpp).
    Local,
    /// OpenAI.
    OpenAI,
}

/// The model flags every example accepts; a program's clap parser flattens them in
/// (`#[command(flatten)] model: ModelArgs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelArgs {
    /// Use a scripted model that plays the scenario (no server, no key)
    #[arg(long, global = true)]
    pub scripted: bool,
    /// Use the local model server even if OPENAI_API_KEY is set
    #[arg(long, global = true)]
    pub local: bool,
    /// The model id (default: gpt-4o-mini on OpenAI, GENKIT_LLM_MODEL or qwen2.5-coder-1.5b
    /// locally)
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
}

/// What every example's `--help` says after the flags: where the model runs.
pub const MODEL_HELP: &str = "Model: OpenAI when OPENAI_API_KEY is set, otherwise the local \
server at GENKIT_LLM_URL (default http://127.0.0.1:18081/v1 for qwen2.5-coder-1.5b, \
:18080 for --model qwen2.5-coder-0.5b; start it with scripts/local-llm start --model NAME).";

impl ModelArgs {
    /// The flags that select this model again, for a command line a program prints.
    ///
    /// ```
    /// # use examples::model_choice::ModelArgs;
    /// let args = ModelArgs { local: true, model: Some("qwen".into()), ..ModelArgs::default() };
    /// assert_eq!(args.to_flags(), " --local --model qwen");
    /// ```
    pub fn to_flags(&self) -> String {
        let mut flags = String::new();
        if self.scripted {
            flags.push_str(" --scripted");
        }
        if self.local {
            flags.push_str(" --local");
        }
        if let Some(model) = &self.model {
            flags.push_str(" --model ");
            flags.push_str(model);
        }
        flags
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A [`Genkit`] instance wired to the chosen model, and that model's full name.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The instance: one model plugin (or the scripted model), no tools (the examples hand
    /// their tools to each call).
    pub ai: Genkit,
    /// The model's full name: `local/qwen2.5-coder-0.5b`, `openai/gpt-4o-mini`, `scripted`.
    pub model: String,
    /// Where the model runs.
    pub kind: Kind,
    /// The server's base URL (none for the scripted model).
    pub url: Option<String>,
}

impl Backend {
    /// Builds the instance for `args`; `scripted` makes the example's scripted model, and is
    /// called only with `--scripted`.
    pub fn connect(
        args: &ModelArgs,
        scripted: impl FnOnce() -> ProgrammableModel,
    ) -> Result<Backend, BoxError> {
        Self::connect_with(args, scripted, |builder| builder)
    }

    /// Like [`connect`](Self::connect), with `setup` adding to the instance (application
    /// state, tools) before it is built.
    pub fn connect_with(
        args: &ModelArgs,
        scripted: impl FnOnce() -> ProgrammableModel,
        setup: impl FnOnce(GenkitBuilder) -> GenkitBuilder,
    ) -> Result<Backend, BoxError> {
        if args.scripted {
            let model = scripted();
            let name = genkit_core::Model::name(&model).to_owned();
            let ai = setup(Genkit::builder().model(model)).build()?;
            return Ok(Backend {
                ai,
                model: name,
                kind: Kind::Scripted,
                url: None,
            });
        }
        if !args.local && env("OPENAI_API_KEY").is_some() {
            let id = args.model.as_deref().unwrap_or(OPENAI_MODEL);
            let ai = setup(Genkit::builder().plugin(OpenAI::from_env()?)).build()?;
            return Ok(Backend {
                ai,
                model: format!("openai/{id}"),
                kind: Kind::OpenAI,
                url: None,
            });
        }
        let id = args
            .model
            .clone()
            .or_else(|| env("GENKIT_LLM_MODEL"))
            .unwrap_or_else(|| LOCAL_MODEL.to_owned());
        let url = env("GENKIT_LLM_URL").unwrap_or_else(|| local_url(&id).to_owned());
        let plugin = OpenAI::builder()
            .name("local")
            .base_url(&url)
            // A small model on two CPU cores is slow, and a request may queue behind another.
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Backend {
            ai: setup(Genkit::builder().plugin(plugin)).build()?,
            model: format!("local/{id}"),
            kind: Kind::Local,
            url: Some(url),
        })
    }

    /// One line saying which model answers, for the start of a run.
    pub fn describe(&self) -> String {
        match (self.kind, &self.url) {
            (Kind::Scripted, _) => {
                format!("{} (scripted, in process: no server, no key)", self.model)
            }
            (Kind::Local, Some(url)) => format!("{} (local server at {url})", self.model),
            _ => self.model.clone(),
        }
    }

    /// Adds the hint a newcomer needs when the local server is not running.
    pub fn explain(&self, error: GenkitError) -> Explained {
        let unreachable = matches!(
            error.status(),
            Status::Unavailable | Status::DeadlineExceeded
        );
        let hint = (self.kind == Kind::Local && unreachable).then(|| {
            let id = self.model.strip_prefix("local/").unwrap_or(&self.model);
            format!(
                "the local model server did not answer; start it with \
                 `scripts/local-llm start --model {id}` (or run `scripts/demo`, which does), \
                 or pass --scripted"
            )
        });
        Explained { hint, error }
    }
}

/// The seed [`steady_config`] uses unless `GENKIT_EXAMPLE_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 42;
/// The temperature [`steady_config`] uses unless `GENKIT_EXAMPLE_TEMPERATURE` says otherwise.
pub const DEFAULT_TEMPERATURE: f64 = 0.0;

/// Model settings for repeatable runs: greedy decoding (temperature 0) with a fixed seed, and
/// a cap on the answer's length so that a small model cannot ramble for minutes. Typed: a
/// misspelled setting does not compile.
///
/// For measuring a model over several seeded runs (`bench/models/measure.py`), two optional
/// environment variables override the defaults: `GENKIT_EXAMPLE_SEED` (an integer, default
/// 42) and `GENKIT_EXAMPLE_TEMPERATURE` (a number, default 0). A value that does not parse is
/// ignored. Unset, every run of an example sends the same settings:
///
/// ```
/// let config = examples::model_choice::steady_config(256);
/// assert_eq!(
///     serde_json::to_value(&config)?,
///     serde_json::json!({"temperature": 0.0, "maxOutputTokens": 256, "seed": 42}),
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn steady_config(max_output_tokens: u32) -> OpenAIConfig {
    let seed = env("GENKIT_EXAMPLE_SEED")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_SEED);
    let temperature = env("GENKIT_EXAMPLE_TEMPERATURE")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(DEFAULT_TEMPERATURE);
    OpenAIConfig::new()
        .temperature(temperature)
        .max_output_tokens(max_output_tokens)
        .seed(seed)
}

/// A [`GenkitError`], with a hint in front when there is one.
#[derive(Debug)]
pub struct Explained {
    hint: Option<String>,
    error: GenkitError,
}

impl Explained {
    /// The error itself.
    pub fn error(&self) -> &GenkitError {
        &self.error
    }
}

impl fmt::Display for Explained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.hint {
            Some(hint) => f.write_str(hint),
            None => fmt::Display::fmt(&self.error, f),
        }
    }
}

impl std::error::Error for Explained {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.hint {
            Some(_) => Some(&self.error),
            None => self.error.source(),
        }
    }
}
