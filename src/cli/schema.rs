//! `cadre schema`: the JSON Schemas editors use, generated from the config types.

use clap::{Args, ValueEnum};

use super::{CliError, Global};

/// Which file a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// `specialists.d/*.toml`.
    Specialist,
    /// `cadre.toml`.
    Project,
    /// `teams.d/*.toml`.
    Team,
}

/// Arguments of `cadre schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `specialist` (specialists.d/*.toml), `project` (cadre.toml) or `team` (teams.d/*.toml).
    #[arg(value_enum, default_value = "specialist")]
    pub which: SchemaKind,
}

pub fn run(g: &Global, a: SchemaArgs) -> Result<i32, CliError> {
    let _ = g;
    let text = match a.which {
        SchemaKind::Specialist => crate::schema::specialist(),
        SchemaKind::Project => crate::schema::project(),
        SchemaKind::Team => crate::schema::team(),
    };
    print!("{text}");
    Ok(0)
}
