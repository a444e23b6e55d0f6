//! `cadre schema`.

use clap::Args;

use super::Global;

/// Arguments of `cadre schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `specialist` or `project`.
    #[arg(default_value = "specialist")]
    pub which: String,
}

pub fn run(g: &Global, a: SchemaArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre schema` is not implemented yet")
}
