//! `cadre check`: every file validated, every prompt rendered, all problems
//! at once. Meant for CI on a pull request, hence three output formats.

use clap::Args;

use super::{CheckFormat, CliError, Global};
use crate::config::{self, ProjectPaths, report};

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

pub fn run(g: &Global, a: CheckArgs) -> Result<i32, CliError> {
    let paths = ProjectPaths::from_specialists_dir(&g.dir);
    let mut loaded = crate::desired::load(&paths);
    let is_set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    loaded
        .diagnostics
        .extend(config::warnings::unset_key_env(&loaded, &paths, is_set));
    loaded.diagnostics.extend(config::consult::check(&loaded));
    let counts =
        report::Counts::of(loaded.specs.len(), &loaded.diagnostics).with_teams(loaded.teams.len());
    let format = if a.json { CheckFormat::Json } else { a.format };
    match format {
        CheckFormat::Text => {
            for d in &loaded.diagnostics {
                eprint!("{}", report::text(d));
            }
            println!("{}", report::summary(counts));
        }
        CheckFormat::Github => {
            for d in &loaded.diagnostics {
                println!("{}", report::github(d));
            }
            println!("{}", report::summary(counts));
        }
        CheckFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report::json(counts, &loaded.diagnostics))?
            );
        }
    }
    Ok(if counts.errors > 0 { 1 } else { 0 })
}
