//! `cadre plan`: what `up` would change, as `kubectl diff` does it: exit 0
//! no changes, 1 changes, 2 error. Against the running daemon when there is
//! one (through its control socket), otherwise against nothing running.
//! The desired state is always `--dir`: pointing it at a checkout under
//! review shows what applying that checkout would change in the running team.
//! Either way the plan is [`crate::plan::plan`], the function the daemon applies.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{CliError, Global};
use crate::config::{ProjectPaths, report};
use crate::control::{self, ControlError, Request};
use crate::plan::{Action, Actual, Operator};

/// Arguments of `cadre plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct PlanOut<'a> {
    /// "daemon" (planned by the running daemon) or "none" (nothing running).
    against: &'a str,
    changes: usize,
    steps: &'a [Action],
}

pub fn run(g: &Global, a: PlanArgs) -> Result<i32, CliError> {
    let (against, actions) = plan(g)?;
    let changes = actions.iter().filter(|s| s.is_change()).count();
    if a.json {
        let out = PlanOut {
            against,
            changes,
            steps: &actions,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if changes == 0 {
        println!("no changes");
    } else {
        for s in actions.iter().filter(|s| s.is_change()) {
            println!("{s}");
        }
    }
    Ok(if changes == 0 { 0 } else { 1 })
}

fn plan(g: &Global) -> Result<(&'static str, Vec<Action>), CliError> {
    let state = g.state_dir()?;
    let dir = std::fs::canonicalize(&g.dir).map_err(CliError::io(format!(
        "specialists directory {}",
        g.dir.display()
    )))?;
    let req = Request::Plan {
        dir: Some(dir.clone()),
    };
    match control::request(state.path(), &req, Duration::from_secs(30)) {
        Ok(resp) => Ok(("daemon", resp.steps)),
        Err(ControlError::NotRunning(_)) => Ok(("none", plan_from_nothing(&dir)?)),
        Err(e) => Err(e.into()),
    }
}

/// Without a daemon every valid, enabled specialist would start. Invalid
/// files are reported on stderr; they would not start.
fn plan_from_nothing(dir: &Path) -> Result<Vec<Action>, CliError> {
    let loaded = crate::desired::load(&ProjectPaths::from_specialists_dir(dir));
    for d in loaded.errors() {
        eprintln!("{}", report::line(d));
    }
    let plan = crate::plan::plan(&loaded, &Actual::default(), &Operator::default());
    if plan.settings.is_none() {
        return Err(CliError::Refused(
            "the project cannot be loaded (cadre.toml or specialists.d, see above)".into(),
        ));
    }
    Ok(plan.actions)
}
