//! `cadre schema`: the JSON Schemas editors use, generated from the config types.

use anyhow::bail;
use clap::Args;

use super::Global;

/// Arguments of `cadre schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `specialist` (specialists.d/*.toml) or `project` (cadre.toml).
    #[arg(default_value = "specialist")]
    pub which: String,
}

pub fn run(g: &Global, a: SchemaArgs) -> anyhow::Result<i32> {
    let _ = g;
    let text = match a.which.as_str() {
        "specialist" => crate::schema::specialist(),
        "project" => crate::schema::project(),
        other => bail!("unknown schema `{other}`: expected `specialist` or `project`"),
    };
    print!("{text}");
    Ok(0)
}
