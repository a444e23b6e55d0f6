//! The supervisor's view of a plan: one step per specialist with the fields
//! that changed. This is also the wire form of the control socket's `plan`
//! reply and of `cadre plan --json`, so it stays small and stable.
//!
//! The pure diff itself lives in `crate::plan`; [`compute`] adapts it.

use serde::{Deserialize, Serialize};

use crate::config::Spec;

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

/// Desired (enabled, valid, not operator-stopped) versus running specs.
pub fn compute(desired: &[Spec], actual: &[Spec]) -> Vec<Step> {
    let mut steps = Vec::new();
    for d in desired {
        match actual.iter().find(|a| a.name == d.name) {
            None => steps.push(step(d, StepKind::Start, Vec::new())),
            Some(a) => {
                let changed = changed_fields(a, d);
                let kind = if changed.is_empty() {
                    StepKind::Keep
                } else if changed.iter().any(|f| f == "host" || f == "port") {
                    StepKind::Restart
                } else {
                    StepKind::Reload
                };
                steps.push(step(d, kind, changed));
            }
        }
    }
    for a in actual {
        if !desired.iter().any(|d| d.name == a.name) {
            steps.push(step(a, StepKind::Stop, Vec::new()));
        }
    }
    steps.sort_by(|x, y| x.name.cmp(&y.name));
    steps
}

fn step(spec: &Spec, action: StepKind, changed: Vec<String>) -> Step {
    Step {
        name: spec.name.to_string(),
        action,
        changed,
    }
}

/// Fields that differ, by their dotted path in the file.
fn changed_fields(old: &Spec, new: &Spec) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |name: &str, differ: bool| {
        if differ {
            out.push(name.to_owned());
        }
    };
    cmp("component", old.component != new.component);
    cmp("title", old.title != new.title);
    cmp("description", old.description != new.description);
    cmp("model", old.model != new.model);
    cmp("provider", old.provider != new.provider);
    cmp("host", old.host != new.host);
    cmp("port", old.port != new.port);
    cmp("template", old.template != new.template);
    let (p, q) = (&old.personality, &new.personality);
    cmp("personality.role", p.role != q.role);
    cmp("personality.expertise", p.expertise != q.expertise);
    cmp("personality.focus", p.focus != q.focus);
    cmp("personality.style", p.style != q.style);
    cmp("personality.prompt", p.prompt != q.prompt);
    cmp("personality.vars", p.vars != q.vars);
    cmp("params", old.params != new.params);
    cmp("health", old.health != new.health);
    if out.is_empty() && old.system_prompt != new.system_prompt {
        // A template or team change: the rendered prompt moved on its own.
        out.push("system_prompt".to_owned());
    }
    out
}
