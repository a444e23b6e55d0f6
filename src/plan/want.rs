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
    lost: &BTreeMap<SpecialistName, String>,
) -> BTreeMap<SpecialistName, Want> {
    let mut failed: BTreeSet<SpecialistName> = loaded.failed_names().into_iter().collect();
    failed.extend(lost.keys().cloned());
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

/// Specialists whose running prompt came from a template file that is gone
/// with the whole `templates/` directory (removed, replaced mid-rename,
/// unreadable): the files now render with the built-in default, which is
/// not what the project said. Each keeps its last good spec, with this error.
/// A single template file removed from a present directory is a choice, and
/// takes the built-in.
pub(super) fn lost_templates(loaded: &Loaded, actual: &Actual) -> BTreeMap<SpecialistName, String> {
    let Some(why) = &loaded.templates_missing else {
        return BTreeMap::new();
    };
    loaded
        .specs
        .iter()
        .filter(|s| s.builtin_template)
        .filter(|s| {
            actual.specialists.get(&s.name).is_some_and(|i| {
                !i.spec.builtin_template && matches!(i.phase, Phase::Serving | Phase::Failed)
            })
        })
        .map(|s| {
            let msg = format!(
                "{}: {why}; `{}` needs its `{}`, so the last good prompt stays (restore the \
                 directory; to use the built-in template, restart)",
                s.file.display(),
                s.name,
                s.template
            );
            (s.name.clone(), msg)
        })
        .collect()
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
