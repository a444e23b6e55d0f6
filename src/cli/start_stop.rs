//! `cadre stop` and `cadre start`: operator overrides through the control socket.

use clap::Args;

use super::Global;

/// Arguments of `cadre stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Specialists to stop.
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Shut the whole daemon down gracefully.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
}

/// Arguments of `cadre start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Operator-stopped specialists to resume.
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub fn stop(g: &Global, a: StopArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre stop` is not implemented yet")
}

pub fn start(g: &Global, a: StartArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre start` is not implemented yet")
}
