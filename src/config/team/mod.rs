//! Teams (DESIGN §12): `teams.d/NAME.toml` → a resolved [`TeamSpec`] plus
//! diagnostics, loaded beside the specialists and reconciled like them.
//!
//! - [`types`]: the on-disk type (also `schemas/team.schema.json`).
//! - [`mod@read`]: one file → a [`Draft`], with the rules a file can be checked
//!   against alone (mode, moderator, rounds, timeouts, member names).
//! - [`resolve`]: drafts against the loaded specialists → [`TeamSpec`]s:
//!   unknown members and moderators are errors, disabled ones warnings,
//!   `["*"]` becomes every enabled specialist.
//!
//! The round and moderator prompts are rendered by [`crate::prompt::rounds`];
//! a team whose template does not render is broken like one whose file is.

pub mod read;
pub mod resolve;
pub mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{SpecialistName, TeamName};
use crate::prompt::TemplateSources;

pub use read::{Draft, read_all};
pub use types::{TeamFile, TeamMode};

/// A member's answer in one round may take this long unless the file says otherwise.
pub const DEFAULT_MEMBER_TIMEOUT: Duration = Duration::from_secs(120);
/// Rounds of a discussion unless the file says otherwise.
pub const DEFAULT_ROUNDS: u8 = 2;
/// The most rounds a discussion may have.
pub const MAX_ROUNDS: u8 = 5;
/// The most members a routing reply may name.
pub const MAX_ROUTED: usize = 3;
/// The round and moderator prompts' template unless the file names one.
pub const DEFAULT_TEAM_TEMPLATE: &str = "team.md.j2";

/// One team, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamSpec {
    pub name: TeamName,
    /// The file it came from.
    pub file: PathBuf,
    pub title: String,
    pub description: String,
    pub mode: TeamMode,
    /// Declared as `["*"]`: `members` is every enabled specialist of this load.
    pub everyone: bool,
    /// In the file's order (sorted by name for `["*"]`).
    pub members: Vec<SpecialistName>,
    pub moderator: Option<SpecialistName>,
    /// Rounds of member answers: the file's for a discussion, else 1.
    pub rounds: u8,
    /// Whether the moderator writes a closing synthesis.
    pub synthesis: bool,
    #[serde(with = "humantime_serde")]
    pub member_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub round_timeout: Option<Duration>,
    pub template: String,
    /// The prompts as rendered for a sample question (what `cadre diff` compares).
    #[serde(rename = "prompts")]
    pub previews: Vec<Preview>,
    /// Members' and the moderator's titles and roles, as the prompts name them.
    #[serde(skip)]
    pub people: BTreeMap<SpecialistName, Person>,
    /// The templates the team renders its prompts from at run time: the
    /// snapshot its previews rendered, so a running team keeps its last
    /// good templates while a broken edit is fixed.
    #[serde(skip)]
    pub templates: Templates,
    /// Hash of what the team does (its card's version).
    #[serde(skip)]
    pub generation: String,
}

impl TeamSpec {
    /// A member's deadline in one round: `member_timeout`, cut to `round_timeout`.
    pub fn deadline(&self) -> Duration {
        match self.round_timeout {
            Some(r) => r.min(self.member_timeout),
            None => self.member_timeout,
        }
    }
}

/// A member or moderator as the team's prompts name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub title: String,
    pub role: String,
    pub description: String,
}

/// Which prompt a [`Preview`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptKind {
    /// What a member reads in round k > 1 of a discussion.
    Round,
    /// What the moderator reads to write the synthesis.
    Synthesis,
    /// What the moderator reads to pick who answers.
    Route,
}

impl PromptKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PromptKind::Round => "round",
            PromptKind::Synthesis => "synthesis",
            PromptKind::Route => "route",
        }
    }
}

/// One prompt of a team, rendered for a sample question and sample answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub kind: PromptKind,
    pub text: String,
}

/// A snapshot of `templates/`, shared; equal when the texts are.
#[derive(Debug, Clone, Default)]
pub struct Templates(pub Arc<TemplateSources>);

impl PartialEq for Templates {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}
