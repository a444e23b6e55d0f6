//! `cadre team`.

use clap::Args;

use super::Global;

/// Arguments of `cadre team`.
#[derive(Debug, Args)]
pub struct TeamArgs {
    /// The message every ready specialist receives.
    pub message: String,
    /// Only these specialists (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// One JSON object per answer, then the summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: TeamArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre team` is not implemented yet")
}
