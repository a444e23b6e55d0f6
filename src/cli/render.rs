//! `cadre render`.

use clap::Args;

use super::Global;

/// Arguments of `cadre render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The specialist whose prompt to print.
    pub name: String,
}

pub fn run(g: &Global, a: RenderArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre render` is not implemented yet")
}
