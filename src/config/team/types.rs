//! The on-disk type of `teams.d/NAME.toml`: parsing (serde, unknown keys are
//! errors) and the JSON Schema (`schemas/team.schema.json`) come from it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One team, declared by `teams.d/NAME.toml`; the file stem is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamFile {
    /// A short human title, shown by `cadre teams`, the pages and the team's agent card.
    pub title: String,
    /// One or two sentences saying what the team is for.
    #[serde(default)]
    pub description: String,
    /// Specialist names, or `["*"]` for every enabled specialist.
    #[schemars(length(min = 1))]
    pub members: Vec<String>,
    /// How the members confer (default `broadcast`).
    #[serde(default)]
    pub mode: TeamMode,
    /// A specialist who writes the synthesis (`synthesis`, and optionally
    /// `discussion`) or picks who answers (`route`); need not be a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderator: Option<String>,
    /// `discussion` only: how many rounds (1 to 5, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub rounds: Option<u8>,
    /// `route` only: whether the moderator sums up the chosen members' answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<bool>,
    /// How long one member's answer in one round may take ("90s", "2m"; default 120s).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub member_timeout: Option<Duration>,
    /// A bound on a whole round; a member still answering then is silent in it.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub round_timeout: Option<Duration>,
    /// Template in `templates/` for the round and moderator prompts; defaults to `team.md.j2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// How a team's members confer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamMode {
    /// Every member answers the question at once.
    #[default]
    Broadcast,
    /// Rounds: from the second on, each member reads the others' previous answers and answers again.
    Discussion,
    /// A broadcast, then the moderator writes one answer from all of them.
    Synthesis,
    /// The moderator picks 1 to 3 members, who answer.
    Route,
}

impl TeamMode {
    pub const ALL: [TeamMode; 4] = [
        TeamMode::Broadcast,
        TeamMode::Discussion,
        TeamMode::Synthesis,
        TeamMode::Route,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TeamMode::Broadcast => "broadcast",
            TeamMode::Discussion => "discussion",
            TeamMode::Synthesis => "synthesis",
            TeamMode::Route => "route",
        }
    }
}

impl std::fmt::Display for TeamMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spells_every_mode_as_as_str_does() {
        for m in TeamMode::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }
}
