//! `cadre diff`.

use clap::Args;

use super::Global;

/// Arguments of `cadre diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Base: a directory or a git revision.
    pub base: String,
    /// Head: a directory or a git revision [default: the working tree].
    pub head: Option<String>,
}

pub fn run(g: &Global, a: DiffArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre diff` is not implemented yet")
}
