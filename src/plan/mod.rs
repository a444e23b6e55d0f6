//! The files as loaded vs what runs → what to do (DESIGN §6). The whole
//! reconcile policy lives here, as one pure function:
//!
//! - **last-known-good, per file**: a broken file's specialist keeps running
//!   on its last good spec; a new broken file starts nothing; a specialist
//!   whose prompt came from `templates/` keeps it while that directory is
//!   missing, rather than silently taking the built-in template ([`want`]);
//! - **config error marks**: which files and specialists are marked
//!   `config_error`, and which marks appeared or cleared ([`marks`]);
//! - **operator stops**: `cadre stop NAME` holds until `cadre start NAME` or
//!   until its file is gone ([`want`]);
//! - **names held by another daemon** on this host: nothing runs, the name
//!   is marked `config_error`, and the holder's exit is a takeover ([`held`]);
//! - **port claims**: a start or a move asks for its pinned port, else the
//!   port it had; a pinned port that a specialist which keeps running holds
//!   is refused with a config error, not fought over ([`claims`]);
//! - keep / start / reload / restart / stop per specialist: a prompt, model,
//!   params or provider change is a reload (swap in place, no socket touched),
//!   a host or pinned-port change a restart, a removed or disabled file a
//!   stop ([`actions`]).
//!
//! - teams, the second kind of declared object: add / change / remove / keep
//!   per team file, last-known-good per file over the same [`Marks`]
//!   ([`teams`]).
//!
//! No I/O and no clock: the daemon applies [`plan`]'s result, `cadre plan`
//! prints the same function's result, and the table tests below are the
//! daemon's behaviour.

mod actions;
mod claims;
pub mod held;
mod marks;
mod teams;
mod want;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::team::TeamSpec;
use crate::config::{Limits, Loaded, Spec, SpecialistName, TeamName};

pub use held::Holder;
pub use marks::{Effect, Marks, Notice, Subject};
pub use teams::{TeamAction, TeamActionKind, changed_fields as team_fields};

/// Where a known specialist is in its life, as the supervisor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Its listener runs.
    Serving,
    /// It could not start or its listener died; it waits for a retry.
    Failed,
    /// Its listener is closed; in-flight chats are finishing.
    Draining,
    /// Stopped by the operator; `cadre start` resumes it.
    Stopped,
}

/// One specialist the supervisor knows.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The spec it runs, or ran last: its last good one.
    pub spec: Arc<Spec>,
    /// The port it is bound to, or was last (0 if it never started).
    pub port: u16,
    pub phase: Phase,
    /// A failed start or move waits for its retry time (exponential backoff).
    pub backoff: bool,
}

/// What runs now, the config errors marked so far, and the registry's
/// word on names other daemons serve.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    pub specialists: BTreeMap<SpecialistName, Instance>,
    /// The version of each team the daemon holds (its last good one while its file is broken).
    pub teams: BTreeMap<TeamName, Arc<TeamSpec>>,
    pub marks: Marks,
    /// Names another live daemon on this host serves, with who it is.
    pub held: BTreeMap<SpecialistName, Holder>,
    /// The names the last plan held back ([`Plan::waiting`]).
    pub waiting: BTreeMap<SpecialistName, Holder>,
}

/// The operator's overrides (`cadre stop NAME`, `cadre start NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operator {
    pub stopped: BTreeSet<SpecialistName>,
}

/// What happens to one specialist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    #[default]
    Keep,
    Start,
    Reload,
    Restart,
    Stop,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Keep => "keep",
            ActionKind::Start => "start",
            ActionKind::Reload => "reload",
            ActionKind::Restart => "restart",
            ActionKind::Stop => "stop",
        }
    }
}

/// Why a specialist starts or stops (the reason its event gives).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cause {
    /// Keeps, reloads and restarts: the fields in `changed` say why.
    #[default]
    Changed,
    /// A file nothing ran from before.
    NewFile,
    /// `cadre start` after `cadre stop`.
    OperatorStart,
    /// Its retry time after a failure has come.
    Retry,
    FileDeleted,
    /// `enabled = false`.
    Disabled,
    /// `cadre stop`.
    OperatorStop,
    /// Another daemon on this host holds the name.
    Held,
    /// The daemon that held the name left.
    Takeover,
}

/// The port a start or a move asks the registry for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Claim {
    /// The lowest free port of the range.
    #[default]
    Any,
    /// This one or nothing (the file pins it).
    Pinned(u16),
    /// This one if free (the port it had), else any.
    Prefer(u16),
}

/// One step of a plan. Serializes as the control socket's and `cadre plan
/// --json`'s wire form: `{"name", "action", "changed"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub name: SpecialistName,
    #[serde(rename = "action")]
    pub kind: ActionKind,
    /// Dotted paths of the fields that differ (`personality.prompt`, `port`, …), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The spec to run after this action (start, reload, restart, keep).
    #[serde(skip)]
    pub spec: Option<Arc<Spec>>,
    /// A keep whose rendered prompt changed only because the team changed
    /// (a colleague added, removed or retitled: every prompt lists the team).
    /// Swapped in like a reload, but not reported as a change.
    #[serde(skip)]
    pub refresh: bool,
    #[serde(skip)]
    pub cause: Cause,
    /// Starts and restarts: the port to ask for.
    #[serde(skip)]
    pub claim: Claim,
}

impl Action {
    pub fn new(name: SpecialistName, kind: ActionKind, spec: Option<Arc<Spec>>) -> Action {
        Action {
            name,
            kind,
            changed: Vec::new(),
            spec,
            refresh: false,
            cause: Cause::default(),
            claim: Claim::default(),
        }
    }

    /// Anything other than keep.
    pub fn is_change(&self) -> bool {
        self.kind != ActionKind::Keep
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.name)?;
        if !self.changed.is_empty() {
            write!(f, " ({})", self.changed.join(", "))?;
        }
        Ok(())
    }
}

/// Project-wide settings a plan puts in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub limits: Limits,
    pub range: [u16; 2],
}

/// What to do, and what to report.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One per known or declared specialist that exists on either side, by name; keeps included.
    pub actions: Vec<Action>,
    /// One per team held or declared, by name; keeps included.
    pub teams: Vec<TeamAction>,
    /// Every config error now: what `status` shows as `config_error`.
    pub config_errors: Marks,
    /// The marks that appeared, changed or cleared: the config events.
    pub notices: Vec<Notice>,
    /// The operator's stops that still mean something (their file exists).
    pub operator: Operator,
    /// `None` while `cadre.toml` is broken: nothing changes, every setting stays.
    pub settings: Option<Settings>,
    /// Declared names another daemon holds: run nothing, take over when it leaves.
    pub waiting: BTreeMap<SpecialistName, Holder>,
}

impl Plan {
    /// The actions other than keep.
    pub fn changes(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.is_change())
    }

    /// The team actions other than keep.
    pub fn team_changes(&self) -> impl Iterator<Item = &TeamAction> {
        self.teams.iter().filter(|a| a.is_change())
    }
}

/// The plan for `loaded` against `actual`, with the operator's overrides.
pub fn plan(loaded: &Loaded, actual: &Actual, operator: &Operator) -> Plan {
    if !loaded.project_ok {
        return hold(loaded, actual, operator);
    }
    let mut errors = marks::of_files(loaded);
    let lost = want::lost_templates(loaded, actual);
    for (name, why) in &lost {
        errors.insert(Subject::Specialist(name.clone()), why.clone());
    }
    let mut wants = want::wants(loaded, actual, operator, &lost);
    let (held, waiting) = held::hold_back(&mut wants, actual);
    errors.extend(held);
    let mut actions = actions::all(&wants, actual);
    held::takeovers(&mut actions, actual);
    errors.extend(claims::settle(&mut actions, actual));
    let notices = marks::notices(&actual.marks, &errors, actual);
    Plan {
        actions,
        teams: if loaded.teams_unlisted {
            teams::hold(actual)
        } else {
            teams::actions(loaded, actual)
        },
        config_errors: errors,
        notices,
        operator: want::still_stopped(loaded, operator),
        settings: Some(Settings {
            limits: loaded.project.limits.clone(),
            range: loaded.project.ports.range,
        }),
        waiting,
    }
}

/// `cadre.toml` is broken: every specialist keeps running as it is, every
/// other mark stays, and the project's own error is marked.
fn hold(loaded: &Loaded, actual: &Actual, operator: &Operator) -> Plan {
    let mut errors = actual.marks.clone();
    errors.set(Subject::Project, marks::project_error(loaded));
    let notices = marks::notices(&actual.marks, &errors, actual);
    let actions = actual
        .specialists
        .iter()
        .map(|(name, i)| Action::new(name.clone(), ActionKind::Keep, Some(i.spec.clone())))
        .collect();
    Plan {
        actions,
        teams: teams::hold(actual),
        config_errors: errors,
        notices,
        operator: operator.clone(),
        settings: None,
        waiting: actual.waiting.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
