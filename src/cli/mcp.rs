//! `cadre mcp`: speak MCP over stdio for an MCP host (Claude Desktop, Claude
//! Code, …), bridged to the running daemon's `/mcp`. The daemon is found
//! through the registry (the one running `--dir`, else the only one serving
//! HTTP), as other commands find its control socket; `--url` names one directly. A bearer token, when
//! `[http] token_env` in cadre.toml names one, is read from that variable.

use clap::Args;

use super::{CliError, Global};
use crate::config::{self, ProjectPaths};
use crate::http::endpoint;
use crate::mcp::bridge::{self, Target};

/// Arguments of `cadre mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The daemon's HTTP base URL (e.g. http://127.0.0.1:44999) instead of the
    /// one recorded in the state directory.
    #[arg(long)]
    pub url: Option<String>,
}

pub fn run(g: &Global, a: McpArgs) -> Result<i32, CliError> {
    let base = match a.url {
        Some(u) => u,
        None => {
            let dir = std::fs::canonicalize(&g.dir).unwrap_or_else(|_| g.dir.clone());
            endpoint::find(&g.snapshot()?, &dir)?
        }
    };
    let url = format!(
        "{}/mcp",
        base.trim_end_matches('/').trim_end_matches("/mcp")
    );
    let project = config::load_project_file(&ProjectPaths::from_specialists_dir(&g.dir)).http;
    let token = match project.token_env {
        Some(var) => Some(
            std::env::var(&var)
                .ok()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    CliError::Refused(format!(
                        "[http] token_env names {var}, which is not set or empty"
                    ))
                })?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    runtime
        .block_on(bridge::run(Target { url, token }))
        .map_err(CliError::io("the MCP bridge failed"))?;
    Ok(0)
}
