//! Configuration: `cadre.toml` and `specialists.d/*.toml` → validated [`Spec`]s plus diagnostics.
//!
//! - [`types`]: the on-disk types (also the JSON Schemas); [`spec`]: the resolved form.
//! - [`mod@load`]: the whole directory → [`Loaded`]; [`files`] decides which files count.
//! - [`parse`]: bytes → types with located problems ([`source`] positions, [`suggest`] typos).
//! - [`prompts`]: rendering every prompt against the team, with a [`RenderCache`] across loads.
//! - [`resolve`]: defaults and providers; [`generation`]: the behaviour hash.
//! - `parallel`: per-file work (reading, rendering) spread over the cores for large teams.
//! - [`report`]: diagnostics as text, JSON or GitHub annotations; [`warnings`]: check-time warnings.

pub mod files;
pub mod generation;
pub mod load;
pub mod name;
mod parallel;
pub mod parse;
pub mod prompts;
pub mod report;
pub mod resolve;
pub mod source;
pub mod spec;
pub mod suggest;
pub mod types;
pub mod warnings;

pub use load::{Diagnostic, Loaded, ProjectPaths, Severity, load, load_cached, load_project_file};
pub use name::SpecialistName;
pub use prompts::RenderCache;
pub use spec::{ResolvedProvider, ResolvedTimeouts, Spec, SystemPrompt};
pub use types::*;
