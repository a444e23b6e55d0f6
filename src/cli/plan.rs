//! `cadre plan`.

use clap::Args;

use super::Global;

/// Arguments of `cadre plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: PlanArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre plan` is not implemented yet")
}
