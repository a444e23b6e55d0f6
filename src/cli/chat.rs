//! `cadre chat`.

use clap::Args;

use super::Global;

/// Arguments of `cadre chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The specialist to talk to.
    pub name: String,
    /// The message; without it, an interactive session with history.
    pub message: Option<String>,
    /// Print the final response as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: ChatArgs) -> anyhow::Result<i32> {
    let _ = (g, a);
    anyhow::bail!("`cadre chat` is not implemented yet")
}
