//! `cadre render`: the exact system prompt a specialist's provider receives.

use clap::Args;

use super::{CliError, Global};
use crate::config::{ProjectPaths, SpecialistName, report};

/// Arguments of `cadre render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The specialist whose prompt to print.
    pub name: String,
}

pub fn run(g: &Global, a: RenderArgs) -> Result<i32, CliError> {
    let name = SpecialistName::parse(&a.name)?;
    let paths = ProjectPaths::from_specialists_dir(&g.dir);
    let loaded = crate::desired::load(&paths);
    if let Some(spec) = loaded.specs.iter().find(|s| s.name == name) {
        print!("{}", spec.system_prompt);
        return Ok(0);
    }
    let problems: Vec<_> = loaded.diagnostics_for(&name).collect();
    if problems.is_empty() {
        return Err(CliError::Refused(format!(
            "no specialist `{name}` in {}",
            g.dir.display()
        )));
    }
    for d in problems {
        eprint!("{}", report::text(d));
    }
    Ok(1)
}
