//! Configuration: `cadre.toml` and `specialists.d/*.toml` → validated,
//! resolved specs plus diagnostics. Prompts are rendered later, by
//! [`crate::prompt`]; [`crate::desired`] puts the two together.
//!
//! - [`types`]: the on-disk types (also the JSON Schemas); [`spec`]: the resolved form.
//! - [`mod@load`]: the whole directory → [`Parsed`]; [`files`] decides which files count.
//! - [`candidate`]: one file → a resolved [`Candidate`]; two files pinning one port.
//! - [`read`]: a file's bytes, regular files only, size-capped, never blocking.
//! - [`parse`]: bytes → types with located problems ([`source`] positions, [`suggest`] typos).
//! - [`registry`]: `[registry]`, the backend daemons share.
//! - [`resolve`]: defaults and providers; [`generation`]: the behaviour hash;
//!   [`health`]: `[health]` with its defaults, checked.
//! - [`consult`]: `[consult]`, the colleagues a model may ask, checked against the team.
//! - [`diff`]: the one field diff of two specs (`cadre plan` and `cadre diff`).
//! - `parallel`: per-file work (reading, rendering) spread over the cores for large teams.
//! - [`team`]: `teams.d/*.toml` → resolved team specs (checked against the specialists).
//! - [`diagnostic`]: a located problem; [`report`]: its renderings (text, one line,
//!   JSON, GitHub annotations); [`warnings`]: check-time warnings.

pub mod candidate;
pub mod consult;
pub mod diagnostic;
pub mod diff;
pub mod files;
pub mod generation;
pub mod health;
pub mod limits;
pub mod load;
pub mod name;
pub mod parallel;
pub mod parse;
pub mod read;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod source;
pub mod spec;
pub mod suggest;
pub mod team;
pub mod types;
pub mod warnings;

pub use candidate::Candidate;
pub use consult::Consult;
pub use diagnostic::{Diagnostic, Severity};
pub use health::HealthCheck;
pub use load::{Loaded, Parsed, ProjectPaths, load_project_file, load_registry, parse_all};
pub use name::{SpecialistName, TeamName};
pub use registry::RegistrySettings;
pub use spec::{ResolvedProvider, ResolvedTimeouts, Spec, SystemPrompt};
pub use types::*;
