//! `cadre up`.

use clap::Args;

use super::Global;

/// Arguments of `cadre up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: super::LogFormat,
    /// Serve the web UI and HTTP API on this address instead of `[http] listen`.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Do not serve HTTP.
    #[arg(long, conflicts_with = "http")]
    pub no_http: bool,
}

pub fn run(g: &Global, a: UpArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre up` is not implemented yet")
}
