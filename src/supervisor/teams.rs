//! The teams the daemon holds: a plan's team actions applied (nothing to
//! bind or drain: a team is its definition, and a round reads the version
//! held when it starts), and the teams as `cadre teams` and the API show them.

use std::sync::Arc;

use serde::Serialize;

use crate::config::team::TeamSpec;
use crate::plan::{TeamAction, TeamActionKind};

use super::events::{EventKind, ReconcileEvent};
use super::{Supervisor, Trigger};

/// Where a team is, as `cadre teams` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamState {
    /// Its version is its file's.
    Ready,
    /// Its file is broken: it runs on its last good version.
    ConfigError,
}

impl TeamState {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamState::Ready => "ready",
            TeamState::ConfigError => crate::registry::State::ConfigError.as_str(),
        }
    }
}

/// A team as the supervisor holds it.
#[derive(Debug, Clone)]
pub struct TeamView {
    pub spec: Arc<TeamSpec>,
    pub state: TeamState,
    /// Its config error (`file:line: message`) while its file is broken.
    pub last_error: Option<String>,
}

impl Supervisor {
    /// Hold what the plan says each team is now, and report it.
    pub(super) fn apply_teams(&mut self, actions: Vec<TeamAction>, trigger: Trigger) {
        for a in actions {
            let name = format!("team/{}", a.name);
            match (a.kind, a.spec) {
                (TeamActionKind::Remove, _) => {
                    if self.teams.remove(&a.name).is_some() {
                        self.emit(ReconcileEvent::new(EventKind::Stop, name, "file deleted"));
                    }
                }
                (kind, Some(spec)) => {
                    self.teams.insert(a.name.clone(), spec);
                    let ev = match kind {
                        TeamActionKind::Add => {
                            let why = if trigger == Trigger::Startup {
                                "startup"
                            } else {
                                "new file"
                            };
                            ReconcileEvent::new(EventKind::Start, name, why)
                        }
                        TeamActionKind::Change => {
                            ReconcileEvent::new(EventKind::Reload, name, "file changed")
                                .with_changed(a.changed)
                        }
                        _ => continue,
                    };
                    self.emit(ev);
                }
                (_, None) => {}
            }
        }
    }

    /// Every team held, by name.
    pub(super) fn team_views(&self) -> Vec<TeamView> {
        self.teams
            .iter()
            .map(|(name, spec)| {
                let mark = self.marks.of_team(name);
                TeamView {
                    spec: spec.clone(),
                    state: if mark.is_some() {
                        TeamState::ConfigError
                    } else {
                        TeamState::Ready
                    },
                    last_error: mark.map(str::to_owned),
                }
            })
            .collect()
    }
}
