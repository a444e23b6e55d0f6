//! `cadre new`.

use clap::Args;

use super::Global;

/// Arguments of `cadre new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the new specialist (the file stem).
    pub name: String,
    /// Component it speaks for (defaults to the name).
    #[arg(long)]
    pub component: Option<String>,
}

pub fn run(g: &Global, a: NewArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre new` is not implemented yet")
}
