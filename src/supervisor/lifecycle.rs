//! The supervisor's life beyond reconciling: registry re-assertion, dead
//! listener detection, operator stop/start, graceful shutdown.

use std::time::Duration;

use crate::config::SpecialistName;

use super::Supervisor;
use super::events::{EventKind, ReconcileEvent};
use super::reconcile::log_and_send;
use super::registry_sync;
use super::slot::Phase;
use super::steps::Step;

/// A running instance that stays up this long has its failure count reset.
const STABLE: Duration = Duration::from_secs(10);

impl Supervisor {
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
