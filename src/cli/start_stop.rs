//! `cadre stop` and `cadre start`: operator overrides through the control socket.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::Global;
use crate::control::{self, Request};
use crate::registry::StateDir;

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

/// Stops drain in-flight chats first, so allow for the drain timeout.
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn stop(g: &Global, a: StopArgs) -> anyhow::Result<i32> {
    let req = Request::Stop {
        names: a.names,
        all: a.all,
    };
    send(g, &req)
}

pub fn start(g: &Global, a: StartArgs) -> anyhow::Result<i32> {
    send(g, &Request::Start { names: a.names })
}

fn send(g: &Global, req: &Request) -> anyhow::Result<i32> {
    let state =
        StateDir::resolve(g.state_dir.as_deref()).context("cannot use the state directory")?;
    let resp = control::request(state.path(), req, TIMEOUT)?;
    for step in &resp.steps {
        println!("{}", step.line());
    }
    if let Some(m) = resp.message {
        println!("{m}");
    }
    Ok(0)
}
