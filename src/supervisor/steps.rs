//! The supervisor's view of a plan: one step per specialist with the fields
//! that changed. This is also the wire form of the control socket's `plan`
//! reply and of `cadre plan --json`, so it stays small and stable.
//!
//! The pure diff itself lives in [`crate::plan`]; [`compute`] adapts it.

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::config::Spec;
use crate::plan::{ActionKind, Actual};

/// What happens to one specialist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Keep,
    Start,
    Reload,
    Restart,
    Stop,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Keep => "keep",
            StepKind::Start => "start",
            StepKind::Reload => "reload",
            StepKind::Restart => "restart",
            StepKind::Stop => "stop",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub action: StepKind,
    /// Dotted field paths that changed (reload/restart), e.g. `personality.prompt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// A keep whose rendered prompt changed only because the team changed:
    /// applied silently as a reload, never reported as a change.
    #[serde(skip)]
    pub refresh: bool,
}

impl Step {
    /// `reload numa (personality.prompt)`, `start hermes`.
    pub fn line(&self) -> String {
        if self.changed.is_empty() {
            format!("{} {}", self.action.as_str(), self.name)
        } else {
            format!(
                "{} {} ({})",
                self.action.as_str(),
                self.name,
                self.changed.join(", ")
            )
        }
    }
}

/// Desired (enabled, valid or last-good, not operator-stopped) versus the
/// running specs with their bound ports.
pub fn compute(desired: &[Spec], actual: &[(Arc<Spec>, u16)]) -> Vec<Step> {
    let actual: Vec<Actual> = actual
        .iter()
        .map(|(spec, port)| Actual {
            name: spec.name.clone(),
            spec: spec.clone(),
            port: *port,
            operator_stopped: false,
        })
        .collect();
    crate::plan::plan(desired, &actual, &[])
        .into_iter()
        .map(|a| Step {
            name: a.name.to_string(),
            action: match a.kind {
                ActionKind::Keep => StepKind::Keep,
                ActionKind::Start => StepKind::Start,
                ActionKind::Reload => StepKind::Reload,
                ActionKind::Restart => StepKind::Restart,
                ActionKind::Stop => StepKind::Stop,
            },
            changed: a.changed,
            refresh: a.refresh,
        })
        .collect()
}
