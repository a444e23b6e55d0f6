//! The command line (DESIGN §8): one file per command; this file parses
//! arguments, dispatches, and holds what every command shares: the global
//! options and [`CliError`]. A command returns its exit code or a typed
//! error; errors are rendered once, by [`render`] in `main`, and exit 1, or
//! 2 for `plan` and `diff` (their contract: 0 no changes, 1 changes, 2 error;
//! usage errors exit 2 through clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::registry::{Registry, RegistryError, StateDir};

mod advertise;
pub mod chat;
pub mod check;
pub mod completions;
pub mod diff;
pub mod doctor;
pub mod mcp;
pub mod new;
pub mod plan;
pub mod render;
pub mod schema;
pub mod start_stop;
pub mod status;
pub mod team;
pub mod teams;
pub mod up;

/// Run a team of AI specialists declared as TOML files.
#[derive(Debug, Parser)]
#[command(name = "cadre", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The specialists directory; its parent holds templates/ and cadre.toml.
    #[arg(
        long,
        global = true,
        default_value = "specialists.d",
        env = "CADRE_DIR"
    )]
    pub dir: PathBuf,
    /// Where the registry, events and control socket live
    /// [default: $CADRE_STATE_DIR, else $XDG_STATE_HOME/cadre, else ~/.local/state/cadre].
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
}

impl Global {
    /// The state directory `--state-dir` (or the environment) names, created 0700.
    pub fn state_dir(&self) -> Result<StateDir, CliError> {
        StateDir::resolve(self.state_dir.as_deref()).map_err(CliError::StateDir)
    }

    /// The registry of that state directory.
    pub fn registry(&self) -> Result<Registry, CliError> {
        Registry::open(self.state_dir()?).map_err(CliError::OpenRegistry)
    }

    /// `[registry]` of the project's cadre.toml: which registry to read.
    pub fn registry_settings(&self) -> Result<crate::config::RegistrySettings, CliError> {
        let paths = crate::config::ProjectPaths::from_specialists_dir(&self.dir);
        crate::config::load_registry(&paths)
            .map_err(|d| CliError::Refused(crate::config::report::line(&d)))
    }

    /// The registry as it is now: every daemon's entries and records (a
    /// file registry's dead owners already left out). An etcd registry
    /// without quorum is read from one member's copy, and says so on stderr.
    pub fn snapshot(&self) -> Result<crate::cluster::Snapshot, CliError> {
        // A cadre.toml broken beyond reading still leaves the file registry to show.
        let settings = self.registry_settings().unwrap_or_else(|e| {
            eprintln!("warning: {e}; reading the file registry of the state directory");
            crate::config::RegistrySettings::default()
        });
        let registry = self.registry()?;
        let rt = runtime()?;
        let snap = rt
            .block_on(crate::cluster::view::read(&settings, &registry))
            .map_err(|e| CliError::Refused(format!("cannot read the registry: {e}")))?;
        if let Some(u) = &snap.unavailable {
            eprintln!("warning: {u}; showing the last entries a member holds");
        }
        Ok(snap)
    }

    /// The control socket of the daemon running `--dir`, else of the only
    /// daemon of the registry this process can reach.
    pub fn daemon_socket(&self) -> Result<std::path::PathBuf, CliError> {
        use crate::cluster::daemons::{self, Found};
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        let snap = self.snapshot()?;
        match daemons::for_dir(&snap, &dir) {
            Ok(Found::One(_, path)) => Ok(path),
            Ok(Found::None) | Ok(Found::Elsewhere(_)) => Err(CliError::Refused(
                "no `cadre up` of this registry is reachable from here; start one with `cadre up`"
                    .into(),
            )),
            Err(several) => {
                let list: Vec<String> = several.iter().map(|d| daemons::describe(d)).collect();
                Err(CliError::Refused(format!(
                    "{} daemons share this registry and none runs {}: pass --dir DIR ({})",
                    several.len(),
                    dir.display(),
                    list.join(", ")
                )))
            }
        }
    }
}

/// The async runtime of a command that talks to sockets or etcd.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))
}

/// Why a command failed. Each variant names what was being done; its
/// source says why.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot use the state directory")]
    StateDir(#[source] RegistryError),
    #[error("cannot open the registry")]
    OpenRegistry(#[source] RegistryError),
    #[error(transparent)]
    DaemonLock(#[from] crate::registry::DaemonLockError),
    #[error(transparent)]
    Control(#[from] crate::control::ControlError),
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    #[error("specialist `{name}` is not answering")]
    NotAnswering {
        name: String,
        #[source]
        source: Box<crate::cluster::failover::ChatError>,
    },
    #[error("no specialist named `{0}` is registered (is `cadre up` running?)")]
    NotRegistered(String),
    #[error(transparent)]
    Name(#[from] crate::config::name::InvalidName),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Endpoint(#[from] crate::http::endpoint::EndpointError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An I/O step, with what it was doing (`cannot start the async runtime`).
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot watch the project files")]
    Watch(#[source] crate::watch::WatchError),
    /// A request or a state that makes the command impossible, said in full.
    #[error("{0}")]
    Refused(String),
    /// One side of `cadre diff` could not be read.
    #[error("{side}: {error}")]
    Side {
        side: &'static str,
        error: crate::review::SideError,
    },
    /// Config errors, already rendered as diagnostics (header, then one per problem).
    #[error("{0}")]
    Diagnostics(String),
    /// A failure of `cadre plan` or `cadre diff`: exit 2.
    #[error(transparent)]
    Review(Box<CliError>),
}

impl CliError {
    /// `what` failed with the I/O error `source`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }

    /// The process exit code this error ends the command with (DESIGN §8).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Review(_) => 2,
            _ => 1,
        }
    }

    fn review(self) -> CliError {
        CliError::Review(Box::new(self))
    }
}

/// An error and its causes in one line, `what: why: why`: the one way the
/// command line shows an error.
pub fn render(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Human-readable, with the source line shown.
    Text,
    /// One JSON document listing every diagnostic.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…,col=…::…`).
    Github,
}

/// Log line format of `up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the team in the foreground and keep it equal to specialists.d.
    Up(up::UpArgs),
    /// Validate every file and render every prompt; exit 1 on any error.
    Check(check::CheckArgs),
    /// Show what `up` would change against the running daemon (exit 0 none, 1 changes, 2 error).
    Plan(plan::PlanArgs),
    /// One row per registered specialist, liveness checked with ping.
    Status(status::StatusArgs),
    /// Chat with one specialist: one-shot with MESSAGE, interactive without.
    Chat(chat::ChatArgs),
    /// Send one message to every ready specialist at once, or run a team with --team.
    Team(team::TeamArgs),
    /// List the daemon's teams (teams.d): mode, members, state.
    Teams(teams::TeamsArgs),
    /// Stop specialists (or the whole daemon with --all) through the control socket.
    Stop(start_stop::StopArgs),
    /// Resume operator-stopped specialists.
    Start(start_stop::StartArgs),
    /// Print the exact system prompt a specialist's provider receives.
    Render(render::RenderArgs),
    /// Print a JSON Schema: `specialist` (default), `project` (cadre.toml) or `team` (teams.d).
    Schema(schema::SchemaArgs),
    /// Write a starter specialist file that passes `check`.
    New(new::NewArgs),
    /// Compare two config trees (dirs or git revisions): fields and rendered prompts.
    Diff(diff::DiffArgs),
    /// Check the set-up: providers and models, ports, state directory, HTTP, git (exit 1 on a failure).
    Doctor(doctor::DoctorArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Speak MCP over stdio for an MCP host, bridged to the running daemon's /mcp.
    Mcp(mcp::McpArgs),
}

/// Run the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32, CliError> {
    let g = cli.global;
    match cli.command {
        Command::Up(a) => up::run(&g, a),
        Command::Check(a) => check::run(&g, a),
        Command::Plan(a) => plan::run(&g, a).map_err(CliError::review),
        Command::Status(a) => status::run(&g, a),
        Command::Chat(a) => chat::run(&g, a),
        Command::Team(a) => team::run(&g, a),
        Command::Teams(a) => teams::run(&g, a),
        Command::Stop(a) => start_stop::stop(&g, a),
        Command::Start(a) => start_stop::start(&g, a),
        Command::Render(a) => render::run(&g, a),
        Command::Schema(a) => schema::run(&g, a),
        Command::New(a) => new::run(&g, a),
        Command::Diff(a) => diff::run(&g, a).map_err(CliError::review),
        Command::Doctor(a) => doctor::run(&g, a),
        Command::Completions(a) => completions::run(a),
        Command::Mcp(a) => mcp::run(&g, a),
    }
}
