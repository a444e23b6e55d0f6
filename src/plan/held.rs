//! Names held by another daemon: a specialist name is unique per host
//! (DESIGN §13). A daemon declaring a name that another live daemon on its
//! host serves runs nothing for it and marks it `config_error: name held by
//! daemon PID (DIR)`; when the holder leaves, the next plan starts it (a
//! takeover). A specialist this daemon serves while another holds the name
//! (the registry gave the name away, e.g. after a lost etcd lease) is
//! stopped: clients find the holder's, not ours.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::want::Want;
use super::{Action, ActionKind, Actual, Cause, Marks, Subject};
use crate::config::SpecialistName;

/// The daemon that serves a name on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its specialists.d.
    pub dir: PathBuf,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "daemon {} ({})", self.pid, self.dir.display())
    }
}

/// The config error of a held name.
pub fn message(holder: &Holder) -> String {
    format!("name held by {holder}")
}

/// Turn every wanted name that another daemon holds into "run nothing";
/// returns their marks and the names held back.
pub(super) fn hold_back(
    wants: &mut BTreeMap<SpecialistName, Want>,
    actual: &Actual,
) -> (Marks, BTreeMap<SpecialistName, Holder>) {
    let mut marks = Marks::default();
    let mut waiting = BTreeMap::new();
    for (name, want) in wants.iter_mut() {
        let Some(holder) = actual.held.get(name) else {
            continue;
        };
        if !matches!(want, Want::Run(_)) {
            continue;
        }
        *want = Want::Not(Cause::Held);
        marks.set(Subject::Specialist(name.clone()), message(holder));
        waiting.insert(name.clone(), holder.clone());
    }
    (marks, waiting)
}

/// A start of a name the last plan held back is a takeover.
pub(super) fn takeovers(actions: &mut [Action], actual: &Actual) {
    for a in actions
        .iter_mut()
        .filter(|a| a.kind == ActionKind::Start && a.cause == Cause::NewFile)
    {
        if actual.waiting.contains_key(&a.name) && !actual.specialists.contains_key(&a.name) {
            a.cause = Cause::Takeover;
        }
    }
}
