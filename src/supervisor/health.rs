//! What the supervisor does for health: the provider doctor at start, at
//! every resync and whenever the providers or models in use change (one
//! WARN line per problem, said once, and a line when it clears), and the
//! targets of the component monitor, republished after every reconcile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Supervisor, Trigger};
use crate::config::{ResolvedProvider, Spec};
use crate::health::component::Target;
use crate::health::{ComponentCell, ComponentHealth, ProviderCheck};

/// A provider in use: its config, its models, and who uses which.
struct Use {
    cfg: ResolvedProvider,
    /// model → the specialists using it.
    models: BTreeMap<String, Vec<String>>,
}

/// What was last asked of the provider doctor: provider key → models.
pub(super) type Asked = BTreeMap<String, BTreeSet<String>>;

impl Supervisor {
    /// Check every provider in use, in the background, when `trigger` is a
    /// start or a resync, or when what is in use changed since the last check.
    pub(super) fn check_providers(&mut self, trigger: Trigger) {
        let mut uses: BTreeMap<String, Use> = BTreeMap::new();
        for slot in self.slots.values() {
            let spec = &slot.spec;
            let key = spec.provider.identity();
            uses.entry(key)
                .or_insert_with(|| Use {
                    cfg: spec.provider.clone(),
                    models: BTreeMap::new(),
                })
                .models
                .entry(spec.model.clone())
                .or_default()
                .push(spec.name.to_string());
        }
        let asked: Asked = uses
            .iter()
            .map(|(k, u)| (k.clone(), u.models.keys().cloned().collect()))
            .collect();
        let due = matches!(trigger, Trigger::Startup | Trigger::Resync) || asked != self.asked;
        if !due {
            return;
        }
        self.asked = asked;
        for (key, u) in uses {
            if self.checking.get(&key).is_some_and(|t| !t.is_finished()) {
                continue;
            }
            let provider = self.providers.get(&u.cfg);
            let previous = provider.last_check();
            let models = u.models.keys().cloned().collect();
            let task = tokio::spawn(async move {
                let found = provider.check(models).await;
                report(previous.as_deref(), &found, &u.models);
            });
            self.checking.insert(key, task);
        }
        self.checking.retain(|k, _| self.asked.contains_key(k));
    }

    /// The component cell `spec` reports into: the one it had while its
    /// check is unchanged, a fresh one (health unknown) otherwise.
    pub(super) fn component_cell(&mut self, spec: &Spec) -> Option<ComponentCell> {
        let Some(check) = spec.health.as_ref().and_then(|h| h.check()) else {
            self.cells.remove(&spec.name);
            return None;
        };
        if let Some((had, cell)) = self.cells.get(&spec.name)
            && *had == check
        {
            return Some(cell.clone());
        }
        let cell: ComponentCell =
            Arc::new(ArcSwap::from_pointee(ComponentHealth::unknown(&check.url)));
        self.cells.insert(spec.name.clone(), (check, cell.clone()));
        Some(cell)
    }

    /// Tell the component monitor what to poll now: every running
    /// specialist with a `[health] url`. Unchanged targets do not wake it.
    pub(super) fn publish_targets(&mut self) {
        self.cells.retain(|n, _| self.slots.contains_key(n));
        // A map look-up per cell (a list scan per cell was O(N²) at 1000 specialists).
        let running =
            |n: &crate::config::SpecialistName| self.slots.get(n).is_some_and(|s| s.running());
        let targets: Vec<Target> = self
            .cells
            .iter()
            .filter(|(n, _)| running(n))
            .map(|(name, (check, cell))| Target {
                name: name.clone(),
                check: check.clone(),
                cell: cell.clone(),
            })
            .collect();
        self.targets.send_if_modified(|old| {
            let same = old.len() == targets.len()
                && old.iter().zip(&targets).all(|(a, b)| {
                    a.name == b.name && a.check == b.check && Arc::ptr_eq(&a.cell, &b.cell)
                });
            if !same {
                *old = targets;
            }
            !same
        });
    }
}

/// Log what changed since `previous`: each new problem once (WARN), and
/// each that cleared (INFO).
fn report(
    previous: Option<&ProviderCheck>,
    found: &ProviderCheck,
    models: &BTreeMap<String, Vec<String>>,
) {
    let all: Vec<&str> = models.values().flatten().map(String::as_str).collect();
    let users = |model: Option<&str>| {
        let names: Vec<&str> = match model.and_then(|m| models.get(m)) {
            Some(n) => n.iter().map(String::as_str).collect(),
            None => all.clone(),
        };
        used_by(&names)
    };
    let was = |p: &crate::health::Problem| previous.is_some_and(|c| c.problems().any(|q| q == p));
    if let Some(p) = &found.general
        && !was(p)
    {
        tracing::warn!(provider = %found.provider, status = p.status.as_str(), "{} ({})", p.line(), users(None));
    }
    if found.general.is_none() {
        for (model, p) in &found.missing {
            if !was(p) {
                tracing::warn!(provider = %found.provider, status = p.status.as_str(), %model, "{} ({})", p.line(), users(Some(model)));
            }
        }
    }
    let had_problems = previous.is_some_and(|c| c.problems().next().is_some());
    if had_problems && found.problems().next().is_none() {
        tracing::info!(provider = %found.provider, "provider {} ({}) at {}: ok again", found.provider, found.kind, found.url);
    }
}

/// `used by apollo, athena and 16 more`.
fn used_by(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let shown = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    match names.len() {
        0 => "used by no specialist".to_owned(),
        n if n <= SHOWN => format!("used by {shown}"),
        n => format!("used by {shown} and {} more", n - SHOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::used_by;

    #[test]
    fn users_are_named_then_counted() {
        assert_eq!(used_by(&["a"]), "used by a");
        assert_eq!(used_by(&["a", "b", "c"]), "used by a, b, c");
        assert_eq!(
            used_by(&["a", "b", "c", "d", "e"]),
            "used by a, b, c and 2 more"
        );
    }
}
