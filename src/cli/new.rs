//! `cadre new`: a starter specialist file that passes `check`, so adding a
//! specialist starts from something valid rather than a blank page.

use std::io::Write;

use clap::Args;

use super::{CliError, Global};
use crate::config::SpecialistName;

/// Arguments of `cadre new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the new specialist (the file stem).
    pub name: String,
    /// Component it speaks for (defaults to the name).
    #[arg(long)]
    pub component: Option<String>,
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
    let name = SpecialistName::parse(&a.name)?;
    let component = a.component.unwrap_or_else(|| name.to_string());
    std::fs::create_dir_all(&g.dir)
        .map_err(CliError::io(format!("creating {}", g.dir.display())))?;
    let path = g.dir.join(format!("{name}.toml"));
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
    f.write_all(starter(&name, &component).as_bytes())
        .map_err(CliError::io(format!("writing {}", path.display())))?;
    println!("wrote {}", path.display());
    Ok(0)
}
