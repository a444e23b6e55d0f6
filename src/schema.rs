//! JSON Schemas of the config files, generated from the same Rust types that
//! parse them, so editors (via the `#:schema` line) and cadre never disagree.
//! `schemas/*.json` are committed copies; a test fails when they drift.

use crate::config::team::TeamFile;
use crate::config::{ProjectFile, SpecialistFile};

fn pretty(schema: schemars::Schema) -> String {
    // A Schema is a JSON value; serializing it cannot fail.
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The schema of `specialists.d/*.toml` (what `cadre schema` prints).
pub fn specialist() -> String {
    pretty(schemars::schema_for!(SpecialistFile))
}

/// The schema of `cadre.toml` (what `cadre schema project` prints).
pub fn project() -> String {
    pretty(schemars::schema_for!(ProjectFile))
}

/// The schema of `teams.d/*.toml` (what `cadre schema team` prints).
pub fn team() -> String {
    pretty(schemars::schema_for!(TeamFile))
}
