//! Port claims: a start or a move that pins a port another specialist keeps
//! serving on is refused with a config error naming the holder, instead of
//! failing in the registry and retrying forever. Both stay as they are until
//! one of the files changes.

use std::collections::BTreeMap;

use super::{Action, ActionKind, Actual, Claim, Marks, Phase, Subject};
use crate::config::SpecialistName;

/// Refuse the pinned claims that collide with a port held after this plan;
/// returns the marks of the refused specialists.
pub(super) fn settle(actions: &mut Vec<Action>, actual: &Actual) -> Marks {
    // Held after this plan: every serving specialist that does not stop (a
    // restart still holds its old port until it has moved).
    let mut held: BTreeMap<u16, SpecialistName> = BTreeMap::new();
    for a in actions.iter().filter(|a| a.kind != ActionKind::Stop) {
        if let Some(i) = actual.specialists.get(&a.name)
            && i.phase == Phase::Serving
            && i.port != 0
        {
            held.insert(i.port, a.name.clone());
        }
    }
    let mut marks = Marks::default();
    let mut refused = Vec::new();
    for a in actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Start | ActionKind::Restart))
    {
        let Claim::Pinned(port) = a.claim else {
            continue;
        };
        match held.get(&port) {
            Some(holder) if *holder != a.name => {
                let file = a.spec.as_ref().map(|s| s.file.display().to_string());
                let message = format!(
                    "{}: port {port} is pinned, but `{holder}` serves on it",
                    file.unwrap_or_else(|| a.name.to_string())
                );
                marks.insert(Subject::Specialist(a.name.clone()), message);
                refused.push(a.name.clone());
            }
            _ => {
                held.insert(port, a.name.clone());
            }
        }
    }
    for name in refused {
        refuse(actions, actual, &name);
    }
    marks
}

/// A refused move keeps serving where it is; a refused start does not happen.
fn refuse(actions: &mut Vec<Action>, actual: &Actual, name: &SpecialistName) {
    match actual.specialists.get(name) {
        Some(i) => {
            if let Some(a) = actions.iter_mut().find(|a| &a.name == name) {
                *a = Action::new(name.clone(), ActionKind::Keep, Some(i.spec.clone()));
            }
        }
        None => actions.retain(|a| &a.name != name),
    }
}
