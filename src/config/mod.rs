//! Configuration: `cadre.toml` and `specialists.d/*.toml` → validated [`Spec`]s plus diagnostics.

pub mod load;
pub mod name;
pub mod spec;
pub mod types;

pub use load::{Diagnostic, Loaded, ProjectPaths, Severity, load};
pub use name::SpecialistName;
pub use spec::{ResolvedProvider, ResolvedTimeouts, Spec};
pub use types::*;
