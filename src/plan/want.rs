//! What each specialist should run: the file's spec, its last good spec
//! while the file is broken, or nothing (and why).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Actual, Cause, Operator, Phase};
use crate::config::{Loaded, Spec, SpecialistName};

/// What one specialist should be doing.
#[derive(Debug, Clone)]
pub(super) enum Want {
    /// Run this spec: the file's, or its last good one.
    Run(Arc<Spec>),
    /// Run nothing.
    Not(Cause),
}

/// One want per specialist that has a file (valid or broken) or runs.
pub(super) fn wants(
    loaded: &Loaded,
    actual: &Actual,
    operator: &Operator,
) -> BTreeMap<SpecialistName, Want> {
    let failed: BTreeSet<SpecialistName> = loaded.failed_names().into_iter().collect();
    let stopped = |n: &SpecialistName| operator.stopped.contains(n);
    let mut out = BTreeMap::new();
    for spec in loaded.specs.iter().filter(|s| !failed.contains(&s.name)) {
        let want = if !spec.enabled {
            Want::Not(Cause::Disabled)
        } else if stopped(&spec.name) {
            Want::Not(Cause::OperatorStop)
        } else {
            Want::Run(Arc::new(spec.clone()))
        };
        out.insert(spec.name.clone(), want);
    }
    // Last-known-good: a broken file leaves its specialist on the spec it
    // runs (or retries) now; a broken file nothing runs from starts nothing.
    for name in failed {
        let want = match actual.specialists.get(&name) {
            _ if stopped(&name) => Want::Not(Cause::OperatorStop),
            Some(i) if matches!(i.phase, Phase::Serving | Phase::Failed) => {
                Want::Run(i.spec.clone())
            }
            _ => Want::Not(Cause::FileDeleted),
        };
        out.insert(name, want);
    }
    for name in actual.specialists.keys() {
        out.entry(name.clone())
            .or_insert(Want::Not(Cause::FileDeleted));
    }
    out
}

/// The operator's stops whose file still exists (valid or broken); a stop
/// of a deleted file is forgotten, so a new file of that name starts.
pub(super) fn still_stopped(loaded: &Loaded, operator: &Operator) -> Operator {
    let failed = loaded.failed_names();
    let has_file =
        |n: &SpecialistName| failed.contains(n) || loaded.specs.iter().any(|s| &s.name == n);
    Operator {
        stopped: operator
            .stopped
            .iter()
            .filter(|n| has_file(n))
            .cloned()
            .collect(),
    }
}
