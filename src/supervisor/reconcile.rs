//! Reconcile: load the desired state, diff it against what runs, apply.
//!
//! Config errors are absorbed first (last-known-good per file), so the plan
//! sees a broken file's last good spec as still desired and keeps it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Diagnostic, Loaded, Spec, SpecialistName};
use crate::registry::State;
use crate::specialist::{Serving, SpecialistHandle};

use super::Supervisor;
use super::events::{EventKind, ReconcileEvent};
use super::registry_sync::{self, Alloc};
use super::slot::{Phase, Slot};
use super::steps::{self, Step, StepKind};

/// A running instance that stays up this long has its failure count reset.
const STABLE: Duration = Duration::from_secs(10);

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
        self.load_from(self.opts.paths.clone()).await
    }

    async fn load_from(&self, paths: crate::config::ProjectPaths) -> Option<Loaded> {
        match tokio::task::spawn_blocking(move || crate::config::load(&paths)).await {
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
        self.assert_registry().await;
        applied
    }

    /// The plan as a reconcile would apply it now, keeps included.
    pub(super) async fn plan(
        &mut self,
        paths: Option<crate::config::ProjectPaths>,
    ) -> Result<Vec<Step>, String> {
        let paths = paths.unwrap_or_else(|| self.opts.paths.clone());
        let loaded = self
            .load_from(paths)
            .await
            .ok_or("loading the configuration failed")?;
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
        let find = |name: &str| {
            desired
                .iter()
                .find(|s| s.name.as_str() == name)
                .cloned()
                .map(Arc::new)
        };
        let mut allocs = Vec::new();
        let mut marks = Vec::new();
        let mut applied = Vec::new();
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
                StepKind::Reload => marks.push((step.name.clone(), State::Reloading)),
                StepKind::Stop => marks.push((step.name.clone(), State::Draining)),
                StepKind::Keep => {}
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
        for step in changes {
            let Ok(name) = SpecialistName::parse(&step.name) else {
                continue;
            };
            match step.action {
                StepKind::Reload => {
                    let Some(spec) = find(&step.name) else {
                        continue;
                    };
                    if self.reload_one(&name, spec, &step.changed) {
                        applied.push(step.clone());
                    }
                }
                StepKind::Stop => {
                    let reason = self.stop_reason(loaded, &name);
                    self.stop_one(&name, &reason);
                    applied.push(step.clone());
                }
                _ => {}
            }
        }
        applied.sort_by(|a, b| a.name.cmp(&b.name));
        applied
    }

    fn stop_reason(&self, loaded: &Loaded, name: &SpecialistName) -> String {
        if self.stopped.contains(name) {
            "operator stop".into()
        } else if loaded.specs.iter().any(|s| &s.name == name && !s.enabled) {
            "enabled = false".into()
        } else {
            "file deleted".into()
        }
    }

    fn serving(&mut self, spec: &Arc<Spec>) -> Serving {
        Serving {
            spec: spec.clone(),
            provider: self.providers.get(&spec.provider),
        }
    }

    fn start_one(
        &mut self,
        alloc: Alloc,
        res: Result<std::net::TcpListener, String>,
        trigger: &str,
    ) -> bool {
        let spec = alloc.spec;
        let name = spec.name.clone();
        self.next_token += 1;
        let token = self.next_token;
        let previous = self.slots.remove(&name);
        let mut slot = Slot::new(spec.clone(), token);
        slot.started_at = alloc.started_at;
        if let Some(p) = &previous {
            slot.failures = p.failures;
            slot.port = p.port;
            slot.config_error = p.config_error.clone();
        }
        let reason = match &previous {
            Some(p) if p.phase == Phase::Failed && p.failures > 0 => {
                format!(
                    "retry {} after failure: {}",
                    p.failures,
                    p.last_error.clone().unwrap_or_default()
                )
            }
            Some(p) if p.phase == Phase::Stopped => "operator start".to_owned(),
            _ if trigger == "startup" => "startup".to_owned(),
            _ => "new file".to_owned(),
        };
        let spawned = res.and_then(|listener| {
            let serving = self.serving(&spec);
            SpecialistHandle::spawn(listener, serving, self.limits.clone())
                .map_err(|e| format!("cannot serve on its socket: {e}"))
        });
        let ok = match spawned {
            Ok(handle) => {
                let addr = handle.local_addr();
                slot.port = addr.port();
                slot.handle = Some(handle);
                slot.phase = Phase::Running;
                slot.since = Instant::now();
                self.emit(
                    ReconcileEvent::new(EventKind::Start, name.as_str(), reason)
                        .at_addr(&spec.host, slot.port),
                );
                true
            }
            Err(e) => {
                slot.fail(e.clone());
                let retry = super::slot::backoff(slot.failures);
                self.emit(ReconcileEvent::new(
                    EventKind::Failed,
                    name.as_str(),
                    format!("cannot start: {e}; retrying in {}s", retry.as_secs()),
                ));
                false
            }
        };
        self.slots.insert(name, slot);
        ok
    }

    fn restart_one(
        &mut self,
        alloc: Alloc,
        res: Result<std::net::TcpListener, String>,
        changed: &[String],
    ) -> bool {
        let spec = alloc.spec;
        let name = spec.name.clone();
        let serving = self.serving(&spec);
        let limits = self.limits.clone();
        let Some(slot) = self.slots.get_mut(&name) else {
            return false;
        };
        let spawned = res.and_then(|listener| {
            SpecialistHandle::spawn(listener, serving, limits)
                .map_err(|e| format!("cannot serve on its socket: {e}"))
        });
        match spawned {
            Ok(handle) => {
                let old_port = slot.port;
                slot.port = handle.local_addr().port();
                if let Some(old) = slot.handle.replace(handle) {
                    let timeout = self.limits.drain_timeout;
                    self.drains.spawn(async move {
                        old.drain(timeout).await;
                        None
                    });
                }
                slot.spec = spec.clone();
                slot.since = Instant::now();
                slot.retry_at = None;
                slot.touch();
                let ev = ReconcileEvent::new(
                    EventKind::Restart,
                    name.as_str(),
                    format!("moved from port {old_port}"),
                )
                .at_addr(&spec.host, slot.port)
                .with_changed(changed.to_vec());
                log_and_send(&self.events, ev);
                true
            }
            Err(e) => {
                // Keep serving where it is; try the move again later.
                slot.failures += 1;
                let retry = super::slot::backoff(slot.failures);
                slot.retry_at = Some(Instant::now() + retry);
                let ev = ReconcileEvent::new(
                    EventKind::Failed,
                    name.as_str(),
                    format!(
                        "cannot move to its new address: {e}; still serving on port {}, retrying in {}s",
                        slot.port,
                        retry.as_secs()
                    ),
                );
                log_and_send(&self.events, ev);
                false
            }
        }
    }

    /// Forget what no longer has a file or a reason to exist: failed slots
    /// nobody wants, operator stops of deleted files, and retry deadlines
    /// this reconcile has already acted on (so the retry timer never spins).
    fn prune(&mut self, loaded: &Loaded, desired: &[Spec]) {
        let now = Instant::now();
        let has_file = |n: &SpecialistName| {
            loaded.specs.iter().any(|s| &s.name == n) || loaded.failed_names().contains(n)
        };
        let wanted = |n: &SpecialistName| desired.iter().any(|s| &s.name == n);
        self.stopped.retain(|n| has_file(n));
        let stopped = &self.stopped;
        self.slots.retain(|n, s| match s.phase {
            Phase::Failed => wanted(n),
            Phase::Stopped => stopped.contains(n),
            Phase::Running | Phase::Draining => true,
        });
        for s in self.slots.values_mut() {
            if s.retry_at.is_some_and(|t| t <= now) {
                s.retry_at = None;
            }
        }
    }

    /// Team changes re-render every prompt: swap them in without a report.
    fn refresh(&mut self, desired: &[Spec], plan: &[Step]) {
        for step in plan
            .iter()
            .filter(|s| s.refresh && s.action == StepKind::Keep)
        {
            let Some(spec) = desired.iter().find(|s| s.name.as_str() == step.name) else {
                continue;
            };
            let spec = Arc::new(spec.clone());
            let serving = self.serving(&spec);
            if let Some(slot) = self.slots.get_mut(&spec.name)
                && let Some(handle) = &slot.handle
            {
                handle.reload(serving);
                slot.spec = spec;
                tracing::debug!(specialist = %step.name, "team changed: prompt refreshed");
            }
        }
    }

    fn reload_one(&mut self, name: &SpecialistName, spec: Arc<Spec>, changed: &[String]) -> bool {
        let serving = self.serving(&spec);
        let Some(slot) = self.slots.get_mut(name) else {
            return false;
        };
        let Some(handle) = &slot.handle else {
            return false;
        };
        handle.reload(serving);
        slot.spec = spec;
        slot.touch();
        let ev = ReconcileEvent::new(EventKind::Reload, name.as_str(), "spec changed")
            .at_addr(&slot.spec.host, slot.port)
            .with_changed(changed.to_vec());
        log_and_send(&self.events, ev);
        true
    }

    fn stop_one(&mut self, name: &SpecialistName, reason: &str) {
        let timeout = self.limits.drain_timeout;
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        let Some(handle) = slot.handle.take() else {
            return;
        };
        slot.phase = Phase::Draining;
        slot.touch();
        let token = slot.token;
        let n = name.clone();
        self.drains.spawn(async move {
            handle.drain(timeout).await;
            Some((n, token))
        });
        let ev = ReconcileEvent::new(EventKind::Stop, name.as_str(), reason.to_owned())
            .at_addr(&slot.spec.host, slot.port);
        log_and_send(&self.events, ev);
    }

    /// A background drain finished: the slot goes away, or stays as `stopped`.
    pub(super) async fn drained(&mut self, name: SpecialistName, token: u64) {
        let Some(slot) = self.slots.get_mut(&name) else {
            return;
        };
        if slot.token != token || slot.phase != Phase::Draining {
            return;
        }
        if self.stopped.contains(&name) {
            slot.phase = Phase::Stopped;
            slot.touch();
            let ev = ReconcileEvent::new(
                EventKind::Stopped,
                name.as_str(),
                "operator stop; `cadre start` resumes it",
            );
            log_and_send(&self.events, ev);
        } else {
            self.slots.remove(&name);
        }
        self.assert_registry().await;
    }

    pub(super) async fn assert_registry(&mut self) {
        let entries = self
            .slots
            .values()
            .map(|s| s.entry(self.me.process, &self.me.owner))
            .collect();
        if let Err(e) = registry_sync::assert_all(&self.opts.registry, &self.me, entries).await {
            tracing::error!("registry transaction failed: {e}");
        }
    }

    /// Notice specialists whose accept loop ended on its own (failed or
    /// panicked) and schedule their restart with backoff.
    pub(super) async fn probe(&mut self) {
        let mut died = false;
        for (name, slot) in self.slots.iter_mut() {
            let finished = slot.running() && slot.handle.as_ref().is_some_and(|h| h.is_finished());
            if !finished {
                if slot.running() && slot.failures > 0 && slot.since.elapsed() >= STABLE {
                    slot.failures = 0;
                }
                continue;
            }
            if let Some(h) = slot.handle.take() {
                self.drains.spawn(async move {
                    h.drain(Duration::ZERO).await;
                    None
                });
            }
            slot.fail("its listener stopped".into());
            let retry = super::slot::backoff(slot.failures);
            let ev = ReconcileEvent::new(
                EventKind::Failed,
                name.as_str(),
                format!("its listener stopped; restarting in {}s", retry.as_secs()),
            );
            log_and_send(&self.events, ev);
            died = true;
        }
        if died {
            self.assert_registry().await;
        }
    }

    pub(super) async fn operator_stop(&mut self, names: Vec<String>) -> Result<Vec<Step>, String> {
        let mut parsed = Vec::new();
        for n in &names {
            let name = SpecialistName::parse(n).map_err(|e| e.to_string())?;
            if !self.slots.contains_key(&name) {
                return Err(format!("no specialist named `{n}` is running"));
            }
            parsed.push(name);
        }
        for name in parsed {
            if let Some(s) = self.slots.get_mut(&name)
                && s.phase == Phase::Failed
            {
                s.phase = Phase::Stopped;
                s.touch();
            }
            self.stopped.insert(name);
        }
        Ok(self.reconcile("operator stop").await)
    }

    pub(super) async fn operator_start(&mut self, names: Vec<String>) -> Result<Vec<Step>, String> {
        let mut parsed = Vec::new();
        for n in &names {
            let name = SpecialistName::parse(n).map_err(|e| e.to_string())?;
            if !self.stopped.contains(&name) {
                return Err(format!("`{n}` is not stopped"));
            }
            parsed.push(name);
        }
        for name in &parsed {
            self.stopped.remove(name);
            if let Some(s) = self.slots.get_mut(name) {
                // Resume now, not after an old failure's backoff.
                s.retry_at = None;
            }
        }
        Ok(self.reconcile("operator start").await)
    }

    /// SIGINT/SIGTERM/`stop --all`: stop accepting everywhere, let in-flight
    /// chats finish (bounded), then deregister everything this process owns.
    pub(super) async fn shutdown(&mut self, reason: &str) {
        let timeout = self.limits.drain_timeout;
        let mut handles = Vec::new();
        for (name, s) in self.slots.iter_mut() {
            if let Some(h) = s.handle.take() {
                s.phase = Phase::Draining;
                handles.push((name.clone(), s.port, h));
            }
        }
        self.assert_registry().await;
        let drains = handles.into_iter().map(|(name, port, h)| async move {
            h.drain(timeout).await;
            (name, port)
        });
        let grace = timeout + Duration::from_secs(2);
        let all = async {
            let done = futures::future::join_all(drains).await;
            while self.drains.join_next().await.is_some() {}
            done
        };
        match tokio::time::timeout(grace, all).await {
            Ok(done) => {
                for (name, port) in done {
                    let host = self
                        .slots
                        .get(&name)
                        .map(|s| s.spec.host.clone())
                        .unwrap_or_default();
                    self.emit(
                        ReconcileEvent::new(EventKind::Stop, name.as_str(), reason.to_owned())
                            .at_addr(&host, port),
                    );
                }
            }
            Err(_) => tracing::warn!(
                "drain did not finish within {}s; closing anyway",
                grace.as_secs()
            ),
        }
        self.slots.clear();
        if let Err(e) = registry_sync::remove_all(&self.opts.registry, &self.me).await {
            tracing::error!("could not deregister: {e}");
        }
    }
}

fn log_and_send(tx: &tokio::sync::broadcast::Sender<ReconcileEvent>, ev: ReconcileEvent) {
    super::log_event(&ev);
    let _ = tx.send(ev);
}
