//! Applying one step to one specialist: start, restart, reload, stop, and
//! the bookkeeping when a background drain ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use crate::config::{Loaded, Spec, SpecialistName};
use crate::specialist::{Serving, SpecialistHandle};

use super::Supervisor;
use super::events::{EventKind, ReconcileEvent};
use super::reconcile::log_and_send;
use super::registry_sync::Alloc;
use super::slot::{Phase, Slot};
use super::steps::{Step, StepKind};

impl Supervisor {
    pub(super) fn stop_reason(&self, loaded: &Loaded, name: &SpecialistName) -> String {
        if self.stopped.contains(name) {
            "operator stop".into()
        } else if loaded.specs.iter().any(|s| &s.name == name && !s.enabled) {
            "enabled = false".into()
        } else {
            "file deleted".into()
        }
    }

    pub(super) fn serving(&mut self, spec: &Arc<Spec>) -> Serving {
        Serving {
            spec: spec.clone(),
            provider: self.providers.get(&spec.provider),
        }
    }

    pub(super) fn start_one(
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
                    format!("cannot start: {e}; {}", super::slot::retry_note(retry)),
                ));
                false
            }
        };
        self.slots.insert(name, slot);
        ok
    }

    pub(super) fn restart_one(
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
    pub(super) fn prune(&mut self, loaded: &Loaded, desired: &[Spec]) {
        let now = Instant::now();
        let failed = loaded.failed_names();
        let files: BTreeSet<&SpecialistName> = loaded
            .specs
            .iter()
            .map(|s| &s.name)
            .chain(&failed)
            .collect();
        let wanted: BTreeSet<&SpecialistName> = desired.iter().map(|s| &s.name).collect();
        let has_file = |n: &SpecialistName| files.contains(n);
        let wanted = |n: &SpecialistName| wanted.contains(n);
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
    pub(super) fn refresh(&mut self, desired: &[Spec], plan: &[Step]) {
        let by_name: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.name.as_str(), s)).collect();
        for step in plan
            .iter()
            .filter(|s| s.refresh && s.action == StepKind::Keep)
        {
            let Some(spec) = by_name.get(step.name.as_str()) else {
                continue;
            };
            let spec = Arc::new((*spec).clone());
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

    pub(super) fn reload_one(
        &mut self,
        name: &SpecialistName,
        spec: Arc<Spec>,
        changed: &[String],
    ) -> bool {
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

    pub(super) fn stop_one(&mut self, name: &SpecialistName, reason: &str) {
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
}
