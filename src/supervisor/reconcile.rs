//! Reconcile: load the desired state, diff it against what runs, apply.
//!
//! Config errors are absorbed first (last-known-good per file), so the plan
//! sees a broken file's last good spec as still desired and keeps it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::config::{Diagnostic, Loaded, RenderCache, Spec, SpecialistName};
use crate::registry::State;

use super::Supervisor;
use super::events::{EventKind, ReconcileEvent};
use super::registry_sync::{self, Alloc};
use super::slot::Phase;
use super::steps::{self, Step, StepKind};

/// "file:line: message", the form `status` and events show.
pub fn describe(d: &Diagnostic) -> String {
    let key = d
        .key
        .as_deref()
        .map(|k| format!(" (`{k}`)"))
        .unwrap_or_default();
    if d.line > 0 {
        format!("{}:{}: {}{}", d.file.display(), d.line, d.message, key)
    } else {
        format!("{}: {}{}", d.file.display(), d.message, key)
    }
}

impl Supervisor {
    async fn load(&self) -> Option<Loaded> {
        self.load_from(self.opts.paths.clone(), Some(self.renders.clone()))
            .await
    }

    /// Load `paths` off the async workers. With `renders` (this daemon's own
    /// project), unchanged prompts are not rendered again.
    async fn load_from(
        &self,
        paths: crate::config::ProjectPaths,
        renders: Option<Arc<Mutex<RenderCache>>>,
    ) -> Option<Loaded> {
        let load = move || match renders {
            Some(cache) => {
                // A panic mid-load leaves the cache consistent (entries are only removed).
                let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
                crate::config::load_cached(&paths, &mut cache)
            }
            None => crate::config::load(&paths),
        };
        match tokio::task::spawn_blocking(load).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("loading the configuration failed: {e}");
                None
            }
        }
    }

    /// Desired state after last-known-good; `None` when cadre.toml is broken
    /// (then everything keeps running as it is). Records config errors on slots.
    fn absorb(&mut self, loaded: &Loaded) -> Option<Vec<Spec>> {
        if !loaded.project_ok {
            let msg = loaded
                .errors()
                .find(|d| d.specialist.is_none())
                .or_else(|| loaded.errors().next())
                .map(describe)
                .unwrap_or_else(|| format!("{}: invalid", self.opts.paths.project_file.display()));
            if self.project_error.as_deref() != Some(msg.as_str()) {
                self.emit(ReconcileEvent::new(
                    EventKind::ConfigError,
                    "cadre.toml",
                    format!("{msg}; keeping every specialist as it runs"),
                ));
            }
            for s in self.slots.values_mut() {
                if s.config_error.as_deref() != Some(msg.as_str()) {
                    s.config_error = Some(msg.clone());
                    s.touch();
                }
            }
            self.project_error = Some(msg);
            return None;
        }
        if self.project_error.take().is_some() {
            self.emit(ReconcileEvent::new(
                EventKind::ConfigOk,
                "cadre.toml",
                "project file valid again",
            ));
        }
        self.limits = loaded.project.limits.clone();
        self.range = loaded.project.ports.range;

        let mut errors: BTreeMap<SpecialistName, String> = BTreeMap::new();
        for d in loaded.errors() {
            match &d.specialist {
                Some(n) => {
                    // Two files pinning one port: both are reported, neither changes.
                    for name in std::iter::once(n).chain(&d.related) {
                        errors.entry(name.clone()).or_insert_with(|| describe(d));
                    }
                }
                None => {
                    let key = d.file.display().to_string();
                    let msg = describe(d);
                    if self.reported.get(&key) != Some(&msg) {
                        self.emit(ReconcileEvent::new(
                            EventKind::ConfigError,
                            key.clone(),
                            msg.clone(),
                        ));
                        self.reported.insert(key, msg);
                    }
                }
            }
        }

        let mut desired = Vec::new();
        for spec in &loaded.specs {
            if errors.contains_key(&spec.name) || !spec.enabled || self.stopped.contains(&spec.name)
            {
                continue;
            }
            desired.push(spec.clone());
        }
        for (name, msg) in &errors {
            match self.slots.get_mut(name) {
                Some(s) => {
                    if s.config_error.as_deref() != Some(msg.as_str()) {
                        let ev = ReconcileEvent::new(
                            EventKind::ConfigError,
                            name.as_str(),
                            format!("{msg}; keeps serving its last good spec"),
                        );
                        s.config_error = Some(msg.clone());
                        s.touch();
                        log_and_send(&self.events, ev);
                    }
                    let keep = matches!(s.phase, Phase::Running | Phase::Failed);
                    if keep && !self.stopped.contains(name) {
                        desired.push((*s.spec).clone());
                    }
                }
                None => {
                    let key = name.to_string();
                    if self.reported.get(&key) != Some(msg) {
                        self.emit(ReconcileEvent::new(
                            EventKind::ConfigError,
                            key.clone(),
                            format!("{msg}; not started"),
                        ));
                        self.reported.insert(key, msg.clone());
                    }
                }
            }
        }
        self.reported.retain(|k, _| {
            errors.keys().any(|n| n.as_str() == k)
                || loaded
                    .errors()
                    .any(|d| d.specialist.is_none() && d.file.display().to_string() == *k)
        });
        for (name, s) in self.slots.iter_mut() {
            if s.config_error.is_some() && !errors.contains_key(name) {
                s.config_error = None;
                s.touch();
                log_and_send(
                    &self.events,
                    ReconcileEvent::new(EventKind::ConfigOk, name.as_str(), "file valid again"),
                );
            }
        }
        desired.sort_by(|a, b| a.name.cmp(&b.name));
        Some(desired)
    }

    fn actual(&self) -> Vec<(Arc<Spec>, u16)> {
        self.slots
            .values()
            .filter(|s| s.running())
            .map(|s| (s.spec.clone(), s.port))
            .collect()
    }

    /// Reconcile once; returns the steps applied (keeps omitted).
    pub(super) async fn reconcile(&mut self, reason: &str) -> Vec<Step> {
        let Some(loaded) = self.load().await else {
            return Vec::new();
        };
        let applied = match self.absorb(&loaded) {
            Some(desired) => {
                let plan = steps::compute(&desired, &self.actual());
                self.refresh(&desired, &plan);
                let changes: Vec<Step> = plan
                    .into_iter()
                    .filter(|s| s.action != StepKind::Keep)
                    .collect();
                if !changes.is_empty() {
                    tracing::debug!(trigger = reason, changes = changes.len(), "applying plan");
                }
                let applied = self.apply(&loaded, &desired, &changes, reason).await;
                self.prune(&loaded, &desired);
                applied
            }
            None => Vec::new(),
        };
        self.providers.retain_used(
            self.slots
                .values()
                .filter(|s| s.running())
                .map(|s| &s.spec.provider),
        );
        self.refresh_provenance().await;
        self.assert_registry().await;
        applied
    }

    /// Re-read every specialist's git revision (two git processes, off the
    /// async workers); a commit thus shows at the next reconcile, no restart.
    async fn refresh_provenance(&mut self) {
        let templates = self.opts.paths.templates.clone();
        let items: Vec<(String, std::path::PathBuf, std::path::PathBuf)> = self
            .slots
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    s.spec.file.clone(),
                    templates.join(&s.spec.template),
                )
            })
            .collect();
        let root = self.opts.paths.root.clone();
        let found = tokio::task::spawn_blocking(move || {
            crate::review::provenance::revisions(&root, &items)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
        for (name, slot) in self.slots.iter_mut() {
            let rev = found.get(name.as_str()).map(ToString::to_string);
            if rev != slot.revision {
                slot.revision = rev.clone();
                slot.touch();
            }
            if let Some(h) = &slot.handle {
                h.set_revision(rev);
            }
        }
    }

    /// The plan as a reconcile would apply it now, keeps included.
    pub(super) async fn plan(
        &mut self,
        paths: Option<crate::config::ProjectPaths>,
    ) -> Result<Vec<Step>, String> {
        let loaded = match paths {
            // A checkout under review: its renders must not evict this project's.
            Some(paths) => self.load_from(paths, None).await,
            None => self.load().await,
        };
        let loaded = loaded.ok_or("loading the configuration failed")?;
        if !loaded.project_ok {
            let msg = loaded.errors().next().map(describe).unwrap_or_default();
            return Err(format!("cadre.toml is invalid: {msg}"));
        }
        // Plan on a scratch copy of the config-error bookkeeping: planning changes nothing.
        let saved: Vec<(SpecialistName, Option<String>)> = self
            .slots
            .iter()
            .map(|(n, s)| (n.clone(), s.config_error.clone()))
            .collect();
        let (reported, project_error) = (self.reported.clone(), self.project_error.clone());
        let (limits, range) = (self.limits.clone(), self.range);
        let events = std::mem::replace(&mut self.events, tokio::sync::broadcast::channel(1).0);
        let desired = self.absorb(&loaded).unwrap_or_default();
        self.events = events;
        for (n, e) in saved {
            if let Some(s) = self.slots.get_mut(&n) {
                s.config_error = e;
            }
        }
        self.reported = reported;
        self.project_error = project_error;
        self.limits = limits;
        self.range = range;
        Ok(steps::compute(&desired, &self.actual()))
    }

    async fn apply(
        &mut self,
        loaded: &Loaded,
        desired: &[Spec],
        changes: &[Step],
        trigger: &str,
    ) -> Vec<Step> {
        let now = Instant::now();
        let by_name: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.name.as_str(), s)).collect();
        let find = |name: &str| by_name.get(name).map(|s| Arc::new((*s).clone()));
        let mut applied = Vec::new();
        // Reloads first: they need no port and no registry round trip, and
        // they are what an edit waits for (the next chat must see the new
        // prompt). The registry hears of them in the transactions below.
        for step in changes.iter().filter(|s| s.action == StepKind::Reload) {
            let Ok(name) = SpecialistName::parse(&step.name) else {
                continue;
            };
            let Some(spec) = find(&step.name) else {
                continue;
            };
            if self.reload_one(&name, spec, &step.changed) {
                applied.push(step.clone());
            }
        }
        let mut allocs = Vec::new();
        let mut marks = Vec::new();
        for step in changes {
            let Ok(name) = SpecialistName::parse(&step.name) else {
                continue;
            };
            match step.action {
                StepKind::Start => {
                    let Some(spec) = find(&step.name) else {
                        continue;
                    };
                    let slot = self.slots.get(&name);
                    if slot.is_some_and(|s| {
                        s.retry_at.is_some_and(|t| t > now) && s.phase == Phase::Failed
                    }) {
                        continue;
                    }
                    let prefer = slot.map(|s| s.port).filter(|p| *p != 0);
                    let started_at = super::now_rfc3339();
                    allocs.push((
                        step.clone(),
                        Alloc {
                            spec,
                            prefer,
                            replace: true,
                            started_at,
                        },
                    ));
                }
                StepKind::Restart => {
                    let Some(spec) = find(&step.name) else {
                        continue;
                    };
                    let Some(slot) = self.slots.get(&name) else {
                        continue;
                    };
                    if slot.retry_at.is_some_and(|t| t > now) {
                        continue;
                    }
                    let started_at = slot.started_at.clone();
                    allocs.push((
                        step.clone(),
                        Alloc {
                            spec,
                            prefer: None,
                            replace: false,
                            started_at,
                        },
                    ));
                }
                StepKind::Stop => marks.push((step.name.clone(), State::Draining)),
                // A reload is an atomic swap, done above: no `reloading` phase
                // to announce, and no transaction to write before the next
                // reconcile (the new generation is asserted below).
                StepKind::Reload | StepKind::Keep => {}
            }
        }
        let alloc_specs: Vec<Alloc> = allocs
            .iter()
            .map(|(_, a)| Alloc {
                spec: a.spec.clone(),
                prefer: a.prefer,
                replace: a.replace,
                started_at: a.started_at.clone(),
            })
            .collect();
        let results = if alloc_specs.is_empty() && marks.is_empty() {
            Vec::new()
        } else {
            match registry_sync::begin(
                &self.opts.registry,
                &self.me,
                self.range,
                alloc_specs,
                marks,
            )
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("registry transaction failed: {e}");
                    allocs
                        .iter()
                        .map(|_| Err(format!("registry: {e}")))
                        .collect()
                }
            }
        };

        // Starts and restarts, with the listeners the registry granted.
        for ((step, alloc), res) in allocs.into_iter().zip(results) {
            let name = alloc.spec.name.clone();
            let ok = match step.action {
                StepKind::Start => self.start_one(alloc, res, trigger),
                _ => self.restart_one(alloc, res, &step.changed),
            };
            if ok {
                applied.push(step);
            } else {
                tracing::debug!(specialist = %name, "not applied");
            }
        }
        for step in changes.iter().filter(|s| s.action == StepKind::Stop) {
            let Ok(name) = SpecialistName::parse(&step.name) else {
                continue;
            };
            let reason = self.stop_reason(loaded, &name);
            self.stop_one(&name, &reason);
            applied.push(step.clone());
        }
        applied.sort_by(|a, b| a.name.cmp(&b.name));
        applied
    }
}

pub(super) fn log_and_send(
    tx: &tokio::sync::broadcast::Sender<ReconcileEvent>,
    ev: ReconcileEvent,
) {
    super::log_event(&ev);
    let _ = tx.send(ev);
}
