//! `cadre status`.

use clap::Args;

use super::Global;

/// Arguments of `cadre status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print rows as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: StatusArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre status` is not implemented yet")
}
