//! Teams, the second kind of declared object: each team's file against the
//! version the daemon holds → add / change / remove / keep, with the same
//! last-known-good rule as specialists: a broken team file keeps the
//! version that runs (its mark comes from [`super::marks`]), a new broken
//! file adds nothing, a deleted file removes its team.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Actual;
use crate::config::team::TeamSpec;
use crate::config::{Loaded, TeamName, diff};

/// What happens to one team.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamActionKind {
    #[default]
    Keep,
    /// A new team file.
    Add,
    /// Its file changed: the next round uses the new version.
    Change,
    /// Its file is gone.
    Remove,
}

impl TeamActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamActionKind::Keep => "keep",
            TeamActionKind::Add => "add",
            TeamActionKind::Change => "change",
            TeamActionKind::Remove => "remove",
        }
    }
}

/// One step of a plan for a team. Serializes as `{"team", "action", "changed"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamAction {
    #[serde(rename = "team")]
    pub name: TeamName,
    #[serde(rename = "action")]
    pub kind: TeamActionKind,
    /// Dotted paths of the fields that differ (`members`, `mode`, `prompts`, …), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The version to hold after this step (every kind but remove).
    #[serde(skip)]
    pub spec: Option<Arc<TeamSpec>>,
}

impl TeamAction {
    fn new(name: &TeamName, kind: TeamActionKind, spec: Option<Arc<TeamSpec>>) -> TeamAction {
        TeamAction {
            name: name.clone(),
            kind,
            changed: Vec::new(),
            spec,
        }
    }

    pub fn is_change(&self) -> bool {
        self.kind != TeamActionKind::Keep
    }
}

impl fmt::Display for TeamAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} team {}", self.kind.as_str(), self.name)?;
        if !self.changed.is_empty() {
            write!(f, " ({})", self.changed.join(", "))?;
        }
        Ok(())
    }
}

/// Team fields that are identity, not behaviour.
const NOT_FIELDS: &[&str] = &["name", "file"];

/// The fields of two versions of a team that differ, sorted.
pub fn changed_fields(base: &TeamSpec, head: &TeamSpec) -> Vec<diff::FieldChange> {
    let value = |t: &TeamSpec| {
        let mut v = serde_json::to_value(t).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            for k in NOT_FIELDS {
                m.remove(*k);
            }
        }
        v
    };
    diff::values(&value(base), &value(head))
}

/// One action per team that has a file (valid or broken) or is held now.
pub(super) fn actions(loaded: &Loaded, actual: &Actual) -> Vec<TeamAction> {
    let failed: BTreeSet<TeamName> = loaded.failed_teams().into_iter().collect();
    let mut out = Vec::new();
    for team in loaded.teams.iter().filter(|t| !failed.contains(&t.name)) {
        out.push(compare(team, actual.teams.get(&team.name)));
    }
    // Last-known-good: a broken file keeps the version held; a broken new file adds nothing.
    for name in &failed {
        if let Some(held) = actual.teams.get(name) {
            out.push(TeamAction::new(
                name,
                TeamActionKind::Keep,
                Some(held.clone()),
            ));
        }
    }
    let declared = |n: &TeamName| failed.contains(n) || loaded.teams.iter().any(|t| &t.name == n);
    for name in actual.teams.keys().filter(|n| !declared(n)) {
        out.push(TeamAction::new(name, TeamActionKind::Remove, None));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn compare(team: &TeamSpec, held: Option<&Arc<TeamSpec>>) -> TeamAction {
    let Some(held) = held else {
        return TeamAction::new(
            &team.name,
            TeamActionKind::Add,
            Some(Arc::new(team.clone())),
        );
    };
    // Unchanged (every resync, for every team): the held one, no copy made.
    if **held == *team {
        return TeamAction::new(&team.name, TeamActionKind::Keep, Some(held.clone()));
    }
    let new = Arc::new(team.clone());
    let changed: Vec<String> = changed_fields(held, team)
        .into_iter()
        .map(|c| c.path)
        .collect();
    // Only the templates snapshot differs (a template the team does not
    // use): hold the new version quietly.
    let kind = if changed.is_empty() {
        TeamActionKind::Keep
    } else {
        TeamActionKind::Change
    };
    let mut a = TeamAction::new(&team.name, kind, Some(new));
    a.changed = changed;
    a
}

/// `cadre.toml` is broken: every team stays as it is held.
pub(super) fn hold(actual: &Actual) -> Vec<TeamAction> {
    actual
        .teams
        .iter()
        .map(|(n, t)| TeamAction::new(n, TeamActionKind::Keep, Some(t.clone())))
        .collect()
}
