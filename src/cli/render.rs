//! `cadre render`: the exact system prompt a specialist's provider receives.

use anyhow::bail;
use clap::Args;

use super::Global;
use crate::config::{self, ProjectPaths, SpecialistName, report};

/// Arguments of `cadre render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The specialist whose prompt to print.
    pub name: String,
}

pub fn run(g: &Global, a: RenderArgs) -> anyhow::Result<i32> {
    let name = SpecialistName::parse(&a.name)?;
    let paths = ProjectPaths::from_specialists_dir(&g.dir);
    let loaded = config::load(&paths);
    if let Some(spec) = loaded.specs.iter().find(|s| s.name == name) {
        print!("{}", spec.system_prompt);
        return Ok(0);
    }
    let problems: Vec<_> = loaded.diagnostics_for(&name).collect();
    if problems.is_empty() {
        bail!("no specialist `{name}` in {}", g.dir.display());
    }
    for d in problems {
        eprint!("{}", report::text(d));
    }
    Ok(1)
}
