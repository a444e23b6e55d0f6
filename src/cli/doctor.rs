//! `cadre doctor`: every check of the set-up (providers and models, ports,
//! the state directory, the HTTP address, git provenance); exit 1 when any
//! fails, each failure named with its fix.

use std::io::Write;

use clap::Args;

use super::{CliError, Global};
use crate::config::ProjectPaths;
use crate::doctor::{self, Inputs, Level};

/// Arguments of `cadre doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: DoctorArgs) -> Result<i32, CliError> {
    let owner = std::fs::canonicalize(&g.dir).ok();
    let inputs = Inputs {
        paths: ProjectPaths::from_specialists_dir(&g.dir),
        owner,
        state_dir: crate::registry::StateDir::locate(g.state_dir.as_deref()).ok(),
    };
    let report = doctor::run(&inputs);
    let mut out = std::io::stdout().lock();
    let io = CliError::io("cannot write to stdout");
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?).map_err(io)?;
    } else {
        for f in &report.findings {
            let fix = f
                .fix
                .as_deref()
                .map(|x| format!("\n        fix: {x}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{:<5} {}: {}{fix}",
                f.level.as_str(),
                f.check.as_str(),
                f.message
            )
            .map_err(CliError::io("cannot write to stdout"))?;
        }
        let failed: Vec<String> = report
            .failures()
            .map(|f| format!("{} ({})", f.check.as_str(), f.subject))
            .collect();
        let warned = report
            .findings
            .iter()
            .filter(|f| f.level == Level::Warn)
            .count();
        let summary = if failed.is_empty() {
            format!("doctor: all checks passed ({warned} warning(s))")
        } else {
            format!(
                "doctor: {} check(s) failed: {}",
                failed.len(),
                failed.join(", ")
            )
        };
        writeln!(out, "{summary}").map_err(io)?;
    }
    Ok(if report.ok { 0 } else { 1 })
}
