//! One action per specialist: its want (what it should run) against its
//! instance (what runs). The field diff is [`crate::config::diff`], the one
//! `cadre diff` uses too.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::want::Want;
use super::{Action, ActionKind, Actual, Cause, Claim, Instance, Phase};
use crate::config::{Spec, SpecialistName, diff};

/// Fields with a rule of their own: `host`, `advertise` and a pinned `port`
/// restart (the registry records the address), `enabled = false` stops.
const OWN_RULE: &[&str] = &["host", "advertise", "port", "enabled"];

/// Every specialist's action, by name.
pub(super) fn all(wants: &BTreeMap<SpecialistName, Want>, actual: &Actual) -> Vec<Action> {
    // Every prompt lists the team, so a change of the team (who runs, their
    // titles and roles) re-renders every prompt: a quiet refresh, not a reload.
    let running = roster(
        actual
            .specialists
            .values()
            .filter(|i| i.phase == Phase::Serving)
            .map(|i| &*i.spec),
    );
    let wanted = roster(wants.values().filter_map(|w| match w {
        Want::Run(spec) => Some(&**spec),
        Want::Not(_) => None,
    }));
    let team_changed = running != wanted;
    wants
        .iter()
        .filter_map(|(name, want)| one(name, want, actual.specialists.get(name), team_changed))
        .collect()
}

fn one(
    name: &SpecialistName,
    want: &Want,
    instance: Option<&Instance>,
    team_changed: bool,
) -> Option<Action> {
    let action = match (want, instance) {
        (Want::Run(spec), None) => start(name, spec, Cause::NewFile, None),
        (Want::Run(spec), Some(i)) => match i.phase {
            Phase::Serving => compare(name, spec, i, team_changed),
            // Its retry time has not come: wait.
            Phase::Failed if i.backoff => keep(name, i),
            Phase::Failed => start(name, spec, Cause::Retry, Some(i)),
            Phase::Stopped => start(name, spec, Cause::OperatorStart, Some(i)),
            Phase::Draining => start(name, spec, Cause::NewFile, Some(i)),
        },
        (Want::Not(cause), Some(i)) => match i.phase {
            Phase::Draining => keep(name, i),
            Phase::Stopped if *cause == Cause::OperatorStop => keep(name, i),
            // Serving: drain it; failed or stopped: forget it.
            Phase::Serving | Phase::Failed | Phase::Stopped => stop(name, *cause),
        },
        (Want::Not(_), None) => return None,
    };
    Some(action)
}

fn keep(name: &SpecialistName, i: &Instance) -> Action {
    Action::new(name.clone(), ActionKind::Keep, Some(i.spec.clone()))
}

fn stop(name: &SpecialistName, cause: Cause) -> Action {
    let mut a = Action::new(name.clone(), ActionKind::Stop, None);
    if cause == Cause::Disabled {
        a.changed.push("enabled".into());
    }
    a.cause = cause;
    a
}

/// A start asks for its pinned port, else the port it had.
fn start(name: &SpecialistName, spec: &Arc<Spec>, cause: Cause, had: Option<&Instance>) -> Action {
    let mut a = Action::new(name.clone(), ActionKind::Start, Some(spec.clone()));
    a.cause = cause;
    a.claim = match (spec.port, had.map(|i| i.port)) {
        (Some(p), _) => Claim::Pinned(p),
        (None, Some(p)) if p != 0 => Claim::Prefer(p),
        _ => Claim::Any,
    };
    a
}

/// A serving specialist against the spec it should run.
fn compare(name: &SpecialistName, desired: &Arc<Spec>, i: &Instance, team_changed: bool) -> Action {
    // The common case on every reload: nothing about this one changed. Spec
    // equality is cheap (a shared prompt compares by pointer) where the field
    // diff below serializes both specs.
    if **desired == *i.spec && desired.port.is_none_or(|p| p == i.port) {
        return keep(name, i);
    }
    let mut changed = Vec::new();
    let mut restart = false;
    if desired.host != i.spec.host {
        changed.push("host".to_owned());
        restart = true;
    }
    if desired.advertise != i.spec.advertise {
        changed.push("advertise".to_owned());
        restart = true;
    }
    // An unpinned port keeps whatever it is bound to.
    if desired.port.is_some_and(|p| p != i.port) {
        changed.push("port".to_owned());
        restart = true;
    }
    let mut fields: Vec<String> = diff::specs(&i.spec, desired)
        .into_iter()
        .map(|c| c.path)
        .filter(|p| !OWN_RULE.contains(&p.split('.').next().unwrap_or("")))
        .collect();
    // Only the rendered prompt differs: the team changed (a quiet refresh),
    // or else a template was edited (a reload worth reporting).
    let prompt_only = fields.is_empty() && desired.system_prompt != i.spec.system_prompt;
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
    if kind == ActionKind::Restart && i.backoff {
        // A failed move waits for its retry time; it serves where it is meanwhile.
        return keep(name, i);
    }
    let mut a = Action::new(name.clone(), kind, Some(desired.clone()));
    a.changed = changed;
    a.refresh = prompt_only && team_changed && kind == ActionKind::Keep;
    if kind == ActionKind::Restart {
        a.claim = desired.port.map_or(Claim::Any, Claim::Pinned);
    }
    a
}

type Roster<'a> = BTreeMap<&'a str, [&'a str; 4]>;

/// The team as every prompt lists it.
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
