//! `cadre plan`: what `up` would change, as `kubectl diff` does it: exit 0
//! no changes, 1 changes, 2 error. Against the running daemon when there is
//! one (through its control socket), otherwise against nothing running.
//! The desired state is always `--dir`: pointing it at a checkout under
//! review shows what applying that checkout would change in the running team.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Global;
use crate::config::{ProjectPaths, Spec};
use crate::control::{self, ControlError, Request};
use crate::registry::StateDir;
use crate::supervisor::{Step, StepKind, steps};

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
    steps: &'a [Step],
}

pub fn run(g: &Global, a: PlanArgs) -> anyhow::Result<i32> {
    match plan(g) {
        Ok((against, steps)) => {
            let changes = steps.iter().filter(|s| s.action != StepKind::Keep).count();
            if a.json {
                let out = PlanOut {
                    against,
                    changes,
                    steps: &steps,
                };
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if changes == 0 {
                println!("no changes");
            } else {
                for s in steps.iter().filter(|s| s.action != StepKind::Keep) {
                    println!("{}", s.line());
                }
            }
            Ok(if changes == 0 { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(2)
        }
    }
}

fn plan(g: &Global) -> anyhow::Result<(&'static str, Vec<Step>)> {
    let state = StateDir::resolve(g.state_dir.as_deref())?;
    let dir = std::fs::canonicalize(&g.dir)
        .map_err(|e| anyhow::anyhow!("specialists directory {}: {e}", g.dir.display()))?;
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
fn plan_from_nothing(dir: &Path) -> anyhow::Result<Vec<Step>> {
    let loaded = crate::config::load(&ProjectPaths::from_specialists_dir(dir));
    for d in loaded.errors() {
        eprintln!("{}", crate::supervisor::describe(d));
    }
    if !loaded.project_ok {
        anyhow::bail!("cadre.toml is invalid");
    }
    let failed = loaded.failed_names();
    let desired: Vec<Spec> = loaded
        .specs
        .into_iter()
        .filter(|s| s.enabled && !failed.contains(&s.name))
        .collect();
    Ok(steps::compute(&desired, &[]))
}
