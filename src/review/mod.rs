//! Review of a config change (DESIGN §11): what a pull request does to the
//! team, not only which TOML lines moved. Both sides are loaded with the same
//! loader `up` uses, so a template or default edited in one place shows on
//! every specialist it reaches.
//!
//! - [`side`]: a directory or git revision → a loaded project.
//! - [`compare`]: two loaded projects → per-specialist changes.
//! - [`render`]: the changes as text, markdown (a PR comment) or JSON.
//! - [`teams`]: per-team changes and rendered prompt diffs.
//! - [`provenance`]: the commit each specialist's files come from.

pub mod compare;
pub mod provenance;
pub mod render;
pub mod side;
pub mod teams;

pub use compare::{FieldChange, Kind, Review, SpecialistChange, compare};
pub use side::{Side, SideError};
