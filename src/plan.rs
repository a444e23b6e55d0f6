//! Desired vs running specialists → one action each (DESIGN §6).
//!
//! Pure: no I/O, so `cadre plan` and the supervisor agree by construction and
//! every rule is a table test. A prompt, model, params or provider change is a
//! `reload` (swap in place, no socket touched); a host or pinned-port change is
//! a `restart`; a removed or disabled file is a `stop`. A specialist whose file
//! is broken is absent from `desired` but listed in `failed`: it keeps running
//! on its last good spec.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Spec, SpecialistName};

/// A specialist as it runs now.
#[derive(Debug, Clone)]
pub struct Actual {
    pub name: SpecialistName,
    /// The spec it runs (its last good one).
    pub spec: Arc<Spec>,
    /// The port it is bound to (allocated or pinned).
    pub port: u16,
    /// Stopped by the operator (`cadre stop NAME`): it stays stopped until `cadre start`.
    pub operator_stopped: bool,
}

/// What to do with one specialist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
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

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub name: SpecialistName,
    pub kind: ActionKind,
    /// Dotted paths of the fields that differ (`personality.prompt`, `port`, …), sorted.
    pub changed: Vec<String>,
    /// The spec to run after this action (start, reload, restart; keep when known).
    #[serde(skip)]
    pub spec: Option<Arc<Spec>>,
    /// A keep whose rendered prompt changed only because the team changed
    /// (a colleague added, removed or retitled: every prompt lists the team).
    /// The supervisor swaps `spec` in like a reload, but it is not reported
    /// as a change of this specialist.
    #[serde(skip)]
    pub refresh: bool,
}

impl Action {
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

/// Fields that change nothing at runtime, or that are compared by their own rule.
const NOT_COMPARED: &[&str] = &[
    "name",
    "file",
    "generation",
    "system_prompt",
    "port",
    "host",
    "enabled",
];

/// Compute the plan, sorted by name. `failed` names specialists whose file
/// exists but is invalid: a running one is kept as it is, none is started.
pub fn plan(desired: &[Spec], actual: &[Actual], failed: &[SpecialistName]) -> Vec<Action> {
    let desired: BTreeMap<&SpecialistName, &Spec> = desired.iter().map(|s| (&s.name, s)).collect();
    let actual: BTreeMap<&SpecialistName, &Actual> = actual.iter().map(|a| (&a.name, a)).collect();
    // The team as every prompt lists it: enabled desired specs, plus broken
    // files' specialists, which keep running on their last good spec.
    let mut want = roster(desired.values().copied().filter(|s| s.enabled));
    want.extend(roster(
        actual
            .values()
            .filter(|a| failed.contains(&a.name))
            .map(|a| &*a.spec),
    ));
    let team_changed = want != roster(actual.values().map(|a| &*a.spec));
    let mut names: Vec<&SpecialistName> = desired.keys().chain(actual.keys()).copied().collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let action = |kind, changed: Vec<String>, spec: Option<Arc<Spec>>| Action {
            name: name.clone(),
            kind,
            changed,
            spec,
            refresh: false,
        };
        match (desired.get(name), actual.get(name)) {
            (None, Some(a)) if failed.contains(name) => {
                out.push(action(ActionKind::Keep, Vec::new(), Some(a.spec.clone())));
            }
            (None, Some(_)) => out.push(action(ActionKind::Stop, Vec::new(), None)),
            (Some(d), None) if d.enabled => {
                out.push(action(
                    ActionKind::Start,
                    Vec::new(),
                    Some(Arc::new((*d).clone())),
                ));
            }
            (Some(_), None) | (None, None) => {}
            (Some(d), Some(_)) if !d.enabled => {
                out.push(action(ActionKind::Stop, vec!["enabled".into()], None));
            }
            (Some(d), Some(a)) => out.push(compare(name, d, a, team_changed)),
        }
    }
    out
}

type Roster<'a> = BTreeMap<&'a str, [&'a str; 4]>;

fn roster<'a>(specs: impl Iterator<Item = &'a Spec>) -> Roster<'a> {
    specs
        .map(|s| {
            (
                s.name.as_str(),
                [
                    s.component.as_str(),
                    s.title.as_str(),
                    s.personality.role.as_str(),
                    s.description.as_str(),
                ],
            )
        })
        .collect()
}

fn compare(name: &SpecialistName, desired: &Spec, actual: &Actual, team_changed: bool) -> Action {
    // The common case on every reload: nothing about this one changed. Spec
    // equality is cheap (a shared prompt compares by pointer) where the field
    // diff below serializes both specs.
    if desired == &*actual.spec && desired.port.is_none_or(|p| p == actual.port) {
        return Action {
            name: name.clone(),
            kind: ActionKind::Keep,
            changed: Vec::new(),
            spec: Some(actual.spec.clone()),
            refresh: false,
        };
    }
    let mut changed = Vec::new();
    let mut restart = false;
    if desired.host != actual.spec.host {
        changed.push("host".to_owned());
        restart = true;
    }
    // An unpinned port keeps whatever it is bound to.
    if desired.port.is_some_and(|p| p != actual.port) {
        changed.push("port".to_owned());
        restart = true;
    }
    let mut fields = Vec::new();
    let old = comparable(&actual.spec);
    let new = comparable(desired);
    diff("", &old, &new, &mut fields);
    fields.retain(|f| !NOT_COMPARED.contains(&f.split('.').next().unwrap_or("")));
    // Only the rendered prompt differs: the team changed (a quiet refresh),
    // or else a template was edited (a reload worth reporting).
    let prompt_only = fields.is_empty() && desired.system_prompt != actual.spec.system_prompt;
    let refresh = prompt_only && team_changed && !actual.operator_stopped;
    if prompt_only && !team_changed {
        fields.push("system_prompt".to_owned());
    }
    changed.extend(fields);
    changed.sort();
    changed.dedup();
    let kind = if restart {
        ActionKind::Restart
    } else if !changed.is_empty() {
        ActionKind::Reload
    } else {
        ActionKind::Keep
    };
    // An operator-stopped specialist stays stopped; it picks up the new spec when started.
    let (kind, changed) = if actual.operator_stopped {
        (ActionKind::Keep, Vec::new())
    } else {
        (kind, changed)
    };
    let refresh = refresh && kind == ActionKind::Keep;
    Action {
        name: name.clone(),
        kind,
        changed,
        spec: Some(Arc::new(desired.clone())),
        refresh,
    }
}

/// `spec` as a JSON tree for [`diff`], without the rendered prompt: the
/// prompt is compared on its own, and serializing it (42 KB per specialist
/// at N = 1000) for every specialist on every reload was most of a plan.
fn comparable(spec: &Spec) -> Value {
    let mut s = spec.clone();
    s.system_prompt = Default::default();
    serde_json::to_value(&s).unwrap_or(Value::Null)
}

/// Collect the dotted paths where `a` and `b` differ. A `{secs, nanos}` object
/// (a serialized `Duration`) counts as one value.
fn diff(prefix: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if !is_duration(x) && !is_duration(y) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff(&path, p, q, out),
                    (None, None) => {}
                    _ => out.push(path),
                }
            }
        }
        _ if a != b => out.push(prefix.to_owned()),
        _ => {}
    }
}

fn is_duration(m: &serde_json::Map<String, Value>) -> bool {
    m.len() == 2 && m.contains_key("secs") && m.contains_key("nanos")
}

#[cfg(test)]
mod tests;
