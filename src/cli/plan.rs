//! `cadre plan`: what `up` would change, as `kubectl diff` does it: exit 0
//! no changes, 1 changes, 2 error. Against the running daemon when there is
//! one (through its control socket: the daemon running `--dir`, else
//! `--owner`'s, else the only one of the registry), otherwise against
//! nothing running.
//! The desired state is always `--dir`: pointing it at a checkout under
//! review shows what applying that checkout would change in the running team.
//! Either way the plan is [`crate::plan::plan`], the function the daemon applies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{CliError, Global};
use crate::cluster::daemons::{self, Found};
use crate::config::{ProjectPaths, report};
use crate::control::{self, ControlError, Request};
use crate::plan::{Action, Actual, Operator, TeamAction};

/// Arguments of `cadre plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Plan against the daemon running this specialists.d (when several
    /// share the registry and none runs `--dir`).
    #[arg(long, value_name = "DIR")]
    pub owner: Option<PathBuf>,
}

#[derive(Serialize)]
struct PlanOut<'a> {
    /// "daemon" (planned by the running daemon) or "none" (nothing running).
    against: &'a str,
    changes: usize,
    steps: &'a [Action],
    /// Every team step, keeps included.
    teams: &'a [TeamAction],
}

pub fn run(g: &Global, a: PlanArgs) -> Result<i32, CliError> {
    let (against, actions, teams) = plan(g, a.owner.as_deref())?;
    let changes = actions.iter().filter(|s| s.is_change()).count()
        + teams.iter().filter(|t| t.is_change()).count();
    if a.json {
        let out = PlanOut {
            against,
            changes,
            steps: &actions,
            teams: &teams,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if changes == 0 {
        println!("no changes");
    } else {
        for s in actions.iter().filter(|s| s.is_change()) {
            println!("{s}");
        }
        for t in teams.iter().filter(|t| t.is_change()) {
            println!("{t}");
        }
    }
    Ok(if changes == 0 { 0 } else { 1 })
}

type Planned = (&'static str, Vec<Action>, Vec<TeamAction>);

fn plan(g: &Global, owner: Option<&Path>) -> Result<Planned, CliError> {
    let canonical = |d: &Path| {
        std::fs::canonicalize(d).map_err(CliError::io(format!(
            "specialists directory {}",
            d.display()
        )))
    };
    let dir = canonical(&g.dir)?;
    let daemon_dir = owner.map(canonical).transpose()?;
    let snap = g.snapshot()?;
    let path = match daemons::for_dir(&snap, daemon_dir.as_deref().unwrap_or(&dir)) {
        Ok(Found::One(_, path)) => path,
        Ok(Found::None) => {
            let (actions, teams) = plan_from_nothing(&dir)?;
            return Ok(("none", actions, teams));
        }
        Ok(Found::Elsewhere(_)) => {
            let (actions, teams) = plan_from_nothing(&dir)?;
            return Ok(("none", actions, teams));
        }
        Err(several) => {
            let list: Vec<String> = several.iter().map(|d| daemons::describe(d)).collect();
            return Err(CliError::Refused(format!(
                "{} daemons share this registry and none runs {}: name one with --owner DIR ({})",
                several.len(),
                dir.display(),
                list.join(", ")
            )));
        }
    };
    let req = Request::Plan {
        dir: Some(dir.clone()),
    };
    match control::request(&path, &req, Duration::from_secs(30)) {
        Ok(resp) => Ok(("daemon", resp.steps, resp.team_steps)),
        Err(ControlError::NotRunning(_)) => {
            let (actions, teams) = plan_from_nothing(&dir)?;
            Ok(("none", actions, teams))
        }
        Err(e) => Err(e.into()),
    }
}

/// Without a daemon every valid, enabled specialist would start. Invalid
/// files are reported on stderr; they would not start.
fn plan_from_nothing(dir: &Path) -> Result<(Vec<Action>, Vec<TeamAction>), CliError> {
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
    Ok((plan.actions, plan.teams))
}
