//! `cadre stop` and `cadre start`: operator overrides through the control socket.

use std::time::Duration;

use clap::Args;

use super::{CliError, Global};
use crate::control::{self, Request};

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

pub fn stop(g: &Global, a: StopArgs) -> Result<i32, CliError> {
    let req = Request::Stop {
        names: a.names,
        all: a.all,
    };
    send(g, &req)
}

pub fn start(g: &Global, a: StartArgs) -> Result<i32, CliError> {
    send(g, &Request::Start { names: a.names })
}

fn send(g: &Global, req: &Request) -> Result<i32, CliError> {
    let state = g.state_dir()?;
    let resp = control::request(state.path(), req, TIMEOUT)?;
    for action in &resp.steps {
        println!("{action}");
    }
    if let Some(m) = resp.message {
        println!("{m}");
    }
    Ok(0)
}
