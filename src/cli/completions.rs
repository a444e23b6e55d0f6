//! `cadre completions`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::CliError;

/// Arguments of `cadre completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    pub shell: Shell,
}

pub fn run(a: CompletionsArgs) -> Result<i32, CliError> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "cadre", &mut std::io::stdout());
    Ok(0)
}
