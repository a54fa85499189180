//! The Genkit Developer UI runtime: what lets the official `genkit` CLI and the Developer UI
//! list and run a genkit-rs app's flows, tools and models, and read its traces.
//!
//! [`DevRuntime::start`] does nothing unless `GENKIT_ENV=dev` (which `genkit start` and
//! `genkit flow:run ... -- <cmd>` set). In dev mode it
//!
//! - exports traces to the CLI's telemetry server (`GENKIT_TELEMETRY_SERVER`, or the URL the CLI
//!   notifies), posting each span at start too when `GENKIT_ENABLE_REALTIME_TELEMETRY=true`;
//! - with `GENKIT_REFLECTION_V2_SERVER` set, dials the CLI's WebSocket server (reflection API
//!   v2);
//! - otherwise serves the reflection API v1 on `127.0.0.1`, on the first free port from 3100,
//!   and writes the runtime file the CLI discovers it by, once the listener is up (and again, a
//!   few times, while the CLI has not called `/api/notify`: its watcher can miss a file written
//!   as it starts); the file is removed when the runtime is dropped and on SIGINT/SIGTERM.
//!
//! ```no_run
//! use genkit_core::flow::{define_flow, FlowContext};
//! use genkit_core::reflection::DevRuntime;
//! use genkit_core::{prelude::*, testing::EchoModel};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), GenkitError> {
//!     let greet = define_flow("greet", |name: String, _ctx: FlowContext| async move {
//!         Ok(format!("Hello, {name}!"))
//!     });
//!     let ai = Genkit::builder()
//!         .model(EchoModel::new("echo"))
//!         .flow(greet)
//!         .build()?;
//!     // `genkit start -- cargo run` sets GENKIT_ENV=dev; elsewhere this returns None
//!     if let Some(dev) = DevRuntime::start(&ai).await? {
//!         dev.wait().await;
//!     }
//!     Ok(())
//! }
//! ```

mod descriptor;
mod http;
mod runner;
mod runtime_file;
mod ws;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::GenkitError;
use crate::genkit::Genkit;
use crate::status::Status;
use crate::trace::{self, ExporterConfig};
use runner::Runner;
use runtime_file::{RuntimeFile, RuntimeInfo};

/// What the runtime reports as its Genkit version (`x-genkit-version`, runtime file, v2
/// `register`).
///
/// ```
/// assert!(genkit_core::reflection::GENKIT_VERSION.starts_with("rust/"));
/// ```
pub const GENKIT_VERSION: &str = concat!("rust/", env!("CARGO_PKG_VERSION"));

/// Ports the v1 server tries, as Genkit JS does.
const PORTS: std::ops::Range<u16> = 3100..3200;

/// How the Developer UI runtime starts. [`DevOptions::from_env`] reads the variables the Genkit
/// CLI sets; the setters override them (tests, embedding).
///
/// ```
/// use genkit_core::reflection::DevOptions;
/// let options = DevOptions::from_env().genkit_env("dev").name("my-app");
/// assert!(options.is_dev());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DevOptions {
    genkit_env: Option<String>,
    telemetry_server: Option<String>,
    realtime: bool,
    v2_server: Option<String>,
    runtime_id: Option<String>,
    port: Option<u16>,
    project_dir: Option<PathBuf>,
    name: Option<String>,
    exit_on_signal: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl DevOptions {
    /// The options the environment gives: `GENKIT_ENV`, `GENKIT_TELEMETRY_SERVER`,
    /// `GENKIT_ENABLE_REALTIME_TELEMETRY`, `GENKIT_REFLECTION_V2_SERVER`, `GENKIT_RUNTIME_ID`,
    /// `GENKIT_REFLECTION_PORT`; the project directory is the current one; SIGINT/SIGTERM
    /// remove the runtime file and end the process.
    pub fn from_env() -> Self {
        Self {
            genkit_env: env("GENKIT_ENV"),
            telemetry_server: env("GENKIT_TELEMETRY_SERVER"),
            realtime: env("GENKIT_ENABLE_REALTIME_TELEMETRY").as_deref() == Some("true"),
            v2_server: env("GENKIT_REFLECTION_V2_SERVER"),
            runtime_id: env("GENKIT_RUNTIME_ID"),
            port: env("GENKIT_REFLECTION_PORT").and_then(|p| p.parse().ok()),
            project_dir: None,
            name: None,
            exit_on_signal: true,
        }
    }

    /// The environment name (`GENKIT_ENV`); the runtime only starts for `dev`.
    pub fn genkit_env(mut self, env: impl Into<String>) -> Self {
        self.genkit_env = Some(env.into());
        self
    }

    /// True when these options start a runtime (`GENKIT_ENV=dev`).
    pub fn is_dev(&self) -> bool {
        self.genkit_env.as_deref() == Some("dev")
    }

    /// The telemetry server to export traces to; when set, URLs the CLI notifies are ignored.
    pub fn telemetry_server(mut self, url: impl Into<String>) -> Self {
        self.telemetry_server = Some(url.into());
        self
    }

    /// Post each span when it starts too, for the Developer UI's live traces.
    pub fn realtime_telemetry(mut self, on: bool) -> Self {
        self.realtime = on;
        self
    }

    /// Use reflection API v2: dial the CLI's WebSocket server at `url`.
    pub fn reflection_v2_server(mut self, url: impl Into<String>) -> Self {
        self.v2_server = Some(url.into());
        self
    }

    /// The runtime id (default `<pid>-<port>` for v1, `<pid>` for v2).
    pub fn runtime_id(mut self, id: impl Into<String>) -> Self {
        self.runtime_id = Some(id.into());
        self
    }

    /// Serve v1 on this port only, instead of the first free one from 3100.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Where the project-root walk for the runtime file starts (default: the current
    /// directory).
    pub fn project_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.project_dir = Some(dir.into());
        self
    }

    /// The app's name, shown by the Developer UI (default: the runtime id).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether SIGINT/SIGTERM end the process after removing the runtime file (the default, as
    /// in Genkit JS). When off, they only remove the file and end [`DevRuntime::wait`].
    pub fn exit_on_signal(mut self, exit: bool) -> Self {
        self.exit_on_signal = exit;
        self
    }
}

/// A running Developer UI runtime. Dropping it stops the server (or the v2 connection) and
/// removes the runtime file.
///
/// ```no_run
/// # use genkit_core::{reflection::{DevOptions, DevRuntime}, Genkit};
/// # async fn run(ai: Genkit) -> Result<(), genkit_core::GenkitError> {
/// let options = DevOptions::from_env().name("my-app").exit_on_signal(false);
/// if let Some(dev) = DevRuntime::start_with(&ai, options).await? {
///     println!("{} serves the Genkit CLI on {:?}", dev.id(), dev.reflection_url());
///     dev.wait().await; // until `/api/__quitquitquit` or SIGINT/SIGTERM
///     dev.shutdown().await;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DevRuntime {
    id: String,
    url: Option<String>,
    file: Option<Arc<RuntimeFile>>,
    quit: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DevRuntime {
    /// Starts the runtime for `ai` with the options the environment gives; `Ok(None)` outside
    /// dev mode (`GENKIT_ENV` is not `dev`), where nothing is started and nothing exported.
    pub async fn start(ai: &Genkit) -> Result<Option<DevRuntime>, GenkitError> {
        Self::start_with(ai, DevOptions::from_env()).await
    }

    /// Starts the runtime for `ai` with `options`; `Ok(None)` unless they say dev mode.
    /// Must be called inside a tokio runtime.
    pub async fn start_with(
        ai: &Genkit,
        options: DevOptions,
    ) -> Result<Option<DevRuntime>, GenkitError> {
        if !options.is_dev() {
            return Ok(None);
        }
        trace::install_exporter(ExporterConfig {
            url: options.telemetry_server.clone(),
            realtime: options.realtime,
        });
        let runner = Runner::new(ai.clone());
        let (quit_tx, quit_rx) = watch::channel(false);
        let (stop_tx, stop_rx) = watch::channel(false);
        let pid = std::process::id();

        let mut runtime = if let Some(v2) = options.v2_server.clone() {
            let id = options
                .runtime_id
                .clone()
                .unwrap_or_else(|| pid.to_string());
            let registration = ws::Registration {
                id: id.clone(),
                name: options.name.clone(),
            };
            let task = tokio::spawn(ws::run(v2, runner, registration, stop_rx.clone()));
            DevRuntime {
                id,
                url: None,
                file: None,
                quit: quit_rx,
                stop: stop_tx,
                tasks: vec![task],
            }
        } else {
            let (listener, port) = bind(options.port).await?;
            let id = options
                .runtime_id
                .clone()
                .unwrap_or_else(|| format!("{pid}-{port}"));
            let url = format!("http://127.0.0.1:{port}");
            let (notified_tx, notified_rx) = watch::channel(false);
            let state = Arc::new(http::ServerState {
                runner,
                runtime_id: id.clone(),
                quit: quit_tx.clone(),
                notified: notified_tx,
            });
            let app = http::router(state);
            let mut stop = stop_rx.clone();
            let server = tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::warn!(target: "genkit_core::reflection", "reflection server failed: {e}");
                }
            });
            // the listener is up: now the CLI may find us
            let dir = match &options.project_dir {
                Some(d) => d.clone(),
                None => std::env::current_dir().map_err(|e| {
                    GenkitError::with_status(
                        Status::Internal,
                        format!("cannot read the current directory: {e}"),
                    )
                })?,
            };
            let root = runtime_file::project_root(&dir).await;
            let ms = runtime_file::epoch_ms();
            let info = RuntimeInfo {
                id: id.clone(),
                pid,
                reflection_server_url: url.clone(),
                timestamp: runtime_file::iso_utc(ms),
                name: options.name.clone(),
                genkit_version: GENKIT_VERSION.to_owned(),
                reflection_api_spec_version: 1,
            };
            let file = match RuntimeFile::write(&root, &info, ms).await {
                Ok(f) => Arc::new(f),
                Err(e) => {
                    server.abort();
                    return Err(e);
                }
            };
            tracing::info!(target: "genkit_core::reflection", "Genkit reflection server on {url}, runtime file {}", file.path().display());
            let announced = file.clone();
            let announce = tokio::spawn(async move {
                runtime_file::announce(&announced, notified_rx, &runtime_file::ANNOUNCE_DELAYS)
                    .await;
            });
            DevRuntime {
                id,
                url: Some(url),
                file: Some(file),
                quit: quit_rx,
                stop: stop_tx,
                tasks: vec![server, announce],
            }
        };
        runtime.tasks.push(tokio::spawn(on_signal(
            runtime.file.clone(),
            quit_tx,
            options.exit_on_signal,
        )));
        Ok(Some(runtime))
    }

    /// The runtime id: what the runtime file and the health check say.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The v1 reflection server's URL (`None` with reflection v2).
    pub fn reflection_url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The runtime file (`None` with reflection v2).
    pub fn runtime_file(&self) -> Option<&Path> {
        self.file.as_deref().map(RuntimeFile::path)
    }

    /// Waits until the runtime is asked to stop: `/api/__quitquitquit`, or SIGINT/SIGTERM when
    /// [`DevOptions::exit_on_signal`] is off (by default a signal ends the process).
    pub async fn wait(&self) {
        let mut quit = self.quit.clone();
        let _ = quit.wait_for(|q| *q).await;
    }

    /// Stops the server or the v2 connection and removes the runtime file.
    pub async fn shutdown(mut self) {
        if let Some(file) = &self.file {
            file.remove();
        }
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for DevRuntime {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            file.remove();
        }
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds 127.0.0.1 (loopback only) on `port`, or on the first free port from 3100.
async fn bind(port: Option<u16>) -> Result<(tokio::net::TcpListener, u16), GenkitError> {
    let ports: Vec<u16> = match port {
        Some(p) => vec![p],
        None => PORTS.collect(),
    };
    let mut last = None;
    for p in ports {
        match tokio::net::TcpListener::bind(("127.0.0.1", p)).await {
            Ok(l) => return Ok((l, p)),
            Err(e) => last = Some(e),
        }
    }
    Err(GenkitError::with_status(
        Status::Unavailable,
        format!(
            "no free port for the Genkit reflection server: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ),
    ))
}

/// On SIGINT/SIGTERM: remove the runtime file, then end the process (or just wake `wait`).
///
/// The process exits with status 0, as Genkit JS runtimes do: `genkit start` reports any other
/// status of its app as a crash.
async fn on_signal(file: Option<Arc<RuntimeFile>>, quit: watch::Sender<bool>, exit: bool) {
    wait_for_signal().await;
    if let Some(file) = &file {
        file.remove();
    }
    let _ = quit.send(true);
    if exit {
        std::process::exit(0);
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
