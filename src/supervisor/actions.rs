//! Applying one action to one specialist: start, restart, reload, refresh,
//! stop, and the bookkeeping when a background drain ends.

use std::sync::Arc;
use std::time::Instant;

use crate::config::{Spec, SpecialistName};
use crate::plan::{Action, Cause, Phase};
use crate::specialist::{Serving, SpecialistHandle};

use super::events::{EventKind, ReconcileEvent};
use super::slot::{Slot, backoff};
use super::{Supervisor, Trigger, log_and_send};

/// Why a start happens, as its event says.
fn start_reason(cause: Cause, previous: Option<&Slot>, trigger: Trigger) -> String {
    match (cause, previous) {
        (Cause::Retry, Some(p)) => format!(
            "retry {} after failure: {}",
            p.failures,
            p.last_error.clone().unwrap_or_default()
        ),
        (Cause::OperatorStart, _) => "operator start".to_owned(),
        (Cause::Takeover, _) => "takeover: the daemon that held the name left".to_owned(),
        _ if trigger == Trigger::Startup => "startup".to_owned(),
        _ => "new file".to_owned(),
    }
}

/// Why a stop happens, as its event says.
fn stop_reason(cause: Cause) -> &'static str {
    match cause {
        Cause::OperatorStop => "operator stop",
        Cause::Disabled => "enabled = false",
        Cause::Held => "another daemon on this host holds the name",
        _ => "file deleted",
    }
}

impl Supervisor {
    pub(super) fn serving(&mut self, spec: &Arc<Spec>) -> Serving {
        Serving {
            spec: spec.clone(),
            provider: self.providers.get(&spec.provider),
            meter: self.opts.ledger.meter(&spec.name),
            component: self.component_cell(spec),
        }
    }

    fn spawn_listener(
        &mut self,
        spec: &Arc<Spec>,
        res: Result<std::net::TcpListener, String>,
    ) -> Result<SpecialistHandle, String> {
        let listener = res?;
        let serving = self.serving(spec);
        let handle = SpecialistHandle::spawn_reporting(
            listener,
            serving,
            self.limits.clone(),
            self.ended.clone(),
        )
        .map_err(|e| format!("cannot serve on its socket: {e}"))?;
        // Its consultations ask the others on their in-process chat paths.
        handle.set_colleagues(Arc::new(self.specialists.clone()));
        Ok(handle)
    }

    pub(super) fn start_one(
        &mut self,
        a: &Action,
        res: Result<std::net::TcpListener, String>,
        trigger: Trigger,
    ) -> bool {
        let Some(spec) = a.spec.clone() else {
            return false;
        };
        self.next_token += 1;
        let previous = self.slots.remove(&a.name);
        let mut slot = Slot::new(spec.clone(), self.next_token);
        if let Some(p) = &previous {
            slot.failures = p.failures;
            slot.port = p.port;
        }
        slot.started_at = crate::registry::now_rfc3339();
        let reason = start_reason(a.cause, previous.as_ref(), trigger);
        let ok = match self.spawn_listener(&spec, res) {
            Ok(handle) => {
                slot.port = handle.local_addr().port();
                slot.handle = Some(handle);
                slot.phase = Phase::Serving;
                slot.since = Instant::now();
                self.emit(
                    ReconcileEvent::new(EventKind::Start, a.name.as_str(), reason)
                        .at_addr(&spec.host, slot.port),
                );
                true
            }
            Err(e) => {
                slot.fail(e.clone());
                let retry = backoff(slot.failures);
                self.emit(ReconcileEvent::new(
                    EventKind::Failed,
                    a.name.as_str(),
                    format!("cannot start: {e}; {}", super::slot::retry_note(retry)),
                ));
                false
            }
        };
        self.slots.insert(a.name.clone(), slot);
        ok
    }

    /// A move to a new address: the new listener first, then the old one drains.
    pub(super) fn restart_one(
        &mut self,
        a: &Action,
        res: Result<std::net::TcpListener, String>,
    ) -> bool {
        let Some(spec) = a.spec.clone() else {
            return false;
        };
        if !self.slots.contains_key(&a.name) {
            return false;
        }
        let spawned = self.spawn_listener(&spec, res);
        let timeout = self.limits.drain_timeout;
        let Some(slot) = self.slots.get_mut(&a.name) else {
            return false;
        };
        match spawned {
            Ok(handle) => {
                let old_port = slot.port;
                slot.port = handle.local_addr().port();
                if let Some(old) = slot.handle.replace(handle) {
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
                    a.name.as_str(),
                    format!("moved from port {old_port}"),
                )
                .at_addr(&spec.host, slot.port)
                .with_changed(a.changed.clone());
                log_and_send(&self.events, ev);
                true
            }
            Err(e) => {
                // Keep serving where it is; try the move again later.
                slot.forget_old_failures();
                slot.failures += 1;
                let retry = backoff(slot.failures);
                slot.retry_at = Some(Instant::now() + retry);
                let ev = ReconcileEvent::new(
                    EventKind::Failed,
                    a.name.as_str(),
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

    /// A keep whose prompt changed only because the team did: swap it in
    /// without a report.
    pub(super) fn refresh(&mut self, a: &Action) {
        let Some(spec) = a.spec.clone() else { return };
        let serving = self.serving(&spec);
        if let Some(slot) = self.slots.get_mut(&a.name)
            && let Some(handle) = &slot.handle
        {
            handle.reload(serving);
            slot.spec = spec;
            tracing::debug!(specialist = %a.name, "team changed: prompt refreshed");
        }
    }

    pub(super) fn reload_one(&mut self, a: &Action) -> bool {
        let Some(spec) = a.spec.clone() else {
            return false;
        };
        let serving = self.serving(&spec);
        let Some(slot) = self.slots.get_mut(&a.name) else {
            return false;
        };
        let Some(handle) = &slot.handle else {
            return false;
        };
        handle.reload(serving);
        slot.spec = spec;
        slot.touch();
        let ev = ReconcileEvent::new(EventKind::Reload, a.name.as_str(), "spec changed")
            .at_addr(&slot.spec.host, slot.port)
            .with_changed(a.changed.clone());
        log_and_send(&self.events, ev);
        true
    }

    /// A serving specialist drains in the background; a failed or stopped
    /// one has nothing to drain and is forgotten.
    pub(super) fn stop_one(&mut self, a: &Action) {
        let timeout = self.limits.drain_timeout;
        let Some(slot) = self.slots.get_mut(&a.name) else {
            return;
        };
        let Some(handle) = slot.handle.take() else {
            if slot.phase != Phase::Draining {
                self.slots.remove(&a.name);
            }
            return;
        };
        slot.phase = Phase::Draining;
        slot.touch();
        let token = slot.token;
        let n = a.name.clone();
        self.drains.spawn(async move {
            handle.drain(timeout).await;
            Some((n, token))
        });
        let ev = ReconcileEvent::new(EventKind::Stop, a.name.as_str(), stop_reason(a.cause))
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
        if self.operator.stopped.contains(&name) {
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
        self.publish_targets();
        self.assert_registry().await;
    }
}
