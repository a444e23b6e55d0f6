//! The command line (DESIGN §8): one file per command; this file only parses
//! arguments and dispatches. Errors are rendered once, in `main`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod chat;
pub mod check;
pub mod completions;
pub mod diff;
pub mod mcp;
pub mod new;
pub mod plan;
pub mod render;
pub mod schema;
pub mod start_stop;
pub mod status;
pub mod team;
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
    /// Send one message to every ready specialist at once.
    Team(team::TeamArgs),
    /// Stop specialists (or the whole daemon with --all) through the control socket.
    Stop(start_stop::StopArgs),
    /// Resume operator-stopped specialists.
    Start(start_stop::StartArgs),
    /// Print the exact system prompt a specialist's provider receives.
    Render(render::RenderArgs),
    /// Print a JSON Schema: `specialist` (default) or `project` (cadre.toml).
    Schema(schema::SchemaArgs),
    /// Write a starter specialist file that passes `check`.
    New(new::NewArgs),
    /// Compare two config trees (dirs or git revisions): fields and rendered prompts.
    Diff(diff::DiffArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Speak MCP over stdio for an MCP host, bridged to the running daemon's /mcp.
    Mcp(mcp::McpArgs),
}

/// Run the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = cli.global;
    match cli.command {
        Command::Up(a) => up::run(&g, a),
        Command::Check(a) => check::run(&g, a),
        Command::Plan(a) => plan::run(&g, a),
        Command::Status(a) => status::run(&g, a),
        Command::Chat(a) => chat::run(&g, a),
        Command::Team(a) => team::run(&g, a),
        Command::Stop(a) => start_stop::stop(&g, a),
        Command::Start(a) => start_stop::start(&g, a),
        Command::Render(a) => render::run(&g, a),
        Command::Schema(a) => schema::run(&g, a),
        Command::New(a) => new::run(&g, a),
        Command::Diff(a) => diff::run(&g, a),
        Command::Completions(a) => completions::run(a),
        Command::Mcp(a) => mcp::run(&g, a),
    }
}
