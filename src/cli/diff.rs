//! `cadre diff`: what a change does to the team (DESIGN §11). Exit 0 when
//! nothing changed, 1 on changes, 2 on any error (a config error on either
//! side is printed with its side, file and line).

use clap::{Args, ValueEnum};

use super::Global;
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

pub fn run(g: &Global, a: DiffArgs) -> anyhow::Result<i32> {
    let base = match Side::resolve(&a.base, &g.dir) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&format!("base: {e}"))),
    };
    let head = match &a.head {
        Some(h) => match Side::resolve(h, &g.dir) {
            Ok(s) => s,
            Err(e) => return Ok(fail(&format!("head: {e}"))),
        },
        None => Side::working_tree(&g.dir),
    };

    let mut broken = false;
    for (which, side) in [("base", &base), ("head", &head)] {
        let errors = side.errors();
        if errors.is_empty() {
            continue;
        }
        broken = true;
        eprintln!(
            "error: {which} ({}) has {} config error{}:",
            side.label,
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        for d in &errors {
            eprint!("{which}: {}", report::text(d));
        }
    }
    if broken {
        return Ok(2);
    }

    let r = review::compare(&base, &head);
    match a.format {
        DiffFormat::Text => print!("{}", render::text(&r)),
        DiffFormat::Markdown => print!("{}", render::markdown(&r)),
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&render::json(&r))?),
    }
    Ok(if r.is_empty() { 0 } else { 1 })
}

fn fail(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    2
}
