//! `cadre new`: a starter specialist file (or, with `--team`, a team file in
//! teams.d) that passes `check`, so adding one starts from something valid
//! rather than a blank page.

use std::io::Write;

use clap::Args;

use super::{CliError, Global};
use crate::config::{ProjectPaths, SpecialistName, TeamName};

/// Arguments of `cadre new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the new specialist (the file stem).
    pub name: String,
    /// Component it speaks for (defaults to the name).
    #[arg(long, conflicts_with = "team")]
    pub component: Option<String>,
    /// Write a team file, teams.d/NAME.toml, instead of a specialist.
    #[arg(long)]
    pub team: bool,
}

/// The starter team file for `name`: every enabled specialist, once, with
/// the other modes shown as comments.
pub fn team_starter(name: &TeamName) -> String {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut title = name.as_str().chars();
    let title: String = title
        .next()
        .map(|f| f.to_uppercase().chain(title).collect())
        .unwrap_or_default();
    format!(
        r#"#:schema ../schemas/team.schema.json
# {name}: pick members and a mode, then run `cadre check`.
title = {title}
description = {description}
members = ["*"]              # or names: ["prometheus", "metis", "telos"]
mode = "broadcast"           # broadcast | discussion | synthesis | route
# rounds = 2                 # discussion: 1..=5
# moderator = "numa"         # required for synthesis and route; closes a discussion with a synthesis
# member_timeout = "120s"    # a slower member is silent in that round
"#,
        title = q(&title),
        description = q(&format!("The {name} team.")),
    )
}

/// The starter file for `name`; TOML strings are written with `{:?}`-safe quoting.
pub fn starter(name: &SpecialistName, component: &str) -> String {
    let title = {
        let mut c = name.as_str().chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    format!(
        r#"#:schema ../schemas/specialist.schema.json
# {name}: edit the personality below, then run `cadre check`.
component = {component}
title = {title}
description = {description}
# provider = "ollama"        # or a [providers.NAME] of cadre.toml
# model = "llama3.3:70b"
# port = 45100               # pinned; allocated from [ports] range when absent

[personality]
role = "specialist"
expertise = []
focus = []
style = "Clear and brief."
prompt = """
Answer questions about {component_plain}. When a question belongs to a colleague, say so and name them.
"""
"#,
        component = q(component),
        title = q(&title),
        description = q(&format!("Speaks for the {component} component.")),
        component_plain = component.replace('"', "'"),
    )
}

pub fn run(g: &Global, a: NewArgs) -> Result<i32, CliError> {
    if a.team {
        let name = TeamName::parse(&a.name)?;
        let dir = ProjectPaths::from_specialists_dir(&g.dir).teams;
        return create(&dir, &format!("{name}.toml"), &team_starter(&name));
    }
    let name = SpecialistName::parse(&a.name)?;
    let component = a.component.unwrap_or_else(|| name.to_string());
    create(&g.dir, &format!("{name}.toml"), &starter(&name, &component))
}

/// Write `text` to a new `dir/file`, refusing to replace one.
fn create(dir: &std::path::Path, file: &str, text: &str) -> Result<i32, CliError> {
    std::fs::create_dir_all(dir).map_err(CliError::io(format!("creating {}", dir.display())))?;
    let path = dir.join(file);
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Refused(format!(
                "{} already exists",
                path.display()
            )));
        }
        Err(e) => return Err(CliError::io(format!("creating {}", path.display()))(e)),
    };
    f.write_all(text.as_bytes())
        .map_err(CliError::io(format!("writing {}", path.display())))?;
    println!("wrote {}", path.display());
    Ok(0)
}
