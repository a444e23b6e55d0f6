//! `cadre diff`: what a change does to the team (DESIGN §11). Exit 0 when
//! nothing changed, 1 on changes, 2 on any error (a config error on either
//! side is reported with its side, file and line).

use clap::{Args, ValueEnum};

use super::{CliError, Global};
use crate::config::report;
use crate::review::{self, Side, render};

/// Output format of `cadre diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    /// For a pull-request comment: a summary line, prompt diffs collapsed.
    Markdown,
    Json,
}

/// Arguments of `cadre diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Base: a directory (project root or specialists dir) or a git revision.
    pub base: String,
    /// Head: a directory or a git revision [default: the working tree].
    pub head: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
}

pub fn run(g: &Global, a: DiffArgs) -> Result<i32, CliError> {
    let side = |side: &'static str| move |error| CliError::Side { side, error };
    let base = Side::resolve(&a.base, &g.dir).map_err(side("base"))?;
    let head = match &a.head {
        Some(h) => Side::resolve(h, &g.dir).map_err(side("head"))?,
        None => Side::working_tree(&g.dir),
    };
    config_errors(&base, &head)?;
    let r = review::compare(&base, &head);
    match a.format {
        DiffFormat::Text => print!("{}", render::text(&r)),
        DiffFormat::Markdown => print!("{}", render::markdown(&r)),
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&render::json(&r))?),
    }
    Ok(if r.is_empty() { 0 } else { 1 })
}

/// Either side's config errors, each diagnostic prefixed with its side.
fn config_errors(base: &Side, head: &Side) -> Result<(), CliError> {
    let mut out = String::new();
    for (which, side) in [("base", base), ("head", head)] {
        let errors = side.errors();
        if errors.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("error: ");
        }
        out.push_str(&format!(
            "{which} ({}) has {} config error{}:\n",
            side.label,
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ));
        for d in &errors {
            out.push_str(&format!("{which}: {}", report::text(d)));
        }
    }
    if out.is_empty() {
        return Ok(());
    }
    out.truncate(out.trim_end_matches('\n').len());
    Err(CliError::Diagnostics(out))
}
