//! `cadre check`.

use clap::Args;

use super::Global;

/// Arguments of `cadre check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: super::CheckFormat,
    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: CheckArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre check` is not implemented yet")
}
