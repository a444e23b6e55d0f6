//! The supervisor's life beyond reconciling: registry re-assertion, dead
//! listener detection, operator stop/start, graceful shutdown.

use std::time::Duration;

use crate::config::SpecialistName;
use crate::plan::{Action, Phase};

use super::events::{EventKind, ReconcileEvent};
use super::{Supervisor, Trigger, log_and_send};
use crate::registry::Waiting;

impl Supervisor {
    /// Write every entry this daemon owns as it is, and its record (with
    /// the names it waits for). A registry that cannot be reached is said
    /// once per outage; the next reconcile tries again.
    pub(super) async fn assert_registry(&mut self) {
        let backend = self.opts.backend.clone();
        let me = backend.identity();
        let entries = self
            .slots
            .iter()
            .map(|(name, s)| s.entry(me, self.marks.of_specialist(name)))
            .collect();
        let waiting = self
            .waiting
            .iter()
            .map(|(name, h)| Waiting {
                name: name.clone(),
                reason: crate::plan::held::message(h),
            })
            .collect();
        let record = me.record(&self.host, waiting);
        let was_down = backend.health().is_some();
        match backend.assert_all(entries, record).await {
            Ok(()) if was_down => {
                tracing::info!("registry reachable again: every entry is current")
            }
            Ok(()) => {}
            Err(e) if e.is_unavailable() && was_down => {
                tracing::debug!("registry still unavailable: {e}")
            }
            Err(e) if e.is_unavailable() => tracing::warn!(
                "registry unavailable: {e}; every specialist keeps serving, and registers again when it returns"
            ),
            Err(e) => tracing::error!("registry transaction failed: {e}"),
        }
    }

    /// Notice specialists whose accept loop ended on its own (failed or
    /// panicked) and schedule their restart with backoff. Runs when a
    /// listener's end notifies the supervisor, not on a timer.
    pub(super) async fn probe(&mut self) {
        let mut died = false;
        for (name, slot) in self.slots.iter_mut() {
            let finished = slot.running() && slot.handle.as_ref().is_some_and(|h| h.is_finished());
            if !finished {
                continue;
            }
            slot.forget_old_failures();
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
            self.publish_targets();
            self.assert_registry().await;
        }
    }

    pub(super) async fn operator_stop(
        &mut self,
        names: Vec<SpecialistName>,
    ) -> Result<Vec<Action>, String> {
        if let Some(n) = names.iter().find(|n| !self.slots.contains_key(*n)) {
            return Err(format!("no specialist named `{n}` is running"));
        }
        for name in names {
            if let Some(s) = self.slots.get_mut(&name)
                && s.phase == Phase::Failed
            {
                s.phase = Phase::Stopped;
                s.touch();
            }
            self.operator.stopped.insert(name);
        }
        Ok(self.reconcile(Trigger::OperatorStop).await)
    }

    pub(super) async fn operator_start(
        &mut self,
        names: Vec<SpecialistName>,
    ) -> Result<Vec<Action>, String> {
        if let Some(n) = names.iter().find(|n| !self.operator.stopped.contains(*n)) {
            return Err(format!("`{n}` is not stopped"));
        }
        for name in &names {
            self.operator.stopped.remove(name);
            if let Some(s) = self.slots.get_mut(name) {
                // Resume now, not after an old failure's backoff.
                s.retry_at = None;
            }
        }
        Ok(self.reconcile(Trigger::OperatorStart).await)
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
        self.publish();
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
        self.publish_targets();
        self.opts.ledger.flush().await;
        if let Err(e) = self.opts.backend.remove_all().await {
            tracing::error!("could not deregister: {e}");
        }
    }
}
